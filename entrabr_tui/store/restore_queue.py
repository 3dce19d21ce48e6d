"""The restore queue: objects of a report marked for restore, persisted per report (and so per tenant).

The queue holds objects, not changes: marking an object marks all its changes. Object ids compare exactly
(ids typed by a person are matched to the report's ids first, see
:meth:`~entrabr_tui.store.change_queries.ChangeQueries.resolve_ids`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from entrabr_tui.core.model import Change
from entrabr_tui.store.cache_database import CacheDatabase
from entrabr_tui.store.cache_schema import change_table
from entrabr_tui.store.change_filter import RecoverableFilter, SyncFilter, filter_clauses, needle_of
from entrabr_tui.store.change_matcher import ChangeMatcher
from entrabr_tui.store.change_queries import ChangeQueries
from entrabr_tui.store.codec import EPOCH, time_from_db, time_to_db, utc_now
from entrabr_tui.store.records import MarkResult, NodeCount, QueueEntry
from entrabr_tui.store.sqlite_file import in_list_chunks


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
        entity_type: str | None,
        action: str | None,
        text: str | None,
        recoverable: RecoverableFilter,
        on_prem: SyncFilter,
    ) -> tuple[str, list[Any]]:
        """``SELECT c.object_id, c.entity_type, c.action FROM …`` for the rows matching the filters."""
        table = change_table(report_id)
        where, args = filter_clauses(report_id, entity_type, action, recoverable, on_prem, None)
        where.append("c.unreadable IS NULL")  # an unreadable change object cannot be restored
        needle = needle_of(text)
        if needle is None:
            head = f"SELECT c.object_id, c.entity_type, c.action FROM {table} c"
            cte_args: list[Any] = []
        else:
            cte, cte_args, _ = self._matcher.cte(report_id, needle)
            head = (
                f"WITH {cte} SELECT c.object_id, c.entity_type, c.action "
                f"FROM m CROSS JOIN {table} c ON c.rowid = m.r"
            )
        return f"{head} WHERE {' AND '.join(where) or '1 = 1'}", [*cte_args, *args]

    def mark_where(
        self,
        report_id: int,
        *,
        entity_type: str | None = None,
        action: str | None = None,
        text: str | None = None,
        recoverable: RecoverableFilter = None,
        on_prem: SyncFilter = None,
        now: datetime | None = None,
    ) -> int:
        """Mark everything matching the filters (e.g. "all visible"); returns how many were newly marked."""
        select, args = self._selection(report_id, entity_type, action, text, recoverable, on_prem)
        stamp = time_to_db(now or utc_now())
        with self._db.tx():
            return self._insert_marks(report_id, self._db.conn.execute(select, args).fetchall(), stamp)

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
        entity_type: str | None = None,
        action: str | None = None,
        text: str | None = None,
        recoverable: RecoverableFilter = None,
        on_prem: SyncFilter = None,
    ) -> int:
        """Unmark everything matching the filters; returns how many were removed."""
        select, args = self._selection(report_id, entity_type, action, text, recoverable, on_prem)
        with self._db.tx():
            ids = [row[0] for row in self._db.conn.execute(select, args).fetchall()]
            cursor = self._db.conn.executemany(
                "DELETE FROM restore_queue WHERE report_id = ? AND object_id = ?",
                [(report_id, i) for i in ids],
            )
            return cursor.rowcount

    def clear(self, report_id: int) -> int:
        """Unmark every object of a report; returns how many were marked."""
        with self._db.tx():
            cursor = self._db.conn.execute("DELETE FROM restore_queue WHERE report_id = ?", (report_id,))
            return cursor.rowcount

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

    def changes(self, report_id: int) -> list[Change]:
        """Every change of the marked objects with its full content (the input of restore planning, which
        scopes by object id)."""
        return self._queries.get_changes(report_id, [entry.object_id for entry in self.entries(report_id)])
