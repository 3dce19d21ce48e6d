"""Retries made visible in the progress of one run (a report or a restore).

A :class:`ProgressWatch` wraps the progress callback of one report or restore run. While the run lasts it
listens to the Graph client's retry announcements (:class:`~entrabr_tui.graph.resilience.RetryEvent`) and
passes each on as the last progress event with a :class:`~entrabr_tui.engine.events.RetryWait` attached, so
the progress line says "throttled (HTTP 429): trying again in 2m 58s" and can count down instead of freezing.
The next ordinary event clears it. Any request of the run may be retried (job list, job reads, pages,
directory lookups), so the retries are heard at the client rather than in one collaborator.

A job stuck in a status this version does not know is the job runner's to stop (see
:meth:`~entrabr_tui.engine.runner.JobRunner.watch`).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, TypeVar

from entrabr_tui.core.model import JobKind
from entrabr_tui.engine.events import (
    JobProgress,
    JobProgressCallback,
    RestoreProgress,
    RestoreProgressCallback,
    RetryWait,
)
from entrabr_tui.graph.client import RecoveryClient
from entrabr_tui.graph.resilience import RetryEvent

T = TypeVar("T")


def retry_wait(event: RetryEvent) -> RetryWait:
    """The engine's form of a Graph retry announcement."""
    return RetryWait(cause=event.cause.value, reason=event.reason, attempt=event.attempt,
                     max_attempts=event.max_attempts, delay=event.delay, until=event.until)


class ProgressWatch:
    """Wraps one run's progress callback so that it hears the Graph client's retries (see the module
    documentation). Use :meth:`job` or :meth:`restore` for the callback, then ``await watch.run(coroutine)``;
    ``client`` is ``None`` offline (nothing to hear)."""

    def __init__(self, client: RecoveryClient | None, *, kind: JobKind) -> None:
        self.client = client
        self.kind = kind
        self._deliver: Callable[[RetryWait], object] | None = None
        self._pending: set[asyncio.Future[Any]] = set()

    # -- wrapping the callbacks ----------------------------------------------------------------------------
    def job(self, callback: JobProgressCallback | None) -> JobProgressCallback:
        """The callback to give the runner for a report job."""
        last: list[JobProgress] = []

        def on_progress(event: JobProgress) -> object:
            last[:] = [event]
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
        """Await ``work`` with the client's retries forwarded to the wrapped callback."""
        remove = self.client.add_retry_listener(self._on_retry) if self.client is not None else None
        try:
            return await work
        finally:
            if remove is not None:
                remove()

    def _on_retry(self, event: RetryEvent) -> None:
        if self._deliver is None:
            return
        result = self._deliver(retry_wait(event))
        if inspect.isawaitable(result):  # an async callback: run it beside the request that waits
            future = asyncio.ensure_future(result)
            self._pending.add(future)
            future.add_done_callback(self._pending.discard)
