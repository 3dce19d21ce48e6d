"""Running ``entrabr`` in a subprocess against an emulator in this process, and killing it (SIGKILL) at a
moment made certain by the emulator's fault knobs and by what the cache says (not a test module)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from entrabr_tui.emulator import EmulatorServer

from .helpers import ROOT

DEADLINE_S = 90.0  # a bound for a broken run, never a timing assumption
POLL_S = 0.01
HELD_MS = 600_000  # a request held "forever" (the process is killed while it waits)


def entrabr(server: EmulatorServer, *argv: str) -> list[str]:
    return [sys.executable, "-m", "entrabr_tui", "--graph-url", server.graph_url(), "--auth", "emulator",
            *argv]


def cache_file(home: Path) -> Path | None:
    found = sorted((home / "cache").glob("tenant-*.sqlite3"))
    assert len(found) <= 1, found
    return found[0] if found else None


def read_db(home: Path, sql: str) -> list[tuple[Any, ...]]:
    """A query on a read-only connection of its own (the writer may be another process); ``[]`` before
    the cache or its tables exist."""
    path = cache_file(home)
    if path is None:
        return []
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        return conn.execute(sql).fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


class Control:
    """The emulator's control API and its Graph job list (as another administrator sees it)."""

    def __init__(self, server: EmulatorServer) -> None:
        self.server = server
        self.http = httpx.Client(base_url=server.base_url, timeout=30)

    def close(self) -> None:
        self.http.close()

    def post(self, what: str, body: dict[str, Any]) -> Any:
        response = self.http.post(f"/_emulator/{what}", json=body)
        response.raise_for_status()
        return response.json()

    def fault(self, **spec: Any) -> None:
        self.post("faults", spec)

    def fired(self) -> list[int]:
        """How often each registered fault has fired, in registration order."""
        faults = self.http.get("/_emulator/faults").json()["faults"]
        return [int(f["fired"]) for f in faults]

    def jobs(self, kind: str) -> list[dict[str, Any]]:
        """``recoveryJob`` or ``recoveryPreviewJob`` entries of ``GET /jobs``, oldest first."""
        headers = {"Authorization": f"Bearer {self.server.token('admin')}"}
        url = f"{self.server.graph_url()}/directory/recovery/jobs"
        response = httpx.get(url, headers=headers, timeout=30)
        response.raise_for_status()
        found = [j for j in response.json()["value"] if j.get("@odata.type", "").endswith(f".{kind}")]
        return sorted(found, key=lambda j: (j.get("jobStartDateTime") or "", j["id"]))


class Run:
    """One ``entrabr`` subprocess whose stderr is collected line by line as it arrives."""

    def __init__(self, argv: list[str], home: Path) -> None:
        env = dict(os.environ, ENTRABR_HOME=str(home))
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                     cwd=ROOT)
        self.err: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.err.append(line)

    @property
    def stderr(self) -> str:
        return "".join(self.err)

    def wait_for(self, condition: Callable[[], bool], what: str) -> None:
        """Until ``condition()`` holds while the process still runs (fails if it ends first)."""
        deadline = time.monotonic() + DEADLINE_S
        while not condition():
            if self.proc.poll() is not None:
                self._reader.join(timeout=5)
                pytest.fail(f"the run ended ({self.proc.returncode}) before {what}: {self.stderr[-2000:]}")
            if time.monotonic() > deadline:
                self.proc.kill()
                pytest.fail(f"no {what} after {DEADLINE_S:.0f} s: {self.stderr[-2000:]}")
            time.sleep(POLL_S)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=DEADLINE_S)
        self._reader.join(timeout=5)
        assert self.proc.returncode == -signal.SIGKILL, self.stderr[-2000:]

    def finish(self) -> tuple[int, str]:
        """Exit code and stdout once the run ends by itself."""
        assert self.proc.stdout is not None
        out = self.proc.stdout.read()
        self.proc.wait(timeout=DEADLINE_S)
        self._reader.join(timeout=5)
        return self.proc.returncode, out
