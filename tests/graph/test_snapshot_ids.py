"""Snapshot ids are opaque: they go from the list to every request and back to the caller unchanged.

Two shapes: the live service's (base64 of epoch seconds, ``==`` padding) and the documentation's (base64 of
an ISO timestamp). The emulator makes the first; the second is shown by a front that presents one of the
emulator's snapshots under such an id (requests name it, the emulator behind sees its own).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, unquote

import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from entrabr_tui.core.model import JobKind
from entrabr_tui.emulator import EmulatorServer, runner
from entrabr_tui.emulator.app import create_app
from entrabr_tui.emulator.service import EmulatorService
from entrabr_tui.graph import RecoveryClient

from .conftest import Control, SleepRecorder, fast_policy
from .token_credential import StaticTokenCredential

DOCS_ID = base64.b64encode(b"2026-03-20T22:00:00Z").decode()  # "MjAyNi0wMy0yMFQyMjowMDowMFo="
POLL: dict[str, Any] = {"interval": 0.005, "max_polls": 4000}


def _forms(text: str) -> list[bytes]:
    return [text.encode(), quote(text, safe="").encode()]


class AliasFront:
    """Shows the emulator's oldest snapshot as ``alias``; records request paths as the client sent them."""

    def __init__(self, app: ASGIApp, service: EmulatorService, alias: str) -> None:
        self.app = app
        self.alias = alias
        self.real = service.snapshots[-1][0]
        self.paths: list[str] = []

    def _in(self, data: bytes) -> bytes:
        for alias, real in zip(_forms(self.alias), _forms(self.real), strict=True):
            data = data.replace(alias, real)
        return data

    def _out(self, data: bytes) -> bytes:
        for alias, real in zip(_forms(self.alias), _forms(self.real), strict=True):
            data = data.replace(real, alias)
        return data

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_emulator"):
            await self.app(scope, receive, send)
            return
        self.paths.append(scope["path"])
        raw = scope.get("raw_path") or scope["path"].encode()
        scope = dict(scope, path=scope["path"].replace(self.alias, self.real), raw_path=self._in(raw))
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        body = self._out(b"".join(chunks))
        headers = [(k, self._out(v)) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": start["status"], "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})


@pytest.fixture
def docs_id_emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[EmulatorServer, AliasFront]]:
    fronts: list[AliasFront] = []

    def aliased(service: EmulatorService) -> ASGIApp:
        fronts.append(AliasFront(create_app(service), service, DOCS_ID))
        return fronts[-1]

    monkeypatch.setattr(runner, "create_app", aliased)
    with EmulatorServer(seed=3, objects=400, job_speed=1e6) as server:
        yield server, fronts[0]


async def round_trip(server: EmulatorServer, snapshot_id: str, sleeps: SleepRecorder) -> list[str]:
    """list → create a report → read it → its changes; returns the snapshot URLs the walk used."""
    credential = StaticTokenCredential(server.token("admin"))
    async with RecoveryClient(credential, server.graph_url(), retry=fast_policy(sleeps)) as client:
        assert snapshot_id in [s.id for s in await client.list_snapshots()]
        created = await client.create_preview_job(snapshot_id)
        assert created.snapshot_id == snapshot_id
        assert f"/snapshots/{snapshot_id}/recoveryPreviewJobs/{created.id}" in unquote(created.location)
        job = await client.get_job(JobKind.PREVIEW, snapshot_id, created.id)
        assert job.id == created.id
        job = await client.wait_for_job(JobKind.PREVIEW, snapshot_id, created.id, **POLL)
        assert job.status_raw == "successful"
        result = await client.read_changes(snapshot_id, job.id, top=50, job=job)
        assert result.complete and result.changes
        walk = client.iter_change_pages(snapshot_id, job.id, top=50)
        return [page.url async for page in walk]


async def test_a_padded_live_style_id_round_trips(
    emulator_server: Any, control: Control, sleeps: SleepRecorder
) -> None:
    snapshot_id = control.state()["snapshots"][-1]["id"]
    assert snapshot_id.endswith("==")
    urls = await round_trip(emulator_server, snapshot_id, sleeps)
    assert urls and all(f"/snapshots/{snapshot_id}/" in unquote(url) for url in urls)


async def test_a_documentation_style_id_round_trips(
    docs_id_emulator: tuple[EmulatorServer, AliasFront], sleeps: SleepRecorder
) -> None:
    server, front = docs_id_emulator
    assert base64.b64decode(DOCS_ID) == b"2026-03-20T22:00:00Z" and DOCS_ID.endswith("=")
    urls = await round_trip(server, DOCS_ID, sleeps)
    assert urls and all(f"/snapshots/{DOCS_ID}/" in unquote(url) for url in urls)
    scoped = [path for path in front.paths if "/snapshots/" in path]
    assert scoped and all(path.split("/snapshots/")[1].split("/")[0] == DOCS_ID for path in scoped)
    assert front.real not in "".join(front.paths)  # the client only ever named the id it was given
