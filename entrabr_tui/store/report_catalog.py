"""Looking up reports in the cache: by id, by job, by snapshot, and the best one to reuse."""

from __future__ import annotations

from typing import Any

from entrabr_tui.core.completeness import Completeness
from entrabr_tui.core.model import FilteringCriteria
from entrabr_tui.store.cache_database import CacheDatabase
from entrabr_tui.store.codec import EPOCH, scope_from_db, scope_key, time_from_db
from entrabr_tui.store.records import Report, ReportKind
from entrabr_tui.store.tenant_store import TenantStore

_REPORT_SELECT = """SELECT r.id, r.kind, r.job_id, r.snapshot_id, r.filtering, r.scope_key, r.created,
    r.source_url, r.next_link, r.pages, r.item_count, r.received_items, r.duplicate_items, r.malformed_items,
    r.total_expected,
    r.complete, r.completed_at, r.indexed, r.search_rowid, r.search_done, coalesce(j.archived, 0), j.status,
    r.reached_end, r.stated_count, r.completeness
    FROM report r LEFT JOIN job j ON j.id = r.job_id"""


def _report_from_row(row: tuple[Any, ...]) -> Report:
    (
        report_id,
        kind,
        job_id,
        snapshot_id,
        filtering,
        key,
        created,
        source_url,
        next_link,
        pages,
        item_count,
        received,
        duplicates,
        malformed,
        total_expected,
        complete,
        completed_at,
        indexed,
        search_rowid,
        search_done,
        archived,
        job_status,
        reached_end,
        stated_count,
        verdict,
    ) = row
    return Report(
        id=int(report_id),
        kind=ReportKind(kind),
        job_id=job_id,
        snapshot_id=snapshot_id,
        scope=scope_from_db(filtering),
        scope_key=key,
        created=time_from_db(created) or EPOCH,
        source_url=source_url,
        next_link=None if complete else next_link,
        pages=int(pages),
        item_count=int(item_count),
        received_items=int(received),
        duplicate_items=int(duplicates),
        unreadable_items=int(malformed),
        total_expected=total_expected,
        complete=bool(complete),
        completed_at=time_from_db(completed_at),
        indexed=bool(indexed),
        search_rowid=int(search_rowid),
        search_ready=bool(reached_end) and bool(search_done),
        archived=bool(archived),
        job_status=job_status,
        reached_end=bool(reached_end),
        stated_count=stated_count,
        completeness=Completeness(verdict) if verdict in Completeness._value2member_map_
        else Completeness.UNFINISHED,
    )


class ReportCatalog:
    """The reports in the cache (downloaded change lists, their download and index state)."""

    def __init__(self, db: CacheDatabase, tenant: TenantStore) -> None:
        self._db = db
        self._tenant = tenant

    def get(self, report_id: int) -> Report | None:
        row = self._db.conn.execute(f"{_REPORT_SELECT} WHERE r.id = ?", (report_id,)).fetchone()
        return _report_from_row(row) if row else None

    def require(self, report_id: int) -> Report:
        """The report, or ``KeyError`` when the cache has none of that id."""
        report = self.get(report_id)
        if report is None:
            raise KeyError(f"no report {report_id} in the cache")
        return report

    def for_job(self, job_id: str, kind: ReportKind = ReportKind.CHANGES) -> Report | None:
        row = self._db.conn.execute(
            f"{_REPORT_SELECT} WHERE r.kind = ? AND r.job_id = ?", (kind.value, job_id)
        ).fetchone()
        return _report_from_row(row) if row else None

    def all(self, *, snapshot_id: str | None = None, kind: ReportKind | None = None) -> list[Report]:
        """Cached reports, newest first (archived ones included)."""
        where, args = ["1 = 1"], []
        if snapshot_id is not None:
            where.append("r.snapshot_id = ?")
            args.append(snapshot_id)
        if kind is not None:
            where.append("r.kind = ?")
            args.append(kind.value)
        rows = self._db.conn.execute(
            f"{_REPORT_SELECT} WHERE {' AND '.join(where)} ORDER BY r.created DESC, r.id DESC", args
        ).fetchall()
        return [_report_from_row(row) for row in rows]

    def find_reusable(self, snapshot_id: str, scope: FilteringCriteria | None) -> Report | None:
        """The best cached report of this snapshot and scope: complete ones first, then newest. An incomplete
        one is offered only while its job is still listed by the service (so the download can continue)."""
        row = self._db.conn.execute(
            f"""{_REPORT_SELECT} WHERE r.kind = 'changes' AND r.scope_key = ?
              AND (r.snapshot_id = ? OR (j.target_state IS NOT NULL AND j.target_state = ?))
              AND (j.status IS NULL OR j.status = 'successful')
              AND (r.complete = 1 OR coalesce(j.archived, 0) = 0)
            ORDER BY r.complete DESC, coalesce(j.completed, r.created) DESC, r.id DESC LIMIT 1""",
            (scope_key(scope), snapshot_id, self._tenant.snapshot_created(snapshot_id)),
        ).fetchone()
        return _report_from_row(row) if row else None

    def pending_finalize(self) -> list[Report]:
        """Complete downloads whose indexes are not built (e.g. interrupted); call
        :meth:`~entrabr_tui.store.report_writer.ReportWriter.finalize_report`."""
        return [r for r in self.all() if r.needs_finalize]
