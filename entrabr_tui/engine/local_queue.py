"""The local queue: this process's jobs take the tenant's single job slot one at a time, first come first.

A request waits in the queue (FIFO) until the slot is free; a restore holds the slot across all its
batches so nothing slips in between. Queued requests can be dropped before they start.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from entrabr_tui.engine.errors import QueueDroppedError
from entrabr_tui.engine.events import PHASE_QUEUED, JobProgress, JobProgressCallback, emit
from entrabr_tui.engine.jobs import JobRequest, QueuedJob
from entrabr_tui.engine.timing import Clock


class LocalQueue:
    """FIFO access to the job slot (mixed into :class:`~entrabr_tui.engine.runner.JobRunner`)."""

    clock: Clock

    def _init_queue(self) -> None:
        self._lock: asyncio.Lock | None = None
        self._numbers = itertools.count(1)
        self._queue: list[QueuedJob] = []

    @property
    def pending(self) -> list[QueuedJob]:
        """Requests waiting in the local queue, first to run first."""
        return [q for q in self._queue if not q.cancelled]

    def _slot(self) -> asyncio.Lock:
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    @asynccontextmanager
    async def exclusive(self, request: JobRequest | None = None,
                        progress: JobProgressCallback | None = None) -> AsyncIterator[None]:
        """Hold the local slot (FIFO) for a sequence of jobs, e.g. every batch of a restore."""
        entry = None
        if request is not None:
            entry = QueuedJob(next(self._numbers), request, self.clock())
            self._queue.append(entry)
            if self._slot().locked():
                await emit(progress, JobProgress(
                    job_id=None, kind=request.kind, phase=PHASE_QUEUED, elapsed=0.0,
                    text=f"Queued: {request.label} (position {len(self.pending)})",
                    snapshot_id=request.snapshot_id,
                ))
        try:
            async with self._slot():
                if entry is not None:
                    self._queue.remove(entry)
                    if entry.cancelled:
                        raise QueueDroppedError(entry.request.label)
                yield
        finally:
            if entry is not None and entry in self._queue:
                self._queue.remove(entry)

    def drop_pending(self, number: int | None = None) -> int:
        """Remove queued requests (one by number, or all); returns how many were removed."""
        count = 0
        for entry in self._queue:
            if not entry.cancelled and (number is None or entry.number == number):
                entry.cancelled = True
                count += 1
        return count

