"""Drills: a recovery practised end to end with its times measured, and how long a full report takes now.

* :class:`EmulatorDrill` plays the scripted incident on the built-in emulator (users disabled and renamed, a
  Conditional Access policy switched to report-only, a group deleted …, right after the newest backup) and
  then does what an administrator would: a difference report of the newest backup, triage (every
  recoverable change of the report is queued), the restore plan, the restore, and the verification
  preview after it. Each step is timed with a monotonic clock.
* :class:`ReadOnlyDrill` runs one fresh, unscoped difference report of the newest backup of a real tenant
  and times it (it changes nothing in the tenant). Like ``prewarm`` it never takes the job slot from a
  running restore or report: it refuses, naming the holder.

Both record one ``drill`` entry in the session history (``entrabr status`` shows the last one): the outcome
(the verification's verdict, ``measured``, or ``failed``), the times in milliseconds and the counts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import httpx

from entrabr_tui.core.text import format_duration
from entrabr_tui.engine.errors import EngineError, SlotBusyError
from entrabr_tui.engine.events import JobProgressCallback, RestoreProgressCallback
from entrabr_tui.engine.jobs import SlotMode
from entrabr_tui.engine.prewarm import slot_blocker
from entrabr_tui.engine.session_log import OpsAction

if TYPE_CHECKING:
    from entrabr_tui.engine.session import Session, SnapshotEntry

#: Objects the scripted incident touches unless told otherwise.
INCIDENT_OBJECTS = 300
#: Seconds the emulator may take to stage the incident.
CONTROL_TIMEOUT = 120.0


class DrillRefusedError(EngineError):
    """A read-only drill found the tenant held (the message names the holder); nothing was started."""


class DrillStep(StrEnum):
    """The measured steps, in order."""

    INCIDENT = "incident"  # the emulator plays the incident (not part of the recovery time)
    REPORT = "report"
    TRIAGE = "triage"
    PLAN = "plan"
    RESTORE = "restore"
    VERIFY = "verify"


@dataclass(frozen=True, slots=True)
class StepTime:
    """How long one step took, and what it did."""

    step: DrillStep
    seconds: float
    detail: str


@dataclass(frozen=True, slots=True)
class DrillResult:
    """One drill: its kind (``emulator`` or ``read-only``), when it started, its steps and outcome."""

    kind: str
    tenant: str
    started: datetime
    steps: tuple[StepTime, ...]
    outcome: str
    detail: str
    snapshot_id: str | None
    report_id: str | None
    changes: int
    queued: int = 0
    restored: int = 0
    failed: int = 0

    @property
    def recovery_seconds(self) -> float:
        """From the report's start to the end of the last step (the incident itself is not counted)."""
        return sum(s.seconds for s in self.steps if s.step is not DrillStep.INCIDENT)

    def seconds(self, step: DrillStep) -> float | None:
        return next((s.seconds for s in self.steps if s.step is step), None)


Timer = Callable[[], float]


class _Steps:
    """Times steps with a monotonic clock."""

    def __init__(self, timer: Timer) -> None:
        self.timer = timer
        self.done: list[StepTime] = []
        self._start = 0.0

    def start(self) -> None:
        self._start = self.timer()

    def end(self, step: DrillStep, detail: str) -> None:
        self.done.append(StepTime(step, max(0.0, self.timer() - self._start), detail))


def _record(session: Session, result: DrillResult) -> None:
    counts: dict[str, Any] = {f"{s.step.value}Ms": round(s.seconds * 1000) for s in result.steps}
    counts.update(recoveryMs=round(result.recovery_seconds * 1000), changes=result.changes)
    if result.kind == "emulator":
        counts.update(queued=result.queued, restored=result.restored, failed=result.failed)
    session.log.write(OpsAction.DRILL, snapshot_id=result.snapshot_id, job_id=result.report_id,
                      counts=counts, outcome=result.outcome,
                      detail=f"{result.kind}: {result.detail}"[:1000])


