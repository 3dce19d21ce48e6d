"""The ``entrabr jobs`` table, laid out for the width it is printed at.

A full row (a 36-character job ID, two dates, three counts and the scope) needs about 150 columns. Narrower,
the table gives up detail in this order, taking the first layout whose columns fit without cutting any but
the scope (which may be cut down to :data:`SCOPE_FLOOR` columns):

1. the three counts become one ``OK/FAILED/TOTAL`` column and the dates drop the year when it is this year;
2. job IDs become their shortest unambiguous prefix, at least :data:`ID_PREFIX` characters (every command
   that takes a job ID takes such a prefix: :func:`~entrabr_tui.cli.common.full_job_id`);
3. the scope is left out, then how long the job took, then the backup.

``--json`` is never narrowed: it lists every job with everything.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from entrabr_tui.core.model import Job, JobKind
from entrabr_tui.core.text import cell_width, format_duration
from entrabr_tui.engine.export_records import job_duration, scope_text, visible
from entrabr_tui.store import JobRecord

#: Job IDs are never shown shorter than this (the first group of a GUID).
ID_PREFIX = 8
#: The scope column is left out rather than cut below this many columns.
SCOPE_FLOOR = 16
GAP = 2


@dataclass(frozen=True, slots=True)
class JobLayout:
    """What one layout of the table shows."""

    full_ids: bool = True
    full_dates: bool = True
    split_counts: bool = True
    scope: bool = True
    took: bool = True
    backup: bool = True


#: From the widest to the narrowest (see the module documentation).
LAYOUTS = (
    JobLayout(),
    JobLayout(full_dates=False, split_counts=False),
    JobLayout(full_ids=False, full_dates=False, split_counts=False),
    JobLayout(full_ids=False, full_dates=False, split_counts=False, scope=False),
    JobLayout(full_ids=False, full_dates=False, split_counts=False, scope=False, took=False),
    JobLayout(full_ids=False, full_dates=False, split_counts=False, scope=False, took=False, backup=False),
)


@dataclass(frozen=True, slots=True)
class JobTable:
    """The header, the rows (text cells) and the column roles of one layout of the jobs table."""

    layout: JobLayout
    header: tuple[str, ...]
    rows: list[tuple[str, ...]]
    right: tuple[int, ...]
    whole: tuple[int, ...]
    flex: tuple[int, ...]
    id_length: int

    @property
    def needed(self) -> int:
        """Columns the table takes with no cell cut but the scope's (down to :data:`SCOPE_FLOOR`)."""
        widths = [cell_width(h) for h in self.header]
        for row in self.rows:
            for i, cell in enumerate(row):
                widths[i] = max(widths[i], cell_width(visible(cell)))
        for i in self.flex:
            widths[i] = min(widths[i], SCOPE_FLOOR)
        return sum(widths) + GAP * (len(widths) - 1)

    def narrowing(self) -> list[str]:
        """What this layout leaves out compared with the full one, for a note under the table."""
        notes = []
        if not self.layout.full_ids:
            notes.append(f"job IDs shortened to {self.id_length} characters (commands accept them)")
        dropped = [name for name, shown in (("SCOPE", self.layout.scope), ("TOOK", self.layout.took),
                                            ("BACKUP", self.layout.backup)) if not shown]
        if dropped:
            notes.append(" and ".join(dropped) + " left out")
        return notes


def short_id_length(ids: Iterable[str], minimum: int = ID_PREFIX) -> int:
    """The shortest prefix length (at least ``minimum``) at which ``ids`` all differ (ignoring case)."""
    folded = sorted({i.casefold() for i in ids})
    length = minimum
    for a, b in itertools.pairwise(folded):
        same = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
        length = max(length, same + 1)
    return length


def counts_text(job: Job) -> str:
    """``OK/FAILED/TOTAL`` of a restore (objects modified / changes failed / changed objects); a report's
    changed objects alone."""
    def n(value: int | None) -> str:
        return "-" if value is None else f"{value:,}"

    if job.kind is JobKind.PREVIEW:
        return n(job.total_changed_objects)
    return f"{n(job.total_objects_modified)}/{n(job.total_failed_changes)}/{n(job.total_changed_objects)}"


def time_text(value: datetime | None, *, full: bool, year: int) -> str:
    """``2026-07-27 22:00Z``, or ``07-27 22:00Z`` (not ``full``) when it is of ``year``."""
    if value is None:
        return "-"
    if full or value.year != year:
        return value.strftime("%Y-%m-%d %H:%MZ")
    return value.strftime("%m-%d %H:%MZ")


def build(records: Sequence[JobRecord], layout: JobLayout, *, known_ids: Iterable[str], now: datetime
          ) -> JobTable:
    """The table of ``records`` in ``layout`` (IDs shortened so that none of ``known_ids`` shares one)."""
    id_length = short_id_length([*known_ids, *(r.job.id for r in records)])
    columns: list[tuple[str, list[str]]] = []
    right: list[str] = []

    def add(header: str, cells: list[str], *, align_right: bool = False) -> None:
        columns.append((header, cells))
        if align_right:
            right.append(header)

    jobs = [r.job for r in records]
    add("KIND", ["report" if j.kind is JobKind.PREVIEW else "restore" for j in jobs])
    add("ID", [j.id if layout.full_ids else j.id[:id_length] for j in jobs])
    add("STATUS", [r.job.status_raw + (" (archived)" if r.archived else "") for r in records])
    if layout.backup:
        add("BACKUP", [time_text(j.target_state, full=layout.full_dates, year=now.year) for j in jobs])
    add("STARTED", [time_text(j.started, full=layout.full_dates, year=now.year) for j in jobs])
    if layout.took:
        add("TOOK", [_took(j) for j in jobs])
    if layout.split_counts:
        add("CHANGED", [_number(j.total_changed_objects) for j in jobs], align_right=True)
        add("MODIFIED", [_number(j.total_objects_modified if j.kind is JobKind.RECOVERY else None)
                         for j in jobs], align_right=True)
        add("FAILED", [_number(j.total_failed_changes) for j in jobs], align_right=True)
    else:
        add("OK/FAILED/TOTAL", [counts_text(j) for j in jobs], align_right=True)
    if layout.scope:
        add("SCOPE", [scope_text(j.filtering) for j in jobs])
    header = tuple(h for h, _ in columns)
    rows = list(zip(*(cells for _, cells in columns), strict=True)) if jobs else []
    return JobTable(layout, header, rows, right=tuple(header.index(h) for h in right),
                    whole=(header.index("ID"),), flex=(header.index("SCOPE"),) if layout.scope else (),
                    id_length=id_length)


def job_table(records: Sequence[JobRecord], width: int, *, known_ids: Iterable[str], now: datetime
              ) -> JobTable:
    """The widest layout of ``records`` that fits ``width`` columns (the narrowest when none does)."""
    known = list(known_ids)
    table = build(records, LAYOUTS[0], known_ids=known, now=now)
    for layout in LAYOUTS:
        table = build(records, layout, known_ids=known, now=now)
        if table.needed <= width:
            return table
    return table


def _took(job: Job) -> str:
    duration = job_duration(job)
    return "-" if duration is None else format_duration(duration)


def _number(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"
