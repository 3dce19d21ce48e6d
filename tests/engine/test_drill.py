"""Drills: the scripted incident recovered end to end on the emulator with its steps timed, and the read-only
measure of a full report; both recorded in the history."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from itertools import count

import pytest

from entrabr_tui.core.model import EntityNameAndIdsFilter, JobKind
from entrabr_tui.emulator import EmulatorServer
from entrabr_tui.engine.demo import open_demo, start_demo_server
from entrabr_tui.engine.drill import DrillStep, EmulatorDrill, ReadOnlyDrill
from entrabr_tui.engine.errors import EngineError
from entrabr_tui.engine.session import Session
from entrabr_tui.graph.client import RecoveryClient
from entrabr_tui.store import StorePaths

from .conftest import FAST, control, jobs_of

OpenSession = Callable[..., Awaitable[Session]]


def ticking() -> Callable[[], float]:
    """A clock that moves one second each time it is read (times are exact, never measured)."""
    ticks = count()
    return lambda: float(next(ticks))


async def test_a_drill_recovers_the_scripted_incident_and_records_its_times(paths: StorePaths) -> None:
    server = await start_demo_server(objects=1000, seed=3, job_speed=FAST)
    session = await open_demo(server=server, objects=1000, job_speed=FAST, paths=paths)
    try:
        result = await EmulatorDrill(session, incident_objects=120, timer=ticking()).run()
        assert [s.step for s in result.steps] == list(DrillStep)
        assert all(s.seconds == 1.0 for s in result.steps)  # each step read the clock twice
        assert result.recovery_seconds == 5.0
        assert result.outcome in ("verified", "verified with expected differences"), result.detail
        assert result.changes >= 120 and result.queued > 0 and result.restored > 0
        jobs = await session.jobs(refresh=True)
        assert any(j.kind is JobKind.RECOVERY for j in jobs)
        (entry,) = session.history(actions=["drill"])
        assert entry.outcome == result.outcome and (entry.detail or "").startswith("emulator: ")
        assert entry.counts["reportMs"] == 1000 and entry.counts["recoveryMs"] == 5000
        assert entry.counts["restored"] == result.restored and entry.job_id == result.report_id
        # After the restore, a new report of the same backup no longer lists what was restored.
        current = [e for e in await session.snapshots() if not e.expired]
        latest = max(current, key=lambda e: e.snapshot.created)
        after = await session.ensure_report(latest.snapshot.id, None, fresh=True)
        assert after.downloaded < result.changes
    finally:
        await session.aclose()
        server.stop()


async def test_a_full_drill_refuses_a_real_tenant(open_session: OpenSession) -> None:
    session = await open_session()
    with pytest.raises(EngineError, match="built-in emulator only"):
        await EmulatorDrill(session).run()


async def test_a_read_only_drill_times_one_full_report(open_session: OpenSession, graph: RecoveryClient,
                                                       emulator: EmulatorServer) -> None:
    session = await open_session()
    result = await ReadOnlyDrill(session, timer=ticking()).run()
    assert result.outcome == "measured" and [s.step for s in result.steps] == [DrillStep.REPORT]
    assert result.recovery_seconds == 1.0 and result.changes > 0
    assert len(await jobs_of(graph, JobKind.PREVIEW)) == 1 and await jobs_of(graph, JobKind.RECOVERY) == []
    (entry,) = session.history(actions=["drill"])
    assert entry.outcome == "measured" and entry.counts == {"reportMs": 1000, "recoveryMs": 1000,
                                                            "changes": result.changes}


async def test_a_read_only_drill_never_takes_the_slot_of_a_restore(
        open_session: OpenSession, graph: RecoveryClient, emulator: EmulatorServer) -> None:
    session = await open_session()
    snapshots = await session.snapshots()
    control(emulator, "config", {"job_speed": 1.0})
    scope = EntityNameAndIdsFilter((("user", ("00000000-0000-0000-0000-000000000001",)),))
    await graph.create_recovery_job(snapshots[0].snapshot.id, scope)
    control(emulator, "config", {"job_speed": FAST})
    with pytest.raises(EngineError, match=r"a restore .* holds the job slot"):
        await ReadOnlyDrill(session).run()
    assert await jobs_of(graph, JobKind.PREVIEW) == [] and session.history(actions=["drill"]) == []
