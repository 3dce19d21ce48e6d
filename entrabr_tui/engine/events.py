"""Progress events the engine emits while jobs run, wait for the job slot, download, or restore.

One event type per activity, all frozen dataclasses, delivered to a plain callback. Callbacks may be called
from the event loop at any point; they must not block (the UI posts a message, the CLI redraws a line).
A callback that raises never stops a job: the error is logged and the job carries on.
"""

from __future__ import annotations

import inspect
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from entrabr_tui.core.model import Job, JobKind, RecoveryStatus
from entrabr_tui.core.text import failed_summary, format_duration

log = logging.getLogger(__name__)

#: Phases beyond the service's job statuses.
PHASE_QUEUED = "queued"  # waiting in the local queue for the job slot
PHASE_WAITING = "waiting"  # the slot is held by another job; polling it until it ends
PHASE_DOWNLOADING = "downloading"  # fetching a successful report's changes into the cache
PHASE_SYNC_STATUS = "syncStatus"  # asking the directory which users and groups are synced from on-premises
PHASE_DONE = "done"  # finished (report downloaded, or job ended)

_STATUS_TEXT = {
    RecoveryStatus.INITIALIZED: "Accepted by the service, not started yet",
    RecoveryStatus.LOADING_DATA: "Loading the backup data",
    RecoveryStatus.CALCULATING: "Calculating differences",
    RecoveryStatus.RUNNING: "Applying changes",
    RecoveryStatus.SUCCESSFUL: "Finished",
    RecoveryStatus.FAILED: "Failed",
    RecoveryStatus.ABANDONED: "Cancelled",
    RecoveryStatus.UNKNOWN_FUTURE_VALUE: "In progress",
}


def kind_label(kind: JobKind) -> str:
    """``difference report`` or ``restore``."""
    return "difference report" if kind is JobKind.PREVIEW else "restore"


def status_text(job: Job) -> str:
    """What the job is doing, in words (``status_raw`` is shown as-is for values we do not know)."""
    if job.status is RecoveryStatus.UNKNOWN_FUTURE_VALUE and job.status_raw not in ("", "unknownFutureValue"):
        return f"In progress ({job.status_raw})"
    text = _STATUS_TEXT.get(job.status, job.status_raw)
    if job.status is RecoveryStatus.SUCCESSFUL and job.total_failed_changes:
        text = f"Finished; {failed_summary(job.total_failed_changes)}"
    return text


def describe_job(job: Job) -> str:
    """``difference report 1234… (calculating, started 2026-03-21 08:10Z)`` — names a job for messages."""
    started = f", started {job.started:%Y-%m-%d %H:%MZ}" if job.started else ""
    return f"{kind_label(job.kind)} {job.id} ({job.status_raw}{started})"


@dataclass(frozen=True, slots=True)
class RetryWait:
    """A request failed and is tried again at ``until`` (UTC): throttling, a service or network hiccup.

    Carried by the progress events while the wait lasts, so a progress line can count down instead of
    freezing; the next ordinary event (``retry=None``) means the wait is over.
    """

    cause: str  # "throttled", "server error", "network", "unreadable response"
    reason: str  # "HTTP 429", "ReadTimeout" ...
    attempt: int  # the try that failed (1-based)
    max_attempts: int
    delay: float  # seconds, from the moment the wait began
    until: datetime

    def remaining(self, now: datetime) -> float:
        """Seconds left to wait (never negative)."""
        return max(0.0, (self.until - now).total_seconds())

    def text(self, now: datetime) -> str:
        """``throttled (HTTP 429): trying again in 2m 58s (try 2 of 6)``."""
        left = math.ceil(self.remaining(now))
        when = "now" if left <= 0 else f"in {format_duration(left)}"
        what = self.cause if self.reason in self.cause else f"{self.cause} ({self.reason})"
        return f"{what}: trying again {when} (try {self.attempt + 1} of {self.max_attempts})"


@dataclass(frozen=True, slots=True)
class JobProgress:
    """One update on a job: its status, timing, counts, and (for reports) the download.

    ``phase`` is the service status value (``initialized``, ``loadingData``, ``calculating``, ``running``,
    ``successful``, ``failed``, ``abandoned`` or a raw unknown value), or one of ``queued``, ``waiting``,
    ``downloading``, ``syncStatus``, ``done``. ``elapsed`` counts seconds since the job started (since the
    download started when a finished report is reused; since the lookup started for ``syncStatus``);
    ``expected`` is the documented planning estimate of the whole job.
    """

    job_id: str | None
    kind: JobKind
    phase: str
    text: str
    elapsed: float
    expected: float | None = None
    status: RecoveryStatus | None = None
    snapshot_id: str | None = None
    changed_objects: int | None = None
    changed_links: int | None = None
    objects_modified: int | None = None
    links_modified: int | None = None
    failed_changes: int | None = None
    downloaded: int = 0
    total: int | None = None
    pages: int = 0
    holder: Job | None = None  # the job holding the slot while ``phase == "waiting"``
    reused: bool = False
    retry: RetryWait | None = None  # a request is waiting to be tried again (throttled, a hiccup)

    @property
    def fraction(self) -> float | None:
        """Share of the download done (0–1), when the total is known."""
        if self.phase != PHASE_DOWNLOADING or not self.total:
            return None
        return min(1.0, self.downloaded / self.total)


@dataclass(frozen=True, slots=True)
class RestoreProgress:
    """One update on a restore: which batch runs and what its recovery job is doing."""

    batch: int  # 1-based
    batch_count: int
    job_id: str | None
    phase: str
    text: str
    elapsed: float
    ids_in_batch: int = 0
    job: JobProgress | None = None
    retry: RetryWait | None = None  # a request is waiting to be tried again (throttled, a hiccup)


E = TypeVar("E")
JobProgressCallback = Callable[[JobProgress], object]
RestoreProgressCallback = Callable[[RestoreProgress], object]


async def emit(callback: Callable[[E], object] | None, event: E) -> None:
    """Deliver ``event``; awaits a coroutine-returning callback; never lets a callback error escape."""
    if callback is None:
        return
    try:
        result = callback(event)
        if inspect.isawaitable(result):
            await result
    except Exception:
        log.exception("A progress callback failed; the job continues")
