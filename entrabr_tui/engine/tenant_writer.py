"""Holding the tenant for writing: downloads and restores wait while another entrabr process holds it.

A session takes the tenant's writer lock (:class:`~entrabr_tui.store.writer_lock.TenantLock`) around what
writes the cache on the service's behalf: creating and downloading a report, running or resuming a
restore, reconciling the job journal. When another process holds it, the session waits, polling the lock,
and says who holds it and (when it is downloading the report this session wants) how far that download has
got, re-read from the cache as it fills; when the other process is done, the session carries on, usually
finding the report it wanted complete in the cache. Reading the cache never needs the lock.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from entrabr_tui.engine.timing import Clock, Sleep
from entrabr_tui.store.writer_lock import LockHolder, TenantLock

#: Seconds between two looks at a lock another process holds.
WAIT_POLL = 1.0

#: Hears "another entrabr (…) is …; waiting…" while the tenant is held elsewhere.
WaitCallback = Callable[[str], object]


class TenantWriter:
    """Takes the tenant's writer lock for this session, waiting (with a message) while another holds it.

    ``lock`` is ``None`` for a cache that cannot be written (nothing to guard: writes are refused anyway).
    """

    def __init__(self, lock: TenantLock | None, *, clock: Clock, sleep: Sleep,
                 poll: float = WAIT_POLL) -> None:
        self.lock = lock
        self.clock = clock
        self.sleep = sleep
        self.poll = poll

    @property
    def warning(self) -> str | None:
        """Why the tenant is not guarded (a file system without locks), if it is not."""
        return self.lock.warning if self.lock is not None else None

    def other_holder(self) -> LockHolder | None:
        """The other process holding the tenant now, if any (blocking, cheap)."""
        return self.lock.other_holder() if self.lock is not None else None

    def try_hold(self, command: str) -> LockHolder | None:
        """Take the lock without waiting: ``None`` when taken (release with :meth:`release`), else the
        other holder."""
        if self.lock is None:
            return None
        return self.lock.try_acquire(command, now=self.clock())

    def release(self) -> None:
        if self.lock is not None:
            self.lock.release()

    @asynccontextmanager
    async def hold(self, command: str, doing: str, on_wait: WaitCallback | None = None,
                   follow: Callable[[], str | None] | None = None) -> AsyncIterator[None]:
        """Hold the tenant for ``command`` during the block, waiting first while another process holds it.

        ``doing`` words the wait ("downloading this tenant's report"); ``follow()`` may add how far the
        other process has got (read from the cache) to each message.
        """
        while True:
            other = self.try_hold(command)
            if other is None:
                break
            text = f"{other.text} is {doing}; waiting…"
            progress = follow() if follow is not None else None
            if progress:
                text += f" ({progress})"
            if on_wait is not None:
                result = on_wait(text)
                if inspect.isawaitable(result):
                    await result
            await self.sleep(self.poll)
        try:
            yield
        finally:
            self.release()

