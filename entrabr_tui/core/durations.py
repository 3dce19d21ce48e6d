"""How long jobs are expected to take: the service's documented planning estimates (reference §9.3).

The service documents planning estimates, not guarantees: loading a backup the first time costs up to
1–2.5 hours depending on tenant size, calculating a difference costs about 45 minutes per 100,000 object and
link changes, and recovering 500,000 changes can take 30 hours. Pure arithmetic: the engine refines these
figures with the tenant's own job history (:mod:`.plan_options`), and shows them with
:func:`format_duration`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import JobKind
from .text import format_duration

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
        """``up to 1 h 05 min`` — the documented figures are upper-bound planning estimates."""
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
