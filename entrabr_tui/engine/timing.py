"""How long jobs are expected to take (reference §9.3) and how often to poll them.

The service documents planning estimates, not guarantees: loading a backup the first time costs up to
1–2.5 hours depending on tenant size, calculating a difference costs about 45 minutes per 100,000 object and
link changes, and recovering 500,000 changes can take 30 hours. Polling follows the same scale: quick while a
job is young (small tenants, a backup already loaded), slower once it is clearly a long one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from entrabr_tui.core.model import JobKind
from entrabr_tui.core.text import format_duration as format_duration  # the one duration formatter

Clock = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[None]]

#: Data loading on first access of a backup, by tenant size (objects): (upper bound, seconds).
LOAD_SECONDS: tuple[tuple[int, float], ...] = (
    (50_000, 3_600.0),
    (300_000, 5_400.0),
    (1_000_000, 7_200.0),
)
LOAD_SECONDS_LARGEST = 9_000.0
#: About 45 minutes per 100,000 object and link changes to calculate a difference.
CALCULATE_SECONDS_PER_CHANGE = 45 * 60 / 100_000
#: Up to 30 hours for 500,000 changes to be recovered.
RECOVER_SECONDS_PER_CHANGE = 30 * 3600 / 500_000
#: Below this, a calculation estimate is not meaningful (request round trips, queueing).
MIN_PHASE_SECONDS = 60.0


def utc_now() -> datetime:
    """The default clock: the current time, timezone-aware UTC."""
    return datetime.now(UTC)


async def real_sleep(seconds: float) -> None:
    """The default sleep."""
    await asyncio.sleep(seconds)


def load_seconds(tenant_objects: int | None) -> float:
    """Expected data-loading time of a backup's first job, for a tenant of ``tenant_objects`` objects.

    An unknown size counts as the smallest band (up to an hour).
    """
    size = tenant_objects or 0
    for upper, seconds in LOAD_SECONDS:
        if size <= upper:
            return seconds
    return LOAD_SECONDS_LARGEST


@dataclass(frozen=True, slots=True)
class Estimate:
    """Expected duration of one job, split by phase (seconds; 0 for a phase the job skips)."""

    load: float
    calculate: float
    apply: float = 0.0

    @property
    def total(self) -> float:
        return self.load + self.calculate + self.apply

    @property
    def text(self) -> str:
        """``up to 1h 05m`` — the documented figures are upper-bound planning estimates."""
        return f"up to {format_duration(self.total)}"


def estimate(
    kind: JobKind,
    *,
    tenant_objects: int | None = None,
    changes: int | None = None,
    backup_loaded: bool = False,
) -> Estimate:
    """Expected duration of a job from the documented figures (§9.3).

    ``changes`` counts object plus link changes (a previous report's totals, or the job's own once
    calculated); ``backup_loaded`` is true when an earlier job already used the same backup, so loading is
    skipped.
    """
    load = 0.0 if backup_loaded else load_seconds(tenant_objects)
    count = max(0, changes or 0)
    calculate = max(MIN_PHASE_SECONDS, count * CALCULATE_SECONDS_PER_CHANGE)
    apply = 0.0
    if kind is JobKind.RECOVERY:
        apply = max(MIN_PHASE_SECONDS, count * RECOVER_SECONDS_PER_CHANGE)
    return Estimate(load=load, calculate=calculate, apply=apply)


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
