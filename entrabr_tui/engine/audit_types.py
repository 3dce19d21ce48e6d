"""The audit log's errors, statuses and summaries as the UI and the command line see them.

They import no Graph SDK (msgraph, kiota, azure): the app's screens use them, and the app paints its first
screen before the SDK is loaded (the session's worker loads it). The service that produces them is
:class:`~entrabr_tui.engine.audit.AuditService`; pulls are run by
:class:`~entrabr_tui.engine.audit_pull.AuditPuller`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from entrabr_tui.core.audit_blindspots import BlindSpotKind
from entrabr_tui.core.audit_model import Actor
from entrabr_tui.core.audit_triage import TriageNote
from entrabr_tui.engine.errors import EngineError
from entrabr_tui.store.audit_join_store import ChangeGroup, GroupMarkResult
from entrabr_tui.store.audit_store import AuditPullRecord, AuditState

if TYPE_CHECKING:  # (loads the Graph SDK)
    from entrabr_tui.graph.resilience import RetryEvent

__all__ = ["ANNOUNCE_WAIT", "ActorSummary", "AuditNotReadyError", "AuditProgress", "AuditProgressCallback",
           "AuditPullResult", "AuditStatus", "AuditUnavailableError", "BlindSpot", "ChangeGroup", "ChangeWho",
           "ClusterSummary", "GroupMarkResult", "OperationSummary", "TenantBusyError"]

class AuditUnavailableError(EngineError):
    """The directory audit log cannot be read with this sign-in; ``message`` says what is missing."""


class TenantBusyError(EngineError):
    """Another entrabr process holds the tenant's cache for writing (and waiting was not wanted)."""


class AuditNotReadyError(EngineError):
    """The cache does not hold the audit log of a report's window yet (pull it first)."""


@dataclass(frozen=True, slots=True)
class AuditStatus:
    """Whether the audit features can be used, and what the cache holds.

    ``available``: True (the log was read), False (refused: ``message`` says what is missing), None (not
    tried yet, or offline with nothing cached).
    """

    available: bool | None
    message: str | None
    covered_from: datetime | None
    covered_until: datetime | None
    watermark: datetime | None
    records: int
    last_pull: datetime | None

    @property
    def text(self) -> str:
        if self.available is False:
            return f"audit log unavailable: {self.message}"
        if self.covered_from is None:
            return "audit log not read yet"
        return (f"audit log {self.records:,} records, {self.covered_from:%Y-%m-%d %H:%M}Z – "
                f"{(self.covered_until or self.covered_from):%Y-%m-%d %H:%M}Z")


@dataclass(frozen=True, slots=True)
class ActorSummary:
    """An actor of a report: who, how many changes (as primary actor), operations, time span."""

    key: str  # "" for changes no audit record names
    kind: str  # user, app, unknown
    label: str  # "alice@contoso.com", "HR Onboarding (app)", "no audit record"
    name: str
    display_name: str
    via: str
    app_id: str
    service_principal_id: str
    changes: int
    operations: int
    first: datetime | None
    last: datetime | None


@dataclass(frozen=True, slots=True)
class OperationSummary:
    """One operation (correlation id) of an actor: its changes in the report, time span, and the activity
    names of all its records with their counts."""

    actor_key: str
    correlation_id: str
    changes: int
    first: datetime | None
    last: datetime | None
    activities: tuple[tuple[str, int], ...]
    tag: TriageNote | None = None


@dataclass(frozen=True, slots=True)
class ClusterSummary:
    """A cluster of alike changes and its triage tag."""

    id: str
    entity_type: str
    action: str
    label: str
    changes: int
    tag: TriageNote | None = None


@dataclass(frozen=True, slots=True)
class BlindSpot:
    """An object the report cannot show, or a restore will not fix, with what to do instead."""

    kind: BlindSpotKind
    object_id: str
    object_type: str
    display_name: str
    events: int
    first: datetime
    last: datetime
    activity: str
    actor: Actor | None
    correlation_id: str
    record_id: str

    @property
    def heading(self) -> str:
        return self.kind.heading

    @property
    def advice(self) -> str:
        return self.kind.advice


@dataclass(frozen=True, slots=True)
class ChangeWho:
    """Who made one change, as the report's join says (for lists and exports)."""

    actor: Actor | None  # None: no audit record names the object
    operation: str | None
    cluster_id: str
    verdict: str
    reason: str | None
    at: datetime | None


@dataclass(frozen=True, slots=True)
class AuditProgress:
    """One update while the audit log is pulled (delivered to a plain callback; must not block).

    ``phase``: ``reading`` (a page arrived), ``waiting`` (for the request budget or a retry; ``wait`` says
    how long and ``retry`` why; or, ``tenant_held``, for another entrabr process that holds the tenant for
    writing, which ``text`` names: said at every look at its lock, until it lets go), ``joining`` (the
    report is being joined), ``done``.
    """

    phase: str
    text: str
    kind: str = ""
    since: datetime | None = None
    until: datetime | None = None
    slice: int = 0
    slice_since: datetime | None = None
    slice_until: datetime | None = None
    pages: int = 0
    requests: int = 0
    received: int = 0
    stored: int = 0
    wait: float | None = None
    retry: RetryEvent | None = None
    tenant_held: bool = False

    @property
    def announced(self) -> bool:
        """Whether a person is told of it: the wait for another entrabr process that holds the tenant, a wait
        of :data:`ANNOUNCE_WAIT` or more for the request budget or a retry, the join and the end (not the
        pages read, nor the budget's many short waits)."""
        long_wait = self.phase == "waiting" and (self.wait or 0) >= ANNOUNCE_WAIT
        return self.tenant_held or long_wait or self.phase in ("joining", "done")

    def told(self, tenant: str) -> str:
        """The words a person is told, the same on every surface: a wait for another entrabr process names
        the tenant it holds (``Tenant contoso: another entrabr (restore, pid 4242 on build-7, since 10:32Z)
        is writing to this tenant's cache; waiting…``); the rest is :attr:`text` as it is."""
        return f"Tenant {tenant}: {self.text}" if self.tenant_held else self.text


#: Waits for the request budget or a retry shorter than this are not announced (the budget makes many).
ANNOUNCE_WAIT = 1.0

AuditProgressCallback = Callable[[AuditProgress], object]


@dataclass(frozen=True, slots=True)
class AuditPullResult:
    """What a pull did: the pulls run (resumed, backfill, refresh), records received and newly stored,
    requests sent, seconds waited for the budget, and the cache's audit state after it."""

    pulls: tuple[AuditPullRecord, ...]
    state: AuditState
    received: int = 0
    stored: int = 0
    requests: int = 0
    waited: float = 0.0
    joined: tuple[str, ...] = field(default_factory=tuple)
