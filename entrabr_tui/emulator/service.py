"""The emulator's mutable world: the directory, the clock, jobs, faults and runtime configuration.

Directory work (diffs, recoveries, new days, resets) runs in a worker thread under one lock, so the event
loop keeps answering polls while a large report is being computed.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from .audit_actors import Identity
from .audit_log import AuditLog
from .audit_throttle import ReportThrottle
from .audit_timeline import RecoveryOrigin
from .clock import EmulatedClock, iso
from .directory import ChangeRecord, Directory, RecoveryOutcome
from .faults import FaultRegistry
from .graph_errors import snapshot_not_found
from .jobs import Job, JobStore, Work

R = TypeVar("R")
LARGE_VIEW = 20_000       # results above this size are filtered/sorted off the event loop
log = logging.getLogger("entrabr.emulator")


class EmulatorService:
    """Owns the emulated tenant and everything that changes while the emulator runs."""

    def __init__(self, *, seed: int = 1, objects: int = 2000, drift: int | None = None, snapshots: int = 7,
                 latency_ms: int = 0, job_speed: float = 1.0, now: datetime | None = None,
                 sync_flag_in_changes: bool = False, deterministic_ids: bool = False,
                 snapshot_id_style: str = "epoch", audit_events: int = 0) -> None:
        if job_speed <= 0:
            raise ValueError("job_speed must be positive")
        self.clock = EmulatedClock(now)
        self.directory = Directory(seed=seed, objects=objects, drift=drift, snapshots=snapshots,
                                   now=self.clock.start, snapshot_id_style=snapshot_id_style,
                                   sync_flag_in_changes=sync_flag_in_changes, audit_events=audit_events)
        self.audit_throttle = ReportThrottle(seed)
        self._initiators: dict[str, Identity] = {}     # job id -> who created it (audit records)
        self.seed = seed
        self.tenant_id = self.directory.tenant_id
        self.latency_ms = max(0, int(latency_ms))
        self.jobs = JobStore(seed=seed, job_speed=job_speed, retention_days=snapshots,
                             deterministic_ids=deterministic_ids)
        self.faults = FaultRegistry(seed)
        self.snapshots: list[tuple[str, datetime]] = []
        self.jobs.tenant_objects = objects         # sizes the cold-start loading phase
        self._object_count: int | None = None      # counted on demand (costly for big drifted tenants)
        self._refresh()
        self._lock: asyncio.Lock | None = None
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._views: OrderedDict[tuple[Any, ...], list[Any]] = OrderedDict()

    # ---------------------------------------------------------------------------------------- basics
    @property
    def job_speed(self) -> float:
        """Divisor applied to the documented job durations."""
        return self.jobs.job_speed

    @job_speed.setter
    def job_speed(self, value: float) -> None:
        if value <= 0:
            raise ValueError("job_speed must be positive")
        self.jobs.job_speed = float(value)

    @property
    def sync_flag_in_changes(self) -> bool:
        """Whether change objects carry ``onPremisesSyncEnabled`` in ``currentState`` (reports computed
        from now on; Microsoft's examples never show it, so it is off by default)."""
        return self.directory.sync_flag_in_changes

    @sync_flag_in_changes.setter
    def sync_flag_in_changes(self, value: bool) -> None:
        self.directory.sync_flag_in_changes = bool(value)

    def _refresh(self) -> None:
        """Re-read the directory's snapshot list (call with the directory lock held)."""
        self.snapshots = list(self.directory.snapshots())
        self._object_count = None

    async def object_count(self) -> int:
        """Objects in the live tenant."""
        if self._object_count is None:
            self._object_count = await self.in_directory(lambda: self.directory.object_count)
        return self._object_count

    @property
    def audit(self) -> AuditLog:
        """The tenant's directory audit log."""
        return self.directory.audit

    def _origin(self, job: Job, work: Work) -> RecoveryOrigin | None:
        """Who applies this part of a recovery and when each of its changes was due (for the audit log)."""
        initiator = self._initiators.get(job.id)
        if initiator is None:
            return None
        now = self.clock.now()
        applied_at = {oid: min(when, now) for oid, when in (work.applied_at or {}).items()}
        when = max(applied_at.values(), default=now)
        return RecoveryOrigin(job.id, initiator, when, self.audit.settings.recovery_activity,
                              applied_at=applied_at)

    @property
    def lock(self) -> asyncio.Lock:
        """The directory lock (created on the server's event loop)."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    async def in_directory(self, fn: Callable[..., R], *args: Any) -> R:
        """Run ``fn(*args)`` against the directory in a worker thread, one call at a time."""
        async with self.lock:
            return await asyncio.to_thread(fn, *args)

    def snapshot_time(self, snapshot_id: str, *, for_job: bool) -> datetime:
        """The time of a current snapshot, or a 404 `GraphError`."""
        for sid, created in self.snapshots:
            if sid == snapshot_id:
                return created
        raise snapshot_not_found(snapshot_id, for_job=for_job)

    # ------------------------------------------------------------------------------------------ jobs
    async def settle(self) -> None:
        """Bring every job up to the emulated now; start the directory work jobs are waiting on."""
        now = self.clock.now()
        self.jobs.purge(now, (sid for sid, _ in self.snapshots))
        for job in list(self.jobs.jobs.values()):
            if job.terminal or job.busy:
                continue
            work = self.jobs.step(job, now)
            if work is not None:
                self._tasks[job.id] = asyncio.get_running_loop().create_task(self._run(job, work))

    async def _run(self, job: Job, work: Work) -> None:
        try:
            if work.kind == "diff":
                records, generation = await self.in_directory(self._diff, work)
                records = self.faults.changes_override.apply(job, records)
                self.jobs.finish_diff(job, records, generation)
            else:
                outcome = await self.in_directory(self.directory.recover, work.snapshot_id, work.scope,
                                                  self._origin(job, work))
                self._views.clear()
                self._object_count = None
                self.jobs.finish_recovery(job, outcome, work.upto)
        except Exception as exc:     # a directory bug must not wedge the job
            log.exception("emulator: %s for job %s failed", work.kind, job.id)
            self.jobs.fail(job, f"{type(exc).__name__}: {exc}", self.clock.now())
        finally:
            self._tasks.pop(job.id, None)
        await self.settle()

    def _diff(self, work: Work) -> tuple[list[ChangeRecord], int]:
        return self.directory.diff(work.snapshot_id, work.scope), self.jobs.generation

    async def drain(self) -> None:
        """Wait until no directory work is in flight."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def create_job(self, kind: str, snapshot_id: str, scope: Any,
                         criteria: dict[str, Any] | None, initiator: Identity | None = None) -> Job:
        """Create a job (404 for an unknown snapshot, 409 while another job runs); ``initiator`` (who asked)
        is named by the audit records of the job and of what a recovery changes."""
        await self.settle()
        target = self.snapshot_time(snapshot_id, for_job=True)
        job = self.jobs.create(kind=kind, snapshot_id=snapshot_id, target=target, scope=scope,
                               criteria=criteria, now=self.clock.now())
        if initiator is not None:
            self._initiators[job.id] = initiator
            self.audit.job_created(job.id, kind, target, initiator, job.started)
        await self.settle()
        return job

    async def cancel_job(self, job: Job) -> bool:
        """Cancel ``job``; False when it is already terminal."""
        await self.settle()
        while job.status == "running" and (task := self._tasks.get(job.id)) is not None:
            await asyncio.gather(task, return_exceptions=True)    # a part of the recovery is being applied
        if job.terminal:
            return False
        work = self.jobs.cancel_plan(job, self.clock.now())
        if work is not None:
            outcome: RecoveryOutcome | None = RecoveryOutcome(0, 0, ())
            if work.scope is not None and work.scope.ids:
                try:
                    outcome = await self.in_directory(self.directory.recover, work.snapshot_id, work.scope,
                                                      self._origin(job, work))
                    self._object_count = None
                except Exception:
                    log.exception("emulator: partial recovery for cancelled job %s failed", job.id)
                    outcome = None
                self._views.clear()
            self.jobs.finish_cancel(job, outcome, self.clock.now())
        return True

    async def view(self, key: tuple[Any, ...], build: Callable[[], list[Any]], size: int) -> list[Any]:
        """A cached filtered/ordered view of a job's results (a few recent queries are kept).

        Views over large results are built in a worker thread so the event loop keeps serving.
        """
        cached = self._views.get(key)
        if cached is None:
            cached = await asyncio.to_thread(build) if size > LARGE_VIEW else build()
            self._views[key] = cached
            while len(self._views) > 8:
                self._views.popitem(last=False)
        else:
            self._views.move_to_end(key)
        return cached

    # --------------------------------------------------------------------------------- control plane
    async def advance(self, days: int) -> None:
        """Move the clock ``days`` days: each day a new snapshot and a day of drift. When it returns, the
        directory work the new time started (a difference to compute) is done, so a job whose end has
        passed shows its end instead of still calculating."""
        for _ in range(days):
            await self.settle()
            await self.drain()
            async with self.lock:
                await asyncio.to_thread(self._advance_day)
            self.clock.advance(timedelta(days=1))
            self.jobs.generation += 1
            self._views.clear()
        await self.settle()
        await self.drain()

    async def edit_object(self, object_id: str, properties: dict[str, Any],
                          soft_delete: bool) -> dict[str, Any]:
        """Change a live object now (see ``Directory.edit_object``); jobs computing a difference see it."""
        await self.settle()
        result = await self.in_directory(self.directory.edit_object, object_id, properties, soft_delete)
        self.jobs.generation += 1
        self._views.clear()
        self._object_count = None
        await self.settle()
        return result

    def _advance_day(self) -> None:
        self.directory.advance_day()
        self._refresh()

    async def stage_incident(self, budget: int) -> None:
        """Play the scripted incident on the live tenant now (see ``Directory.stage_incident``)."""
        await self.settle()
        await self.drain()
        await self.in_directory(self.directory.stage_incident, budget)
        self._views.clear()
        self._object_count = None

    async def history_truth(self, snapshot_a: str, snapshot_b: str) -> list[dict[str, Any]]:
        """What differs between two current snapshots, from the tenant's own history."""
        return await self.in_directory(self.directory.truth_between, snapshot_a, snapshot_b)

    async def reset(self) -> None:
        """Back to the constructed tenant: no jobs, no faults, clock un-advanced."""
        await self.drain()
        async with self.lock:
            await asyncio.to_thread(self._reset_directory)
        self.jobs.reset()
        self.faults.reset()
        self.clock.reset()
        self._views.clear()
        self.audit_throttle.reset()
        self._initiators.clear()

    def _reset_directory(self) -> None:
        self.directory.reset()
        self._refresh()

    async def describe(self) -> dict[str, Any]:
        """The control plane's view of the world."""
        jobs = [{"id": j.id, "kind": j.kind, "snapshotId": j.snapshot_id, "status": j.status,
                 "jobStartDateTime": iso(j.started), "jobCompletionDateTime": iso(j.completed),
                 "failure": j.failure}
                for j in self.jobs.listing()]
        return {
            "tenantId": self.tenant_id,
            "snapshotIdStyle": self.directory.snapshot_id_style,
            "deterministicIds": self.jobs.deterministic_ids,
            "objects": await self.object_count(),
            "snapshots": [{"id": sid, "createdDateTime": iso(t)} for sid, t in self.snapshots],
            "jobs": jobs,
            "faults": self.faults.describe(),
            "clock": iso(self.clock.now()),
            "config": self.config(),
            "audit": await asyncio.to_thread(self.audit.counts, self.clock.now()),
        }

    def config(self) -> dict[str, Any]:
        """Runtime configuration (the ``audit_*`` keys are the audit log's knobs)."""
        return {"latency_ms": self.latency_ms, "job_speed": self.job_speed,
                "sync_flag_in_changes": self.sync_flag_in_changes, **self.audit.settings.as_config()}
