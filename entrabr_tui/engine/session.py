"""``Session``: the one object the terminal UI and the headless CLI use for a tenant.

It ties together the sign-in (capabilities and identity), the Graph client, the tenant's cache and the
session history, and offers every action the product has: backups with their cached reports and expiry,
job history, difference reports (created, reused, downloaded), the restore queue, planning, restoring,
cancelling, and picking up jobs after a restart. Every action is appended to the session history (tenant,
identity, backup, scope, counts, outcome; never a token).

The work is done by the collaborators a session holds: the job runner (:mod:`.runner`), reports
(:mod:`.reports`), the directory lookup of which users and groups are synced from on-premises
(:mod:`.sync_status`, run after every report this session ensures and for queued objects before a restore
is planned), restores (:mod:`.restore`), the read side over a second cache connection
(:mod:`.cache_reader`), the restore queue (:mod:`.session_queue`), the history (:mod:`.session_log`) and
resuming after a restart (:mod:`.resume`).

Offline sessions serve what the cache holds and refuse anything that needs Microsoft Graph with
:class:`~entrabr_tui.engine.errors.OfflineError`. Build a session with
:func:`~entrabr_tui.engine.opening.open_session` (or :func:`~entrabr_tui.engine.demo.open_demo` for the
built-in demo tenant). Clearing the cache closes the session: the cache file (with its ``-wal``/``-shm``
companions) is set aside as ``….cleared-<UTC time>`` — nothing is deleted — and the next session on the
tenant starts with an empty cache; the session history is a separate file and keeps everything.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from entrabr_tui.core.audit_blindspots import PurgeEntry
from entrabr_tui.core.audit_triage import TagTarget, TriageNote, TriageTag
from entrabr_tui.core.backup_choice import BackupNotChosen, choose_backup
from entrabr_tui.core.capabilities import Capabilities
from entrabr_tui.core.compare import Comparison, MovedObject, ObjectDelta
from entrabr_tui.core.dependencies import Deleted
from entrabr_tui.core.model import Change, EntityNameAndIdsFilter, FilteringCriteria, Job, JobKind, Snapshot
from entrabr_tui.core.plan_options import Choice
from entrabr_tui.core.verification import Verification
from entrabr_tui.core.watch_rules import RuleSet
from entrabr_tui.engine.alert_view import AlertView, AlertViews
from entrabr_tui.engine.attribution import ChangeAttribution
from entrabr_tui.engine.audit import AuditService
from entrabr_tui.engine.audit_types import (
    ActorSummary,
    AuditProgressCallback,
    AuditPullResult,
    AuditStatus,
    BlindSpot,
    ClusterSummary,
    OperationSummary,
)
from entrabr_tui.engine.backup_compare import BackupComparer
from entrabr_tui.engine.cache_reader import CacheReader, PageAfter, QueuedObject, ReportRef
from entrabr_tui.engine.errors import EngineError, InterruptedRestoreError, OfflineError
from entrabr_tui.engine.events import (
    PHASE_DONE,
    PHASE_SYNC_STATUS,
    PHASE_WAITING,
    JobProgress,
    JobProgressCallback,
    RestoreProgress,
    RestoreProgressCallback,
    emit,
)
from entrabr_tui.engine.export_records import plan_hash
from entrabr_tui.engine.interrupted import InterruptedRestore, run_states
from entrabr_tui.engine.jobs import SlotMode, SlotState
from entrabr_tui.engine.journal import Journal, Reconciliation
from entrabr_tui.engine.plan_builder import PlanBuilder
from entrabr_tui.engine.plan_file import ReviewedPlans
from entrabr_tui.engine.plans import PlanInputs, SessionPlan
from entrabr_tui.engine.progress_watch import ProgressWatch
from entrabr_tui.engine.reports import ReportInfo, ReportManager
from entrabr_tui.engine.restore import BatchResult, RestoreExecutor, RestoreResult, retry_plan
from entrabr_tui.engine.restore_checks import LockoutCheck, Recheck, RestoreChecks
from entrabr_tui.engine.restore_safety import RestoreSafety, reviewed_by
from entrabr_tui.engine.restored import RestoreMark, restore_marks
from entrabr_tui.engine.resume import JobResumer, ResumeResult
from entrabr_tui.engine.runner import JobRunner
from entrabr_tui.engine.session_log import AppAction, ExportedReport, OpsAction, SessionLog
from entrabr_tui.engine.session_queue import SessionQueue
from entrabr_tui.engine.settings import SessionSettings
from entrabr_tui.engine.sync_status import LookupOutcome, SyncCheck, SyncStatusLookup
from entrabr_tui.engine.tenant_status import DRILL_ACTIONS, TenantStatus, last_drill, tenant_status
from entrabr_tui.engine.tenant_writer import TenantWriter
from entrabr_tui.engine.timing import Clock, Sleep, real_sleep, utc_now
from entrabr_tui.engine.watch import AuditSource, Watcher, WatchResult
from entrabr_tui.engine.watch_audit import AuditLogSource
from entrabr_tui.graph.client import RecoveryClient
from entrabr_tui.graph.errors import CREATE_PREVIEW, ForbiddenError
from entrabr_tui.store import (
    Cache,
    ChangeRow,
    History,
    HistoryAction,
    HistoryEntry,
    IntentStatus,
    JobRecord,
    MarkResult,
    NodeCount,
    RecoverableFilter,
    SyncFilter,
)
from entrabr_tui.store.audit_join_store import ChangeGroup, GroupMarkResult
from entrabr_tui.store.config import RestoreGuards
from entrabr_tui.store.restore_runs import RunBatch, RunStatus
from entrabr_tui.store.sqlite_file import set_aside
from entrabr_tui.store.writer_lock import TenantLock, lock_path

CloseHook = Callable[[], Awaitable[None]]

#: How far back :meth:`Session.restore_marks` looks by default.
RESTORE_MARKS_SPAN = timedelta(days=7)

#: Journal states that mean a job may still be running or its outcome is not collected yet.
_UNFINISHED = (IntentStatus.PENDING, IntentStatus.SUBMITTED)


@dataclass(frozen=True, slots=True)
class SnapshotEntry:
    """One backup with what the cache knows about it."""

    snapshot: Snapshot
    expires: datetime  # when the service is expected to drop it (from the observed retention)
    expired: bool  # no longer listed by the service (kept here with its reports)
    reports: tuple[ReportInfo, ...] = ()

    @property
    def report(self) -> ReportInfo | None:
        """The best cached report: a complete unscoped one first, then any complete, then the newest."""
        ranked = sorted(self.reports, key=lambda r: (r.complete, r.scope is None), reverse=True)
        return ranked[0] if ranked else None


def _batch_ids(plan: SessionPlan, scope: FilteringCriteria) -> list[str]:
    """The object ids one batch of ``plan`` restores (for the history)."""
    if isinstance(scope, EntityNameAndIdsFilter):
        return [object_id for _, ids in scope.values for object_id in ids]
    types = set(getattr(scope, "entity_types", ()))
    return [object_id for t in plan.plan.types if t.entity_type in types for object_id in t.ids]


class Session:
    """One tenant: sign-in, Graph client, cache and history. See the module docstring."""

    def __init__(
        self,
        settings: SessionSettings,
        *,
        cache: Cache,
        history: History,
        capabilities: Capabilities,
        client: RecoveryClient | None = None,
        clock: Clock = utc_now,
        sleep: Sleep = real_sleep,
        on_close: Sequence[CloseHook] = (),
    ) -> None:
        self.settings = settings
        self.cache = cache
        self.capabilities = capabilities
        self.client = client
        self.clock = clock
        self._on_close = list(on_close)
        self.open_warnings: list[str] = []
        """Messages from opening and from history entries that could not be written."""
        self.log = SessionLog(history, tenant_id=cache.tenant_id, identity=capabilities.identity.display,
                              warn=self.open_warnings.append)
        self.cache_reader = CacheReader(cache)
        self.comparer = BackupComparer(self.cache_reader)
        self.alerts = AlertViews(self.cache_reader)
        self.audit_source: AuditSource | None = None
        """Where the watch reads the directory audit log: the audit service, online (``None`` offline)."""
        self.plans = PlanBuilder(self.cache_reader, tenant_objects=settings.tenant_objects,
                                 duration_scale=settings.duration_scale, kept=self._kept_objects)
        """Plans restores; its ``kept`` hook gives the objects tagged ``keep`` in triage."""
        self.restore_queue = SessionQueue(self.cache_reader, self.log, self.plans)
        reviewed_plans = ReviewedPlans(cache.tenant_id, lambda: self.identity, self._listed_backups,
                                       lambda: self.guards.require_second_person)
        policies = client.directory.conditional_access_policies if client is not None else None
        checks = RestoreChecks(self._fresh_report, self.cache_reader.iter_changes, policies)
        self.safety = RestoreSafety(self, self.log, settings.restore_guards, checks, reviewed_plans)
        """Staleness, lockout, verification, break-glass settings and reviewed plan files."""
        self.journal = Journal(cache, clock=clock, settle=timedelta(seconds=settings.journal_settle))
        self.writer = TenantWriter(None if cache.read_only else TenantLock(lock_path(cache.db.path)),
                                   clock=clock, sleep=sleep)
        self.sync_lookup = SyncStatusLookup(client, cache, clock=clock)
        self.runner: JobRunner | None = None
        self.reports_manager: ReportManager | None = None
        self.restores: RestoreExecutor | None = None
        self.resumer: JobResumer | None = None
        self._restoring = False
        self.recovered: Reconciliation | None = None
        self.closed = False
        self.emulator: Any = None  # the demo's in-process emulator, when there is one
        self.audit = AuditService(cache, self.cache_reader, client, log=self.log, clock=clock,
                                  writer=self.writer)
        if client is not None:  # whether the sign-in may read the log, only the service can say (a 403)
            self.audit_source = AuditLogSource(self.audit)
        if client is not None:
            self.runner = JobRunner(
                client, cache, self.journal, tenant_objects=settings.tenant_objects, poll=settings.poll,
                clock=clock, sleep=sleep, slot_mode=settings.slot_mode,
                duration_scale=settings.duration_scale,
                unknown_status_timeout=settings.unknown_status_timeout,
            )
            self.reports_manager = ReportManager(self.runner, page_size=settings.page_size,
                                                 on_event=self._report_event, writer=self.writer)
            self.restores = RestoreExecutor(self.runner)
            self.resumer = JobResumer(self.runner, self.reports_manager, self.restores, self.restore_queue,
                                      self.log)

    # -- identity --------------------------------------------------------------------------------------

    @property
    def tenant(self) -> str:
        return self.cache.tenant_id

    @property
    def identity(self) -> str:
        """The signed-in user (UPN) or application, for display and the history."""
        return self.capabilities.identity.display

    @property
    def offline(self) -> bool:
        return self.client is None

    @property
    def service_in_process(self) -> bool:
        """The service is the demo's emulator, running in this process: it stops when the session closes."""
        return self.emulator is not None

    @property
    def warnings(self) -> list[str]:
        """Messages from opening the cache and history (e.g. a damaged file moved aside)."""
        unguarded = [self.writer.warning] if self.writer.warning else []
        return [*self.cache.db.warnings, *self.log.warnings, *self.open_warnings, *unguarded]

    def tenant_holder(self) -> str | None:
        """``another entrabr (report, pid 1234 on host, since 10:32Z)`` while another process holds this
        tenant for writing (downloading a report, restoring); ``None`` otherwise (blocking, cheap)."""
        holder = self.writer.other_holder()
        return holder.text if holder is not None else None

    def _online(self, action: str) -> JobRunner:
        if self.runner is None:
            raise OfflineError(action)
        return self.runner

    def _refused(self, exc: ForbiddenError) -> ForbiddenError:
        """The service's 403 as it was said (what the operation needs), with who was signed in.

        Nothing is refused here up front: the token's claims are only a hint (``capabilities``), the service
        decides. This is what a refusal looks like once it has.
        """
        message = f"{exc.message} Signed in as {self.capabilities.summary}."
        return ForbiddenError(message, needs=exc.needs, status=exc.status, code=exc.code,
                              request_id=exc.request_id, operation=exc.operation)

    def _writable(self, doing: str) -> None:
        """Refuse what would have to store something in a cache that can only be read."""
        if self.cache.read_only:
            raise EngineError(f"{doing} needs to store what it does in the cache, but the cache at "
                              f"{self.cache.db.path} is read-only (a read-only folder or file system). "
                              "Make it writable and try again.")

    def _relay(self, kind: JobKind) -> ProgressWatch:
        """Retries of the Graph client shown in the progress of one run, as they happen."""
        return ProgressWatch(self.client, kind=kind)

    # -- history ---------------------------------------------------------------------------------------

    def history(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        actions: Sequence[HistoryAction | str] | None = None,
        object_id: str | None = None,
        tenant_id: str | None = None,
        limit: int | None = 500,
    ) -> list[HistoryEntry]:
        """Session log entries, newest first; only this tenant's unless ``tenant_id`` is given."""
        return self.log.entries(since=since, until=until, actions=actions, object_id=object_id,
                                tenant_id=tenant_id, limit=limit)

    def record(self, action: str, *, detail: str | None = None, outcome: str = "ok") -> None:
        """Append an action taken in the app (see :class:`~entrabr_tui.engine.session_log.AppAction`)."""
        self.log.write(action, detail=detail, outcome=outcome)

    def log_export(self, what: str, target: str, *, count: int, fmt: str,
                   report: ExportedReport | None = None, outcome: str = "ok") -> None:
        """Record an export (what, where to, how many rows, which format)."""
        self.log.export(what, target, count=count, fmt=fmt, report=report, outcome=outcome)

    def _report_event(self, kind: str, info: ReportInfo) -> None:
        action = {"created": HistoryAction.REPORT_CREATED, "reused": HistoryAction.REPORT_REUSED,
                  "downloaded": HistoryAction.REPORT_DOWNLOADED}[kind]
        counts = {"changes": info.downloaded, "total": info.total}
        if info.unreadable:
            counts["unreadable"] = info.unreadable
        self.log.write(action, snapshot_id=info.snapshot_id, scope=info.scope, job_id=info.id, counts=counts,
                       outcome="ok" if info.complete else "incomplete",
                       detail=None if info.complete else info.state_text)

    # -- snapshots and jobs ----------------------------------------------------------------------------

    async def snapshots(self, *, refresh: bool = True) -> list[SnapshotEntry]:
        """Backups newest first with expiry and cached reports (from the service unless offline)."""
        if refresh and self.client is not None:
            self.cache.tenant.record_snapshots(await self.client.list_snapshots(), now=self.clock())
        by_snapshot: dict[str, list[ReportInfo]] = {}
        for info in self.reports():
            by_snapshot.setdefault(info.snapshot_id or "", []).append(info)
        return [
            SnapshotEntry(
                snapshot=Snapshot(id=r.id, created=r.created, total_changed_objects=r.total_changed_objects),
                expires=r.expected_expiry, expired=r.expired, reports=tuple(by_snapshot.get(r.id, ())),
            )
            for r in self.cache.tenant.snapshots()
        ]

    async def resolve_snapshot(self, spec: str | None) -> str:
        """A backup id from ``latest`` (or ``None``), an id, or a ``YYYY-MM-DD`` date; see
        :func:`~entrabr_tui.core.backup_choice.choose_backup`."""
        entries = await self.snapshots(refresh=not self.offline)
        try:
            return choose_backup(entries, spec, offline=self.offline).snapshot.id
        except BackupNotChosen as error:
            raise EngineError(error.message) from error

    async def job_records(self, *, refresh: bool = True) -> list[JobRecord]:
        """Jobs of both kinds, newest first, with ``archived`` for those the service no longer lists."""
        if refresh and self.runner is not None:
            await self.runner.list_jobs()
        return self.cache.jobs.all()

    async def jobs(self, *, refresh: bool = True) -> list[Job]:
        return [record.job for record in await self.job_records(refresh=refresh)]

    def slot_state(self) -> SlotState | None:
        """Who holds the job slot (as last seen) and what waits in the local queue; ``None`` offline."""
        return self.runner.state() if self.runner is not None else None

    def status(self) -> TenantStatus:
        """This tenant's status row (``entrabr status``), read from the cache and the session history."""
        drills = self.log.entries(actions=DRILL_ACTIONS, limit=1)
        return tenant_status(self.cache, last_drill(drills), profile=None)

    def note_profile(self, profile: str, tenant: str) -> None:
        """Remember in the cache that this tenant was opened through the tenant profile ``profile``, which
        names it ``tenant`` (an id or a domain), so a fleet status finds its cache without signing in. A
        cache that can only be read is left as it is."""
        if not self.cache.read_only:
            self.cache.tenant.note_aliases(f"profile:{profile}", tenant)

    # -- reports ---------------------------------------------------------------------------------------

    async def ensure_report(
        self,
        snapshot_id: str,
        scope: FilteringCriteria | None = None,
        progress: JobProgressCallback | None = None,
        *,
        fresh: bool = False,
        mode: SlotMode | None = None,
    ) -> ReportInfo:
        """A downloaded report of this backup and scope: reused from the cache or the service when possible,
        else created (waiting for the job slot), polled and downloaded. Offline: complete cached ones only."""
        if self.reports_manager is None:
            cached = self.cache.reports.find_reusable(snapshot_id, scope)
            if cached is not None and cached.complete and not fresh:
                info = ReportInfo.of(cached, reused=True)
                self._report_event("reused", info)
                return info
            raise OfflineError("Creating or downloading a difference report")
        if self.cache.read_only:
            cached = self.cache.reports.find_reusable(snapshot_id, scope)
            if cached is not None and cached.complete and not fresh:
                info = ReportInfo.of(cached, reused=True)
                self._report_event("reused", info)
                return info
            self._writable("Creating or downloading a difference report")
        reports = self.reports_manager
        relay = self._relay(JobKind.PREVIEW)
        relayed = relay.job(progress)

        async def report_then_sync() -> ReportInfo:
            info = await reports.ensure_report(snapshot_id, scope, relayed, fresh=fresh, mode=mode)
            await self._look_up_sync(info, None, relayed)
            return info

        try:
            return await relay.run(report_then_sync())
        except ForbiddenError as exc:
            refused = self._refused(exc)
            creating = exc.operation is CREATE_PREVIEW
            self.log.write(HistoryAction.REPORT_CREATED if creating else HistoryAction.REPORT_DOWNLOADED,
                           snapshot_id=snapshot_id, scope=scope, outcome="refused", detail=refused.message)
            raise refused from exc

    async def check_sync_status(self, ref: ReportRef | None = None, ids: Sequence[str] | None = None, *,
                                queued: bool = False,
                                progress: JobProgressCallback | None = None) -> SyncCheck:
        """Ask the directory which users and groups of a report are synced from on-premises, where that is
        still unknown (see :mod:`~entrabr_tui.engine.sync_status`): the queued ones (``queued``: of ``ref``,
        or of the only report with a queue), ``ids``, or every one of the report. Never raises for a refusal
        or a network error: the check says how it ended, and what is not known stays unknown."""
        if queued:
            report = self.restore_queue.queued_report(ref)
            if report is None:
                return SyncCheck(LookupOutcome.NOTHING)
            with self.cache_reader.locked() as cache:
                ids = [entry.object_id for entry in cache.queue.entries(report.id)]
        elif ref is None:
            raise EngineError("Name the report whose sync status to check.")
        else:
            report = self.cache_reader.resolve(ref)
        return await self._look_up_sync(ReportInfo.of(report), ids, progress)

    def sync_unchecked(self, ref: ReportRef) -> int:
        """Users and groups of a cached report whose sync status was never looked up (the report was read
        offline, or a lookup was refused or stopped): their changes answer recoverable ``unknown``."""
        report = self.cache_reader.resolve(ref)
        with self.cache_reader.locked() as cache:
            return len(cache.sync.pending(report.id))

    async def _look_up_sync(self, info: ReportInfo, ids: Sequence[str] | None,
                            progress: JobProgressCallback | None) -> SyncCheck:
        started = self.clock()

        async def step(done: int, total: int) -> None:
            await emit(progress, JobProgress(
                job_id=info.id, kind=JobKind.PREVIEW, phase=PHASE_SYNC_STATUS,
                text=f"Checking which users and groups are synced from on-premises: {done:,} of {total:,}",
                elapsed=(self.clock() - started).total_seconds(), snapshot_id=info.snapshot_id))

        check = await self.sync_lookup.run(info.report_id, ids, step)
        if check.outcome not in (LookupOutcome.NOTHING, LookupOutcome.OFFLINE):
            await emit(progress, JobProgress(
                job_id=info.id, kind=JobKind.PREVIEW, phase=PHASE_DONE, text=check.summary,
                elapsed=(self.clock() - started).total_seconds(), snapshot_id=info.snapshot_id))
            self.log.write(HistoryAction.SYNC_STATUS_CHECKED, snapshot_id=info.snapshot_id, job_id=info.id,
                           outcome=check.outcome.value, detail=check.summary,
                           counts={"asked": check.asked, "synced": check.synced, "cloud": check.cloud,
                                   "notFound": check.not_found, "left": check.left})
        return check

    def report(self, ref: ReportRef) -> ReportInfo | None:
        """A cached report, or ``None``."""
        return self.cache_reader.report(ref)

    def reports(self, snapshot_id: str | None = None) -> list[ReportInfo]:
        """Cached difference reports, newest first (archived ones included)."""
        return self.cache_reader.reports(snapshot_id)

    # -- comparing two backups ---------------------------------------------------------------------------

    async def compare_backups(self, snapshot_a: str, snapshot_b: str,
                              progress: JobProgressCallback | None = None, *,
                              fresh: bool = False) -> Comparison:
        """What differs between two backups, from a report of each against the live tenant (see
        :mod:`entrabr_tui.core.compare`): each backup's best complete report (unscoped first), else a new one;
        with ``fresh``, two new reports run one right after the other."""
        refs: list[str] = []
        for snapshot_id in (snapshot_a, snapshot_b):
            cached = None if fresh else self._comparable_report(snapshot_id)
            if cached is None:
                cached = await self.ensure_report(snapshot_id, None, progress, fresh=fresh)
            refs.append(cached.id)
        return await asyncio.to_thread(self.comparer.compare, refs[0], refs[1])

    def compare_page(self, reports: tuple[str, str], entity_type: str | None, kind: str | None, offset: int,
                     limit: int) -> Sequence[ObjectDelta]:
        """A page of the objects of one of the newest comparisons (of one type and kind when given);
        ``reports`` names it by the preview job ids of A and B (one no longer open is refused)."""
        return self.comparer.page(reports, offset, limit, entity_type, kind)

    def compare_moved(self, reports: tuple[str, str], offset: int, limit: int) -> Sequence[MovedObject]:
        """A page of the objects a comparison (named as for :meth:`compare_page`) left out: the live tenant
        moved between its reports."""
        return self.comparer.moved_page(reports, offset, limit)

    def _comparable_report(self, snapshot_id: str) -> ReportInfo | None:
        ranked = sorted((r for r in self.reports(snapshot_id) if r.complete),
                        key=lambda r: r.scope is None, reverse=True)
        return ranked[0] if ranked else None

    # -- watch ------------------------------------------------------------------------------------------

    async def watch(self, rules: RuleSet, *, use_audit: bool = True) -> WatchResult:
        """One watch run (see :mod:`entrabr_tui.engine.watch`); alerts raised and resolved go to the
        history."""
        self._writable("Watching")
        watcher = Watcher(self.cache, tenant=self.tenant, clock=self.clock,
                          audit=self.audit_source if use_audit else None)
        result = await watcher.run(rules, use_audit=use_audit)
        report = result.report
        for alert in result.raised:
            self.log.write(OpsAction.ALERT_RAISED, job_id=alert.detail.get("reportId"),
                           outcome=alert.severity, detail=f"{alert.id}: {alert.title}"[:1000])
        for alert in result.resolved:
            self.log.write(OpsAction.ALERT_RESOLVED, outcome="resolved",
                           detail=f"{alert.id}: {alert.title}"[:1000])
        self.log.write(OpsAction.WATCH, snapshot_id=report.snapshot_id if report else None,
                       job_id=report.job_id if report else None,
                       counts={"findings": len(result.findings), "raised": len(result.raised),
                               "resolved": len(result.resolved), "open": len(result.open)},
                       outcome="alerting" if result.open else "ok")
        return result

    async def write_evidence(self, folder: Path, since: datetime,
                             progress: Callable[[int, int, str], object] | None = None,
                             audit_progress: AuditProgressCallback | None = None, /) -> list[Path]:
        """Write the evidence pack of the recoveries since ``since`` to the new (or empty) ``folder``, the
        steps to ``progress`` and the read of the audit log to ``audit_progress`` (see
        :func:`~entrabr_tui.engine.evidence.write_evidence`); returns the files written."""
        from entrabr_tui.engine.evidence import write_evidence

        return await write_evidence(self, folder, since, progress, audit_progress)

    def alert_view(self, alert_id: str, /) -> AlertView:
        """What the app shows for open alert ``alert_id``: its report and the objects its rule matched
        (blocking); :class:`~entrabr_tui.engine.alert_view.AlertNotShownError` says why it cannot be shown."""
        return self.alerts.view(alert_id)

    # -- cached changes (blocking: call from worker threads) -------------------------------------------

    def counts(self, ref: ReportRef, *, text: str | None = None, recoverable: RecoverableFilter = None,
               on_prem: SyncFilter = None, marked: bool | None = None,
               ids: Sequence[str] | None = None) -> list[NodeCount]:
        """Changes per (type, action) of a report, of the changes matching the filters (``ids``: of these
        objects only)."""
        return self.cache_reader.counts(ref, text=text, recoverable=recoverable, on_prem=on_prem,
                                        marked=marked, ids=ids)

    def page(self, ref: ReportRef, entity_type: str | None = None, action: str | None = None,
             after: PageAfter | None = None, limit: int = 100, *, text: str | None = None,
             recoverable: RecoverableFilter = None, on_prem: SyncFilter = None,
             marked: bool | None = None, ids: Sequence[str] | None = None) -> list[ChangeRow]:
        """A keyset page of changes ordered by type, action, name, id (``after`` = last row's key)."""
        return self.cache_reader.page(ref, entity_type, action, after, limit, text=text,
                                      recoverable=recoverable, on_prem=on_prem, marked=marked, ids=ids)

    def change(self, ref: ReportRef, object_id: str, position: int | None = None, /) -> Change | None:
        """One change with both property sets: the one at ``position`` (a row's place in the report, since
        an object may have several changes), else the object's first; ``None`` when there is none."""
        return self.cache_reader.change(ref, object_id, position)

    def changes(self, ref: ReportRef, object_ids: Sequence[str]) -> list[Change]:
        """Every change of these objects (objects in the order given); ids not in the report are skipped."""
        return self.cache_reader.changes(ref, object_ids)

    def resolve_ids(self, ref: ReportRef, typed: Sequence[str]) -> dict[str, str]:
        """The report's object id for each id a person typed: the same one, else the one that matches it
        ignoring case (ids are otherwise compared exactly)."""
        return self.cache_reader.resolve_ids(ref, typed)

    def unreadable(self, ref: ReportRef, *, limit: int | None = None) -> list[ChangeRow]:
        """The change objects of a report that could not be read, each with its reason (kept raw)."""
        return self.cache_reader.unreadable(ref, limit=limit)

    def iter_changes(self, ref: ReportRef) -> Iterator[Change]:
        """Every cached change of a report, streamed on a connection of its own (see
        :meth:`CacheReader.iter_changes <entrabr_tui.engine.cache_reader.CacheReader.iter_changes>`)."""
        return self.cache_reader.iter_changes(ref)

    def display_names(self, ids: Sequence[str], ref: ReportRef | None = None) -> dict[str, str]:
        """Names of cached objects by id (from ``ref``, else from the newest reports that hold them)."""
        return self.cache_reader.display_names(ids, ref)

    def failed_changes(self, job_id: str) -> list[Change]:
        """Failed changes of a restore job kept in the cache (with ``failure_message``)."""
        return self.cache_reader.failed_changes(job_id)

    # -- restore queue (blocking) ----------------------------------------------------------------------

    def marked(self, ref: ReportRef) -> set[str]:
        """Ids queued from this report."""
        return self.cache_reader.marked(ref)

    def queue(self, ref: ReportRef | None = None) -> list[QueuedObject]:
        """Queued objects (of one report, or of every report), by type, action and name."""
        return self.cache_reader.queue(ref)

    def mark(self, ref: ReportRef, ids: Sequence[str]) -> int:
        """Queue objects of a report by id; returns the queue size. Ids not in the report are ignored."""
        return self.restore_queue.mark(ref, ids)

    def seed_queue(self, ref: ReportRef, lines: Iterable[str]) -> MarkResult:
        """Queue the ids listed in text (a file or stdin; see
        :func:`~entrabr_tui.engine.session_queue.parse_id_list`)."""
        return self.restore_queue.seed(ref, lines)

    def mark_where(self, ref: ReportRef, *, nodes: Sequence[tuple[str, str]] | None = None,
                   entity_type: str | None = None, action: str | None = None, text: str | None = None,
                   recoverable: RecoverableFilter = None, on_prem: SyncFilter = None,
                   ids: Sequence[str] | None = None) -> int:
        """Queue every change matching the filters (``nodes``: of these (type, action) pairs only; ``ids``:
        of these objects only), across the whole report; returns how many were newly queued. Undone by
        :meth:`undo_marks`."""
        return self.restore_queue.mark_where(ref, nodes=nodes, entity_type=entity_type, action=action,
                                             text=text, recoverable=recoverable, on_prem=on_prem, ids=ids)

    def unmark_where(self, ref: ReportRef, *, nodes: Sequence[tuple[str, str]] | None = None,
                     entity_type: str | None = None, action: str | None = None, text: str | None = None,
                     recoverable: RecoverableFilter = None, on_prem: SyncFilter = None,
                     ids: Sequence[str] | None = None) -> int:
        """Take every change matching the filters out of the queue (``ids``: of these objects only); returns
        how many left it. Undone by :meth:`undo_marks`."""
        return self.restore_queue.unmark_where(ref, nodes=nodes, entity_type=entity_type, action=action,
                                               text=text, recoverable=recoverable, on_prem=on_prem,
                                               ids=ids)

    def undoable_marks(self) -> tuple[int, int]:
        """What :meth:`undo_marks` would do: ``(unmark, mark again)``; ``(0, 0)``: nothing to undo."""
        return self.restore_queue.undoable()

    def undo_marks(self) -> tuple[int, int]:
        """Revert the last bulk change of the queue made in this session (marking or unmarking by filter,
        emptying the queue, carrying it to a newer report); returns ``(unmarked, marked again)``."""
        return self.restore_queue.undo()

    def move_queue(self, source: ReportRef, target: ReportRef) -> tuple[int, int]:
        """Carry the queue of a report over to a newer report of the same backup: objects still in the newer
        report stay queued, the others leave the queue. Returns ``(kept, dropped)``."""
        return self.restore_queue.move(source, target)

    def queue_signature(self) -> tuple[int, str | None]:
        """A cheap value that changes whenever the queue changes, in this process or another (the CLI)."""
        return self.restore_queue.signature()

    def restore_marks(self, since: datetime | None = None) -> dict[str, RestoreMark]:
        """What the restores submitted since ``since`` (default: the last 7 days) did to each object they
        covered, keyed by lower-case object id (see :mod:`entrabr_tui.engine.restored`)."""
        start = since if since is not None else self.clock() - RESTORE_MARKS_SPAN
        return restore_marks(self.log, self.cache_reader, start)

    def unmark(self, ref: ReportRef, ids: Sequence[str]) -> int:
        """Remove objects from the queue; returns the queue size."""
        return self.restore_queue.unmark(ref, ids)

    def unmark_all(self, ref: ReportRef | None = None) -> int:
        """Empty the queue (of one report, or of every report); returns how many were removed."""
        return self.restore_queue.unmark_all(ref)

    def plan(self, ref: ReportRef | None = None, *, allow_whole_type: bool = True,
             record: bool = True, strategy: Choice | str | None = None) -> SessionPlan:
        """Plan a restore of the queue of one report (see
        :meth:`SessionQueue.plan <entrabr_tui.engine.session_queue.SessionQueue.plan>`)."""
        plan = self.restore_queue.plan(ref, allow_whole_type=allow_whole_type, record=record,
                                       strategy=strategy)
        return self._with_tags(plan)

    def plan_changes(self, ref: ReportRef, changes: Iterable[Change], *, allow_whole_type: bool = True,
                     strategy: Choice | str | None = None, record: bool = True) -> SessionPlan:
        """Plan a restore of the objects of ``changes`` (of report ``ref``; streamed once), comparing the
        options like a queue's plan."""
        report = ReportInfo.of(self.cache_reader.resolve(ref))
        plan = self.plans.plan(report, PlanInputs.of(changes), strategy=strategy,
                               allow_whole_type=allow_whole_type)
        if record:
            self.restore_queue.log_plan(plan)
        return self._with_tags(plan)

    def _kept_objects(self, report: ReportInfo) -> Collection[str]:
        """The planner's hook: the report's objects a triage tag keeps (none before the report is joined)."""
        return self.audit.kept(report.id)[0]

    def _with_tags(self, plan: SessionPlan) -> SessionPlan:
        """``plan`` saying how many changes of its report the triage tags keep."""
        if plan.report is None:
            return plan
        return plan.with_kept_by_tags(self.audit.kept(plan.report.id)[1])

    # -- the checks around a restore --------------------------------------------------------------------

    async def _fresh_report(self, snapshot_id: str, scope: FilteringCriteria,
                            progress: JobProgressCallback | None) -> ReportInfo:
        return await self.ensure_report(snapshot_id, scope, progress, fresh=True)

    async def _listed_backups(self) -> dict[str, bool]:
        return {entry.snapshot.id: entry.expired for entry in await self.snapshots()}

    # -- the checks around a restore (see :mod:`~entrabr_tui.engine.restore_safety`) ----------------------

    @property
    def guards(self) -> RestoreGuards:
        """Break-glass accounts and groups, and whether a reviewed plan needs a second person."""
        return self.safety.guards

    def dependency_fixes(self, plan: SessionPlan) -> list[Deleted]:
        return self.safety.dependency_fixes(plan)

    def queue_dependencies(self, plan: SessionPlan) -> int:
        return self.safety.queue_dependencies(plan)

    async def recheck(self, plan: SessionPlan, progress: JobProgressCallback | None = None) -> Recheck:
        self._online("Checking the tenant against the reviewed plan")
        return await self.safety.recheck(plan, progress)

    def skip_recheck(self, plan: SessionPlan) -> Recheck:
        return self.safety.skip_recheck(plan)

    def settle_recheck(self, plan: SessionPlan, recheck: Recheck, choice: str) -> SessionPlan | None:
        return self.safety.settle_recheck(plan, recheck, choice)

    async def lockout_check(self, plan: SessionPlan) -> LockoutCheck:
        return await self.safety.lockout_check(plan)

    def confirm_lockout(self, check: LockoutCheck, typed: Sequence[str]) -> bool:
        return self.safety.confirm_lockout(check, typed)

    async def lockout_after(self, check: LockoutCheck) -> LockoutCheck:
        return await self.safety.lockout_after(check)

    async def verify_restore(self, plan: SessionPlan, result: RestoreResult,
                             progress: JobProgressCallback | None = None) -> Verification:
        return await self.safety.verify_restore(plan, result, progress)

    def skip_verify(self, result: RestoreResult) -> Verification:
        return self.safety.skip_verify(result)

    def set_break_glass(self, users: Sequence[str], groups: Sequence[str]) -> None:
        self.safety.set_break_glass(users, groups)

    def break_glass_wanted(self, plan: SessionPlan) -> bool:
        return self.safety.break_glass_wanted(plan)

    def export_plan(self, plan: SessionPlan, path: Path, *, replace_file: bool = False) -> str:
        return self.safety.export_plan(plan, path, replace_file=replace_file)

    async def open_plan(self, path: Path) -> SessionPlan:
        return await self.safety.open_plan(path)

    # -- the directory audit log: who changed what (see engine/audit.py) ------------------------------

    async def pull_audit(self, report_id: ReportRef | None = None,
                         progress: AuditProgressCallback | None = None) -> AuditPullResult:
        """Read the audit log of a report's backup window into the cache (resuming a stopped pull, then only
        what is missing) and join the report with it;
        :class:`~entrabr_tui.engine.audit_types.AuditUnavailableError` names what the sign-in lacks."""
        return await self.audit.pull(report_id, progress)

    def audit_status(self) -> AuditStatus:
        """Whether the audit features can be used, and what the cache holds of the log."""
        return self.audit.status()

    def attribution(self, report_id: ReportRef, object_id: str, position: int | None = None, /
                    ) -> ChangeAttribution | None:
        """Who made an object's change at ``position`` (else its first) and each of its properties ("by
        alice@… via HR-Sync at 14:32Z")."""
        return self.audit.attribution(report_id, object_id, position)

    def audit_actors(self, report_id: ReportRef) -> list[ActorSummary]:
        """The report's actors ranked by changes, with their time span and operation counts."""
        return self.audit.actors(report_id)

    def audit_operations(self, report_id: ReportRef, actor_key: str, after: tuple[int, str] | None = None,
                         limit: int = 500) -> list[OperationSummary]:
        """An actor's operations (correlation ids with activity names and counts), most changes first."""
        return self.audit.operations(report_id, actor_key, after=after, limit=limit)

    def audit_clusters(self, report_id: ReportRef, after: tuple[int, str] | None = None,
                       limit: int = 500) -> list[ClusterSummary]:
        """Clusters of alike changes, largest first, with their triage tags."""
        return self.audit.clusters(report_id, after=after, limit=limit)

    def group_count(self, report_id: ReportRef, group: ChangeGroup, *, marked: bool | None = None,
                    kept: bool | None = None) -> int:
        """Changes in a group (actor, operation, cluster, time window, filter …) across the whole report
        (``marked``: only queued or unqueued ones; ``kept``: only ones a ``keep`` tag keeps, or the
        others)."""
        return self.audit.group_count(report_id, group, marked=marked, kept=kept)

    def group_has(self, report_id: ReportRef, group: ChangeGroup, *, marked: bool | None = None,
                  kept: bool | None = None) -> bool:
        """Whether a group holds any change (narrowed as :meth:`group_count` narrows); stops at the first."""
        return self.audit.group_has(report_id, group, marked=marked, kept=kept)

    def group_counts(self, report_id: ReportRef, by: str,
                     group: ChangeGroup | None = None) -> list[tuple[str, int]]:
        """Sizes of a group's sub-groups by ``actor``, ``operation`` or ``cluster``, largest first."""
        return self.audit.group_counts(report_id, by, group)

    def group_page(self, report_id: ReportRef, group: ChangeGroup, after: tuple[str, str, int] | None = None,
                   limit: int = 100) -> list[ChangeRow]:
        """A keyset page of a group's changes by name and position."""
        return self.audit.group_page(report_id, group, after, limit)

    def mark_group(self, report_id: ReportRef, group: ChangeGroup) -> GroupMarkResult:
        """Queue a whole group for restore, set-based; kept changes are skipped and counted. One bulk change:
        :meth:`undo_marks` takes out exactly what it queued."""
        return self.audit.mark_group(report_id, group)

    def unmark_group(self, report_id: ReportRef, group: ChangeGroup) -> int:
        """Take a whole group out of the restore queue; returns how many objects left it. One bulk change:
        :meth:`undo_marks` queues them again."""
        return self.audit.unmark_group(report_id, group)

    def blind_spots(self, report_id: ReportRef) -> list[BlindSpot]:
        """What the report cannot show or a restore will not fix since its backup, with what to do."""
        return self.audit.blind_spots(report_id)

    def blind_spot_count(self, report_id: ReportRef) -> int:
        """How many blind spots there are (for the status line)."""
        return self.audit.blind_spot_count(report_id)

    def purge_clock(self, report_id: ReportRef) -> list[PurgeEntry]:
        """Deleted objects of the report and when they are purged for good, most urgent first."""
        return self.audit.purge_clock(report_id)

    def triage_tag(self, target: TagTarget, key: str) -> TriageNote | None:
        """The triage tag of a cluster or an operation."""
        return self.audit.tag(target, key)

    def set_triage_tag(self, target: TagTarget, key: str, tag: TriageTag | None,
                       note: str = "") -> TriageNote | None:
        """Tag a cluster or an operation revert / keep / investigate (``None`` removes the tag)."""
        return self.audit.set_tag(target, key, tag, note)

    # -- restore ---------------------------------------------------------------------------------------

    async def restore(self, plan: SessionPlan, progress: RestoreProgressCallback | None = None, *,
                      mode: SlotMode | None = None) -> RestoreResult:
        """Run the plan's recovery jobs one after another (the run and each batch journaled); restored
        objects leave the queue, failed ones stay queued for a retry. Holds the tenant for writing (waiting
        while another entrabr process holds it)."""
        self._online("Restoring")
        self._writable("Restoring")  # a restore is never run without its journal
        assert self.restores is not None
        if plan.is_empty or plan.snapshot_id is None:
            raise EngineError("The plan is empty: nothing queued can be recovered.")
        if self._restoring:
            raise EngineError("A restore is already running in this session; wait for it to finish.")
        interrupted = self.interrupted_restore()
        if interrupted is not None:
            raise InterruptedRestoreError(interrupted)
        report_id = plan.report.report_id if plan.report is not None else None
        snapshot_id = plan.snapshot_id
        restores = self.restores
        reviewed = plan.reviewed_plan
        if reviewed is not None:
            self.log.write(HistoryAction.PLAN_APPLIED, snapshot_id=snapshot_id,
                           job_id=plan.tenant_report_id, outcome="applying", object_ids=plan.ids,
                           detail=f"{reviewed_by(plan)}; applied by {self.identity}")

        def ids_of(scope: FilteringCriteria) -> list[str]:
            return _batch_ids(plan, scope)

        async def run(relayed: RestoreProgressCallback | None) -> RestoreResult:
            return await restores.execute(
                plan.plan, snapshot_id, relayed, mode=mode,
                on_submitted=self._batch_submitted(snapshot_id),
                on_finished=self._batch_finished(report_id), report_id=report_id,
                plan_hash=plan_hash(plan.plan, snapshot_id), object_ids=ids_of)

        return await self._restoring_as("restore", "running a restore on this tenant", plan.batch_count,
                                        snapshot_id, progress, run)

    def _batch_submitted(self, snapshot_id: str) -> Callable[[RunBatch, int, Job], None]:
        def submitted(batch: RunBatch, count: int, job: Job) -> None:
            self.log.write(HistoryAction.RESTORE_SUBMITTED, snapshot_id=snapshot_id, scope=batch.scope,
                           job_id=job.id, object_ids=list(batch.object_ids),
                           counts={"batch": batch.batch, "batches": count})
        return submitted

    def _batch_finished(self, report_id: int | None) -> Callable[[BatchResult], None]:
        def finished(result: BatchResult) -> None:
            job = result.job
            if job is None:
                return
            if report_id is not None and job.status.value == "successful":
                self.restore_queue.unmark_done(report_id, result.scope, result.failed)
            self.log.write(HistoryAction.RESTORE_FINISHED, snapshot_id=job.snapshot_id, scope=result.scope,
                           job_id=job.id, outcome=job.status_raw, detail=f"batch {result.batch}",
                           object_ids=[c.id for c in result.failed],
                           counts={"batch": result.batch, "objectsModified": result.objects_modified,
                                   "linksModified": result.links_modified,
                                   "failedChanges": job.total_failed_changes or 0})
        return finished

    async def _restoring_as(self, command: str, doing: str, batch_count: int, snapshot_id: str,
                            progress: RestoreProgressCallback | None,
                            run: Callable[[RestoreProgressCallback | None], Awaitable[RestoreResult]]
                            ) -> RestoreResult:
        """Run a restore (or a resume) holding the tenant for writing, and record its outcome. ``run`` gets
        the progress callback to use (it also hears the Graph client's retries)."""
        relay = self._relay(JobKind.RECOVERY)
        relayed = relay.restore(progress)

        def waiting(text: str) -> object:
            return emit(relayed, RestoreProgress(batch=1, batch_count=batch_count, job_id=None,
                                                 phase=PHASE_WAITING, text=text, elapsed=0.0))

        self._restoring = True
        try:
            async with self.writer.hold(command, doing, waiting):
                result = await relay.run(run(relayed))
        except ForbiddenError as exc:
            refused = self._refused(exc)
            self.log.write(HistoryAction.RESTORE_FINISHED, snapshot_id=snapshot_id, outcome="refused",
                           detail=refused.message, counts={"batches": batch_count})
            raise refused from exc
        except Exception as exc:
            self.log.write(HistoryAction.RESTORE_FINISHED, snapshot_id=snapshot_id, outcome="error",
                           detail=str(exc), counts={"batches": batch_count})
            raise
        finally:
            self._restoring = False
        self.log.write(
            HistoryAction.RESTORE_FINISHED, snapshot_id=snapshot_id, outcome=result.outcome,
            detail=result.summary, object_ids=[c.id for c in result.failed],
            counts={"objectsModified": result.objects_modified, "linksModified": result.links_modified,
                    "failedChanges": result.failed_count, "batches": len(result.batches),
                    "jobs": len(result.jobs)},
        )
        return result

    # -- interrupted restores ----------------------------------------------------------------------------

    def interrupted_restore(self) -> InterruptedRestore | None:
        """The oldest restore that stopped before all its batches ran (a crash, a kill, an error), with
        where each batch stands; ``None`` when there is none, or while a restore runs here or another
        entrabr process holds the tenant (it may be running it)."""
        if self._restoring or self.writer.other_holder() is not None:
            return None
        with self.cache_reader.locked() as cache:
            runs = cache.runs.unfinished()
            if not runs:
                return None
            run = runs[0]
            states = run_states(run, cache.journal.of_run(run.id))
            report = cache.reports.get(run.report_id) if run.report_id is not None else None
        return InterruptedRestore(run, states, report.job_id if report is not None else None)

    async def resume_restore(self, progress: RestoreProgressCallback | None = None) -> RestoreResult:
        """Finish the interrupted restore (see :meth:`interrupted_restore`): the batch it was running is
        followed to its end (never sent again), the batches it had not sent are sent in order."""
        self._online("Resuming a restore")
        self._writable("Resuming a restore")
        assert self.restores is not None
        restores = self.restores
        if self._restoring:
            raise EngineError("A restore is already running in this session; wait for it to finish.")
        runs = self.cache.runs.unfinished()
        if not runs:
            raise EngineError("No interrupted restore to resume.")
        run_record = runs[0]

        async def run(relayed: RestoreProgressCallback | None) -> RestoreResult:
            return await restores.resume_run(
                run_record, relayed,
                on_submitted=self._batch_submitted(run_record.snapshot_id),
                on_finished=self._batch_finished(run_record.report_id))

        self.log.write(HistoryAction.RESTORE_SUBMITTED, snapshot_id=run_record.snapshot_id,
                       detail=f"resuming an interrupted restore of {run_record.batch_count} batch(es)",
                       counts={"batches": run_record.batch_count})
        return await self._restoring_as("restore (resume)", "running a restore on this tenant",
                                        run_record.batch_count, run_record.snapshot_id, progress, run)

    def discard_interrupted_restore(self) -> int:
        """Forget the interrupted restores: their remaining batches are never sent (a batch already at the
        service runs on and is still recorded when it ends). Returns how many were dropped."""
        runs = self.cache.runs.unfinished()
        for run in runs:
            self.cache.runs.set_status(run.id, RunStatus.DROPPED, message="dropped by the user",
                                       now=self.clock())
            self.log.write(HistoryAction.RESTORE_FINISHED, snapshot_id=run.snapshot_id, outcome="dropped",
                           detail=f"interrupted restore of {run.batch_count} batch(es) dropped; its "
                           "remaining batches were not sent", counts={"batches": run.batch_count})
        return len(runs)

    def retry_plan(self, result: RestoreResult, plan: SessionPlan) -> SessionPlan:
        """A plan for the failures of ``result`` that can still be recovered (scoped by id)."""
        report = plan.report
        if report is None:
            return SessionPlan.empty()

        def original(object_id: str) -> Change | None:
            return self.change(report.report_id, object_id)

        retry = retry_plan(result.failed, original)
        failed = {c.id: c for c in result.failed}
        names = {i: (original(i) or failed[i]).display_name for i in failed}
        return SessionPlan(retry.plan, report, plan.snapshot_id, names=names,
                           actions={i: c.action_raw for i, c in failed.items()})

    # -- cancel and restart ----------------------------------------------------------------------------

    async def cancel(self) -> str | None:
        """Cancel what this session is running (a restore's current batch, or a report job)."""
        runner = self._online("Cancelling a job")
        try:
            if self._restoring and self.restores is not None:
                job_id = await self.restores.cancel()
            else:
                job_id = await runner.cancel()
        except ForbiddenError as exc:
            refused = self._refused(exc)
            self.log.write(HistoryAction.CANCEL, outcome="refused", detail=refused.message)
            raise refused from exc
        self.log.write(HistoryAction.CANCEL, job_id=job_id,
                       outcome="requested" if job_id else "nothing running")
        return job_id

    async def reconcile(self) -> Reconciliation | None:
        """Compare the journal with the service's job list (see :mod:`entrabr_tui.engine.journal`): adopt
        jobs whose id was lost, close what the service provably never received, mark ``unconfirmed`` what
        cannot be told (never resubmitted), record restore batches that ended. Skipped (``None``) while
        another entrabr process holds the tenant: its own requests are in the journal."""
        self._online("Checking the job journal")
        assert self.resumer is not None
        if self.writer.try_hold("journal check") is not None:
            return None  # another process works on the tenant: its requests are its own to settle
        try:
            self.recovered = await self.resumer.reconcile()
        finally:
            self.writer.release()
        return self.recovered

    async def resume(self, progress: JobProgressCallback | None = None,
                     restore_progress: RestoreProgressCallback | None = None) -> ResumeResult:
        """Pick up jobs entrabr started before a restart: watch them to the end, download reports (and look up
        the sync status of their users and groups), collect restore failures (see
        :class:`~entrabr_tui.engine.resume.JobResumer`); an interrupted restore run is resumed by
        :meth:`resume_restore`. Holds the tenant for writing (waiting for another process)."""
        self._online("Resuming jobs")
        assert self.resumer is not None
        resumer = self.resumer
        async with self.writer.hold("resume", "following its jobs on this tenant"):
            self.recovered = await resumer.reconcile()
            result = await resumer.resume(self.recovered, progress, restore_progress)
            for info in result.reports:  # downloaded here: looked up like a report ensure_report brings
                await self._look_up_sync(info, None, progress)
            return result

    # -- clearing the cache ----------------------------------------------------------------------------

    def clear_cache_blocker(self) -> str | None:
        """Why the cache cannot be cleared now (``None`` when it can)."""
        if self.closed:
            return "The session is closed."
        if self._restoring or (self.runner is not None and self.runner.busy):
            return "A job started in this session is still running: wait for it to finish or cancel it first."
        if self.cache.runs.unfinished():
            return ("An interrupted restore is waiting to be resumed or dropped; clearing the cache would "
                    "forget which of its batches still have to be sent. Resume or drop it first.")
        unfinished = [i for i in self.cache.journal.open_intents() if i.status in _UNFINISHED]
        if unfinished:
            return (f"The cache tracks {len(unfinished)} job request(s) whose outcome is not collected yet; "
                    "they are checked against the service when the tenant is opened online. "
                    "Clear the cache after that.")
        return None

    async def close_and_clear_cache(self) -> Path | None:
        """Close the session and set the tenant's cache file aside; returns its new name (``None`` if there
        was no file). Raises :class:`EngineError`, leaving the session open, when :meth:`clear_cache_blocker`
        gives a reason; any later failure leaves the session closed and the file where it was."""
        blocker = self.clear_cache_blocker()
        if blocker is not None:
            raise EngineError(blocker)
        path = self.cache.db.path
        self.closed = True
        try:
            await self._release()
            kept = set_aside(path, "cleared", now=self.clock())
        except BaseException as exc:
            self.log.write(AppAction.CACHE_CLEARED, outcome="error", detail=f"{path}: {exc}")
            self.log.close()
            raise
        self.log.write(AppAction.CACHE_CLEARED,
                       detail=f"{path} set aside as {kept.name}" if kept is not None else f"{path} (no file)")
        self.log.close()
        return kept

    # -- lifecycle -------------------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Release network clients, the cache, the history, and a demo emulator (idempotent)."""
        if self.closed:
            return
        self.closed = True
        await self._release()
        self.log.close()

    async def _release(self) -> None:
        """Close everything but the history: network clients, close hooks, the cache connections."""
        if self.client is not None:
            await self.client.aclose()
        for hook in reversed(self._on_close):
            await hook()
        self.cache_reader.close()
        self.cache.close()

    async def __aenter__(self) -> Session:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
