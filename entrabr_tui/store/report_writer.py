"""Writing reports: begin, page-by-page download (one transaction per page), resume, finalize, reset, delete.

Every page is stored in one transaction together with the link to the next page, so a download killed at
any moment (even SIGKILL) resumes from :meth:`ReportWriter.resume_point` with no duplicate and no gap. A page
is only accepted when its ``source_url`` is the stored next link, so a page cannot be stored twice.

The raw items of a page are kept verbatim (compressed) in ``report_page``; each change row points at its bytes
(page ids are never reused, so decoded pages can be cached safely). Every change object gets a row, in the
order the service sent it (its position is the row's rowid): several changes of one object are all kept,
and a change object that cannot be read gets a row too, with the reason (``unreadable``), the action
:data:`~entrabr_tui.store.cache_schema.UNREADABLE_ACTION`, not recoverable (``recoverable`` 0), never
dropped. Its sync status is what the object states (it is never looked up: it cannot be restored).

**Completeness** is decided with the page that has no next link and stored with it (``completeness``):
the report is ``complete`` only when that end was reached *and* the number of change objects received
equals the number the service announced (``@odata.count`` when the pages stated one, else the job's
``totalChangedObjectsCalculated`` given as ``total_expected``; see :mod:`entrabr_tui.core.completeness`)
*and* every one of them could be read. Otherwise it stays incomplete (``short``, ``over``, ``unverified``,
or ``complete`` by count with unreadable objects), keeps what arrived, and is downloaded again from its
first page (:meth:`ReportWriter.reset_download`). A failed-changes list has no announced
number unless ``@odata.count`` is stated (``totalFailedChanges`` also counts links): without one it is
``unverified`` and counts as complete.

Lookup indexes and the substring index are built once the last page is in, so that ingest stays append-only
and fast; until then every query still works, by scanning. Each finalizing step is its own transaction, so
all of it is safe to interrupt and to run again.
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from entrabr_tui.core.completeness import Completeness, completeness
from entrabr_tui.core.model import FilteringCriteria, ResourceType, change_problem, payload_sync_status
from entrabr_tui.store.cache_database import CacheDatabase
from entrabr_tui.store.cache_schema import (
    RECOVERABLE_UNKNOWN,
    UNREADABLE_ACTION,
    UNREADABLE_TYPE,
    change_table,
    create_report_indexes,
    create_report_tables,
    drop_report_tables,
    fts_table,
    recount_nodes,
)
from entrabr_tui.store.codec import dumps, loads, scope_key, scope_to_db, sync_to_db, time_to_db, utc_now
from entrabr_tui.store.join_shapes import ShapeRows
from entrabr_tui.store.records import PageResult, Report, ReportKind
from entrabr_tui.store.report_catalog import ReportCatalog

#: Decides whether a change (a raw ``getChanges`` item) can be recovered; ``None`` means unknown.
RecoverableFn = Callable[[Mapping[str, Any]], bool | None]

#: Rows added to the substring index per transaction (during a download and when finalizing).
SEARCH_CHUNK = 50_000

_FTS_HASHSIZE = 16 * 1024 * 1024


class IngestError(Exception):
    """A page cannot be stored (out of order, already stored, or the download ended); nothing changed."""


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _principal(current: Mapping[str, Any], delta: Mapping[str, Any]) -> str | None:
    for source in (current, delta):
        for key in ("userPrincipalName", "mail"):
            value = source.get(key)
            if isinstance(value, str) and value:
                return value
    return None


def _recoverable_values(
    items: Sequence[Any], recoverable: RecoverableFn | Sequence[bool | None] | None
) -> Sequence[bool | None]:
    if recoverable is None:
        return [None] * len(items)
    if callable(recoverable):
        return [recoverable(item) if isinstance(item, Mapping) else None for item in items]
    if len(recoverable) != len(items):
        raise ValueError(f"recoverable has {len(recoverable)} values for {len(items)} items")
    return recoverable


class ReportWriter:
    """Stores downloaded change lists (``getChanges`` of a preview job, ``getFailedChanges`` of a recovery
    job) and builds their indexes.

    ``recoverable`` decides each stored change's recoverable flag when a page brings none of its own.
    """

    def __init__(self, db: CacheDatabase, reports: ReportCatalog, *,
                 recoverable: RecoverableFn | None = None) -> None:
        self._db = db
        self._reports = reports
        self._recoverable_fn = recoverable

    def _begin(
        self,
        kind: ReportKind,
        job_id: str,
        snapshot_id: str | None,
        scope: FilteringCriteria | None,
        source_url: str,
        total_expected: int | None,
        now: datetime | None,
    ) -> Report:
        with self._db.tx():
            row = self._db.conn.execute(
                "SELECT id FROM report WHERE kind = ? AND job_id = ?", (kind.value, job_id)
            ).fetchone()
            if row is None:
                cursor = self._db.conn.execute(
                    """INSERT INTO report (kind, job_id, snapshot_id, scope_key, filtering, created,
                    source_url, next_link, total_expected, has_fts) VALUES (?,?,?,?,?,?,?,?,?,?)""",
                    (
                        kind.value,
                        job_id,
                        snapshot_id,
                        scope_key(scope),
                        scope_to_db(scope),
                        time_to_db(now or utc_now()),
                        source_url,
                        source_url,
                        total_expected,
                        int(self._db.has_trigram),
                    ),
                )
                report_id = int(cursor.lastrowid or 0)
                create_report_tables(self._db.conn, report_id, self._db.has_trigram)
                if self._db.has_trigram:
                    self._db.conn.execute(
                        f"INSERT INTO {fts_table(report_id)} ({fts_table(report_id)}, rank) "
                        "VALUES ('hashsize', ?)",
                        (_FTS_HASHSIZE,),
                    )
            else:
                report_id = int(row[0])
                if total_expected is not None:
                    self._db.conn.execute(
                        "UPDATE report SET total_expected = coalesce(total_expected, ?) WHERE id = ?",
                        (total_expected, report_id),
                    )
        report = self._reports.require(report_id)
        if report.needs_finalize:
            report = self.finalize_report(report_id)  # interrupted between the last page and its indexes
        return report

    def begin_report(
        self,
        job_id: str,
        snapshot_id: str | None,
        scope: FilteringCriteria | None,
        source_url: str,
        *,
        total_expected: int | None = None,
        now: datetime | None = None,
    ) -> Report:
        """The report of a successful preview job, created on first call; later calls return it (so a
        restarted download continues, and a complete one interrupted before its indexes were built is
        finalized).
        ``source_url`` is the first ``getChanges`` URL."""
        return self._begin(ReportKind.CHANGES, job_id, snapshot_id, scope, source_url, total_expected, now)

    def begin_failed_changes(
        self,
        job_id: str,
        snapshot_id: str | None,
        source_url: str,
        *,
        total_expected: int | None = None,
        now: datetime | None = None,
    ) -> Report:
        """Like :meth:`begin_report` for ``getFailedChanges`` of a recovery job."""
        return self._begin(ReportKind.FAILED, job_id, snapshot_id, None, source_url, total_expected, now)

    def save_failed_changes(
        self,
        job_id: str,
        items: Sequence[Any],
        *,
        replace: bool = False,
        snapshot_id: str | None = None,
        now: datetime | None = None,
    ) -> Report:
        """Store failed changes of a recovery job without page links (one transaction per call).

        ``replace`` starts the list again (the first page of a fresh download); otherwise ``items`` are added.
        The list is browsable like a report (``kind`` ``failed``).
        """
        report = self._reports.for_job(job_id, ReportKind.FAILED) or self.begin_failed_changes(
            job_id, snapshot_id, f"local:failedChanges/{job_id}", now=now
        )
        if replace:
            report = self.reset_download(report.id)
        elif report.reached_end:
            with self._db.tx():
                self._db.conn.execute(
                    "UPDATE report SET complete = 0, completed_at = NULL, search_done = 0, next_link = ?, "
                    "reached_end = 0, completeness = 'unfinished' WHERE id = ?",
                    (f"local:failedChanges/{job_id}#{report.pages + 1}", report.id),
                )
        return self.ingest_page(report.id, items, None, None, now=now).report

    def resume_point(self, report_id: int) -> str | None:
        """The URL to fetch next (the first URL before any page); ``None`` once the walk ended (a complete
        report, or an incomplete one to download again with :meth:`reset_download`)."""
        row = self._db.conn.execute(
            "SELECT next_link, reached_end FROM report WHERE id = ?", (report_id,)
        ).fetchone()
        if row is None:
            raise KeyError(f"no report {report_id} in the cache")
        return None if row[1] else row[0]

    def ingest_page(
        self,
        report_id: int,
        items: Sequence[Any],
        next_link: str | None,
        source_url: str | None = None,
        *,
        recoverable: RecoverableFn | Sequence[bool | None] | None = None,
        stated_count: int | None = None,
        finalize: bool = True,
        now: datetime | None = None,
    ) -> PageResult:
        """Store one page fetched from ``source_url`` and its ``@odata.nextLink`` in one transaction.

        ``source_url`` must be the current :meth:`resume_point` (a page fetched from anywhere else is refused,
        so no page is stored twice); ``None`` means "the page at the resume point" and skips that check.

        ``recoverable`` gives each item's recoverable flag (a callable, or one value per item); without it the
        cache's own callable is used, else the flag is unknown. Every item gets a row in the order given;
        one that is not a readable change object gets its reason in ``unreadable`` (and is counted).
        ``stated_count`` is the page's ``@odata.count``. When ``next_link`` is ``None`` the walk has ended:
        the completeness verdict is stored (see the module docstring) and, with ``finalize``, the report is
        indexed before returning.
        """
        flags = _recoverable_values(items, recoverable if recoverable is not None else self._recoverable_fn)
        table = change_table(report_id)
        blob = bytearray()
        rows: list[tuple[Any, ...]] = []
        nodes: Counter[tuple[str, str, int, int]] = Counter()
        shapes = ShapeRows()  # what the audit join compares, made once here (rows counted from 1)
        unreadable = 0
        for number, (item, flag) in enumerate(zip(items, flags, strict=True), 1):
            data = dumps(item)
            offset = len(blob)
            blob += data
            problem = change_problem(item)
            source: Mapping[str, Any] = item if isinstance(item, Mapping) else {}
            raw_id = source.get("id")
            if raw_id is None:
                raw_id = source.get("objectId")
            object_id = raw_id if isinstance(raw_id, str) else ""
            name = source.get("displayName")
            name = name if isinstance(name, str) else ""
            current = source.get("currentState")
            delta = source.get("deltaFromCurrent")
            current = current if isinstance(current, Mapping) else {}
            delta = delta if isinstance(delta, Mapping) else {}
            if problem is None:
                entity = _text(source.get("entityTypeName")) or "unknownFutureValue"
                action = _text(source.get("recoveryAction")) or "unknownFutureValue"
                rec = None if flag is None else int(bool(flag))
                shapes.add(number, object_id, name, loads(data))  # as the join will read it back
            else:
                unreadable += 1
                entity = _text(source.get("entityTypeName")) or UNREADABLE_TYPE
                action, rec = UNREADABLE_ACTION, 0  # never restorable
            on_prem = sync_to_db(payload_sync_status(ResourceType.parse(entity), current, delta))
            rows.append(
                (
                    object_id,
                    entity,
                    action,
                    name,
                    _principal(current, delta),
                    on_prem,
                    rec,
                    _text(source.get("failureMessage")),
                    offset,
                    len(data),
                    problem,
                )
            )
            nodes[(entity, action, on_prem, RECOVERABLE_UNKNOWN if rec is None else rec)] += 1
        packed = zlib.compress(bytes(blob), 1)
        stamp = time_to_db(now or utc_now())
        warnings = [f"{unreadable} change object(s) could not be read; they are kept as sent and listed as "
                    "unreadable"] if unreadable else []
        with self._db.tx():
            state = self._db.conn.execute(
                "SELECT next_link, reached_end, pages, kind, received_items, total_expected, stated_count, "
                "malformed_items FROM report WHERE id = ?",
                (report_id,),
            ).fetchone()
            if state is None:
                raise KeyError(f"no report {report_id} in the cache")
            expected_url, ended, pages, kind, received, total_expected, stated_before, unreadable_before = (
                state)
            if ended:
                raise IngestError(f"the download of report {report_id} has ended; the page was not stored")
            if source_url is None:
                source_url = expected_url
            elif source_url != expected_url:
                raise IngestError(
                    f"page from {source_url!r} is not the next page of report {report_id} "
                    f"(expected {expected_url!r}); it was not stored"
                )
            if next_link is not None and (
                next_link == source_url
                or self._db.conn.execute(
                    "SELECT 1 FROM report_page WHERE report_id = ? AND source_url = ?", (report_id, next_link)
                ).fetchone()
            ):
                raise IngestError(f"the service repeated page link {next_link!r}; the page was not stored")
            seq = pages + 1
            cursor = self._db.conn.execute(
                "INSERT INTO report_page (report_id, seq, source_url, next_link, item_count, fetched, raw) "
                "VALUES (?,?,?,?,?,?,?)",
                (report_id, seq, source_url, next_link, len(items), stamp, packed),
            )
            page_id = int(cursor.lastrowid or 0)
            base = int(self._db.conn.execute(f"SELECT coalesce(max(rowid), 0) FROM {table}").fetchone()[0])
            self._db.conn.executemany(
                f"""INSERT INTO {table} (object_id, entity_type, action, display_name, principal_name,
                on_prem, recoverable, failure_message, page_id, raw_off, raw_len, unreadable)
                VALUES (?,?,?,?,?,?,?,?,{page_id},?,?,?)""",
                rows,
            )
            shapes.write(self._db.conn, report_id, base)
            self._db.conn.executemany(
                """INSERT INTO node_count (report_id, entity_type, action, on_prem, recoverable, n)
                VALUES (?,?,?,?,?,?) ON CONFLICT DO UPDATE SET n = n + excluded.n""",
                [(report_id, *key, n) for key, n in nodes.items()],
            )
            stated = stated_count if stated_count is not None else stated_before
            verdict = Completeness.UNFINISHED
            if next_link is None:
                expected = stated if stated is not None else (
                    total_expected if kind == ReportKind.CHANGES.value else None)
                verdict = completeness(received + len(items), expected, True)
            complete = (verdict is Completeness.COMPLETE or (
                kind == ReportKind.FAILED.value and verdict is Completeness.UNVERIFIED)) \
                and unreadable_before + unreadable == 0  # what cannot be read is not a complete report
            self._db.conn.execute(
                """UPDATE report SET next_link = ?, pages = ?, received_items = received_items + ?,
                item_count = item_count + ?, malformed_items = malformed_items + ?, complete = ?,
                completed_at = ?, reached_end = ?, stated_count = ?, completeness = ? WHERE id = ?""",
                (
                    next_link,
                    seq,
                    len(items),
                    len(rows),
                    unreadable,
                    int(complete),
                    stamp if next_link is None else None,
                    int(next_link is None),
                    stated,
                    verdict.value,
                    report_id,
                ),
            )
        if next_link is None and finalize:
            report = self.finalize_report(report_id)
        else:
            report = self._reports.require(report_id)
            self._extend_search_while_downloading(report)
        return PageResult(report=report, inserted=len(rows), malformed=unreadable, warnings=warnings)

    # -- indexes, reset and delete ------------------------------------------------------------------------

    def _extend_search_while_downloading(self, report: Report) -> None:
        """Index a chunk of rows when enough have arrived since the last one (spreads the finalize cost)."""
        if report.item_count - report.search_rowid >= SEARCH_CHUNK and not report.search_ready:
            self.build_search_index(report.id)

    def _has_fts(self, report_id: int) -> bool:
        """Whether the report's substring index is a trigram table (else the rows are scanned)."""
        row = self._db.conn.execute("SELECT has_fts FROM report WHERE id = ?", (report_id,)).fetchone()
        return bool(row[0])

    def _recount(self, report_id: int) -> None:
        recount_nodes(self._db.conn, report_id)

    def build_search_index(self, report_id: int, *, max_rows: int | None = None) -> bool:
        """Add up to ``max_rows`` (default :data:`SEARCH_CHUNK`) stored rows to the substring index in one
        transaction; ``True`` once every stored row is covered."""
        max_rows = max_rows or SEARCH_CHUNK
        self._reports.require(report_id)
        table, fts = change_table(report_id), fts_table(report_id)
        with self._db.tx():
            top: int = self._db.conn.execute(f"SELECT coalesce(max(rowid), 0) FROM {table}").fetchone()[0]
            done: int = self._db.conn.execute(
                "SELECT search_rowid FROM report WHERE id = ?", (report_id,)
            ).fetchone()[0]
            if done >= top:
                self._db.conn.execute("UPDATE report SET search_done = reached_end WHERE id = ?",
                                      (report_id,))
                return True
            high = min(done + max_rows, top)
            if self._has_fts(report_id):
                self._db.conn.execute(
                    f"""INSERT INTO {fts} (rowid, display_name, principal_name)
                    SELECT rowid, display_name, principal_name FROM {table} WHERE rowid > ? AND rowid <= ?""",
                    (done, high),
                )
            self._db.conn.execute(
                "UPDATE report SET search_rowid = ?, search_done = (reached_end AND ? >= ?) WHERE id = ?",
                (high, high, top, report_id),
            )
        return high >= top

    def finalize_report(self, report_id: int) -> Report:
        """Build the lookup indexes and fill the substring index of a report whose walk ended (complete or
        not: an incomplete one stays browsable). Nothing is removed: several changes of one object are all
        kept. Idempotent and safe to interrupt (each step is its own transaction).
        """
        report = self._reports.require(report_id)
        if not report.reached_end:
            raise IngestError(f"report {report_id} is still downloading; it cannot be finalized")
        if not report.indexed:
            with self._db.tx():
                create_report_indexes(self._db.conn, report_id)
                self._db.conn.execute("UPDATE report SET indexed = 1 WHERE id = ?", (report_id,))
        while not self.build_search_index(report_id):
            pass
        # Inside a write transaction: on its own, ANALYZE reads first and then upgrades to a write, which
        # fails at once ("database is locked", SQLITE_BUSY_SNAPSHOT: the busy timeout does not apply) when
        # another connection wrote in between; BEGIN IMMEDIATE waits its turn for the write lock instead.
        with self._db.tx():
            self._db.conn.execute("PRAGMA optimize")
        return self._reports.require(report_id)

    def reset_download(self, report_id: int) -> Report:
        """Forget the stored pages of a report and start again from its first URL (e.g. after the service
        refused a stale next link). The restore queue of the report is kept; the sync status lookups are
        forgotten with the rows they were recorded in, so the objects are looked up again."""
        self._reports.require(report_id)
        with self._db.tx():
            drop_report_tables(self._db.conn, report_id)
            self._db.conn.execute("DELETE FROM report_page WHERE report_id = ?", (report_id,))
            self._db.conn.execute("DELETE FROM node_count WHERE report_id = ?", (report_id,))
            self._db.conn.execute("DELETE FROM sync_status WHERE report_id = ?", (report_id,))
            self._db.conn.execute("DELETE FROM report_profile WHERE report_id = ?", (report_id,))
            self._db.conn.execute("DELETE FROM report_profile_info WHERE report_id = ?", (report_id,))
            self._db.conn.execute(
                """UPDATE report SET next_link = source_url, pages = 0, item_count = 0, received_items = 0,
                duplicate_items = 0, malformed_items = 0, complete = 0, completed_at = NULL, indexed = 0,
                search_rowid = 0, search_done = 0, has_fts = ?, reached_end = 0, stated_count = NULL,
                completeness = 'unfinished' WHERE id = ?""",
                (int(self._db.has_trigram), report_id),
            )
            create_report_tables(self._db.conn, report_id, self._db.has_trigram)
        return self._reports.require(report_id)

    def delete_report(self, report_id: int) -> None:
        """Remove a report and its rows for good (only on the user's explicit request; expiry archives)."""
        with self._db.tx():
            drop_report_tables(self._db.conn, report_id)
            self._db.conn.execute("DELETE FROM report WHERE id = ?", (report_id,))

    def set_recoverable(self, report_id: int, values: Iterable[tuple[str, bool | None]]) -> int:
        """Set the recoverable flag of objects, every change of each (e.g. after the catalogue changed);
        returns rows changed. Unreadable changes keep theirs (never recoverable)."""
        table = change_table(report_id)
        with self._db.tx():
            cursor = self._db.conn.executemany(
                f"UPDATE {table} SET recoverable = ? WHERE object_id = ? AND unreadable IS NULL",
                [(None if flag is None else int(flag), object_id) for object_id, flag in values],
            )
            changed = cursor.rowcount
            self._recount(report_id)
        return changed
