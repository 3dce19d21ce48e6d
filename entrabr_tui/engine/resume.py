"""Picking up, after a restart, the jobs entrabr started: watch them to the end and collect their results.

The journal is reconciled first (see :mod:`entrabr_tui.engine.journal`). Restore batches that belong to a
restore run still under way are left to that run (:meth:`RestoreExecutor.resume_run
<entrabr_tui.engine.restore.RestoreExecutor.resume_run>`, offered as "an interrupted restore"); every other
resumable entry is finished off here: a difference report is watched and downloaded; a restore batch is
watched, its failed changes are fetched, the objects it restored leave the restore queue, and the history
records the job that did the work (its id, counts and outcome).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from entrabr_tui.core.model import Job, JobKind, RecoveryStatus
from entrabr_tui.engine.events import JobProgressCallback, RestoreProgressCallback
from entrabr_tui.engine.journal import Reconciliation
from entrabr_tui.engine.reports import ReportInfo, ReportManager
from entrabr_tui.engine.restore import BatchResult, RestoreExecutor
from entrabr_tui.engine.runner import JobRunner
from entrabr_tui.engine.session_log import SessionLog
from entrabr_tui.engine.session_queue import SessionQueue
from entrabr_tui.graph.errors import NotFoundError
from entrabr_tui.store import HistoryAction, IntentStatus, JournalIntent
from entrabr_tui.store.restore_runs import RunStatus


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
        """Compare the journal with the service's job list: adopt jobs whose id was lost, close what the
        service provably never received, mark ``unconfirmed`` what cannot be told (never resubmitted), and
        record restore batches whose jobs have ended (without waiting for running ones)."""
        found = self._runner.journal.reconcile(await self._runner.list_jobs())
        for intent in found.unconfirmed:
            if intent.status is IntentStatus.UNCONFIRMED:
                continue  # reported when it was first found unconfirmed
            self._log.write(HistoryAction.RESTORE_FINISHED, snapshot_id=intent.snapshot_id,
                            scope=intent.scope, outcome="unconfirmed",
                            detail=intent.message or "no matching job found; not resubmitted")
        for intent in found.not_received:
            if intent.kind is JobKind.RECOVERY and not self._in_running_run(intent):
                self._log.write(HistoryAction.RESTORE_FINISHED, snapshot_id=intent.snapshot_id,
                                scope=intent.scope, outcome="not received",
                                detail=(intent.message or "") + " It was not sent again.")
        for intent, job in found.resumable:
            if job is not None and job.is_terminal and job.kind is JobKind.RECOVERY:
                await self._finish_restore(intent, job, None)
        # A run stays "running" even when every batch is now recorded: the person who started it is told
        # what it did when it is resumed (and the same restore asked for again resumes it, never reruns it).
        return found

    def _in_running_run(self, intent: JournalIntent) -> bool:
        if intent.run_id is None:
            return False
        run = self._runner.cache.runs.get(intent.run_id)
        return run is not None and run.status == RunStatus.RUNNING.value

    async def resume(
        self,
        reconciliation: Reconciliation,
        progress: JobProgressCallback | None = None,
        restore_progress: RestoreProgressCallback | None = None,
    ) -> ResumeResult:
        """Finish every resumable journal entry of ``reconciliation`` (restore batches of a run still under
        way are left to that run)."""
        runner = self._runner
        result = ResumeResult(reconciliation)
        for intent, listed in reconciliation.resumable:
            current = runner.cache.journal.entry(intent.id)
            if current is None or not current.status.is_open:
                continue  # finished meanwhile (e.g. recorded when the journal was reconciled)
            if intent.kind is JobKind.RECOVERY and self._in_running_run(intent):
                continue
            job = listed or await self._read(intent)
            if job is None:
                runner.journal.close(intent, "no longer known by the service")
                continue
            if job.kind is JobKind.PREVIEW:
                if not job.is_terminal:
                    job = await runner.watch(job, progress, snapshot_id=intent.snapshot_id)
                if job.status is RecoveryStatus.SUCCESSFUL:
                    result.reports.append(await self._reports.download(job, intent.snapshot_id, progress,
                                                                       scope=intent.scope))
                runner.journal.done(job, "picked up after a restart")
                continue
            result.restores.append(await self._finish_restore(intent, job, restore_progress))
        return result

    async def _read(self, intent: JournalIntent) -> Job | None:
        """The job of an entry the job list did not show, read by its snapshot path (``None``: gone)."""
        assert intent.job_id is not None
        try:
            return await self._runner.client.get_job(intent.kind, intent.snapshot_id, intent.job_id)
        except NotFoundError:
            return None

    async def _finish_restore(self, intent: JournalIntent, job: Job,
                              progress: RestoreProgressCallback | None) -> BatchResult:
        """Follow a restore batch's job to its end, collect its failures and record it in the history."""
        batch = await self._restores.resume(job, intent.snapshot_id, progress,
                                            batch=intent.batch or 1, batch_count=intent.batch_count or 1)
        finished = batch.job
        if intent.report_id is not None and finished is not None \
                and finished.status is RecoveryStatus.SUCCESSFUL:
            self._queue.unmark_done(intent.report_id, batch.scope, batch.failed)
        self._log.write(
            HistoryAction.RESTORE_FINISHED, snapshot_id=intent.snapshot_id, scope=intent.scope,
            job_id=job.id, outcome=finished.status_raw if finished else "unknown",
            detail="picked up after a restart", object_ids=[c.id for c in batch.failed],
            counts={"objectsModified": batch.objects_modified, "linksModified": batch.links_modified,
                    "failedChanges": (finished.total_failed_changes or 0) if finished else 0,
                    "batch": intent.batch or 1, "batches": intent.batch_count or 1},
        )
        return batch
