"""The ``entrabr history`` table, laid out for the width it is printed at.

Narrower than a full row, the table gives up detail in this order (see
:mod:`~entrabr_tui.cli.fitted_table`): dates drop the year when it is this year; job IDs become their
shortest prefix that no other job of the history shares, at least 8 characters (commands that take a job
ID take such a prefix, and refuse one that names several jobs they know); the counts are left out, then
who acted, then the detail. WHO, OUTCOME, COUNTS and DETAIL may be cut down to 16 columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from entrabr_tui.cli.fitted_table import (
    Column,
    FittedTable,
    Layout,
    fit_table,
    id_text,
    short_id_length,
    time_text,
)
from entrabr_tui.store import HistoryEntry

#: From the widest to the narrowest (see the module documentation).
LAYOUTS = (
    Layout(),
    Layout(full_dates=False),
    Layout(full_ids=False, full_dates=False),
    Layout(full_ids=False, full_dates=False, left_out=("COUNTS",)),
    Layout(full_ids=False, full_dates=False, left_out=("COUNTS", "WHO")),
    Layout(full_ids=False, full_dates=False, left_out=("COUNTS", "WHO", "DETAIL")),
)


def counts_text(entry: HistoryEntry) -> str:
    """``changes 21, total 21``: an entry's counts."""
    return ", ".join(f"{k} {v}" for k, v in entry.counts.items()) if entry.counts else ""


def build(entries: Sequence[HistoryEntry], layout: Layout, *, known_ids: Iterable[str], now: datetime
          ) -> FittedTable:
    """The table of ``entries`` in ``layout`` (job IDs shortened so that none of ``known_ids`` shares
    one)."""
    id_length = short_id_length([*known_ids, *(e.job_id for e in entries if e.job_id)])
    columns = (
        Column("WHEN (UTC)", [time_text(e.at, full=layout.full_dates, year=now.year) for e in entries]),
        Column("ACTION", [e.action for e in entries]),
        Column("WHO", [e.identity or "-" for e in entries], flex=True),
        Column("OUTCOME", [e.outcome or "-" for e in entries], flex=True),
        Column("JOB", [id_text(e.job_id, layout, id_length) for e in entries], whole=True),
        Column("COUNTS", [counts_text(e) for e in entries], flex=True),
        Column("DETAIL", [e.detail or "-" for e in entries], flex=True),
    )
    return FittedTable(layout, tuple(c for c in columns if layout.shows(c.header)), id_length)


def history_table(entries: Sequence[HistoryEntry], width: int, *, known_ids: Iterable[str], now: datetime
                  ) -> FittedTable:
    """The widest layout of ``entries`` that fits ``width`` columns (the narrowest when none does)."""
    known = list(known_ids)
    return fit_table(LAYOUTS, lambda layout: build(entries, layout, known_ids=known, now=now), width)
