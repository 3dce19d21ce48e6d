"""Writing reports: begin, page-by-page download (one transaction per page), resume, finalize, reset, delete.

Every page is stored in one transaction together with the link to the next page, so a download killed at
any moment (even SIGKILL) resumes from :meth:`ReportWriter.resume_point` with no duplicate and no gap. A page
is only accepted when its ``source_url`` is the stored next link, so a page cannot be stored twice.

The raw items of a page are kept verbatim (compressed) in ``report_page``; each change row points at its bytes
(page ids are never reused, so decoded pages can be cached safely).

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

from entrabr_tui.core.model import FilteringCriteria, ResourceType, payload_sync_status
from entrabr_tui.store.cache_database import CacheDatabase
from entrabr_tui.store.cache_schema import (
    RECOVERABLE_UNKNOWN,
    change_table,
    create_report_indexes,
    create_report_tables,
    drop_report_tables,
    fts_table,
    recount_nodes,
)
from entrabr_tui.store.codec import dumps, scope_key, scope_to_db, sync_to_db, time_to_db, utc_now
from entrabr_tui.store.records import PageResult, Report, ReportKind
from entrabr_tui.store.report_catalog import ReportCatalog

#: Decides whether a change (a raw ``getChanges`` item) can be recovered; ``None`` means unknown.
RecoverableFn = Callable[[Mapping[str, Any]], bool | None]

#: Rows added to the substring index per transaction (during a download and when finalizing).
SEARCH_CHUNK = 50_000

_FTS_HASHSIZE = 16 * 1024 * 1024


class IngestError(Exception):
    """A page cannot be stored (out of order, already stored, or the report is complete); nothing changed."""


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
        """Like :meth:`begin_report` for ``getFailedChanges`` of a recovery job (repeated ids are kept)."""
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
        Repeated ids are kept. The list is browsable like a report (``kind`` ``failed``).
        """
        report = self._reports.for_job(job_id, ReportKind.FAILED) or self.begin_failed_changes(
            job_id, snapshot_id, f"local:failedChanges/{job_id}", now=now
        )
        if replace:
            report = self.reset_download(report.id)
        elif report.complete:
            with self._db.tx():
                self._db.conn.execute(
                    "UPDATE report SET complete = 0, completed_at = NULL, search_done = 0, next_link = ? "
                    "WHERE id = ?",
                    (f"local:failedChanges/{job_id}#{report.pages + 1}", report.id),
                )
        return self.ingest_page(report.id, items, None, None, now=now).report

    def resume_point(self, report_id: int) -> str | None:
        """The URL to fetch next (the first URL before any page); ``None`` once the download is complete."""
        row = self._db.conn.execute(
            "SELECT next_link, complete FROM report WHERE id = ?", (report_id,)
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
        finalize: bool = True,
        now: datetime | None = None,
    ) -> PageResult:
        """Store one page fetched from ``source_url`` and its ``@odata.nextLink`` in one transaction.

        ``source_url`` must be the current :meth:`resume_point` (a page fetched from anywhere else is refused,
        so no page is stored twice); ``None`` means "the page at the resume point" and skips that check.

        ``recoverable`` gives each item's recoverable flag (a callable, or one value per item); without it the
        cache's own callable is used, else the flag is unknown. Items that are not objects with an id are kept
        in the raw page but get no row (counted as malformed). When ``next_link`` is ``None`` the report is
        complete and, with ``finalize``, indexed before returning.
        """
        flags = _recoverable_values(items, recoverable if recoverable is not None else self._recoverable_fn)
        table = change_table(report_id)
        blob = bytearray()
        rows: list[tuple[Any, ...]] = []
        nodes: Counter[tuple[str, str, int, int]] = Counter()
        malformed = 0
        for item, flag in zip(items, flags, strict=True):
            data = dumps(item)
            offset = len(blob)
            blob += data
            if not isinstance(item, Mapping):
                malformed += 1
                continue
            raw_id = item.get("id") or item.get("objectId")
            if not raw_id:
                malformed += 1
                continue
            entity = _text(item.get("entityTypeName")) or "unknownFutureValue"
            action = _text(item.get("recoveryAction")) or "unknownFutureValue"
            name = item.get("displayName")
            current = item.get("currentState")
            delta = item.get("deltaFromCurrent")
            current = current if isinstance(current, Mapping) else {}
            delta = delta if isinstance(delta, Mapping) else {}
            on_prem = sync_to_db(payload_sync_status(ResourceType.parse(entity), current, delta))
            rec = None if flag is None else int(bool(flag))
            rows.append(
                (
                    str(raw_id),
                    entity,
                    action,
                    name if isinstance(name, str) else "",
                    _principal(current, delta),
                    on_prem,
                    rec,
                    _text(item.get("failureMessage")),
                    offset,
                    len(data),
                )
            )
            nodes[(entity, action, on_prem, RECOVERABLE_UNKNOWN if rec is None else rec)] += 1
        packed = zlib.compress(bytes(blob), 1)
        stamp = time_to_db(now or utc_now())
        warnings = [f"{malformed} item(s) without an id were kept in the raw page only"] if malformed else []
        with self._db.tx():
            state = self._db.conn.execute(
                "SELECT next_link, complete, pages FROM report WHERE id = ?", (report_id,)
            ).fetchone()
            if state is None:
                raise KeyError(f"no report {report_id} in the cache")
            expected, complete, pages = state
            if complete:
                raise IngestError(f"report {report_id} is already complete; the page was not stored")
            if source_url is None:
                source_url = expected
            elif source_url != expected:
                raise IngestError(
                    f"page from {source_url!r} is not the next page of report {report_id} "
                    f"(expected {expected!r}); it was not stored"
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
            self._db.conn.executemany(
                f"""INSERT INTO {table} (object_id, entity_type, action, display_name, principal_name,
                on_prem, recoverable, failure_message, page_id, raw_off, raw_len)
                VALUES (?,?,?,?,?,?,?,?,{page_id},?,?)""",
                rows,
            )
            self._db.conn.executemany(
                """INSERT INTO node_count (report_id, entity_type, action, on_prem, recoverable, n)
                VALUES (?,?,?,?,?,?) ON CONFLICT DO UPDATE SET n = n + excluded.n""",
                [(report_id, *key, n) for key, n in nodes.items()],
            )
            self._db.conn.execute(
                """UPDATE report SET next_link = ?, pages = ?, received_items = received_items + ?,
                item_count = item_count + ?, malformed_items = malformed_items + ?, complete = ?,
                completed_at = ? WHERE id = ?""",
                (
                    next_link,
                    seq,
                    len(items),
                    len(rows),
                    malformed,
                    int(next_link is None),
                    stamp if next_link is None else None,
                    report_id,
                ),
            )
        if next_link is None and finalize:
            report = self.finalize_report(report_id)
        else:
            report = self._reports.require(report_id)
            self._extend_search_while_downloading(report)
        return PageResult(report=report, inserted=len(rows), malformed=malformed, warnings=warnings)

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
            top = self._db.conn.execute(f"SELECT coalesce(max(rowid), 0) FROM {table}").fetchone()[0]
            done = self._db.conn.execute(
                "SELECT search_rowid FROM report WHERE id = ?", (report_id,)
            ).fetchone()[0]
            if done >= top:
                self._db.conn.execute("UPDATE report SET search_done = complete WHERE id = ?", (report_id,))
                return True
            high = min(done + max_rows, top)
            if self._has_fts(report_id):
                self._db.conn.execute(
                    f"""INSERT INTO {fts} (rowid, display_name, principal_name)
                    SELECT rowid, display_name, principal_name FROM {table} WHERE rowid > ? AND rowid <= ?""",
                    (done, high),
                )
            self._db.conn.execute(
                "UPDATE report SET search_rowid = ?, search_done = (complete AND ? >= ?) WHERE id = ?",
                (high, high, top, report_id),
            )
        return high >= top

    def finalize_report(self, report_id: int) -> Report:
        """Remove repeated ids (``getChanges``), build the lookup indexes, recount, fill the substring index.

        Idempotent and safe to interrupt (each step is its own transaction).
        """
        report = self._reports.require(report_id)
        if not report.complete:
            raise IngestError(f"report {report_id} is still downloading; it cannot be finalized")
        table = change_table(report_id)
        if not report.indexed:
            with self._db.tx():
                create_report_indexes(self._db.conn, report_id, unique_ids=False)
                duplicates = 0
                if report.kind is ReportKind.CHANGES:
                    duplicates = self._delete_repeated_ids(report_id, report.search_rowid)
                if duplicates:  # otherwise the counts kept page by page are exact
                    self._recount(report_id)
                self._db.conn.execute(
                    f"""UPDATE report SET indexed = 1, duplicate_items = duplicate_items + ?,
                    item_count = (SELECT count(*) FROM {table}) WHERE id = ?""",
                    (duplicates, report_id),
                )
        while not self.build_search_index(report_id):
            pass
        self._db.conn.execute("PRAGMA optimize")
        return self._reports.require(report_id)

    def _delete_repeated_ids(self, report_id: int, search_rowid: int) -> int:
        table, fts = change_table(report_id), fts_table(report_id)
        extra = self._db.conn.execute(
            f"""SELECT c.rowid, c.display_name, c.principal_name FROM {table} c
            JOIN (SELECT object_id, min(rowid) AS keep FROM {table}
                  GROUP BY object_id COLLATE NOCASE HAVING count(*) > 1) d
              ON c.object_id = d.object_id COLLATE NOCASE AND c.rowid <> d.keep"""
        ).fetchall()
        has_fts = self._has_fts(report_id)
        for rowid, name, principal in extra:
            if has_fts and rowid <= search_rowid:
                self._db.conn.execute(
                    f"INSERT INTO {fts} ({fts}, rowid, display_name, principal_name) "
                    "VALUES ('delete', ?, ?, ?)",
                    (rowid, name, principal),
                )
            self._db.conn.execute(f"DELETE FROM {table} WHERE rowid = ?", (rowid,))
        return len(extra)

    def reset_download(self, report_id: int) -> Report:
        """Forget the stored pages of a report and start again from its first URL (e.g. after the service
        refused a stale next link). The restore queue of the report is kept."""
        self._reports.require(report_id)
        with self._db.tx():
            drop_report_tables(self._db.conn, report_id)
            self._db.conn.execute("DELETE FROM report_page WHERE report_id = ?", (report_id,))
            self._db.conn.execute("DELETE FROM node_count WHERE report_id = ?", (report_id,))
            self._db.conn.execute(
                """UPDATE report SET next_link = source_url, pages = 0, item_count = 0, received_items = 0,
                duplicate_items = 0, malformed_items = 0, complete = 0, completed_at = NULL, indexed = 0,
                search_rowid = 0, search_done = 0, has_fts = ? WHERE id = ?""",
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
        """Set the recoverable flag of objects (e.g. after the catalogue changed); returns rows changed."""
        table = change_table(report_id)
        with self._db.tx():
            cursor = self._db.conn.executemany(
                f"UPDATE {table} SET recoverable = ? WHERE object_id = ?",
                [(None if flag is None else int(flag), object_id) for object_id, flag in values],
            )
            changed = cursor.rowcount
            self._recount(report_id)
        return changed
