"""Sync status in the cache: three-valued at ingest, directory lookups recorded, filters, the v3 migration."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any

import pytest

from entrabr_tui.core.model import Change, SyncStatus
from entrabr_tui.core.recoverability import Recoverable, recoverability
from entrabr_tui.store.cache import Cache
from entrabr_tui.store.cache_schema import CACHE_MIGRATIONS, CACHE_SPEC, change_table, create_report_tables
from entrabr_tui.store.paths import StorePaths
from entrabr_tui.store.sqlite_file import DatabaseSpec, open_database

USER = "#microsoft.graph.user"
IDS = {name: f"{n:08d}-0000-4000-8000-000000000000" for n, name in enumerate(
    ["synced", "cloud", "unknown", "stated", "policy", "owners"], start=1)}


def item(name: str, entity: str = "user", action: str = "update", **current: Any) -> dict[str, Any]:
    delta: dict[str, Any] = {"@odata.type": f"#microsoft.graph.{entity}", "displayName": f"{name} backup"}
    if name == "owners":
        delta = {"@odata.type": "#microsoft.graph.group", "owners@delta": [{"id": "o1"}]}
    return {"id": IDS[name], "entityTypeName": entity, "recoveryAction": action, "displayName": name,
            "deltaFromCurrent": delta,
            "currentState": {"@odata.type": f"#microsoft.graph.{entity}", "displayName": name, **current}}


def flag(raw: Any) -> bool | None:
    return recoverability(Change.from_json(raw)).flag


ITEMS = [item("synced"), item("cloud"), item("unknown"), item("stated", onPremisesSyncEnabled=True),
         item("policy", "conditionalAccessPolicy"), item("owners", "group")]


@pytest.fixture
def stored() -> tuple[Cache, int]:
    cache = Cache.open("sync-tenant", recoverable=flag)
    report = cache.report_writer.begin_report("job", "snap", None, "first")
    cache.report_writer.ingest_page(report.id, ITEMS, None, "first")
    return cache, report.id


def statuses(cache: Cache, report_id: int) -> dict[str, tuple[SyncStatus, bool | None]]:
    rows = cache.queries.page(report_id, limit=100)
    return {r.display_name: (r.sync, r.recoverable) for r in rows}


def test_ingest_keeps_what_the_payload_does_not_say_unknown(stored: tuple[Cache, int]) -> None:
    cache, report_id = stored
    assert statuses(cache, report_id) == {
        "synced": (SyncStatus.UNKNOWN, None), "cloud": (SyncStatus.UNKNOWN, None),
        "unknown": (SyncStatus.UNKNOWN, None), "stated": (SyncStatus.SYNCED, False),
        "policy": (SyncStatus.CLOUD, True), "owners": (SyncStatus.UNKNOWN, False)}
    assert cache.queries.count(report_id, recoverable=Recoverable.UNKNOWN) == 3
    assert cache.queries.count(report_id, on_prem=SyncStatus.UNKNOWN) == 4
    assert cache.sync.pending(report_id) == [IDS[n] for n in ("synced", "cloud", "unknown", "owners")]
    assert cache.sync.pending(report_id, [IDS["cloud"], IDS["policy"], "nope"]) == [IDS["cloud"]]


def test_a_lookup_is_recorded_and_the_answers_follow(stored: tuple[Cache, int]) -> None:
    cache, report_id = stored
    found = {IDS["synced"]: True, IDS["cloud"]: False, IDS["unknown"]: None}
    changes = {position: c.with_sync(SyncStatus.from_flag(found[c.id]))
               for position, c in cache.queries.positioned_changes(report_id, list(found))}
    when = datetime(2026, 8, 1, 12, tzinfo=UTC)
    updated = cache.sync.record(report_id, found, {p: recoverability(c).flag for p, c in changes.items()},
                                now=when)
    assert updated == 2
    assert statuses(cache, report_id) == {
        "synced": (SyncStatus.SYNCED, False), "cloud": (SyncStatus.CLOUD, True),
        "unknown": (SyncStatus.UNKNOWN, None), "stated": (SyncStatus.SYNCED, False),
        "policy": (SyncStatus.CLOUD, True), "owners": (SyncStatus.UNKNOWN, False)}
    assert cache.sync.looked_up(report_id, IDS["synced"]) == (True, when)
    assert cache.sync.looked_up(report_id, IDS["unknown"]) == (None, when)
    assert cache.sync.looked_up(report_id, IDS["owners"]) is None
    assert cache.sync.pending(report_id) == [IDS["owners"]]  # asked about once, even when not found
    # The counts (node_count) and the row filters agree on all three answers.
    expected = {Recoverable.YES: {"cloud", "policy"}, Recoverable.NO: {"synced", "stated", "owners"},
                Recoverable.UNKNOWN: {"unknown"}}
    for answer, names in expected.items():
        assert {r.display_name for r in cache.queries.page(report_id, recoverable=answer)} == names
        assert cache.queries.count(report_id, recoverable=answer) == len(names)
        with_e = {n for n in names if "e" in n}
        assert cache.queries.count(report_id, recoverable=answer, text="e") == len(with_e)
    assert cache.queries.count(report_id, on_prem=True) == 2
    assert cache.queries.count(report_id, on_prem=False) == 2
    # The full change carries what the cache knows.
    synced = cache.queries.get_change(report_id, IDS["synced"])
    assert synced is not None and synced.sync is SyncStatus.SYNCED
    assert [c.sync for c in cache.queries.iter_changes(report_id)][:3] == [
        SyncStatus.SYNCED, SyncStatus.CLOUD, SyncStatus.UNKNOWN]
    cache.queue.mark(report_id, [IDS["synced"], IDS["unknown"]])
    assert {c.id: c.sync for c in cache.queue.changes(report_id)} == {
        IDS["synced"]: SyncStatus.SYNCED, IDS["unknown"]: SyncStatus.UNKNOWN}


def test_a_lookup_covers_every_change_of_an_object_and_leaves_unreadable_ones_alone() -> None:
    """Rows are keyed by position: one object's changes share its sync status, each keeps its own answer,
    and a change object that could not be read stays not recoverable and is never asked about."""
    cache = Cache.open("sync-several", recoverable=flag)
    user = IDS["cloud"]
    undocumented = {**item("cloud"), "recoveryAction": "somethingNew"}  # never recoverable
    unreadable = {**item("cloud"), "currentState": "not an object"}
    report = cache.report_writer.begin_report("job", "snap", None, "first")
    cache.report_writer.ingest_page(report.id, [item("cloud"), undocumented, unreadable, item("unknown")],
                                    None, "first")
    rows = {r.position: r for r in cache.queries.page(report.id, limit=100)}
    unknown = SyncStatus.UNKNOWN
    assert [(rows[p].object_id, rows[p].sync, rows[p].recoverable) for p in (1, 2, 3)] == [
        (user, unknown, None), (user, unknown, False), (user, unknown, False)]
    assert rows[3].unreadable is not None and rows[3].action_raw == "(unreadable)"
    assert cache.sync.pending(report.id) == [user, IDS["unknown"]]  # asked about once, not per change
    found = {user: False, IDS["unknown"]: None}
    positioned = cache.queries.positioned_changes(report.id, list(found))
    assert [p for p, _ in positioned] == [1, 2, 3, 4]
    answers = {p: recoverability(c.with_sync(SyncStatus.from_flag(found[c.id]))).flag
               for p, c in positioned if c.readable and found[c.id] is not None}
    assert answers == {1: True, 2: False}
    assert cache.sync.record(report.id, found, answers) == 2  # the readable rows of the object found
    rows = {r.position: r for r in cache.queries.page(report.id, limit=100)}
    assert [(rows[p].sync, rows[p].recoverable) for p in (1, 2, 3, 4)] == [
        (SyncStatus.CLOUD, True), (SyncStatus.CLOUD, False), (SyncStatus.UNKNOWN, False),
        (SyncStatus.UNKNOWN, None)]
    assert cache.queries.count(report.id, recoverable=Recoverable.NO) == 2  # the unreadable one among them
    assert cache.queries.count(report.id, recoverable=Recoverable.YES, on_prem=SyncStatus.CLOUD) == 1
    assert cache.sync.pending(report.id) == []
    # Downloading the report again forgets the lookups with the rows: they are asked about again.
    cache.report_writer.reset_download(report.id)
    cache.report_writer.ingest_page(report.id, [item("cloud")], None, "first")
    assert cache.sync.looked_up(report.id, user) is None and cache.sync.pending(report.id) == [user]
    cache.close()


def test_version_2_caches_are_read_again_under_the_three_valued_rule() -> None:
    paths = StorePaths.default()
    path = paths.cache_db("old")
    old = DatabaseSpec(CACHE_SPEC.label, CACHE_SPEC.application_id, CACHE_SPEC.marker, CACHE_MIGRATIONS[:2])
    conn = open_database(path, old).conn
    conn.execute("INSERT INTO report (id, kind, job_id, scope_key, created, source_url) "
                 "VALUES (1, 'changes', 'job', 'all', '2026-01-01T00:00:00.000000Z', 'u')")
    create_report_tables(conn, 1, with_fts=False)
    rows = [("u1", "user", "update", 0, 1), ("u2", "user", "update", 1, 1), ("u3", "user", "update", 0, 0),
            ("g1", "group", "restore", 0, 1), ("c1", "conditionalAccessPolicy", "update", 0, 1),
            ("u4", "user", "somethingNew", 0, 1), ("a1", "application", "update", 0, None)]
    conn.executemany(f"INSERT INTO {change_table(1)} (object_id, entity_type, action, display_name, on_prem, "
                     "recoverable, page_id, raw_off, raw_len) VALUES (?,?,?,?,?,?,0,0,0)",
                     [(i, t, a, i, p, r) for i, t, a, p, r in rows])
    conn.commit()
    conn.close()
    cache = Cache.open("old", paths=paths)
    try:
        got = {r[0]: (r[1], r[2]) for r in cache.db.conn.execute(
            f"SELECT object_id, on_prem, recoverable FROM {change_table(1)}")}
        assert got == {"u1": (-1, None), "u2": (1, 0), "u3": (-1, 0), "g1": (-1, None), "c1": (0, 1),
                       "u4": (-1, 0), "a1": (0, None)}
        assert cache.queries.count(1, recoverable=Recoverable.UNKNOWN) == 3
        assert cache.queries.count(1, on_prem=SyncStatus.UNKNOWN) == 4
        assert cache.sync.pending(1) == ["u1", "u3", "g1", "u4"]
    finally:
        cache.close()
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == CACHE_SPEC.latest_version
