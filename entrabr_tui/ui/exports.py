"""Evidence exports from the app: the open difference report, the restore plan and the job history.

The documents come from ``engine.export`` (which escapes hostile text for each format); this module only
gathers the data through the backend. The app asks where to write
(:class:`~entrabr_tui.ui.screens.dialogs.ExportPathDialog`); the file is written by
:mod:`entrabr_tui.engine.export_files` (private, complete or not at all, never over an existing file). A
report's changes stream from the cache while the file is written.
"""

from __future__ import annotations

from datetime import datetime

from entrabr_tui.engine.export import (
    JobResult,
    JobsExport,
    PlanExport,
    ReportExport,
    TypeActionTotal,
)
from entrabr_tui.ui.backend import Backend, CachedReportView


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
