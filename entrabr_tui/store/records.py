"""Plain records returned by the cache (what the cache knows beyond the service's own objects)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from entrabr_tui.core.completeness import Completeness
from entrabr_tui.core.model import (
    FilteringCriteria,
    Job,
    JobKind,
    RecoveryAction,
    RecoveryStatus,
    ResourceType,
    SyncStatus,
)

#: Retention assumed until the snapshot list says otherwise (the service documents 5 and 7 days).
DEFAULT_RETENTION = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class TenantRecord:
    """The tenant a cache file belongs to."""

    id: str
    display_name: str | None
    graph_url: str | None
    first_seen: datetime
    last_seen: datetime
    retention: timedelta | None
    """Backup retention derived from snapshot lists seen so far (``None``: no evidence yet)."""


@dataclass(frozen=True, slots=True)
class SnapshotRecord:
    """A backup as first seen by entrabr, with its expected expiry; expired ones stay listed."""

    id: str
    created: datetime
    first_seen: datetime
    last_seen: datetime
    expected_expiry: datetime
    expired: bool
    total_changed_objects: int | None = None
    report_count: int = 0

    def expires_in(self, now: datetime) -> timedelta:
        return self.expected_expiry - now


@dataclass(frozen=True, slots=True)
class JobRecord:
    """A job as the service last reported it, plus local flags (``archived`` once the service drops it)."""

    job: Job
    snapshot_id: str | None
    scope_key: str
    first_seen: datetime
    last_seen: datetime
    archived: bool
    archived_at: datetime | None
    started_here: bool
    raw: dict[str, Any] | None = None

    @property
    def id(self) -> str:
        return self.job.id

    @property
    def kind(self) -> JobKind:
        return self.job.kind

    @property
    def status(self) -> RecoveryStatus:
        return self.job.status


@dataclass(frozen=True, slots=True)
class JobReconcileResult:
    """What changed when the job list was compared with the service's."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    archived: list[str] = field(default_factory=list)
    unarchived: list[str] = field(default_factory=list)


class ReportKind(StrEnum):
    """A downloaded change list: ``getChanges`` of a preview job or ``getFailedChanges`` of a recovery job."""

    CHANGES = "changes"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Report:
    """A change list downloaded (or being downloaded) into the cache, and its resumable download state."""

    id: int
    kind: ReportKind
    job_id: str
    snapshot_id: str | None
    scope: FilteringCriteria | None
    scope_key: str
    created: datetime
    source_url: str
    next_link: str | None
    """The next URL to fetch; ``None`` once the download is complete."""
    pages: int
    item_count: int
    """Change rows stored: one per change object received (unreadable ones included)."""
    received_items: int
    duplicate_items: int
    """Rows removed as repeated ids by older versions (always 0 now: every change object is kept)."""
    unreadable_items: int
    """Change objects that could not be read; each has a row with its reason and its raw bytes."""
    total_expected: int | None
    """The number of change objects the job announced (``totalChangedObjectsCalculated``)."""
    complete: bool
    """Proven complete: see :attr:`completeness`."""
    completed_at: datetime | None
    indexed: bool
    """The lookup indexes are built (once the last page is in)."""
    search_rowid: int
    search_ready: bool
    """The substring index covers every row (otherwise the rest is scanned)."""
    archived: bool
    """The service no longer lists the job; the cached data stays browsable."""
    job_status: str | None
    reached_end: bool = False
    """A page without a next link arrived: the walk ended (whether or not everything arrived)."""
    stated_count: int | None = None
    """``@odata.count`` the service sent with the pages, if any (it wins over ``total_expected``)."""
    completeness: Completeness = Completeness.UNFINISHED
    """The count's verdict stored with the last page: ``complete`` when the end was reached and exactly the
    expected number of change objects arrived (a failed-changes list without a stated count is
    ``unverified``, and counts as complete: the service announces no number for it). :attr:`complete`
    also needs every change object to be readable."""

    @property
    def expected(self) -> int | None:
        """The number of change objects a full download holds, when the service said (``None``: unknown)."""
        if self.stated_count is not None:
            return self.stated_count
        return self.total_expected if self.kind is ReportKind.CHANGES else None

    @property
    def ended(self) -> bool:
        """The download walked to a page without a next link (see :attr:`complete` for whether that was
        everything); an ended, incomplete report is downloaded again from its first page."""
        return self.reached_end

    @property
    def needs_finalize(self) -> bool:
        """Ended, but its lookup or substring indexes are not built yet (e.g. the run was interrupted)."""
        return self.reached_end and not (self.indexed and self.search_ready)

    @property
    def progress(self) -> float | None:
        if self.complete:
            return 1.0
        if not self.total_expected:
            return None
        return min(self.received_items / self.total_expected, 0.999)

    @property
    def state_text(self) -> str:
        """``complete``, ``downloading: 1,998 of 5,005`` or ``incomplete: 1,998 of 5,005 (…)`` for people."""
        expected = self.expected
        of = f" of {expected:,}" if expected is not None else ""
        unreadable = f", {self.unreadable_items:,} unreadable" if self.unreadable_items else ""
        if self.complete:
            return f"complete: {self.item_count:,} changes{unreadable}"
        if not self.reached_end:
            return f"incomplete: {self.item_count:,}{of} downloaded so far{unreadable}"
        if self.completeness is Completeness.COMPLETE and self.unreadable_items:
            readable = self.item_count - self.unreadable_items
            return (f"incomplete: {readable:,}{of} readable ({self.unreadable_items:,} change object(s) "
                    "could not be read)")
        why = {
            Completeness.SHORT: "the service ended the list early",
            Completeness.OVER: "more arrived than the service announced",
            Completeness.UNVERIFIED: "the service announced no total to check against",
        }.get(self.completeness, "not proven complete")
        return f"incomplete: {self.item_count:,}{of}{unreadable} ({why})"


