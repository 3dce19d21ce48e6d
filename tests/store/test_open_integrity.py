"""Opening a cache or history file: damaged, foreign or newer files are moved aside with a message."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from entrabr_tui.store.cache import Cache
from entrabr_tui.store.cache_schema import CACHE_MIGRATIONS, CACHE_SPEC
from entrabr_tui.store.history import History
from entrabr_tui.store.paths import StorePaths
from entrabr_tui.store.sqlite_file import DatabaseSpec, StoreError, open_database

from .synth import make_items, page_url

NOW = datetime(2026, 7, 28, 9, 30, tzinfo=UTC)


def _filled_cache(paths: StorePaths) -> Path:
    cache = Cache.open("t1", paths=paths)
    report = cache.report_writer.begin_report("job", "snap", None, page_url(0))
    cache.report_writer.ingest_page(report.id, make_items(3000, 5), None, page_url(0))
    path = cache.db.path
    cache.close()
    return path


def _moved(path: Path, reason: str) -> list[Path]:
    return sorted(p for p in path.parent.iterdir() if p.name.startswith(f"{path.name}.{reason}-"))


def test_damaged_file_is_moved_aside_and_rebuilt() -> None:
    paths = StorePaths.default()
    path = _filled_cache(paths)
    data = bytearray(path.read_bytes())
    assert len(data) > 40 * 4096
    for offset in range(4096 * 2, len(data) - 4096, 4096 * 3):  # scribble over b-tree pages
        data[offset : offset + 64] = bytes(range(64))
    path.write_bytes(bytes(data))
    damaged = bytes(data)

    cache = Cache.open("t1", paths=paths, now=NOW)
    try:
        moved = _moved(path, "corrupt")
        assert moved == [path.with_name(f"{path.name}.corrupt-20260728T093000Z")]
        assert moved[0].read_bytes() == damaged  # kept, byte for byte
        assert cache.db.moved_to == moved[0]
        assert len(cache.db.warnings) == 1
        message = cache.db.warnings[0]
        assert str(path) in message and str(moved[0]) in message and "damaged" in message
        assert cache.reports.all() == []  # a fresh cache
        assert cache.db.conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    finally:
        cache.close()


def test_file_that_is_not_sqlite_is_moved_aside() -> None:
    paths = StorePaths.default()
    path = paths.cache_db("t2")
    path.write_bytes(b"this is not a database\n" * 50)
    cache = Cache.open("t2", paths=paths, now=NOW)
    try:
        assert _moved(path, "corrupt")
        assert "not an SQLite database" in cache.db.warnings[0]
    finally:
        cache.close()


def test_foreign_sqlite_file_is_moved_aside() -> None:
    paths = StorePaths.default()
    path = paths.cache_db("t3")
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (body TEXT)")
    conn.execute("INSERT INTO notes VALUES ('keep me')")
    conn.commit()
    conn.close()
    cache = Cache.open("t3", paths=paths, now=NOW)
    try:
        moved = _moved(path, "foreign")
        assert len(moved) == 1
        assert "not an entrabr cache" in cache.db.warnings[0] and str(moved[0]) in cache.db.warnings[0]
        kept = sqlite3.connect(moved[0])
        assert kept.execute("SELECT body FROM notes").fetchall() == [("keep me",)]
        kept.close()
    finally:
        cache.close()


def test_history_file_is_foreign_to_the_cache() -> None:
    paths = StorePaths.default()
    History.open(paths=paths).close()
    path = paths.cache_db("t4")
    path.write_bytes(paths.history_db.read_bytes())
    cache = Cache.open("t4", paths=paths, now=NOW)
    try:
        assert _moved(path, "foreign") and "application id" in cache.db.warnings[0]
    finally:
        cache.close()


def test_newer_schema_is_moved_aside_not_downgraded() -> None:
    paths = StorePaths.default()
    path = _filled_cache(paths)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    cache = Cache.open("t1", paths=paths, now=NOW)
    try:
        assert _moved(path, "newer")
        assert "newer" in cache.db.warnings[0]
    finally:
        cache.close()


def test_wal_and_shm_move_with_the_file(tmp_path: Path) -> None:
    paths = StorePaths.under(tmp_path)
    path = paths.cache_db("t5")
    path.write_bytes(b"garbage" * 100)
    Path(f"{path}-wal").write_bytes(b"stale wal")
    cache = Cache.open("t5", paths=paths, now=NOW)
    cache.close()
    moved = _moved(path, "corrupt")[0]
    assert Path(f"{moved}-wal").read_bytes() == b"stale wal"


def test_empty_file_is_initialised_without_warning() -> None:
    paths = StorePaths.default()
    path = paths.cache_db("t6")
    path.touch()
    cache = Cache.open("t6", paths=paths)
    try:
        assert cache.db.warnings == [] and cache.db.moved_to is None
    finally:
        cache.close()


def test_clean_reopen_keeps_data_and_warns_nothing() -> None:
    paths = StorePaths.default()
    _filled_cache(paths)
    cache = Cache.open("t1", paths=paths)
    try:
        assert cache.db.warnings == []
        (report,) = cache.reports.all()
        assert report.item_count == 3000
    finally:
        cache.close()


def _version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def test_migrations_from_version_zero() -> None:
    paths = StorePaths.default()
    path = paths.cache_db("t7")
    sqlite3.connect(path).close()  # an empty SQLite database: version 0, no application id
    assert _version(path) == 0
    opened = open_database(path, CACHE_SPEC)
    assert opened.migrated_from == 0 and not opened.warnings
    opened.conn.close()
    assert _version(path) == CACHE_SPEC.latest_version == len(CACHE_MIGRATIONS)


def test_forward_migration_keeps_data() -> None:
    paths = StorePaths.default()
    path = paths.cache_db("t8")
    old_spec = DatabaseSpec(
        CACHE_SPEC.label, CACHE_SPEC.application_id, CACHE_SPEC.marker, CACHE_MIGRATIONS[:1]
    )
    opened = open_database(path, old_spec)
    opened.conn.execute(
        "INSERT INTO tenant (id, first_seen, last_seen) VALUES ('t8', '2026-01-01T00:00:00.000000Z', "
        "'2026-01-01T00:00:00.000000Z')"
    )
    opened.conn.close()
    assert _version(path) == 1
    cache = Cache.open("t8", paths=paths)
    try:
        assert _version(path) == CACHE_SPEC.latest_version
        assert cache.tenant.info().first_seen == datetime(2026, 1, 1, tzinfo=UTC)
        report = cache.report_writer.begin_report("job", "snap", None, page_url(0))
        cache.report_writer.ingest_page(report.id, make_items(10, 1), None, page_url(0))
        assert cache.queue.mark(report.id, [cache.queries.page(report.id, limit=1)[0].object_id]).marked == 1
    finally:
        cache.close()


def test_failed_migration_rolls_back(tmp_path: Path) -> None:
    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE half (x)")
        raise sqlite3.OperationalError("boom")

    from entrabr_tui.store.sqlite_file import Migration

    spec = DatabaseSpec(
        "cache",
        CACHE_SPEC.application_id,
        CACHE_SPEC.marker,
        (*CACHE_MIGRATIONS, Migration(CACHE_SPEC.latest_version + 1, "broken", broken)),
    )
    path = tmp_path / "x.sqlite3"
    with pytest.raises(StoreError, match="boom"):
        open_database(path, spec)
    assert _version(path) == CACHE_SPEC.latest_version
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*) FROM sqlite_schema WHERE name = 'half'").fetchone()[0] == 0
    conn.close()


def test_history_damage_is_moved_aside_too() -> None:
    paths = StorePaths.default()
    paths.history_db.write_bytes(b"\x00" * 5000)
    history = History.open(paths=paths, now=NOW)
    try:
        assert history.warnings and "session history" in history.warnings[0]
        assert history.query() == []
    finally:
        history.close()
