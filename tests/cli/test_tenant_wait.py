"""Commands that read the audit log wait while another entrabr process holds the tenant for writing: they say
so on stderr once (which tenant, who holds it, ctrl+c stops waiting), then carry on when it is let go, with
the exit code and stdout a run without the wait has.

The other process is a second holder of the tenant's writer lock in this test (a lock on its own open file:
the operating system keeps the two apart as it does two processes). Nothing is timed: the test waits for the
command to have found the tenant held several times, and for the line on stderr, before letting go.
"""

from __future__ import annotations

import io
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest

from entrabr_tui.cli import run
from entrabr_tui.store.writer_lock import LockHolder, TenantLock, lock_path

from .helpers import Result, cli, ok
from .kill_harness import cache_file

DEMO = ["--demo", "--objects", "600", "--job-speed", "100000"]
NOTICE = re.compile(r"^Tenant (?P<tenant>\S+): another entrabr \(restore, pid \d+ on .+\) is writing to this "
                    r"tenant's cache; waiting… Press ctrl\+c to stop waiting\.$")
#: Failed tries of the waiting command before the holder lets go (each one a poll of the lock).
POLLS = 3


class WatchedStream(io.StringIO):
    """A stderr whose writes set ``said`` once a line matching ``NOTICE`` has been written."""

    def __init__(self) -> None:
        super().__init__()
        self.said = threading.Event()

    def write(self, text: str) -> int:
        written = super().write(text)
        if any(NOTICE.match(line) for line in self.getvalue().splitlines()):
            self.said.set()
        return written


@dataclass
class Refusals:
    """Counts the tries of the tenant's lock that found it held by another (``tried`` once there are
    ``POLLS``)."""

    count: int = 0
    tried: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def refusals(monkeypatch: pytest.MonkeyPatch) -> Refusals:
    seen = Refusals()
    original = TenantLock.try_acquire

    def counted(lock: TenantLock, command: str, *, now: datetime | None = None) -> LockHolder | None:
        other = original(lock, command, now=now)
        if other is not None:
            seen.count += 1
            if seen.count >= POLLS:
                seen.tried.set()
        return other

    monkeypatch.setattr(TenantLock, "try_acquire", counted)
    return seen


def hold_tenant(home: Path) -> TenantLock:
    """The tenant's writer lock (of the one cache under ``home``), taken as another entrabr restoring takes
    it."""
    path = cache_file(home)
    assert path is not None
    lock = TenantLock(lock_path(path))
    assert lock.try_acquire("restore") is None
    return lock


def run_while_held(holder: TenantLock, refusals: Refusals, *argv: str) -> Result:
    """``entrabr *argv`` in a thread while ``holder`` holds the tenant; let go once the command has found it
    held ``POLLS`` times and said so."""
    out, err = io.StringIO(), WatchedStream()
    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.append(run(list(argv), stdin=io.StringIO(), stdout=out,
                                                              stderr=err)))
    thread.start()
    try:
        assert refusals.tried.wait(60), f"the command did not wait for the tenant; stderr: {err.getvalue()}"
        assert err.said.wait(60), f"nothing said about the wait; stderr: {err.getvalue()}"
    finally:
        holder.release()
        thread.join(120)
    assert not thread.is_alive() and codes, err.getvalue()
    return Result(codes[0], out.getvalue(), err.getvalue())


def notices(result: Result) -> list[re.Match[str]]:
    return [m for m in map(NOTICE.match, result.stderr.splitlines()) if m is not None]


def test_evidence_says_once_what_it_waits_for(tmp_path: Path, entrabr_home: Path, refusals: Refusals) -> None:
    ok(cli("drill", *DEMO[1:], "-q", "--incident", "60"))                  # a recovery to give evidence of
    before = ok(cli(*DEMO, "evidence", "--since", "1h", "--out", str(tmp_path / "first")))
    assert not notices(before) and refusals.count == 0

    waited = run_while_held(hold_tenant(entrabr_home), refusals, *DEMO, "evidence", "--since", "1h",
                            "--out", str(tmp_path / "second"))
    assert waited.code == 0, waited.stderr
    [said] = notices(waited)                                # several polls, one line
    pack = json.loads((tmp_path / "second" / "evidence.json").read_text(encoding="utf-8"))
    assert said["tenant"] == pack["tenant"]
    assert waited.stdout.replace(str(tmp_path / "second"), "FOLDER") == \
        before.stdout.replace(str(tmp_path / "first"), "FOLDER")


def test_audit_says_once_what_it_waits_for(entrabr_home: Path, refusals: Refusals) -> None:
    """``audit`` (as ``blindspots`` and the audit options of ``changes`` and ``restore``) reads the log
    through the same pull: the same line, once, among its own progress."""
    ok(cli(*DEMO, "-q", "report"))                                         # the report is cached: no wait
    before = ok(cli(*DEMO, "audit"))
    assert not notices(before) and refusals.count == 0

    waited = run_while_held(hold_tenant(entrabr_home), refusals, *DEMO, "audit")
    assert waited.code == 0, waited.stderr
    [said] = notices(waited)
    assert said["tenant"] in ok(cli(*DEMO, "status", "--json")).stdout
    assert "Audit log read:" in waited.stderr.split(said.group(0), 1)[1]   # then the pull it waited for
    assert waited.stdout == before.stdout
