"""Fixtures for Pilot tests of the terminal UI on the in-memory backend double."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input
from textual.worker import WorkerCancelled

from entrabr_tui.ui.app import EntrabrApp
from entrabr_tui.ui.backend import Backend

from .fake_backend import NOW, FakeBackend

SIZE = (100, 30)


@pytest.fixture(autouse=True)
def no_cursor_blink(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inputs do not blink, so rendering is deterministic."""
    monkeypatch.setattr(Input, "cursor_blink", False)


#: Workers that wait for the user (a dialog is open); waiting for them would never end.
INTERACTIVE_GROUPS = frozenset({"report-flow", "restore-flow", "restore-result", "cancel-flow", "quit",
                                "clear-cache", "export", "interrupted-restore", "unmark-all", "audit-tag",
                                "evidence", "audit-window"})


async def settle(pilot: Pilot[Any]) -> None:
    """Let messages and workers finish (workers post messages that start more workers, so repeat)."""
    for _ in range(8):
        await pilot.pause()
        busy = [w for w in pilot.app.workers if w.group not in INTERACTIVE_GROUPS and not w.is_finished]
        if not busy:
            break
        with contextlib.suppress(WorkerCancelled):  # a newer worker of its group replaced it: look again
            await pilot.app.workers.wait_for_complete(busy)
    await pilot.pause()


async def take_the_plan(pilot: Pilot[Any]) -> None:
    """On the plan review ``r`` opens, take the plan as proposed (enter): the confirmation comes next.

    The restore flow plans in a worker ``settle`` leaves alone (it waits for the user next), so the review
    is waited for by what it shows, not by how long planning takes."""
    from entrabr_tui.ui.screens.plan_review import PlanReviewScreen

    from .palette import wait_until

    await wait_until(pilot, lambda: isinstance(pilot.app.screen, PlanReviewScreen), "the plan review")
    assert isinstance(pilot.app.screen, PlanReviewScreen)
    await pilot.press("enter")
    await settle(pilot)


def factory_for(backend: Backend) -> Callable[[], Awaitable[Backend]]:
    async def factory() -> Backend:
        return backend

    return factory


@asynccontextmanager
async def running(backend: FakeBackend | None = None, size: tuple[int, int] = SIZE,
                  keymap: dict[str, str] | None = None) -> AsyncIterator[tuple[EntrabrApp, Pilot[Any]]]:
    """The app on ``backend`` (default: a fresh administrator tenant), settled after start."""
    app = EntrabrApp(factory_for(backend or FakeBackend()), clock=lambda: NOW, keymap=keymap)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        yield app, pilot


@pytest.fixture(autouse=True)
def utc_local_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Local time is UTC, so times shown "local" (a restore's expected end) render the same everywhere."""
    import time

    monkeypatch.setenv("TZ", "UTC")
    if hasattr(time, "tzset"):
        time.tzset()
