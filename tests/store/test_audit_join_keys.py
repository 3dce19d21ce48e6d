"""The join by key comparison in the cache gives every change the verdict, actor, operation, time and cluster
the Python join gives it, on records chosen to hit every way a key comparison could go wrong: values equal
only after conversion (``1`` and ``1.0``, times written differently, lists in another order), mismatches,
records at the same time, failed records, parts explained by different records, links added and removed,
purged members, synchronised writes, and types the log writes as one whole object."""

from __future__ import annotations

import json
import random
import zlib
from datetime import timedelta
from typing import Any

import orjson
import pytest

from entrabr_tui.core.audit_model import time_to_us
from entrabr_tui.engine.attribution import join_report
from entrabr_tui.store.audit_join_store import ChangeGroup
from entrabr_tui.store.cache import Cache
from entrabr_tui.store.cache_schema import CACHE_SPEC, CHANGE_ACTOR_INDEXES

from .audit_synth import ADMINS, ROGUE, START, record
from .synth import page_url

SINCE = time_to_us(START - timedelta(minutes=15))
GROUP_TABLES = ("change_actor", "change_cluster", "report_actor", "report_operation")


def oid(kind: int, i: int) -> str:
    return f"{kind:08x}-0000-4000-8000-{i:012x}"


def _value(rng: random.Random, i: int) -> tuple[str, Any, Any]:
    """A property, its backup value and its current value (several JSON shapes)."""
    return rng.choice([
        ("jobTitle", f"Title {i % 5}", f"Title {i % 7 + 5}"),
        ("accountEnabled", True, False),
        ("employeeId", i, i + 1),
        ("otherMails", [f"a{i}@x.com"], [f"b{i}@x.com", f"c{i}@x.com"]),
        ("employeeHireDate", "2020-01-01T00:00:00Z", "2026-03-21T10:00:00Z"),
        ("department", f"Dept {i % 3}", None),
        ("onPremisesExtensionAttributes", {"extensionAttribute1": "a"}, {"extensionAttribute1": f"b{i}"}),
        ("mobilePhone", "+1 555", f"+1 556{i % 4}"),
    ])


def _written(rng: random.Random, current: Any) -> Any:
    """What a record writes for a current value: mostly the value, else one equal after conversion, or
    another value."""
    roll = rng.random()
    if roll < 0.6:
        return current
    if isinstance(current, int) and not isinstance(current, bool):
        return float(current) if roll < 0.8 else current + 7
    if isinstance(current, list):
        return list(reversed(current)) if roll < 0.8 else current[:1]
    if isinstance(current, str) and current.startswith("2026"):
        return current.replace("T10:00:00Z", "T10:00:00.0000000Z") if roll < 0.8 else "2026-03-22T00:00:00Z"
    return "something else" if roll < 0.8 else current


def _prop(name: str, old: Any, new: Any) -> dict[str, Any]:
    return {"displayName": name[:1].upper() + name[1:], "oldValue": json.dumps([old]),
            "newValue": json.dumps([] if new is None else [new])}


