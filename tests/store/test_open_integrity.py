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
        report = cache.report_writer.begin_report("job", "snap", None, page_url(0), total_expected=10)
        cache.report_writer.ingest_page(report.id, make_items(10, 1), None, page_url(0))
        assert cache.queue.mark(report.id, [cache.queries.page(report.id, limit=1)[0].object_id]).marked == 1
    finally:
        cache.close()


def test_reports_of_an_older_cache_are_judged_again_by_their_count() -> None:
    """Version 2 marked a report complete at the last page whatever arrived, and removed repeated ids and
    unreadable items: after the upgrade only a report whose rows add up to the announced total is
    complete, and ids are looked up exactly."""
    paths = StorePaths.default()
    path = paths.cache_db("t9")
    old_spec = DatabaseSpec(CACHE_SPEC.label, CACHE_SPEC.application_id, CACHE_SPEC.marker,
                            CACHE_MIGRATIONS[:2])
    opened = open_database(path, old_spec)
    stamp = "2026-01-01T00:00:00.000000Z"
    opened.conn.execute("INSERT INTO tenant (id, first_seen, last_seen) VALUES ('t9', ?, ?)", (stamp, stamp))
    for report_id, received, expected, duplicates in ((1, 2, 2, 0), (2, 2, 5, 0), (3, 3, 3, 1)):
        opened.conn.execute(
            """INSERT INTO report (id, kind, job_id, scope_key, created, source_url, next_link, pages,
            item_count, received_items, duplicate_items, total_expected, complete, indexed)
            VALUES (?, 'changes', ?, '', ?, 'u', NULL, 1, ?, ?, ?, ?, 1, 1)""",
            (report_id, f"job-{report_id}", stamp, received - duplicates, received, duplicates, expected))
        opened.conn.execute(
            f"""CREATE TABLE chg_{report_id} (rowid INTEGER PRIMARY KEY, object_id TEXT NOT NULL,
            entity_type TEXT NOT NULL, action TEXT NOT NULL, display_name TEXT NOT NULL COLLATE NOCASE,
            principal_name TEXT, on_prem INTEGER NOT NULL, recoverable INTEGER, failure_message TEXT,
            page_id INTEGER NOT NULL, raw_off INTEGER NOT NULL, raw_len INTEGER NOT NULL)""")
        opened.conn.execute(f"CREATE INDEX chg_{report_id}_id ON chg_{report_id} (object_id COLLATE NOCASE)")
    opened.conn.close()

    cache = Cache.open("t9", paths=paths)
    try:
        reports = {r.id: r for r in cache.reports.all()}
        assert reports[1].complete and reports[1].completeness.value == "complete"
        assert not reports[2].complete and reports[2].completeness.value == "short" and reports[2].ended
        assert not reports[3].complete  # a repeated id was removed: not everything is kept
        assert reports[2].state_text == "incomplete: 2 of 5 (the service ended the list early)"
        columns = [row[1] for row in cache.db.conn.execute("PRAGMA table_info(chg_1)")]
        assert "unreadable" in columns
        index = cache.db.conn.execute("SELECT sql FROM sqlite_schema WHERE name = 'chg_1_id'").fetchone()[0]
        assert "NOCASE" not in index
    finally:
        cache.close()


#: A change table as version 2 created it (no ``unreadable`` column, ids indexed case-insensitively).
_V2_CHANGE_TABLE = """CREATE TABLE chg_1 (rowid INTEGER PRIMARY KEY, object_id TEXT NOT NULL,
    entity_type TEXT NOT NULL, action TEXT NOT NULL, display_name TEXT NOT NULL COLLATE NOCASE,
    principal_name TEXT, on_prem INTEGER NOT NULL, recoverable INTEGER, failure_message TEXT,
    page_id INTEGER NOT NULL, raw_off INTEGER NOT NULL, raw_len INTEGER NOT NULL)"""


def _shape(conn: sqlite3.Connection) -> dict[str, object]:
    """The schema of a cache: every fixed object's SQL, and the columns and indexes of report 1's change
    table (its SQL text differs by how it came to be; its shape must not)."""
    fixed = {(kind, name): sql for kind, name, sql in conn.execute(
        "SELECT type, name, sql FROM sqlite_schema WHERE name NOT LIKE 'chg_%'")}
    columns = conn.execute("PRAGMA table_info(chg_1)").fetchall()
    indexes = {name: conn.execute(f"PRAGMA index_xinfo({name})").fetchall()
               for name, in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'index' "
                                         "AND tbl_name = 'chg_1'")}
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    return {"version": version, "fixed": fixed, "columns": columns, "indexes": indexes}


