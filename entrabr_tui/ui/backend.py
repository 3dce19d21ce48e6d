"""The narrow interface the terminal UI needs from a tenant session.

The UI talks to exactly one object per tenant: something that satisfies :class:`Backend`. The engine's
``Session`` implements it; tests use an in-memory double. Records the UI only reads are declared as read-only
structural protocols (the engine's ``ReportInfo``, ``SnapshotEntry``, the store's ``NodeCount``,
``ChangeRow``, ``HistoryEntry`` … match them); the plan and the restore result are the engine's own
``SessionPlan`` and ``RestoreResult``, because the UI hands them back to the session.

Parameters are positional-only, so implementations may name them as they like.

Threading contract:

* ``async`` methods do network work; the UI awaits them inside async workers on its event loop.
* plain methods query the local cache (SQLite); the UI calls them from thread workers only, never from
  the event loop, so they may block.
* progress callbacks are called on the event loop; the UI only posts messages from them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from entrabr_tui.core.audit_blindspots import PurgeEntry
from entrabr_tui.core.audit_triage import TagTarget, TriageNote, TriageTag
from entrabr_tui.core.capabilities import Capabilities
from entrabr_tui.core.compare import Comparison, MovedObject, ObjectDelta
from entrabr_tui.core.model import Change, FilteringCriteria, Job, RecoveryStatus, Snapshot, SyncStatus
from entrabr_tui.core.recoverability import Recoverable
from entrabr_tui.core.verification import Verification
from entrabr_tui.engine.alert_view import AlertView
from entrabr_tui.engine.attribution import ChangeAttribution
from entrabr_tui.engine.audit_types import (
    ActorSummary,
    AuditProgress,
    AuditPullResult,
    AuditStatus,
    BlindSpot,
    ChangeGroup,
    ClusterSummary,
    GroupMarkResult,
    OperationSummary,
)
from entrabr_tui.engine.events import JobProgress, RestoreProgress
from entrabr_tui.engine.jobs import SlotState

if TYPE_CHECKING:  # (these load the Graph SDK: the app paints before it is loaded)
    from entrabr_tui.engine.plans import SessionPlan
    from entrabr_tui.engine.restore import RestoreResult
    from entrabr_tui.engine.restore_checks import LockoutCheck, Recheck
    from entrabr_tui.engine.sync_status import SyncCheck


class CachedReportView(Protocol):
    """A difference report known for a snapshot, and how much of it is in the local cache."""

    @property
    def id(self) -> str:
        """The preview job ID; it names the report in every cache query."""
        ...

    @property
    def snapshot_id(self) -> str | None: ...

    @property
    def scope(self) -> FilteringCriteria | None: ...

    @property
    def status(self) -> RecoveryStatus: ...

    @property
    def downloaded(self) -> int:
        """Changes already in the cache."""
        ...

    @property
    def total(self) -> int | None:
        """Changes the service calculated (``None`` until known)."""
        ...

    @property
    def complete(self) -> bool:
        """Proven complete: the last page arrived and the count equals the total the service stated."""
        ...

    @property
    def state_text(self) -> str:
        """``complete: 5,005 changes`` or ``incomplete: 1,998 of 5,005 (…)``, for the Changes title."""
        ...

    @property
    def unreadable(self) -> int:
        """Change objects that could not be read (kept and listed under the ``(unreadable)`` action)."""
        ...


class SnapshotEntry(Protocol):
    """One row of the Backups pane."""

    @property
    def snapshot(self) -> Snapshot: ...

    @property
    def expires(self) -> datetime | None:
        """When the service is expected to drop this backup (from the observed retention)."""
        ...

    @property
    def expired(self) -> bool:
        """The service no longer lists it; only its cached reports remain."""
        ...

    @property
    def report(self) -> CachedReportView | None:
        """The best cached report for this snapshot (complete and unscoped first), if any."""
        ...


class TypeActionCount(Protocol):
    """Number of cached changes of one type and action."""

    @property
    def entity_type_raw(self) -> str: ...

    @property
    def action_raw(self) -> str: ...

    @property
    def count(self) -> int: ...


class ChangeSummary(Protocol):
    """What a tree row needs about one changed object."""

    @property
    def object_id(self) -> str: ...

    @property
    def entity_type_raw(self) -> str: ...

    @property
    def action_raw(self) -> str: ...

    @property
    def display_name(self) -> str: ...

    @property
    def principal_name(self) -> str | None: ...

    @property
    def sync(self) -> SyncStatus:
        """Whether it is synced from on-premises: synced, cloud, or unknown (not looked up, or not found)."""
        ...

    @property
    def recoverable(self) -> bool | None:
        """Whether a restore would write anything for it (``None``: unknown, its sync status is)."""
        ...

    @property
    def position(self) -> int:
        """The change's place in the report: an object may have several changes, each its own row."""
        ...

    @property
    def unreadable(self) -> str | None:
        """Why the change object could not be read (``None`` when it could)."""
        ...


