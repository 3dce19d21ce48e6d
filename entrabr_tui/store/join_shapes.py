"""What the audit join reads, computed once when a report or an audit record is stored.

For every readable change of a report, ``chg_<report>_join`` holds its cluster id (the definitions of the
report's clusters are in ``chg_<report>_cluster``, once per page they have changes in), its object id in
lower case, its type, its display name (a cluster's changes are paged by name through an index made when
the report is finalized, once per report rather than once per join: a change's cluster does not depend on
the audit log), and, when every changed part of it is judged by one equality
(:func:`~entrabr_tui.core.audit_join.equality_parts`), how many
parts it has; those parts are rows of ``chg_<report>_part`` (a value part with its current value as a
canonical JSON key, a link part with the linked id and whether the link exists now).

For every target of a successful audit record, ``audit_prop`` holds its modified properties (helpers left
out) with the decoded new value as the same kind of key, and ``audit_link`` the other targets of a record
that adds or removes a link, with the activity. Both are marked ``tied`` when another record names the same
object at the same time (which of them is the last one is then decided in Python, by record id). The join
compares keys in SQL
(:class:`~entrabr_tui.store.audit_join_store.AuditJoinStore`); anything else is judged in Python.
"""

from __future__ import annotations

import math
import sqlite3
import zlib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import orjson

from entrabr_tui.core.audit_clusters import cluster_id_and_label, cluster_key
from entrabr_tui.core.audit_join import LINK_ACTIVITY_KEYS, equality_parts, succeeded
from entrabr_tui.core.audit_model import RecordFacts, stored_change
from entrabr_tui.core.audit_names import activity_key, audit_value, is_helper

#: ``kind`` of a part row.
VALUE_PART, LINK_PART = 0, 1
#: Properties of one target beyond this many are never judged by key (the join orders by ``at * SEQ - seq``).
SEQ = 1024
_SCALARS = (str, int, bool, type(None))


def shape_table(report_id: int) -> str:
    return f"chg_{int(report_id)}_join"


def part_table(report_id: int) -> str:
    return f"chg_{int(report_id)}_part"


def cluster_table(report_id: int) -> str:
    return f"chg_{int(report_id)}_cluster"


def create_shape_tables(conn: sqlite3.Connection, report_id: int) -> None:
    """The join's tables of one report (see the module docstring)."""
    conn.execute(
        f"""CREATE TABLE IF NOT EXISTS {shape_table(report_id)} (
            row INTEGER PRIMARY KEY,
            target TEXT NOT NULL,
            entity_type TEXT NOT NULL,
            cluster_id TEXT NOT NULL,
            parts INTEGER,
            name TEXT NOT NULL DEFAULT '' COLLATE NOCASE
        )""")
    conn.execute(
        f"""CREATE TABLE IF NOT EXISTS {part_table(report_id)} (
            row INTEGER NOT NULL,
            n INTEGER NOT NULL,
            kind INTEGER NOT NULL,
            key TEXT NOT NULL,
            sub TEXT NOT NULL,
            target TEXT NOT NULL,
            entity_type TEXT NOT NULL,
            value,
            PRIMARY KEY (row, n)
        ) WITHOUT ROWID""")
    # Appended page by page (a cluster again in each page it has changes in): keyed by its id, each page's
    # new clusters landed all over the table and rewrote most of it at every page's commit.
    conn.execute(
        f"""CREATE TABLE IF NOT EXISTS {cluster_table(report_id)} (
            cluster_id TEXT NOT NULL,
            entity_type TEXT NOT NULL,
            action TEXT NOT NULL,
            label TEXT NOT NULL
        )""")


def create_cluster_index(conn: sqlite3.Connection, report_id: int) -> None:
    """The index of a report's changes by cluster, in name and row order (the row is the table's key)."""
    table = shape_table(report_id)
    conn.execute(f"CREATE INDEX IF NOT EXISTS {table}_cluster ON {table} (cluster_id, name)")


def drop_shape_tables(conn: sqlite3.Connection, report_id: int) -> None:
    for table in (shape_table(report_id), part_table(report_id), cluster_table(report_id)):
        conn.execute(f"DROP TABLE IF EXISTS {table}")


