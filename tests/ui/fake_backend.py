"""An in-memory test double of the UI's ``Backend`` protocol, with a small seeded tenant."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from entrabr_tui.core.audit_blindspots import BlindSpotKind, PurgeEntry, purge_clock
from entrabr_tui.core.audit_clusters import Cluster, cluster_of
from entrabr_tui.core.audit_join import Verdict
from entrabr_tui.core.audit_model import Actor
from entrabr_tui.core.audit_triage import TagTarget, TriageNote, TriageTag
from entrabr_tui.core.capabilities import (
    ADMINISTRATOR_ROLE_ID,
    READER_ROLE_ID,
    Capabilities,
    capabilities_from_claims,
)
from entrabr_tui.core.catalog import has_recoverable_change
from entrabr_tui.core.model import (
    Change,
    FilteringCriteria,
    Job,
    JobKind,
    RecoveryStatus,
    Snapshot,
    snapshot_id_for,
)
from entrabr_tui.engine.attribution import ChangeAttribution, PartAttribution
from entrabr_tui.engine.audit import (
    ActorSummary,
    AuditNotReadyError,
    AuditStatus,
    AuditUnavailableError,
    BlindSpot,
    ChangeGroup,
    ClusterSummary,
    GroupMarkResult,
    OperationSummary,
)
from entrabr_tui.engine.audit_pull import AuditProgress, AuditPullResult
from entrabr_tui.engine.cache_reader import QueuedObject
from entrabr_tui.engine.events import JobProgress, RestoreProgress
from entrabr_tui.engine.jobs import SlotState
from entrabr_tui.engine.plans import SessionPlan, build_plan
from entrabr_tui.engine.reports import ReportInfo
from entrabr_tui.engine.restore import BatchResult, RestoreResult, retry_plan
from entrabr_tui.store import ChangeRow, HistoryEntry, NodeCount
from entrabr_tui.store.audit_store import AuditState
from entrabr_tui.ui.backend import (
    AuditProgressCallback,
    CachedReportView,
    ReportProgressCallback,
    RestoreProgressCallback,
)

NOW = datetime(2026, 7, 28, 9, 30, tzinfo=UTC)

HOSTILE_NAMES = (
    "[bold red]Injected[/bold red]",
    "\x1b[31mANSI red\x1b[0m",
    "مرحبا بالعالم \u202eevil",
    "X" * 10_000,
    "",
)


#: The cast of the fake tenant's audit log (key -> actor).
ROGUE = Actor("sp-rogue", "app", "Azure AD Sync Helper", "Azure AD Sync Helper", "", "app-rogue", "sp-rogue")
ALICE = Actor("u-alice", "user", "alice@contoso.example", "Alice Admin", "HR Onboarding")
MAYA = Actor("u-maya", "user", "maya@contoso.example", "Maya Lindqvist")
SYNC = Actor("u-sync", "user", "Sync_DC01_1a2b@contoso.onmicrosoft.com", "On-Premises Sync")
CAST = {a.key: a for a in (ROGUE, ALICE, MAYA, SYNC)}
NO_MARGIN = NOW - timedelta(days=1)


@dataclass(frozen=True)
class FakeAuditRow:
    """One change as the fake join sees it."""

    change: Change
    actor: str
    operation: str
    at: datetime | None
    verdict: Verdict
    cluster: Cluster


def fake_audit_row(i: int, change: Change) -> FakeAuditRow:
    """A seeded attribution: most user edits are the rogue app's (two operations), deletes and restores
    Alice's, groups Maya's, synced users directory synchronization's; every 97th change has no record."""
    at = NOW - timedelta(hours=6) + timedelta(seconds=37 * i)
    cluster = cluster_of(change)
    if i % 97 == 3:
        return FakeAuditRow(change, "", "", None, Verdict.UNEXPLAINED, cluster)
    if change.on_premises_synced:
        return FakeAuditRow(change, SYNC.key, f"op-sync-{i // 50}", at, Verdict.SYNC, cluster)
    if change.entity_type_raw == "user" and change.action_raw == "update":
        return FakeAuditRow(change, ROGUE.key, f"op-rogue-{i % 2}", at, Verdict.EXPLAINED, cluster)
    if change.entity_type_raw == "user":
        return FakeAuditRow(change, ALICE.key, f"op-alice-{i // 10}", at, Verdict.EXPLAINED, cluster)
    return FakeAuditRow(change, MAYA.key, "op-maya", at, Verdict.EXPLAINED, cluster)


