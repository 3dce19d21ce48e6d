"""Fixtures for the engine tests: a real emulator over loopback, sessions on it, and instant polling.

Jobs run at ``job_speed=1e6`` (an hour of documented time is 3.6 ms), polling never sleeps (``sleep`` only
yields to the event loop and records the delays asked for), and every wait is bounded by ``max_polls`` so
a regression fails instead of hanging.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from entrabr_tui import engine
from entrabr_tui.core.model import Job, JobKind
from entrabr_tui.emulator import EmulatorServer
from entrabr_tui.engine import Session
from entrabr_tui.engine.settings import SessionSettings
from entrabr_tui.engine.timing import PollPolicy
from entrabr_tui.graph import RequestBudget
from entrabr_tui.graph.auth import AuthMethod
from entrabr_tui.graph.client import RecoveryClient
from entrabr_tui.graph.credentials import EmulatorCredential
from entrabr_tui.store import StorePaths

FAST = 1e6
MAX_POLLS = 400


class Sleeper:
    """An injectable ``sleep``: records each delay, yields once, and can run a hook before returning."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self.hook: Callable[[int], Awaitable[None]] | None = None

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        if self.hook is not None:
            await self.hook(len(self.delays))
        await asyncio.sleep(0)


@pytest.fixture
def emulator(request: pytest.FixtureRequest) -> Iterator[EmulatorServer]:
    """The emulator (seed 11, 2,000 objects); indirect parametrization passes emulator knobs, e.g.
    ``{"deterministic_ids": True}``."""
    knobs: dict[str, Any] = getattr(request, "param", {})
    server = EmulatorServer(seed=11, objects=2000, job_speed=FAST, **knobs)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def paths(entrabr_home: Path) -> StorePaths:
    return StorePaths.under(entrabr_home)


@pytest.fixture
def sleeper() -> Sleeper:
    return Sleeper()


def settings_for(server: EmulatorServer, role: str = "admin", **overrides: Any) -> SessionSettings:
    options: dict[str, Any] = {"poll": PollPolicy(max_polls=MAX_POLLS)}
    options.update(overrides)
    return SessionSettings(graph_url=server.graph_url(), auth=AuthMethod.EMULATOR, role=role, **options)


@asynccontextmanager
async def sessions_on(server: EmulatorServer, paths: StorePaths, sleeper: Sleeper, *,
                      emulator_clock: bool = False) -> AsyncIterator[Callable[..., Awaitable[Session]]]:
    """``await make(role="admin", **settings)`` opens a session on ``server``; every one is closed at the end.
    With ``emulator_clock`` the sessions read the emulator's clock (so its advanced days are "now") and their
    audit pull has no request budget (the tests turn the emulator's throttle off as well)."""
    opened: list[Session] = []

    def now() -> datetime:
        assert server.service is not None
        return server.service.clock.now()

    async def make(role: str = "admin", **overrides: Any) -> Session:
        settings = settings_for(server, role, **overrides)
        if emulator_clock:
            session = await engine.open_session(settings, paths=paths, sleep=sleeper, clock=now)
            if session.audit.puller is not None:
                session.audit.puller.client.budget = RequestBudget(window=0)
        else:
            session = await engine.open_session(settings, paths=paths, sleep=sleeper)
        opened.append(session)
        return session

    try:
        yield make
    finally:
        for session in opened:
            await session.aclose()


@pytest.fixture
async def open_session(
    emulator: EmulatorServer, paths: StorePaths, sleeper: Sleeper
) -> AsyncIterator[Callable[..., Awaitable[Session]]]:
    """``await open_session(role="admin", **settings)``; every session opened is closed at teardown."""
    async with sessions_on(emulator, paths, sleeper) as make:
        yield make


@pytest.fixture
async def graph(emulator: EmulatorServer) -> AsyncIterator[RecoveryClient]:
    """A client of "another administrator" (not entrabr): its jobs are foreign to the sessions."""
    credential = EmulatorCredential(emulator.base_url, "admin")
    client = RecoveryClient(credential, emulator.graph_url())
    try:
        yield client
    finally:
        await client.aclose()
        await credential.close()


def control(server: EmulatorServer, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{server.base_url}/_emulator/{path}", json=body, timeout=10)
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


async def jobs_of(client: RecoveryClient, kind: JobKind) -> list[Job]:
    return [job for job in await client.list_jobs() if job.kind is kind]
