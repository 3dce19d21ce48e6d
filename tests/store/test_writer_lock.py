"""The per-tenant writer lock: one holder at a time, named in the lock file; a dead holder's lock is free."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from entrabr_tui.store.paths import StorePaths
from entrabr_tui.store.writer_lock import LockHolder, TenantLock, lock_path

_CHILD = """
import sys, time
from pathlib import Path
from entrabr_tui.store.writer_lock import TenantLock
lock = TenantLock(Path(sys.argv[1]))
assert lock.try_acquire("restore") is None
print("held", flush=True)
time.sleep(600)
"""


def _lock_file() -> Path:
    return lock_path(StorePaths.default().cache_db("lock-tenant"))


def test_one_holder_at_a_time_named_in_the_lock_file() -> None:
    path = _lock_file()
    mine, other = TenantLock(path), TenantLock(path)  # two sessions of one process exclude each other too
    assert mine.try_acquire("report") is None and mine.held
    holder = other.try_acquire("restore")
    assert holder is not None and holder.command == "report" and holder.pid == os.getpid()
    assert holder.text.startswith(f"another entrabr (report, pid {os.getpid()} on ")
    assert other.other_holder() == holder and mine.other_holder() is None
    written = json.loads(path.read_text())
    assert written["command"] == "report" and written["pid"] == os.getpid() and written["since"].endswith("Z")
    assert mine.try_acquire("report") is None  # nested in the same holder
    mine.release()
    assert other.try_acquire("restore") is not None  # still held: one release per acquisition
    mine.release()
    assert not mine.held and path.read_text() == ""
    assert other.try_acquire("restore") is None and other.holder is not None
    other.release()


def test_a_killed_holder_leaves_no_lock_behind() -> None:
    path = _lock_file()
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        lock = TenantLock(path)
        holder = lock.other_holder()
        assert holder is not None and holder.pid == child.pid and holder.command == "restore"
        assert lock.try_acquire("report") == holder
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
    assert json.loads(path.read_text())["pid"] == child.pid  # what the dead holder wrote is still there
    lock = TenantLock(path)
    assert lock.other_holder() is None  # but the lock is free: the OS released it with the process
    assert lock.try_acquire("report") is None and json.loads(path.read_text())["pid"] == os.getpid()
    lock.release()


def test_an_unreadable_lock_file_still_names_a_holder() -> None:
    named = LockHolder.from_json(b"not json").text
    assert named == "another entrabr (unknown command, pid 0 on an unknown host)"