@dataclass(frozen=True)
class FakeSnapshotEntry:
    snapshot: Snapshot
    expires: datetime
    expired: bool
    report: ReportInfo | None


def _user(i: int, action: str, name: str | None = None) -> Change:
    name = name if name is not None else f"User {i:05d}"
    upn = f"user{i:05d}@contoso.example"
    if action == "update":
        delta = {"@odata.type": "#microsoft.graph.user", "jobTitle": "Engineer", "accountEnabled": True}
        current = {"@odata.type": "#microsoft.graph.user", "jobTitle": "Manager", "accountEnabled": False,
                   "userPrincipalName": upn}
    elif action == "restore":
        delta = {"@odata.type": "#microsoft.graph.user", "deletedDateTime": None}
        current = {"@odata.type": "#microsoft.graph.user", "deletedDateTime": "2026-07-27T10:00:00Z",
                   "userPrincipalName": upn}
    else:
        delta = {"@odata.type": "#microsoft.graph.user", "@removed": {"reason": "changed"},
                 "deletedDateTime": "2026-07-27T12:00:00Z"}
        current = {"@odata.type": "#microsoft.graph.user", "deletedDateTime": None, "userPrincipalName": upn}
    if i % 50 == 7:
        current["onPremisesSyncEnabled"] = True
    return Change.from_json({"id": f"u-{i:05d}", "entityTypeName": "user", "recoveryAction": action,
                             "displayName": name, "deltaFromCurrent": delta, "currentState": current})


def _group(i: int) -> Change:
    return Change.from_json({
        "id": f"g-{i:03d}", "entityTypeName": "group", "recoveryAction": "update",
        "displayName": f"Group {i:03d}",
        "deltaFromCurrent": {"@odata.type": "#microsoft.graph.group", "description": "Finance team",
                             "members@delta": [
                                 {"@odata.type": "#microsoft.graph.user", "id": "u-00001",
                                  "@removed": {"reason": "changed"}},
                                 {"@odata.type": "#microsoft.graph.user", "id": "u-00002"}]},
        "currentState": {"@odata.type": "#microsoft.graph.group", "description": "Fin"},
    })


def _policy() -> Change:
    return Change.from_json({
        "id": "ca-001", "entityTypeName": "conditionalAccessPolicy", "recoveryAction": "update",
        "displayName": "Require MFA for admins",
        "deltaFromCurrent": {"@odata.type": "#microsoft.graph.conditionalAccessPolicy", "state": "enabled",
                             "conditions": {"users": {"includeUsers": ["All"], "excludeUsers": ["u-00003"]}}},
        "currentState": {"@odata.type": "#microsoft.graph.conditionalAccessPolicy", "state": "disabled",
                         "conditions": {"users": {"includeUsers": ["None"], "excludeUsers": []}}},
    })


def build_changes(users: int = 300) -> list[Change]:
    """A seeded report: users of every action, groups with member changes, a CA policy, hostile names."""
    changes: list[Change] = []
    actions = ("update", "update", "update", "restore", "softDelete")
    for i in range(users):
        changes.append(_user(i, actions[i % len(actions)]))
    for j, name in enumerate(HOSTILE_NAMES):
        changes.append(_user(90_000 + j, "update", name))
    changes.extend(_group(i) for i in range(12))
    changes.append(_policy())
    return changes