def value_key(value: Any) -> bytes | None:
    """A JSON value as canonical bytes: equal keys mean equal values of equal types (``1`` and ``1.0``,
    ``true`` and ``1`` differ). ``None`` for what has no such key (a number that is not finite, an integer
    too large); such a value is never judged by key."""
    if isinstance(value, _SCALARS):
        try:
            return _kept(orjson.dumps(value))
        except orjson.JSONEncodeError:
            return None
    if isinstance(value, float):
        return _kept(orjson.dumps(value)) if math.isfinite(value) else None
    try:
        out = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONEncodeError, TypeError):
        return None
    return _kept(out) if orjson.loads(out) == value else None  # NaN inside, or keys that are not text


def _kept(out: bytes) -> bytes:
    """A copy of ``orjson.dumps`` output to keep: each output holds on to the whole buffer it was written
    in (about 4 KB of memory however short the text), so keeping a page's rows of them costs megabytes
    and far more time than the copy."""
    return b"".join((out, b""))


class ShapeRows:
    """The rows of the join's tables for changes as they are stored (the cluster key is made once per
    change; a cluster's id and label once per key, see
    :func:`~entrabr_tui.core.audit_clusters.cluster_id_and_label`)."""

    def __init__(self) -> None:
        self.shapes: list[tuple[Any, ...]] = []
        self.parts: list[tuple[Any, ...]] = []
        self.clusters: dict[str, tuple[str, str, str, str]] = {}

    def add(self, row: int, object_id: str, name: str, raw: Mapping[str, Any] | Any) -> None:
        """One readable change object at position ``row`` (``name``: its display name as stored)."""
        change = stored_change(raw)
        entity = change.entity_type_raw
        cluster, label = cluster_id_and_label(cluster_key(change))
        if cluster not in self.clusters:
            self.clusters[cluster] = (cluster, entity, change.action_raw, label)
        target = object_id.lower()
        rows: list[tuple[Any, ...]] = []
        for n, part in enumerate(equality_parts(change) or ()):
            if part.kind == "link":
                rows.append((row, n, LINK_PART, part.key, part.sub, target, entity, int(part.current)))
                continue
            current = value_key(part.current)
            if current is None:
                rows = []
                break
            rows.append((row, n, VALUE_PART, part.key, "", target, entity, current))
        self.shapes.append((row, target, entity, cluster, len(rows) or None, name))
        if rows:
            self.parts += rows

    def write(self, conn: sqlite3.Connection, report_id: int, base: int = 0) -> None:
        """Store the rows (``base`` is added to every row number given to :meth:`add`)."""
        row = f"? + {int(base)}"  # shifted in SQL: no copy of every row here
        conn.executemany(f"INSERT OR REPLACE INTO {shape_table(report_id)} (row, target, entity_type, "
                         f"cluster_id, parts, name) VALUES ({row},?,?,?,?,?)", self.shapes)
        conn.executemany(f"INSERT OR REPLACE INTO {part_table(report_id)} (row, n, kind, key, sub, target, "
                         f"entity_type, value) VALUES ({row},?,?,?,?,?,?,?)", self.parts)
        conn.executemany(f"INSERT OR IGNORE INTO {cluster_table(report_id)} (cluster_id, entity_type, "
                         "action, label) VALUES (?,?,?,?)", list(self.clusters.values()))  # (keyed before 9)


def stored_changes(conn: sqlite3.Connection, report_id: int) -> Iterator[tuple[int, str, str, Any]]:
    """``(row, object id, display name, raw change)`` of every readable change row of a stored report, in
    order."""
    pages: tuple[int, bytes] = (-1, b"")
    rows = conn.execute(f"SELECT rowid, object_id, display_name, page_id, raw_off, raw_len FROM "
                        f"chg_{int(report_id)} WHERE unreadable IS NULL ORDER BY rowid").fetchall()
    for rowid, object_id, name, page_id, offset, length in rows:
        if page_id != pages[0]:
            found = conn.execute("SELECT raw FROM report_page WHERE id = ?", (page_id,)).fetchone()
            pages = (page_id, zlib.decompress(found[0]) if found else b"")
        if pages[1]:
            yield int(rowid), object_id, name, orjson.loads(pages[1][offset:offset + length])


def shape_report(conn: sqlite3.Connection, report_id: int, step: int = 20_000) -> None:
    """Make the join's tables of a report stored before they existed (from its stored pages)."""
    create_shape_tables(conn, report_id)
    shapes = ShapeRows()
    for rowid, object_id, name, raw in stored_changes(conn, report_id):
        shapes.add(rowid, object_id, name, raw)
        if len(shapes.shapes) >= step:
            shapes.write(conn, report_id)
            shapes = ShapeRows()
    shapes.write(conn, report_id)


