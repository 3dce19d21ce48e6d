"""The join of each report with the audit log, as the cache keeps it: one row per change, and the groups.

``change_actor`` holds, for every change row of a report (its rowid in ``chg_<report>``), the actor and
operation (correlation id) of its primary event, the event's time, the join's verdict and reason, and its
cluster id, with the object id, type, action and name copied so that an actor's and an operation's changes
page by name through an index. A cluster's changes page through the report's own cluster index
(``chg_<report>_join``, made once when the report is stored: a change's cluster does not depend on the log).
``change_cluster``, ``report_actor`` and ``report_operation`` are the group sizes, computed once per join.
``audit_join`` says which audit generation a report was joined with (a later pull makes it stale).

Groups (:class:`ChangeGroup`: an actor, an operation, a cluster, a time window, a type and action, a text
filter, in any combination) are counted, paged by name and row (keyset) and marked or unmarked set-based, in
SQL, across the whole report. Marking skips *kept* changes (their cluster or operation is tagged ``keep``) and
returns a token that undoes exactly what it added.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import orjson

from entrabr_tui.core.audit_join import link_activities
from entrabr_tui.core.audit_model import time_to_us, us_to_time
from entrabr_tui.core.audit_names import NameKind, audit_property
from entrabr_tui.core.model import SyncStatus
from entrabr_tui.store.cache_database import CacheDatabase
from entrabr_tui.store.cache_schema import CHANGE_ACTOR_INDEXES, change_table
from entrabr_tui.store.change_filter import needle_of
from entrabr_tui.store.codec import sync_from_db, sync_to_db, time_from_db, time_to_db, utc_now
from entrabr_tui.store.join_shapes import (
    LINK_PART,
    SEQ,
    VALUE_PART,
    cluster_table,
    create_cluster_index,
    part_table,
    shape_table,
)
from entrabr_tui.store.records import ChangeRow
from entrabr_tui.store.restore_queue import RestoreQueue
from entrabr_tui.store.sqlite_file import in_list_chunks

#: ``on_prem`` of an object known to be synchronised from on-premises.
SYNC_SYNCED = sync_to_db(SyncStatus.SYNCED)
#: How a group's cluster is reached (see :meth:`ChangeGroup.where`).
ClusterReach = Literal["page", "scan", "lookup"]
#: A cluster holding at least this share of a report's changes is reached by reading every join row.
SCAN_SHARE = 0.125
#: Change rows read (and joined) per step.
JOIN_CHUNK = 20_000
_WRITE_CHUNK = 50_000
KEPT_SQL = (
    "(a.cluster_id IN (SELECT key FROM triage_tag WHERE target = 'cluster' AND tag = 'keep') "
    "OR a.operation IN (SELECT key FROM triage_tag WHERE target = 'operation' AND tag = 'keep'))"
)


@dataclass(frozen=True, slots=True)
class ChangeGroup:
    """A set of a report's changes, by any combination of: primary actor (key; ``""``: no audit record),
    operation (correlation id), cluster id, time window of the primary event, type, action, text filter
    (the tree's rule: name or UPN contains it, or the id starts with it), and the join's verdict."""

    actor: str | None = None
    operation: str | None = None
    cluster: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    entity_type: str | None = None
    action: str | None = None
    text: str | None = None
    verdict: str | None = None

    def source(self, report_id: int, *, with_change: bool = False, reach: ClusterReach = "lookup") -> str:
        """The FROM clause of the group's rows: ``change_actor a``, with ``chg c`` (the change rows) when
        the text filter or ``with_change`` needs it, and for a cluster's pages (``reach`` ``"page"``) the
        report's cluster index first (``chg_<report>_join s``: its name and row order is the pages')."""
        actor = "change_actor a"
        if self.cluster is not None and reach == "page":
            actor = f"{shape_table(report_id)} s CROSS JOIN change_actor a ON a.row = s.row"
        if with_change or needle_of(self.text) is not None:
            return f"{actor} JOIN {change_table(report_id)} c ON c.rowid = a.row"
        return actor

    def where(self, report_id: int, *, reach: ClusterReach = "lookup") -> tuple[list[str], list[Any]]:
        """SQL conditions on the rows of :meth:`source` (``change_actor a``, ``chg c``, ``s``). A cluster
        is reached as ``reach`` says: through the pages' order (``"page"``), by reading every join row of
        the report in order (``"scan"``: cheapest for a cluster of a large part of it), or by looking its
        rows up in row order (``"lookup"``)."""
        clauses: list[str] = ["a.report_id = ?"]
        args: list[Any] = [report_id]
        cluster = {"page": "s.cluster_id = ?", "scan": "a.cluster_id = ?", "lookup":
                   f"a.row IN (SELECT row FROM {shape_table(report_id)} WHERE cluster_id = ?)"}[reach]
        for column, value in (("a.actor_key", self.actor), ("a.operation", self.operation),
                              (cluster, self.cluster), ("a.entity_type", self.entity_type),
                              ("a.action", self.action), ("a.verdict", self.verdict)):
            if value is not None:
                clauses.append(column if column is cluster else f"{column} = ?")
                args.append(value.lower() if column in ("a.actor_key", "a.operation") else value)
        if self.since is not None:
            clauses.append("a.at >= ?")
            args.append(time_to_us(self.since))
        if self.until is not None:
            clauses.append("a.at <= ?")
            args.append(time_to_us(self.until))
        needle = needle_of(self.text)
        if needle is not None:
            clauses.append("ebr_match(?, c.display_name, c.principal_name, c.object_id)")
            args.append(needle)
        return clauses, args


@dataclass(frozen=True, slots=True)
class JoinInfo:
    """When and against what a report was joined, and how well the log explains it."""

    report_id: int
    generation: int
    item_count: int
    since: datetime
    joined: datetime
    changes: int
    explained: int
    partly: int
    sync: int
    unexplained: int
    last_record: int = 0  # the newest audit record the join saw (a later join redoes only what is newer)


@dataclass(frozen=True, slots=True)
class JoinRow:
    """The join's result for one change row."""

    row: int
    object_id: str
    entity_type: str
    action: str
    name: str
    actor_key: str
    operation: str
    at: datetime | None
    verdict: str
    reason: str | None
    cluster_id: str


