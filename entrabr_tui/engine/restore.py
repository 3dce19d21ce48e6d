"""Executing a restore plan: one recovery job per batch, in order, each journaled, with failed changes kept.

The batches of a :class:`~entrabr_tui.core.planner.RestorePlan` run one after another while this process
holds the job slot, so no other queued job slips in between. Each batch's intent is journaled before its
POST and its job id after. When a batch ends, its failed changes (``getFailedChanges``) are stored in the
cache. A cancel stops the running batch (what it already applied stays applied) and skips the rest. A
retry plan is built from the failed changes that can still be recovered.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from entrabr_tui.core.model import (
    Change,
    EntityNameAndIdsFilter,
    FilteringCriteria,
    Job,
    JobKind,
    RecoveryStatus,
)
from entrabr_tui.core.planner import RestorePlan, plan_restore, queued_change_for
from entrabr_tui.core.recoverability import Recoverable
from entrabr_tui.core.text import failed_summary
from entrabr_tui.engine.errors import EngineError, UnconfirmedIntentError
from entrabr_tui.engine.events import (
    PHASE_DONE,
    PHASE_QUEUED,
    PHASE_WAITING,
    JobProgress,
    RestoreProgress,
    RestoreProgressCallback,
    emit,
)
from entrabr_tui.engine.interrupted import BatchPhase, BatchState, run_states
from entrabr_tui.engine.jobs import JobRequest, SlotMode
from entrabr_tui.engine.reports import download_pages
from entrabr_tui.engine.runner import JobRunner
from entrabr_tui.engine.scopes import describe_scope, scope_size
from entrabr_tui.graph.errors import BadRequestError, GraphError, JobWaitTimeoutError, NotFoundError
from entrabr_tui.graph.requests import GET_FAILED_CHANGES_TEMPLATE, MAX_PAGE_SIZE, function_url
from entrabr_tui.store import IntentStatus, ReportKind
from entrabr_tui.store.restore_runs import RestoreRun, RunBatch, RunStatus

#: How a service refusal of a batch as too large reads (the limit is not documented: any 400 that says so).
_TOO_LARGE = re.compile(r"too (many|large|big)|exceed|at most|maximum|limit", re.IGNORECASE)

Submitted = Callable[[RunBatch, int, Job], None]
"""Called as a batch's job is accepted: the batch, how many batches the run has now, the job."""


def _values(scope: FilteringCriteria | None) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return scope.values if isinstance(scope, EntityNameAndIdsFilter) else ()


def split_scope(scope: EntityNameAndIdsFilter, limit: int) -> list[EntityNameAndIdsFilter]:
    """``scope`` cut into scopes of at most ``limit`` IDs, in order (one entry per type in each)."""
    parts: list[EntityNameAndIdsFilter] = []
    entries: list[tuple[str, tuple[str, ...]]] = []
    room = limit
    for entity_type, ids in scope.values:
        pos = 0
        while pos < len(ids):
            take = min(room, len(ids) - pos)
            entries.append((entity_type, ids[pos:pos + take]))
            pos += take
            room -= take
            if room == 0:
                parts.append(EntityNameAndIdsFilter(tuple(entries)))
                entries, room = [], limit
    if entries:
        parts.append(EntityNameAndIdsFilter(tuple(entries)))
    return parts


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
                f"{self.objects_modified:,} objects and {self.links_modified:,} links modified; "
                f"{failed_summary(self.failed_count, len(self.failed))}")
        return text + (f". {self.error}" if self.error else "")


