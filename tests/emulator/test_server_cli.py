"""``entrabr emulator``: the token subcommand and serving from a subprocess."""

from __future__ import annotations

import base64
import re
import selectors
import subprocess
import sys
import time

import httpx
import pytest

from entrabr_tui.__main__ import main as entrabr_main
from entrabr_tui.emulator.cli import main
from entrabr_tui.emulator.layout import tenant_id
from entrabr_tui.emulator.tokens import parse_authorization

from .conftest import parse_claims

LINE = re.compile(r"^entrabr emulator listening on (http://127\.0\.0\.1:(\d+)) \(graph: (\S+)\)$")


def test_token_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "--role", "reader", "--expires-in", "90"]) == 0
    token = capsys.readouterr().out.strip()
    claims = parse_authorization(f"Bearer {token}")
    assert "EntraBackup.ReadWrite.Recovery" not in claims.scopes
    assert 80 <= claims.expires - time.time() <= 91
    assert entrabr_main(["emulator", "token", "--role", "app"]) == 0
    assert parse_authorization(f"Bearer {capsys.readouterr().out.strip()}").app_only
    assert main(["token", "--seed", "5", "--objects", "300"]) == 0
    assert parse_claims(capsys.readouterr().out.strip())["tid"] == tenant_id(5, 300)


@pytest.mark.parametrize("argv", [
    ["token", "--role", "owner"],
    ["token", "--expires-in", "soon"],
    ["--job-speed", "0"],
    ["--port", "70000"],
    ["--objects", "0"],
    ["--audit-events", "-1"],
    ["--bogus"],
    ["--snapshot-id-style", "unix"],
])
def test_bad_arguments_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert capsys.readouterr().err


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "--job-speed" in out and "--sync-flag-in-changes" in out and "--deterministic-ids" in out
    assert "--snapshot-id-style" in out


def _read_line(proc: subprocess.Popen[str], limit: float) -> str:
    assert proc.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if selector.select(timeout=0.1):
            return proc.stdout.readline()
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else "exited"
    raise AssertionError("the emulator printed no URL in time")


def test_serve_prints_its_url_and_stops_on_terminate() -> None:
    command = [sys.executable, "-m", "entrabr_tui.emulator.cli", "--port", "0", "--seed", "5",
               "--objects", "300", "--job-speed", "1000", "--latency-ms", "0", "--sync-flag-in-changes",
               "--deterministic-ids", "--snapshot-id-style", "iso", "--audit-events", "250"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = _read_line(proc, 60.0).strip()
        match = LINE.match(line)
        assert match, line
        base, port, graph = match.group(1), int(match.group(2)), match.group(3)
        assert port > 0 and graph == f"{base}/v1.0"
        mint = [sys.executable, "-m", "entrabr_tui.emulator.cli", "token", "--role", "global", "--seed", "5",
                "--objects", "300"]
        token = subprocess.run(mint, capture_output=True, text=True, check=True, timeout=60).stdout.strip()
        response = httpx.get(f"{graph}/directory/recovery/snapshots",
                             headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert response.status_code == 200 and len(response.json()["value"]) == 7
        newest = response.json()["value"][0]
        assert base64.b64decode(newest["id"]).decode() == newest["createdDateTime"]
        config = httpx.get(f"{base}/_emulator/config", timeout=30).json()
        assert config["job_speed"] == 1000.0 and config["sync_flag_in_changes"] is True
        assert config["audit_events"] == 250
        state = httpx.get(f"{base}/_emulator/state", timeout=30).json()
        assert state["deterministicIds"] is True and state["snapshotIdStyle"] == "iso"
        assert state["tenantId"] == parse_claims(token)["tid"] == tenant_id(5, 300)
    finally:
        proc.terminate()
        try:
            code = proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert code == 0
