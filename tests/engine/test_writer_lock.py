"""Two sessions on one home (as two processes would be): the second waits for the tenant's writer lock,
saying who holds it and how far the download got, then reuses the report; the service ran one job."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from entrabr_tui.core.model import JobKind
from entrabr_tui.emulator import EmulatorServer
from entrabr_tui.engine.events import PHASE_WAITING, JobProgress
from entrabr_tui.engine.session import Session
from entrabr_tui.graph.client import RecoveryClient

from .conftest import Sleeper, control, jobs_of

OpenSession = Callable[..., Awaitable[Session]]


async def test_a_second_session_waits_for_the_first_and_reuses_its_report(
    open_session: OpenSession, emulator: EmulatorServer, graph: RecoveryClient, sleeper: Sleeper
) -> None:
    first, second = await open_session(), await open_session()
    snapshot = await first.resolve_snapshot("latest")
    control(emulator, "config", {"job_speed": 1.0})  # the report job runs until time is advanced below
    heard: list[JobProgress] = []
    advanced = False

    async def advance_once_the_second_waits(_polls: int) -> None:
        nonlocal advanced
        waiting = any(e.phase == PHASE_WAITING and "another entrabr" in e.text for e in heard)
        if not advanced and waiting and await jobs_of(graph, JobKind.PREVIEW):
            advanced = True  # the first's job exists and the second waits: let the job end
            control(emulator, "advance", {"days": 1})

    sleeper.hook = advance_once_the_second_waits
    running = asyncio.create_task(first.ensure_report(snapshot, None))
    await asyncio.sleep(0)  # the first holds the tenant before the second asks
    assert first.writer.lock is not None and first.writer.lock.held
    holder = second.tenant_holder()
    assert holder is not None and holder.startswith("another entrabr (report")
    waited = await second.ensure_report(snapshot, None, heard.append)
    made = await running

    [job] = await jobs_of(graph, JobKind.PREVIEW)
    assert made.id == waited.id == job.id and made.complete and waited.complete and waited.reused
    waits = [e.text for e in heard if e.phase == PHASE_WAITING]
    assert waits and "is downloading a report of this tenant; waiting" in waits[0]
    assert second.tenant_holder() is None and first.tenant_holder() is None