@dataclass(frozen=True, slots=True)
class PageResult:
    """Outcome of ingesting one page."""

    report: Report
    inserted: int
    malformed: int
    warnings: list[str] = field(default_factory=list)


class _ParsedKinds:
    """``entity_type`` and ``action`` parsed from a record's raw strings (unknown values never raise)."""

    __slots__ = ()
    entity_type_raw: str
    action_raw: str

    @property
    def entity_type(self) -> ResourceType:
        parsed: ResourceType = ResourceType.parse(self.entity_type_raw)
        return parsed

    @property
    def action(self) -> RecoveryAction:
        parsed: RecoveryAction = RecoveryAction.parse(self.action_raw)
        return parsed


@dataclass(frozen=True, slots=True)
class NodeCount(_ParsedKinds):
    """Number of changes of one type and action (a node of the change tree)."""

    entity_type_raw: str
    action_raw: str
    count: int


#: Keyset position: ``(entity_type, action, display_name, object_id, position)``; with type and action
#: fixed, ``(display_name, object_id, position)`` is enough.
PageKey = tuple[str, str, str, str, int]


@dataclass(frozen=True, slots=True)
class ChangeRow(_ParsedKinds):
    """One line of the change list: what a tree or table shows without decoding the raw change."""

    object_id: str
    entity_type_raw: str
    action_raw: str
    display_name: str
    principal_name: str | None
    sync: SyncStatus
    recoverable: bool | None
    """Whether a restore would write anything for it (:mod:`entrabr_tui.core.recoverability`;
    ``None``: unknown)."""
    marked: bool
    failure_message: str | None = None
    position: int = 0
    """The change's place in the report (1 = the first change object the service sent): rows are keyed by
    it, since one object may have several changes."""
    unreadable: str | None = None
    """Why the change object could not be read (``None`` when it could); its raw object is kept."""

    @property
    def on_premises_synced(self) -> bool:
        """The object is known to be synced from on-premises."""
        return self.sync is SyncStatus.SYNCED

    @property
    def key(self) -> PageKey:
        """Pass as ``after=`` to get the next page."""
        return (self.entity_type_raw, self.action_raw, self.display_name, self.object_id, self.position)


@dataclass(frozen=True, slots=True)
class MarkResult:
    """Outcome of marking objects for restore."""

    marked: int
    already: int
    unknown: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """An object marked for restore in one report."""

    report_id: int
    object_id: str
    entity_type_raw: str
    action_raw: str
    marked_at: datetime


class IntentStatus(StrEnum):
    """Life of a journal entry (stored as text; other values are kept as given in ``status_raw``)."""

    PENDING = "pending"
    """Written before the POST; the job id is not known yet (the POST may or may not have arrived)."""
    SUBMITTED = "submitted"
    """The job id is known; its results are not collected yet."""
    REJECTED = "rejected"
    """The service certainly created no job."""
    UNCONFIRMED = "unconfirmed"
    """Reconciled without finding a job, but the job list cannot prove the request never arrived (it is
    older than the service keeps jobs): never resubmitted automatically."""
    NOT_RECEIVED = "not-received"
    """The service's complete job list proves it never received the request: it may be sent again."""
    DONE = "done"
    DISCARDED = "discarded"
    UNKNOWN = "unknown"

    @property
    def is_open(self) -> bool:
        return self in (IntentStatus.PENDING, IntentStatus.SUBMITTED, IntentStatus.UNCONFIRMED)


@dataclass(frozen=True, slots=True)
class JournalIntent:
    """A job the app meant to start, written before the POST (restore batches and difference reports)."""

    id: int
    tenant_id: str
    kind: JobKind
    snapshot_id: str
    target_state: datetime | None
    scope: FilteringCriteria | None
    scope_key: str
    report_id: int | None
    run_id: str | None
    batch: int | None
    batch_count: int | None
    label: str | None
    created: datetime
    status: IntentStatus
    status_raw: str
    job_id: str | None
    job_set_at: datetime | None
    updated: datetime
    message: str | None
