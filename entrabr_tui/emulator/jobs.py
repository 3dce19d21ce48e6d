"""Recovery and preview job state machine, with durations from the documented planning estimates.

States: ``initialized → loadingData`` (only for the first job touching a snapshot) ``→ calculating →``
(recovery only) ``running → successful | failed``; cancel moves any non-terminal job to ``abandoned``.
State is derived lazily from the emulated clock: `JobStore.step` moves a job through every phase whose end
has passed and returns the heavy work (a diff, or the next part of a recovery) the job waits on; the caller
runs it against the directory and hands the result back with `JobStore.finish_diff` /
`JobStore.finish_recovery`.

A recovery applies its changes progressively while ``running``: each step applies the changes due by the
emulated now (in proportion to the running phase elapsed, weighted by object + link units; restores
first, so re-added links find their members), so ``totalObjectsModified`` and ``totalLinksModified`` grow
while it runs and ``totalFailedChanges`` stays null until the job ends (reference §5.4). A cancel keeps
what was applied. Job ids are random (uuid4) unless the store is made with ``deterministic_ids``.
"""

from __future__ import annotations

import bisect
import itertools
import random
import uuid
from collections.abc import Iterable, Mapping
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
    """Heavy directory work a job waits on: "diff", "recover" (the next part of a recovery) or "partial"
    (the part of a cancelled recovery due before the cancel). ``upto`` is how many changes, in the job's
    application order, are applied once this work is done; ``applied_at`` maps each object id of a part to
    when its change was due (what the audit log dates its records by)."""

    job_id: str
    kind: str
    snapshot_id: str
    scope: Scope | None
    upto: int = 0
    applied_at: Mapping[str, datetime] | None = None


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
    outcome: RecoveryOutcome | None = None   # a recovery's totals so far (None until it runs)
    busy: bool = False
    failure: str | None = None
    order: list[int] | None = None        # a running recovery's records, in application order
    cumulative: list[int] | None = None   # object + link units applied once order[:i+1] is applied
    applied: int = 0                      # how many of ``order`` are applied

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

    def __init__(self, *, seed: int, job_speed: float, retention_days: int,
                 deterministic_ids: bool = False) -> None:
        self.seed = seed
        self.deterministic_ids = deterministic_ids
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
        if self.deterministic_ids:
            job_id = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
        else:
            job_id = str(uuid.uuid4())
        job = Job(id=job_id, kind=kind, snapshot_id=snapshot_id, target=target, started=now, scope=scope,
                  criteria=criteria, phase_start=now, phase_end=now + self._seconds(INITIALIZE_SECONDS))
        self.jobs[job_id] = job
        return job

    def step(self, job: Job, now: datetime) -> Work | None:
        """Advance ``job`` through every phase that has ended by ``now``; return work it waits on."""
        while not job.terminal and not job.busy:
            if job.status == "running":
                return self._run_step(job, now)
            if job.phase_end is None:
                return self._claim(job, "diff")
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
                    self._start_running(job)
                    self._enter(job, "running", end, end + self._seconds(run))
        return None

    def _start_running(self, job: Job) -> None:
        """Fix the application order: restores first (users first), then updates, then soft deletes."""
        records = job.records or []
        rank = {"restore": 0, "update": 1, "softDelete": 2}
        job.order = sorted(range(len(records)), key=lambda i: (
            rank.get(records[i].action, 1), records[i].entity_type != "user", i))
        job.cumulative = list(itertools.accumulate(1 + records[i].link_count for i in job.order))
        job.applied = 0
        job.outcome = RecoveryOutcome(0, 0, ())

    def _due(self, job: Job, now: datetime) -> int:
        """How many changes (in application order) should be applied by ``now``."""
        order, cumulative = job.order or [], job.cumulative or []
        start, end = job.phase_start, job.phase_end
        if not order or start is None or end is None or now >= end:
            return len(order)
        span = (end - start).total_seconds()
        fraction = min(1.0, max(0.0, (now - start).total_seconds() / span)) if span > 0 else 1.0
        return bisect.bisect_right(cumulative, fraction * cumulative[-1])

    def _run_step(self, job: Job, now: datetime) -> Work | None:
        """Apply what is due of a running recovery; finish it once its phase has ended and all is applied."""
        target = self._due(job, now)
        if target > job.applied:
            return self._claim_part(job, "recover", target)
        end = job.phase_end
        if end is not None and now >= end:
            outcome = job.outcome or RecoveryOutcome(0, 0, ())
            modified = outcome.objects_modified + outcome.links_modified
            self._finish(job, "failed" if outcome.failed and modified == 0 else "successful", end)
        return None

    def _claim_part(self, job: Job, kind: str, target: int) -> Work:
        """Claim the application of ``order[applied:target]``."""
        records, order = job.records or [], job.order or []
        job.busy = True
        positions = range(job.applied, target)
        part = [records[order[i]] for i in positions]
        applied_at = {records[order[i]].id: self._due_time(job, i) for i in positions}
        return Work(job.id, kind, job.snapshot_id, partial_scope(part), upto=target, applied_at=applied_at)

    def _due_time(self, job: Job, position: int) -> datetime:
        """When the change at ``position`` of the application order is due: once the share of the running
        phase its units and those before it take has elapsed (the inverse of `_due`)."""
        cumulative, start, end = job.cumulative or [], job.phase_start, job.phase_end
        assert start is not None
        if end is None or not cumulative or cumulative[-1] == 0:
            return start
        return start + (end - start) * (cumulative[position] / cumulative[-1])

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

    def finish_recovery(self, job: Job, outcome: RecoveryOutcome, upto: int) -> None:
        """Add what one part of a running recovery did (``upto`` changes are now applied)."""
        job.busy = False
        if outcome.objects_modified or outcome.links_modified:
            self.generation += 1
        job.outcome = outcome if job.outcome is None else job.outcome.merged(outcome)
        job.applied = max(job.applied, upto)

    def fail(self, job: Job, message: str, now: datetime) -> None:
        """The directory raised while working on ``job``: it ends ``failed``."""
        job.failure = message
        if not job.terminal:
            self._finish(job, "failed", now)
        job.busy = False

    def cancel_plan(self, job: Job, now: datetime) -> Work | None:
        """Cancel ``job``; a running recovery first applies what was due by ``now`` (returned as work)."""
        if job.status == "running" and not job.busy:
            target = self._due(job, now)
            if target > job.applied:
                return self._claim_part(job, "partial", target)
        self._finish(job, "abandoned", now)
        job.records = None if job.kind == PREVIEW else job.records
        return None

    def finish_cancel(self, job: Job, outcome: RecoveryOutcome | None, now: datetime) -> None:
        """Complete a cancellation with what the last part of a cancelled recovery did (None: unknown)."""
        if outcome is not None:
            if outcome.objects_modified or outcome.links_modified:
                self.generation += 1
            job.outcome = outcome if job.outcome is None else job.outcome.merged(outcome)
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
