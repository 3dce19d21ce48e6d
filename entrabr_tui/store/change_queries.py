"""Queries over a report's changes: counts per node, keyset pages, substring filter, changes by object id.

Every change object the service sent is a row, keyed by its position in the report (several rows may
share an object id: the changes of one object are all listed, never collapsed). Object ids are opaque and
compared exactly; :meth:`ChangeQueries.resolve_ids` is the one place that matches ids typed by a person
without regard to case (the input edge). Change objects that could not be read are rows too
(:meth:`ChangeQueries.unreadable`).

Text filter rule (everywhere; see :mod:`entrabr_tui.store.change_filter`): the text, case-insensitively, is
contained in the display name or the UPN/mail, or is a prefix of the object id. Text of three characters or
more uses the trigram index for the rows it covers (rows not indexed yet are scanned with the same rule);
shorter text scans. Counting a text keeps its matches (when not too many) in a temporary table that the
counts and pages asked next with the same text, or with a longer text starting with it, read instead
(:mod:`entrabr_tui.store.match_set`). Otherwise a filtered page first walks a bounded number of rows in name
order, which answers dense matches at once, and only then sorts the trigram matches, which is cheap when they
are sparse. Counting a very common text costs time in proportion to its matches.
"""

from __future__ import annotations

import zlib
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import orjson

from entrabr_tui.core.model import Change
from entrabr_tui.store.cache_database import CacheDatabase
from entrabr_tui.store.cache_schema import change_table
from entrabr_tui.store.change_filter import (
    RecoverableFilter,
    SyncFilter,
    filter_clauses,
    needle_of,
    recoverable_clause,
    sync_clause,
    text_matches,
)
from entrabr_tui.store.change_matcher import ChangeMatcher
from entrabr_tui.store.codec import sync_from_db
from entrabr_tui.store.match_set import MatchSet
from entrabr_tui.store.records import ChangeRow, NodeCount, ReportKind
from entrabr_tui.store.sqlite_file import in_list_chunks

#: A filtered page first walks this many rows in name order (cheap when matches are dense) before it asks
#: the trigram index for the matches and sorts them (cheap when they are sparse).
WALK_BUDGET = 2000
_PAGE_CACHE_SIZE = 8
_ROW_COLUMNS = (
    "c.object_id, c.entity_type, c.action, c.display_name, c.principal_name, c.on_prem, c.recoverable"
)
_ORDER = "c.entity_type, c.action, c.display_name, c.object_id, c.rowid"

#: A keyset position: ``ChangeRow.key`` (type, action, name, id, position), or (name, id, position) with type
#: and action given. The forms without the position (older callers) skip rows that repeat the last one's
#: name and id.
After = (tuple[str, str] | tuple[str, str, int] | tuple[str, str, str, str]
         | tuple[str, str, str, str, int])


