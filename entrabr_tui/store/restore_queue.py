"""The restore queue: objects of a report marked for restore, persisted per report (and so per tenant).

The queue holds objects, not changes: marking an object marks all its changes. Object ids compare exactly
(ids typed by a person are matched to the report's ids first, see
:meth:`~entrabr_tui.store.change_queries.ChangeQueries.resolve_ids`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from entrabr_tui.core.model import Change, SyncStatus
from entrabr_tui.store.cache_database import CacheDatabase
from entrabr_tui.store.cache_schema import change_table
from entrabr_tui.store.change_filter import RecoverableFilter, SyncFilter, filter_clauses, needle_of
from entrabr_tui.store.change_matcher import ChangeMatcher
from entrabr_tui.store.change_queries import ChangeQueries
from entrabr_tui.store.codec import EPOCH, sync_from_db, time_from_db, time_to_db, utc_now
from entrabr_tui.store.records import MarkResult, NodeCount, QueueEntry
from entrabr_tui.store.sqlite_file import in_list_chunks


class QueuedRow(NamedTuple):
    """A marked change as the cache's columns describe it (what planning and the queue pane need)."""

    object_id: str
    entity_type: str
    action: str
    display_name: str
    sync: SyncStatus
    #: The stored answer of :func:`~entrabr_tui.core.recoverability.recoverability` (``None``: unknown).
    recoverable: bool | None

    @property
    def on_premises_synced(self) -> bool:
        return self.sync is SyncStatus.SYNCED


@dataclass(frozen=True, slots=True)
class _Selection:
    """A ``SELECT c.object_id, c.entity_type, c.action`` over a report's changes and the ``WITH`` clause it
    reads (empty without a text filter), each with its arguments."""

    with_clause: str
    with_args: list[Any]
    select: str
    args: list[Any]


