"""An audit pull killed with SIGKILL at seeded points resumes exactly: every record of the window once, no
gap, no duplicate, one finished pull."""

from __future__ import annotations

import itertools
import os
import random
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from entrabr_tui.emulator import EmulatorServer
from entrabr_tui.store.cache import Cache

CHILD = Path(__file__).with_name("audit_pull_child.py")
NOW = datetime(2026, 3, 21, 9, 30, tzinfo=UTC)
SINCE = NOW - timedelta(days=20)


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(seed=11, objects=1500, job_speed=1e6, now=NOW, audit_events=3000) as emu:
        httpx.post(f"{emu.base_url}/_emulator/config", json={
            "audit_latency_s": 0, "audit_gap_fraction": 0.0, "audit_throttle_window_s": 0}).raise_for_status()
        yield emu


def run_child(server: EmulatorServer, kill_after: int | None) -> tuple[int, list[str]]:
    proc = subprocess.Popen([sys.executable, str(CHILD), server.base_url, SINCE.isoformat(), NOW.isoformat()],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    assert proc.stdout is not None
    lines: list[str] = []
    for line in proc.stdout:
        lines.append(line.strip())
        pages = int(line.split()[1]) if line.startswith("page ") else 0
        if kill_after is not None and ((kill_after == 0 and line.startswith("start")) or pages >= kill_after):
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=120)
    stderr = proc.stderr.read() if proc.stderr else ""
    assert proc.returncode in (0, -signal.SIGKILL), stderr
    return proc.returncode, lines


def expected_ids(server: EmulatorServer) -> list[str]:
    headers = {"Authorization": f"Bearer {server.token('admin')}"}
    params: dict[str, str] | None = {"$top": "1000", "$orderby": "activityDateTime asc",
                                     "$filter": f"activityDateTime ge {SINCE:%Y-%m-%dT%H:%M:%SZ}"}
    url: str | None = f"{server.base_url}/v1.0/auditLogs/directoryAudits"
    ids: list[str] = []
    while url:
        doc = httpx.get(url, params=params, headers=headers, timeout=30).json()
        ids += [r["id"] for r in doc["value"]]
        url, params = doc.get("@odata.nextLink"), None
    return ids


@pytest.mark.parametrize("seed", [5, 23])
def test_sigkill_during_a_pull_then_resume(server: EmulatorServer, seed: int) -> None:
    expected = expected_ids(server)
    assert len(expected) > 1500
    pages = len(expected) // 50
    rng = random.Random(seed)
    points = sorted({rng.randint(1, pages // 2), rng.randint(pages // 2, pages - 2), 0})
    killed = 0
    for point in points:
        code, lines = run_child(server, point)
        killed += code == -signal.SIGKILL
        assert "done" not in lines
    assert killed == len(points)
    code, lines = run_child(server, None)
    assert code == 0 and lines[-1] == "done"
    cache = Cache.open("audit-sigkill")
    try:
        conn = cache.db.conn
        total, distinct = conn.execute("SELECT count(*), count(DISTINCT id) FROM audit_record").fetchone()
        assert total == distinct == len(expected)
        assert sorted(cache.audit.ids()) == sorted(expected)
        pulls = conn.execute("SELECT count(*), sum(finished IS NOT NULL) FROM audit_pull").fetchone()
        assert pulls == (1, 1)
        slices = conn.execute("SELECT since, until, done FROM audit_slice ORDER BY seq").fetchall()
        assert all(done for _, _, done in slices)
        assert all(a[1] == b[0] for a, b in itertools.pairwise(slices))   # contiguous slices
        state = cache.audit.state()
        assert state.covered_from == SINCE and state.covered_until == NOW and state.generation == 1
        targets = conn.execute("SELECT count(DISTINCT record) FROM audit_target").fetchone()[0]
        assert targets == total                                  # every record's targets, once
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        cache.close()