class RestoreExecutor:
    """Runs restore plans through a :class:`JobRunner` (one recovery job per batch), and resumes them.

    Every run is written down (:class:`~entrabr_tui.store.restore_runs.RestoreRuns`) before its first batch
    is sent, each batch journaled around its POST, so a run interrupted at any point can be resumed: a batch
    whose job the service has is followed (never sent again), one it provably never received is sent, one
    whose arrival cannot be judged stops the resume (see :mod:`entrabr_tui.engine.journal`).
    """

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
        on_submitted: Submitted | None = None,
        on_finished: Callable[[BatchResult], None] | None = None,
        report_id: int | None = None,
        plan_hash: str | None = None,
        object_ids: Callable[[FilteringCriteria], Sequence[str]] | None = None,
    ) -> RestoreResult:
        """Run every batch of ``plan`` against backup ``snapshot_id``, in order.

        A service error before the first job exists is raised (nothing happened); after that, the result
        records it and the remaining batches are skipped (the run stays resumable). ``on_submitted(batch,
        batch_count, job)`` is called as each batch's job is accepted, ``on_finished(result)`` as each batch
        ends (history, queue upkeep). ``plan_hash`` and ``object_ids(scope)`` are written down with the run.
        A batch the service refuses as too large (400) is halved, and the restore goes on (see
        :meth:`_halved`).
        """
        self._cancel = False
        if not plan.batches:
            return RestoreResult(uuid.uuid4().hex, snapshot_id, ())
        run = self.runner.cache.runs.begin(
            uuid.uuid4().hex, snapshot_id,
            [RunBatch(n, scope, tuple(object_ids(scope)) if object_ids else ())
             for n, scope in enumerate(plan.batches, start=1)],
            report_id=report_id, plan_hash=plan_hash, now=self.runner.clock(),
        )
        states = tuple(BatchState(b.batch, b.scope, BatchPhase.TO_DO) for b in run.batches)
        return await self._run(run, states, progress, mode, on_submitted, on_finished, reconcile=False)

    async def resume_run(
        self,
        run: RestoreRun,
        progress: RestoreProgressCallback | None = None,
        *,
        mode: SlotMode | None = None,
        on_submitted: Submitted | None = None,
        on_finished: Callable[[BatchResult], None] | None = None,
    ) -> RestoreResult:
        """Finish an interrupted run: batches already done are reported as they ended, the batch whose job
        the service has is followed, the rest are sent in order (never one the service may have)."""
        self._cancel = False
        return await self._run(run, (), progress, mode, on_submitted, on_finished, reconcile=True)

    async def _reconciled_states(self, run: RestoreRun, relay: Callable[[JobProgress], object] | None
                                 ) -> tuple[BatchState, ...]:
        """The run's batch states after reconciling the journal with a fresh job list (waiting for this
        run's entries that are too recent to judge)."""
        runner = self.runner
        settled: datetime | None = None
        while True:
            jobs = await runner.list_jobs()
            listed_at = max(runner.clock(), settled) if settled is not None else runner.clock()
            found = runner.journal.reconcile(jobs, listed_at=listed_at)
            mine = [i for i in found.unsettled if i.run_id == run.id]
            if not mine or settled is not None:
                return run_states(run, runner.cache.journal.of_run(run.id))
            settled = max(i.created for i in mine) + runner.journal.settle
            wait = max(0.0, (settled - runner.clock()).total_seconds())
            await emit(relay, JobProgress(
                job_id=None, kind=JobKind.RECOVERY, phase=PHASE_WAITING, elapsed=0.0,
                text=f"Checking whether the service received the interrupted batch (its job list is read "
                     f"again in {wait:.0f} s); nothing is sent until then"))
            await runner.sleep(max(wait, 0.001))

    async def _run(
        self,
        run: RestoreRun,
        states: tuple[BatchState, ...],
        progress: RestoreProgressCallback | None,
        mode: SlotMode | None,
        on_submitted: Submitted | None,
        on_finished: Callable[[BatchResult], None] | None,
        *,
        reconcile: bool,
    ) -> RestoreResult:
        snapshot_id = run.snapshot_id
        results: list[BatchResult] = []
        cancelled = False
        error: str | None = None
        first = self._request(snapshot_id, run.batches[0].scope, run.id, 1, run.batch_count, run.report_id)
        async with self.runner.exclusive(first, self._wrap(progress, 1, run.batch_count, first)):
            if reconcile:
                states = await self._reconciled_states(run, self._wrap(progress, 1, run.batch_count, first))
            todo = list(states)
            position = 0
            while position < len(todo):
                state = todo[position]
                position += 1
                count = len(todo)
                number, scope = state.batch, state.scope
                if cancelled or error is not None or self._cancel:
                    cancelled = cancelled or self._cancel
                    results.append(BatchResult(number, scope, None, skipped=True))
                    continue
                if state.phase is BatchPhase.DONE:
                    results.append(self._recorded(state))
                    continue
                if state.phase is BatchPhase.UNKNOWN:
                    too_old = state.intent is not None and state.intent.status is IntentStatus.UNCONFIRMED
                    error = (f"Batch {number} of {count}: whether the service received its request cannot be "
                             + ("told: it is older than the service keeps jobs. It was not sent again; drop "
                                "this restore and start a new one if it is still wanted." if too_old else
                                "told yet, so it was not sent again; resume it again shortly."))
                    results.append(BatchResult(number, scope, None, error=error))
                    continue
                request = self._request(snapshot_id, scope, run.id, number, count, run.report_id)
                relay = self._wrap(progress, number, count, request)
                try:
                    if state.phase is BatchPhase.SENT:
                        job = await self._sent_job(state, snapshot_id)
                        if job is None:
                            results.append(self._recorded(state))
                            continue
                        await emit(progress, RestoreProgress(
                            batch=number, batch_count=count, job_id=job.id, phase=job.status_raw,
                            text=f"Batch {number} of {count}: following job {job.id}, sent before a restart",
                            elapsed=0.0, ids_in_batch=scope_size(scope) or 0,
                        ))
                    else:
                        await emit(progress, RestoreProgress(
                            batch=number, batch_count=count, job_id=None, phase=PHASE_QUEUED,
                            text=f"Batch {number} of {count}: starting a restore of {describe_scope(scope)}",
                            elapsed=0.0, ids_in_batch=scope_size(scope) or 0,
                        ))
                        try:
                            job = await self.runner.start(request, relay, mode=mode)
                        except BadRequestError as exc:
                            split = self._halved(run, todo, position - 1, exc)
                            if split is None:
                                raise
                            run, todo, text = split
                            position -= 1  # the first half takes this batch's place
                            await emit(progress, RestoreProgress(
                                batch=number, batch_count=len(todo), job_id=None, phase=PHASE_QUEUED,
                                text=f"Batch {number}: {text}", elapsed=0.0,
                                ids_in_batch=scope_size(todo[position].scope) or 0))
                            continue
                        if on_submitted is not None:
                            on_submitted(run.batches[number - 1], count, job)
                    job = await self.runner.watch(job, relay, snapshot_id=snapshot_id)
                except JobWaitTimeoutError as exc:
                    # The job goes on at the service in a status this version does not know: the run stays
                    # resumable (a resume follows that job, never sends it again) and the wait ends here.
                    self.runner.cache.runs.set_status(run.id, RunStatus.RUNNING, message=str(exc),
                                                      now=self.runner.clock())
                    raise
                except (GraphError, EngineError) as exc:
                    if not reconcile and not any(r.job is not None for r in results):
                        if not isinstance(exc, UnconfirmedIntentError):  # else it may have arrived: resumable
                            self.runner.cache.runs.set_status(run.id, RunStatus.FINISHED, message=str(exc),
                                                              now=self.runner.clock())
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
        count = len(results)
        result = RestoreResult(run.id, snapshot_id, tuple(results), cancelled=cancelled, error=error)
        if cancelled:
            self.runner.cache.runs.set_status(run.id, RunStatus.CANCELLED, now=self.runner.clock())
        elif error is None:
            self.runner.cache.runs.set_status(run.id, RunStatus.FINISHED, message=result.outcome,
                                              now=self.runner.clock())
        else:  # interrupted by an error: the run stays resumable
            self.runner.cache.runs.set_status(run.id, RunStatus.RUNNING, message=error,
                                              now=self.runner.clock())
        await emit(progress, RestoreProgress(
            batch=count, batch_count=count, job_id=None, phase=PHASE_DONE, text=result.summary, elapsed=0.0,
        ))
        return result

    def _halved(self, run: RestoreRun, todo: list[BatchState], index: int, exc: BadRequestError
                ) -> tuple[RestoreRun, list[BatchState], str] | None:
        """The run with the refused batch at ``index`` halved, when the service refused it as too large (a 400
        that says so, for a batch of more than one ID); later batches bigger than the half are split the same
        way before they are sent. The new batches are written down with the run (so a resume sends them).
        ``None``: the refusal was about something else, or the batch cannot be split."""
        scope = todo[index].scope
        size = scope_size(scope) or 0
        if not isinstance(scope, EntityNameAndIdsFilter) or size < 2 or not _TOO_LARGE.search(exc.message):
            return None
        limit = (size + 1) // 2
        states: list[BatchState] = []
        for state in todo[index:]:
            if state.phase is BatchPhase.TO_DO and isinstance(state.scope, EntityNameAndIdsFilter) \
                    and state.scope.id_count > limit:
                states.extend(BatchState(0, part, BatchPhase.TO_DO)
                              for part in split_scope(state.scope, limit))
            else:
                states.append(state)
        first = todo[index].batch
        renumbered = [replace(state, batch=first + n) for n, state in enumerate(states)]
        batches = [RunBatch(s.batch, s.scope, tuple(i for _, ids in _values(s.scope) for i in ids))
                   for s in renumbered]
        run = self.runner.cache.runs.replace_batches(run.id, first, batches, now=self.runner.clock())
        text = (f"the service refused {size} IDs in one job as too many ({exc.message}); from here on at "
                f"most {limit} IDs per job: {len(run.batches)} batches in all")
        return run, todo[:index] + renumbered, text
    async def _sent_job(self, state: BatchState, snapshot_id: str) -> Job | None:
        """The job of a batch sent before a restart, read from the service; ``None`` (and its entry closed)
        when the service no longer knows it (its outcome cannot be collected, and it is never sent again)."""
        assert state.intent is not None and state.job_id is not None
        listed = next((j for j in self.runner.last_listing if j.id == state.job_id), None)
        if listed is not None:
            return listed
        try:
            return await self.runner.client.get_job(JobKind.RECOVERY, snapshot_id, state.job_id)
        except NotFoundError:
            self.runner.journal.close(state.intent, "the service no longer knows this job; its outcome "
                                                    "could not be collected (it was not sent again)")
            return None

    def _recorded(self, state: BatchState) -> BatchResult:
        """A batch that ended before: its job as last seen and its failed changes, from the cache."""
        job_id = state.job_id
        record = self.runner.cache.jobs.get(job_id) if job_id else None
        failed = self.runner.cache.queries.failed_changes(job_id) if job_id else []
        job = record.job if record is not None else None
        return BatchResult(state.batch, state.scope, job, tuple(failed))

    @staticmethod
    def _request(snapshot_id: str, scope: FilteringCriteria | None, run_id: str, number: int, count: int,
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
