"""Fixtures for the Graph client tests: instant retries and emulators (the static-token credential is in
:mod:`.token_credential`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from entrabr_tui.graph import RecoveryClient, RetryPolicy

from .token_credential import StaticTokenCredential


@dataclass
class SleepRecorder:
    """An instant ``sleep`` that records every requested delay."""

    delays: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def fast_policy(sleeps: SleepRecorder, **overrides: Any) -> RetryPolicy:
    """A retry policy with instant sleeps and a fixed jitter draw (half of the allowed jitter)."""
    settings: dict[str, Any] = {"sleep": sleeps, "rng": lambda: 0.5, "max_attempts": 4}
    settings.update(overrides)
    return RetryPolicy(**settings)


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


# -- the emulator (real loopback HTTP) -------------------------------------------------------------------

SMALL_TENANT: dict[str, Any] = {"seed": 11, "objects": 1200, "job_speed": 1e6}
BIG_DRIFT = 5200  # enough changes for >= 5,000 at $top=999
BIG_TENANT: dict[str, Any] = {"seed": 5, "objects": 6000, "drift": BIG_DRIFT, "job_speed": 1e6}


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[Any]:
    from entrabr_tui.emulator import EmulatorServer

    server = EmulatorServer(**SMALL_TENANT)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def big_emulator() -> Iterator[Any]:
    from entrabr_tui.emulator import EmulatorServer

    server = EmulatorServer(**BIG_TENANT)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class Control:
    """The emulator's control plane (never under /v1.0)."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.http = httpx.Client(base_url=server.base_url, timeout=30.0)

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.http.post(f"/_emulator/{path}", json=body or {})
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        self.post("reset")

    def fault(self, kind: str, **spec: Any) -> str:
        return str(self.post("faults", {"kind": kind, **spec})["id"])

    def clear_faults(self) -> None:
        self.http.delete("/_emulator/faults").raise_for_status()

    def config(self, **values: Any) -> Any:
        return self.post("config", values)

    def state(self) -> Any:
        response = self.http.get("/_emulator/state")
        response.raise_for_status()
        return response.json()

    def faults_fired(self) -> list[int]:
        return [int(f["fired"]) for f in self.state()["faults"]]


@pytest.fixture
def control(emulator_server: Any) -> Iterator[Control]:
    ctl = Control(emulator_server)
    ctl.reset()
    # a test may have slowed the jobs down
    ctl.config(latency_ms=0, job_speed=SMALL_TENANT["job_speed"], sync_flag_in_changes=False)
    try:
        yield ctl
    finally:
        ctl.http.close()


ClientFactory = Callable[..., RecoveryClient]


@pytest.fixture
async def make_client(
    emulator_server: Any, control: Control, sleeps: SleepRecorder
) -> AsyncIterator[ClientFactory]:
    """``make_client(role="admin", version="v1.0", **kwargs)`` → a RecoveryClient on the emulator."""
    clients: list[RecoveryClient] = []

    def factory(
        role: str = "admin", version: str = "v1.0", server: Any = None, **kwargs: Any
    ) -> RecoveryClient:
        target = server or emulator_server
        kwargs.setdefault("retry", fast_policy(sleeps))
        credential = StaticTokenCredential(target.token(role))
        client = RecoveryClient(credential, target.graph_url(version), **kwargs)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        await client.aclose()
