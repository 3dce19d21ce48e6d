"""The engine's clock and sleep, how long jobs are expected to take (the documented estimates live in
:mod:`entrabr_tui.core.durations`; they are re-exported here) and how often to poll them.

Polling follows the same scale as the estimates: quick while a job is young (small tenants, a backup already
loaded), slower once it is clearly a long one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from entrabr_tui.core.durations import (
    CALCULATE_SECONDS_PER_CHANGE,
    LOAD_SECONDS,
    LOAD_SECONDS_LARGEST,
    MIN_PHASE_SECONDS,
    RECOVER_SECONDS_PER_CHANGE,
    Estimate,
    estimate,
    load_seconds,
)
from entrabr_tui.core.text import format_duration

__all__ = [
    "CALCULATE_SECONDS_PER_CHANGE", "LOAD_SECONDS", "LOAD_SECONDS_LARGEST", "MIN_PHASE_SECONDS",
    "RECOVER_SECONDS_PER_CHANGE", "Clock", "Estimate", "PollPolicy", "Sleep", "estimate", "format_duration",
    "load_seconds", "real_sleep", "utc_now",
]

Clock = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[None]]


def utc_now() -> datetime:
    """The default clock: the current time, timezone-aware UTC."""
    return datetime.now(UTC)


async def real_sleep(seconds: float) -> None:
    """The default sleep."""
    await asyncio.sleep(seconds)


@dataclass(frozen=True, slots=True)
class PollPolicy:
    """Backoff for polling a job: grows from ``initial`` by ``factor`` up to a cap that rises with age.

    ``caps`` maps a job age (seconds since it started) to the longest wait allowed up to that age; past the
    last age, ``ceiling`` applies. The defaults poll every few seconds in the first minute (a small report on
    a loaded backup finishes in about a minute), then every 15–30 s, and once a minute after an hour (a job
    documented to take hours gains nothing from faster polling). ``max_polls`` bounds a wait (``None``: no
    bound); exceeding it raises :class:`~entrabr_tui.engine.errors.WaitLimitError`.
    """

    initial: float = 2.0
    factor: float = 1.5
    caps: tuple[tuple[float, float], ...] = ((60.0, 5.0), (600.0, 15.0), (3_600.0, 30.0))
    ceiling: float = 60.0
    max_polls: int | None = None

    def cap(self, age: float) -> float:
        for limit, wait in self.caps:
            if age < limit:
                return wait
        return self.ceiling

    def delay(self, attempt: int, age: float) -> float:
        """Seconds to wait before poll number ``attempt + 1`` (``attempt`` counts from 0)."""
        grown = self.initial * (self.factor ** min(attempt, 60))
        return max(0.0, min(grown, self.cap(max(0.0, age))))
