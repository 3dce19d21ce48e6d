"""The ``entrabr snapshots`` table, laid out for the width it is printed at.

A backup's ID is short and is never shortened (``--snapshot`` takes the whole ID, or the date shown under
TAKEN). Narrower than a full row, the table gives up detail in this order (see
:mod:`~entrabr_tui.cli.fitted_table`): dates drop the year when it is this year; the cached report's ID
becomes its shortest unambiguous prefix, at least 8 characters (``--report`` takes such a prefix); the age
is left out (TAKEN tells it), then what the cached report holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from entrabr_tui.cli.common import age_text, report_detail
from entrabr_tui.cli.fitted_table import (
    Column,
    FittedTable,
    Layout,
    fit_table,
    id_text,
    short_id_length,
    time_text,
)

if TYPE_CHECKING:
    from entrabr_tui.engine.session import SnapshotEntry

#: From the widest to the narrowest (see the module documentation).
LAYOUTS = (
    Layout(),
    Layout(full_dates=False),
    Layout(full_ids=False, full_dates=False),
    Layout(full_ids=False, full_dates=False, left_out=("AGE",)),
    Layout(full_ids=False, full_dates=False, left_out=("AGE", "REPORT HOLDS")),
)


def build(entries: Sequence[SnapshotEntry], layout: Layout, *, known_ids: Iterable[str], now: datetime
          ) -> FittedTable:
    """The table of ``entries`` in ``layout`` (report IDs shortened so that none of ``known_ids`` shares
    one)."""
    reports = [e.report for e in entries]
    id_length = short_id_length([*known_ids, *(r.id for r in reports if r is not None)])
    columns = (
        Column("TAKEN (UTC)", [time_text(e.snapshot.created, full=layout.full_dates, year=now.year)
                               for e in entries]),
        Column("AGE", [age_text(e.snapshot.created, now) for e in entries]),
        Column("EXPIRES", ["expired (kept locally)" if e.expired else age_text(e.expires, now)
                           for e in entries]),
        Column("ID", [e.snapshot.id for e in entries], whole=True),
        Column("REPORT", [id_text(r.id if r else None, layout, id_length) for r in reports],
               whole=True),
        Column("REPORT HOLDS", [report_detail(r) if r else "-" for r in reports], flex=True),
    )
    return FittedTable(layout, tuple(c for c in columns if layout.shows(c.header)), id_length, "report IDs")


def snapshot_table(entries: Sequence[SnapshotEntry], width: int, *, known_ids: Iterable[str], now: datetime
                   ) -> FittedTable:
    """The widest layout of ``entries`` that fits ``width`` columns (the narrowest when none does)."""
    known = list(known_ids)
    return fit_table(LAYOUTS, lambda layout: build(entries, layout, known_ids=known, now=now), width)
