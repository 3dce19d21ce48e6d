"""The app on a demo session (the built-in emulator in-process), and a report created through its dialog."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from textual.pilot import Pilot

from entrabr_tui.engine import Session, open_demo
from entrabr_tui.engine.timing import PollPolicy
from entrabr_tui.ui.app import EntrabrApp
from entrabr_tui.ui.backend import Backend
from entrabr_tui.ui.screens.report_flow import ScopeDialog
from entrabr_tui.ui.widgets.toggles import TextCheckbox

from .conftest import settle

FAST = 1e6


async def no_wait(_seconds: float) -> None:
    await asyncio.sleep(0)


@asynccontextmanager
async def demo(role: str, size: tuple[int, int] = (100, 30)
               ) -> AsyncIterator[tuple[EntrabrApp, Pilot[Any], Session]]:
    sessions: list[Session] = []

    async def factory() -> Backend:
        session = await open_demo(role=role, objects=400, job_speed=FAST, sleep=no_wait,
                                  poll=PollPolicy(max_polls=400), page_size=100)
        sessions.append(session)
        return session

    app = EntrabrApp(factory)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        assert sessions, "the demo session did not open"
        yield app, pilot, sessions[0]
    assert sessions[0].closed


async def create_report(app: EntrabrApp, pilot: Pilot[Any], fresh: bool = False) -> None:
    await pilot.press("1", "g", "n")
    await settle(pilot)
    assert isinstance(app.screen, ScopeDialog)
    if fresh != app.screen.query_one("#scope-fresh", TextCheckbox).value:
        await pilot.click("#scope-fresh")
    await pilot.click("#create")
    await settle(pilot)
