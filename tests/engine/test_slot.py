"""The single job slot: a job entrabr did not start holds it; stop (naming it) or wait until it ends."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from entrabr_tui.core.model import JobKind, RecoveryStatus
from entrabr_tui.emulator import EmulatorServer
from entrabr_tui.engine.errors import SlotBusyError
from entrabr_tui.engine.events import PHASE_WAITING, JobProgress
from entrabr_tui.engine.jobs import SlotMode
from entrabr_tui.engine.session import Session
from entrabr_tui.graph.client import RecoveryClient

from .conftest import FAST, Sleeper, control, jobs_of

OpenSession = Callable[..., Awaitable[Session]]


def _a_day_passes(emulator: EmulatorServer) -> Callable[[int], Awaitable[None]]:
    """A sleep hook: at the first wait the emulated clock moves a day on, so running jobs finish."""

    async def hook(polls: int) -> None:
        if polls == 1:
            control(emulator, "advance", {"days": 1})

    return hook


async def _foreign_job(emulator: EmulatorServer, graph: RecoveryClient, snapshot: str) -> str:
    """Another administrator starts a report that holds the slot for an hour, then jobs run fast again."""
    control(emulator, "config", {"job_speed": 1.0})
    created = await graph.create_preview_job(snapshot)
    control(emulator, "config", {"job_speed": FAST})
    return created.id


async def test_stop_mode_names_the_foreign_job_and_starts_nothing(
    open_session: OpenSession, graph: RecoveryClient, emulator: EmulatorServer
) -> None:
    session = await open_session(slot_mode=SlotMode.STOP)
    snapshots = await session.snapshots()
    foreign = await _foreign_job(emulator, graph, snapshots[1].snapshot.id)

    with pytest.raises(SlotBusyError) as raised:
        await session.ensure_report(snapshots[0].snapshot.id, None)

    assert raised.value.holder.id == foreign
    assert foreign in str(raised.value) and "did not start" in str(raised.value)
    assert [j.id for j in await jobs_of(graph, JobKind.PREVIEW)] == [foreign]
    assert session.runner is not None and not session.runner.busy


async def test_wait_mode_waits_for_the_foreign_job_then_runs(
    open_session: OpenSession, graph: RecoveryClient, emulator: EmulatorServer, sleeper: Sleeper
) -> None:
    session = await open_session()
    snapshots = await session.snapshots()
    foreign = await _foreign_job(emulator, graph, snapshots[1].snapshot.id)
    events: list[JobProgress] = []

    cancelled: list[str] = []

    async def other_admin_cancels(polls: int) -> None:
        waits = [e for e in events if e.phase == PHASE_WAITING]
        if len(waits) == 3 and not cancelled:  # after three polls of the holder, its owner cancels it
            cancelled.append(foreign)
            await graph.cancel_job(foreign)

    sleeper.hook = other_admin_cancels

    info = await session.ensure_report(snapshots[0].snapshot.id, None, events.append)

    waits = [e for e in events if e.phase == PHASE_WAITING]
    assert len(waits) >= 3
    assert all(e.holder is not None and e.holder.id == foreign for e in waits)
    assert foreign in waits[0].text and "not started by entrabr" in waits[0].text
    assert info.complete and info.id != foreign
    listed = {j.id: j.status for j in await jobs_of(graph, JobKind.PREVIEW)}
    assert listed == {foreign: RecoveryStatus.ABANDONED, info.id: RecoveryStatus.SUCCESSFUL}
    # The wait polled with a growing delay, never faster than the policy's first step.
    assert sleeper.delays[0] == pytest.approx(2.0) and sleeper.delays[1] > sleeper.delays[0]


async def test_a_running_report_of_the_same_backup_and_scope_is_watched_not_duplicated(
    open_session: OpenSession, graph: RecoveryClient, emulator: EmulatorServer, sleeper: Sleeper
) -> None:
    session = await open_session(slot_mode=SlotMode.STOP)
    snapshot = await session.resolve_snapshot("latest")
    created = await _foreign_job(emulator, graph, snapshot)  # an hour-long report of the same scope
    sleeper.hook = _a_day_passes(emulator)

    info = await session.ensure_report(snapshot, None)

    assert info.id == created and info.reused and info.complete
    assert len(await jobs_of(graph, JobKind.PREVIEW)) == 1


async def test_cancel_while_waiting_for_the_slot_starts_nothing(
    open_session: OpenSession, graph: RecoveryClient, emulator: EmulatorServer, sleeper: Sleeper
) -> None:
    from entrabr_tui.engine.errors import CancelledBeforeStartError

    session = await open_session()
    snapshots = await session.snapshots()
    foreign = await _foreign_job(emulator, graph, snapshots[1].snapshot.id)
    asked: list[str | None] = []

    async def user_cancels(polls: int) -> None:
        if polls == 2:
            asked.append(await session.cancel())

    sleeper.hook = user_cancels

    with pytest.raises(CancelledBeforeStartError, match="nothing was sent"):
        await session.ensure_report(snapshots[0].snapshot.id, None)

    assert asked == [None]
    assert [j.id for j in await jobs_of(graph, JobKind.PREVIEW)] == [foreign]
    assert session.cache.journal.entries() == []
