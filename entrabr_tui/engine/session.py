"""``Session``: the one object the terminal UI and the headless CLI use for a tenant.

It ties together the sign-in (capabilities and identity), the Graph client, the tenant's cache and the
session history, and offers every action the product has: backups with their cached reports and expiry,
job history, difference reports (created, reused, downloaded), the restore queue, planning, restoring,
cancelling, and picking up jobs after a restart. Every action is appended to the session history (tenant,
identity, backup, scope, counts, outcome; never a token).

The work is done by the collaborators a session holds: the job runner (:mod:`.runner`), reports
(:mod:`.reports`), restores (:mod:`.restore`), the read side over a second cache connection
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

from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from entrabr_tui.core.audit_blindspots import PurgeEntry
from entrabr_tui.core.audit_triage import TagTarget, TriageNote, TriageTag
from entrabr_tui.core.capabilities import Action, Capabilities
from entrabr_tui.core.model import Change, EntityNameAndIdsFilter, FilteringCriteria, Job, Snapshot
from entrabr_tui.engine.attribution import ChangeAttribution
from entrabr_tui.engine.audit import (
    ActorSummary,
    AuditService,
    AuditStatus,
    BlindSpot,
    ClusterSummary,
    OperationSummary,
)
from entrabr_tui.engine.audit_pull import AuditProgressCallback, AuditPullResult
from entrabr_tui.engine.cache_reader import CacheReader, PageAfter, QueuedObject, ReportRef
from entrabr_tui.engine.errors import EngineError, OfflineError
from entrabr_tui.engine.events import JobProgressCallback, RestoreProgressCallback
from entrabr_tui.engine.jobs import SlotMode, SlotState
from entrabr_tui.engine.journal import Journal, Reconciliation
from entrabr_tui.engine.plans import SessionPlan
from entrabr_tui.engine.reports import ReportInfo, ReportManager
from entrabr_tui.engine.restore import BatchResult, RestoreExecutor, RestoreResult, retry_plan
from entrabr_tui.engine.resume import JobResumer, ResumeResult
from entrabr_tui.engine.runner import JobRunner
from entrabr_tui.engine.session_log import AppAction, ExportedReport, SessionLog
from entrabr_tui.engine.session_queue import SessionQueue
from entrabr_tui.engine.settings import SessionSettings
from entrabr_tui.engine.timing import Clock, Sleep, real_sleep, utc_now
from entrabr_tui.graph.client import RecoveryClient
from entrabr_tui.graph.errors import ForbiddenError
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
)
from entrabr_tui.store.audit_join_store import ChangeGroup, GroupMarkResult
from entrabr_tui.store.sqlite_file import set_aside

CloseHook = Callable[[], Awaitable[None]]

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
        self.restore_queue = SessionQueue(self.cache_reader, self.log)
        self.journal = Journal(cache, clock=clock)
        self.runner: JobRunner | None = None
        self.reports_manager: ReportManager | None = None
        self.restores: RestoreExecutor | None = None
        self.resumer: JobResumer | None = None
        self._restoring = False
        self.recovered: Reconciliation | None = None
        self.closed = False
        self.emulator: Any = None  # the demo's in-process emulator, when there is one
        self.audit = AuditService(cache, self.cache_reader, client, log=self.log, clock=clock)
        if client is not None:
            self.runner = JobRunner(
                client, cache, self.journal, tenant_objects=settings.tenant_objects, poll=settings.poll,
                clock=clock, sleep=sleep, slot_mode=settings.slot_mode,
                duration_scale=settings.duration_scale,
            )
            self.reports_manager = ReportManager(self.runner, page_size=settings.page_size,
                                                 on_event=self._report_event)
            self.reports_manager.guard = lambda: self._require(Action.CREATE_REPORT,
                                                               "Creating a difference report")
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
    def warnings(self) -> list[str]:
        """Messages from opening the cache and history (e.g. a damaged file moved aside)."""
        return [*self.cache.db.warnings, *self.log.warnings, *self.open_warnings]

    def _online(self, action: str) -> JobRunner:
        if self.runner is None:
            raise OfflineError(action)
        return self.runner

    def _require(self, action: Action, doing: str) -> None:
        """Refuse up front what the token's roles and permissions say the service would refuse."""
        if self.capabilities.allows(action):
            return
        reason = self.capabilities.reason(action) or "the signed-in identity lacks the role"
        raise ForbiddenError(f"{doing} was refused: {reason}.", needs=reason)

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
        self.log.write(action, snapshot_id=info.snapshot_id, scope=info.scope, job_id=info.id,
                       counts={"changes": info.downloaded, "total": info.total})

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
        """A backup id from ``latest`` (or ``None``), an id, or a ``YYYY-MM-DD`` date."""
        entries = [e for e in await self.snapshots(refresh=not self.offline) if not e.expired or self.offline]
        if not entries:
            raise EngineError("No backups are available" + (" in the cache." if self.offline else "."))
        if spec is None or spec.strip().lower() == "latest":
            return entries[0].snapshot.id
        text = spec.strip()
        for entry in entries:
            if entry.snapshot.id == text or entry.snapshot.created.strftime("%Y-%m-%d") == text:
                return entry.snapshot.id
        raise EngineError(f"No backup {text!r}; use one of: latest, "
                          + ", ".join(e.snapshot.created.strftime("%Y-%m-%d") for e in entries))

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
        if fresh:
            self._require(Action.CREATE_REPORT, "Creating a difference report")
        return await self.reports_manager.ensure_report(snapshot_id, scope, progress, fresh=fresh, mode=mode)

    def report(self, ref: ReportRef) -> ReportInfo | None:
        """A cached report, or ``None``."""
        return self.cache_reader.report(ref)

    def reports(self, snapshot_id: str | None = None) -> list[ReportInfo]:
        """Cached difference reports, newest first (archived ones included)."""
        return self.cache_reader.reports(snapshot_id)

    # -- cached changes (blocking: call from worker threads) -------------------------------------------

    def counts(self, ref: ReportRef, *, text: str | None = None, recoverable: bool | None = None,
               on_prem: bool | None = None, marked: bool | None = None) -> list[NodeCount]:
        """Changes per (type, action) of a report, of the changes matching the filters."""
        return self.cache_reader.counts(ref, text=text, recoverable=recoverable, on_prem=on_prem,
                                        marked=marked)

    def page(self, ref: ReportRef, entity_type: str | None = None, action: str | None = None,
             after: PageAfter | None = None, limit: int = 100, *, text: str | None = None,
             recoverable: bool | None = None, on_prem: bool | None = None,
             marked: bool | None = None) -> list[ChangeRow]:
        """A keyset page of changes ordered by type, action, name, id (``after`` = last row's key)."""
        return self.cache_reader.page(ref, entity_type, action, after, limit, text=text,
                                      recoverable=recoverable, on_prem=on_prem, marked=marked)

    def change(self, ref: ReportRef, object_id: str) -> Change | None:
        """One change with both property sets, or ``None``."""
        return self.cache_reader.change(ref, object_id)

    def changes(self, ref: ReportRef, object_ids: Sequence[str]) -> list[Change]:
        """Several changes of a report by id, in the order given; ids not in the report are skipped."""
        return self.cache_reader.changes(ref, object_ids)

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

    def mark_where(self, ref: ReportRef, *, entity_type: str | None = None, action: str | None = None,
                   text: str | None = None, recoverable: bool | None = None,
                   on_prem: bool | None = None) -> int:
        """Queue every change matching the filters; returns how many were newly queued."""
        return self.restore_queue.mark_where(ref, entity_type=entity_type, action=action, text=text,
                                             recoverable=recoverable, on_prem=on_prem)

    def unmark(self, ref: ReportRef, ids: Sequence[str]) -> int:
        """Remove objects from the queue; returns the queue size."""
        return self.restore_queue.unmark(ref, ids)

    def unmark_all(self, ref: ReportRef | None = None) -> int:
        """Empty the queue (of one report, or of every report); returns how many were removed."""
        return self.restore_queue.unmark_all(ref)

    def plan(self, ref: ReportRef | None = None, *, allow_whole_type: bool = True,
             record: bool = True) -> SessionPlan:
        """Plan a restore of the queue of one report (see
        :meth:`SessionQueue.plan <entrabr_tui.engine.session_queue.SessionQueue.plan>`)."""
        return self.restore_queue.plan(ref, allow_whole_type=allow_whole_type, record=record)

    # -- the directory audit log: who changed what (see engine/audit.py) ------------------------------

    async def pull_audit(self, report_id: ReportRef | None = None,
                         progress: AuditProgressCallback | None = None) -> AuditPullResult:
        """Read the audit log of a report's backup window into the cache (resuming a stopped pull, then only
        what is missing) and join the report with it; :class:`~entrabr_tui.engine.audit.AuditUnavailableError`
        names what the sign-in lacks."""
        return await self.audit.pull(report_id, progress)

    def audit_status(self) -> AuditStatus:
        """Whether the audit features can be used, and what the cache holds of the log."""
        return self.audit.status()

    def attribution(self, report_id: ReportRef, object_id: str) -> ChangeAttribution | None:
        """Who changed an object and each of its properties ("by alice@… via HR-Sync at 14:32Z")."""
        return self.audit.attribution(report_id, object_id)

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

    def group_count(self, report_id: ReportRef, group: ChangeGroup, *, marked: bool | None = None) -> int:
        """Changes in a group (actor, operation, cluster, time window, filter …) across the whole report."""
        return self.audit.group_count(report_id, group, marked=marked)

    def group_counts(self, report_id: ReportRef, by: str,
                     group: ChangeGroup | None = None) -> list[tuple[str, int]]:
        """Sizes of a group's sub-groups by ``actor``, ``operation`` or ``cluster``, largest first."""
        return self.audit.group_counts(report_id, by, group)

    def group_page(self, report_id: ReportRef, group: ChangeGroup, after: tuple[str, str] | None = None,
                   limit: int = 100) -> list[ChangeRow]:
        """A keyset page of a group's changes by name then id."""
        return self.audit.group_page(report_id, group, after, limit)

    def mark_group(self, report_id: ReportRef, group: ChangeGroup) -> GroupMarkResult:
        """Queue a whole group for restore, set-based; kept changes are skipped and counted; undoable."""
        return self.audit.mark_group(report_id, group)

    def unmark_group(self, report_id: ReportRef, group: ChangeGroup) -> int:
        """Take a whole group out of the restore queue."""
        return self.audit.unmark_group(report_id, group)

    def undo_mark(self, report_id: ReportRef, token: str) -> int:
        """Undo a group mark (exactly what it queued)."""
        return self.audit.undo_mark(report_id, token)

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
        """Run the plan's recovery jobs one after another (each journaled); restored objects leave the queue,
        failed ones stay queued for a retry."""
        self._online("Restoring")
        self._require(Action.RESTORE, "Restoring")
        assert self.restores is not None
        if plan.is_empty or plan.report is None or plan.snapshot_id is None:
            raise EngineError("The plan is empty: nothing queued can be recovered.")
        report_id = plan.report.report_id
        snapshot_id = plan.snapshot_id

        def submitted(number: int, job: Job) -> None:
            scope = plan.plan.batches[number - 1]
            self.log.write(HistoryAction.RESTORE_SUBMITTED, snapshot_id=snapshot_id, scope=scope,
                           job_id=job.id, object_ids=_batch_ids(plan, scope),
                           counts={"batch": number, "batches": plan.batch_count})

        def finished(result: BatchResult) -> None:
            if result.job is not None and result.job.status.value == "successful":
                self.restore_queue.unmark_done(report_id, result.scope, result.failed)

        self._restoring = True
        try:
            result = await self.restores.execute(plan.plan, snapshot_id, progress, mode=mode,
                                                 on_submitted=submitted, on_finished=finished,
                                                 report_id=report_id)
        except Exception as exc:
            self.log.write(HistoryAction.RESTORE_FINISHED, snapshot_id=snapshot_id, outcome="error",
                           detail=str(exc), counts={"batches": plan.batch_count})
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
        if self._restoring and self.restores is not None:
            job_id = await self.restores.cancel()
        else:
            job_id = await runner.cancel()
        self.log.write(HistoryAction.CANCEL, job_id=job_id,
                       outcome="requested" if job_id else "nothing running")
        return job_id

    async def reconcile(self) -> Reconciliation:
        """Compare the journal with the service's job list (after a restart): adopt jobs whose id was lost,
        mark the rest ``unconfirmed`` (never resubmitted)."""
        self._online("Checking the job journal")
        assert self.resumer is not None
        self.recovered = await self.resumer.reconcile()
        return self.recovered

    async def resume(self, progress: JobProgressCallback | None = None,
                     restore_progress: RestoreProgressCallback | None = None) -> ResumeResult:
        """Pick up jobs entrabr started before a restart: watch them to the end, download reports, collect
        restore failures (see :class:`~entrabr_tui.engine.resume.JobResumer`)."""
        self._online("Resuming jobs")
        assert self.resumer is not None
        return await self.resumer.resume(await self.reconcile(), progress, restore_progress)

    # -- clearing the cache ----------------------------------------------------------------------------

    def clear_cache_blocker(self) -> str | None:
        """Why the cache cannot be cleared now (``None`` when it can)."""
        if self.closed:
            return "The session is closed."
        if self._restoring or (self.runner is not None and self.runner.busy):
            return "A job started in this session is still running: wait for it to finish or cancel it first."
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