class QueueEntry(Protocol):
    """One marked object in the restore queue."""

    @property
    def report_id(self) -> str:
        """Preview job ID of the report it was marked in."""
        ...

    @property
    def id(self) -> str: ...

    @property
    def entity_type(self) -> str: ...

    @property
    def action(self) -> str: ...

    @property
    def display_name(self) -> str: ...


class RestoreMarkView(Protocol):
    """What the last restore that covered an object did to it (from the session history)."""

    @property
    def state(self) -> str:
        """``restored``, ``failed``, ``cancelled`` or ``running``."""
        ...

    @property
    def at(self) -> datetime:
        """When that restore was submitted."""
        ...

    @property
    def job_id(self) -> str | None: ...


class LogEntry(Protocol):
    """One line of the local session log (every action taken in the app)."""

    @property
    def at(self) -> datetime: ...

    @property
    def identity(self) -> str | None: ...

    @property
    def action(self) -> str: ...

    @property
    def detail(self) -> str | None: ...

    @property
    def outcome(self) -> str | None: ...

    @property
    def job_id(self) -> str | None: ...


class InterruptedRestoreView(Protocol):
    """A restore that stopped before all its batches ran (a crash, a kill, a service error)."""

    @property
    def text(self) -> str:
        """``An interrupted restore: 1 of 3 batches done``."""
        ...

    @property
    def created(self) -> datetime: ...

    @property
    def batch_count(self) -> int: ...

    @property
    def done(self) -> int: ...

    def lines(self) -> list[str]:
        """One line per batch: what it restores and where it stands (done, sent, unknown, to do)."""
        ...


ReportProgressCallback = Callable[[JobProgress], object]
RestoreProgressCallback = Callable[[RestoreProgress], object]
AuditProgressCallback = Callable[[AuditProgress], object]


