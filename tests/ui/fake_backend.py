"""An in-memory test double of the UI's ``Backend`` protocol, with a small seeded tenant."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

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
from entrabr_tui.core.compare import CompareBuilder, Comparison, MovedObject, ObjectDelta, ReportSide
from entrabr_tui.core.dependencies import Deleted, fixes, missing_dependencies
from entrabr_tui.core.lockout import break_glass_principals, evaluate, membership_changes, restored_policies
from entrabr_tui.core.model import (
    Change,
    FilteringCriteria,
    Job,
    JobKind,
    RecoveryStatus,
    Snapshot,
    SyncStatus,
    snapshot_id_for,
)
from entrabr_tui.core.plan_options import DurationModel, TypeFacts, plan_choices
from entrabr_tui.core.recoverability import Recoverable, recoverability
from entrabr_tui.core.review import Staleness
from entrabr_tui.core.verification import Residue, ResidueItem, Verification
from entrabr_tui.engine.alert_view import AlertNotShownError, AlertView
from entrabr_tui.engine.attribution import ChangeAttribution, PartAttribution
from entrabr_tui.engine.audit_types import (
    ActorSummary,
    AuditNotReadyError,
    AuditProgress,
    AuditPullResult,
    AuditStatus,
    AuditUnavailableError,
    BlindSpot,
    ChangeGroup,
    ClusterSummary,
    GroupMarkResult,
    OperationSummary,
)
from entrabr_tui.engine.cache_reader import QueuedObject
from entrabr_tui.engine.errors import EngineError
from entrabr_tui.engine.events import JobProgress, RestoreProgress
from entrabr_tui.engine.evidence import EVIDENCE_STEPS, EvidencePack, write_pack
from entrabr_tui.engine.jobs import SlotState
from entrabr_tui.engine.plan_file import ReviewedPlans
from entrabr_tui.engine.plans import PlanInputs, SessionPlan
from entrabr_tui.engine.reports import ReportInfo
from entrabr_tui.engine.restore import BatchResult, RestoreResult, retry_plan
from entrabr_tui.engine.restore_checks import LockoutCheck, Recheck, touches_policies
from entrabr_tui.engine.sync_status import LookupOutcome, SyncCheck
from entrabr_tui.graph.errors import ForbiddenError
from entrabr_tui.store import ChangeRow, HistoryEntry, NodeCount
from entrabr_tui.store.audit_store import AuditState
from entrabr_tui.store.cache_schema import UNREADABLE_ACTION
from entrabr_tui.store.change_filter import needle_of, text_matches
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

#: Text from a hostile tenant or keyboard: markup (unbalanced, actions, links), terminal escapes (colour, an
#: OSC 8 link, an OSC 52 clipboard write), bidi override, NUL, zero-width, wide characters, a huge name.
HOSTILE_CORPUS = (
    "[/",
    "[/]",
    "[red]",
    "[link=https://x]",
    "[@click=app.quit]",
    "[bold]Rich[/] Markup",
    "Finance [/] Team",
    "\x1b[31mANSI red\x1b[0m",
    "\x1b]8;;https://evil.example\x07OSC link\x1b]8;;\x07",
    "\x1b]52;c;ZXZpbA==\x07clipboard",
    "evil\u202eRTL",
    "nul\x00byte",
    "zero\u200bwidth",
    "漢字の名前😀 wide",
    "W" * 10_000,
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
    change = Change.from_json({"id": f"u-{i:05d}", "entityTypeName": "user", "recoveryAction": action,
                               "displayName": name, "deltaFromCurrent": delta, "currentState": current})
    # As after a directory lookup: live users are known; deleted ones (restore) are not listed, so unknown.
    if change.sync is SyncStatus.UNKNOWN and action != "restore":
        return change.with_sync(SyncStatus.CLOUD)
    return change


def _group(i: int) -> Change:
    return _cloud({
        "id": f"g-{i:03d}", "entityTypeName": "group", "recoveryAction": "update",
        "displayName": f"Group {i:03d}",
        "deltaFromCurrent": {"@odata.type": "#microsoft.graph.group", "description": "Finance team",
                             "members@delta": [
                                 {"@odata.type": "#microsoft.graph.user", "id": "u-00001",
                                  "@removed": {"reason": "changed"}},
                                 {"@odata.type": "#microsoft.graph.user", "id": "u-00002"}]},
        "currentState": {"@odata.type": "#microsoft.graph.group", "description": "Fin"},
    })


def _cloud(data: dict[str, object]) -> Change:
    return Change.from_json(data).with_sync(SyncStatus.CLOUD)


def _policy() -> Change:
    return Change.from_json({
        "id": "ca-001", "entityTypeName": "conditionalAccessPolicy", "recoveryAction": "update",
        "displayName": "Require MFA for admins",
        "deltaFromCurrent": {"@odata.type": "#microsoft.graph.conditionalAccessPolicy", "state": "enabled",
                             "conditions": {"users": {"includeUsers": ["All"], "excludeUsers": ["u-00003"]}}},
        "currentState": {"@odata.type": "#microsoft.graph.conditionalAccessPolicy", "state": "disabled",
                         "conditions": {"users": {"includeUsers": ["None"], "excludeUsers": []}}},
    })


def hostile_changes(failure: str) -> list[Change]:
    """A report where every changed object, member and value is named by the hostile corpus."""
    changes: list[Change] = []
    for j, name in enumerate(HOSTILE_CORPUS):
        upn = f"h{j:02d}{name[:40]}@contoso.example"
        changes.append(_cloud({
            "id": f"h-{j:02d}", "entityTypeName": "user", "recoveryAction": "update",
            "displayName": f"DISABLED - {name}",
            "deltaFromCurrent": {"@odata.type": "#microsoft.graph.user", "displayName": name,
                                 "jobTitle": name, "accountEnabled": True},
            "currentState": {"@odata.type": "#microsoft.graph.user", "displayName": f"DISABLED - {name}",
                             "jobTitle": "x", "accountEnabled": False, "userPrincipalName": upn}}))
    changes.append(_cloud({
        "id": "h-soft", "entityTypeName": "user", "recoveryAction": "softDelete",
        "displayName": HOSTILE_CORPUS[4],
        "deltaFromCurrent": {"@odata.type": "#microsoft.graph.user", "@removed": {"reason": "changed"}},
        "currentState": {"@odata.type": "#microsoft.graph.user", "deletedDateTime": None}}))
    changes.append(_cloud({
        "id": "h-group", "entityTypeName": "group", "recoveryAction": "update",
        "displayName": HOSTILE_CORPUS[6],
        "deltaFromCurrent": {"@odata.type": "#microsoft.graph.group", "description": failure,
                             "members@delta": [{"@odata.type": "#microsoft.graph.user", "id": f"h-{j:02d}"}
                                               for j in range(len(HOSTILE_CORPUS))]},
        "currentState": {"@odata.type": "#microsoft.graph.group", "description": "ok"}}))
    changes.append(_policy())
    return changes


def lockout_policy() -> Change:
    """A Conditional Access policy whose restore turns it on for everyone (a lockout finding)."""
    return Change.from_json({
        "id": "ca-002", "entityTypeName": "conditionalAccessPolicy", "recoveryAction": "update",
        "displayName": "Block sign-in from untrusted networks",
        "deltaFromCurrent": {"@odata.type": "#microsoft.graph.conditionalAccessPolicy", "state": "enabled",
                             "conditions": {"users": {"includeUsers": ["All"], "excludeUsers": []},
                                            "applications": {"includeApplications": ["All"]}},
                             "grantControls": {"operator": "OR", "builtInControls": ["block"]}},
        "currentState": {"@odata.type": "#microsoft.graph.conditionalAccessPolicy", "state": "disabled"},
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


def action_of(change: Change) -> str:
    """The action a change is listed under: an unreadable one has a group of its own (as in the cache)."""
    return change.action_raw if change.readable else UNREADABLE_ACTION


def row_for(change: Change, marked: bool, position: int = 0) -> ChangeRow:
    if not change.readable:
        return ChangeRow(change.id, change.entity_type_raw, UNREADABLE_ACTION, change.display_name, None,
                         change.sync, False, marked, position=position, unreadable=change.unreadable)
    return ChangeRow(change.id, change.entity_type_raw, change.action_raw, change.display_name,
                     change.principal_name, change.sync, recoverability(change).flag, marked,
                     position=position)


def matches(change: Change, text: str | None, recoverable: Recoverable | None,
            ids: Sequence[str] | None = None) -> bool:
    if recoverable is not None and recoverability(change).answer is not recoverable:
        return False
    if ids is not None and change.id not in ids:
        return False
    # The cache's own rule (name or UPN contains the text, raw or as shown; or the id starts with it).
    return bool(text_matches(needle_of(text), change.display_name, change.principal_name, change.id))


@dataclass(frozen=True)
class FakeRestoreMark:
    state: str
    at: datetime
    job_id: str | None


@dataclass
class FakeInterrupted:
    """An interrupted restore as the app is shown it."""

    batch_count: int = 3
    done: int = 1
    created: datetime = NOW - timedelta(hours=1)

    @property
    def text(self) -> str:
        return f"An interrupted restore: {self.done} of {self.batch_count} batches done"

    def lines(self) -> list[str]:
        return [f"batch {n}: ids: user 40 — {'done' if n <= self.done else 'to do'}"
                for n in range(1, self.batch_count + 1)]


@dataclass
class FakeBackend:
    """Deterministic in-memory ``Backend``: three snapshots, one report cached for the newest."""

    role: str = "admin"
    users: int = 300
    tenant: str = "Contoso (demo)"
    offline: bool = False
    service_in_process: bool = False
    fail_ids: frozenset[str] = frozenset()
    tenant_changes: list[Change] = field(default_factory=list)
    queued: dict[str, tuple[str, Change]] = field(default_factory=dict)
    log: list[HistoryEntry] = field(default_factory=list)
    server_jobs: list[Job] = field(default_factory=list)
    report_calls: list[tuple[str, FilteringCriteria | None]] = field(default_factory=list)
    restore_gate: asyncio.Event | None = None
    #: Held until set: a new report stays "running" (after its first progress event).
    report_gate: asyncio.Event | None = None
    #: When set, a new report holds in its download phase until the event is set.
    download_gate: asyncio.Event | None = None
    closed: bool = False
    warnings: list[str] = field(default_factory=list)
    clear_blocker: str | None = None
    cleared: int = 0
    audit_pulled: bool = True
    tags: dict[tuple[TagTarget, str], TriageNote] = field(default_factory=dict)
    interrupted: FakeInterrupted | None = None
    holder: str | None = None  # another process holding the tenant
    resumed: int = 0
    dropped: int = 0
    incomplete: bool = False  # the cached report is not proven complete
    failed_by_job: dict[str, tuple[Change, ...]] = field(default_factory=dict)
    #: The signed-in identity's UPN (default: ``<role>@contoso.example``).
    identity: str | None = None
    failure_message: str = "Update failed: object is managed elsewhere."
    #: Why a restore stops while its first batch's job is watched (the run stays resumable), if it does.
    restore_error: str | None = None
    #: Backups the service lists (daily, newest first); the newest has a cached report when ``cached``.
    backups: int = 3
    cached: bool = True
    #: Objects whose change cannot be read, with the error it raises.
    broken: dict[str, str] = field(default_factory=dict)
    sync_checks: int = 0
    #: The service refuses restores (403), as it does an Entra Backup Reader's.
    refuse_restore: bool = False
    restored: dict[str, FakeRestoreMark] = field(default_factory=dict)
    #: The last bulk change of the queue: ids it queued, entries it took out.
    undo_record: tuple[set[str], dict[str, tuple[str, Change]]] = field(default_factory=lambda: (set(), {}))
    queue_changes: int = 0
    sync_checked_reports: list[str] = field(default_factory=list)  # cached reports looked up on opening
    moved_ids: frozenset[str] = frozenset()  # objects the recheck finds moved since the review
    drift_ids: frozenset[str] = frozenset()  # objects the verification finds drifted
    break_glass_groups: tuple[str, ...] = ()
    break_glass_asked: bool = False
    exported: list[Path] = field(default_factory=list)
    #: Objects whose live name differs between the two reports of a comparison (left out of it).
    live_moved: frozenset[str] = frozenset()
    compare_calls: list[tuple[str, str]] = field(default_factory=list)
    #: Why a comparison fails, if it does (after its reports are made).
    compare_error: str | None = None
    #: The last comparison made (pages are served from it).
    comparison: Comparison | None = None
    #: Open watch alerts the app may be started on (``entrabr --open``), by id.
    alert_views: dict[str, AlertView] = field(default_factory=dict)
    #: The start of each evidence pack asked for, in order.
    evidence_since: list[datetime] = field(default_factory=list)
    #: What reading the audit log says while a pack is built (after its first step), in order.
    evidence_audit: list[AuditProgress] = field(default_factory=list)
    #: When set, a pack holds after ``evidence_audit`` is said until the event is set.
    evidence_gate: asyncio.Event | None = None

    def __post_init__(self) -> None:
        self.refuse_restore = self.refuse_restore or self.role == "reader"  # as the service does
        if not self.tenant_changes:
            self.tenant_changes = build_changes(self.users)
        self._by_id = {c.id: c for c in self.tenant_changes}
        self._snapshots = [Snapshot(snapshot_id_for(NOW - timedelta(days=d, hours=11, minutes=30)),
                                    NOW - timedelta(days=d, hours=11, minutes=30))
                           for d in range(self.backups)]
        self._reports: dict[str, ReportInfo] = {}
        if self.cached and self._snapshots:
            first = self._snapshots[0]
            self._reports[first.id] = self._report("job-1", first.id)

    def _report(self, job_id: str, snapshot_id: str) -> ReportInfo:
        total = len(self.tenant_changes)
        if self.incomplete:
            return ReportInfo(job_id, len(getattr(self, "_reports", {})) + 1, snapshot_id, None,
                              RecoveryStatus.SUCCESSFUL, total, total + 1000, False,
                              state_text=f"incomplete: {total:,} of {total + 1000:,} (the service ended the "
                              "list early)")
        return ReportInfo(job_id, len(getattr(self, "_reports", {})) + 1, snapshot_id, None,
                          RecoveryStatus.SUCCESSFUL, total, total, True,
                          state_text=f"complete: {total:,} changes")

    def _log(self, action: str, detail: str, outcome: str = "ok", job_id: str | None = None) -> None:
        self.log.insert(0, HistoryEntry(len(self.log) + 1, NOW, action, self.tenant,
                                        f"{self.role}@contoso.example", None, None, {}, outcome, detail,
                                        job_id, 0, (), False))

    @property
    def capabilities(self) -> Capabilities:
        role_id = ADMINISTRATOR_ROLE_ID if self.role == "admin" else READER_ROLE_ID
        return capabilities_from_claims({
            "scp": "EntraBackup.Read.All EntraBackup.ReadWrite.Preview EntraBackup.ReadWrite.Recovery",
            "wids": [role_id], "upn": self.identity or f"{self.role}@contoso.example"})

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
        total = len(self.tenant_changes)
        job_id = f"job-{len(self._reports) + 1}"
        for step, phase in enumerate(("initialized", "loadingData", "calculating")):
            progress(JobProgress(job_id, JobKind.PREVIEW, phase, phase, float(step * 60), 3600.0))
            await asyncio.sleep(0)
            if self.report_gate is not None:
                await self.report_gate.wait()
        progress(JobProgress(job_id, JobKind.PREVIEW, "downloading", "Downloading", 200.0, 3600.0,
                             downloaded=total // 2, total=total))
        await asyncio.sleep(0)
        if self.download_gate is not None:
            await self.download_gate.wait()
        report = self._report(job_id, snapshot_id)
        self._reports[snapshot_id] = report
        progress(JobProgress(report.id, JobKind.PREVIEW, "done", "Finished", 260.0, 3600.0,
                             downloaded=total, total=total))
        self._log("reportCreated", f"report {report.id}", job_id=report.id)
        return report

    def _backup_changes(self, snapshot_id: str, side: str) -> list[Change]:
        """What the report of a backup lists: every change for the newest, every other one for the next,
        every third one for the one before (so any two backups differ); B's report sees the objects of
        ``live_moved`` under another live name."""
        step = 1 + next(i for i, s in enumerate(self._snapshots) if s.id == snapshot_id)
        changes = self.tenant_changes[::step]
        if side == "B":
            changes = [replace(c, display_name=c.display_name + " (renamed)") if c.id in self.live_moved
                       else c for c in changes]
        return changes

    async def compare_backups(self, snapshot_a: str, snapshot_b: str, progress: ReportProgressCallback | None,
                              /, *, fresh: bool = False) -> Comparison:
        self.compare_calls.append((snapshot_a, snapshot_b))
        reports = [await self.ensure_report(s, None, progress, fresh=fresh) for s in (snapshot_a, snapshot_b)]
        times = {s.id: s.created for s in self._snapshots}
        builder = CompareBuilder(*(ReportSide(r.snapshot_id or "", times.get(r.snapshot_id or ""), r.id, NOW)
                                   for r in reports))
        if self.compare_error is not None:
            raise EngineError(self.compare_error)
        builder.add_a(self._backup_changes(snapshot_a, "A"))
        builder.add_b(self._backup_changes(snapshot_b, "B"))
        self.comparison = builder.finish()
        return self.comparison

    def _compared(self, reports: tuple[str, str]) -> Comparison:
        found = self.comparison
        if found is None or (found.a.report_id, found.b.report_id) != reports:
            raise RuntimeError("That comparison is no longer open: compare the two backups again.")
        return found

    def compare_page(self, reports: tuple[str, str], entity_type: str | None, kind: str | None, offset: int,
                     limit: int, /) -> list[ObjectDelta]:
        rows = [d for d in self._compared(reports).objects
                if d.entity_type == entity_type and d.kind.value == kind]
        return rows[offset:offset + limit]

    def compare_moved(self, reports: tuple[str, str], offset: int, limit: int, /) -> list[MovedObject]:
        return list(self._compared(reports).moved[offset:offset + limit])

    async def cancel(self) -> str | None:
        return None

    async def jobs(self) -> list[Job]:
        return list(self.server_jobs)

    def tenant_holder(self) -> str | None:
        return self.holder

    def interrupted_restore(self) -> FakeInterrupted | None:
        return self.interrupted

    async def resume_restore(self, progress: RestoreProgressCallback | None, /) -> RestoreResult:
        assert self.interrupted is not None
        count = self.interrupted.batch_count
        batches = []
        for number in range(1, count + 1):
            if progress is not None:
                progress(RestoreProgress(number, count, f"rjob-{number}", "running", "Applying changes", 1.0))
            if self.restore_gate is not None:
                await self.restore_gate.wait()
            job = Job.from_json({"id": f"rjob-{number}", "status": "successful", "totalObjectsModified": 40,
                                 "totalFailedChanges": 0}, JobKind.RECOVERY)
            batches.append(BatchResult(number, None, job))
            await asyncio.sleep(0)
        self.resumed += 1
        self.interrupted = None
        return RestoreResult("run-0", self._snapshots[0].id, tuple(batches))

    def discard_interrupted_restore(self) -> int:
        self.dropped += 1
        self.interrupted = None
        return 1

    def slot_state(self) -> SlotState | None:
        running = [j for j in self.server_jobs if not j.is_terminal]
        return SlotState(running[0] if running else None, False, None)

    def counts(self, report_id: str, /, *, text: str | None = None,
               recoverable: Recoverable | None = None, marked: bool | None = None,
               ids: Sequence[str] | None = None) -> list[NodeCount]:
        tally: dict[tuple[str, str], int] = {}
        for c in self.tenant_changes:
            if marked is not None and (c.id in self.queued) is not marked:
                continue
            if matches(c, text, recoverable, ids):
                key = (c.entity_type_raw, action_of(c))
                tally[key] = tally.get(key, 0) + 1
        return [NodeCount(t, a, n) for (t, a), n in sorted(tally.items())]

    def page(self, report_id: str, entity_type: str | None, action: str | None,
             after: tuple[str, str, int] | None, limit: int, /, *, text: str | None = None,
             recoverable: Recoverable | None = None, ids: Sequence[str] | None = None) -> list[ChangeRow]:
        rows = sorted(((c.display_name, c.id, position, c)
                       for position, c in enumerate(self.tenant_changes, start=1)
                       if c.entity_type_raw == entity_type and action_of(c) == action
                       and matches(c, text, recoverable, ids)),
                      key=lambda r: r[:3])
        if after is not None:
            rows = [r for r in rows if r[:3] > after]
        return [row_for(c, c.id in self.queued, position) for _, _, position, c in rows[:limit]]

    def change(self, report_id: str, change_id: str, position: int | None = None, /) -> Change | None:
        if change_id in self.broken:
            raise RuntimeError(self.broken[change_id])
        if position is not None and 0 < position <= len(self.tenant_changes):
            found = self.tenant_changes[position - 1]
            return found if found.id == change_id else None
        return self._by_id.get(change_id)

    def changes(self, report_id: str, change_ids: Sequence[str], /) -> list[Change]:
        return [self._by_id[i] for i in change_ids if i in self._by_id]

    def display_names(self, ids: Sequence[str], /) -> dict[str, str]:
        return {i: self._by_id[i].display_name for i in ids if i in self._by_id}

    def failed_changes(self, job_id: str, /) -> list[Change]:
        return list(self.failed_by_job.get(job_id, ()))

    def marked(self, report_id: str, /) -> set[str]:
        return {i for i, (r, _) in self.queued.items() if r == report_id}

    def mark(self, report_id: str, ids: Sequence[str], /) -> int:
        for i in ids:
            if i in self._by_id:
                self.queued[i] = (report_id, self._by_id[i])
        self.queue_changes += 1
        return len(self.queued)

    def unmark(self, report_id: str, ids: Sequence[str], /) -> int:
        for i in ids:
            self.queued.pop(i, None)
        self.queue_changes += 1
        return len(self.queued)

    def unmark_all(self) -> int:
        removed = len(self.queued)
        self.undo_record = (set(), dict(self.queued))
        self.queued.clear()
        self.queue_changes += 1
        return removed

    def _selected(self, nodes: Sequence[tuple[str, str]] | None, text: str | None,
                  recoverable: Recoverable | None, ids: Sequence[str] | None = None) -> list[Change]:
        wanted = set(nodes) if nodes is not None else None
        return [c for c in self.tenant_changes if matches(c, text, recoverable, ids)
                and (wanted is None or (c.entity_type_raw, c.action_raw) in wanted)]

    def mark_where(self, report_id: str, /, *, nodes: Sequence[tuple[str, str]] | None = None,
                   text: str | None = None, recoverable: Recoverable | None = None,
                   ids: Sequence[str] | None = None) -> int:
        added = {c.id for c in self._selected(nodes, text, recoverable, ids) if c.id not in self.queued}
        for i in added:
            self.queued[i] = (report_id, self._by_id[i])
        self.undo_record = (added, {})
        self.queue_changes += 1
        return len(added)

    def unmark_where(self, report_id: str, /, *, nodes: Sequence[tuple[str, str]] | None = None,
                     text: str | None = None, recoverable: Recoverable | None = None,
                     ids: Sequence[str] | None = None) -> int:
        removed = {c.id: self.queued.pop(c.id) for c in self._selected(nodes, text, recoverable, ids)
                   if c.id in self.queued}
        self.undo_record = (set(), removed)
        self.queue_changes += 1
        return len(removed)

    def undoable_marks(self) -> tuple[int, int]:
        return len(self.undo_record[0]), len(self.undo_record[1])

    def undo_marks(self) -> tuple[int, int]:
        added, removed = self.undo_record
        for i in added:
            self.queued.pop(i, None)
        self.queued.update(removed)
        self.undo_record = (set(), {})
        self.queue_changes += 1
        return len(added), len(removed)

    def move_queue(self, source: str, target: str, /) -> tuple[int, int]:
        moving = {i: v for i, v in self.queued.items() if v[0] == source}
        kept = {i for i in moving if i in self._by_id}
        for i in moving:
            del self.queued[i]
        for i in kept:
            self.queued[i] = (target, self._by_id[i])
        self.undo_record = (kept, moving)
        self.queue_changes += 1
        return len(kept), len(moving) - len(kept)

    def queue_signature(self) -> tuple[int, int]:
        return len(self.queued), self.queue_changes

    def restore_marks(self) -> dict[str, FakeRestoreMark]:
        return dict(self.restored)

    def queue(self) -> list[QueuedObject]:
        entries = [QueuedObject(r, c.id, c.entity_type_raw, c.action_raw, c.display_name,
                                c.on_premises_synced) for r, c in self.queued.values()]
        entries.sort(key=lambda e: (e.entity_type, e.action, e.display_name, e.id))
        return entries

    async def check_sync_status(self, report_id: str | None = None, /, *, queued: bool = False) -> SyncCheck:
        if report_id is not None and not queued:
            self.sync_checked_reports.append(report_id)
        else:
            self.sync_checks += 1
        return SyncCheck(LookupOutcome.NOTHING)

    def plan(self, *, record: bool = True) -> SessionPlan:
        if not self.queued:
            return SessionPlan.empty()
        report_id = next(iter(self.queued.values()))[0]
        report = next(r for r in self._reports.values() if r.id == report_id)
        inputs = PlanInputs.of(c for _, c in self.queued.values())
        facts: dict[str, TypeFacts] = {}
        for entity_type in {r[1] for r in inputs.records}:
            of_type = [c for c in self.tenant_changes if c.entity_type_raw == entity_type]
            unmarked = tuple(sorted(c.id for c in of_type if c.id not in self.queued
                                    and recoverability(c).answer is not Recoverable.NO))
            facts[entity_type] = TypeFacts(entity_type, len(of_type), unmarked)
        kept = self._kept_ids()
        choices = plan_choices(inputs.records, facts, DurationModel(tenant_objects=2000, backup_loaded=True),
                               kept_object_ids=kept)
        deleted = {c.id: Deleted(c.entity_type_raw, c.id, c.display_name) for c in self.tenant_changes
                   if c.action_raw == "restore"}
        names = {**{c.id: c.display_name for c in self.tenant_changes}, **inputs.names}
        plan = SessionPlan(plan=choices.chosen.plan, report=report, snapshot_id=report.snapshot_id,
                           names=names, actions=inputs.actions, reviewed=inputs.reviewed,
                           choices=choices, checked=tuple(inputs.checked), deleted=deleted)
        return plan.with_choice(choices.default).with_kept_by_tags(self._kept_count())

    def _kept_ids(self) -> set[str]:
        """Objects a triage tag keeps (none before the audit log is read, as in the engine)."""
        if not self.audit_pulled or self.role != "admin":
            return set()
        return {r.change.id for r in self._audit_ready() if self._kept(r)}

    def _kept_count(self) -> int:
        if not self.audit_pulled or self.role != "admin":
            return 0
        return sum(1 for r in self._audit_ready() if self._kept(r))

    def queue_dependencies(self, plan: SessionPlan, /) -> int:
        found = fixes(missing_dependencies(plan.checked, set(plan.ids), plan.deleted))
        before = len(self.queued)
        if plan.report is not None:
            self.mark(plan.report.id, [d.id for d in found])
        return len(self.queued) - before

    async def recheck(self, plan: SessionPlan, progress: ReportProgressCallback | None, /) -> Recheck:
        if progress is not None:
            progress(JobProgress("job-recheck", JobKind.PREVIEW, "calculating", "Rechecking", 1.0, 60.0))
        await asyncio.sleep(0)
        keys = [(t.entity_type, i) for t in plan.plan.types for i in t.ids]
        moved = tuple(k for k in keys if k[1] in self.moved_ids)
        staleness = Staleness(unchanged=tuple(k for k in keys if k not in moved), moved=moved)
        self._log("restore-rechecked", staleness.summary, "moved" if moved else "clean")
        return Recheck(staleness, dict(plan.names), ("job-recheck",))

    def skip_recheck(self, plan: SessionPlan, /) -> Recheck:
        self._log("restore-rechecked", "the recheck before the restore was skipped by choice", "skipped")
        return Recheck(skipped=True)

    def settle_recheck(self, plan: SessionPlan, recheck: Recheck, choice: str, /) -> SessionPlan | None:
        self._log("restore-rechecked", recheck.summary, choice)
        if choice == "back":
            return None
        if choice == "drop":
            return plan.without([*recheck.staleness.moved, *recheck.staleness.gone])
        return plan

    def break_glass_wanted(self, plan: SessionPlan, /) -> bool:
        return touches_policies(plan) and not self.break_glass_groups and not self.break_glass_asked

    def set_break_glass(self, users: Sequence[str], groups: Sequence[str], /) -> None:
        self.break_glass_groups = tuple(groups)
        self.break_glass_asked = True

    async def lockout_check(self, plan: SessionPlan, /) -> LockoutCheck:
        principals = break_glass_principals([], self.break_glass_groups, {"g-bg": "Emergency access"})
        policies = [c for c in plan.checked if c.entity_type_raw == "conditionalAccessPolicy"]
        if not policies:
            return LockoutCheck((), tuple(principals))
        before, after = restored_policies(policies, None)
        findings = evaluate(before, after, principals, membership_changes(plan.checked, ["g-bg"]))
        return LockoutCheck(tuple(findings), tuple(principals), len(policies), None, before)

    def confirm_lockout(self, check: LockoutCheck, typed: Sequence[str], /) -> bool:
        confirmed = all(name in [t.strip() for t in typed] for name in check.policy_names)
        self._log("lockout-checked", "typed: " + "; ".join(check.policy_names),
                  "confirmed" if confirmed else "not confirmed")
        return confirmed

    async def lockout_after(self, check: LockoutCheck, /) -> LockoutCheck:
        return replace(check, after_restore=True)

    async def verify_restore(self, plan: SessionPlan, result: RestoreResult,
                             progress: ReportProgressCallback | None, /) -> Verification:
        await asyncio.sleep(0)
        residue = tuple(ResidueItem("user", i, plan.names.get(i, ""), Residue.DRIFTED,
                                    "changed after its batch ran")
                        for i in sorted(self.drift_ids))
        return Verification(len(plan.ids), residue)

    def _plan_files(self) -> ReviewedPlans:
        async def backups() -> dict[str, bool]:
            return {s.id: False for s in self._snapshots}

        identity = self.capabilities.identity.display
        return ReviewedPlans("contoso-tenant", lambda: identity, backups, lambda: False)

    def export_plan(self, plan: SessionPlan, path: Path, /) -> str:
        reviewed = self._plan_files().write(plan, path, NOW)
        self.exported.append(path)
        return str(reviewed.document()["contentSha256"])

    async def open_plan(self, path: Path, /) -> SessionPlan:
        return await self._plan_files().read(path, lambda job_id: None)

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
        return [fake_audit_row(i, c) for i, c in enumerate(self.tenant_changes)]

    async def pull_audit(self, report_id: str | None, progress: AuditProgressCallback | None, /
                         ) -> AuditPullResult:
        if self.role != "admin":
            self._audit_ready()
        if progress is not None:
            progress(AuditProgress("waiting", "Waiting 2.0 s for the audit log's request budget", wait=2.0))
            await asyncio.sleep(0)
            progress(AuditProgress("reading", "Reading the audit log", slice=1, pages=1, requests=1,
                                   received=len(self.tenant_changes), stored=len(self.tenant_changes)))
        self.audit_pulled = True
        count = len(self.tenant_changes)
        state = AuditState(NO_MARGIN, NOW, NOW - timedelta(minutes=15), 1, NOW, None, count)
        return AuditPullResult((), state, len(self.tenant_changes), len(self.tenant_changes), 1, 2.0,
                               (report_id,) if report_id else ())

    def audit_status(self) -> AuditStatus:
        if self.role != "admin":
            return AuditStatus(False, "the signed-in identity lacks a role that may read audit logs", None,
                               None, None, 0, None)
        if not self.audit_pulled:
            return AuditStatus(None, None, None, None, None, 0, None)
        return AuditStatus(True, None, NO_MARGIN, NOW, NOW - timedelta(minutes=15), len(self.tenant_changes),
                           NOW)

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

    def attribution(self, report_id: str, object_id: str, position: int | None = None, /
                    ) -> ChangeAttribution | None:
        row = next((r for i, r in enumerate(self._audit_ready(), start=1)
                    if r.change.id == object_id and position in (None, i)), None)
        if row is None:
            return None
        actor = CAST.get(row.actor)
        reason = None if actor else "no audit record since the backup"
        # The rogue app's edits: no record names accountEnabled (it was changed some other way).
        odd = "accountEnabled" if actor is ROGUE else None
        parts = tuple(PartAttribution(key, Verdict.UNEXPLAINED, "no record names this property", None, None,
                                      None, None, None, None, 0) if key == odd else
                      PartAttribution(key, row.verdict, reason, actor, row.at, row.operation or None,
                                      "Update user" if actor else None,
                                      f"rec-{object_id}-{key}" if actor else None,
                                      row.change.current.get(key), 1 if actor else 0)
                      for key in sorted(row.change.delta) if not key.startswith("@"))
        verdict = Verdict.PARTLY if odd in row.change.delta else row.verdict
        return ChangeAttribution(object_id, verdict, reason, actor, row.operation or None, row.at,
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

    def group_count(self, report_id: str, group: ChangeGroup, /, *, marked: bool | None = None,
                    kept: bool | None = None) -> int:
        return sum(1 for r in self._group(group) if (marked is None or (r.change.id in self.queued) == marked)
                   and (kept is None or self._kept(r) == kept))

    def group_has(self, report_id: str, group: ChangeGroup, /, *, marked: bool | None = None,
                  kept: bool | None = None) -> bool:
        return self.group_count(report_id, group, marked=marked, kept=kept) > 0

    def group_counts(self, report_id: str, by: str, group: ChangeGroup, /) -> list[tuple[str, int]]:
        tally: dict[str, int] = {}
        for r in self._group(group):
            key = {"actor": r.actor, "operation": r.operation, "cluster": r.cluster.id}[by]
            tally[key] = tally.get(key, 0) + 1
        return sorted(tally.items(), key=lambda kv: (-kv[1], kv[0]))

    def group_page(self, report_id: str, group: ChangeGroup, after: tuple[str, str, int] | None, limit: int, /
                   ) -> list[ChangeRow]:
        chosen = {id(r.change) for r in self._group(group)}
        rows = sorted(((c.display_name.casefold(), position, c)
                       for position, c in enumerate(self.tenant_changes, start=1) if id(c) in chosen),
                      key=lambda k: k[:2])  # by name and position, as the cache pages them
        if after is not None:
            rows = [k for k in rows if k[:2] > (after[0].casefold(), after[2])]
        return [row_for(c, c.id in self.queued, position) for _, position, c in rows[:limit]]

    def mark_group(self, report_id: str, group: ChangeGroup, /) -> GroupMarkResult:
        rows = self._group(group)
        kept = [r for r in rows if self._kept(r)]
        new = [r.change for r in rows if not self._kept(r) and r.change.id not in self.queued]
        for c in new:
            self.queued[c.id] = (report_id, c)
        self.undo_record = ({c.id for c in new}, {})
        self.queue_changes += 1
        return GroupMarkResult(len(new), len(rows) - len(kept) - len(new), len(kept))

    def unmark_group(self, report_id: str, group: ChangeGroup, /) -> int:
        removed = {r.change.id: self.queued.pop(r.change.id) for r in self._group(group)
                   if r.change.id in self.queued}
        self.undo_record = (set(), removed)
        self.queue_changes += 1
        return len(removed)

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
                   for c in self.tenant_changes
                   if c.action_raw == "restore" and c.current.get("deletedDateTime")]
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
        if self.refuse_restore:
            self._log("restore-finished", "Creating a restore was refused: needs Entra Backup Administrator",
                      "refused")
            raise ForbiddenError(
                "Creating a restore was refused: Creating a restore needs the Entra Backup Administrator "
                "role (or Global Administrator). Signed in as reader@contoso.example · Entra Backup Reader.",
                needs="the Entra Backup Administrator role", status=403)
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
                                  "failureMessage": self.failure_message})
                for c in self.tenant_changes if c.id in self.fail_ids and c.id in ids and number == 1)
            job = Job.from_json({"id": f"rjob-{number}", "status": "successful",
                                 "totalObjectsModified": len(ids) - len(failed),
                                 "totalFailedChanges": len(failed)}, JobKind.RECOVERY)
            batches.append(BatchResult(number, scope, job, failed))
            self.failed_by_job[job.id] = failed
        done = ids - self.fail_ids
        for i in ids:
            self.restored[i.lower()] = FakeRestoreMark("failed" if i in self.fail_ids else "restored", NOW,
                                                       "rjob-1")
        self.tenant_changes = [c for c in self.tenant_changes if c.id not in done]
        self._by_id = {c.id: c for c in self.tenant_changes}
        self.queued = {i: v for i, v in self.queued.items() if i not in done}
        if self.restore_error is not None:
            batches = [BatchResult(1, batches[0].scope, None, error=self.restore_error)] + [
                BatchResult(b.batch, b.scope, None, skipped=True) for b in batches[1:]]
            result = RestoreResult("run-1", plan.snapshot_id, tuple(batches),
                                   error=f"Batch 1 of {count} stopped: {self.restore_error}")
            self._log("restoreFinished", result.summary, result.outcome)
            return result
        result = RestoreResult("run-1", plan.snapshot_id, tuple(batches))
        self._log("restoreFinished", result.summary, result.outcome)
        self.server_jobs = [b.job for b in batches if b.job is not None] + self.server_jobs
        return result

    async def write_evidence(self, folder: Path, since: datetime,
                             progress: Callable[[int, int, str], object] | None,
                             audit_progress: AuditProgressCallback | None, /) -> list[Path]:
        """The engine's pack writer on a pack of this fake tenant's history (no recovery in it); reading the
        audit log says ``evidence_audit`` (then waits for ``evidence_gate``)."""
        self.evidence_since.append(since)
        steps = len(EVIDENCE_STEPS)
        if progress is not None:
            progress(0, steps, EVIDENCE_STEPS[0])
        for event in self.evidence_audit:
            if audit_progress is not None:
                audit_progress(event)
            await asyncio.sleep(0)
        if self.evidence_gate is not None:
            await self.evidence_gate.wait()
        pack = EvidencePack(self.tenant, NOW, since, (), None, None, None, (), (), (), (), (),
                            ("No restore was sent in this window: there is no recovery to measure.",))
        if progress is not None:
            progress(1, steps, EVIDENCE_STEPS[1])
        paths = await asyncio.to_thread(write_pack, pack, folder)
        if progress is not None:
            progress(2, steps, EVIDENCE_STEPS[2])
        return paths

    def alert_view(self, alert_id: str, /) -> AlertView:
        view = self.alert_views.get(alert_id)
        if view is None:
            raise AlertNotShownError(f"No alert {alert_id} is in this tenant's cache.")
        return view

    def history(self) -> list[HistoryEntry]:
        return list(self.log)

    def record(self, action: str, /, *, detail: str | None = None, outcome: str = "ok") -> None:
        self._log(action, detail or "", outcome)

    def log_export(self, what: str, target: str, /, *, count: int, fmt: str,
                   report: CachedReportView | None = None, outcome: str = "ok") -> None:
        self._log("export", f"{what} as {fmt} to {target} ({count} rows)", outcome,
                  job_id=report.id if report is not None else None)

    def iter_changes(self, report_id: str, /) -> Iterator[Change]:
        yield from list(self.tenant_changes)

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
