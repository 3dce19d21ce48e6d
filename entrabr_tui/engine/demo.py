"""The built-in demo tenant: an in-process emulator and a session signed in to it, with no setup.

The emulator runs on a loopback port in a background thread; the session signs in with the emulator
credential for the chosen role (``admin`` restores, ``reader`` sees the read-only experience) and stops
the emulator when it is closed. Job durations are the documented ones divided by ``job_speed``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from entrabr_tui.engine.jobs import SlotMode
from entrabr_tui.engine.opening import open_session
from entrabr_tui.engine.session import Session
from entrabr_tui.engine.settings import SessionSettings
from entrabr_tui.engine.timing import Clock, PollPolicy, Sleep, real_sleep, utc_now
from entrabr_tui.graph.auth import AuthMethod
from entrabr_tui.graph.requests import MAX_PAGE_SIZE
from entrabr_tui.graph.resilience import RetryPolicy
from entrabr_tui.store import StorePaths

#: An hour of documented loading time takes six seconds in the demo.
DEMO_JOB_SPEED = 600.0
#: Demo jobs last seconds, not hours: poll a few times a second.
DEMO_POLL = PollPolicy(initial=0.1, factor=1.5, caps=((60.0, 0.5),), ceiling=1.0)


async def start_demo_server(*, objects: int = 2000, seed: int = 1, job_speed: float = DEMO_JOB_SPEED,
                            latency_ms: int = 0) -> Any:
    """Start the demo tenant's emulator on a loopback port (stop it with ``server.stop()``). Its modules
    are loaded, and its tenant built, in a worker thread: the event loop (an app's screen) stays live."""
    return await asyncio.to_thread(_start_server, objects, seed, job_speed, latency_ms)


def _start_server(objects: int, seed: int, job_speed: float, latency_ms: int) -> Any:
    from entrabr_tui.emulator import EmulatorServer

    server = EmulatorServer(seed=seed, objects=objects, job_speed=job_speed, latency_ms=latency_ms)
    server.start()
    return server


async def open_demo(
    *,
    role: str = "admin",
    objects: int = 2000,
    seed: int = 1,
    job_speed: float = DEMO_JOB_SPEED,
    latency_ms: int = 0,
    paths: StorePaths | None = None,
    server: Any = None,
    poll: PollPolicy = DEMO_POLL,
    slot_mode: SlotMode = SlotMode.WAIT,
    page_size: int = MAX_PAGE_SIZE,
    tenant: str | None = None,
    clock: Clock = utc_now,
    sleep: Sleep = real_sleep,
    retry: RetryPolicy | None = None,
) -> Session:
    """Start an emulator (``objects`` objects, ``seed``) and open a session on it as ``role``.

    ``server`` is an emulator already running (from :func:`start_demo_server`, started with the same
    ``objects`` and ``job_speed``): the session uses it and leaves it running, so a later session sees the
    same tenant. ``poll``, ``slot_mode``, ``page_size`` and ``tenant`` are
    :class:`SessionSettings` fields; ``clock``, ``sleep`` and ``retry`` go to
    :func:`~entrabr_tui.engine.opening.open_session`.
    """
    owned = server is None
    if server is None:
        server = await start_demo_server(objects=objects, seed=seed, job_speed=job_speed,
                                         latency_ms=latency_ms)
    settings = SessionSettings(graph_url=server.graph_url(), auth=AuthMethod.EMULATOR, role=role,
                               tenant_objects=objects, duration_scale=1 / job_speed, poll=poll,
                               journal_settle=30.0 / job_speed,
                               slot_mode=slot_mode, page_size=page_size, tenant=tenant)

    async def stop() -> None:
        await asyncio.to_thread(server.stop)

    try:
        session = await open_session(settings, paths=paths, on_close=[stop] if owned else [], clock=clock,
                                     sleep=sleep, retry=retry)
    except BaseException:
        if owned:
            await stop()
        raise
    session.emulator = server
    return session