def row_for(change: Change, marked: bool) -> ChangeRow:
    return ChangeRow(change.id, change.entity_type_raw, change.action_raw, change.display_name,
                     change.principal_name, change.on_premises_synced,
                     has_recoverable_change(change) and not change.on_premises_synced, marked)


def matches(change: Change, text: str | None, recoverable: bool | None) -> bool:
    if recoverable is not None and row_for(change, False).recoverable is not recoverable:
        return False
    if not text:
        return True
    needle = text.casefold()
    return (needle in change.display_name.casefold() or change.id.casefold().startswith(needle)
            or needle in (change.principal_name or "").casefold())


@dataclass
class FakeBackend:
    """Deterministic in-memory ``Backend``: three snapshots, one report cached for the newest."""

    role: str = "admin"
    users: int = 300
    tenant: str = "Contoso (demo)"
    offline: bool = False
    fail_ids: frozenset[str] = frozenset()
    changes: list[Change] = field(default_factory=list)
    queued: dict[str, tuple[str, Change]] = field(default_factory=dict)
    log: list[HistoryEntry] = field(default_factory=list)
    server_jobs: list[Job] = field(default_factory=list)
    report_calls: list[tuple[str, FilteringCriteria | None]] = field(default_factory=list)
    restore_gate: asyncio.Event | None = None
    closed: bool = False
    warnings: list[str] = field(default_factory=list)
    clear_blocker: str | None = None
    cleared: int = 0
    audit_pulled: bool = True
    tags: dict[tuple[TagTarget, str], TriageNote] = field(default_factory=dict)
    undo: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.changes:
            self.changes = build_changes(self.users)
        self._by_id = {c.id: c for c in self.changes}
        self._snapshots = [Snapshot(snapshot_id_for(NOW - timedelta(days=d, hours=11, minutes=30)),
                                    NOW - timedelta(days=d, hours=11, minutes=30)) for d in range(3)]
        first = self._snapshots[0]
        self._reports: dict[str, ReportInfo] = {first.id: self._report("job-1", first.id)}

    def _report(self, job_id: str, snapshot_id: str) -> ReportInfo:
        return ReportInfo(job_id, len(getattr(self, "_reports", {})) + 1, snapshot_id, None,
                          RecoveryStatus.SUCCESSFUL, len(self.changes), len(self.changes), True)

    def _log(self, action: str, detail: str, outcome: str = "ok", job_id: str | None = None) -> None:
        self.log.insert(0, HistoryEntry(len(self.log) + 1, NOW, action, self.tenant,
                                        f"{self.role}@contoso.example", None, None, {}, outcome, detail,
                                        job_id, 0, (), False))

    @property
    def capabilities(self) -> Capabilities:
        role_id = ADMINISTRATOR_ROLE_ID if self.role == "admin" else READER_ROLE_ID
        return capabilities_from_claims({
            "scp": "EntraBackup.Read.All EntraBackup.ReadWrite.Preview EntraBackup.ReadWrite.Recovery",
            "wids": [role_id], "upn": f"{self.role}@contoso.example"})

    async def snapshots(self) -> list[FakeSnapshotEntry]:
        return [FakeSnapshotEntry(s, s.created + timedelta(days=7), False, self._reports.get(s.id))
                for s in self._snapshots]

    async def ensure_report(self, snapshot_id: str, scope: FilteringCriteria | None,
                            progress: ReportProgressCallback | None, /, *, fresh: bool = False) -> ReportInfo:
        self.report_calls.append((snapshot_id, scope))
        existing = self._reports.get(snapshot_id)
        if existing is not None and existing.complete and not fresh:
            return existing
        assert progress is not None
        total = len(self.changes)
        for step, phase in enumerate(("initialized", "loadingData", "calculating")):
            progress(JobProgress("job-new", JobKind.PREVIEW, phase, phase, float(step * 60), 3600.0))
            await asyncio.sleep(0)
        progress(JobProgress("job-new", JobKind.PREVIEW, "downloading", "Downloading", 200.0, 3600.0,
                             downloaded=total // 2, total=total))
        await asyncio.sleep(0)
        report = self._report(f"job-{len(self._reports) + 1}", snapshot_id)
        self._reports[snapshot_id] = report
        progress(JobProgress(report.id, JobKind.PREVIEW, "done", "Finished", 260.0, 3600.0,
                             downloaded=total, total=total))
        self._log("reportCreated", f"report {report.id}", job_id=report.id)
        return report

    async def cancel(self) -> str | None:
        return None

    async def jobs(self) -> list[Job]:
        return list(self.server_jobs)

    def slot_state(self) -> SlotState | None:
        running = [j for j in self.server_jobs if not j.is_terminal]
        return SlotState(running[0] if running else None, False, None)

    def counts(self, report_id: str, /, *, text: str | None = None,
               recoverable: bool | None = None) -> list[NodeCount]:
        tally: dict[tuple[str, str], int] = {}
        for c in self.changes:
            if matches(c, text, recoverable):
                key = (c.entity_type_raw, c.action_raw)
                tally[key] = tally.get(key, 0) + 1
        return [NodeCount(t, a, n) for (t, a), n in sorted(tally.items())]

    def page(self, report_id: str, entity_type: str | None, action: str | None,
             after: tuple[str, str] | None, limit: int, /, *, text: str | None = None,
             recoverable: bool | None = None) -> list[ChangeRow]:
        rows = sorted((c for c in self.changes
                       if c.entity_type_raw == entity_type and c.action_raw == action
                       and matches(c, text, recoverable)),
                      key=lambda c: (c.display_name, c.id))
        if after is not None:
            rows = [c for c in rows if (c.display_name, c.id) > after]
        return [row_for(c, c.id in self.queued) for c in rows[:limit]]

    def change(self, report_id: str, change_id: str, /) -> Change | None:
        return self._by_id.get(change_id)

    def display_names(self, ids: Sequence[str], /) -> dict[str, str]:
        return {i: self._by_id[i].display_name for i in ids if i in self._by_id}

    def marked(self, report_id: str, /) -> set[str]:
        return {i for i, (r, _) in self.queued.items() if r == report_id}

    def mark(self, report_id: str, ids: Sequence[str], /) -> int:
        for i in ids:
            if i in self._by_id:
                self.queued[i] = (report_id, self._by_id[i])
        return len(self.queued)

    def unmark(self, report_id: str, ids: Sequence[str], /) -> int:
        for i in ids:
            self.queued.pop(i, None)
        return len(self.queued)

    def unmark_all(self) -> int:
        removed = len(self.queued)
        self.queued.clear()
        return removed

    def queue(self) -> list[QueuedObject]:
        entries = [QueuedObject(r, c.id, c.entity_type_raw, c.action_raw, c.display_name,
                                c.on_premises_synced) for r, c in self.queued.values()]
        entries.sort(key=lambda e: (e.entity_type, e.action, e.display_name, e.id))
        return entries

    def plan(self, *, record: bool = True) -> SessionPlan:
        if not self.queued:
            return SessionPlan.empty()
        report_id = next(iter(self.queued.values()))[0]
        report = next(r for r in self._reports.values() if r.id == report_id)
        return build_plan(report, [c for _, c in self.queued.values()], None)

    def retry_plan(self, result: RestoreResult, plan: SessionPlan, /) -> SessionPlan:
        retry = retry_plan(result.failed, self._by_id.get)
        return SessionPlan(retry.plan, plan.report, plan.snapshot_id)

    # -- the audit log (in memory, seeded by fake_audit_row) -------------------------------------------------
    def _audit_ready(self) -> list[FakeAuditRow]:
        if self.role != "admin":
            raise AuditUnavailableError("Reading the directory audit log was refused: the signed-in identity "
                                        "lacks a role that may read audit logs, such as Reports Reader.")
        if not self.audit_pulled:
            raise AuditNotReadyError("The audit log of this report's window is not in the cache yet.")
        return [fake_audit_row(i, c) for i, c in enumerate(self.changes)]

    async def pull_audit(self, report_id: str | None, progress: AuditProgressCallback | None, /
                         ) -> AuditPullResult:
        if self.role != "admin":
            self._audit_ready()
        if progress is not None:
            progress(AuditProgress("waiting", "Waiting 2.0 s for the audit log's request budget", wait=2.0))
            await asyncio.sleep(0)
            progress(AuditProgress("reading", "Reading the audit log", slice=1, pages=1, requests=1,
                                   received=len(self.changes), stored=len(self.changes)))
        self.audit_pulled = True
        state = AuditState(NO_MARGIN, NOW, NOW - timedelta(minutes=15), 1, NOW, None, len(self.changes))
        return AuditPullResult((), state, len(self.changes), len(self.changes), 1, 2.0,
                               (report_id,) if report_id else ())

    def audit_status(self) -> AuditStatus:
        if self.role != "admin":
            return AuditStatus(False, "the signed-in identity lacks a role that may read audit logs", None,
                               None, None, 0, None)
        if not self.audit_pulled:
            return AuditStatus(None, None, None, None, None, 0, None)
        return AuditStatus(True, None, NO_MARGIN, NOW, NOW - timedelta(minutes=15), len(self.changes), NOW)

    def _kept(self, row: FakeAuditRow) -> bool:
        return any(note.tag is TriageTag.KEEP for (target, key), note in self.tags.items()
                   if (target is TagTarget.CLUSTER and key == row.cluster.id)
                   or (target is TagTarget.OPERATION and key == row.operation))

    def _group(self, group: ChangeGroup) -> list[FakeAuditRow]:
        def keep(r: FakeAuditRow) -> bool:
            c = r.change
            return ((group.actor is None or r.actor == group.actor)
                    and (group.operation is None or r.operation == group.operation)
                    and (group.cluster is None or r.cluster.id == group.cluster)
                    and (group.entity_type is None or c.entity_type_raw == group.entity_type)
                    and (group.action is None or c.action_raw == group.action)
                    and (group.verdict is None or r.verdict.value == group.verdict)
                    and (group.since is None or (r.at is not None and r.at >= group.since))
                    and (group.until is None or (r.at is not None and r.at <= group.until))
                    and matches(c, group.text, None))
        return [r for r in self._audit_ready() if keep(r)]

    def attribution(self, report_id: str, object_id: str, /) -> ChangeAttribution | None:
        row = next((r for r in self._audit_ready() if r.change.id == object_id), None)
        if row is None:
            return None
        actor = CAST.get(row.actor)
        reason = None if actor else "no audit record since the backup"
        parts = tuple(PartAttribution(key, row.verdict, reason, actor, row.at, row.operation or None,
                                      "Update user" if actor else None,
                                      f"rec-{object_id}-{key}" if actor else None,
                                      row.change.current.get(key), 1 if actor else 0)
                      for key in sorted(row.change.delta) if not key.startswith("@"))
        return ChangeAttribution(object_id, row.verdict, reason, actor, row.operation or None, row.at,
                                 row.cluster.id, row.cluster.label, parts)

    def audit_actors(self, report_id: str, /) -> list[ActorSummary]:
        by: dict[str, list[FakeAuditRow]] = {}
        for r in self._audit_ready():
            by.setdefault(r.actor, []).append(r)
        out = []
        for key, rows in by.items():
            a = CAST.get(key, Actor(key, "unknown", ""))
            times = [r.at for r in rows if r.at is not None]
            label = a.label if key else "no audit record"
            out.append(ActorSummary(key, a.kind, label, a.name, a.display_name, a.via, a.app_id,
                                    a.service_principal_id, len(rows),
                                    len({r.operation for r in rows}), min(times, default=None),
                                    max(times, default=None)))
        return sorted(out, key=lambda a: (-a.changes, a.key))

    def audit_operations(self, report_id: str, actor_key: str, after: tuple[int, str] | None, limit: int, /
                         ) -> list[OperationSummary]:
        by: dict[str, list[FakeAuditRow]] = {}
        for r in self._group(ChangeGroup(actor=actor_key)):
            by.setdefault(r.operation, []).append(r)
        ops = []
        for op, rows in by.items():
            times = [r.at for r in rows if r.at is not None]
            ops.append(OperationSummary(actor_key, op, len(rows), min(times, default=None),
                                        max(times, default=None), (("Update user", len(rows)),),
                                        self.tags.get((TagTarget.OPERATION, op))))
        ops.sort(key=lambda o: (-o.changes, o.correlation_id))
        if after is not None:
            ops = [o for o in ops if (-o.changes, o.correlation_id) > (-after[0], after[1])]
        return ops[:limit]

    def audit_clusters(self, report_id: str, after: tuple[int, str] | None, limit: int, /
                       ) -> list[ClusterSummary]:
        by: dict[str, list[FakeAuditRow]] = {}
        for r in self._audit_ready():
            by.setdefault(r.cluster.id, []).append(r)
        out = [ClusterSummary(cid, rows[0].cluster.entity_type, rows[0].cluster.action, rows[0].cluster.label,
                              len(rows), self.tags.get((TagTarget.CLUSTER, cid))) for cid, rows in by.items()]
        out.sort(key=lambda c: (-c.changes, c.id))
        if after is not None:
            out = [c for c in out if (-c.changes, c.id) > (-after[0], after[1])]
        return out[:limit]

    def group_count(self, report_id: str, group: ChangeGroup, /, *, marked: bool | None = None) -> int:
        return sum(1 for r in self._group(group) if marked is None or (r.change.id in self.queued) == marked)

    def group_counts(self, report_id: str, by: str, group: ChangeGroup, /) -> list[tuple[str, int]]:
        tally: dict[str, int] = {}
        for r in self._group(group):
            key = {"actor": r.actor, "operation": r.operation, "cluster": r.cluster.id}[by]
            tally[key] = tally.get(key, 0) + 1
        return sorted(tally.items(), key=lambda kv: (-kv[1], kv[0]))

    def group_page(self, report_id: str, group: ChangeGroup, after: tuple[str, str] | None, limit: int, /
                   ) -> list[ChangeRow]:
        rows = sorted((r.change for r in self._group(group)), key=lambda c: (c.display_name.casefold(), c.id))
        if after is not None:
            rows = [c for c in rows if (c.display_name.casefold(), c.id) > (after[0].casefold(), after[1])]
        return [row_for(c, c.id in self.queued) for c in rows[:limit]]

    def mark_group(self, report_id: str, group: ChangeGroup, /) -> GroupMarkResult:
        rows = self._group(group)
        kept = [r for r in rows if self._kept(r)]
        new = [r.change for r in rows if not self._kept(r) and r.change.id not in self.queued]
        for c in new:
            self.queued[c.id] = (report_id, c)
        token = f"undo-{len(self.undo) + 1}" if new else None
        if token is not None:
            self.undo[token] = [c.id for c in new]
        return GroupMarkResult(len(new), len(rows) - len(kept) - len(new), len(kept), token)

    def unmark_group(self, report_id: str, group: ChangeGroup, /) -> int:
        ids = [r.change.id for r in self._group(group) if r.change.id in self.queued]
        for i in ids:
            del self.queued[i]
        return len(ids)

    def undo_mark(self, report_id: str, token: str, /) -> int:
        ids = [i for i in self.undo.pop(token, []) if i in self.queued]
        for i in ids:
            del self.queued[i]
        return len(ids)

    def blind_spots(self, report_id: str, /) -> list[BlindSpot]:
        self._audit_ready()
        at = NOW - timedelta(hours=2)
        return [BlindSpot(BlindSpotKind.HARD_DELETE, "u-purged-1", "User", "Purged Person", 2, at, at,
                          "Hard Delete user", ROGUE, "op-rogue-0", "rec-hard-1"),
                BlindSpot(BlindSpotKind.OWNER_LINK, "g-000", "Group", "Group 000", 1, at, at,
                          "Add owner to group", ALICE, "op-alice-0", "rec-owner-1"),
                BlindSpot(BlindSpotKind.CREDENTIALS, "app-1", "Application", "[bold]Payroll[/bold]", 1, at,
                          at,
                          "Update application – Certificates and secrets management", ROGUE, "op-rogue-1",
                          "rec-cred-1")]

    def blind_spot_count(self, report_id: str, /) -> int:
        return len(self.blind_spots(report_id))

    def purge_clock(self, report_id: str, /) -> list[PurgeEntry]:
        deleted = [(c.id, c.entity_type_raw, c.display_name, datetime.fromisoformat(
            str(c.current["deletedDateTime"]).replace("Z", "+00:00")))
                   for c in self.changes if c.action_raw == "restore" and c.current.get("deletedDateTime")]
        return purge_clock(deleted, NOW)

    def triage_tag(self, target: TagTarget, key: str, /) -> TriageNote | None:
        return self.tags.get((target, key))

    def set_triage_tag(self, target: TagTarget, key: str, tag: TriageTag | None, note: str = "", /
                       ) -> TriageNote | None:
        if tag is None:
            self.tags.pop((target, key), None)
            return None
        self.tags[(target, key)] = TriageNote(target, key, tag, note, NOW)
        return self.tags[(target, key)]

    async def restore(self, plan: SessionPlan, progress: RestoreProgressCallback | None, /) -> RestoreResult:
        assert progress is not None and plan.snapshot_id is not None
        batches: list[BatchResult] = []
        count = len(plan.batches)
        ids = {i for t in plan.types for i in t.ids}
        for number, scope in enumerate(plan.batches, start=1):
            progress(RestoreProgress(number, count, f"rjob-{number}", "running", "Applying changes",
                                     5.0 * number))
            if self.restore_gate is not None:
                await self.restore_gate.wait()
            await asyncio.sleep(0)
            failed = tuple(
                Change.from_json({"id": c.id, "entityTypeName": c.entity_type_raw,
                                  "recoveryAction": c.action_raw, "displayName": c.display_name,
                                  "failureMessage": "Update failed: object is managed elsewhere."})
                for c in self.changes if c.id in self.fail_ids and c.id in ids and number == 1)
            job = Job.from_json({"id": f"rjob-{number}", "status": "successful",
                                 "totalObjectsModified": len(ids) - len(failed),
                                 "totalFailedChanges": len(failed)}, JobKind.RECOVERY)
            batches.append(BatchResult(number, scope, job, failed))
        done = ids - self.fail_ids
        self.changes = [c for c in self.changes if c.id not in done]
        self._by_id = {c.id: c for c in self.changes}
        self.queued = {i: v for i, v in self.queued.items() if i not in done}
        result = RestoreResult("run-1", plan.snapshot_id, tuple(batches))
        self._log("restoreFinished", result.summary, result.outcome)
        self.server_jobs = [b.job for b in batches if b.job is not None] + self.server_jobs
        return result

    def history(self) -> list[HistoryEntry]:
        return list(self.log)

    def record(self, action: str, /, *, detail: str | None = None, outcome: str = "ok") -> None:
        self._log(action, detail or "", outcome)

    def log_export(self, what: str, target: str, /, *, count: int, fmt: str,
                   report: CachedReportView | None = None, outcome: str = "ok") -> None:
        self._log("export", f"{what} as {fmt} to {target} ({count} rows)", outcome,
                  job_id=report.id if report is not None else None)

    def iter_changes(self, report_id: str, /) -> Iterator[Change]:
        yield from list(self.changes)

    def clear_cache_blocker(self) -> str | None:
        return self.clear_blocker

    async def close_and_clear_cache(self) -> None:
        if self.clear_blocker is not None:
            raise RuntimeError(self.clear_blocker)
        self.cleared += 1
        self._log("cache-cleared", "cache set aside")
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True