def test_a_version_2_cache_ends_where_a_new_one_starts() -> None:
    """The last release's caches (version 2) go through every later step, sync status (3), proven
    completeness with restore runs (4), report profiles and watch alerts (5), the directory audit log with
    its joins and triage tags (6), and the audit join's keys (7): their stored report is re-read under each,
    and the file ends with the same schema as a cache created now."""
    import zlib

    from entrabr_tui.core.model import SyncStatus
    from entrabr_tui.core.recoverability import Recoverable
    from entrabr_tui.store.codec import dumps

    paths = StorePaths.default()
    items = make_items(40, 3)
    users = [i for i in items if i["entityTypeName"] == "user"]
    stamp = "2026-01-01T00:00:00.000000Z"
    old = open_database(paths.cache_db("t10"), DatabaseSpec(
        CACHE_SPEC.label, CACHE_SPEC.application_id, CACHE_SPEC.marker, CACHE_MIGRATIONS[:2]))
    conn = old.conn
    conn.execute("INSERT INTO tenant (id, first_seen, last_seen) VALUES ('t10', ?, ?)", (stamp, stamp))
    conn.execute("""INSERT INTO report (id, kind, job_id, scope_key, created, source_url, next_link, pages,
        item_count, received_items, total_expected, complete, completed_at, indexed, search_done)
        VALUES (1, 'changes', 'job', '', ?, ?, NULL, 1, ?, ?, ?, 1, ?, 1, 1)""",
                 (stamp, page_url(0), len(items), len(items), len(items), stamp))
    blob, rows = bytearray(), []
    for item in items:
        data = dumps(item)
        rows.append((item["id"], item["entityTypeName"], item["recoveryAction"], item["displayName"],
                     len(blob), len(data)))
        blob += data
    conn.execute("INSERT INTO report_page (id, report_id, seq, source_url, next_link, item_count, fetched, "
                 "raw) VALUES (1, 1, 1, ?, NULL, ?, ?, ?)",
                 (page_url(0), len(items), stamp, zlib.compress(bytes(blob))))
    conn.execute(_V2_CHANGE_TABLE)
    conn.executemany("INSERT INTO chg_1 (object_id, entity_type, action, display_name, on_prem, recoverable, "
                     "page_id, raw_off, raw_len) VALUES (?,?,?,?,0,1,1,?,?)", rows)
    conn.execute("CREATE INDEX chg_1_id ON chg_1 (object_id COLLATE NOCASE)")
    conn.execute("""CREATE INDEX chg_1_node ON chg_1
        (entity_type, action, display_name, object_id, principal_name, on_prem, recoverable)""")
    conn.execute("INSERT INTO node_count SELECT 1, entity_type, action, 0, 1, count(*) FROM chg_1 "
                 "GROUP BY 2, 3")
    conn.commit()
    conn.close()

    migrated = Cache.open("t10", paths=paths)
    fresh = Cache.open("t11", paths=paths)
    try:
        report = migrated.reports.get(1)
        assert report is not None and report.complete and report.completeness.value == "complete"
        assert report.ended and report.unreadable_items == 0
        # Version 3: users and groups stored as cloud are of unknown sync status, their answer unknown.
        rows_now = migrated.queries.page(1, limit=100)
        assert {r.sync for r in rows_now if r.entity_type_raw == "user"} == {SyncStatus.UNKNOWN}
        assert migrated.queries.count(1, entity_type="user", recoverable=Recoverable.UNKNOWN) == len(users)
        assert migrated.sync.pending(1)[:1] == [next(i["id"] for i in items if i["entityTypeName"]
                                                in ("user", "group"))]
        # Version 4: rows have positions, ids are exact, restore runs are kept.
        first = users[0]
        assert migrated.queries.get_change(1, first["id"].upper()) is None
        change = migrated.queries.get_change(1, first["id"])
        assert change is not None and change.sync is SyncStatus.UNKNOWN
        assert sorted(r.position for r in rows_now) == list(range(1, len(items) + 1))
        assert migrated.runs.unfinished() == []
        # Version 6: the audit log, the joins of reports with it and triage tags start empty.
        assert migrated.audit.state().records == 0 and migrated.audit_join.join_info(1) is None
        assert migrated.triage.all() == []
        # Version 7: the stored report's clusters and parts are made from its stored pages.
        shapes = migrated.db.conn.execute("SELECT count(*), count(DISTINCT cluster_id) FROM chg_1_join")
        clusters = migrated.db.conn.execute("SELECT count(*) FROM chg_1_cluster").fetchone()[0]
        assert shapes.fetchone() == (len(items), clusters) and clusters > 1
        # Version 9: the report's join table has its changes' names (a cluster pages by name).
        assert migrated.db.conn.execute(
            "SELECT count(*) FROM chg_1_join s JOIN chg_1 c ON c.rowid = s.row WHERE s.name = c.display_name"
        ).fetchone()[0] == len(items)

        begun = fresh.report_writer.begin_report("job", "snap", None, page_url(0), total_expected=len(items))
        fresh.report_writer.ingest_page(begun.id, items, None, page_url(0))
        assert begun.id == 1
        assert _shape(migrated.db.conn) == _shape(fresh.db.conn)
        assert _shape(fresh.db.conn)["version"] == CACHE_SPEC.latest_version == 9
    finally:
        migrated.close()
        fresh.close()


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