async def _newest(session: Session) -> SnapshotEntry:
    entries = [e for e in await session.snapshots(refresh=True) if not e.expired]
    if not entries:
        raise EngineError("The tenant lists no backup: there is nothing to drill on.")
    return max(entries, key=lambda e: e.snapshot.created)


class EmulatorDrill:
    """The scripted incident and its recovery on the session's built-in emulator (see the module
    docstring)."""

    def __init__(self, session: Session, *, incident_objects: int = INCIDENT_OBJECTS,
                 timer: Timer = time.monotonic) -> None:
        self.session = session
        self.incident_objects = incident_objects
        self.timer = timer

    async def run(self, progress: JobProgressCallback | None = None,
                  restore_progress: RestoreProgressCallback | None = None) -> DrillResult:
        session = self.session
        server = session.emulator
        if server is None:
            raise EngineError("A full drill runs on the built-in emulator only.")
        started = session.clock()
        steps = _Steps(self.timer)
        steps.start()
        async with httpx.AsyncClient(timeout=CONTROL_TIMEOUT) as client:
            response = await client.post(f"{server.base_url}/_emulator/incident",
                                         json={"objects": self.incident_objects})
            response.raise_for_status()
        steps.end(DrillStep.INCIDENT, f"{self.incident_objects:,} objects touched after the newest backup")

        entry = await _newest(session)
        steps.start()
        report = await session.ensure_report(entry.snapshot.id, None, progress, fresh=True)
        steps.end(DrillStep.REPORT, f"{report.downloaded:,} change objects")

        steps.start()
        session.unmark_all()
        queued = session.mark_where(report.id, recoverable=True)
        steps.end(DrillStep.TRIAGE, f"{queued:,} recoverable changes queued")

        steps.start()
        plan = session.plan(report.id)
        steps.end(DrillStep.PLAN, f"{len(plan.ids):,} objects in {plan.batch_count} recovery job(s)")
        if plan.is_empty:
            raise EngineError("The drill's report has nothing recoverable to restore.")

        steps.start()
        result = await session.restore(plan, restore_progress)
        failed = len(result.failed)
        steps.end(DrillStep.RESTORE, f"{result.objects_modified:,} objects modified, {failed:,} failed")

        steps.start()
        verification = await session.verify_restore(plan, result, progress)
        steps.end(DrillStep.VERIFY, verification.summary)

        drill = DrillResult("emulator", session.tenant, started, tuple(steps.done),
                            verification.verdict.value, verification.summary, entry.snapshot.id, report.id,
                            report.downloaded, queued, result.objects_modified, failed)
        _record(session, drill)
        return drill


class ReadOnlyDrill:
    """How long one full difference report of the newest backup takes now (see the module docstring)."""

    def __init__(self, session: Session, *, timer: Timer = time.monotonic) -> None:
        self.session = session
        self.timer = timer

    async def run(self, progress: JobProgressCallback | None = None) -> DrillResult:
        session = self.session
        started = session.clock()
        entry = await _newest(session)
        blocker = await slot_blocker(session)
        if blocker is not None:
            raise DrillRefusedError(f"No drill: {blocker}.")
        steps = _Steps(self.timer)
        steps.start()
        try:
            report = await session.ensure_report(entry.snapshot.id, None, progress, fresh=True,
                                                 mode=SlotMode.STOP)
        except SlotBusyError as exc:
            raise DrillRefusedError(f"No drill: {exc.message}") from None
        steps.end(DrillStep.REPORT, f"{report.downloaded:,} change objects")
        seconds = steps.done[-1].seconds
        complete = report.complete
        detail = (f"a full report of the backup of {entry.snapshot.created:%Y-%m-%d %H:%MZ} took "
                  f"{format_duration(seconds)}" + ("" if complete else f" ({report.state_text})"))
        drill = DrillResult("read-only", session.tenant, started, tuple(steps.done),
                            "measured" if complete else "incomplete", detail, entry.snapshot.id, report.id,
                            report.downloaded)
        _record(session, drill)
        return drill
