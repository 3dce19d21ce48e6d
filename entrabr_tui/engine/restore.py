"""Executing a restore plan: one recovery job per batch, in order, each journaled, with failed changes kept.

The batches of a :class:`~entrabr_tui.core.planner.RestorePlan` run one after another while this process
holds the job slot, so no other queued job slips in between. Each batch's intent is journaled before its
POST and its job id after. When a batch ends, its failed changes (``getFailedChanges``) are stored in the
cache. A cancel stops the running batch (what it already applied stays applied) and skips the rest. A
retry plan is built from the failed changes that can still be recovered.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from entrabr_tui.core.model import Change, FilteringCriteria, Job, JobKind, RecoveryStatus
from entrabr_tui.core.planner import RestorePlan, plan_restore, queued_change_for
from entrabr_tui.core.recoverability import Recoverable
from entrabr_tui.engine.errors import EngineError
from entrabr_tui.engine.events import (
    PHASE_DONE,
    PHASE_QUEUED,
    JobProgress,
    RestoreProgress,
    RestoreProgressCallback,
    emit,
)
from entrabr_tui.engine.jobs import JobRequest, SlotMode
from entrabr_tui.engine.reports import download_pages
from entrabr_tui.engine.runner import JobRunner
from entrabr_tui.engine.scopes import describe_scope, scope_size
from entrabr_tui.graph.errors import BadRequestError, GraphError, NotFoundError
from entrabr_tui.graph.requests import GET_FAILED_CHANGES_TEMPLATE, MAX_PAGE_SIZE, function_url
from entrabr_tui.store import ReportKind


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What one batch (one recovery job) did."""

    batch: int
    scope: FilteringCriteria | None
    job: Job | None
    failed: tuple[Change, ...] = ()
    error: str | None = None  # why the batch did not run to the end (service error)
    skipped: bool = False  # not started (an earlier batch was cancelled or failed)

    @property
    def objects_modified(self) -> int:
        return (self.job.total_objects_modified or 0) if self.job else 0

    @property
    def links_modified(self) -> int:
        return (self.job.total_links_modified or 0) if self.job else 0


@dataclass(frozen=True, slots=True)
class RestoreResult:
    """The outcome of a restore: every batch, modified counts, and failures with their messages."""

    run_id: str
    snapshot_id: str
    batches: tuple[BatchResult, ...]
    cancelled: bool = False
    error: str | None = None

    @property
    def jobs(self) -> list[Job]:
        return [b.job for b in self.batches if b.job is not None]

    @property
    def failed(self) -> list[Change]:
        """Failed changes of every batch, each with ``failure_message``."""
        return [change for b in self.batches for change in b.failed]

    @property
    def objects_modified(self) -> int:
        return sum(b.objects_modified for b in self.batches)

    @property
    def links_modified(self) -> int:
        return sum(b.links_modified for b in self.batches)

    @property
    def failed_count(self) -> int:
        """Failed object and link changes as the service counts them (``totalFailedChanges``)."""
        return sum((b.job.total_failed_changes or 0) if b.job else 0 for b in self.batches)

    @property
    def complete(self) -> bool:
        """Every batch ran to a successful end."""
        return not self.cancelled and self.error is None and all(
            b.job is not None and b.job.status is RecoveryStatus.SUCCESSFUL for b in self.batches
        )

    @property
    def outcome(self) -> str:
        """``succeeded``, ``completed with failures``, ``cancelled``, ``failed`` or ``stopped``."""
        if self.cancelled:
            return "cancelled"
        if self.error is not None:
            return "stopped"
        if any(b.job is not None and b.job.status is not RecoveryStatus.SUCCESSFUL for b in self.batches):
            return "failed"
        return "completed with failures" if self.failed_count or self.failed else "succeeded"

    @property
    def summary(self) -> str:
        done = sum(1 for b in self.batches if b.job is not None)
        text = (f"Restore {self.outcome}: {done} of {len(self.batches)} recovery job(s) ran; "
                f"{self.objects_modified} objects and {self.links_modified} links modified, "
                f"{self.failed_count} changes failed")
        return text + (f". {self.error}" if self.error else "")


