"""Evidence exports from the app: the restore plan and the job history, written next to where it runs.

The documents come from ``engine.export`` (which escapes hostile text for each format); this module only
gathers the data through the backend and writes the file safely (a temporary file renamed into place,
readable by the owner only, since exports hold tenant data).
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
    suggested_filename,
    write_export,
)
from entrabr_tui.ui.backend import Backend


def plan_export(backend: Backend, now: datetime) -> PlanExport:
    """The current restore plan (blocking: call from a thread)."""
    plan = backend.plan()
    return PlanExport(tenant=backend.tenant, plan=plan.plan, generated=now, snapshot_id=plan.snapshot_id,
                      report_id=plan.report.id if plan.report is not None else None)


async def jobs_export(backend: Backend, now: datetime) -> JobsExport:
    jobs = await backend.jobs()
    return JobsExport(tenant=backend.tenant, generated=now, results=tuple(JobResult(job) for job in jobs))


def write_file(data: Export, fmt: ExportFormat, directory: Path) -> tuple[Path, int]:
    """Write ``data`` as ``fmt`` in ``directory`` under the suggested name; returns the path and rows."""
    target = directory / suggested_filename(data, fmt)
    handle, temp = tempfile.mkstemp(prefix=".entrabr-export-", dir=directory)
    try:
        os.fchmod(handle, 0o600)
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            rows = write_export(out, data, fmt)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return target, rows
