"""The client side of Microsoft Graph's reports throttle: 5 requests per 10 seconds per app per tenant.

The throttle covers every "identity and access reports" resource (``directoryAudits``, ``signIns``, …), and
the audit-log reference assumes one shared budget. :class:`RequestBudget` is a token bucket whose tokens come
back one window after they were spent: no window of ``window`` seconds ever holds more than ``limit``
requests. (A bucket refilled continuously would allow up to twice as many in a window that starts with a
full bucket.) Every attempt of every audit call, retries included, takes a token, so a storm of 429 answers
cannot push the client over the limit. A throttled answer can also hold the whole budget for a while
(:meth:`RequestBudget.hold`), so concurrent calls wait for the ``Retry-After`` too.

Times are logical: a wait is computed once and slept once, and the token is recorded at the time it was
due, so an injected ``sleep`` that does not move the ``clock`` (tests) never loops.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable

#: Requests allowed per window, and the window in seconds (Graph throttling limits, "identity and access
#: reports").
REPORTS_LIMIT = 5
REPORTS_WINDOW = 10.0
#: Added to every window: a sleep may end a little early and requests may arrive at the service a little
#: apart from when they were sent.
REPORTS_MARGIN = 0.25

#: Told how long the budget makes a call wait, before the wait starts (a progress line shows it).
BudgetListener = Callable[[float], object]


async def _asyncio_sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


class RequestBudget:
    """At most ``limit`` requests in any ``window`` seconds, shared by every call that holds this budget.

    A token comes back ``window + margin`` seconds after it was spent (``window`` 0 turns the budget off).
    ``clock`` (monotonic seconds) and ``sleep`` are injectable. ``sent`` keeps the logical times of the last
    ``limit`` requests.
    """

    def __init__(
        self,
        limit: int = REPORTS_LIMIT,
        window: float = REPORTS_WINDOW,
        *,
        margin: float = REPORTS_MARGIN,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = _asyncio_sleep,
    ) -> None:
        if limit < 1 or window < 0:
            raise ValueError("a request budget needs a limit of at least 1 and a window of at least 0 s")
        self.limit = limit
        self.window = window
        self.margin = margin if window > 0 else 0.0
        self.clock = clock
        self.sleep = sleep
        self.sent: deque[float] = deque(maxlen=limit)
        self._hold_until = float("-inf")
        self._lock: asyncio.Lock | None = None
        self.waited = 0.0
        """Seconds spent waiting for the budget so far (for progress and benchmarks)."""

    def delay(self) -> float:
        """Seconds the next request would wait now (0 when it may go at once)."""
        return max(0.0, self._due(self.clock()) - self.clock())

    def _due(self, now: float) -> float:
        due = max(now, self._hold_until)
        if len(self.sent) == self.limit:
            due = max(due, self.sent[0] + self.window + self.margin)
        return due

    async def acquire(self, on_wait: BudgetListener | None = None) -> float:
        """Take one request's token, waiting until one is free; returns the seconds waited."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            now = self.clock()
            due = self._due(now)
            wait = due - now
            if wait > 0:
                if on_wait is not None:
                    on_wait(wait)
                await self.sleep(wait)
                self.waited += wait
            self.sent.append(due)
            return max(0.0, wait)

    def hold(self, seconds: float) -> None:
        """No request before ``seconds`` from now (the service asked every caller to wait)."""
        if seconds > 0:
            self._hold_until = max(self._hold_until, self.clock() + seconds)