class RestoreQueue:
    """Mark and unmark objects; the queue survives restarts and is the input of restore planning."""

    def __init__(self, db: CacheDatabase, matcher: ChangeMatcher, queries: ChangeQueries) -> None:
        self._db = db
        self._matcher = matcher
        self._queries = queries

    def mark(self, report_id: int, object_ids: Iterable[str], *, now: datetime | None = None) -> MarkResult:
        """Mark objects by id (type and action come from the report's first readable change of each).
        Ids not in the report are returned in ``unknown`` (e.g. from a pasted list), never stored."""
        wanted = list(dict.fromkeys(raw for raw in object_ids if isinstance(raw, str) and raw))
        table = change_table(report_id)
        stamp = time_to_db(now or utc_now())
        found: dict[str, tuple[str, str, str]] = {}
        for chunk, marks in in_list_chunks(wanted):
            for object_id, entity_type, action in self._db.conn.execute(
                f"SELECT object_id, entity_type, action FROM {table} "
                f"WHERE object_id IN ({marks}) AND unreadable IS NULL ORDER BY rowid",
                chunk,
            ):
                found.setdefault(object_id, (object_id, entity_type, action))
        rows = [found[i] for i in wanted if i in found]
        with self._db.tx():
            added = self._insert_marks(report_id, rows, stamp)
        unknown = [i for i in wanted if i not in found]
        return MarkResult(marked=added, already=len(rows) - added, unknown=unknown)

    def _insert_marks(self, report_id: int, rows: Iterable[tuple[str, str, str]], stamp: str | None) -> int:
        """Queue ``(object_id, entity_type, action)`` rows (call inside a transaction); returns how many were
        not queued before."""
        before = self._queue_size(report_id)
        self._db.conn.executemany(
            "INSERT OR IGNORE INTO restore_queue (report_id, object_id, entity_type, action, marked_at) "
            "VALUES (?,?,?,?,?)",
            [(report_id, oid, t, a, stamp) for oid, t, a in rows],
        )
        return self._queue_size(report_id) - before

    def _queue_size(self, report_id: int) -> int:
        return int(
            self._db.conn.execute(
                "SELECT count(*) FROM restore_queue WHERE report_id = ?", (report_id,)
            ).fetchone()[0]
        )

    def _selection(
        self,
        report_id: int,
        where_nodes: Sequence[tuple[str, str]] | None,
        entity_type: str | None,
        action: str | None,
        text: str | None,
        recoverable: RecoverableFilter,
        on_prem: SyncFilter,
        ids: Sequence[str] | None = None,
    ) -> _Selection:
        """The rows matching the filters, as a ``SELECT c.object_id, c.entity_type, c.action``
        (``where_nodes``: only these (type, action) pairs; ``ids``: only these objects)."""
        table = change_table(report_id)
        where, args = filter_clauses(report_id, entity_type, action, recoverable, on_prem, None, ids)
        where.append("c.unreadable IS NULL")  # an unreadable change object cannot be restored
        if where_nodes is not None:
            pairs = list(dict.fromkeys(where_nodes))
            if pairs:
                values = ",".join("(?, ?)" for _ in pairs)
                where.append(f"(c.entity_type, c.action) IN (VALUES {values})")
                args.extend(value for pair in pairs for value in pair)
            else:
                where.append("0")
        needle = needle_of(text)
        if needle is None:
            return _Selection("", [], f"SELECT c.object_id, c.entity_type, c.action FROM {table} c "
                              f"WHERE {' AND '.join(where) or '1 = 1'}", args)
        cte, cte_args, _ = self._matcher.cte(report_id, needle)
        return _Selection(f"WITH {cte}", cte_args,
                          f"SELECT c.object_id, c.entity_type, c.action FROM m CROSS JOIN {table} c "
                          f"ON c.rowid = m.r WHERE {' AND '.join(where) or '1 = 1'}", args)

    # -- bulk changes: set-based, so hundreds of thousands of rows never pass through Python --------------

    def _undo_table(self) -> None:
        """This connection's record of the last bulk change (a temporary table, seen by no other
        connection). ``added`` 1: the change queued the object; 0: it took it out of the queue."""
        self._db.conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS queue_undo (report_id INTEGER NOT NULL, "
            "object_id TEXT NOT NULL, entity_type TEXT NOT NULL, action TEXT NOT NULL, "
            "marked_at TEXT NOT NULL, added INTEGER NOT NULL, PRIMARY KEY (report_id, object_id)) "
            "WITHOUT ROWID"
        )

    def start_undo(self) -> None:
        """Start recording a bulk change for :meth:`undo`, forgetting the one recorded before. Every bulk
        method called with ``undoable=True`` after this adds to the same record."""
        self._undo_table()
        with self._db.tx():
            self._db.conn.execute("DELETE FROM temp.queue_undo")

    def undo_counts(self) -> tuple[int, int]:
        """What :meth:`undo` would do: ``(unmark, mark again)``; ``(0, 0)`` when nothing is recorded."""
        self._undo_table()
        row = self._db.conn.execute(
            "SELECT coalesce(sum(added), 0), coalesce(sum(1 - added), 0) FROM temp.queue_undo"
        ).fetchone()
        return int(row[0]), int(row[1])

    def undo(self) -> tuple[int, int]:
        """Revert the recorded bulk change: what it queued leaves the queue, what it took out comes back
        (unless the report is gone). Returns ``(unmarked, marked again)`` and empties the record."""
        self._undo_table()
        conn = self._db.conn
        with self._db.tx():
            before = conn.total_changes
            conn.execute(
                "DELETE FROM restore_queue WHERE (report_id, object_id) IN "
                "(SELECT report_id, object_id FROM temp.queue_undo WHERE added = 1)"
            )
            unmarked = conn.total_changes - before
            before = conn.total_changes
            conn.execute(
                "INSERT OR IGNORE INTO restore_queue (report_id, object_id, entity_type, action, marked_at) "
                "SELECT u.report_id, u.object_id, u.entity_type, u.action, u.marked_at "
                "FROM temp.queue_undo u WHERE u.added = 0 AND u.report_id IN (SELECT id FROM report)"
            )
            marked = conn.total_changes - before
            conn.execute("DELETE FROM temp.queue_undo")
        return unmarked, marked

    def mark_where(
        self,
        report_id: int,
        *,
        where_nodes: Sequence[tuple[str, str]] | None = None,
        entity_type: str | None = None,
        action: str | None = None,
        text: str | None = None,
        recoverable: RecoverableFilter = None,
        on_prem: SyncFilter = None,
        now: datetime | None = None,
        undoable: bool = False,
        ids: Sequence[str] | None = None,
    ) -> int:
        """Mark everything matching the filters (e.g. all matches of a filter); returns how many were newly
        marked. ``undoable`` records what it queues for :meth:`undo` (see :meth:`start_undo`)."""
        chosen = self._selection(report_id, where_nodes, entity_type, action, text, recoverable, on_prem, ids)
        stamp = time_to_db(now or utc_now())
        rid = int(report_id)
        conn = self._db.conn
        if undoable:
            self._undo_table()
        with self._db.tx():
            before = conn.total_changes
            if not undoable:
                conn.execute(
                    f"{chosen.with_clause} INSERT OR IGNORE INTO restore_queue "
                    "(report_id, object_id, entity_type, action, marked_at) "
                    f"SELECT {rid}, s.object_id, s.entity_type, s.action, ? FROM ({chosen.select}) s",
                    [*chosen.with_args, stamp, *chosen.args],
                )
                return conn.total_changes - before
            conn.execute(
                f"{chosen.with_clause} INSERT OR IGNORE INTO temp.queue_undo "
                "(report_id, object_id, entity_type, action, marked_at, added) "
                f"SELECT {rid}, s.object_id, s.entity_type, s.action, ?, 1 FROM ({chosen.select}) s "
                f"WHERE s.object_id NOT IN (SELECT object_id FROM restore_queue WHERE report_id = {rid})",
                [*chosen.with_args, stamp, *chosen.args],
            )
            before = conn.total_changes
            conn.execute(
                "INSERT OR IGNORE INTO restore_queue (report_id, object_id, entity_type, action, marked_at) "
                "SELECT report_id, object_id, entity_type, action, marked_at FROM temp.queue_undo "
                "WHERE report_id = ? AND added = 1",
                (rid,),
            )
            return conn.total_changes - before

    def unmark(self, report_id: int, object_ids: Iterable[str]) -> int:
        """Unmark objects by id; returns how many were marked before."""
        wanted = list(dict.fromkeys(object_ids))
        removed = 0
        with self._db.tx():
            for chunk, marks in in_list_chunks(wanted):
                cursor = self._db.conn.execute(
                    f"DELETE FROM restore_queue WHERE report_id = ? AND object_id IN ({marks})",
                    [report_id, *chunk],
                )
                removed += cursor.rowcount
        return removed

    def unmark_where(
        self,
        report_id: int,
        *,
        where_nodes: Sequence[tuple[str, str]] | None = None,
        entity_type: str | None = None,
        action: str | None = None,
        text: str | None = None,
        recoverable: RecoverableFilter = None,
        on_prem: SyncFilter = None,
        undoable: bool = False,
        ids: Sequence[str] | None = None,
    ) -> int:
        """Unmark everything matching the filters; returns how many were removed. ``undoable`` records what
        it takes out for :meth:`undo`."""
        chosen = self._selection(report_id, where_nodes, entity_type, action, text, recoverable, on_prem, ids)
        rid = int(report_id)
        conn = self._db.conn
        if not undoable:
            with self._db.tx():
                before = conn.total_changes
                conn.execute(
                    f"{chosen.with_clause} DELETE FROM restore_queue WHERE report_id = {rid} "
                    f"AND object_id IN (SELECT s.object_id FROM ({chosen.select}) s)",
                    [*chosen.with_args, *chosen.args],
                )
                return conn.total_changes - before
        self._undo_table()
        with self._db.tx():
            conn.execute(
                f"{chosen.with_clause} INSERT OR REPLACE INTO temp.queue_undo "
                "(report_id, object_id, entity_type, action, marked_at, added) "
                "SELECT q.report_id, q.object_id, q.entity_type, q.action, q.marked_at, 0 "
                "FROM restore_queue q "
                f"WHERE q.report_id = {rid} AND q.object_id IN (SELECT s.object_id FROM ({chosen.select}) s)",
                [*chosen.with_args, *chosen.args],
            )
            return self._remove_recorded(rid)

    def _remove_recorded(self, report_id: int) -> int:
        """Take the objects the undo record says were taken out of ``report_id``'s queue out of it."""
        conn = self._db.conn
        before = conn.total_changes
        conn.execute(
            "DELETE FROM restore_queue WHERE report_id = ? AND object_id IN "
            "(SELECT object_id FROM temp.queue_undo WHERE report_id = ? AND added = 0)",
            (report_id, report_id),
        )
        return conn.total_changes - before

    def clear(self, report_id: int, *, undoable: bool = False) -> int:
        """Unmark every object of a report; returns how many were marked. ``undoable`` records them for
        :meth:`undo`."""
        if not undoable:
            with self._db.tx():
                cursor = self._db.conn.execute("DELETE FROM restore_queue WHERE report_id = ?", (report_id,))
                return cursor.rowcount
        self._undo_table()
        with self._db.tx():
            self._db.conn.execute(
                "INSERT OR REPLACE INTO temp.queue_undo "
                "(report_id, object_id, entity_type, action, marked_at, added) "
                "SELECT report_id, object_id, entity_type, action, marked_at, 0 FROM restore_queue "
                "WHERE report_id = ?",
                (report_id,),
            )
            return self._remove_recorded(report_id)

    def move(self, source: int, target: int) -> tuple[int, int]:
        """Queue in report ``target`` the objects queued in report ``source`` that ``target`` holds too (with
        ``target``'s type and action), and empty ``source``'s queue. Returns ``(kept, dropped)``: dropped
        objects are not in ``target`` (they no longer differ from the backup, e.g. restored since). The move
        is a bulk change of its own: :meth:`undo` reverts it."""
        table = change_table(target)
        src, dst = int(source), int(target)
        conn = self._db.conn
        self.start_undo()
        with self._db.tx():
            kept = int(conn.execute(
                f"SELECT count(DISTINCT q.object_id) FROM restore_queue q JOIN {table} c "
                "ON c.object_id = q.object_id WHERE q.report_id = ? AND c.unreadable IS NULL",
                (src,)).fetchone()[0])
            conn.execute(
                "INSERT OR IGNORE INTO temp.queue_undo "
                "(report_id, object_id, entity_type, action, marked_at, added) "
                f"SELECT {dst}, c.object_id, c.entity_type, c.action, q.marked_at, 1 "
                f"FROM restore_queue q JOIN {table} c ON c.object_id = q.object_id "
                f"WHERE q.report_id = {src} AND c.unreadable IS NULL "
                f"AND c.object_id NOT IN (SELECT object_id FROM restore_queue WHERE report_id = {dst})"
            )
            conn.execute(
                "INSERT OR IGNORE INTO restore_queue (report_id, object_id, entity_type, action, marked_at) "
                "SELECT report_id, object_id, entity_type, action, marked_at FROM temp.queue_undo "
                "WHERE report_id = ? AND added = 1",
                (dst,),
            )
            conn.execute(
                "INSERT OR REPLACE INTO temp.queue_undo "
                "(report_id, object_id, entity_type, action, marked_at, added) "
                "SELECT report_id, object_id, entity_type, action, marked_at, 0 FROM restore_queue "
                "WHERE report_id = ?",
                (src,),
            )
            removed = self._remove_recorded(src)
        return kept, removed - kept

    def entries(self, report_id: int) -> list[QueueEntry]:
        """Marked objects, by type, action and id."""
        rows = self._db.conn.execute(
            "SELECT object_id, entity_type, action, marked_at FROM restore_queue WHERE report_id = ? "
            "ORDER BY entity_type, action, object_id",
            (report_id,),
        ).fetchall()
        return [QueueEntry(report_id, oid, t, a, time_from_db(at) or EPOCH) for oid, t, a, at in rows]

    def counts(self, report_id: int) -> list[NodeCount]:
        """Marked objects per (type, action)."""
        rows = self._db.conn.execute(
            "SELECT entity_type, action, count(*) FROM restore_queue WHERE report_id = ? "
            "GROUP BY 1, 2 ORDER BY 1, 2",
            (report_id,),
        ).fetchall()
        return [NodeCount(t, a, int(n)) for t, a, n in rows]

    def ids(self, report_id: int) -> set[str]:
        """The ids of the objects marked in a report (no other column: cheap for a large queue)."""
        return {row[0] for row in self._db.conn.execute(
            "SELECT object_id FROM restore_queue WHERE report_id = ?", (report_id,))}

    def rows(self, report_id: int, *, every_change: bool = False) -> list[QueuedRow]:
        """The marked objects of a report as the cache's columns describe them (no change is decoded: cheap
        for hundreds of thousands). By default one row per object (its first readable change), by type,
        action, name and id; ``every_change``: every readable change of each, in report order (planning
        merges them per object)."""
        table = change_table(report_id)
        order = "c.rowid" if every_change else \
            "c.entity_type, c.action, c.display_name COLLATE NOCASE, c.object_id, c.rowid"
        found = self._db.conn.execute(
            "SELECT c.object_id, c.entity_type, c.action, c.display_name, c.on_prem, c.recoverable "
            f"FROM restore_queue q JOIN {table} c ON c.object_id = q.object_id "
            f"WHERE q.report_id = ? AND c.unreadable IS NULL ORDER BY {order}",
            (report_id,),
        ).fetchall()
        seen: set[str] = set()
        rows = []
        for object_id, entity_type, action, name, on_prem, recoverable in found:
            if every_change or object_id not in seen:
                seen.add(object_id)
                rows.append(QueuedRow(object_id, entity_type, action, name or "", sync_from_db(on_prem),
                                      None if recoverable is None else bool(recoverable)))
        return rows

    def signature(self) -> tuple[int, str | None]:
        """``(objects queued, newest mark time)`` over every report: it moves when any connection marks or
        unmarks (an object marked again gets a newer time), so a caller can tell cheaply that the queue
        changed without reading it."""
        count, newest = self._db.conn.execute("SELECT count(*), max(marked_at) FROM restore_queue").fetchone()
        return int(count), newest

    def changes(self, report_id: int) -> list[Change]:
        """Every change of the marked objects with its full content (the input of restore planning, which
        scopes by object id)."""
        return self._queries.get_changes(report_id, [entry.object_id for entry in self.entries(report_id)])
