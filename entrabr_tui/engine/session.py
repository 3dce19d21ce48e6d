"""``Session``: the one object the terminal UI and the headless CLI use for a tenant.

It ties together the sign-in (capabilities and identity), the Graph client, the tenant's cache and the
session history, and offers every action the product has: backups with their cached reports and expiry,
job history, difference reports (created, reused, downloaded), the restore queue, planning, restoring,
cancelling, and picking up jobs after a restart. Every action is appended to the session history (tenant,
identity, backup, scope, counts, outcome; never a token).

Offline sessions serve what the cache holds and refuse anything that needs Microsoft Graph with
:class:`~entrabr_tui.engine.errors.OfflineError`. Build a session with :meth:`Session.open` (or
:func:`entrabr_tui.engine.demo.open_demo` for the built-in demo tenant).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from entrabr_tui.core.capabilities import Action, Capabilities
from entrabr_tui.core.model import Change, EntityNameAndIdsFilter, FilteringCriteria, Job, Snapshot
from entrabr_tui.engine.errors import EngineError, OfflineError
from entrabr_tui.engine.events import JobProgressCallback, RestoreProgressCallback
from entrabr_tui.engine.jobs import SlotMode, SlotState
from entrabr_tui.engine.journal import Journal, Reconciliation
from entrabr_tui.engine.plans import SessionPlan, build_plan
from entrabr_tui.engine.reports import ReportInfo, ReportManager
from entrabr_tui.engine.restore import BatchResult, RestoreExecutor, RestoreResult, retry_plan
from entrabr_tui.engine.resume import ResumeResult
from entrabr_tui.engine.runner import JobRunner
from entrabr_tui.engine.session_admin import SessionAdmin
from entrabr_tui.engine.session_cache import CacheViews
from entrabr_tui.engine.settings import SessionSettings
from entrabr_tui.engine.timing import Clock, Sleep, real_sleep, utc_now
from entrabr_tui.graph.client import RecoveryClient
from entrabr_tui.graph.errors import ForbiddenError
from entrabr_tui.store import (
    Cache,
    History,
    HistoryAction,
    HistoryEntry,
    IntentStatus,
    JobRecord,
    Report,
    StoreError,
)

log = logging.getLogger(__name__)

CloseHook = Callable[[], Awaitable[None]]


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


class Session(SessionAdmin, CacheViews):
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
        self.history_log = history
        self.capabilities = capabilities
        self.client = client
        self.clock = clock
        self._on_close = list(on_close)
        self._init_views(cache)
        self.journal = Journal(cache, clock=clock)
        self.runner: JobRunner | None = None
        self.reports_manager: ReportManager | None = None
        self.restores: RestoreExecutor | None = None
        self._restoring = False
        self.recovered: Reconciliation | None = None
        self.open_warnings: list[str] = []
        self.closed = False
        self.emulator: Any = None  # the demo's in-process emulator, when there is one
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
        return [*self.cache.db.warnings, *self.history_log.warnings, *self.open_warnings]

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

    def _log(self, action: HistoryAction | str, **fields: Any) -> None:
        """Append to the session history. A history that cannot be written never undoes or hides an action
        that already happened: the failure becomes a warning instead."""
        fields.setdefault("outcome", "ok")
        try:
            self.history_log.append(action, tenant_id=self.tenant, identity=self.identity, **fields)
        except (StoreError, sqlite3.Error, OSError) as exc:
            log.warning("Could not write the session history: %s", exc)
            self.open_warnings.append(f"The session history could not be written ({exc}): "
                                      f"{action} was not logged.")

    def history(self, **filters: Any) -> list[HistoryEntry]:
        """Session log entries, newest first (filters: ``since``, ``until``, ``actions``, ``object_id``,
        ``limit``); only this tenant's unless ``tenant_id`` is given."""
        filters.setdefault("tenant_id", self.tenant)
        return self.history_log.query(**filters)

    def _report_event(self, kind: str, info: ReportInfo) -> None:
        action = {"created": HistoryAction.REPORT_CREATED, "reused": HistoryAction.REPORT_REUSED,
                  "downloaded": HistoryAction.REPORT_DOWNLOADED}[kind]
        self._log(action, snapshot_id=info.snapshot_id, scope=info.scope, job_id=info.id,
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
            self._log(HistoryAction.RESTORE_SUBMITTED, snapshot_id=snapshot_id, scope=scope,
                      job_id=job.id, object_ids=self._batch_ids(plan, scope),
                      counts={"batch": number, "batches": plan.batch_count})

        def finished(result: BatchResult) -> None:
            if result.job is not None and result.job.status.value == "successful":
                self.unmark_done(report_id, result.scope, result.failed)

        self._restoring = True
        try:
            result = await self.restores.execute(plan.plan, snapshot_id, progress, mode=mode,
                                                 on_submitted=submitted, on_finished=finished,
                                                 report_id=report_id)
        except Exception as exc:
            self._log(HistoryAction.RESTORE_FINISHED, snapshot_id=snapshot_id, outcome="error",
                      detail=str(exc), counts={"batches": plan.batch_count})
            raise
        finally:
            self._restoring = False
        self._log(
            HistoryAction.RESTORE_FINISHED, snapshot_id=snapshot_id, outcome=result.outcome,
            detail=result.summary, object_ids=[c.id for c in result.failed],
            counts={"objectsModified": result.objects_modified, "linksModified": result.links_modified,
                    "failedChanges": result.failed_count, "batches": len(result.batches),
                    "jobs": len(result.jobs)},
        )
        return result

    @staticmethod
    def _batch_ids(plan: SessionPlan, scope: FilteringCriteria) -> list[str]:
        if isinstance(scope, EntityNameAndIdsFilter):
            return [object_id for _, ids in scope.values for object_id in ids]
        types = set(getattr(scope, "entity_types", ()))
        return [object_id for t in plan.plan.types if t.entity_type in types for object_id in t.ids]

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

    def plan_ids(self, ref: str | int, ids: Sequence[str]) -> SessionPlan:
        """A plan for the given objects of a report, without touching the queue (e.g. a single object)."""
        report: Report = self._resolve(ref)
        with self._view_lock:
            changes = self.view.queries.get_changes(report.id, ids)
        return build_plan(ReportInfo.of(report), changes, None, allow_whole_type=False)

    # -- cancel and restart ----------------------------------------------------------------------------

    async def cancel(self) -> str | None:
        """Cancel what this session is running (a restore's current batch, or a report job)."""
        runner = self._online("Cancelling a job")
        if self._restoring and self.restores is not None:
            job_id = await self.restores.cancel()
        else:
            job_id = await runner.cancel()
        self._log(HistoryAction.CANCEL, job_id=job_id, outcome="requested" if job_id else "nothing running")
        return job_id

    async def reconcile(self) -> Reconciliation:
        """Compare the journal with the service's job list (after a restart): adopt jobs whose id was lost,
        mark the rest ``unconfirmed`` (never resubmitted)."""
        runner = self._online("Checking the job journal")
        self.recovered = self.journal.reconcile(await runner.list_jobs())
        for intent in self.recovered.unconfirmed:
            if intent.status is not IntentStatus.PENDING:
                continue  # reported when it was first found unconfirmed
            self._log(HistoryAction.RESTORE_FINISHED, snapshot_id=intent.snapshot_id, scope=intent.scope,
                      outcome="unconfirmed",
                      detail=intent.message or "no matching job found; not resubmitted")
        return self.recovered

    async def resume(self, progress: JobProgressCallback | None = None,
                     restore_progress: RestoreProgressCallback | None = None) -> ResumeResult:
        """Pick up jobs entrabr started before a restart: watch them to the end, download reports, collect
        restore failures (see :func:`entrabr_tui.engine.resume.resume_jobs`)."""
        from entrabr_tui.engine.resume import resume_jobs

        self._online("Resuming jobs")
        return await resume_jobs(self, await self.reconcile(), progress, restore_progress)

    def discard_intent(self, intent_id: int) -> None:
        """Dismiss an ``unconfirmed`` journal entry (a person checked that no job was started)."""
        self.journal.discard(intent_id)
        self._log(HistoryAction.RESTORE_FINISHED, outcome="discarded",
                  detail=f"unconfirmed request {intent_id} dismissed")

    def slot_state(self) -> SlotState | None:
        """Who holds the job slot (as last seen) and what waits in the local queue; ``None`` offline."""
        return self.runner.state() if self.runner is not None else None

    def unmark_done(self, report_id: int, scope: FilteringCriteria | None, failed: Iterable[Change]) -> int:
        """Take the objects a finished batch restored out of the queue (failed ones stay)."""
        failed_ids = {c.id.lower() for c in failed}
        if isinstance(scope, EntityNameAndIdsFilter):
            ids = [i for _, group in scope.values for i in group]
        else:
            types = set(getattr(scope, "entity_types", ()))
            with self._view_lock:
                ids = [e.object_id for e in self.view.queue.entries(report_id)
                       if scope is None or e.entity_type_raw in types]
        done = [i for i in ids if i.lower() not in failed_ids]
        with self._view_lock:
            return self.view.queue.unmark(report_id, done) if done else 0

    # -- lifecycle -------------------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Release network clients, the cache, the history, and a demo emulator (idempotent)."""
        if self.closed:
            return
        self.closed = True
        await self._release()
        self.history_log.close()

    async def _release(self) -> None:
        """Close everything but the history: network clients, close hooks, the cache connections."""
        if self.client is not None:
            await self.client.aclose()
        for hook in reversed(self._on_close):
            await hook()
        self._close_views()
        self.cache.close()

    async def __aenter__(self) -> Session:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    @classmethod
    async def open(cls, settings: SessionSettings, **kwargs: Any) -> Session:
        """Sign in (or open offline) and build a session (see ``engine.opening.open_session``)."""
        from entrabr_tui.engine.opening import open_session

        return await open_session(settings, **kwargs)

    @classmethod
    async def demo(cls, role: str = "admin", objects: int = 2000, **kwargs: Any) -> Session:
        """A session on the built-in demo tenant (an in-process emulator); see
        :func:`entrabr_tui.engine.demo.open_demo`."""
        from entrabr_tui.engine.demo import open_demo

        return await open_demo(role=role, objects=objects, **kwargs)
