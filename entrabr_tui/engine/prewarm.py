"""Pre-warming: a difference report on every backup that has none, run unattended (cron, a systemd timer), so
the service's first-report cost (loading the backup: up to 1–2.5 h) is paid before an incident needs it.

:class:`Prewarmer` walks the current backups newest first. A backup that already has a complete report of the
scope (or an unscoped one) in the cache is left alone, so running it again does nothing new. For the others
it first looks at what holds the tenant: a restore (or any other job) in the service's single job slot,
another entrabr process holding the tenant, or an interrupted restore waiting to be resumed. It never takes
the slot from them: it waits up to ``wait`` for them to finish and then skips the remaining backups, saying
which job or process held the slot. Reports are started with :attr:`~entrabr_tui.engine.jobs.SlotMode.STOP`,
so a job that takes the slot between the look and the start is not queued behind either.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from entrabr_tui.core.model import FilteringCriteria, JobKind
from entrabr_tui.core.text import format_duration
from entrabr_tui.engine.errors import JobEndedError, OfflineError, SlotBusyError
from entrabr_tui.engine.events import JobProgressCallback, describe_job
from entrabr_tui.engine.jobs import SlotMode
from entrabr_tui.engine.session_log import OpsAction
from entrabr_tui.engine.timing import Sleep, real_sleep

if TYPE_CHECKING:
    from entrabr_tui.engine.session import Session, SnapshotEntry

#: Seconds between two looks at a held job slot while waiting.
WAIT_POLL = 30.0


class PrewarmOutcome(StrEnum):
    """What happened to one backup."""

    CREATED = "created"  # a new report was run and downloaded
    REUSED = "reused"  # a report the service still had was downloaded
    PRESENT = "present"  # the cache already had a complete report
    SKIPPED = "skipped"  # the job slot was held (see ``detail``)
    FAILED = "failed"  # the report job failed at the service


@dataclass(frozen=True, slots=True)
class PrewarmItem:
    """One backup and what pre-warming did for it."""

    snapshot_id: str
    created: datetime
    outcome: PrewarmOutcome
    report_id: str | None = None
    changes: int | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class PrewarmResult:
    """The backups looked at, newest first, and why any were skipped."""

    items: tuple[PrewarmItem, ...]
    scope: FilteringCriteria | None
    waited_seconds: float
    skipped_because: str | None

    def count(self, outcome: PrewarmOutcome) -> int:
        return sum(1 for item in self.items if item.outcome is outcome)


#: Hears "… holds the job slot; waiting …" while the slot is held (for stderr).
WaitCallback = Callable[[str], object]


async def slot_blocker(session: Session) -> str | None:
    """What holds the tenant now, in words (``None``: the slot is free): another entrabr process, an
    interrupted restore waiting to be resumed, or a job in the service's single job slot."""
    other = session.tenant_holder()
    if other is not None:
        return f"{other} holds this tenant"
    interrupted = session.interrupted_restore()
    if interrupted is not None:
        return (f"{interrupted.text}: it waits to be resumed or dropped ('entrabr restore --resume'), "
                "and a report would take the job slot it needs")
    assert session.runner is not None
    jobs = await session.runner.list_jobs()
    holder = session.runner.holder_of(jobs)
    if holder is None:
        return None
    what = "a restore" if holder.kind is JobKind.RECOVERY else "a difference report"
    since = ""
    if holder.started is not None:
        since = f", running for {format_duration((session.clock() - holder.started).total_seconds())}"
    return f"{what} ({describe_job(holder)}{since}) holds the job slot"


class Prewarmer:
    """Runs the missing reports of one tenant's backups (see the module docstring)."""

    def __init__(self, session: Session, *, scope: FilteringCriteria | None = None,
                 wait: timedelta = timedelta(0), limit: int | None = None, poll: float = WAIT_POLL,
                 sleep: Sleep = real_sleep) -> None:
        self.session = session
        self.scope = scope
        self.wait = wait
        self.limit = limit
        self.poll = poll
        self.sleep = sleep
        self.waited = 0.0

    async def run(self, progress: JobProgressCallback | None = None,
                  on_wait: WaitCallback | None = None) -> PrewarmResult:
        session = self.session
        if session.offline:
            raise OfflineError("Pre-warming (running difference reports)")
        entries = [e for e in await session.snapshots(refresh=True) if not e.expired]
        entries.sort(key=lambda e: e.snapshot.created, reverse=True)
        items: list[PrewarmItem] = []
        skipped_because: str | None = None
        started = 0
        for entry in entries:
            present = self._present(entry)
            if present is not None:
                items.append(present)
                continue
            if skipped_because is not None or (self.limit is not None and started >= self.limit):
                reason = skipped_because or f"at most {self.limit} report(s) per run (--limit)"
                items.append(PrewarmItem(entry.snapshot.id, entry.snapshot.created, PrewarmOutcome.SKIPPED,
                                         detail=reason))
                continue
            blocker = await self._wait_for_slot(on_wait)
            if blocker is not None:
                skipped_because = blocker
                items.append(PrewarmItem(entry.snapshot.id, entry.snapshot.created, PrewarmOutcome.SKIPPED,
                                         detail=blocker))
                continue
            started += 1
            items.append(await self._report(entry, progress))
            if items[-1].outcome is PrewarmOutcome.SKIPPED:
                skipped_because = items[-1].detail
        result = PrewarmResult(tuple(items), self.scope, self.waited, skipped_because)
        self._log(result)
        return result

    def _present(self, entry: SnapshotEntry) -> PrewarmItem | None:
        for report in entry.reports:
            if report.complete and (report.scope is None or report.scope == self.scope):
                return PrewarmItem(entry.snapshot.id, entry.snapshot.created, PrewarmOutcome.PRESENT,
                                   report.id, report.downloaded)
        return None

    async def _report(self, entry: SnapshotEntry, progress: JobProgressCallback | None) -> PrewarmItem:
        snapshot = entry.snapshot
        try:
            info = await self.session.ensure_report(snapshot.id, self.scope, progress, mode=SlotMode.STOP)
        except SlotBusyError as exc:
            return PrewarmItem(snapshot.id, snapshot.created, PrewarmOutcome.SKIPPED,
                               detail=f"{describe_job(exc.holder)} took the job slot")
        except JobEndedError as exc:
            return PrewarmItem(snapshot.id, snapshot.created, PrewarmOutcome.FAILED, exc.job.id,
                               detail=exc.message)
        outcome = PrewarmOutcome.REUSED if info.reused else PrewarmOutcome.CREATED
        detail = None if info.complete else info.state_text
        return PrewarmItem(snapshot.id, snapshot.created, outcome, info.id, info.downloaded, detail)

    async def _wait_for_slot(self, on_wait: WaitCallback | None) -> str | None:
        blocker = await slot_blocker(self.session)
        limit = self.wait.total_seconds()
        while blocker is not None and self.waited < limit:
            if on_wait is not None:
                on_wait(f"{blocker}; waiting (up to {format_duration(limit - self.waited)} more)…")
            pause = min(self.poll, limit - self.waited)
            await self.sleep(pause)
            self.waited += pause
            blocker = await slot_blocker(self.session)
        return blocker

    def _log(self, result: PrewarmResult) -> None:
        counts = {o.value: result.count(o) for o in PrewarmOutcome if result.count(o)}
        outcome = "failed" if result.count(PrewarmOutcome.FAILED) else (
            "skipped" if result.skipped_because else "ok")
        self.session.log.write(OpsAction.PREWARM, scope=self.scope, counts=counts, outcome=outcome,
                               detail=result.skipped_because)