@dataclass(frozen=True, slots=True)
class ActorCount:
    """An actor of a report: changes it made (as primary actor), operations, first and last time."""

    actor_key: str
    changes: int
    operations: int
    first: datetime | None
    last: datetime | None


@dataclass(frozen=True, slots=True)
class OperationCount:
    """One operation (correlation id) of an actor in a report."""

    actor_key: str
    operation: str
    changes: int
    first: datetime | None
    last: datetime | None


@dataclass(frozen=True, slots=True)
class ClusterCount:
    """One cluster of a report, with its size."""

    cluster_id: str
    entity_type: str
    action: str
    label: str
    changes: int


@dataclass(frozen=True, slots=True)
class GroupMarkResult:
    """What marking a group did, in changes: newly queued, already queued, left out because kept by a tag.
    The restore queue's undo (:meth:`RestoreQueue.undo <entrabr_tui.store.restore_queue.RestoreQueue.undo>`)
    takes out exactly what it queued."""

    marked: int
    already: int
    kept: int


def _time(value: int | None) -> datetime | None:
    return None if value is None else us_to_time(int(value))


def _join_row(r: Sequence[Any]) -> JoinRow:
    return JoinRow(int(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], _time(r[7]), r[8], r[9], r[10])


#: One change row as the join reads it: rowid, object id, type, action, name, on-premises flag, raw change.
#: A change row to join in Python: row, object id, type, action, name, synced, raw change, cluster id.
ChangeInput = tuple[int, str, str, str, str, bool, dict[str, Any], str]