@runtime_checkable
class Backend(Protocol):
    """Everything the UI asks of a tenant session."""

    # -- identity --------------------------------------------------------------------------------------------
    @property
    def tenant(self) -> str:
        """Tenant display name or ID for the header."""
        ...

    @property
    def capabilities(self) -> Capabilities:
        """Who is signed in and what they may do (``identity.display``, ``role``, reasons)."""
        ...

    @property
    def offline(self) -> bool:
        """Serving from the cache only (no network)."""
        ...

    @property
    def service_in_process(self) -> bool:
        """The service runs inside this process (the demo's emulator): it stops with the app, jobs too."""
        ...

    # -- snapshots, reports and jobs (network) ------------------------------------------------------------
    async def snapshots(self) -> Sequence[SnapshotEntry]:
        """Backups newest first, each with its best cached report."""
        ...

    async def ensure_report(
        self, snapshot_id: str, scope: FilteringCriteria | None, progress: ReportProgressCallback | None, /,
        *, fresh: bool = False,
    ) -> CachedReportView:
        """Reuse a successful report for this snapshot and scope or create one (always, when ``fresh``);
        download it into the cache."""
        ...

    async def compare_backups(
        self, snapshot_a: str, snapshot_b: str, progress: ReportProgressCallback | None, /, *,
        fresh: bool = False,
    ) -> Comparison:
        """What differs between backups A and B, from a report of each against the live tenant (see
        :mod:`entrabr_tui.core.compare`): each backup's complete cached report, else a new one (downloaded
        with ``progress``, as :meth:`ensure_report`). It stays open for :meth:`compare_page`."""
        ...

    async def cancel(self) -> object:
        """Cancel the job this session is running (report or restore)."""
        ...

    async def jobs(self) -> Sequence[Job]:
        """Server job history, both kinds, newest first (also refreshes what ``slot_state`` knows)."""
        ...

    def slot_state(self) -> SlotState | None:
        """Who holds the tenant's one job slot, as last seen (``None`` offline)."""
        ...

    def tenant_holder(self) -> str | None:
        """``another entrabr (report, pid 1234 on host, since 10:32Z)`` while another process holds this
        tenant for writing (blocking, cheap); ``None`` otherwise."""
        ...

    # -- cache queries (blocking; call from thread workers) ----------------------------------------------
    def counts(
        self, report_id: str, /, *, text: str | None = None, recoverable: Recoverable | None = None,
        marked: bool | None = None, ids: Sequence[str] | None = None,
    ) -> Sequence[TypeActionCount]:
        """Cached change counts by type and action, optionally of the matches of a filter only (``marked``:
        only the queued ones, or only the others; ``ids``: only the changes of these objects)."""
        ...

    def page(
        self,
        report_id: str,
        entity_type: str | None,
        action: str | None,
        after: tuple[str, str, int] | None,
        limit: int,
        /,
        *,
        text: str | None = None,
        recoverable: Recoverable | None = None,
        ids: Sequence[str] | None = None,
    ) -> Sequence[ChangeSummary]:
        """Keyset page of one type/action ordered by name, ID and position, after ``(name, id, position)``
        of the last row; ``text`` keeps changes whose name or UPN contains it or whose ID starts with it;
        ``ids`` keeps the changes of these objects."""
        ...

    def compare_page(self, reports: tuple[str, str], entity_type: str | None, kind: str | None, offset: int,
                     limit: int, /) -> Sequence[ObjectDelta]:
        """A page of the open comparison's objects of one type and kind (``DeltaKind`` value); ``reports`` are
        its A and B report ids (a comparison no longer open is refused)."""
        ...

    def compare_moved(self, reports: tuple[str, str], offset: int, limit: int, /) -> Sequence[MovedObject]:
        """A page of the objects the open comparison left out: the live tenant moved between its reports."""
        ...

    def change(self, report_id: str, change_id: str, position: int | None = None, /) -> Change | None:
        """One full change (both property sets): the one at ``position`` (a row's place in the report),
        else the object's first; ``None`` when it is not cached."""
        ...

    def changes(self, report_id: str, change_ids: Sequence[str], /) -> Sequence[Change]:
        """Several full changes by object id, in the order given; ids not cached are left out."""
        ...

    def display_names(self, ids: Sequence[str], /) -> Mapping[str, str]:
        """Names of cached objects by ID (for member rows); unknown IDs are left out."""
        ...

    def failed_changes(self, job_id: str, /) -> Sequence[Change]:
        """The failed changes of a restore job kept in the cache (each with ``failure_message``)."""
        ...

    # -- restore queue (blocking) ----------------------------------------------------------------------------
    def marked(self, report_id: str, /) -> set[str]:
        """IDs queued from this report."""
        ...

    def mark(self, report_id: str, ids: Sequence[str], /) -> int:
        """Queue these objects; returns the queue size."""
        ...

    def unmark(self, report_id: str, ids: Sequence[str], /) -> int:
        """Remove these objects from the queue; returns the queue size."""
        ...

    def unmark_all(self) -> object:
        """Empty the queue of every report (one bulk change: ``undo_marks`` queues everything again)."""
        ...

    def mark_where(
        self, report_id: str, /, *, nodes: Sequence[tuple[str, str]] | None = None, text: str | None = None,
        recoverable: Recoverable | None = None, ids: Sequence[str] | None = None,
    ) -> int:
        """Queue every change of the report matching the filter (``nodes``: of these (type, action) pairs
        only), loaded or not; returns how many were newly queued. One bulk change (see ``undo_marks``)."""
        ...

    def unmark_where(
        self, report_id: str, /, *, nodes: Sequence[tuple[str, str]] | None = None, text: str | None = None,
        recoverable: Recoverable | None = None, ids: Sequence[str] | None = None,
    ) -> int:
        """Take every change of the report matching the filter out of the queue; returns how many left it.
        One bulk change (see ``undo_marks``)."""
        ...

    def undoable_marks(self) -> tuple[int, int]:
        """What ``undo_marks`` would do: ``(unmark, mark again)``; ``(0, 0)``: nothing to undo."""
        ...

    def undo_marks(self) -> tuple[int, int]:
        """Revert the last bulk change of the queue; returns ``(unmarked, marked again)``."""
        ...

    def move_queue(self, source: str, target: str, /) -> tuple[int, int]:
        """Carry the queue of report ``source`` over to ``target``, a newer report of the same backup: objects
        still in it stay queued, the others leave the queue. Returns ``(kept, dropped)``; one bulk change."""
        ...

    def queue_signature(self) -> object:
        """A cheap value that changes whenever the queue changes, here or in another process (the CLI)."""
        ...

    def restore_marks(self) -> Mapping[str, RestoreMarkView]:
        """What recent restores did to each object they covered, keyed by lower-case object ID."""
        ...

    def queue(self) -> Sequence[QueueEntry]:
        """Every queued object, grouped by type then action then name."""
        ...

    async def check_sync_status(self, report_id: str | None = None, /, *, queued: bool = False) -> SyncCheck:
        """Ask the directory which users and groups are synced from on-premises where that is still unknown
        and was never looked up: the queued ones (``queued``, before a plan), else every one of the report
        ``report_id`` (a cached report opened); a refusal leaves them unknown and the plan warns."""
        ...

    def plan(self, *, record: bool = True) -> SessionPlan:
        """Plan a restore of the queue (what it restores, reverts, soft-deletes, and excludes, and why; every
        option compared, see :class:`~entrabr_tui.engine.plans.SessionPlan`); ``record=False`` for a quick
        preview that is not written to the session history (shown, never restored from)."""
        ...

    def retry_plan(self, result: RestoreResult, plan: SessionPlan, /) -> SessionPlan:
        """A plan for the failures of ``result`` that can still be recovered."""
        ...

    # -- who changed it: the directory audit log ---------------------------------------------------------
    # The audit records (status, actors, operations, clusters, blind spots, attribution) are the engine's
    # frozen dataclasses; ``ChangeGroup`` names a group the UI hands back (actor, operation, cluster, time
    # window, type/action, text filter). Every query but ``purge_clock`` raises the engine's
    # ``AuditUnavailableError`` (the sign-in may not read the log: its message says what is missing) or
    # ``AuditNotReadyError`` (the log of the report's window was not read yet: ``pull_audit`` first).
    async def pull_audit(self, report_id: str | None, progress: AuditProgressCallback | None, /
                         ) -> AuditPullResult:
        """Read the audit log of the report's backup window into the cache (resuming, then only what is
        missing) and join the report with it (network)."""
        ...

    def audit_status(self) -> AuditStatus:
        """Whether the audit features can be used (``available``; ``message`` says what is missing) and what
        the cache holds of the log (for the status line)."""
        ...

    def attribution(self, report_id: str, object_id: str, position: int | None = None, /
                    ) -> ChangeAttribution | None:
        """Who made the object's change at ``position`` (else its first) and each of its properties
        (``text``: "by alice@… via HR-Sync at …")."""
        ...

    def audit_actors(self, report_id: str, /) -> Sequence[ActorSummary]:
        """The report's actors ranked by changes (``key`` "" groups the changes no record names)."""
        ...

    def audit_operations(self, report_id: str, actor_key: str, after: tuple[int, str] | None, limit: int, /
                         ) -> Sequence[OperationSummary]:
        """An actor's operations, most changes first (keyset ``after`` = ``(changes, correlation id)``)."""
        ...

    def audit_clusters(self, report_id: str, after: tuple[int, str] | None, limit: int, /
                       ) -> Sequence[ClusterSummary]:
        """Clusters, largest first (keyset ``after`` = ``(changes, cluster id)``), with their tags."""
        ...

    def group_count(self, report_id: str, group: ChangeGroup, /, *, marked: bool | None = None,
                    kept: bool | None = None) -> int:
        """Changes in a group across the whole report (only marked or unmarked ones, only the ones a ``keep``
        tag keeps or only the others, when asked)."""
        ...

    def group_has(self, report_id: str, group: ChangeGroup, /, *, marked: bool | None = None,
                  kept: bool | None = None) -> bool:
        """Whether a group holds any change (narrowed as ``group_count`` narrows); cheap on a big group that
        has one (for the footer's "Mark group" or "Unmark group")."""
        ...

    def group_counts(self, report_id: str, by: str, group: ChangeGroup, /) -> Sequence[tuple[str, int]]:
        """Sub-group sizes of a group by ``actor``, ``operation`` or ``cluster`` (with a text filter on)."""
        ...

    def group_page(self, report_id: str, group: ChangeGroup, after: tuple[str, str, int] | None, limit: int, /
                   ) -> Sequence[ChangeSummary]:
        """Keyset page of a group's changes by name and position, after ``(name, id, position)`` of the last
        row."""
        ...

    def mark_group(self, report_id: str, group: ChangeGroup, /) -> GroupMarkResult:
        """Queue a whole group, set-based (kept changes skipped and counted). One bulk change of the queue:
        ``undo_marks`` takes out exactly what it queued."""
        ...

    def unmark_group(self, report_id: str, group: ChangeGroup, /) -> int:
        """Take a whole group out of the queue; returns how many objects left it. One bulk change of the
        queue: ``undo_marks`` queues them again."""
        ...

    def blind_spots(self, report_id: str, /) -> Sequence[BlindSpot]:
        """The "Not in this report" lens: what the report cannot show or a restore will not fix, each with
        ``advice``."""
        ...

    def blind_spot_count(self, report_id: str, /) -> int:
        """The lens's count, for the status line."""
        ...

    def purge_clock(self, report_id: str, /) -> Sequence[PurgeEntry]:
        """Deleted objects and when they are purged for good, most urgent first (no audit log needed)."""
        ...

    def triage_tag(self, target: TagTarget, key: str, /) -> TriageNote | None:
        """The triage tag of a cluster or an operation."""
        ...

    def set_triage_tag(self, target: TagTarget, key: str, tag: TriageTag | None, note: str = "", /
                       ) -> TriageNote | None:
        """Tag a cluster or an operation revert / keep / investigate (``None`` removes it)."""
        ...

    def queue_dependencies(self, plan: SessionPlan, /) -> int:
        """The one-key fix: queue the deleted objects the plan depends on; returns how many were queued."""
        ...

    # -- the checks around a restore --------------------------------------------------------------------
    async def recheck(self, plan: SessionPlan, progress: ReportProgressCallback | None, /) -> Recheck:
        """Fresh previews of the plan's objects on the same backup, compared with what was reviewed."""
        ...

    def skip_recheck(self, plan: SessionPlan, /) -> Recheck:
        """Record that the recheck was skipped by choice (blocking)."""
        ...

    def settle_recheck(self, plan: SessionPlan, recheck: Recheck, choice: str, /) -> SessionPlan | None:
        """``accept``, ``drop`` (what moved) or ``back`` (``None``); recorded (blocking)."""
        ...

    def break_glass_wanted(self, plan: SessionPlan, /) -> bool:
        """Whether to ask for the break-glass accounts now (the plan touches policies, never asked)."""
        ...

    def set_break_glass(self, users: Sequence[str], groups: Sequence[str], /) -> None:
        """Save the tenant's break-glass accounts and groups (object ids) in the config (blocking)."""
        ...

    async def lockout_check(self, plan: SessionPlan, /) -> LockoutCheck:
        """Would the plan lock out a break-glass identity, or block the signed-in admin?"""
        ...

    def confirm_lockout(self, check: LockoutCheck, typed: Sequence[str], /) -> bool:
        """Whether ``typed`` names every policy that needs it; recorded (blocking)."""
        ...

    async def lockout_after(self, check: LockoutCheck, /) -> LockoutCheck:
        """The lockout check again, once the restore ran."""
        ...

    async def verify_restore(self, plan: SessionPlan, result: RestoreResult,
                             progress: ReportProgressCallback | None, /) -> Verification:
        """Previews of the restored objects after the last batch: expected residue, or drift."""
        ...

    def export_plan(self, plan: SessionPlan, path: Path, /) -> str:
        """Write the plan as a reviewed plan file for a second person; returns its SHA-256 (blocking)."""
        ...

    async def open_plan(self, path: Path, /) -> SessionPlan:
        """Read and check a reviewed plan file (raises ``PlanRefusedError`` saying why it is refused)."""
        ...

    # -- restore (network) --------------------------------------------------------------------------------
    async def restore(self, plan: SessionPlan, progress: RestoreProgressCallback | None, /) -> RestoreResult:
        """Run the plan's recovery jobs one after another."""
        ...

    def interrupted_restore(self) -> InterruptedRestoreView | None:
        """A restore that stopped part-way, to offer on start (blocking); ``None`` when there is none."""
        ...

    async def resume_restore(self, progress: RestoreProgressCallback | None, /) -> RestoreResult:
        """Finish the interrupted restore: follow the batch it was running, send the ones it had not."""
        ...

    def discard_interrupted_restore(self) -> object:
        """Drop the interrupted restore: its remaining batches are never sent (blocking)."""
        ...

    # -- evidence pack (network, then files) -----------------------------------------------------------------
    async def write_evidence(self, folder: Path, since: datetime,
                             progress: Callable[[int, int, str], object] | None,
                             audit_progress: AuditProgressCallback | None, /) -> Sequence[Path]:
        """Write the evidence pack of the recoveries since ``since`` (timeline, RPO/RTO, plans, jobs and a
        SHA-256 manifest) to ``folder``, a new or empty folder; ``progress(step, steps, text)`` hears each
        step, ``audit_progress`` the read of the audit log (waits for the tenant, the request budget). Returns
        the files written; raises the engine's ``EvidenceTargetError`` when the folder cannot take it (not
        empty, cannot be made or written)."""
        ...

    # -- watch alerts (blocking) ----------------------------------------------------------------------------
    def alert_view(self, alert_id: str, /) -> AlertView:
        """An open ``entrabr watch`` alert as the app shows it: its report and the objects, type, action and
        property its rule matched; raises the engine's ``AlertNotShownError`` (its message says why: an
        unknown or resolved alert, an audit-log alert, a report no longer cached)."""
        ...

    # -- history (blocking) ---------------------------------------------------------------------------------
    def history(self) -> Sequence[LogEntry]:
        """The local session log, newest first."""
        ...

    def record(self, action: str, /, *, detail: str | None = None, outcome: str = "ok") -> None:
        """Append an action taken in the app (theme, offline mode, profile switch …) to the session log."""
        ...

    def log_export(self, what: str, target: str, /, *, count: int, fmt: str,
                   report: CachedReportView | None = None, outcome: str = "ok") -> None:
        """Append an export (what, where to, how many rows, which format) to the session log."""
        ...

    # -- exports and the cache (blocking) -------------------------------------------------------------------
    def iter_changes(self, report_id: str, /) -> Iterable[Change]:
        """Every cached change of a report, streamed (iterate in the thread that writes the export)."""
        ...

    def clear_cache_blocker(self) -> str | None:
        """Why the cache cannot be cleared now (a job runs, job outcomes are not collected), or ``None``."""
        ...

    # -- lifecycle ------------------------------------------------------------------------------------------
    @property
    def warnings(self) -> Sequence[str]:
        """Messages from opening the session (a damaged cache set aside, a token cache problem …)."""
        ...

    async def close_and_clear_cache(self) -> object:
        """Close the session and set the tenant's cache aside (returns where it went); refuses, leaving the
        session open, when :meth:`clear_cache_blocker` gives a reason."""
        ...

    async def aclose(self) -> None:
        """Release network clients, the cache and background servers."""
        ...