def record_rows(facts: RecordFacts, record: int) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The ``audit_prop`` and ``audit_link`` rows of one stored record (none for a failed one)."""
    if not succeeded(facts.result):
        return [], []
    props: list[tuple[Any, ...]] = []
    links: list[tuple[Any, ...]] = []
    activity = activity_key(facts.activity)
    ids = [t.id for t in facts.targets]
    for position, target in enumerate(facts.targets):
        if not target.id:
            continue
        for seq, (name, _old, new) in enumerate(target.props):
            if not is_helper(name):
                props.append((target.id, facts.at, record, position, seq, name, _new_key(seq, new)))
        if activity in LINK_ACTIVITY_KEYS:
            links += [(target.id, peer, facts.at, record, position, activity)
                      for peer in ids if peer and peer != target.id]
    return props, links


def _new_key(seq: int, new: str | None) -> bytes | None:
    return value_key(audit_value(new, orjson.loads)) if seq < SEQ else None


_TIED = "UPDATE {table} SET tied = 1 WHERE target_id = ? AND at = ? AND tied = 0"


def mark_ties(conn: sqlite3.Connection, first_record: int, last_record: int) -> None:
    """Mark the rows of objects that records ``first_record``..``last_record`` name at the same time as
    another record (or another target entry of the same record) does."""
    tied = conn.execute(
        "SELECT DISTINCT n.target_id, n.at FROM audit_target n WHERE n.record BETWEEN ? AND ? AND EXISTS "
        "(SELECT 1 FROM audit_target o WHERE o.target_id = n.target_id AND o.at = n.at "
        "AND (o.record != n.record OR o.position != n.position))", (first_record, last_record)).fetchall()
    for table in ("audit_prop", "audit_link"):
        conn.executemany(_TIED.format(table=table), tied)


def write_record_rows(conn: sqlite3.Connection, props: Iterable[tuple[Any, ...]],
                      links: Iterable[tuple[Any, ...]]) -> None:
    props = list(props)
    conn.executemany("INSERT OR IGNORE INTO audit_prop (target_id, at, record, position, seq, name, value) "
                     "VALUES (?,?,?,?,?,?,?)", props)
    conn.executemany("INSERT OR IGNORE INTO audit_prop_name (name) VALUES (?)", {(p[5],) for p in props})
    conn.executemany("INSERT OR IGNORE INTO audit_link (target_id, peer, at, record, position, activity) "
                     "VALUES (?,?,?,?,?,?)", links)


def backfill_record_rows(conn: sqlite3.Connection, step: int = 50_000) -> None:
    """``audit_prop`` and ``audit_link`` rows of the records stored before those tables existed."""
    if conn.execute("SELECT max(rowid) FROM audit_record").fetchone()[0] is None:
        return  # nothing stored (and no query that would make PRAGMA optimize analyze the table)
    last: tuple[Any, ...] = ("", -(2**62), -1, -1)
    while True:
        rows = conn.execute(
            "SELECT target_id, at, record, position, result, activity, props, peers FROM audit_target "
            "WHERE (target_id, at, record, position) > (?, ?, ?, ?) "
            "ORDER BY target_id, at, record, position LIMIT ?", (*last, step)).fetchall()
        if not rows:
            break
        props: list[tuple[Any, ...]] = []
        links: list[tuple[Any, ...]] = []
        for target, at, record, position, result, activity, raw_props, peers in rows:
            if not succeeded(result):
                continue
            for seq, (name, _old, new) in enumerate(orjson.loads(raw_props) if raw_props else ()):
                if not is_helper(name):
                    props.append((target, at, record, position, seq, name, _new_key(seq, new)))
            if activity_key(activity) in LINK_ACTIVITY_KEYS:
                links += [(target, peer, at, record, position, activity_key(activity))
                          for peer in (peers.split(",") if peers else ())]
        write_record_rows(conn, props, links)
        last = tuple(rows[-1][:4])
    ties = "(SELECT target_id, at FROM audit_target GROUP BY target_id, at HAVING count(*) > 1)"
    for table in ("audit_prop", "audit_link"):
        conn.execute(f"UPDATE {table} SET tied = 1 WHERE (target_id, at) IN {ties}")
