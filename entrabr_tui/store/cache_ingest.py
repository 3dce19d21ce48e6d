"""Reports and their page-by-page download: begin, ingest (one transaction per page), resume, finalize.

Every page is stored in one transaction together with the link to the next page, so a download killed at
any moment (even SIGKILL) resumes from :meth:`ReportsMixin.resume_point` with no duplicate and no gap. A page
is only accepted when its ``source_url`` is the stored next link, so a page cannot be stored twice.

The raw items of a page are kept verbatim (compressed) in ``report_page``; each change row points at its bytes
(page ids are never reused, so decoded pages can be cached safely). Indexes are built when the last page is
in (see :mod:`entrabr_tui.store.cache_maintenance`).
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from entrabr_tui.core.model import FilteringCriteria
from entrabr_tui.store.cache_core import RecoverableFn
from entrabr_tui.store.cache_maintenance import MaintenanceMixin
from entrabr_tui.store.cache_reports import IngestError
from entrabr_tui.store.cache_schema import RECOVERABLE_UNKNOWN, change_table, create_report_tables, fts_table
from entrabr_tui.store.codec import dumps, scope_key, scope_to_db, time_to_db, utc_now
from entrabr_tui.store.records import PageResult, Report, ReportKind

_FTS_HASHSIZE = 16 * 1024 * 1024


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


class ReportsMixin(MaintenanceMixin):
    """Downloaded change lists (``getChanges`` of a preview job, ``getFailedChanges`` of a recovery job)."""

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
        with self._tx():
            row = self._conn.execute(
                "SELECT id FROM report WHERE kind = ? AND job_id = ?", (kind.value, job_id)
            ).fetchone()
            if row is None:
                cursor = self._conn.execute(
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
                        int(self.has_trigram),
                    ),
                )
                report_id = int(cursor.lastrowid or 0)
                create_report_tables(self._conn, report_id, self.has_trigram)
                if self.has_trigram:
                    self._conn.execute(
                        f"INSERT INTO {fts_table(report_id)} ({fts_table(report_id)}, rank) "
                        "VALUES ('hashsize', ?)",
                        (_FTS_HASHSIZE,),
                    )
            else:
                report_id = int(row[0])
                if total_expected is not None:
                    self._conn.execute(
                        "UPDATE report SET total_expected = coalesce(total_expected, ?) WHERE id = ?",
                        (total_expected, report_id),
                    )
        report = self._report_or_raise(report_id)
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
        report = self.report_for_job(job_id, ReportKind.FAILED) or self.begin_failed_changes(
            job_id, snapshot_id, f"local:failedChanges/{job_id}", now=now
        )
        if replace:
            report = self.reset_download(report.id)
        elif report.complete:
            with self._tx():
                self._conn.execute(
                    "UPDATE report SET complete = 0, completed_at = NULL, search_done = 0, next_link = ? "
                    "WHERE id = ?",
                    (f"local:failedChanges/{job_id}#{report.pages + 1}", report.id),
                )
        return self.ingest_page(report.id, items, None, None, now=now).report

    def resume_point(self, report_id: int) -> str | None:
        """The URL to fetch next (the first URL before any page); ``None`` once the download is complete."""
        row = self._conn.execute(
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
            on_prem = int(
                current.get("onPremisesSyncEnabled") is True or delta.get("onPremisesSyncEnabled") is True
            )
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
        with self._tx():
            state = self._conn.execute(
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
                or self._conn.execute(
                    "SELECT 1 FROM report_page WHERE report_id = ? AND source_url = ?", (report_id, next_link)
                ).fetchone()
            ):
                raise IngestError(f"the service repeated page link {next_link!r}; the page was not stored")
            seq = pages + 1
            cursor = self._conn.execute(
                "INSERT INTO report_page (report_id, seq, source_url, next_link, item_count, fetched, raw) "
                "VALUES (?,?,?,?,?,?,?)",
                (report_id, seq, source_url, next_link, len(items), stamp, packed),
            )
            page_id = int(cursor.lastrowid or 0)
            self._conn.executemany(
                f"""INSERT INTO {table} (object_id, entity_type, action, display_name, principal_name,
                on_prem, recoverable, failure_message, page_id, raw_off, raw_len)
                VALUES (?,?,?,?,?,?,?,?,{page_id},?,?)""",
                rows,
            )
            self._conn.executemany(
                """INSERT INTO node_count (report_id, entity_type, action, on_prem, recoverable, n)
                VALUES (?,?,?,?,?,?) ON CONFLICT DO UPDATE SET n = n + excluded.n""",
                [(report_id, *key, n) for key, n in nodes.items()],
            )
            self._conn.execute(
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
            report = self._report_or_raise(report_id)
            self._extend_search_while_downloading(report)
        return PageResult(report=report, inserted=len(rows), malformed=malformed, warnings=warnings)
