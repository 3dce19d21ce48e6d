"""Picking up, after a restart, the jobs entrabr started: watch them to the end and collect their results.

The journal is reconciled first (see :mod:`entrabr_tui.engine.journal`). Each resumable entry is then
finished off: a difference report is watched and downloaded; a restore batch is watched, its failed
changes are fetched, and the objects it restored leave the restore queue.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from entrabr_tui.core.model import JobKind, RecoveryStatus
from entrabr_tui.engine.events import JobProgressCallback, RestoreProgressCallback
from entrabr_tui.engine.journal import Reconciliation
from entrabr_tui.engine.reports import ReportInfo, ReportManager
from entrabr_tui.engine.restore import BatchResult, RestoreExecutor
from entrabr_tui.engine.runner import JobRunner
from entrabr_tui.engine.session_log import SessionLog
from entrabr_tui.engine.session_queue import SessionQueue
from entrabr_tui.store import HistoryAction, IntentStatus


@dataclass(slots=True)
class ResumeResult:
    """What :meth:`JobResumer.resume` picked up after a restart."""

    reconciliation: Reconciliation
    reports: list[ReportInfo] = field(default_factory=list)
    restores: list[BatchResult] = field(default_factory=list)


class JobResumer:
    """Reconciles the journal with the service and finishes the jobs entrabr started before a restart.

    Outcomes are written to the session history through ``log``; objects a resumed restore batch restored
    leave ``queue``.
    """

    def __init__(self, runner: JobRunner, reports: ReportManager, restores: RestoreExecutor,
                 queue: SessionQueue, log: SessionLog) -> None:
        self._runner = runner
        self._reports = reports
        self._restores = restores
        self._queue = queue
        self._log = log

    async def reconcile(self) -> Reconciliation:
        """Compare the journal with the service's job list: adopt jobs whose id was lost, mark the rest
        ``unconfirmed`` (never resubmitted)."""
        found = self._runner.journal.reconcile(await self._runner.list_jobs())
        for intent in found.unconfirmed:
            if intent.status is not IntentStatus.PENDING:
                continue  # reported when it was first found unconfirmed
            self._log.write(HistoryAction.RESTORE_FINISHED, snapshot_id=intent.snapshot_id,
                            scope=intent.scope, outcome="unconfirmed",
                            detail=intent.message or "no matching job found; not resubmitted")
        return found

    async def resume(
        self,
        reconciliation: Reconciliation,
        progress: JobProgressCallback | None = None,
        restore_progress: RestoreProgressCallback | None = None,
    ) -> ResumeResult:
        """Finish every resumable journal entry of ``reconciliation``."""
        runner = self._runner
        result = ResumeResult(reconciliation)
        for intent, job in reconciliation.resumable:
            if job is None:
                runner.cache.journal.set_status(intent.id, IntentStatus.DONE,
                                                message="no longer listed by the service")
                continue
            if job.kind is JobKind.PREVIEW:
                if not job.is_terminal:
                    job = await runner.watch(job, progress, snapshot_id=intent.snapshot_id)
                if job.status is RecoveryStatus.SUCCESSFUL:
                    result.reports.append(await self._reports.download(job, intent.snapshot_id, progress,
                                                                       scope=intent.scope))
                runner.journal.done(job, "picked up after a restart")
                continue
            batch = await self._restores.resume(job, intent.snapshot_id, restore_progress,
                                                batch=intent.batch or 1, batch_count=intent.batch_count or 1)
            result.restores.append(batch)
            finished = batch.job
            if intent.report_id is not None and finished is not None \
                    and finished.status is RecoveryStatus.SUCCESSFUL:
                self._queue.unmark_done(intent.report_id, batch.scope, batch.failed)
            self._log.write(
                HistoryAction.RESTORE_FINISHED, snapshot_id=intent.snapshot_id, scope=intent.scope,
                job_id=job.id, outcome=finished.status_raw if finished else "unknown",
                detail="picked up after a restart", object_ids=[c.id for c in batch.failed],
                counts={"objectsModified": batch.objects_modified, "linksModified": batch.links_modified},
            )
        return result
