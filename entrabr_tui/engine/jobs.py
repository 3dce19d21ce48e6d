"""What the job slot works with: requests, the local queue's entries, and the slot's state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from entrabr_tui.core.model import FilteringCriteria, Job, JobKind, RecoveryStatus
from entrabr_tui.engine.events import kind_label
from entrabr_tui.engine.scopes import describe_scope


class SlotMode(StrEnum):
    """What to do when another job (not started by entrabr) holds the service's job slot."""

    WAIT = "wait"
    STOP = "stop"


@dataclass(frozen=True, slots=True)
class JobRequest:
    """A job to start: kind, backup and scope (plus restore batch bookkeeping for the journal)."""

    kind: JobKind
    snapshot_id: str
    scope: FilteringCriteria | None = None
    report_id: int | None = None  # the cached report a restore was planned from
    run_id: str | None = None  # the restore a batch belongs to
    batch: int | None = None  # 1-based batch number of a restore
    batch_count: int | None = None
    changes_hint: int | None = None  # object+link changes expected (for the duration estimate)

    @property
    def label(self) -> str:
        return f"{kind_label(self.kind)} of {describe_scope(self.scope)}"

    @property
    def journal_label(self) -> str:
        batch = f"batch {self.batch} of {self.batch_count}: " if self.batch and self.batch_count else ""
        return f"{batch}{self.label}"


def placeholder_job(request: JobRequest) -> Job:
    """A stand-in job for messages when the service reports a conflict but lists no running job."""
    return Job(kind=request.kind, id="(unlisted)", status=RecoveryStatus.UNKNOWN_FUTURE_VALUE,
               status_raw="unknown")


@dataclass(slots=True)
class QueuedJob:
    """A request waiting in the local queue for the job slot."""

    number: int
    request: JobRequest
    queued_at: datetime
    cancelled: bool = False


@dataclass(slots=True)
class ActiveJob:
    """The job this runner is running now."""

    request: JobRequest
    job: Job | None = None
    cancel_requested: bool = False
    expected: float | None = None


@dataclass(frozen=True, slots=True)
class SlotState:
    """Who holds the tenant's job slot, as last seen, and what waits in the local queue."""

    holder: Job | None  # the service's running job (from the last ``/jobs`` listing)
    holder_is_ours: bool
    current: Job | None  # the job this process runs
    pending: tuple[QueuedJob, ...] = field(default_factory=tuple)

    @property
    def free(self) -> bool:
        return self.holder is None and self.current is None
