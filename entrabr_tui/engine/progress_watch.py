"""Watching a running job on behalf of whoever shows its progress: retries made visible, stuck jobs stopped.

A :class:`ProgressWatch` wraps the progress callback of one report or restore run:

* **Retries.** While the run lasts it listens to the Graph client's retry announcements
  (:class:`~entrabr_tui.graph.resilience.RetryEvent`) and passes each on as the last progress event with a
  :class:`~entrabr_tui.engine.events.RetryWait` attached, so the progress line says "throttled (HTTP 429):
  trying again in 178 s" and can count down instead of freezing. The next ordinary event clears it.
* **Unknown statuses.** A job that stays in a status this version does not know (a value newer than the
  code) for ``unknown_status_timeout`` seconds is not waited for any longer: the run stops with
  :class:`~entrabr_tui.graph.errors.JobWaitTimeoutError` (``unknown_status=True``). The job goes on at
  the service; the job list shows it.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, TypeVar

from entrabr_tui.core.model import Job, JobKind, RecoveryStatus
from entrabr_tui.engine.events import (
    JobProgress,
    JobProgressCallback,
    RestoreProgress,
    RestoreProgressCallback,
    RetryWait,
)
from entrabr_tui.engine.timing import Clock, format_duration
from entrabr_tui.graph.client import RecoveryClient
from entrabr_tui.graph.errors import JobWaitTimeoutError
from entrabr_tui.graph.resilience import RetryEvent

T = TypeVar("T")

def retry_wait(event: RetryEvent) -> RetryWait:
    """The engine's form of a Graph retry announcement."""
    return RetryWait(cause=event.cause.value, reason=event.reason, attempt=event.attempt,
                     max_attempts=event.max_attempts, delay=event.delay, until=event.until)


class ProgressWatch:
    """Wraps one run's progress callback (see the module documentation). Use :meth:`job` or :meth:`restore`
    for the callback, then ``await watch.run(coroutine)``."""

    def __init__(self, client: RecoveryClient | None, clock: Clock, *, kind: JobKind,
                 unknown_status_timeout: float | None = 3600.0) -> None:
        self.client = client
        self.clock = clock
        self.kind = kind
        self.unknown_status_timeout = unknown_status_timeout
        self._deliver: Callable[[RetryWait], object] | None = None
        self._unknown_since: dict[str, Any] = {}
        self._stuck: JobWaitTimeoutError | None = None
        self._task: asyncio.Task[Any] | None = None
        self._pending: set[asyncio.Future[Any]] = set()

    # -- wrapping the callbacks ----------------------------------------------------------------------------
    def job(self, callback: JobProgressCallback | None) -> JobProgressCallback:
        """The callback to give the runner for a report job."""
        last: list[JobProgress] = []

        def on_progress(event: JobProgress) -> object:
            last[:] = [event]
            self._check(event)
            return callback(event) if callback is not None else None

        def on_retry(wait: RetryWait) -> object:
            base = last[0] if last else JobProgress(job_id=None, kind=self.kind, phase="queued",
                                                    text="Contacting Microsoft Graph", elapsed=0.0)
            return callback(replace(base, retry=wait)) if callback is not None else None

        self._deliver = on_retry
        return on_progress

    def restore(self, callback: RestoreProgressCallback | None) -> RestoreProgressCallback:
        """The callback to give the restore executor."""
        last: list[RestoreProgress] = []

        def on_progress(event: RestoreProgress) -> object:
            last[:] = [event]
            if event.job is not None:
                self._check(event.job)
            return callback(event) if callback is not None else None

        def on_retry(wait: RetryWait) -> object:
            if not last or callback is None:
                return None
            event = last[0]
            job = replace(event.job, retry=wait) if event.job is not None else None
            return callback(replace(event, job=job, retry=wait))

        self._deliver = on_retry
        return on_progress

    # -- running --------------------------------------------------------------------------------------------
    async def run(self, work: Awaitable[T]) -> T:
        """Await ``work`` with retries forwarded; a job stuck in an unknown status ends it with
        :class:`JobWaitTimeoutError`."""
        self._task = asyncio.current_task()
        remove = self.client.add_retry_listener(self._on_retry) if self.client is not None else None
        try:
            return await work
        except asyncio.CancelledError:
            if self._stuck is None or self._task is None:
                raise
            self._task.uncancel()
            raise self._stuck from None
        finally:
            if remove is not None:
                remove()
            self._task = None

    def _on_retry(self, event: RetryEvent) -> None:
        if self._deliver is None:
            return
        result = self._deliver(retry_wait(event))
        if inspect.isawaitable(result):  # an async callback: run it beside the request that waits
            future = asyncio.ensure_future(result)
            self._pending.add(future)
            future.add_done_callback(self._pending.discard)

    def _check(self, event: JobProgress) -> None:
        """Stop the run when its job has been in an unknown status for too long."""
        if event.job_id is None or self.unknown_status_timeout is None or self._stuck is not None:
            return
        if event.status is not RecoveryStatus.UNKNOWN_FUTURE_VALUE:
            self._unknown_since.pop(event.job_id, None)
            return
        now = self.clock()
        since = self._unknown_since.setdefault(event.job_id, now)
        stuck = (now - since).total_seconds()
        if stuck < self.unknown_status_timeout or self._task is None:
            return
        job = Job(kind=event.kind, id=event.job_id, status=RecoveryStatus.UNKNOWN_FUTURE_VALUE,
                  status_raw=event.phase)
        kind = "difference report" if event.kind is JobKind.PREVIEW else "restore"
        self._stuck = JobWaitTimeoutError(
            f"The {kind} job {event.job_id} has been in status {event.phase!r}, which this version of "
            f"entrabr does not know, for {format_duration(stuck)}; stopped waiting for it. It may still be "
            "running at the service: 'entrabr jobs' shows it (a newer entrabr may know the status).",
            job=job, waited=event.elapsed, unknown_status=True)
        self._task.cancel()