def incident(seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Change objects and records about them (see the module docstring)."""
    rng = random.Random(seed)
    items: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    when = START + timedelta(seconds=1)

    def add(i: int, activity: str, targets: list[dict[str, Any]], *, result: str = "success",
            sync: bool = False, same_time: bool = False) -> None:
        nonlocal when
        if not same_time:
            when += timedelta(milliseconds=rng.choice([1, 1, 1, 250]))
        doc = record(i, when, activity, rng.choice([ROGUE, *ADMINS]), targets, oid(7, i % 9))
        doc["id"] = f"Directory_{rng.getrandbits(40):010x}_{i:06d}"
        doc["result"] = result
        if sync:
            targets[0]["modifiedProperties"].append(
                {"displayName": "Action Client Name", "oldValue": None, "newValue": '"DirectorySync"'})
        records.append(doc)

    for i in range(400):
        kind = rng.random()
        if kind < 0.7:                                   # users: one or two changed values
            values = (_value(rng, i) for _ in range(rng.choice([1, 2])))
            props = {name: (old, new) for name, old, new in values}
            delta = {"@odata.type": "#microsoft.graph.user", **{k: v[0] for k, v in props.items()}}
            current = {"@odata.type": "#microsoft.graph.user", **{k: v[1] for k, v in props.items()}}
            entity = rng.choice(["user", "user", "user", "conditionalAccessPolicy"])
            items.append({"id": oid(1, i), "entityTypeName": entity, "recoveryAction": "update",
                          "displayName": f"User {i % 50}", "deltaFromCurrent": delta,
                          "currentState": current})
            split = len(props) > 1 and rng.random() < 0.3
            for n, name in enumerate(props):
                if n and not split:
                    break
                names = [name] if split else list(props)
                modified = [_prop(k, props[k][0], _written(rng, props[k][1])) for k in names]
                add(i * 10 + n, "Update user", [{"id": oid(1, i).upper(), "type": "User",
                                                  "modifiedProperties": modified}],
                    sync=rng.random() < 0.1, same_time=rng.random() < 0.1)
            if rng.random() < 0.2:        # a later record: another value, or a failed attempt at any value
                name = next(iter(props))
                result = rng.choice(["success", "failure", "Failure"])
                value = props[name][1] if result != "success" and rng.random() < 0.5 else "later value"
                later = [_prop(name, props[name][1], value)]
                add(i * 10 + 5, "Update user",
                    [{"id": oid(1, i), "type": "User", "modifiedProperties": later}],
                    result=result, same_time=rng.random() < 0.5)
        else:                                             # groups: members added or removed since
            members = [oid(2, i * 10 + k) for k in range(rng.choice([1, 2]))]
            removed = rng.random() < 0.6
            entries = [{"@odata.type": "#microsoft.graph.user", "id": m,
                        **({"@removed": {"reason": "changed"}} if removed else {})} for m in members]
            items.append({"id": oid(3, i), "entityTypeName": "group", "recoveryAction": "update",
                          "displayName": f"Team {i % 40}",
                          "deltaFromCurrent": {"@odata.type": "#microsoft.graph.group",
                                               "members@delta": entries},
                          "currentState": {"@odata.type": "#microsoft.graph.group"}})
            for k, member in enumerate(members):
                verb = "Add" if removed == (rng.random() < 0.85) else "Remove"
                add(i * 10 + k, f"{verb} member to group" if verb == "Add" else "Remove member from group",
                    [{"id": member, "type": "User", "modifiedProperties": []},
                     {"id": oid(3, i), "type": "Group", "modifiedProperties": []}],
                    same_time=rng.random() < 0.1)
                if rng.random() < 0.1:                   # the member purged since
                    flag = {"displayName": "Is Hard Deleted", "oldValue": None, "newValue": '"True"'}
                    add(i * 10 + 8, "Hard Delete user",
                        [{"id": member, "type": "User", "modifiedProperties": [flag]}])
    odd = {"@odata.type": "#microsoft.graph.user", "extensionData": {7: "seven"}}  # a key that is no text
    items.append({"id": oid(4, 1), "entityTypeName": "user", "recoveryAction": "update", "displayName": "Odd",
                  "deltaFromCurrent": {**odd, "extensionData": {7: "six"}}, "currentState": odd})
    rng.shuffle(records)
    return items, records


def stored(cache: Cache, items: list[dict[str, Any]], records: list[dict[str, Any]]) -> int:
    report = cache.report_writer.begin_report("job-keys", "snap-1", None, page_url(0),
                                              total_expected=len(items))
    for offset in range(0, len(items), 150):
        end = offset + 150
        cache.report_writer.ingest_page(report.id, items[offset:end],
                                        page_url(end) if end < len(items) else None, page_url(offset))
    stored_records(cache, records)
    return report.id


def stored_records(cache: Cache, records: list[dict[str, Any]]) -> None:
    pull = cache.audit.begin_pull("window", START - timedelta(minutes=15), START + timedelta(days=1),
                                  START + timedelta(hours=23), 3600)
    part = cache.audit.begin_slice(pull.id, pull.since, pull.until, "u0")
    for offset in range(0, len(records), 100):
        last = offset + 100 >= len(records)
        cache.audit.ingest_page(pull.id, part.seq, records[offset:offset + 100],
                                None if last else f"u{offset}")
    cache.audit.finish_pull(pull.id)


def tables(cache: Cache, report_id: int) -> dict[str, list[tuple[Any, ...]]]:
    return {t: cache.db.conn.execute(f"SELECT * FROM {t} WHERE report_id = ? ORDER BY 2, 3",
                                     (report_id,)).fetchall() for t in GROUP_TABLES}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_join_by_keys_gives_the_python_join_s_verdicts(seed: int) -> None:
    cache = Cache.open(f"join-keys-{seed}")
    try:
        report_id = stored(cache, *incident(seed))
        python = join_report(cache, report_id, since_us=SINCE, retention_start_us=None, keyed=False)
        expected = tables(cache, report_id)
        keyed = join_report(cache, report_id, since_us=SINCE, retention_start_us=None, incremental=False)
        assert tables(cache, report_id) == expected
        assert (keyed.explained, keyed.partly, keyed.sync, keyed.unexplained) == (
            python.explained, python.partly, python.sync, python.unexplained)
        verdicts = {row[9] for row in expected["change_actor"]}
        assert {"explained", "unexplained", "sync"} <= verdicts and len(expected["change_actor"]) == 401
        sizes = {row[1]: row[5] for row in expected["change_cluster"]}    # every row's cluster, counted
        assert sum(sizes.values()) == 401 and {row[11] for row in expected["change_actor"]} == set(sizes)
        # both ways were taken: the keys judged many changes, Python the others
        store = cache.audit_join
        store.begin_join(report_id)
        store.prepare_keys(report_id, cache.audit.hard_deletes(since_us=SINCE))
        by_keys = store.join_by_keys(report_id, 1, 401, since_us=SINCE)
        assert 100 < by_keys < 400
        assert len(store.changes_left(report_id, 1, 401)) == 401 - by_keys
    finally:
        cache.close()


def test_a_version_6_cache_gets_the_join_keys_and_keeps_everything() -> None:
    """Migration 7 on a cache of version 6 (its report, audit log and join as they were): the keys are made
    from what is stored, nothing stored before changes, and the join by keys gives the same result."""
    from entrabr_tui.store.join_shapes import cluster_table, part_table, shape_table

    cache = Cache.open("join-keys-v6")
    report_id = stored(cache, *incident(4))
    join_report(cache, report_id, since_us=SINCE, retention_start_us=None, keyed=False)
    conn = cache.db.conn
    new_tables = ("audit_prop", "audit_prop_name", "audit_link", shape_table(report_id),
                  part_table(report_id), cluster_table(report_id))
    # (distinct rows: a report's clusters are stored once per page, and the migration reads bigger pages)
    made = {t: sorted(conn.execute(f"SELECT DISTINCT * FROM {t}").fetchall()) for t in new_tables}
    assert all(made.values())
    joined = tables(cache, report_id)
    records = {r[0]: cache.audit.raw_record(r[0]) for r in conn.execute("SELECT id FROM audit_record")}
    # the file as version 6 left it: each record compressed on its own, no pages, no keys
    conn.create_function("single", 1, lambda i: zlib.compress(orjson.dumps(records[i]), 1))
    conn.execute("UPDATE audit_record SET raw = single(id)")
    for column in ("page", "raw_off", "raw_len"):
        conn.execute(f"ALTER TABLE audit_record DROP COLUMN {column}")
    for table in (*new_tables, "audit_page"):
        conn.execute(f"DROP TABLE {table}")
    conn.execute("PRAGMA user_version = 6")
    # (opening a cache records when the tenant was seen)
    names = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '%fts%' "
                         "AND name != 'tenant'").fetchall()
    old_tables = {n: ", ".join(c[1] for c in conn.execute(f"PRAGMA table_info({n})")) for (n,) in names}
    before = {t: conn.execute(f"SELECT {columns} FROM {t}").fetchall() for t, columns in old_tables.items()}
    conn.commit()
    cache.close()
    cache = Cache.open("join-keys-v6")
    try:
        conn = cache.db.conn
        assert conn.execute("PRAGMA user_version").fetchone()[0] == CACHE_SPEC.latest_version
        assert {t: conn.execute(f"SELECT {columns} FROM {t}").fetchall()
                for t, columns in old_tables.items()} == before
        assert {t: sorted(conn.execute(f"SELECT DISTINCT * FROM {t}").fetchall()) for t in new_tables} == made
        join_report(cache, report_id, since_us=SINCE, retention_start_us=None, incremental=False)
        assert tables(cache, report_id) == joined
        assert {i: cache.audit.raw_record(i) for i in records} == records      # each record as it was sent
        more = incident(5)[1][:50]
        for doc in more:
            doc["id"] += "-later"
        stored_records(cache, more)                                     # stored from now on by pages
        assert all(cache.audit.raw_record(doc["id"]) == doc for doc in more)
    finally:
        cache.close()


def _index_sql(conn: Any, name: str) -> str:
    return str(conn.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?",
                            (name,)).fetchone()[0])


def test_a_version_8_cache_gets_the_cluster_index_per_report_and_keeps_every_join_result() -> None:
    """Migration 9 on a cache of version 8 (a cluster index and an actor index with object ids on the join
    rows; report join tables without names): each report's join table gets its changes' names and its
    cluster index, ``change_actor`` its narrower actor index and no cluster index; every stored join result
    stays, and the groups are read through the new indexes without a sort."""
    cache = Cache.open("join-keys-v8")
    report_id = stored(cache, *incident(6))
    join_report(cache, report_id, since_us=SINCE, retention_start_us=None)
    conn = cache.db.conn
    joined = tables(cache, report_id)
    assert joined["report_operation"] and joined["change_cluster"] and len(joined["change_actor"]) == 401
    shapes = f"chg_{report_id}_join"
    conn.execute(f"DROP INDEX {shapes}_cluster")           # the tables and indexes as version 8 made them
    conn.execute(f"ALTER TABLE {shapes} DROP COLUMN name")
    conn.execute("DROP INDEX change_actor_by_actor")
    conn.execute("CREATE INDEX change_actor_by_actor ON change_actor "
                 "(report_id, actor_key, operation, name, object_id, row, at)")
    conn.execute("CREATE INDEX change_actor_by_cluster ON change_actor "
                 "(report_id, cluster_id, name, object_id)")
    conn.execute("PRAGMA user_version = 8")
    names = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '%fts%' "
                         "AND name != 'tenant' AND name != ?", (shapes,)).fetchall()
    before = {n: conn.execute(f"SELECT * FROM {n}").fetchall() for (n,) in names}
    conn.commit()
    cache.close()
    cache = Cache.open("join-keys-v8")
    try:
        conn = cache.db.conn
        assert conn.execute("PRAGMA user_version").fetchone()[0] == CACHE_SPEC.latest_version == 9
        assert _index_sql(conn, "change_actor_by_actor").endswith(
            "(report_id, actor_key, operation, name, row, at)")
        assert CHANGE_ACTOR_INDEXES == ("CREATE INDEX IF NOT EXISTS change_actor_by_actor ON change_actor "
                                        "(report_id, actor_key, operation, name, row, at)",)
        assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'change_actor_by_cluster'"
                            ).fetchone()[0] == 0
        assert "(cluster_id, name)" in _index_sql(conn, f"{shapes}_cluster")
        assert conn.execute(f"SELECT count(*) FROM {shapes} s JOIN chg_{report_id} c ON c.rowid = s.row "
                            "WHERE s.name = c.display_name").fetchone()[0] == 401
        assert {n: conn.execute(f"SELECT * FROM {n}").fetchall() for n in before} == before
        plan = " ".join(str(r[3]) for r in conn.execute(
            "EXPLAIN QUERY PLAN SELECT actor_key, operation, count(*), min(at), max(at) FROM change_actor "
            "WHERE report_id = ? GROUP BY actor_key, operation", (report_id,)))
        assert "COVERING INDEX change_actor_by_actor" in plan and "TEMP B-TREE" not in plan
        biggest = cache.audit_join.clusters(report_id, limit=1)[0]
        group = ChangeGroup(cluster=biggest.cluster_id)
        clauses, args = group.where(report_id, reach="page")
        plan = " ".join(str(r[3]) for r in conn.execute(
            f"EXPLAIN QUERY PLAN SELECT a.row FROM {group.source(report_id, with_change=True, reach='page')} "
            f"WHERE {' AND '.join(clauses)} ORDER BY s.name, s.row LIMIT 100", args))
        assert f"INDEX {shapes}_cluster" in plan and "TEMP B-TREE" not in plan
        page = cache.audit_join.group_page(report_id, group, limit=1000)
        assert len(page) == biggest.changes
        join_report(cache, report_id, since_us=SINCE, retention_start_us=None, incremental=False)
        assert tables(cache, report_id) == joined
    finally:
        cache.close()


def test_values_equal_only_as_python_numbers_make_different_clusters_both_ways() -> None:
    """``True``, ``1`` and ``1.0`` compare equal in Python, yet a backup value of each is another change:
    each change gets the cluster of its own value, whether the keys or the Python rules judge it."""
    items = [{"id": oid(1, i), "entityTypeName": "user", "recoveryAction": "update",
              "displayName": f"User {i}",
              "deltaFromCurrent": {"@odata.type": "#microsoft.graph.user", "employeeId": old},
              "currentState": {"@odata.type": "#microsoft.graph.user", "employeeId": "E-1"}}
             for i, old in enumerate([True, 1, 1.0, True])]
    cache = Cache.open("join-keys-numbers")
    try:
        report_id = stored(cache, items, [])
        for keyed in (False, True):
            join_report(cache, report_id, since_us=SINCE, retention_start_us=None, keyed=keyed,
                        incremental=False)
            clusters = [row[11] for row in tables(cache, report_id)["change_actor"]]
            assert len(clusters) == 4 and len(set(clusters)) == 3 and clusters[0] == clusters[3]
    finally:
        cache.close()
