"""Picking up, after a restart, the jobs entrabr started: watch them to the end and collect their results.

The journal is reconciled first (see :mod:`entrabr_tui.engine.journal`). Each resumable entry is then
finished off: a difference report is watched and downloaded; a restore batch is watched, its failed
changes are fetched, and the objects it restored leave the restore queue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from entrabr_tui.core.model import JobKind, RecoveryStatus
from entrabr_tui.engine.events import JobProgressCallback, RestoreProgressCallback
from entrabr_tui.engine.journal import Reconciliation
from entrabr_tui.engine.reports import ReportInfo
from entrabr_tui.engine.restore import BatchResult
from entrabr_tui.store import HistoryAction, IntentStatus

if TYPE_CHECKING:
    from entrabr_tui.engine.session import Session


@dataclass(slots=True)
class ResumeResult:
    """What :meth:`Session.resume` picked up after a restart."""

    reconciliation: Reconciliation
    reports: list[ReportInfo] = field(default_factory=list)
    restores: list[BatchResult] = field(default_factory=list)


async def resume_jobs(
    session: Session,
    reconciliation: Reconciliation,
    progress: JobProgressCallback | None = None,
    restore_progress: RestoreProgressCallback | None = None,
) -> ResumeResult:
    """Finish every resumable journal entry of ``reconciliation`` for ``session`` (online)."""
    runner, reports, restores = session.runner, session.reports_manager, session.restores
    assert runner is not None and reports is not None and restores is not None
    result = ResumeResult(reconciliation)
    for intent, job in reconciliation.resumable:
        if job is None:
            session.cache.journal.set_status(intent.id, IntentStatus.DONE,
                                             message="no longer listed by the service")
            continue
        if job.kind is JobKind.PREVIEW:
            if not job.is_terminal:
                job = await runner.watch(job, progress, snapshot_id=intent.snapshot_id)
            if job.status is RecoveryStatus.SUCCESSFUL:
                result.reports.append(await reports.download(job, intent.snapshot_id, progress,
                                                             scope=intent.scope))
            session.journal.done(job, "picked up after a restart")
            continue
        batch = await restores.resume(job, intent.snapshot_id, restore_progress,
                                      batch=intent.batch or 1, batch_count=intent.batch_count or 1)
        result.restores.append(batch)
        finished = batch.job
        if intent.report_id is not None and finished is not None \
                and finished.status is RecoveryStatus.SUCCESSFUL:
            session.unmark_done(intent.report_id, batch.scope, batch.failed)
        session._log(
            HistoryAction.RESTORE_FINISHED, snapshot_id=intent.snapshot_id, scope=intent.scope, job_id=job.id,
            outcome=finished.status_raw if finished else "unknown", detail="picked up after a restart",
            object_ids=[c.id for c in batch.failed],
            counts={"objectsModified": batch.objects_modified, "linksModified": batch.links_modified},
        )
    return result