class RestoreExecutor:
    """Runs restore plans through a :class:`JobRunner` (one recovery job per batch)."""

    def __init__(self, runner: JobRunner) -> None:
        self.runner = runner
        self._cancel = False

    async def execute(
        self,
        plan: RestorePlan,
        snapshot_id: str,
        progress: RestoreProgressCallback | None = None,
        *,
        mode: SlotMode | None = None,
        on_submitted: Callable[[int, Job], None] | None = None,
        on_finished: Callable[[BatchResult], None] | None = None,
        report_id: int | None = None,
    ) -> RestoreResult:
        """Run every batch of ``plan`` against backup ``snapshot_id``, in order.

        A service error before the first job exists is raised (nothing happened); after that, the result
        records it and the remaining batches are skipped. ``on_submitted(batch, job)`` is called as each
        batch's job is accepted, ``on_finished(result)`` as each batch ends (history, queue upkeep).
        """
        self._cancel = False
        run_id = uuid.uuid4().hex
        batches = plan.batches
        count = len(batches)
        results: list[BatchResult] = []
        cancelled = False
        error: str | None = None
        if not batches:
            return RestoreResult(run_id, snapshot_id, ())
        first = self._request(snapshot_id, batches[0], run_id, 1, count, report_id)
        async with self.runner.exclusive(first, self._wrap(progress, 1, count, first)):
            for number, scope in enumerate(batches, start=1):
                if cancelled or error is not None or self._cancel:
                    cancelled = cancelled or self._cancel
                    results.append(BatchResult(number, scope, None, skipped=True))
                    continue
                request = self._request(snapshot_id, scope, run_id, number, count, report_id)
                relay = self._wrap(progress, number, count, request)
                await emit(progress, RestoreProgress(
                    batch=number, batch_count=count, job_id=None, phase=PHASE_QUEUED,
                    text=f"Batch {number} of {count}: starting a restore of {describe_scope(scope)}",
                    elapsed=0.0, ids_in_batch=scope_size(scope) or 0,
                ))
                try:
                    job = await self.runner.start(request, relay, mode=mode)
                    if on_submitted is not None:
                        on_submitted(number, job)
                    job = await self.runner.watch(job, relay, snapshot_id=snapshot_id)
                except (GraphError, EngineError) as exc:
                    if not any(r.job is not None for r in results):
                        raise
                    error = f"Batch {number} of {count} stopped: {exc}"
                    results.append(BatchResult(number, scope, None, error=str(exc)))
                    continue
                failed = await self.collect_failures(job, snapshot_id)
                self.runner.journal.done(job)
                results.append(BatchResult(number, scope, job, tuple(failed)))
                if on_finished is not None:
                    on_finished(results[-1])
                if job.status is RecoveryStatus.ABANDONED:
                    cancelled = True
        result = RestoreResult(run_id, snapshot_id, tuple(results), cancelled=cancelled, error=error)
        await emit(progress, RestoreProgress(
            batch=count, batch_count=count, job_id=None, phase=PHASE_DONE, text=result.summary, elapsed=0.0,
        ))
        return result

    @staticmethod
    def _request(snapshot_id: str, scope: FilteringCriteria, run_id: str, number: int, count: int,
                 report_id: int | None = None) -> JobRequest:
        return JobRequest(JobKind.RECOVERY, snapshot_id, scope, report_id=report_id, run_id=run_id,
                          batch=number, batch_count=count)

    @staticmethod
    def _wrap(progress: RestoreProgressCallback | None, number: int, count: int, request: JobRequest
              ) -> Callable[[JobProgress], object] | None:
        if progress is None:
            return None

        def relay(event: JobProgress) -> object:
            return progress(RestoreProgress(
                batch=number, batch_count=count, job_id=event.job_id, phase=event.phase,
                text=f"Batch {number} of {count}: {event.text}", elapsed=event.elapsed,
                ids_in_batch=scope_size(request.scope) or 0, job=event,
            ))

        return relay

    async def cancel(self) -> str | None:
        """Cancel the running batch and skip the rest; returns the cancelled job's id (if one ran)."""
        self._cancel = True
        return await self.runner.cancel()

    async def collect_failures(self, job: Job, snapshot_id: str) -> list[Change]:
        """Fetch a finished recovery job's failed changes into the cache (resumable) and return them."""
        if job.kind is not JobKind.RECOVERY or not job.is_terminal:
            return []
        if job.total_failed_changes == 0 and job.status is RecoveryStatus.SUCCESSFUL:
            return []
        cache = self.runner.cache
        client = self.runner.client
        first = function_url(client.base_url, GET_FAILED_CHANGES_TEMPLATE, snapshot_id, job.id,
                             top=MAX_PAGE_SIZE)
        report = cache.reports.for_job(job.id, ReportKind.FAILED) or cache.report_writer.begin_failed_changes(
            job.id, snapshot_id, first, total_expected=job.total_failed_changes, now=self.runner.clock(),
        )
        try:
            await download_pages(
                cache, report,
                lambda url: client.iter_failed_change_pages(snapshot_id, job.id, start_url=url),
            )
        except (BadRequestError, NotFoundError):
            # Undocumented for a job without failures (or one that never ran): treat as none.
            return cache.queries.failed_changes(job.id)
        return cache.queries.failed_changes(job.id)

    async def resume(self, job: Job, snapshot_id: str, progress: RestoreProgressCallback | None = None,
                     *, batch: int = 1, batch_count: int = 1) -> BatchResult:
        """Pick up a recovery job started before a restart: watch it to its end, then collect failures."""
        request = JobRequest(JobKind.RECOVERY, snapshot_id, job.filtering, batch=batch,
                             batch_count=batch_count)
        if not job.is_terminal:
            job = await self.runner.watch(job, self._wrap(progress, batch, batch_count, request),
                                          snapshot_id=snapshot_id)
        failed = await self.collect_failures(job, snapshot_id)
        self.runner.journal.done(job, f"ended {job.status_raw} (picked up after a restart)")
        return BatchResult(batch, job.filtering, job, tuple(failed))


@dataclass(frozen=True, slots=True)
class RetryPlan:
    """A plan for retrying failures, and the failures it leaves out."""

    plan: RestorePlan
    left_out: tuple[Change, ...] = field(default_factory=tuple)


def retry_plan(failed: Iterable[Change],
               originals: Callable[[str], Change | None] | None = None) -> RetryPlan:
    """A new plan from failed changes that can still be recovered (scoped by ID only).

    ``originals(id)`` may return the change from the report the restore came from; its verdict (with the
    sync status the cache knows) wins over the failed change's partial copy.
    """
    queued = []
    left_out = []
    seen: set[tuple[str, str]] = set()
    for change in failed:
        key = (change.entity_type_raw, change.id)
        if key in seen:
            continue
        seen.add(key)
        source = (originals(change.id) if originals else None) or change
        record = queued_change_for(source)
        if record.verdict.answer is Recoverable.NO or not change.id:
            left_out.append(change)
        queued.append(record)
    plan = plan_restore(queued, allow_whole_type=False)
    return RetryPlan(plan, tuple(left_out))
