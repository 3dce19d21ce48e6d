"""Locked is not damaged, and a read-only folder is not a reason to move anything: the cache is waited for,
or opened read-only with a message; only a failed integrity check sets a file aside."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from entrabr_tui.store import sqlite_file
from entrabr_tui.store.cache import Cache
from entrabr_tui.store.paths import StorePaths
from entrabr_tui.store.sqlite_file import StoreError

from .synth import make_items, page_url

DEADLINE_S = 60.0  # a bound for a broken run, never a timing assumption


def _filled_cache(paths: StorePaths, tenant: str = "shared") -> Path:
    cache = Cache.open(tenant, paths=paths)
    report = cache.report_writer.begin_report("job", "snap", None, page_url(0), total_expected=500)
    cache.report_writer.ingest_page(report.id, make_items(500, 5), None, page_url(0))
    path = cache.db.path
    cache.close()
    return path


def _set_aside(path: Path) -> list[Path]:
    return sorted(p for p in path.parent.iterdir() if p.name.startswith(f"{path.name}.") and "-" in p.name)


class ExclusiveHolder:
    """Another program holding the file: an exclusive lock (no reader gets in) until :meth:`release`."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA locking_mode = EXCLUSIVE")
        self.conn.execute("BEGIN EXCLUSIVE")
        self.conn.execute("UPDATE tenant SET display_name = 'held'")

    def release(self) -> None:
        self.conn.execute("COMMIT")
        self.conn.execute("PRAGMA locking_mode = NORMAL")
        self.conn.execute("SELECT count(*) FROM tenant").fetchone()  # gives the lock back
        self.conn.close()


def test_a_cache_another_program_holds_is_waited_for_not_moved() -> None:
    paths = StorePaths.default()
    path = _filled_cache(paths)
    holder = ExclusiveHolder(path)
    opened: list[Cache] = []
    errors: list[BaseException] = []

    def open_cache() -> None:
        try:
            opened.append(Cache.open("shared", paths=paths))
        except BaseException as exc:  # reported to the test below
            errors.append(exc)

    opener = threading.Thread(target=open_cache)
    try:
        opener.start()
        opener.join(timeout=0.5)
        assert opener.is_alive(), f"the open did not wait for the lock: {errors or opened}"
    finally:
        holder.release()
    opener.join(timeout=DEADLINE_S)
    assert not opener.is_alive() and errors == []
    [cache] = opened
    try:
        assert cache.db.warnings == [] and cache.db.moved_to is None
        assert _set_aside(path) == []
        [report] = cache.reports.all()
        assert report.complete and report.item_count == 500
        assert cache.tenant.info().display_name == "held"  # the other program's write is there too
    finally:
        cache.close()


def test_a_cache_that_stays_locked_is_reported_and_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    paths = StorePaths.default()
    path = _filled_cache(paths)
    before = path.read_bytes()
    monkeypatch.setattr(sqlite_file, "BUSY_TIMEOUT", 0.2)
    holder = ExclusiveHolder(path)
    try:
        with pytest.raises(StoreError, match="in use by another program") as raised:
            Cache.open("shared", paths=paths)
    finally:
        holder.release()
    assert "left as it is" in str(raised.value)
    assert _set_aside(path) == []  # never moved aside, never replaced
    cache = Cache.open("shared", paths=paths)
    try:
        assert cache.db.warnings == [] and cache.reports.all()[0].item_count == 500
    finally:
        cache.close()
    assert len(path.read_bytes()) >= len(before) // 2


@pytest.fixture
def immutable_folder() -> Iterator[list[Path]]:
    """Makes folders (and their files) read-only even for root (``chattr +i``), undone at teardown."""
    made: list[Path] = []
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not available here")
    yield made
    for path in reversed(made):
        subprocess.run(["chattr", "-i", str(path)], check=False, capture_output=True)


def _freeze(paths: list[Path], made: list[Path]) -> None:
    for path in paths:
        result = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
        if result.returncode != 0:
            pytest.skip(f"cannot make {path} read-only here: {result.stderr.strip()}")
        made.append(path)


def test_a_read_only_cache_folder_opens_read_only_with_a_message(immutable_folder: list[Path]) -> None:
    paths = StorePaths.default()
    path = _filled_cache(paths)
    _freeze([path.parent, path], immutable_folder)

    cache = Cache.open("shared", paths=paths)
    try:
        assert cache.read_only and cache.db.moved_to is None
        [message] = cache.db.warnings
        assert "read-only" in message and str(path) in message
        [report] = cache.reports.all()
        assert report.complete and cache.queries.count(report.id) == 500
        assert len(cache.queries.page(report.id, text="smith", limit=50)) > 0  # temporary tables work
        reader = cache.reader()
        assert reader.read_only and reader.queries.count(report.id) == 500
        reader.close()
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            cache.queue.mark(report.id, [cache.queries.page(report.id, limit=1)[0].object_id])
    finally:
        cache.close()
    assert _set_aside(path) == [] and sorted(p.name for p in path.parent.iterdir()) == [path.name]

    with pytest.raises(StoreError, match="folder is read-only"):
        Cache.open("another-tenant", paths=paths)  # nothing to read, and nothing can be created
