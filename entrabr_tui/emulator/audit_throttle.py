"""The "identity and access reports" throttle: 5 requests per 10 seconds per app per tenant, one budget for
every report resource under ``/auditLogs`` (throttling reference; sharing across resources inferred).

A token bucket on real monotonic time (the emulated clock jumps by days); the window is a knob, so tests can
stretch it until refills are negligible and stay deterministic. Some throttled responses carry no
``Retry-After`` (a configurable fraction, decided by a seeded hash of the app and its count of 429s), as
practitioners report for this tier.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from entrabr_tui.emulator.layout import mix

CAPACITY = 5


@dataclass(frozen=True, slots=True)
class Throttled:
    """A refused request: seconds until the next request would pass, or None when the header is left out."""

    retry_after: float | None


class ReportThrottle:
    """Token buckets keyed by (tenant, app)."""

    def __init__(self, seed: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.seed = seed
        self.clock = clock
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}
        self._refused: dict[tuple[str, str], int] = {}

    def reset(self) -> None:
        """Full buckets for everyone."""
        self._buckets.clear()
        self._refused.clear()

    def take(self, tenant: str, app: str, window_s: float, no_retry_after: float) -> Throttled | None:
        """Spend one request of ``app`` in ``tenant``; None when allowed."""
        if window_s <= 0:
            return None
        key = (tenant, app)
        now = self.clock()
        tokens, last = self._buckets.get(key, (float(CAPACITY), now))
        tokens = min(float(CAPACITY), tokens + (now - last) * CAPACITY / window_s)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            return None
        self._buckets[key] = (tokens, now)
        n = self._refused.get(key, 0) + 1
        self._refused[key] = n
        draw = mix(zlib.crc32(f"{self.seed}|{tenant}|{app}".encode()) ^ (n * 0x9E3779B97F4A7C15)) / 2.0 ** 64
        if draw < no_retry_after:
            return Throttled(None)
        return Throttled((1.0 - tokens) * window_s / CAPACITY)
