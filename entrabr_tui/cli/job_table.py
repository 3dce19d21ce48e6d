"""The ``entrabr jobs`` table, laid out for the width it is printed at.

A full row (a 36-character job ID, two dates, three counts and the scope) needs about 150 columns. Narrower,
the table gives up detail in this order (see :mod:`~entrabr_tui.cli.fitted_table`), taking the first layout
whose columns fit without cutting any but the scope (which may be cut down to 16 columns):

1. the three counts become one ``OK/FAILED/TOTAL`` column and the dates drop the year when it is this year;
2. job IDs become their shortest unambiguous prefix, at least 8 characters (every command that takes a job
   ID takes such a prefix: :func:`~entrabr_tui.cli.common.full_job_id`);
3. the scope is left out, then how long the job took, then the backup.

``--json`` is never narrowed: it lists every job with everything.
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
from entrabr_tui.core.model import Job, JobKind
from entrabr_tui.core.text import format_duration
from entrabr_tui.engine.export_records import job_duration, scope_text
from entrabr_tui.store import JobRecord

#: From the widest to the narrowest (see the module documentation).
LAYOUTS = (
    Layout(),
    Layout(full_dates=False, compact=True),
    Layout(full_ids=False, full_dates=False, compact=True),
    Layout(full_ids=False, full_dates=False, compact=True, left_out=("SCOPE",)),
    Layout(full_ids=False, full_dates=False, compact=True, left_out=("SCOPE", "TOOK")),
    Layout(full_ids=False, full_dates=False, compact=True, left_out=("SCOPE", "TOOK", "BACKUP")),
)


def counts_text(job: Job) -> str:
    """``OK/FAILED/TOTAL`` of a restore (objects modified / changes failed / changed objects); a report's
    changed objects alone."""
    if job.kind is JobKind.PREVIEW:
        return _number(job.total_changed_objects)
    return f"{_number(job.total_objects_modified)}/{_number(job.total_failed_changes)}/" \
           f"{_number(job.total_changed_objects)}"


def build(records: Sequence[JobRecord], layout: Layout, *, known_ids: Iterable[str], now: datetime
          ) -> FittedTable:
    """The table of ``records`` in ``layout`` (IDs shortened so that none of ``known_ids`` shares one)."""
    id_length = short_id_length([*known_ids, *(r.job.id for r in records)])
    jobs = [r.job for r in records]

    def when(values: Iterable[datetime | None]) -> list[str]:
        return [time_text(v, full=layout.full_dates, year=now.year) for v in values]

    columns = [
        Column("KIND", ["report" if j.kind is JobKind.PREVIEW else "restore" for j in jobs]),
        Column("ID", [id_text(j.id, layout, id_length) for j in jobs], whole=True),
        Column("STATUS", [r.job.status_raw + (" (archived)" if r.archived else "") for r in records]),
        Column("BACKUP", when(j.target_state for j in jobs)),
        Column("STARTED", when(j.started for j in jobs)),
        Column("TOOK", [_took(j) for j in jobs]),
    ]
    if layout.compact:
        columns.append(Column("OK/FAILED/TOTAL", [counts_text(j) for j in jobs], right=True))
    else:
        columns += [
            Column("CHANGED", [_number(j.total_changed_objects) for j in jobs], right=True),
            Column("MODIFIED", [_number(j.total_objects_modified if j.kind is JobKind.RECOVERY else None)
                                for j in jobs], right=True),
            Column("FAILED", [_number(j.total_failed_changes) for j in jobs], right=True),
        ]
    columns.append(Column("SCOPE", [scope_text(j.filtering) for j in jobs], flex=True))
    return FittedTable(layout, tuple(c for c in columns if layout.shows(c.header)), id_length)


def job_table(records: Sequence[JobRecord], width: int, *, known_ids: Iterable[str], now: datetime
              ) -> FittedTable:
    """The widest layout of ``records`` that fits ``width`` columns (the narrowest when none does)."""
    known = list(known_ids)
    return fit_table(LAYOUTS, lambda layout: build(records, layout, known_ids=known, now=now), width)


def _took(job: Job) -> str:
    duration = job_duration(job)
    return "-" if duration is None else format_duration(duration)


def _number(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"
