"""A report download killed with SIGKILL and run again ends with the exact changes, each once, and reuses
the job it started (end to end: ``entrabr report`` in subprocesses against an emulator in this process).

The kill point is made certain rather than raced: the emulator serves the first ``PAGES_BEFORE_KILL``
``getChanges`` pages at once and holds the next request for ten minutes (two counted faults). The first run
is killed once it has stored those pages and is waiting on the held one, so it can never have finished.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from entrabr_tui.emulator import EmulatorServer
from entrabr_tui.emulator.directory import Directory

from .helpers import ROOT, cli

TENANT: dict[str, Any] = {"seed": 3, "objects": 8000, "drift": 6000}  # about 6,000 changes: 7 pages of 999
PAGES_BEFORE_KILL = 2
HELD_MS = 600_000
DEADLINE_S = 60.0  # a bound for a broken run, never a timing assumption
POLL_S = 0.01


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    emulator = EmulatorServer(**TENANT, job_speed=1e6)
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()


def report_command(server: EmulatorServer) -> list[str]:
    return [sys.executable, "-m", "entrabr_tui", "--graph-url", server.graph_url(), "--auth", "emulator",
            "report", "--json"]


def cache_file(home: Path) -> Path | None:
    found = sorted((home / "cache").glob("tenant-*.sqlite3"))
    assert len(found) <= 1, found
    return found[0] if found else None


def read_db(path: Path, sql: str) -> list[tuple[Any, ...]]:
    """A query on a read-only connection of its own (the writer may be another process)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def download_state(home: Path) -> tuple[int, int] | None:
    """``(pages stored, complete)`` of the one report in the cache, or ``None`` before there is one."""
    path = cache_file(home)
    if path is None:
        return None
    try:
        rows = read_db(path, "SELECT pages, complete FROM report WHERE kind = 'changes'")
    except sqlite3.Error:  # the first run is still creating the file and its schema
        return None
    assert len(rows) <= 1, rows
    return (int(rows[0][0]), int(rows[0][1])) if rows else None


def held_requests(control: httpx.Client) -> int:
    """How many ``getChanges`` requests the emulator is holding (the second fault has fired)."""
    faults = control.get("/_emulator/faults").json()["faults"]
    return int(faults[1]["fired"])


def kill_after_stored_pages(proc: subprocess.Popen[str], home: Path, control: httpx.Client) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while True:
        if proc.poll() is not None:
            _, err = proc.communicate()
            pytest.fail(f"the first run ended by itself ({proc.returncode}) before it was killed: {err}")
        if held_requests(control) == 1 and download_state(home) == (PAGES_BEFORE_KILL, 0):
            break
        if time.monotonic() > deadline:
            pytest.fail(f"no partial download after {DEADLINE_S:.0f} s: {download_state(home)}")
        time.sleep(POLL_S)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=DEADLINE_S)
    assert proc.returncode == -signal.SIGKILL


def preview_jobs(server: EmulatorServer) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {server.token('admin')}"}
    response = httpx.get(f"{server.graph_url()}/directory/recovery/jobs", headers=headers, timeout=30)
    response.raise_for_status()
    return [j for j in response.json()["value"] if "recoveryPreviewJob" in j.get("@odata.type", "")]


def test_sigkill_mid_download_then_rerun_gives_every_change_once(server: EmulatorServer,
                                                                 entrabr_home: Path) -> None:
    with httpx.Client(base_url=server.base_url, timeout=30) as control:
        for spec in ({"kind": "slow", "delay_ms": 0, "count": PAGES_BEFORE_KILL, "match": "getChanges"},
                     {"kind": "slow", "delay_ms": HELD_MS, "count": 1, "match": "getChanges"}):
            control.post("/_emulator/faults", json=spec).raise_for_status()
        env = dict(os.environ, ENTRABR_HOME=str(entrabr_home))
        first = subprocess.Popen(report_command(server), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True, env=env, cwd=ROOT)
        try:
            kill_after_stored_pages(first, entrabr_home, control)
        finally:
            if first.poll() is None:
                first.kill()
                first.communicate()
        assert download_state(entrabr_home) == (PAGES_BEFORE_KILL, 0)  # killed part-way, for certain
        [job] = preview_jobs(server)

        second = subprocess.run(report_command(server), capture_output=True, text=True, env=env, cwd=ROOT,
                                timeout=DEADLINE_S)
        assert second.returncode == 0, second.stderr
        summary = json.loads(second.stdout)

    # The second run resumed the first run's report: no new difference report was started.
    assert [j["id"] for j in preview_jobs(server)] == [job["id"]]
    assert summary["report"]["id"] == job["id"] and summary["report"]["reused"] is True
    total = job["totalChangedObjectsCalculated"]
    assert summary["totalChanges"] == summary["report"]["downloaded"] == summary["report"]["total"] == total

    # Exactly the emulator's changes, each once: no page stored twice, no duplicate removed afterwards.
    assert server.service is not None
    directory = Directory(**TENANT, now=server.service.clock.start)  # the emulator's tenant, built again
    snapshot_id = summary["snapshot"]["id"]
    assert snapshot_id in [sid for sid, _ in directory.snapshots()]
    expected = {record.id for record in directory.diff(snapshot_id)}
    assert len(expected) == total > 999 * (PAGES_BEFORE_KILL + 2)

    path = cache_file(entrabr_home)
    assert path is not None
    [(report_id, pages, items, received, duplicates, complete)] = read_db(
        path, "SELECT id, pages, item_count, received_items, duplicate_items, complete FROM report")
    assert (complete, items, received, duplicates) == (1, total, total, 0)
    page_rows = read_db(path, f"SELECT seq, source_url FROM report_page WHERE report_id = {report_id} "
                              "ORDER BY seq")
    assert [seq for seq, _ in page_rows] == list(range(1, pages + 1)) == list(range(1, -(-total // 999) + 1))
    assert len({url for _, url in page_rows}) == pages
    ids = [row[0] for row in read_db(path, f"SELECT object_id FROM chg_{report_id}")]
    assert len(ids) == len(set(ids)) == total and set(ids) == expected

    listed = cli("changes", "--offline", "--limit", "0", "--json")  # what the CLI serves from the cache
    assert listed.code == 0, listed.stderr
    served = [change["id"] for change in listed.json()["changes"]]
    assert len(served) == len(set(served)) == total and set(served) == expected