class ChangeQueries:
    """Read-side queries over the changes of reports; all take the report id and work during a download as
    well as after it. Keeps the decoded raw pages read last and the matches of the latest text filter."""

    def __init__(self, db: CacheDatabase, matcher: ChangeMatcher) -> None:
        self._db = db
        self._matcher = matcher
        self._match_set = MatchSet(db, matcher)
        self._page_cache: OrderedDict[int, bytes] = OrderedDict()

    def counts(
        self,
        report_id: int,
        *,
        text: str | None = None,
        recoverable: RecoverableFilter = None,
        on_prem: SyncFilter = None,
        marked: bool | None = None,
        ids: Sequence[str] | None = None,
    ) -> list[NodeCount]:
        """Changes per (type, action), ordered by type then action; nodes with no match are left out
        (``ids``: only the changes of these objects)."""
        needle = needle_of(text)
        if needle is None and marked is None and ids is None:
            where, args = ["report_id = ?"], [report_id]
            for condition, values in (
                recoverable_clause("recoverable", recoverable, counts=True) if recoverable is not None
                else ("", []),
                sync_clause("on_prem", on_prem) if on_prem is not None else ("", []),
            ):
                if condition:
                    where.append(condition)
                    args.extend(values)
            rows = self._db.conn.execute(
                f"""SELECT entity_type, action, sum(n) FROM node_count WHERE {" AND ".join(where)}
                GROUP BY 1, 2 HAVING sum(n) > 0 ORDER BY 1, 2""",
                args,
            ).fetchall()
            return [NodeCount(t, a, int(n)) for t, a, n in rows]
        where, args = filter_clauses(report_id, None, None, recoverable, on_prem, marked, ids)
        table = change_table(report_id)
        kept = self._match_set.table(report_id, needle, build=True) if needle is not None else None
        if needle is None or kept is not None:
            sql = f"SELECT c.entity_type, c.action, count(*) FROM {kept or table} c"
            cte_args: list[Any] = []
        else:
            cte, cte_args, _ = self._matcher.cte(report_id, needle)
            sql = (
                f"WITH {cte} SELECT c.entity_type, c.action, count(*) "
                f"FROM m CROSS JOIN {table} c ON c.rowid = m.r"
            )
        sql += f" WHERE {' AND '.join(where) or '1 = 1'} GROUP BY 1, 2 ORDER BY 1, 2"
        rows = self._db.conn.execute(sql, [*cte_args, *args]).fetchall()
        return [NodeCount(t, a, int(n)) for t, a, n in rows]

    def count(
        self,
        report_id: int,
        *,
        entity_type: str | None = None,
        action: str | None = None,
        text: str | None = None,
        recoverable: RecoverableFilter = None,
        on_prem: SyncFilter = None,
        marked: bool | None = None,
        ids: Sequence[str] | None = None,
    ) -> int:
        """Number of changes matching all the given filters."""
        needle = needle_of(text)
        if needle is None and marked is None and ids is None:
            return sum(
                n.count
                for n in self.counts(report_id, recoverable=recoverable, on_prem=on_prem)
                if (entity_type is None or n.entity_type_raw == entity_type)
                and (action is None or n.action_raw == action)
            )
        where, args = filter_clauses(report_id, entity_type, action, recoverable, on_prem, marked, ids)
        table = change_table(report_id)
        kept = self._match_set.table(report_id, needle, build=True) if needle is not None else None
        if needle is None or kept is not None:
            sql = f"SELECT count(*) FROM {kept or table} c"
            cte_args: list[Any] = []
        else:
            cte, cte_args, _ = self._matcher.cte(report_id, needle)
            sql = f"WITH {cte} SELECT count(*) FROM m CROSS JOIN {table} c ON c.rowid = m.r"
        sql += f" WHERE {' AND '.join(where) or '1 = 1'}"
        return int(self._db.conn.execute(sql, [*cte_args, *args]).fetchone()[0])

    def page(
        self,
        report_id: int,
        *,
        entity_type: str | None = None,
        action: str | None = None,
        after: After | None = None,
        limit: int = 100,
        text: str | None = None,
        recoverable: RecoverableFilter = None,
        on_prem: SyncFilter = None,
        marked: bool | None = None,
        ids: Sequence[str] | None = None,
    ) -> list[ChangeRow]:
        """Up to ``limit`` changes ordered by type, action, name (case-insensitive), id and position, after
        ``after`` (``ids``: only the changes of these objects).

        ``after`` is the previous page's last :attr:`ChangeRow.key` (or ``(name, id, position)`` when type and
        action are both given). Every match appears exactly once across the pages.
        """
        limit = max(1, min(int(limit), 10_000))
        table = change_table(report_id)
        _search_rowid, _has_fts, _indexed, kind = self._matcher.report_state(report_id)
        where, args = filter_clauses(report_id, entity_type, action, recoverable, on_prem, marked, ids)
        if after is not None:
            if len(after) in (2, 3):
                if entity_type is None or action is None:
                    raise ValueError("after=(name, id, position) needs both entity_type and action; "
                                     "pass ChangeRow.key")
                where.append("(c.display_name, c.object_id, c.rowid) > (?, ?, ?)" if len(after) == 3
                             else "(c.display_name, c.object_id) > (?, ?)")
            elif len(after) in (4, 5):
                where.append("(c.entity_type, c.action, c.display_name, c.object_id, c.rowid) "
                             "> (?, ?, ?, ?, ?)" if len(after) == 5
                             else "(c.entity_type, c.action, c.display_name, c.object_id) > (?, ?, ?, ?)")
            else:
                raise ValueError("after must be (name, id, position) or (type, action, name, id, position)")
            args.extend(after)
        failure = "c.failure_message" if kind == ReportKind.FAILED.value else "NULL"
        columns = f"{_ROW_COLUMNS}, {failure}, c.rowid, c.unreadable"
        needle = needle_of(text)
        head = f"SELECT {columns} FROM {table} c WHERE {' AND '.join(where) or '1 = 1'} ORDER BY {_ORDER}"
        rows: list[Any] | None = None
        kept = self._match_set.table(report_id, needle, build=False) if needle is not None else None
        if needle is None:
            rows = self._db.conn.execute(f"{head} LIMIT ?", [*args, limit]).fetchall()
        elif kept is not None:
            condition = " AND ".join(where) or "1 = 1"
            kept_sql = f"SELECT {columns} FROM {kept} c WHERE {condition} ORDER BY {_ORDER} LIMIT ?"
            rows = self._db.conn.execute(kept_sql, [*args, limit]).fetchall()
        else:
            cte, cte_args, used_index = self._matcher.cte(report_id, needle)
            if not used_index:
                scan = [*where, "ebr_match(?, c.display_name, c.principal_name, c.object_id)"]
                rows = self._db.conn.execute(
                    f"SELECT {columns} FROM {table} c WHERE {' AND '.join(scan)} ORDER BY {_ORDER} LIMIT ?",
                    [*args, needle, limit],
                ).fetchall()
            else:
                rows = self._walk(head, args, needle, limit)
                if rows is None:
                    rows = self._db.conn.execute(
                        f"WITH {cte} SELECT {columns} FROM m CROSS JOIN {table} c ON c.rowid = m.r "
                        f"WHERE {' AND '.join(where) or '1 = 1'} ORDER BY {_ORDER} LIMIT ?",
                        [*cte_args, *args, limit],
                    ).fetchall()
        marked_ids = self._marked_among(report_id, [r[0] for r in rows]) if marked is None else set()
        return [
            ChangeRow(
                object_id=r[0],
                entity_type_raw=r[1],
                action_raw=r[2],
                display_name=r[3],
                principal_name=r[4],
                sync=sync_from_db(r[5]),
                recoverable=None if r[6] is None else bool(r[6]),
                marked=bool(marked) if marked is not None else r[0] in marked_ids,
                failure_message=r[7],
                position=int(r[8]),
                unreadable=r[9],
            )
            for r in rows
        ]

    def _walk(self, head: str, args: list[Any], needle: str, limit: int) -> list[Any] | None:
        """Walk the next :data:`WALK_BUDGET` rows in page order applying the text rule. Dense matches fill the
        page quickly this way; ``None`` when the budget ran out first (sparse: use the trigram index)."""
        if WALK_BUDGET <= 0:
            return None
        scanned = self._db.conn.execute(f"{head} LIMIT ?", [*args, WALK_BUDGET]).fetchall()
        found = [r for r in scanned if text_matches(needle, r[3], r[4], r[0])]
        if len(found) >= limit or len(scanned) < WALK_BUDGET:
            return found[:limit]
        return None

    def _marked_among(self, report_id: int, object_ids: list[str]) -> set[str]:
        if not object_ids:
            return set()
        marks = ",".join("?" * len(object_ids))
        rows = self._db.conn.execute(
            f"SELECT object_id FROM restore_queue WHERE report_id = ? AND object_id IN ({marks})",
            [report_id, *object_ids],
        ).fetchall()
        return {r[0] for r in rows}

    # -- raw changes -------------------------------------------------------------------------------------

    def _page_bytes(self, page_id: int) -> bytes:
        cached = self._page_cache.get(page_id)
        if cached is not None:
            self._page_cache.move_to_end(page_id)
            return cached
        row = self._db.conn.execute("SELECT raw FROM report_page WHERE id = ?", (page_id,)).fetchone()
        if row is None:
            raise KeyError(f"stored page {page_id} is missing")
        data = zlib.decompress(row[0])
        self._page_cache[page_id] = data
        while len(self._page_cache) > _PAGE_CACHE_SIZE:
            self._page_cache.popitem(last=False)
        return data

    def _raw_item(self, page_id: int, offset: int, length: int) -> Any:
        """The stored change object (usually a JSON object; an unreadable one may be anything)."""
        return orjson.loads(self._page_bytes(page_id)[offset : offset + length])

    def _locate(self, report_id: int, object_ids: list[str]) -> list[tuple[str, int, int, int, int, int]]:
        """``(object_id, position, page_id, offset, length, on_prem)`` of every change of these objects
        (exact ids), in report order."""
        found: list[tuple[str, int, int, int, int, int]] = []
        table = change_table(report_id)
        for chunk, marks in in_list_chunks(object_ids):
            found.extend(self._db.conn.execute(
                f"SELECT object_id, rowid, page_id, raw_off, raw_len, on_prem FROM {table} "
                f"WHERE object_id IN ({marks})",
                chunk,
            ).fetchall())
        found.sort(key=lambda row: row[1])
        return found

    def _stored_at(self, report_id: int, object_id: str, position: int | None
                   ) -> tuple[int, int, int, int] | None:
        """``(page_id, offset, length, on_prem)`` of the change at ``position`` (when it is of ``object_id``),
        else of the object's first change."""
        table = change_table(report_id)
        if position is not None:
            row = self._db.conn.execute(
                f"SELECT page_id, raw_off, raw_len, on_prem FROM {table} WHERE rowid = ? AND object_id = ?",
                (position, object_id),
            ).fetchone()
        else:
            row = self._db.conn.execute(
                f"SELECT page_id, raw_off, raw_len, on_prem FROM {table} WHERE object_id = ? "
                "ORDER BY rowid LIMIT 1",
                (object_id,),
            ).fetchone()
        return None if row is None else (row[0], row[1], row[2], row[3])

    def _change(self, page_id: int, offset: int, length: int, on_prem: int) -> Change:
        """A stored change as the domain model, with the sync status the cache knows (``on_prem``)."""
        return Change.from_json(self._raw_item(page_id, offset, length)).with_sync(sync_from_db(on_prem))

    def get_raw_change(self, report_id: int, object_id: str, position: int | None = None
                       ) -> dict[str, Any] | None:
        """A change exactly as the service sent it: the one at ``position`` (when it is of ``object_id``),
        else the first change of the object. Ids compare exactly."""
        found = self._stored_at(report_id, object_id, position)
        return None if found is None else self._raw_item(*found[:3])

    def get_change(self, report_id: int, object_id: str, position: int | None = None) -> Change | None:
        """One change by object id (and position, see :meth:`get_raw_change`), as the domain model with the
        sync status the cache knows."""
        found = self._stored_at(report_id, object_id, position)
        return None if found is None else self._change(*found)

    def get_changes(self, report_id: int, object_ids: Iterable[str]) -> list[Change]:
        """Every change of these objects (with the sync status the cache knows): objects in the order given,
        each object's changes in report order (an object may have several); unknown ids are skipped. Ids
        compare exactly."""
        wanted = list(dict.fromkeys(object_ids))
        by_id: dict[str, list[Change]] = {}
        for object_id, _position, page_id, offset, length, on_prem in self._locate(report_id, wanted):
            by_id.setdefault(object_id, []).append(self._change(page_id, offset, length, on_prem))
        return [change for object_id in wanted for change in by_id.get(object_id, ())]

    def positioned_changes(self, report_id: int, object_ids: Iterable[str]) -> list[tuple[int, Change]]:
        """Every change of these objects with its position (the row it is stored in), in report order (for
        updating rows one by one); ids compare exactly."""
        wanted = list(dict.fromkeys(object_ids))
        return [(position, self._change(page_id, offset, length, on_prem))
                for _id, position, page_id, offset, length, on_prem in self._locate(report_id, wanted)]

    def resolve_ids(self, report_id: int, typed: Iterable[str]) -> dict[str, str]:
        """The report's object id for each id a person typed or pasted (the input edge): the same id when the
        report has it, else the one id that matches it ignoring case. Ids with no match, or several matches
        differing only in case, are left out."""
        wanted = list(dict.fromkeys(t for t in typed if t))
        table = change_table(report_id)
        found: dict[str, str] = {}
        for object_id, *_rest in self._locate(report_id, wanted):
            found[object_id] = object_id
        missing = [t for t in wanted if t not in found]
        folded: dict[str, set[str]] = {}
        for chunk, marks in in_list_chunks([t.lower() for t in missing]):
            for (object_id,) in self._db.conn.execute(
                f"SELECT DISTINCT object_id FROM {table} WHERE lower(object_id) IN ({marks})", chunk
            ):
                folded.setdefault(object_id.lower(), set()).add(object_id)
        for text in missing:
            matches = folded.get(text.lower(), set())
            if len(matches) == 1:
                found[text] = next(iter(matches))
        return found

    def object_counts(self, report_id: int) -> dict[str, int]:
        """Objects per type that the report has changes of (an object with several changes counts once).

        Change objects that could not be read count too, under the type they name (one without an id as an
        object of its own): a restore of a whole type would act on their objects as well, so a type is only
        ever scoped whole when every change of it could be read and is queued."""
        rows = self._db.conn.execute(
            "SELECT entity_type, count(DISTINCT nullif(object_id, '')) + sum(object_id = '') "
            f"FROM {change_table(report_id)} GROUP BY 1"
        ).fetchall()
        return {t: int(n) for t, n in rows}

    def revertible_objects(self, report_id: int, entity_types: Iterable[str]) -> dict[str, list[str]]:
        """Per type, every object a restore of the whole type would act on: those with a change that is
        recoverable, of unknown status, or could not be read (by id; an unreadable change without an id as
        ``""``), sorted."""
        types = list(dict.fromkeys(entity_types))
        if not types:
            return {}
        marks = ",".join("?" * len(types))
        rows = self._db.conn.execute(
            f"SELECT DISTINCT entity_type, object_id FROM {change_table(report_id)} "
            f"WHERE entity_type IN ({marks}) AND (recoverable IS NOT 0 OR unreadable IS NOT NULL) "
            "ORDER BY 1, 2",
            types,
        ).fetchall()
        found: dict[str, list[str]] = {}
        for entity_type, object_id in rows:
            found.setdefault(entity_type, []).append(object_id)
        return found

    def objects_with_action(self, report_id: int, action: str) -> list[tuple[str, str, str]]:
        """``(entity type, object id, display name)`` of every readable object with a change of ``action``
        (``restore``: the objects that are in the deleted items now)."""
        rows = self._db.conn.execute(
            f"SELECT entity_type, object_id, min(display_name) FROM {change_table(report_id)} "
            "WHERE action = ? AND unreadable IS NULL AND object_id != '' GROUP BY 1, 2 ORDER BY 1, 2",
            (action,),
        ).fetchall()
        return [(str(t), str(i), str(n or "")) for t, i, n in rows]

    def unreadable(self, report_id: int, *, offset: int = 0, limit: int | None = None) -> list[ChangeRow]:
        """The change objects of a report that could not be read, in report order, each with its reason
        (:attr:`ChangeRow.unreadable`); the raw objects are kept (:meth:`get_raw_change` by position)."""
        table = change_table(report_id)
        rows = self._db.conn.execute(
            f"SELECT {_ROW_COLUMNS}, c.failure_message, c.rowid, c.unreadable FROM {table} c "
            "WHERE c.unreadable IS NOT NULL ORDER BY c.rowid LIMIT ? OFFSET ?",
            (-1 if limit is None else int(limit), max(0, int(offset))),
        ).fetchall()
        return [ChangeRow(object_id=r[0], entity_type_raw=r[1], action_raw=r[2], display_name=r[3],
                          principal_name=r[4], sync=sync_from_db(r[5]), recoverable=False,
                          marked=False, failure_message=r[7], position=int(r[8]), unreadable=r[9])
                for r in rows]

    def raw_at(self, report_id: int, position: int) -> Any:
        """The change object at ``position`` exactly as the service sent it (readable or not)."""
        row = self._db.conn.execute(
            f"SELECT page_id, raw_off, raw_len FROM {change_table(report_id)} WHERE rowid = ?", (position,)
        ).fetchone()
        return None if row is None else self._raw_item(*row)

    def _iter_stored(self, report_id: int, entity_type: str | None = None, action: str | None = None
                     ) -> Iterator[tuple[Any, int, int]]:
        """Every stored change object as sent (unreadable ones included), with its ``on_prem`` and position,
        in the order the service sent them (optionally of one type and action)."""
        where, args = ["1 = 1"], []
        for column, value in (("entity_type", entity_type), ("action", action)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        cursor = self._db.conn.execute(
            f"SELECT page_id, raw_off, raw_len, on_prem, rowid FROM {change_table(report_id)} "
            f"WHERE {' AND '.join(where)} ORDER BY rowid", args
        )
        current, data = -1, b""
        for page_id, offset, length, on_prem, position in cursor:
            if page_id != current:
                row = self._db.conn.execute("SELECT raw FROM report_page WHERE id = ?", (page_id,)).fetchone()
                current, data = page_id, zlib.decompress(row[0])
            yield orjson.loads(data[offset : offset + length]), on_prem, position

    def iter_raw_changes(self, report_id: int) -> Iterator[Any]:
        """Every stored change object in the order the service sent them, unreadable ones included (for
        export)."""
        for item, _, _ in self._iter_stored(report_id):
            yield item

    def iter_positioned_raw(self, report_id: int, *, entity_type: str | None = None,
                            action: str | None = None) -> Iterator[tuple[int, Any]]:
        """``(position, change object as sent)`` of every stored change (of one type and action when given),
        in report order (one pass over a report: its profile, the watch rules)."""
        for item, _, position in self._iter_stored(report_id, entity_type, action):
            yield position, item

    def iter_changes(self, report_id: int) -> Iterator[Change]:
        """Every stored change as the domain model (with the sync status the cache knows), in order."""
        for item, on_prem, _ in self._iter_stored(report_id):
            yield Change.from_json(item).with_sync(sync_from_db(on_prem))

    def failed_changes(self, job_id: str, *, offset: int = 0, limit: int | None = None) -> list[Change]:
        """Failed changes of a recovery job (with ``failure_message``), in the service's order."""
        row = self._db.conn.execute(
            "SELECT id FROM report WHERE kind = ? AND job_id = ?", (ReportKind.FAILED.value, job_id)
        ).fetchone()
        if row is None:
            return []
        report_id = int(row[0])
        rows = self._db.conn.execute(
            f"SELECT page_id, raw_off, raw_len, on_prem FROM {change_table(report_id)} "
            "ORDER BY rowid LIMIT ? OFFSET ?",
            (-1 if limit is None else int(limit), max(0, int(offset))),
        ).fetchall()
        return [self._change(p, o, n, on_prem) for p, o, n, on_prem in rows]
