"""Evidence exports from the app: the open difference report, the restore plan and the job history.

The documents come from ``engine.export`` (which escapes hostile text for each format); this module only
gathers the data through the backend and writes the file safely: a temporary file, readable by the owner
only (exports hold tenant data), linked into place under a name that is not taken yet, so an export never
replaces an existing file. A report's changes stream from the cache while the file is written.
"""

from __future__ import annotations

import os
import tempfile
from datetime import datetime
from pathlib import Path

from entrabr_tui.engine.export import (
    Export,
    ExportFormat,
    JobResult,
    JobsExport,
    PlanExport,
    ReportExport,
    TypeActionTotal,
    suggested_filename,
    write_export,
)
from entrabr_tui.ui.backend import Backend, CachedReportView

#: How many other names (``-2`` … ) are tried when the suggested file name is taken.
_MAX_NAME_TRIES = 100


def report_export(backend: Backend, report: CachedReportView, now: datetime,
                  snapshot_created: datetime | None = None) -> ReportExport:
    """A cached report with its counts; its changes are read while the export is written (blocking: call
    from a thread, and write from the same thread)."""
    counts = [TypeActionTotal(c.entity_type_raw, c.action_raw, c.count) for c in backend.counts(report.id)]
    return ReportExport(tenant=backend.tenant, report_id=report.id, snapshot_id=report.snapshot_id or "",
                        generated=now, counts=counts, changes=backend.iter_changes(report.id),
                        status=report.status.value, snapshot_created=snapshot_created, scope=report.scope,
                        total=report.total)


def plan_export(backend: Backend, now: datetime) -> tuple[PlanExport, CachedReportView | None]:
    """The current restore plan and the report it was made from (blocking: call from a thread)."""
    plan = backend.plan()
    data = PlanExport(tenant=backend.tenant, plan=plan.plan, generated=now, snapshot_id=plan.snapshot_id,
                      report_id=plan.report.id if plan.report is not None else None)
    return data, plan.report


async def jobs_export(backend: Backend, now: datetime) -> JobsExport:
    jobs = await backend.jobs()
    return JobsExport(tenant=backend.tenant, generated=now, results=tuple(JobResult(job) for job in jobs))


def write_file(data: Export, fmt: ExportFormat, directory: Path) -> tuple[Path, int]:
    """Write ``data`` as ``fmt`` in ``directory`` under the suggested name (``-2``, ``-3`` … appended when
    it is taken); returns the path and the number of rows."""
    name = Path(suggested_filename(data, fmt))
    handle, temp = tempfile.mkstemp(prefix=".entrabr-export-", dir=directory)
    try:
        os.fchmod(handle, 0o600)
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            rows = write_export(out, data, fmt)
        for attempt in range(1, _MAX_NAME_TRIES + 1):
            target = directory / (name.name if attempt == 1 else f"{name.stem}-{attempt}{name.suffix}")
            try:
                os.link(temp, target)  # fails when the name is taken: never replaces a file
            except FileExistsError:
                continue
            return target, rows
        raise FileExistsError(f"No free file name for {name} in {directory}.")
    finally:
        Path(temp).unlink(missing_ok=True)
