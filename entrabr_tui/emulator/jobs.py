"""Recovery and preview job state machine, with durations from the documented planning estimates.

States: ``initialized → loadingData`` (only for the first job touching a snapshot) ``→ calculating →``
(recovery only) ``running → successful | failed``; cancel moves any non-terminal job to ``abandoned``.
State is derived lazily from the emulated clock: `JobStore.step` moves a job through every phase whose end
has passed and returns the heavy work (a diff or a recovery) the job waits on; the caller runs it against
the directory and hands the result back with `JobStore.finish_diff` / `JobStore.finish_recovery`.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .directory import ChangeRecord, RecoveryOutcome, Scope
from .graph_errors import conflict

PREVIEW = "preview"
RECOVERY = "recovery"
TERMINAL = frozenset({"successful", "failed", "abandoned"})

INITIALIZE_SECONDS = 15.0
MIN_CALCULATE_SECONDS = 120.0
MIN_RUN_SECONDS = 60.0
CALCULATE_SECONDS_PER_CHANGE = 45 * 60 / 100_000     # about 45 min per 100,000 object/link changes
RUN_SECONDS_PER_CHANGE = 30 * 3600 / 500_000         # recovery of 500,000 changes: up to 30 h


def loading_seconds(objects: int) -> float:
    """Cold-start data loading time for a tenant of ``objects`` objects (reference §9.3)."""
    if objects <= 50_000:
        return 3600.0
    if objects <= 300_000:
        return 5400.0
    if objects <= 1_000_000:
        return 7200.0
    return 9000.0


@dataclass(frozen=True, slots=True)
class Work:
    """Heavy directory work a job waits on: "diff", "recover" or "partial" (a cancelled recovery)."""

    job_id: str
    kind: str
    snapshot_id: str
    scope: Scope | None


@dataclass(eq=False)
class Job:
    """One preview (difference report) or recovery job."""

    id: str
    kind: str
    snapshot_id: str
    target: datetime
    started: datetime
    scope: Scope | None
    criteria: dict[str, Any] | None
    status: str = "initialized"
    phase_start: datetime | None = None
    phase_end: datetime | None = None     # None while the phase waits on work
    completed: datetime | None = None
    records: list[ChangeRecord] | None = None
    diff_generation: int = -1
    objects_calculated: int | None = None
    links_calculated: int | None = None
    outcome: RecoveryOutcome | None = None
    busy: bool = False
    failure: str | None = None
    run_end: datetime | None = None      # when a recovery's running phase ended (its completion time)

    @property
    def terminal(self) -> bool:
        """True once successful, failed or abandoned."""
        return self.status in TERMINAL

    def changes(self) -> int:
        """Object + link changes of the computed diff (0 before it exists)."""
        if self.records is None:
            return 0
        return len(self.records) + sum(r.link_count for r in self.records)


class JobStore:
    """All jobs of the tenant and the rules that move them (not thread-safe; one caller at a time)."""

    def __init__(self, *, seed: int, job_speed: float, retention_days: int) -> None:
        self.seed = seed
        self.job_speed = job_speed
        self.retention_days = retention_days
        self.tenant_objects = 0
        self.generation = 0            # bumped whenever the live directory changes
        self.jobs: dict[str, Job] = {}
        self.loaded: set[str] = set()
        self._rng = random.Random(f"entrabr-emulator-jobs:{seed}")

    def reset(self) -> None:
        """Forget every job, loaded snapshot and issued ID."""
        self.jobs.clear()
        self.loaded.clear()
        self.generation += 1
        self._rng = random.Random(f"entrabr-emulator-jobs:{self.seed}")

    def _seconds(self, documented: float) -> timedelta:
        return timedelta(seconds=documented / self.job_speed)

    # ------------------------------------------------------------------------------------- queries
    def active(self) -> Job | None:
        """The non-terminal job, if any."""
        return next((j for j in self.jobs.values() if not j.terminal), None)

    def get(self, job_id: str) -> Job | None:
        """A job by ID (case-insensitive)."""
        return self.jobs.get(job_id.lower())

    def listing(self, kind: str | None = None, snapshot_id: str | None = None) -> list[Job]:
        """Jobs newest first, optionally of one kind and snapshot."""
        jobs = [j for j in self.jobs.values()
                if (kind is None or j.kind == kind) and (snapshot_id is None or j.snapshot_id == snapshot_id)]
        jobs.reverse()
        return jobs

    # ------------------------------------------------------------------------------------ commands
    def create(self, *, kind: str, snapshot_id: str, target: datetime, scope: Scope | None,
               criteria: dict[str, Any] | None, now: datetime) -> Job:
        """Create a job, or raise 409 when another one is still non-terminal."""
        if self.active() is not None:
            raise conflict()
        job_id = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
        job = Job(id=job_id, kind=kind, snapshot_id=snapshot_id, target=target, started=now, scope=scope,
                  criteria=criteria, phase_start=now, phase_end=now + self._seconds(INITIALIZE_SECONDS))
        self.jobs[job_id] = job
        return job

    def step(self, job: Job, now: datetime) -> Work | None:
        """Advance ``job`` through every phase that has ended by ``now``; return work it waits on."""
        while not job.terminal and not job.busy:
            if job.phase_end is None:
                return self._claim(job, "diff" if job.status == "calculating" else "recover")
            if now < job.phase_end:
                return None
            end = job.phase_end
            if job.status == "initialized":
                if job.snapshot_id in self.loaded:
                    self._enter(job, "calculating", end, None)
                else:
                    self._enter(job, "loadingData", end,
                                end + self._seconds(loading_seconds(self.tenant_objects)))
            elif job.status == "loadingData":
                self.loaded.add(job.snapshot_id)
                self._enter(job, "calculating", end, None)
            elif job.status == "calculating":
                if job.diff_generation != self.generation:
                    return self._claim(job, "diff")     # the tenant changed: the report is as of now
                self._publish_totals(job)
                if job.kind == PREVIEW:
                    self._finish(job, "successful", end)
                else:
                    run = max(MIN_RUN_SECONDS, RUN_SECONDS_PER_CHANGE * job.changes())
                    self._enter(job, "running", end, end + self._seconds(run))
            elif job.status == "running":
                job.phase_end = None       # wait for the recovery itself, completed at `end`
                job.run_end = end
                return self._claim(job, "recover")
        return None

    def _enter(self, job: Job, status: str, start: datetime, end: datetime | None) -> None:
        job.status = status
        job.phase_start = start
        job.phase_end = end

    def _claim(self, job: Job, kind: str) -> Work:
        job.busy = True
        return Work(job.id, kind, job.snapshot_id, job.scope)

    def _publish_totals(self, job: Job) -> None:
        records = job.records or []
        job.objects_calculated = len(records)
        job.links_calculated = sum(r.link_count for r in records)

    def _finish(self, job: Job, status: str, when: datetime) -> None:
        job.status = status
        job.completed = when
        job.phase_end = None
        job.busy = False

    def finish_diff(self, job: Job, records: list[ChangeRecord], generation: int) -> None:
        """Store a diff computed for ``job`` (at calculating start, or again at its end)."""
        job.busy = False
        if job.terminal:
            return
        job.records = records
        job.diff_generation = generation
        if job.phase_end is None and job.phase_start is not None:
            calc = max(MIN_CALCULATE_SECONDS, CALCULATE_SECONDS_PER_CHANGE * job.changes())
            job.phase_end = job.phase_start + self._seconds(calc)

    def finish_recovery(self, job: Job, outcome: RecoveryOutcome) -> None:
        """Store the outcome of a recovery that ran to its end."""
        self.generation += 1
        end = job.run_end or job.started
        job.outcome = outcome
        modified = outcome.objects_modified + outcome.links_modified
        self._finish(job, "failed" if outcome.failed and modified == 0 else "successful", end)

    def fail(self, job: Job, message: str, now: datetime) -> None:
        """The directory raised while working on ``job``: it ends ``failed``."""
        job.failure = message
        if not job.terminal:
            self._finish(job, "failed", now)
        job.busy = False

    def cancel_plan(self, job: Job, now: datetime) -> Work | None:
        """Cancel ``job``; a running recovery first applies the part done so far (returned as work)."""
        if job.status == "running" and job.phase_end is not None and job.records is not None:
            span = (job.phase_end - (job.phase_start or now)).total_seconds()
            done = (now - (job.phase_start or now)).total_seconds()
            fraction = min(1.0, max(0.0, done / span)) if span > 0 else 1.0
            applied = job.records[: int(len(job.records) * fraction)]
            job.busy = True
            return Work(job.id, "partial", job.snapshot_id, partial_scope(applied))
        self._finish(job, "abandoned", now)
        return None

    def finish_cancel(self, job: Job, outcome: RecoveryOutcome | None, now: datetime) -> None:
        """Complete a cancellation (with what a cancelled recovery applied)."""
        if outcome is not None and (outcome.objects_modified or outcome.links_modified or outcome.failed):
            self.generation += 1
        job.outcome = outcome
        job.records = None if job.kind == PREVIEW else job.records
        self._finish(job, "abandoned", now)

    def purge(self, now: datetime, snapshot_ids: Iterable[str]) -> None:
        """Drop jobs past retention after completion, and jobs whose snapshot aged out."""
        alive = set(snapshot_ids)
        keep = timedelta(days=self.retention_days)
        expired = [j.id for j in self.jobs.values()
                   if j.snapshot_id not in alive or (j.completed is not None and now >= j.completed + keep)]
        for job_id in expired:
            del self.jobs[job_id]
        self.loaded &= alive


def partial_scope(records: list[ChangeRecord]) -> Scope:
    """A scope naming exactly ``records`` (by entity type and id)."""
    by_type: dict[str, set[str]] = {}
    for rec in records:
        by_type.setdefault(rec.entity_type, set()).add(rec.id)
    return Scope(ids={t: frozenset(ids) for t, ids in by_type.items()})
