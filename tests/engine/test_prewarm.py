"""Pre-warming: a report once per new backup, day after day, and never the job slot of a running restore."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from entrabr_tui.core.model import EntityNameAndIdsFilter, JobKind, RecoveryStatus
from entrabr_tui.emulator import EmulatorServer
from entrabr_tui.engine.prewarm import Prewarmer, PrewarmOutcome
from entrabr_tui.engine.session import Session
from entrabr_tui.graph.client import RecoveryClient
from entrabr_tui.store.writer_lock import TenantLock, lock_path

from .conftest import FAST, Sleeper, control, jobs_of

OpenSession = Callable[..., Awaitable[Session]]


async def test_prewarm_runs_once_per_new_backup(open_session: OpenSession, graph: RecoveryClient,
                                                emulator: EmulatorServer) -> None:
    session = await open_session()
    first = await Prewarmer(session).run()
    assert first.count(PrewarmOutcome.CREATED) == 7 and first.skipped_because is None
    assert len(await jobs_of(graph, JobKind.PREVIEW)) == 7
    again = await Prewarmer(session).run()  # nothing new: nothing runs
    assert again.count(PrewarmOutcome.PRESENT) == 7 and again.count(PrewarmOutcome.CREATED) == 0
    assert len(await jobs_of(graph, JobKind.PREVIEW)) == 7
    for day in range(1, 3):  # each day one new backup, one new report
        control(emulator, "advance", {"days": 1})
        result = await Prewarmer(session).run()
        assert result.count(PrewarmOutcome.CREATED) == 1, day
        assert result.count(PrewarmOutcome.PRESENT) == 6  # the oldest backup expired
        assert result.items[0].outcome is PrewarmOutcome.CREATED  # the new one is the newest
        assert result.items[0].report_id is not None and result.items[0].changes
    entries = await session.snapshots()
    assert all(e.report is not None and e.report.complete for e in entries if not e.expired)
    history = session.history(actions=["prewarm"])
    assert len(history) == 4 and history[0].counts == {"created": 1, "present": 6}


async def _foreign_restore(emulator: EmulatorServer, graph: RecoveryClient, snapshot: str) -> str:
    """Another administrator starts a restore that holds the slot for hours (then jobs run fast again)."""
    control(emulator, "config", {"job_speed": 1.0})
    scope = EntityNameAndIdsFilter((("user", ("00000000-0000-0000-0000-000000000001",)),))
    created = await graph.create_recovery_job(snapshot, scope)
    control(emulator, "config", {"job_speed": FAST})
    return created.id


async def test_prewarm_skips_while_a_restore_holds_the_slot_and_says_so(
        open_session: OpenSession, graph: RecoveryClient, emulator: EmulatorServer) -> None:
    session = await open_session()
    snapshots = await session.snapshots()
    restore = await _foreign_restore(emulator, graph, snapshots[0].snapshot.id)
    result = await Prewarmer(session).run()
    assert result.count(PrewarmOutcome.SKIPPED) == 7 and result.count(PrewarmOutcome.CREATED) == 0
    assert result.skipped_because is not None
    assert "a restore" in result.skipped_because and restore in result.skipped_because
    assert await jobs_of(graph, JobKind.PREVIEW) == []  # the slot was never asked for
    assert session.history(actions=["prewarm"])[0].outcome == "skipped"


async def test_prewarm_waits_up_to_its_limit_for_the_restore_to_end(
        open_session: OpenSession, graph: RecoveryClient, emulator: EmulatorServer, sleeper: Sleeper) -> None:
    session = await open_session()
    snapshots = await session.snapshots()
    restore = await _foreign_restore(emulator, graph, snapshots[0].snapshot.id)
    notices: list[str] = []

    async def restore_ends(polls: int) -> None:
        if polls == 2:  # after two looks, the other administrator's restore is over
            await graph.cancel_job(restore, kind=JobKind.RECOVERY)

    sleeper.hook = restore_ends
    result = await Prewarmer(session, wait=timedelta(minutes=30), poll=60, sleep=sleeper).run(
        on_wait=notices.append)
    assert result.count(PrewarmOutcome.CREATED) == 7 and result.skipped_because is None
    assert result.waited_seconds == 120 and sleeper.delays[:2] == [60, 60]
    assert notices and "a restore" in notices[0] and "waiting" in notices[0]
    jobs = {j.id: j for j in await graph.list_jobs()}
    assert jobs[restore].status is RecoveryStatus.ABANDONED  # it ended on its own terms, never cut short


async def test_prewarm_gives_up_after_its_limit(open_session: OpenSession, graph: RecoveryClient,
                                                emulator: EmulatorServer, sleeper: Sleeper) -> None:
    session = await open_session()
    snapshots = await session.snapshots()
    await _foreign_restore(emulator, graph, snapshots[0].snapshot.id)
    result = await Prewarmer(session, wait=timedelta(minutes=2), poll=60, sleep=sleeper).run()
    assert result.waited_seconds == 120 and result.count(PrewarmOutcome.SKIPPED) == 7


async def test_prewarm_skips_while_another_entrabr_holds_the_tenant(open_session: OpenSession,
                                                                   graph: RecoveryClient) -> None:
    session = await open_session()
    other = TenantLock(lock_path(session.cache.db.path))
    assert other.try_acquire("restore") is None
    try:
        result = await Prewarmer(session).run()
    finally:
        other.release()
    assert result.skipped_because is not None and "(restore, pid" in result.skipped_because
    assert await jobs_of(graph, JobKind.PREVIEW) == []
    assert (await Prewarmer(session, limit=2).run()).count(PrewarmOutcome.CREATED) == 2
