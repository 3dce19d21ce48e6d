"""The garbage collector paused for the app's start-up runs again: when a tenant opens, or after a while when
none does (a sign-in waiting, an error shown)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator

import pytest

from entrabr_tui.ui.app import EntrabrApp
from entrabr_tui.ui.backend import Backend
from entrabr_tui.ui.screens import main

from .conftest import SIZE, running
from .fake_backend import NOW


@pytest.fixture
def paused() -> Iterator[None]:
    """The collector paused as the command line pauses it before the app starts (enabled again after)."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def test_settling_memory_resumes_the_collector(paused: None) -> None:
    main.settle_memory()
    assert gc.isenabled()


async def test_a_tenant_opening_resumes_the_collector(paused: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(main, "SETTLE_AFTER", 0.001)
    async with running() as (app, pilot):
        assert app.main.backups.entries
        for _ in range(3):
            await pilot.pause()
        assert gc.isenabled()


async def test_the_first_listing_is_drawn_before_memory_is_settled(paused: None,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(main, "SETTLE_AFTER", 3600.0)
    async with running() as (app, _pilot):
        assert app.main.backups.entries
        assert not gc.isenabled()  # settled SETTLE_AFTER seconds later, not in the first listing's frame


async def test_the_collector_resumes_when_no_tenant_opens(paused: None, monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    monkeypatch.setattr(main, "COLLECTOR_PAUSE", 0.001)
    never = asyncio.Event()

    async def factory() -> Backend:
        await never.wait()
        raise AssertionError("the session never opens")

    app = EntrabrApp(factory, clock=lambda: NOW)
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(3):
            await pilot.pause()
        assert app.backend is None
        assert gc.isenabled()
