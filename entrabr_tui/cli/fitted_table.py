"""Tables laid out for the width they are printed at (``jobs``, ``snapshots``, ``history``).

A table is built in a list of layouts, from the widest to the narrowest, and the first whose columns fit
without cutting any but the ``flex`` ones (names, details, down to
:data:`~entrabr_tui.cli.output.FLEX_FLOOR` columns) is printed. Each table gives up detail in its own
order, by the same means: dates drop the year when it is this year, job IDs become their shortest
unambiguous prefix (at least :data:`ID_PREFIX` characters; every command that takes a job ID takes such a
prefix: :func:`~entrabr_tui.cli.common.full_job_id`), then whole columns are left out. What was given up is
said on stderr under the table. ``--json`` is never narrowed.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from entrabr_tui.cli.output import FLEX_FLOOR, Output
from entrabr_tui.core.text import cell_width
from entrabr_tui.engine.export_records import visible

#: Job IDs are never shown shorter than this (the first group of a GUID).
ID_PREFIX = 8
GAP = 2


@dataclass(frozen=True, slots=True)
class Layout:
    """What one layout of a table shows: whole IDs, dates with their year, the table's own compact form
    (``jobs``: one count column) and which columns (by header) it leaves out."""

    full_ids: bool = True
    full_dates: bool = True
    compact: bool = False
    left_out: tuple[str, ...] = ()

    def shows(self, header: str) -> bool:
        """Whether the column ``header`` is in this layout."""
        return header not in self.left_out


@dataclass(frozen=True, slots=True)
class Column:
    """One column: its header, its text cells and how it may be laid out (``whole``: never cut, for IDs
    that are copied; ``flex``: may be cut down to :data:`~entrabr_tui.cli.output.FLEX_FLOOR` columns)."""

    header: str
    cells: list[str]
    right: bool = False
    whole: bool = False
    flex: bool = False


@dataclass(frozen=True, slots=True)
class FittedTable:
    """One layout of a table: its columns, the length its IDs are shortened to and what they are called
    (``job IDs``) in the note under a narrowed table."""

    layout: Layout
    columns: tuple[Column, ...]
    id_length: int
    id_name: str = "job IDs"

    @property
    def header(self) -> tuple[str, ...]:
        return tuple(c.header for c in self.columns)

    @property
    def rows(self) -> list[tuple[str, ...]]:
        return list(zip(*(c.cells for c in self.columns), strict=True)) if self.columns else []

    def _indexes(self, test: Callable[[Column], bool]) -> tuple[int, ...]:
        return tuple(i for i, c in enumerate(self.columns) if test(c))

    @property
    def right(self) -> tuple[int, ...]:
        return self._indexes(lambda c: c.right)

    @property
    def whole(self) -> tuple[int, ...]:
        return self._indexes(lambda c: c.whole)

    @property
    def flex(self) -> tuple[int, ...]:
        return self._indexes(lambda c: c.flex)

    @property
    def needed(self) -> int:
        """Columns the table takes with no cell cut but the flex ones' (down to ``FLEX_FLOOR``)."""
        widths = []
        for column in self.columns:
            width = max([cell_width(visible(column.header)), *(cell_width(visible(c)) for c in column.cells)])
            widths.append(min(width, FLEX_FLOOR) if column.flex else width)
        return sum(widths) + GAP * (len(widths) - 1)

    def narrowing(self) -> list[str]:
        """What this layout gives up compared with the full one, for a note under the table."""
        notes = []
        if not self.layout.full_ids:
            notes.append(f"{self.id_name} shortened to {self.id_length} characters (commands accept them)")
        if self.layout.left_out:
            notes.append(" and ".join(self.layout.left_out) + " left out")
        return notes

    def show(self, out: Output) -> None:
        """Print the table on stdout and, when it was narrowed, say so on stderr."""
        out.table(self.header, self.rows, right=self.right, whole=self.whole, flex=self.flex)
        notes = self.narrowing()
        if notes:
            out.info(f"At {out.width} columns: {'; '.join(notes)}. A wider terminal (or COLUMNS) or --json "
                     "shows everything.")


def fit_table(layouts: Sequence[Layout], build: Callable[[Layout], FittedTable], width: int) -> FittedTable:
    """The first of ``layouts`` (widest first) whose table ``build`` makes fits ``width`` columns (the last
    when none does)."""
    for layout in layouts[:-1]:
        table = build(layout)
        if table.needed <= width:
            return table
    return build(layouts[-1])


def short_id_length(ids: Iterable[str], minimum: int = ID_PREFIX) -> int:
    """The shortest prefix length (at least ``minimum``) at which ``ids`` all differ (ignoring case)."""
    folded = sorted({i.casefold() for i in ids})
    length = minimum
    for a, b in itertools.pairwise(folded):
        same = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
        length = max(length, same + 1)
    return length


def id_text(value: str | None, layout: Layout, id_length: int) -> str:
    """A job ID as ``layout`` shows it: whole, or its first ``id_length`` characters (``-`` when none)."""
    if not value:
        return "-"
    return value if layout.full_ids else value[:id_length]


def time_text(value: datetime | None, *, full: bool, year: int) -> str:
    """``2026-07-27 22:00Z``, or ``07-27 22:00Z`` (not ``full``) when it is of ``year``."""
    if value is None:
        return "-"
    if full or value.year != year:
        return value.strftime("%Y-%m-%d %H:%MZ")
    return value.strftime("%m-%d %H:%MZ")
