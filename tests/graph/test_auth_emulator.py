"""The emulator credential: tokens minted per role by ``GET /_emulator/token``, over real loopback HTTP."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError

from entrabr_tui.core.capabilities import AccessKind, BackupRole
from entrabr_tui.graph.auth import AuthMethod, AuthSettings, build_credential
from entrabr_tui.graph.auth_errors import SignInConfigError, SignInFailed
from entrabr_tui.graph.credentials import EmulatorCredential


class StubEmulator:
    """A minimal stand-in for the emulator's control plane: counts requests, can misbehave on demand."""

    def __init__(self) -> None:
        self.calls: list[dict[str, list[str]]] = []
        self.mode = "ok"  # ok | garbage | error
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                stub.calls.append(query)
                if parts.path != "/_emulator/token" or stub.mode == "error":
                    self._send(400, b'{"error": "bad role"}')
                elif stub.mode == "garbage":
                    self._send(200, b"<html>not json")
                else:
                    role = query.get("role", ["admin"])[0]
                    claims = {"upn": f"{role}@emulator.example", "tid": "t", "scp": "EntraBackup.Read.All",
                              "wids": ["f42252d9-5400-4d7b-b9ef-cc582dbb8577"], "exp": 4_000_000_000}
                    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
                    token = f"eyJhbGciOiJub25lIn0.{payload}.n{len(stub.calls)}"
                    body = {"access_token": token, "token_type": "Bearer", "expires_on": 4_000_000_000}
                    self._send(200, json.dumps(body).encode())

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> StubEmulator:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub() -> Iterator[StubEmulator]:
    with StubEmulator() as server:
        yield server


async def test_emulator_credential_mints_and_reuses_tokens(stub: StubEmulator) -> None:
    credential = EmulatorCredential(f"{stub.origin}/v1.0", "reader")
    assert credential.origin == stub.origin
    first = await credential.get_token("http://127.0.0.1/.default", enable_cae=True)
    second = await credential.get_token("http://127.0.0.1/.default")
    assert isinstance(first, AccessToken) and first == second
    assert len(stub.calls) == 1
    assert stub.calls[0]["role"] == ["reader"]
    # A claims challenge (the service rejected the token) forces a fresh one.
    third = await credential.get_token("http://127.0.0.1/.default", claims='{"access_token":{}}')
    assert third.token != first.token and len(stub.calls) == 2
    assert first.token not in repr(credential)
    await credential.close()


async def test_emulator_errors_are_authentication_errors(stub: StubEmulator) -> None:
    stub.mode = "garbage"
    credential = EmulatorCredential(stub.origin, "admin")
    with pytest.raises(ClientAuthenticationError, match="malformed"):
        await credential.get_token("x")
    stub.mode = "error"
    with pytest.raises(ClientAuthenticationError, match="HTTP 400"):
        await credential.get_token("x")
    await credential.close()


async def test_emulator_unreachable_is_a_network_failure(stub: StubEmulator, tmp_path: Path) -> None:
    origin = stub.origin
    stub.__exit__()  # nothing listens on that port any more
    sign_in = build_credential(
        AuthSettings(method=AuthMethod.EMULATOR, graph_url=f"{origin}/v1.0"), prompt=None, state_dir=tmp_path
    )
    with pytest.raises(SignInFailed) as info:
        await sign_in.sign_in()
    assert info.value.network
    await sign_in.close()


def test_emulator_settings_are_validated(tmp_path: Path) -> None:
    with pytest.raises(SignInConfigError, match="role"):
        settings = AuthSettings(
            method=AuthMethod.EMULATOR, graph_url="http://127.0.0.1:9/v1.0", emulator_role="root"
        )
        build_credential(settings, prompt=None, state_dir=tmp_path)
    with pytest.raises(ValueError):
        EmulatorCredential("127.0.0.1:9")


@pytest.mark.parametrize(
    ("role", "kind", "backup_role", "can_restore"),
    [
        ("reader", AccessKind.DELEGATED, BackupRole.READER, False),
        ("admin", AccessKind.DELEGATED, BackupRole.ADMINISTRATOR, True),
        ("global", AccessKind.DELEGATED, BackupRole.GLOBAL_ADMINISTRATOR, True),
        ("app", AccessKind.APP_ONLY, BackupRole.NONE, False),
    ],
)
async def test_sign_in_against_the_real_emulator(
    emulator_server: Any,
    tmp_path: Path,
    role: str,
    kind: AccessKind,
    backup_role: BackupRole,
    can_restore: bool,
) -> None:
    from entrabr_tui.graph import RecoveryClient

    settings = AuthSettings(
        method=AuthMethod.EMULATOR, graph_url=emulator_server.graph_url(), emulator_role=role
    )
    sign_in = build_credential(settings, prompt=None, state_dir=tmp_path)
    result = await sign_in.sign_in()
    caps = result.capabilities
    assert (caps.kind, caps.role, caps.can_restore, caps.can_read) == (kind, backup_role, can_restore, True)
    assert result.silent and not result.record_saved
    # The credential plugs into the Graph client as is.
    async with RecoveryClient(sign_in.credential, settings.graph_url) as client:
        snapshots = await client.list_snapshots()
    assert snapshots
    await sign_in.close()