class AuditJoinStore:
    """Join results of reports, their groups, and set-based marking (see the module docstring)."""

    def __init__(self, db: CacheDatabase, queue: RestoreQueue) -> None:
        self._db = db
        #: The restore queue: a group mark is one bulk change of it (its undo takes the mark out again).
        self._queue = queue

    # -- reading the report for the join ---------------------------------------------------------------

    def changes_of(self, report_id: int, object_ids: Iterable[str]) -> list[ChangeInput]:
        """The readable change rows of these objects (the audit log's lower-cased target ids, compared with
        the report's ids case-insensitively), with their raw changes."""
        table = change_table(report_id)
        out: list[ChangeInput] = []
        pages: dict[int, bytes] = {}
        for chunk, marks in in_list_chunks(sorted({i.lower() for i in object_ids})):
            rows = self._db.conn.execute(
                "SELECT c.rowid, c.object_id, c.entity_type, c.action, c.display_name, c.on_prem, c.page_id, "
                f"c.raw_off, c.raw_len, s.cluster_id FROM {table} c JOIN {shape_table(report_id)} s "
                f"ON s.row = c.rowid WHERE lower(c.object_id) IN ({marks}) AND c.unreadable IS NULL",
                chunk).fetchall()
            for rowid, object_id, entity_type, action, name, on_prem, pid, offset, length, cluster in rows:
                if pid not in pages:
                    found = self._db.conn.execute("SELECT raw FROM report_page WHERE id = ?",
                                                  (pid,)).fetchone()
                    pages[pid] = zlib.decompress(found[0]) if found else b""
                page = pages[pid]
                raw = orjson.loads(page[offset:offset + length]) if page else {}
                synced = on_prem == SYNC_SYNCED
                out.append((rowid, object_id, entity_type, action, name, synced, raw, cluster))
        return out

    def changes_left(self, report_id: int, first_row: int, last_row: int) -> list[ChangeInput]:
        """The readable change rows ``first_row``..``last_row`` that have no join row yet, with their raw
        changes (each stored page is decompressed once)."""
        table = change_table(report_id)
        rows = self._db.conn.execute(
            "SELECT c.rowid, c.object_id, c.entity_type, c.action, c.display_name, c.on_prem, c.page_id, "
            f"c.raw_off, c.raw_len, s.cluster_id FROM {table} c JOIN {shape_table(report_id)} s "
            "ON s.row = c.rowid WHERE c.rowid BETWEEN ? AND ? AND c.unreadable IS NULL AND NOT EXISTS "
            "(SELECT 1 FROM change_actor a WHERE a.report_id = ? AND a.row = c.rowid) ORDER BY c.rowid",
            (first_row, last_row, report_id)).fetchall()
        out: list[ChangeInput] = []
        page_id, page = -1, b""
        for rowid, object_id, entity_type, action, name, on_prem, pid, offset, length, cluster in rows:
            if pid != page_id:
                found = self._db.conn.execute("SELECT raw FROM report_page WHERE id = ?", (pid,)).fetchone()
                page_id, page = pid, zlib.decompress(found[0]) if found else b""
            raw = orjson.loads(page[offset:offset + length]) if page else {}
            out.append((rowid, object_id, entity_type, action, name, on_prem == SYNC_SYNCED, raw, cluster))
        return out

    def readable_count(self, report_id: int, first_row: int, last_row: int) -> int:
        """How many of the change rows ``first_row``..``last_row`` could be read (and are joined)."""
        return int(self._db.conn.execute(f"SELECT count(*) FROM {shape_table(report_id)} WHERE row BETWEEN ? "
                                         "AND ?", (first_row, last_row)).fetchone()[0])

    def row_span(self, report_id: int) -> tuple[int, int]:
        """The first and last change row of a report (``(1, 0)`` when it has none)."""
        first, last = self._db.conn.execute(
            f"SELECT coalesce(min(rowid), 1), coalesce(max(rowid), 0) FROM {change_table(report_id)}"
        ).fetchone()
        return int(first), int(last)

    # -- judging by keys, in SQL -----------------------------------------------------------------------

    def prepare_keys(self, report_id: int, purged: Iterable[str]) -> None:
        """The lookup tables of :meth:`join_by_keys` for one join: which audit property names are which
        Graph property for the report's types, the link activities, and the objects purged in the window
        (their links are judged in Python)."""
        conn = self._db.conn
        types = [r[0] for r in conn.execute(
            f"SELECT DISTINCT entity_type FROM {shape_table(report_id)} WHERE parts IS NOT NULL").fetchall()]
        names = [r[0] for r in conn.execute("SELECT name FROM audit_prop_name").fetchall()]
        mapped = [(t, n, found.graph.casefold()) for t in types for n in names
                  if (found := audit_property(t, n)).kind is NameKind.PROPERTY]
        with self._db.tx():
            create_cluster_index(conn, report_id)  # made when the report was finalized; an unfinished one
            for statement in (
                    "CREATE TEMP TABLE IF NOT EXISTS join_name (entity_type TEXT, name TEXT, key TEXT, "
                    "PRIMARY KEY (entity_type, name, key)) WITHOUT ROWID",
                    "CREATE TEMP TABLE IF NOT EXISTS join_link (rel TEXT, activity TEXT, adds INTEGER, "
                    "PRIMARY KEY (rel, activity)) WITHOUT ROWID",
                    "CREATE TEMP TABLE IF NOT EXISTS join_purged (id TEXT PRIMARY KEY) WITHOUT ROWID",
                    "CREATE TEMP TABLE IF NOT EXISTS join_hit (row INTEGER, n INTEGER, last INTEGER, "
                    "at INTEGER, record INTEGER, position INTEGER, same INTEGER, PRIMARY KEY (row, n)) "
                    "WITHOUT ROWID",
                    "DELETE FROM temp.join_name", "DELETE FROM temp.join_link",
                    "DELETE FROM temp.join_purged"):
                conn.execute(statement)
            conn.executemany("INSERT OR IGNORE INTO temp.join_name VALUES (?,?,?)", mapped)
            conn.executemany("INSERT OR IGNORE INTO temp.join_link VALUES (?,?,?)",
                             [(rel, activity, int(adds)) for rel, activity, adds in link_activities()])
            conn.executemany("INSERT OR IGNORE INTO temp.join_purged VALUES (?)", [(i,) for i in purged])

    def join_by_keys(self, report_id: int, first_row: int, last_row: int, *, since_us: int) -> int:
        """Join the change rows ``first_row``..``last_row`` whose parts are all equality parts and are all
        explained by one record (the last one naming each part, in the window, successful): one key
        comparison per part, in SQL. The last record naming a part is the latest (its first property
        naming it) when no other record names the object at that time (else it is decided in Python, by
        record id). Returns the rows stored; the others are left to the Python join (:meth:`changes_left`).
        Needs :meth:`prepare_keys`.

        Each part's last record is written to ``temp.join_hit`` first (value parts, then link parts), keyed
        by row and part, so that the rows' verdicts are then read in row order without a sort."""
        parts, shapes, table = part_table(report_id), shape_table(report_id), change_table(report_id)
        conn = self._db.conn
        window = {"since": since_us, "first": first_row, "last": last_row}
        with self._db.tx():
            conn.execute("DELETE FROM temp.join_hit")
            conn.execute(
                f"""INSERT INTO temp.join_hit (row, n, last, at, record, position, same)
                SELECT p.row, p.n, max(x.at * {SEQ} - x.seq), x.at, x.record, x.position,
                       coalesce(x.value = p.value, 0) AND NOT x.tied
                FROM {parts} p
                JOIN audit_prop x ON x.target_id = p.target AND x.at >= :since
                JOIN temp.join_name m ON m.entity_type = p.entity_type AND m.name = x.name AND m.key = p.key
                WHERE p.row BETWEEN :first AND :last AND p.kind = {VALUE_PART}
                GROUP BY p.row, p.n""", window)
            conn.execute(
                f"""INSERT INTO temp.join_hit (row, n, last, at, record, position, same)
                SELECT p.row, p.n, max(l.at), l.at, l.record, l.position, o.adds = p.value AND NOT l.tied
                FROM {parts} p
                JOIN audit_link l ON l.target_id = p.target AND l.peer = p.sub AND l.at >= :since
                JOIN temp.join_link o ON o.rel = p.key AND o.activity = l.activity
                WHERE p.row BETWEEN :first AND :last AND p.kind = {LINK_PART}
                      AND p.sub NOT IN (SELECT id FROM temp.join_purged)
                GROUP BY p.row, p.n""", window)
            cursor = conn.execute(
                f"""INSERT INTO change_actor (report_id, row, object_id, entity_type, action, name, actor_key,
                        operation, at, verdict, reason, cluster_id)
                SELECT :report, c.rowid, c.object_id, c.entity_type, c.action, c.display_name, r.actor_key,
                       r.correlation_id, a.at, CASE WHEN r.sync THEN 'sync' ELSE 'explained' END, NULL,
                       s.cluster_id
                FROM (SELECT row, count(*) AS parts, min(same) AS same, min(at) AS at, max(at) AS at2,
                             min(record) AS record, max(record) AS record2, min(position) AS position,
                             max(position) AS position2
                      FROM temp.join_hit GROUP BY row) a
                JOIN {shapes} s ON s.row = a.row AND s.parts = a.parts
                JOIN {table} c ON c.rowid = a.row
                JOIN audit_record r ON r.rowid = a.record
                WHERE a.same = 1 AND a.at = a.at2 AND a.record = a.record2 AND a.position = a.position2""",
                {"report": report_id})
            stored = max(0, cursor.rowcount)
            conn.execute("DELETE FROM temp.join_hit")
        return stored

    # -- writing a join --------------------------------------------------------------------------------

    def begin_join(self, report_id: int) -> None:
        """Drop a report's previous join (its rows, groups and state)."""
        with self._db.tx():
            for table in ("audit_join", "change_cluster", "report_actor", "report_operation"):
                self._db.conn.execute(f"DELETE FROM {table} WHERE report_id = ?", (report_id,))
        while True:  # in steps: a big report's rows must not hold the writer for long
            with self._db.tx():
                cursor = self._db.conn.execute(
                    "DELETE FROM change_actor WHERE report_id = ? AND row IN (SELECT row FROM change_actor "
                    "WHERE report_id = ? LIMIT ?)", (report_id, report_id, _WRITE_CHUNK))
                if cursor.rowcount < _WRITE_CHUNK:
                    return

    def add_rows(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Store join rows ``(report_id, row, object_id, entity_type, action, name, actor_key, operation,
        at_us, verdict, reason, cluster_id)`` in short transactions."""
        for start in range(0, len(rows), _WRITE_CHUNK):
            with self._db.tx():
                self._db.conn.executemany(
                    "INSERT OR REPLACE INTO change_actor (report_id, row, object_id, entity_type, action, "
                    "name, actor_key, operation, at, verdict, reason, cluster_id) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    rows[start:start + _WRITE_CHUNK])

    def finish_join(self, report_id: int, *, generation: int, item_count: int, since_us: int,
                    last_record: int = 0, now: datetime | None = None) -> JoinInfo:
        """Compute the groups of a joined report (every readable change of it has a join row) and record
        the join."""
        conn = self._db.conn
        with self._db.tx():
            conn.execute("DELETE FROM report_operation WHERE report_id = ?", (report_id,))
            conn.execute("DELETE FROM report_actor WHERE report_id = ?", (report_id,))
            counts = self._count_groups(report_id)
            conn.execute(
                "INSERT INTO report_actor (report_id, actor_key, n, operations, first, last) "
                "SELECT report_id, actor_key, sum(n), count(*), min(first), max(last) FROM report_operation "
                "WHERE report_id = ? GROUP BY actor_key", (report_id,))
            conn.execute(
                "INSERT OR REPLACE INTO audit_join (report_id, generation, item_count, since, joined, "
                "changes, explained, partly, sync, unexplained, last_record) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (report_id, generation, item_count, since_us, time_to_db(now or utc_now()),
                 sum(counts.values()), counts.get("explained", 0), counts.get("partly", 0),
                 counts.get("sync", 0), counts.get("unexplained", 0), last_record))
        info = self.join_info(report_id)
        assert info is not None
        return info

    def _count_groups(self, report_id: int) -> dict[str, int]:
        """Cluster sizes (the report's own: a change's cluster does not depend on the join, and every
        readable change has a join row) and operation sizes counted from the stored rows; returns the
        changes per verdict."""
        conn = self._db.conn
        conn.execute("DELETE FROM change_cluster WHERE report_id = ?", (report_id,))
        conn.execute(
            "INSERT INTO change_cluster (report_id, cluster_id, entity_type, action, label, n) "
            "SELECT ?, k.cluster_id, k.entity_type, k.action, k.label, g.n FROM (SELECT cluster_id, "
            f"count(*) AS n FROM {shape_table(report_id)} GROUP BY cluster_id) g "
            f"JOIN (SELECT cluster_id, entity_type, action, label FROM {cluster_table(report_id)} "
            "GROUP BY cluster_id) k ON k.cluster_id = g.cluster_id", (report_id,))  # (once per page it is in)
        conn.execute(
            "INSERT INTO report_operation (report_id, actor_key, operation, n, first, last) "
            "SELECT report_id, actor_key, operation, count(*), min(at), max(at) FROM change_actor "
            "WHERE report_id = ? GROUP BY actor_key, operation", (report_id,))
        return dict(conn.execute(
            "SELECT verdict, count(*) FROM change_actor WHERE report_id = ? GROUP BY verdict",
            (report_id,)).fetchall())

    def drop_indexes(self) -> None:
        """Drop ``change_actor``'s indexes before a large join (built again by :meth:`build_indexes`)."""
        with self._db.tx():
            for statement in CHANGE_ACTOR_INDEXES:
                name = statement.split(" ON ")[0].split()[-1]
                self._db.conn.execute(f"DROP INDEX IF EXISTS {name}")

    def build_indexes(self) -> None:
        with self._db.tx():
            for statement in CHANGE_ACTOR_INDEXES:
                self._db.conn.execute(statement)

    # -- reading a join --------------------------------------------------------------------------------

    def join_info(self, report_id: int) -> JoinInfo | None:
        row = self._db.conn.execute(
            "SELECT report_id, generation, item_count, since, joined, changes, explained, partly, sync, "
            "unexplained, last_record FROM audit_join WHERE report_id = ?", (report_id,)).fetchone()
        if row is None:
            return None
        return JoinInfo(int(row[0]), int(row[1]), int(row[2]), us_to_time(row[3]),
                        time_from_db(row[4]) or utc_now(), *(int(v) for v in row[5:]))

    def row(self, report_id: int, object_id: str, position: int | None = None) -> JoinRow | None:
        """The join row of the change at ``position`` when it is of ``object_id``, else of the object's first
        change (ids compare exactly)."""
        where, args = ("row = ? AND object_id = ?", [position, object_id]) if position is not None \
            else ("object_id = ? ORDER BY row LIMIT 1", [object_id])
        r = self._db.conn.execute(
            "SELECT row, object_id, entity_type, action, name, actor_key, operation, at, verdict, reason, "
            f"cluster_id FROM change_actor WHERE report_id = ? AND {where}", [report_id, *args]).fetchone()
        return None if r is None else _join_row(r)

    def rows_at(self, report_id: int, positions: Iterable[int]) -> dict[int, JoinRow]:
        """Join rows by the position of their change in the report."""
        out: dict[int, JoinRow] = {}
        for chunk, marks in in_list_chunks(sorted(set(positions))):
            for r in self._db.conn.execute(
                    "SELECT row, object_id, entity_type, action, name, actor_key, operation, at, verdict, "
                    f"reason, cluster_id FROM change_actor WHERE report_id = ? AND row IN ({marks})",
                    [report_id, *chunk]).fetchall():
                out[int(r[0])] = _join_row(r)
        return out

    def rows_of_objects(self, report_id: int, object_ids: Iterable[str]) -> list[JoinRow]:
        """The join rows of every change of these objects (ids compare case-insensitively), in report
        order."""
        out: list[JoinRow] = []
        for chunk, marks in in_list_chunks(sorted({i.lower() for i in object_ids if i})):
            out += [_join_row(r) for r in self._db.conn.execute(
                "SELECT row, object_id, entity_type, action, name, actor_key, operation, at, verdict, "
                f"reason, cluster_id FROM change_actor WHERE report_id = ? AND lower(object_id) IN ({marks})",
                [report_id, *chunk]).fetchall()]
        return sorted(out, key=lambda r: r.row)

    def actors(self, report_id: int) -> list[ActorCount]:
        """The report's actors, most changes first."""
        rows = self._db.conn.execute(
            "SELECT actor_key, n, operations, first, last FROM report_actor WHERE report_id = ? "
            "ORDER BY n DESC, actor_key", (report_id,)).fetchall()
        return [ActorCount(r[0], int(r[1]), int(r[2]), _time(r[3]), _time(r[4])) for r in rows]

    def operations(self, report_id: int, actor_key: str, *, after: tuple[int, str] | None = None,
                   limit: int = 500) -> list[OperationCount]:
        """An actor's operations, most changes first (keyset ``after`` = ``(changes, operation)``)."""
        where = "report_id = ? AND actor_key = ?"
        args: list[Any] = [report_id, actor_key.lower()]
        if after is not None:
            where += " AND (n < ? OR (n = ? AND operation > ?))"
            args += [after[0], after[0], after[1]]
        rows = self._db.conn.execute(
            f"SELECT actor_key, operation, n, first, last FROM report_operation WHERE {where} "
            "ORDER BY n DESC, operation LIMIT ?", [*args, max(1, limit)]).fetchall()
        return [OperationCount(r[0], r[1], int(r[2]), _time(r[3]), _time(r[4])) for r in rows]

    def clusters(self, report_id: int, *, after: tuple[int, str] | None = None,
                 limit: int = 500) -> list[ClusterCount]:
        """Clusters, largest first (keyset ``after`` = ``(changes, cluster id)``)."""
        where = "report_id = ?"
        args: list[Any] = [report_id]
        if after is not None:
            where += " AND (n < ? OR (n = ? AND cluster_id > ?))"
            args += [after[0], after[0], after[1]]
        rows = self._db.conn.execute(
            f"SELECT cluster_id, entity_type, action, label, n FROM change_cluster WHERE {where} "
            "ORDER BY n DESC, cluster_id LIMIT ?", [*args, max(1, limit)]).fetchall()
        return [ClusterCount(r[0], r[1], r[2], r[3], int(r[4])) for r in rows]

    def cluster(self, report_id: int, cluster_id: str) -> ClusterCount | None:
        r = self._db.conn.execute(
            "SELECT cluster_id, entity_type, action, label, n FROM change_cluster WHERE report_id = ? "
            "AND cluster_id = ?", (report_id, cluster_id)).fetchone()
        return None if r is None else ClusterCount(r[0], r[1], r[2], r[3], int(r[4]))

    def group_count(self, report_id: int, group: ChangeGroup, *, marked: bool | None = None,
                    kept: bool | None = None) -> int:
        """How many change rows a group holds (optionally only the marked or unmarked ones, only the ones a
        ``keep`` tag keeps or only the others)."""
        if group == ChangeGroup() and marked is None and kept is None:
            info = self.join_info(report_id)  # the whole report: counted when the join was recorded
            if info is not None:
                return info.changes
        source, where, args = self._narrowed(report_id, group, marked, kept)
        return int(self._db.conn.execute(f"SELECT count(*) FROM {source} WHERE {where}", args).fetchone()[0])

    def group_has(self, report_id: int, group: ChangeGroup, *, marked: bool | None = None,
                  kept: bool | None = None) -> bool:
        """Whether a group holds any change row (narrowed as :meth:`group_count` narrows); stops at the
        first it finds, so it is cheap on a big group that has one."""
        source, where, args = self._narrowed(report_id, group, marked, kept)
        sql = f"SELECT EXISTS (SELECT 1 FROM {source} WHERE {where})"
        return bool(self._db.conn.execute(sql, args).fetchone()[0])

    def _narrowed(self, report_id: int, group: ChangeGroup, marked: bool | None,
                  kept: bool | None) -> tuple[str, str, list[Any]]:
        """``(FROM, WHERE, arguments)`` of a group's rows, only marked or unmarked ones, only kept ones or
        the others, when asked."""
        source, clauses, args = self._rows(report_id, group)
        if marked is not None:
            clauses.append(("" if marked else "NOT ") + "EXISTS (SELECT 1 FROM restore_queue q WHERE "
                           "q.report_id = a.report_id AND q.object_id = a.object_id)")
        if kept is not None:
            clauses.append(KEPT_SQL if kept else f"NOT {KEPT_SQL}")
        return source, " AND ".join(clauses), args

    def _rows(self, report_id: int, group: ChangeGroup) -> tuple[str, list[str], list[Any]]:
        """``(FROM, conditions, arguments)`` of a group's rows in no order, its cluster reached the cheapest
        way: a large one by reading every join row, a small one by looking its rows up."""
        reach: ClusterReach = "lookup"
        if group.cluster is not None:
            found = self._db.conn.execute(
                "SELECT k.n, j.changes FROM change_cluster k JOIN audit_join j ON j.report_id = k.report_id "
                "WHERE k.report_id = ? AND k.cluster_id = ?", (report_id, group.cluster)).fetchone()
            if found is not None and found[0] >= SCAN_SHARE * found[1]:
                reach = "scan"
        clauses, args = group.where(report_id, reach=reach)
        return group.source(report_id, reach=reach), clauses, args

    def group_counts(self, report_id: int, by: str,
                     group: ChangeGroup = ChangeGroup()) -> list[tuple[str, int]]:
        """Sizes of the sub-groups of ``group`` by ``actor``, ``operation`` or ``cluster`` (largest first);
        used when a text filter is on (the stored group sizes count everything)."""
        column = {"actor": "a.actor_key", "operation": "a.operation", "cluster": "a.cluster_id"}[by]
        source, clauses, args = self._rows(report_id, group)
        rows = self._db.conn.execute(
            f"SELECT {column}, count(*) FROM {source} WHERE {' AND '.join(clauses)} "
            f"GROUP BY 1 ORDER BY 2 DESC, 1", args).fetchall()
        return [(r[0], int(r[1])) for r in rows]

    def group_page(self, report_id: int, group: ChangeGroup, *, after: tuple[str, str, int] | None = None,
                   limit: int = 100) -> list[ChangeRow]:
        """A keyset page of a group's changes ordered by name (case-insensitive) and position; ``after`` is
        the ``(name, id, position)`` of the previous page's last row (its position alone tells it from
        another change of the same name)."""
        clauses, args = group.where(report_id, reach="page")
        source = group.source(report_id, with_change=True, reach="page")
        order = "s.name, s.row" if group.cluster is not None else "a.name, a.row"  # an index's order
        if after is not None:
            clauses.append(f"({order}) > (?, ?)")
            args += [after[0], after[2]]
        rows = self._db.conn.execute(
            "SELECT c.object_id, c.entity_type, c.action, c.display_name, c.principal_name, c.on_prem, "
            "c.recoverable, c.failure_message, EXISTS (SELECT 1 FROM restore_queue q WHERE q.report_id = "
            "a.report_id AND q.object_id = a.object_id), a.row "
            f"FROM {source} WHERE {' AND '.join(clauses)} "
            f"ORDER BY {order} LIMIT ?",
            [*args, max(1, min(int(limit), 10_000))]).fetchall()
        return [ChangeRow(object_id=r[0], entity_type_raw=r[1], action_raw=r[2], display_name=r[3],
                          principal_name=r[4], sync=sync_from_db(r[5]),
                          recoverable=None if r[6] is None else bool(r[6]), marked=bool(r[8]),
                          failure_message=r[7], position=int(r[9])) for r in rows]

    # -- marking ---------------------------------------------------------------------------------------

    def mark_group(self, report_id: int, group: ChangeGroup, *,
                   now: datetime | None = None) -> GroupMarkResult:
        """Queue every change of a group for restore, except kept ones, set-based, as one bulk change of the
        restore queue: what it queues is recorded in the queue's undo record (``temp.queue_undo``, started
        afresh here), so the queue's one undo (:meth:`RestoreQueue.undo`) takes it out again."""
        self._queue.start_undo()
        source, clauses, args = self._rows(report_id, group)
        stamp = time_to_db(now or utc_now())
        rid = int(report_id)
        conn = self._db.conn
        with self._db.tx():
            total, kept = conn.execute(f"SELECT count(*), coalesce(sum({KEPT_SQL}), 0) FROM {source} "
                                       f"WHERE {' AND '.join(clauses)}", args).fetchone()
            conn.execute(
                "INSERT OR IGNORE INTO temp.queue_undo "
                "(report_id, object_id, entity_type, action, marked_at, added) "
                f"SELECT a.report_id, a.object_id, a.entity_type, a.action, ?, 1 FROM {source} "
                f"WHERE {' AND '.join([*clauses, 'NOT ' + KEPT_SQL])} "
                f"AND a.object_id NOT IN (SELECT object_id FROM restore_queue WHERE report_id = {rid})",
                [stamp, *args])
            before = conn.total_changes
            conn.execute(        # in key order: the queue's b-tree grows at its end
                "INSERT OR IGNORE INTO restore_queue (report_id, object_id, entity_type, action, marked_at) "
                "SELECT report_id, object_id, entity_type, action, marked_at FROM temp.queue_undo "
                "WHERE report_id = ? AND added = 1 ORDER BY object_id", (rid,))
            marked = conn.total_changes - before
        return GroupMarkResult(marked, max(0, int(total) - int(kept) - marked), int(kept))

    def unmark_group(self, report_id: int, group: ChangeGroup) -> int:
        """Take every change of a group out of the restore queue, set-based, as one bulk change of the queue
        (recorded afresh, like :meth:`mark_group`: the queue's one undo queues them again); returns how many
        objects left the queue."""
        self._queue.start_undo()
        source, clauses, args = self._rows(report_id, group)
        rid = int(report_id)
        conn = self._db.conn
        with self._db.tx():
            conn.execute(
                "INSERT OR REPLACE INTO temp.queue_undo "
                "(report_id, object_id, entity_type, action, marked_at, added) "
                "SELECT q.report_id, q.object_id, q.entity_type, q.action, q.marked_at, 0 "
                f"FROM restore_queue q WHERE q.report_id = {rid} AND q.object_id IN (SELECT a.object_id FROM "
                f"{source} WHERE {' AND '.join(clauses)})", args)
            before = conn.total_changes
            conn.execute(
                "DELETE FROM restore_queue WHERE report_id = ? AND object_id IN "
                "(SELECT object_id FROM temp.queue_undo WHERE report_id = ? AND added = 0)", (rid, rid))
            return conn.total_changes - before

    def kept_ids(self, report_id: int) -> set[str]:
        """Object ids of the report whose cluster or operation is tagged ``keep``."""
        rows = self._db.conn.execute(
            f"SELECT DISTINCT a.object_id FROM change_actor a WHERE a.report_id = ? AND {KEPT_SQL}",
            (report_id,)).fetchall()
        return {r[0] for r in rows}

    def kept_count(self, report_id: int) -> int:
        """Changes of the report left alone because a tag keeps them."""
        row = self._db.conn.execute(
            f"SELECT count(*) FROM change_actor a WHERE a.report_id = ? AND {KEPT_SQL}",
            (report_id,)).fetchone()
        return int(row[0])

    def object_ids(self, report_id: int, group: ChangeGroup) -> list[str]:
        """Object ids of a group (for plans built from a group)."""
        source, clauses, args = self._rows(report_id, group)
        rows = self._db.conn.execute(
            f"SELECT DISTINCT a.object_id FROM {source} WHERE {' AND '.join(clauses)} "
            "ORDER BY a.object_id", args).fetchall()
        return [r[0] for r in rows]

    def on_prem(self, report_id: int, object_id: str) -> bool:
        """Whether the report knows the object is synchronised from on-premises."""
        row = self._db.conn.execute(
            f"SELECT max(on_prem) FROM {change_table(report_id)} WHERE object_id = ?",
            (object_id,)).fetchone()
        return bool(row and row[0] == SYNC_SYNCED)

    def deleted_rows(self, report_id: int) -> list[tuple[str, str, str]]:
        """``(object id, type, name)`` of the report's ``restore`` changes (deleted since the backup), an
        object once."""
        rows = self._db.conn.execute(
            f"SELECT object_id, entity_type, display_name FROM {change_table(report_id)} "
            "WHERE action = 'restore' AND unreadable IS NULL GROUP BY object_id ORDER BY min(rowid)"
        ).fetchall()
        return [(r[0], r[1], r[2]) for r in rows]
