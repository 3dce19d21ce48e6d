"""``JobRunner``: the tenant's single job slot — start, poll, cancel, and a queue of jobs waiting their turn.

The service runs one job (difference report or restore) at a time per tenant and answers 409 to a second.
The runner serialises this process's jobs through one FIFO slot (the local queue), looks at ``/jobs``
before each start to see whether another job holds the service's slot, and then either waits for that
job to end (polling it) or stops with :class:`~entrabr_tui.engine.errors.SlotBusyError`, as asked. Every job
it starts is journaled (intent before the POST, job id after), so a crash never leads to a second submit.

Watching a job (:meth:`JobRunner.watch`) polls it until it ends. A job that stays in a status this version
does not know (a value newer than the code) for ``unknown_status_timeout`` seconds is not waited for any
longer: the watch stops with :class:`~entrabr_tui.graph.errors.JobWaitTimeoutError` (``unknown_status``).
The job goes on at the service; the job list shows it.

Downloading a report's changes and reusing finished reports live in :mod:`entrabr_tui.engine.reports`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from entrabr_tui.core.model import Job, JobKind, RecoveryStatus
from entrabr_tui.engine.errors import (
    CancelledBeforeStartError,
    DuplicateRequestError,
    SlotBusyError,
    UnconfirmedIntentError,
    WaitLimitError,
)
from entrabr_tui.engine.events import (
    PHASE_WAITING,
    JobProgress,
    JobProgressCallback,
    describe_job,
    emit,
    status_text,
)
from entrabr_tui.engine.jobs import ActiveJob, JobRequest, SlotMode, SlotState, placeholder_job
from entrabr_tui.engine.journal import Journal
from entrabr_tui.engine.local_queue import LocalQueue
from entrabr_tui.engine.scopes import same_scope, scope_size
from entrabr_tui.engine.timing import Clock, PollPolicy, Sleep, estimate, format_duration, real_sleep, utc_now
from entrabr_tui.graph.client import UNKNOWN_STATUS_TIMEOUT, RecoveryClient
from entrabr_tui.graph.errors import (
    AuthError,
    BadRequestError,
    ConflictError,
    ForbiddenError,
    GraphError,
    JobWaitTimeoutError,
    NetworkError,
    NotFoundError,
    ServerError,
    ThrottledError,
)
from entrabr_tui.store import Cache, JournalIntent

#: Errors after which the service certainly created no job: it refused, or the request never left.
_NOT_CREATED = (ConflictError, ForbiddenError, BadRequestError, NotFoundError, AuthError, NetworkError,
                ThrottledError)
#: Poll failures a wait rides out in a row (each already retried by the Graph client) before giving up.
_TRANSIENT = (NetworkError, ServerError, ThrottledError)
_MAX_POLL_FAILURES = 5
#: A job just created may not be readable at once (replication); tolerate this many 404s first.
_FRESH_JOB_404S = 3


class JobRunner(LocalQueue):
    """Owns the tenant's single job slot for this process.

    ``clock`` and ``sleep`` are injectable (tests run without waiting); ``poll`` sets the backoff and an
    optional bound on polls per wait; ``slot_mode`` is the default answer to a foreign job holding the slot.
    ``tenant_objects`` (when known) sharpens the expected-duration estimate; ``duration_scale`` multiplies
    it (an emulator running jobs faster than the real service). ``unknown_status_timeout`` bounds the time
    a watched job may stay in a status this version does not know (``None``: wait on).
    """

    def __init__(
        self,
        client: RecoveryClient,
        cache: Cache,
        journal: Journal,
        *,
        tenant_objects: int | None = None,
        poll: PollPolicy | None = None,
        clock: Clock = utc_now,
        sleep: Sleep = real_sleep,
        slot_mode: SlotMode = SlotMode.WAIT,
        duration_scale: float = 1.0,
        unknown_status_timeout: float | None = UNKNOWN_STATUS_TIMEOUT,
    ) -> None:
        self.client = client
        self.cache = cache
        self.journal = journal
        self.tenant_objects = tenant_objects
        self.poll = poll or PollPolicy()
        self.clock = clock
        self.sleep = sleep
        self.slot_mode = slot_mode
        self.duration_scale = duration_scale
        self.unknown_status_timeout = unknown_status_timeout
        self._init_queue()
        self._active: ActiveJob | None = None
        self.last_listing: list[Job] = []

    # -- state -----------------------------------------------------------------------------------------

    @property
    def current(self) -> Job | None:
        """The job this runner started and is watching, if any."""
        return self._active.job if self._active else None

    @property
    def busy(self) -> bool:
        return self._active is not None

    def state(self) -> SlotState:
        """Who holds the slot (as of the last ``/jobs`` listing) and what waits in the local queue."""
        holder = self.holder_of(self.last_listing)
        return SlotState(holder, holder is not None and self.journal.owns(holder.id), self.current,
                         tuple(self.pending))

    # -- the service's slot ------------------------------------------------------------------------------

    async def list_jobs(self) -> list[Job]:
        """``GET /jobs``, remembered and written to the cache (jobs no longer listed become archived).

        The list is not under a snapshot path, so each job's ``snapshot_id`` is the cached snapshot whose
        ``createdDateTime`` is its ``targetStateDateTime`` (else the one stored before), or unknown."""
        jobs = [self._with_snapshot(job) for job in await self.client.list_jobs()]
        self.last_listing = jobs
        self.cache.jobs.reconcile(jobs, now=self.clock())
        return jobs

    def _with_snapshot(self, job: Job) -> Job:
        if job.snapshot_id is not None:
            return job
        known = self.cache.tenant.snapshot_at(job.target_state)
        if known is None:
            record = self.cache.jobs.get(job.id)
            known = record.snapshot_id if record is not None else None
        return replace(job, snapshot_id=known) if known is not None else job

    @staticmethod
    def holder_of(jobs: list[Job]) -> Job | None:
        """The job holding the service's slot in a listing (the newest non-terminal one)."""
        running = [job for job in jobs if not job.is_terminal]
        if not running:
            return None
        epoch = datetime.fromtimestamp(0, tz=UTC)
        return max(running, key=lambda job: job.started or epoch)

    async def wait_for_slot(
        self,
        kind: JobKind,
        progress: JobProgressCallback | None = None,
        *,
        mode: SlotMode | None = None,
    ) -> list[Job]:
        """Return once no job holds the service's slot (the fresh ``/jobs`` listing).

        A job entrabr started is always waited for. A foreign one is waited for in ``WAIT`` mode; in
        ``STOP`` mode :class:`SlotBusyError` names it.
        """
        mode = mode or self.slot_mode
        polls = 0
        while True:
            if self._active is not None and self._active.cancel_requested and self._active.job is None:
                raise CancelledBeforeStartError(self._active.request.label)
            jobs = await self.list_jobs()
            holder = self.holder_of(jobs)
            if holder is None:
                return jobs
            ours = self.journal.owns(holder.id)
            if not ours and mode is SlotMode.STOP:
                raise SlotBusyError(holder)
            who = "started by entrabr" if ours else "not started by entrabr"
            await emit(progress, JobProgress(
                job_id=None, kind=kind, phase=PHASE_WAITING, elapsed=self._age(holder),
                text=f"Waiting for the job slot: {describe_job(holder)}, {who}, is still running",
                holder=holder, snapshot_id=holder.snapshot_id,
            ))
            polls += 1
            if self.poll.max_polls is not None and polls >= self.poll.max_polls:
                raise WaitLimitError(holder, polls)
            await self.sleep(self.poll.delay(polls - 1, self._age(holder)))

    # -- one job -----------------------------------------------------------------------------------------

    def snapshot_time(self, snapshot_id: str) -> datetime | None:
        """The backup's time from the cached snapshot list (``None`` when unknown: ids are never decoded)."""
        record = self.cache.tenant.snapshot(snapshot_id)
        return record.created if record is not None else None

    async def backup_time(self, snapshot_id: str) -> datetime | None:
        """The backup's ``createdDateTime``: from the cache, else from the service's snapshot list (which is
        then cached). Jobs name their backup only by this time (``targetStateDateTime``)."""
        known = self.snapshot_time(snapshot_id)
        if known is None:
            self.cache.tenant.record_snapshots(await self.client.list_snapshots(), now=self.clock())
            known = self.snapshot_time(snapshot_id)
        return known

    async def run(
        self,
        request: JobRequest,
        progress: JobProgressCallback | None = None,
        *,
        mode: SlotMode | None = None,
        have_slot: bool = False,
    ) -> Job:
        """Queue, start and watch one job until it ends; returns the terminal job.

        ``have_slot`` is for callers already inside :meth:`exclusive` (a restore's batches).
        """
        if have_slot:
            job = await self.start(request, progress, mode=mode)
            return await self.watch(job, progress, snapshot_id=request.snapshot_id)
        async with self.exclusive(request, progress):
            job = await self.start(request, progress, mode=mode)
            return await self.watch(job, progress, snapshot_id=request.snapshot_id)

    async def start(
        self,
        request: JobRequest,
        progress: JobProgressCallback | None = None,
        *,
        mode: SlotMode | None = None,
    ) -> Job:
        """Wait for the slot, journal the intent, create the job and journal its id; returns its first read.

        The caller should hold the local slot (:meth:`exclusive`). A 409 (someone took the slot after the
        check) sends a ``WAIT``-mode start back to waiting; it never creates a second job.
        """
        self._active = ActiveJob(request)
        try:
            return await self._start(request, progress, mode)
        except BaseException:
            if self._active is not None and self._active.job is None:
                self._active = None
            raise

    async def _start(self, request: JobRequest, progress: JobProgressCallback | None, mode: SlotMode | None
                     ) -> Job:
        conflicts = 0
        settled: datetime | None = None  # the journal was waited for until then
        while True:
            if conflicts:
                if self.poll.max_polls is not None and conflicts > self.poll.max_polls:
                    raise WaitLimitError(self.holder_of(self.last_listing) or placeholder_job(request),
                                         conflicts)
                await self.sleep(self.poll.delay(conflicts - 1, 0.0))
            jobs = await self.wait_for_slot(request.kind, progress, mode=mode)
            listed_at = max(self.clock(), settled) if settled is not None else self.clock()
            settled = await self._settle_journal(request, progress, listed_at)
            if settled is not None:
                continue  # waited for an earlier request to settle: look at the slot again
            intent = self.journal.intend(
                request.kind, request.snapshot_id, request.scope,
                target_state=await self.backup_time(request.snapshot_id), report_id=request.report_id,
                run_id=request.run_id, batch=request.batch, batch_count=request.batch_count,
                label=request.journal_label,
            )
            try:
                job_id = await self._create(request)
            except ConflictError as exc:
                self.journal.rejected(intent, exc.message)
                running = exc.running_job
                if (mode or self.slot_mode) is SlotMode.STOP and running is not None \
                        and not self.journal.owns(running.id):
                    raise SlotBusyError(running) from exc
                conflicts += 1
                continue  # the slot was taken between the check and the POST: wait again
            except _NOT_CREATED as exc:
                self.journal.rejected(intent, exc.message)
                raise
            except GraphError as exc:
                job = await self._settle_unknown(intent, exc)
                self.journal.submitted(intent, job.id)
                return await self._adopt(job, request, jobs)
            self.journal.submitted(intent, job_id)
            job = await self._first_read(request, job_id)
            return await self._adopt(job, request, jobs)

    async def _create(self, request: JobRequest) -> str:
        if request.kind is JobKind.PREVIEW:
            created = await self.client.create_preview_job(request.snapshot_id, request.scope)
        else:
            created = await self.client.create_recovery_job(request.snapshot_id, request.scope)
        return created.id

    def _same_request(self, intent: JournalIntent, request: JobRequest) -> bool:
        return intent.kind is request.kind and intent.snapshot_id == request.snapshot_id \
            and same_scope(intent.scope, request.scope)

    async def _settle_journal(self, request: JobRequest, progress: JobProgressCallback | None,
                              listed_at: datetime) -> datetime | None:
        """Reconcile every open journal entry with the fresh job list (read at ``listed_at``) before a
        submission (see :mod:`entrabr_tui.engine.journal`). An earlier request for the same job that created
        one stops this one (:class:`DuplicateRequestError` names the job, which is tracked: nothing is sent
        again). One too recent to judge is waited for: the time waited until is returned (list the jobs
        again); ``None``: nothing to wait for, send."""
        found = self.journal.reconcile(self.last_listing, listed_at=listed_at)
        for intent, job in found.resumable:
            if job is not None and not job.is_terminal and self._same_request(intent, request):
                raise DuplicateRequestError(job)
        for intent, job in found.adopted:
            if self._same_request(intent, request):
                raise DuplicateRequestError(job)
        unsettled = [i for i in found.unsettled if self._same_request(i, request)]
        if not unsettled:
            return None
        until = max(i.created for i in unsettled) + self.journal.settle
        wait = max(0.0, (until - self.clock()).total_seconds())
        await emit(progress, JobProgress(
            job_id=None, kind=request.kind, phase=PHASE_WAITING, elapsed=0.0,
            text=f"Checking whether the service received an earlier request for the same job "
                 f"(its job list is read again in {wait:.0f} s); nothing is sent until then"))
        await self.sleep(max(wait, 0.001))
        return until

    async def _settle_unknown(self, intent: JournalIntent, error: GraphError) -> Job:
        """The POST's outcome is unknown: look for the job it may have created; never send it again."""
        try:
            jobs = await self.list_jobs()
        except GraphError:
            jobs = []
        job = self.journal.match(intent, jobs)
        if job is not None:
            return job
        raise UnconfirmedIntentError(
            intent.id,
            f"{error.message} No matching job is listed yet; the request was not sent again. entrabr checks "
            "again when it next starts (or when the job list is refreshed).",
        ) from error

    async def _first_read(self, request: JobRequest, job_id: str) -> Job:
        """The new job's first state. The job exists (its id was returned), so a failed read gives a
        stand-in the watch refreshes; only a job still unknown after a few reads is an error."""
        misses = 0
        while True:
            try:
                return await self.client.get_job(request.kind, request.snapshot_id, job_id)
            except NotFoundError:
                misses += 1
                if misses >= _FRESH_JOB_404S:
                    raise
                await self.sleep(self.poll.delay(misses - 1, 0.0))
            except _TRANSIENT:
                return Job(kind=request.kind, id=job_id, status=RecoveryStatus.INITIALIZED,
                           status_raw=RecoveryStatus.INITIALIZED.value,
                           target_state=self.snapshot_time(request.snapshot_id), filtering=request.scope,
                           snapshot_id=request.snapshot_id)

    async def _adopt(self, job: Job, request: JobRequest, listing: list[Job]) -> Job:
        """Make ``job`` the active one; honour a cancel asked for while it was being created."""
        active = self._active or ActiveJob(request)
        active.job = job
        active.expected = self.expected_seconds(job, request, listing)
        self._active = active
        self.cache.jobs.upsert(job, snapshot_id=request.snapshot_id, started_here=True, now=self.clock())
        if active.cancel_requested and not job.is_terminal:
            await self.client.cancel_job(job.id, kind=job.kind)
        return job

    def expected_seconds(self, job: Job, request: JobRequest | None, listing: list[Job]) -> float:
        """The documented planning estimate for ``job`` (§9.3)."""
        loaded = any(
            other.id != job.id and other.target_state == job.target_state
            and other.started is not None and job.started is not None and other.started < job.started
            and other.status is not RecoveryStatus.INITIALIZED
            for other in listing
        )
        changes = None
        if job.total_changed_objects is not None:
            changes = job.total_changed_objects + (job.total_changed_links or 0)
        elif request is not None:
            changes = request.changes_hint if request.changes_hint is not None else scope_size(request.scope)
        return self.duration_scale * estimate(job.kind, tenant_objects=self.tenant_objects, changes=changes,
                                              backup_loaded=loaded).total

    def _age(self, job: Job) -> float:
        if job.started is None:
            return 0.0
        return max(0.0, (self.clock() - job.started).total_seconds())

    def progress_of(self, job: Job, *, expected: float | None, phase: str | None = None,
                    text: str | None = None, snapshot_id: str | None = None) -> JobProgress:
        """A progress event for a job read."""
        return JobProgress(
            job_id=job.id, kind=job.kind, phase=phase or job.status_raw, text=text or status_text(job),
            elapsed=self._age(job), expected=expected, status=job.status,
            snapshot_id=snapshot_id or job.snapshot_id,
            changed_objects=job.total_changed_objects, changed_links=job.total_changed_links,
            objects_modified=job.total_objects_modified, links_modified=job.total_links_modified,
            failed_changes=job.total_failed_changes,
        )

    async def watch(
        self,
        job: Job,
        progress: JobProgressCallback | None = None,
        *,
        snapshot_id: str | None = None,
        expected: float | None = None,
    ) -> Job:
        """Poll ``job`` with backoff until it is terminal; every read is cached and reported.

        Raises :class:`JobWaitTimeoutError` once the job has shown a status this version does not know for
        ``unknown_status_timeout`` seconds in a row (a known status in between starts the count again).
        """
        snapshot = snapshot_id or job.snapshot_id
        if snapshot is None:
            raise ValueError(f"job {job.id} has no backup time, so it cannot be read")
        if expected is None:
            expected = self._active.expected if self._active and self._active.job is job else None
        if expected is None:
            expected = self.expected_seconds(job, None, self.last_listing)
        polls = failures = 0
        began = self.clock()
        unknown_since: datetime | None = None
        try:
            while True:
                if polls:
                    try:
                        job = await self.client.get_job(job.kind, snapshot, job.id)
                    except _TRANSIENT as exc:
                        # The job runs on at the service; a long wait survives a network or service blip.
                        failures += 1
                        if failures > _MAX_POLL_FAILURES:
                            raise
                        await emit(progress, self.progress_of(
                            job, expected=expected, snapshot_id=snapshot,
                            text=f"{status_text(job)} (could not check: {exc.message} Trying again)"))
                        await self.sleep(self.poll.delay(polls - 1, self._age(job)))
                        continue
                    failures = 0
                    self.cache.jobs.upsert(job, snapshot_id=snapshot, now=self.clock())
                    if self._active is not None and self._active.job is not None \
                            and self._active.job.id == job.id:
                        self._active.job = job
                if job.total_changed_objects is not None:
                    expected = max(expected, self.expected_seconds(job, None, self.last_listing))
                await emit(progress, self.progress_of(job, expected=expected, snapshot_id=snapshot))
                if job.is_terminal:
                    return job
                if job.status is RecoveryStatus.UNKNOWN_FUTURE_VALUE:
                    now = self.clock()
                    unknown_since = unknown_since or now
                    self._stop_if_stuck(job, now - unknown_since, now - began)
                else:
                    unknown_since = None
                polls += 1
                if self.poll.max_polls is not None and polls > self.poll.max_polls:
                    raise WaitLimitError(job, polls - 1)
                await self.sleep(self.poll.delay(polls - 1, self._age(job)))
        finally:
            if self._active is not None and self._active.job is not None and self._active.job.id == job.id:
                self._active = None

    def _stop_if_stuck(self, job: Job, stuck: timedelta, waited: timedelta) -> None:
        """Stop watching a job that has been in a status this version does not know for too long."""
        seconds = stuck.total_seconds()
        if self.unknown_status_timeout is None or seconds < self.unknown_status_timeout:
            return
        kind = "difference report" if job.kind is JobKind.PREVIEW else "restore"
        raise JobWaitTimeoutError(
            f"The {kind} job {job.id} has been in status {job.status_raw!r}, which this version of "
            f"entrabr does not know, for {format_duration(seconds)}; stopped waiting for it. It may still be "
            "running at the service: 'entrabr jobs' shows it (a newer entrabr may know the status).",
            job=job, waited=waited.total_seconds(), unknown_status=True)

    async def cancel(self, job_id: str | None = None, *, kind: JobKind | None = None) -> str | None:
        """Cancel a job: the given one, else the one this runner is running (or about to start).

        Returns the id of the job asked to cancel, or ``None`` when nothing was running (a start that is
        still being submitted is cancelled as soon as its id is known). Cancelling is best effort: the job
        turns ``abandoned`` shortly after; a restore keeps what it already applied.
        """
        if job_id is None:
            active = self._active
            if active is None:
                self.drop_pending()  # nothing started yet: the queued requests are dropped
                return None
            if active.job is None:
                active.cancel_requested = True
                return None
            job_id, kind = active.job.id, active.job.kind
            active.cancel_requested = True
        await self.client.cancel_job(job_id, kind=kind)
        return job_id
