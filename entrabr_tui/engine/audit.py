"""``AuditService``: the directory audit log for a session — pull, join, groups, marks, blind spots, tags.

A session holds one (``session.audit``). It pulls the log for a report's backup window
(:class:`~entrabr_tui.engine.audit_pull.AuditPuller`), joins the report with it
(:func:`~entrabr_tui.engine.attribution.join_report`, on a connection of its own in a worker thread), and
answers the questions of the UI and the command line from the cache: who made each change, the report's
actors and their operations, clusters of alike changes, group pages and counts for the tree, set-based marks
of whole groups (kept changes are skipped), what the report cannot show (blind spots), the purge clock of
deleted objects, and triage tags.

Without the permission or role the service says exactly what is missing (:class:`AuditUnavailableError`,
remembered in the cache so the app can say it without asking again); everything else works as before. The
read side runs on the session's reader connection (blocking; call it from worker threads).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime, timedelta

from entrabr_tui.core.audit_blindspots import BlindSpotKind, PurgeEntry, purge_clock
from entrabr_tui.core.audit_join import DELETE_ACTIVITIES
from entrabr_tui.core.audit_model import Actor, time_to_us, us_to_time
from entrabr_tui.core.audit_triage import TagTarget, TriageNote, TriageTag
from entrabr_tui.core.model import SyncStatus, parse_datetime
from entrabr_tui.engine.attribution import ChangeAttribution, attribute, join_report
from entrabr_tui.engine.audit_incident import IncidentSummary, incident_summary
from entrabr_tui.engine.audit_pull import AuditPuller
from entrabr_tui.engine.audit_pull import AuditSettings as PullSettings
from entrabr_tui.engine.audit_types import (
    ActorSummary,
    AuditNotReadyError,
    AuditProgress,
    AuditProgressCallback,
    AuditPullResult,
    AuditStatus,
    AuditUnavailableError,
    BlindSpot,
    ChangeGroup,
    ChangeWho,
    ClusterSummary,
    GroupMarkResult,
    OperationSummary,
    TenantBusyError,
)
from entrabr_tui.engine.cache_reader import CacheReader, ReportRef
from entrabr_tui.engine.errors import EngineError, OfflineError
from entrabr_tui.engine.events import emit
from entrabr_tui.engine.session_log import SessionLog
from entrabr_tui.engine.tenant_writer import TenantWriter
from entrabr_tui.engine.timing import Clock, utc_now
from entrabr_tui.graph.audit import AuditForbiddenError
from entrabr_tui.graph.client import RecoveryClient
from entrabr_tui.store import Cache, ChangeRow, HistoryAction, Report, ReportKind
from entrabr_tui.store.audit_join_store import ClusterCount, JoinInfo
from entrabr_tui.store.audit_store import AuditState

__all__ = ["AuditService"]




NO_RECORD = "no audit record"


class AuditService:
    """The audit features of one session (see the module docstring)."""

    def __init__(self, cache: Cache, reader: CacheReader, client: RecoveryClient | None, *, log: SessionLog,
                 clock: Clock = utc_now, settings: PullSettings | None = None,
                 writer: TenantWriter | None = None) -> None:
        self.cache = cache
        self.reader = reader
        self.writer = writer
        self.settings = settings or PullSettings()
        self.clock = clock
        self.log = log
        self.puller = (AuditPuller(client.audit, cache.audit, clock=clock, settings=self.settings)
                       if client is not None else None)

    # -- windows ---------------------------------------------------------------------------------------

    def backup_time(self, cache: Cache, report: Report) -> datetime | None:
        """The time of a report's backup: the cached snapshot's, else the job's target state."""
        if report.snapshot_id:
            record = cache.tenant.snapshot(report.snapshot_id)
            if record is not None:
                return record.created
        job = cache.jobs.get(report.job_id)
        return job.job.target_state if job is not None else None

    def window_start(self, cache: Cache, report: Report) -> datetime:
        """Where a report's audit window starts: the backup time minus the margin."""
        when = self.backup_time(cache, report)
        if when is None:
            raise EngineError(f"The backup time of report {report.job_id} is not known, so its audit window "
                              "cannot be chosen.")
        return when - self.settings.margin

    def _retention_start_us(self) -> int:
        return time_to_us(self.clock() - self.settings.retention)

    # -- pulling ---------------------------------------------------------------------------------------

    def _report_to_pull(self, ref: ReportRef | None) -> Report | None:
        if ref is not None:
            return self.reader.resolve(ref)
        with self.reader.locked() as cache:
            reports = [r for r in cache.reports.all(kind=ReportKind.CHANGES) if r.complete]
        return reports[0] if reports else None

    async def pull(self, ref: ReportRef | None = None,
                   progress: AuditProgressCallback | None = None) -> AuditPullResult:
        """Read the audit log of a report's window (default: the newest complete report) into the cache,
        then join the report with it. Raises :class:`AuditUnavailableError` when the sign-in may not read it
        (the message says what is missing)."""
        if self.puller is None:
            raise OfflineError("Reading the directory audit log")
        report = self._report_to_pull(ref)
        if report is not None:
            since = self.window_start(self.cache, report)
        else:
            known = self.cache.tenant.snapshots(include_expired=False)
            if not known:
                raise EngineError("No backup is known yet, so there is no audit window to read: list the "
                                  "backups or run a difference report first.")
            since = known[0].created - self.settings.margin
        async with self._holding(progress):
            result = await self._sync(since, progress)
            joined: tuple[str, ...] = ()
            if report is not None:
                text = f"Joining report {report.job_id} with the audit log"
                await emit(progress, AuditProgress("joining", text))
                await asyncio.to_thread(self._join_on_own_connection, report.id, time_to_us(since))
                joined = (report.job_id,)
        self.log.write(HistoryAction.AUDIT_PULLED, job_id=report.job_id if report else None,
                       counts={"received": result.received, "stored": result.stored,
                               "requests": result.requests, "records": result.state.records},
                       detail=f"audit log since {since:%Y-%m-%d %H:%M}Z")
        await emit(progress, AuditProgress("done", f"Audit log read: {result.received:,} records "
                                           f"({result.stored:,} new) in {result.requests:,} requests"))
        return replace(result, joined=joined)

    async def refresh(self, since: datetime, progress: AuditProgressCallback | None = None, *,
                      wait: bool = True) -> AuditPullResult:
        """Make the cache cover ``[since, now]`` through the same puller as :meth:`pull` (resuming, then only
        what is missing, within the request budget), joining nothing: what ``entrabr watch`` reads between
        backups. Raises :class:`AuditUnavailableError` when the sign-in may not read the log,
        :class:`~entrabr_tui.engine.errors.OfflineError` offline, and without ``wait``
        :class:`TenantBusyError` while another entrabr process writes to the tenant's cache."""
        if self.puller is None:
            raise OfflineError("Reading the directory audit log")
        if wait or self.writer is None:
            async with self._holding(progress):
                return await self._sync(since, progress)
        other = self.writer.try_hold("audit")
        if other is not None:
            raise TenantBusyError(f"{other.text} is writing to this tenant's cache")
        try:
            return await self._sync(since, progress)
        finally:
            self.writer.release()

    async def _sync(self, since: datetime, progress: AuditProgressCallback | None) -> AuditPullResult:
        assert self.puller is not None
        try:
            return await self.puller.sync(since, progress)
        except AuditForbiddenError as exc:
            if self.cache.audit.state().unavailable != exc.message:  # said once, not at every refusal
                self.log.write(HistoryAction.AUDIT_PULLED, outcome="forbidden", detail=exc.message)
            self.cache.audit.set_unavailable(exc.message)
            raise AuditUnavailableError(exc.message) from exc

    @asynccontextmanager
    async def _holding(self, progress: AuditProgressCallback | None) -> AsyncIterator[None]:
        """The tenant's writer lock around a pull and its join (waiting, with a message, while another
        entrabr process holds the tenant)."""
        if self.writer is None:
            yield
            return

        async def waiting(text: str) -> None:
            await emit(progress, AuditProgress("waiting", text, tenant_held=True))

        async with self.writer.hold("audit", "writing to this tenant's cache", waiting):
            yield

    def _join_on_own_connection(self, report_id: int, since_us: int) -> JoinInfo:
        other = self.cache.reader()
        try:
            return join_report(other, report_id, since_us=since_us,
                               retention_start_us=self._retention_start_us(), now=self.clock())
        finally:
            other.close()

    # -- state -----------------------------------------------------------------------------------------

    def status(self) -> AuditStatus:
        """What the cache holds of the audit log, and whether it can be read."""
        with self.reader.locked() as cache:
            state = cache.audit.state()
        return _status(state)

    def _joined(self, cache: Cache, ref: ReportRef) -> tuple[Report, JoinInfo]:
        """The report and its join, joined now if the join is missing or older than the cached log."""
        report = self.reader.resolve(ref)
        state = cache.audit.state()
        if state.unavailable and state.covered_from is None:
            raise AuditUnavailableError(state.unavailable)
        since = self.window_start(cache, report)
        if state.covered_from is None or state.covered_from > since + timedelta(seconds=1):
            raise AuditNotReadyError(
                f"The audit log since {since:%Y-%m-%d %H:%M}Z (the backup of report {report.job_id}) is not "
                "in the cache yet: read it first ('entrabr audit', or the app's audit key).")
        info = cache.audit_join.join_info(report.id)
        if info is None or info.generation != state.generation or info.item_count != report.item_count \
                or info.since != since:
            info = join_report(cache, report.id, since_us=time_to_us(since),
                               retention_start_us=self._retention_start_us(), now=self.clock())
        return report, info

    def join_info(self, ref: ReportRef) -> JoinInfo:
        """How a report's changes are explained (counts by verdict), joining it first if needed."""
        with self.reader.locked() as cache:
            return self._joined(cache, ref)[1]

    # -- attribution -----------------------------------------------------------------------------------

    def attribution(self, ref: ReportRef, object_id: str, position: int | None = None
                    ) -> ChangeAttribution | None:
        """Who changed an object and each of its properties: its change at ``position`` (the object's first
        change when not given), or ``None`` when the report lacks it."""
        with self.reader.locked() as cache:
            report, info = self._joined(cache, ref)
            change = cache.queries.get_change(report.id, object_id, position)
            if change is None:
                return None
            row = cache.audit_join.row(report.id, object_id, position)
            result = attribute(cache, report.id, change, since_us=time_to_us(info.since),
                               retention_start_us=self._retention_start_us(),
                               synced=change.sync is SyncStatus.SYNCED)
        return result if row is None else replace(result, cluster_id=row.cluster_id)

    def who(self, ref: ReportRef, positions: Sequence[int]) -> dict[int, ChangeWho]:
        """Who made the changes at these positions of the report; empty when the report has no join and the
        cache cannot make one (the audit log was not read, or may not be)."""
        try:
            report, _ = self._joined_locked(ref)
        except (AuditNotReadyError, AuditUnavailableError):
            return {}
        with self.reader.locked() as cache:
            rows = cache.audit_join.rows_at(report.id, positions)
            actors = cache.audit.actors({r.actor_key for r in rows.values() if r.actor_key})
        out: dict[int, ChangeWho] = {}
        for position, row in rows.items():
            actor = actors.get(row.actor_key)
            if actor is None and row.actor_key:
                actor = Actor(row.actor_key, "unknown", "")
            out[position] = ChangeWho(actor, row.operation or None, row.cluster_id, row.verdict, row.reason,
                                      row.at)
        return out

    def _joined_locked(self, ref: ReportRef) -> tuple[Report, JoinInfo]:
        with self.reader.locked() as cache:
            return self._joined(cache, ref)

    # -- actors, operations, clusters ------------------------------------------------------------------

    def actors(self, ref: ReportRef) -> list[ActorSummary]:
        """The report's actors ranked by changes (changes no record names form a group of their own)."""
        with self.reader.locked() as cache:
            report, _ = self._joined(cache, ref)
            counts = cache.audit_join.actors(report.id)
            known = cache.audit.actors([c.actor_key for c in counts if c.actor_key])
        out = []
        for c in counts:
            actor = known.get(c.actor_key)
            if actor is None:
                label = NO_RECORD if not c.actor_key else c.actor_key
                actor = Actor(c.actor_key, "unknown", "", "")
            else:
                label = actor.label
            out.append(ActorSummary(c.actor_key, actor.kind, label, actor.name, actor.display_name, actor.via,
                                    actor.app_id, actor.service_principal_id, c.changes, c.operations,
                                    c.first, c.last))
        return out

    def find_actor(self, ref: ReportRef, text: str) -> ActorSummary:
        """The actor of a report named by ``text``: its key, UPN, display name, app id or service principal
        id (case-insensitive, exact), else the only one whose label contains it."""
        needle = text.strip().casefold()
        actors = self.actors(ref)
        for actor in actors:
            names = {actor.key, actor.name, actor.display_name, actor.app_id, actor.service_principal_id,
                     actor.label}
            if needle in {n.casefold() for n in names if n}:
                return actor
        partial = [a for a in actors if needle and needle in a.label.casefold()]
        if len(partial) == 1:
            return partial[0]
        listed = ", ".join(a.label for a in actors[:10])
        more = "several match" if partial else "none matches"
        raise EngineError(f"No single actor of the report is {text!r} ({more}). Actors: {listed}.")

    def operations(self, ref: ReportRef, actor_key: str, *, after: tuple[int, str] | None = None,
                   limit: int = 500) -> list[OperationSummary]:
        """An actor's operations in the report, most changes first, with their activities and tags."""
        with self.reader.locked() as cache:
            report, _ = self._joined(cache, ref)
            ops = cache.audit_join.operations(report.id, actor_key, after=after, limit=limit)
            activities = cache.audit.operation_activities(o.operation for o in ops if o.operation)
            tags = {t.key: t for t in cache.triage.all(TagTarget.OPERATION)}
        return [OperationSummary(o.actor_key, o.operation, o.changes, o.first, o.last,
                                 tuple(activities.get(o.operation, {}).items()), tags.get(o.operation))
                for o in ops]

    def clusters(self, ref: ReportRef, *, after: tuple[int, str] | None = None,
                 limit: int = 500) -> list[ClusterSummary]:
        """Clusters of the report, largest first (keyset ``after`` = ``(changes, id)``), with their tags."""
        with self.reader.locked() as cache:
            report, _ = self._joined(cache, ref)
            found = cache.audit_join.clusters(report.id, after=after, limit=limit)
            tags = {t.key: t for t in cache.triage.all(TagTarget.CLUSTER)}
        return [_cluster(c, tags.get(c.cluster_id)) for c in found]

    def cluster(self, ref: ReportRef, cluster_id: str) -> ClusterSummary | None:
        with self.reader.locked() as cache:
            report, _ = self._joined(cache, ref)
            found = cache.audit_join.cluster(report.id, cluster_id)
            tag = cache.triage.get(TagTarget.CLUSTER, cluster_id)
        return None if found is None else _cluster(found, tag)

    # -- groups ----------------------------------------------------------------------------------------

    def group_count(self, ref: ReportRef, group: ChangeGroup, *, marked: bool | None = None,
                    kept: bool | None = None) -> int:
        """Changes in a group (of the whole report); only the queued or unqueued ones (``marked``), only the
        ones a ``keep`` tag keeps or only the others (``kept``) when asked."""
        with self.reader.locked() as cache:
            report, _ = self._joined(cache, ref)
            return cache.audit_join.group_count(report.id, group, marked=marked, kept=kept)

    def group_has(self, ref: ReportRef, group: ChangeGroup, *, marked: bool | None = None,
                  kept: bool | None = None) -> bool:
        """Whether a group holds any change (narrowed as :meth:`group_count` narrows), cheaply."""
        with self.reader.locked() as cache:
            report, _ = self._joined(cache, ref)
            return cache.audit_join.group_has(report.id, group, marked=marked, kept=kept)

    def group_counts(self, ref: ReportRef, by: str,
                     group: ChangeGroup | None = None) -> list[tuple[str, int]]:
        """Sizes of the sub-groups of a group by ``actor``, ``operation`` or ``cluster`` (largest first)."""
        with self.reader.locked() as cache:
            report, _ = self._joined(cache, ref)
            return cache.audit_join.group_counts(report.id, by, group or ChangeGroup())

    def group_page(self, ref: ReportRef, group: ChangeGroup, after: tuple[str, str, int] | None = None,
                   limit: int = 100) -> list[ChangeRow]:
        """A keyset page of a group's changes by name and position (``after`` = the last row's
        ``(name, id, position)``)."""
        with self.reader.locked() as cache:
            report, _ = self._joined(cache, ref)
            return cache.audit_join.group_page(report.id, group, after=after, limit=limit)

    def mark_group(self, ref: ReportRef, group: ChangeGroup) -> GroupMarkResult:
        """Queue a whole group for restore (kept changes are skipped and counted); logged. One bulk change of
        the restore queue: its undo takes out exactly what this queued."""
        with self.reader.locked() as cache:
            report, _ = self._joined(cache, ref)
            result = cache.audit_join.mark_group(report.id, group, now=self.clock())
        self.log.write(HistoryAction.OBJECTS_MARKED, snapshot_id=report.snapshot_id, job_id=report.job_id,
                       counts={"marked": result.marked, "already": result.already, "kept": result.kept},
                       detail=f"marked a group: {_group_text(group)}")
        return result

    def unmark_group(self, ref: ReportRef, group: ChangeGroup) -> int:
        """Take a whole group out of the restore queue (objects that left it); logged. One bulk change of the
        restore queue: its undo queues them again."""
        with self.reader.locked() as cache:
            report, _ = self._joined(cache, ref)
            removed = cache.audit_join.unmark_group(report.id, group)
        self.log.write(HistoryAction.OBJECTS_UNMARKED, snapshot_id=report.snapshot_id, job_id=report.job_id,
                       counts={"unmarked": removed}, detail=f"unmarked a group: {_group_text(group)}")
        return removed

    def group_object_ids(self, ref: ReportRef, group: ChangeGroup) -> list[str]:
        """Object ids of a group (for a plan made from a group)."""
        with self.reader.locked() as cache:
            report, _ = self._joined(cache, ref)
            return cache.audit_join.object_ids(report.id, group)

    def kept(self, ref: ReportRef) -> tuple[set[str], int]:
        """Object ids of the report a tag keeps, and how many changes that is (0 without a join)."""
        with self.reader.locked() as cache:
            report = self.reader.resolve(ref)
            if cache.audit_join.join_info(report.id) is None:
                return set(), 0
            return cache.audit_join.kept_ids(report.id), cache.audit_join.kept_count(report.id)

    def incident(self, ref: ReportRef, object_ids: Iterable[str]) -> IncidentSummary:
        """The incident's actors and its first bad change, for the objects a recovery put back from a report
        (see :mod:`entrabr_tui.engine.audit_incident`); the audit errors of :meth:`actors`."""
        with self.reader.locked() as cache:
            report, info = self._joined(cache, ref)
            backup = self.backup_time(cache, report) or info.since
            return incident_summary(cache, report.id, object_ids, backup)

    # -- blind spots and purge clock -------------------------------------------------------------------

    def blind_spots(self, ref: ReportRef, kinds: Sequence[BlindSpotKind] | None = None) -> list[BlindSpot]:
        """Objects changed since the backup in ways the report cannot show or a restore will not fix, most
        recent first."""
        with self.reader.locked() as cache:
            _, info = self._joined(cache, ref)
            rows = cache.audit.blind_spot_rows(since_us=time_to_us(info.since),
                                               kinds=[k.value for k in kinds] if kinds else None)
            actors = cache.audit.actors({r[9] for r in rows if r[9]})
        return [BlindSpot(BlindSpotKind(r[0]), r[1], r[2], r[3], int(r[4]), us_to_time(r[5]),
                          us_to_time(r[6]), r[8], actors.get(r[9]), r[10], r[7]) for r in rows]

    def blind_spot_count(self, ref: ReportRef) -> int:
        """How many blind spots (objects per kind) the log shows since the report's backup."""
        with self.reader.locked() as cache:
            _, info = self._joined(cache, ref)
            return cache.audit.blind_spot_count(since_us=time_to_us(info.since))

    def purge_clock(self, ref: ReportRef) -> list[PurgeEntry]:
        """Objects deleted since the backup (the report restores them) and when the directory purges them
        (30 days after ``deletedDateTime``), most urgent first. Works without the audit log."""
        report = self.reader.resolve(ref)
        with self.reader.locked() as cache:
            rows = cache.audit_join.deleted_rows(report.id)
            changes = {c.id.lower(): c for c in cache.queries.get_changes(report.id, [r[0] for r in rows])}
            items = []
            for object_id, entity_type, name in rows:
                change = changes.get(object_id.lower())
                when = parse_datetime(change.current.get("deletedDateTime")) if change is not None else None
                if when is None:
                    events = cache.audit.events(object_id)
                    deletes = [e for e in events if e.activity_key in DELETE_ACTIVITIES]
                    when = us_to_time(deletes[-1].at) if deletes else None
                if when is not None:
                    items.append((object_id, entity_type, name, when))
        return purge_clock(items, self.clock())

    # -- triage tags -----------------------------------------------------------------------------------

    def tag(self, target: TagTarget, key: str) -> TriageNote | None:
        with self.reader.locked() as cache:
            return cache.triage.get(target, key)

    def set_tag(self, target: TagTarget, key: str, tag: TriageTag | None,
                note: str = "") -> TriageNote | None:
        """Tag a cluster or an operation (``None`` removes the tag); logged."""
        with self.reader.locked() as cache:
            stored = cache.triage.set(target, key, tag, note, now=self.clock())
        detail = f"{target.value} {key}: {tag.value if tag else 'untagged'}" + (f" ({note})" if note else "")
        self.log.write(HistoryAction.TRIAGE_TAGGED, detail=detail)
        return stored

    def tags(self) -> list[TriageNote]:
        with self.reader.locked() as cache:
            return cache.triage.all()


def _status(state: AuditState) -> AuditStatus:
    available: bool | None = None
    if state.unavailable:
        available = False
    elif state.covered_from is not None:
        available = True
    return AuditStatus(available, state.unavailable, state.covered_from, state.covered_until, state.watermark,
                       state.records, state.last_pull)


def _cluster(found: ClusterCount, tag: TriageNote | None) -> ClusterSummary:
    return ClusterSummary(found.cluster_id, found.entity_type, found.action, found.label, found.changes, tag)


def _group_text(group: ChangeGroup) -> str:
    parts = [f"{name}={value}" for name, value in (
        ("actor", group.actor), ("operation", group.operation), ("cluster", group.cluster),
        ("since", group.since), ("until", group.until), ("type", group.entity_type), ("action", group.action),
        ("text", group.text), ("verdict", group.verdict)) if value is not None]
    return ", ".join(parts) or "the whole report"
