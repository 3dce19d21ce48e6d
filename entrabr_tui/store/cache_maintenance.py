"""Report maintenance: finalize (dedupe, indexes, counts), the substring index, reset, delete, flags.

Lookup indexes and the substring index are built once the last page is in, so that ingest stays
append-only and fast; until then every query still works, by scanning. Each step is its own transaction,
so all of this is safe to interrupt and to run again.
"""

from __future__ import annotations

from collections.abc import Iterable

from entrabr_tui.store.cache_reports import IngestError, ReportLookupMixin
from entrabr_tui.store.cache_schema import (
    RECOVERABLE_UNKNOWN,
    change_table,
    create_report_indexes,
    create_report_tables,
    drop_report_tables,
    fts_table,
)
from entrabr_tui.store.records import Report, ReportKind

#: Rows added to the substring index per transaction (during a download and when finalizing).
SEARCH_CHUNK = 50_000


class MaintenanceMixin(ReportLookupMixin):
    """Finalizing, indexing and resetting reports."""

    def _extend_search_while_downloading(self, report: Report) -> None:
        """Index a chunk of rows when enough have arrived since the last one (spreads the finalize cost)."""
        if report.item_count - report.search_rowid >= SEARCH_CHUNK and not report.search_ready:
            self.build_search_index(report.id)

    def _has_fts(self, report_id: int) -> bool:
        """Whether the report's substring index is a trigram table (else the rows are scanned)."""
        return bool(self._conn.execute("SELECT has_fts FROM report WHERE id = ?", (report_id,)).fetchone()[0])

    def _recount(self, report_id: int) -> None:
        table = change_table(report_id)
        self._conn.execute("DELETE FROM node_count WHERE report_id = ?", (report_id,))
        self._conn.execute(
            f"""INSERT INTO node_count (report_id, entity_type, action, on_prem, recoverable, n)
            SELECT ?, entity_type, action, on_prem, coalesce(recoverable, {RECOVERABLE_UNKNOWN}), count(*)
            FROM {table} GROUP BY 2, 3, 4, 5""",
            (report_id,),
        )

    def build_search_index(self, report_id: int, *, max_rows: int | None = None) -> bool:
        """Add up to ``max_rows`` (default :data:`SEARCH_CHUNK`) stored rows to the substring index in one
        transaction; ``True`` once every stored row is covered."""
        max_rows = max_rows or SEARCH_CHUNK
        self._report_or_raise(report_id)
        table, fts = change_table(report_id), fts_table(report_id)
        with self._tx():
            top = self._conn.execute(f"SELECT coalesce(max(rowid), 0) FROM {table}").fetchone()[0]
            done = self._conn.execute(
                "SELECT search_rowid FROM report WHERE id = ?", (report_id,)
            ).fetchone()[0]
            if done >= top:
                self._conn.execute("UPDATE report SET search_done = complete WHERE id = ?", (report_id,))
                return True
            high = min(done + max_rows, top)
            if self._has_fts(report_id):
                self._conn.execute(
                    f"""INSERT INTO {fts} (rowid, display_name, principal_name)
                    SELECT rowid, display_name, principal_name FROM {table} WHERE rowid > ? AND rowid <= ?""",
                    (done, high),
                )
            self._conn.execute(
                "UPDATE report SET search_rowid = ?, search_done = (complete AND ? >= ?) WHERE id = ?",
                (high, high, top, report_id),
            )
        return high >= top

    def finalize_report(self, report_id: int) -> Report:
        """Remove repeated ids (``getChanges``), build the lookup indexes, recount, fill the substring index.

        Idempotent and safe to interrupt (each step is its own transaction).
        """
        report = self._report_or_raise(report_id)
        if not report.complete:
            raise IngestError(f"report {report_id} is still downloading; it cannot be finalized")
        table = change_table(report_id)
        if not report.indexed:
            with self._tx():
                create_report_indexes(self._conn, report_id, unique_ids=False)
                duplicates = 0
                if report.kind is ReportKind.CHANGES:
                    duplicates = self._delete_repeated_ids(report_id, report.search_rowid)
                if duplicates:  # otherwise the counts kept page by page are exact
                    self._recount(report_id)
                self._conn.execute(
                    f"""UPDATE report SET indexed = 1, duplicate_items = duplicate_items + ?,
                    item_count = (SELECT count(*) FROM {table}) WHERE id = ?""",
                    (duplicates, report_id),
                )
        while not self.build_search_index(report_id):
            pass
        self._conn.execute("PRAGMA optimize")
        return self._report_or_raise(report_id)

    def _delete_repeated_ids(self, report_id: int, search_rowid: int) -> int:
        table, fts = change_table(report_id), fts_table(report_id)
        extra = self._conn.execute(
            f"""SELECT c.rowid, c.display_name, c.principal_name FROM {table} c
            JOIN (SELECT object_id, min(rowid) AS keep FROM {table}
                  GROUP BY object_id COLLATE NOCASE HAVING count(*) > 1) d
              ON c.object_id = d.object_id COLLATE NOCASE AND c.rowid <> d.keep"""
        ).fetchall()
        has_fts = self._has_fts(report_id)
        for rowid, name, principal in extra:
            if has_fts and rowid <= search_rowid:
                self._conn.execute(
                    f"INSERT INTO {fts} ({fts}, rowid, display_name, principal_name) "
                    "VALUES ('delete', ?, ?, ?)",
                    (rowid, name, principal),
                )
            self._conn.execute(f"DELETE FROM {table} WHERE rowid = ?", (rowid,))
        return len(extra)

    def reset_download(self, report_id: int) -> Report:
        """Forget the stored pages of a report and start again from its first URL (e.g. after the service
        refused a stale next link). The restore queue of the report is kept."""
        self._report_or_raise(report_id)
        with self._tx():
            drop_report_tables(self._conn, report_id)
            self._conn.execute("DELETE FROM report_page WHERE report_id = ?", (report_id,))
            self._conn.execute("DELETE FROM node_count WHERE report_id = ?", (report_id,))
            self._conn.execute(
                """UPDATE report SET next_link = source_url, pages = 0, item_count = 0, received_items = 0,
                duplicate_items = 0, malformed_items = 0, complete = 0, completed_at = NULL, indexed = 0,
                search_rowid = 0, search_done = 0, has_fts = ? WHERE id = ?""",
                (int(self.has_trigram), report_id),
            )
            create_report_tables(self._conn, report_id, self.has_trigram)
        return self._report_or_raise(report_id)

    def delete_report(self, report_id: int) -> None:
        """Remove a report and its rows for good (only on the user's explicit request; expiry archives)."""
        with self._tx():
            drop_report_tables(self._conn, report_id)
            self._conn.execute("DELETE FROM report WHERE id = ?", (report_id,))

    def set_recoverable(self, report_id: int, values: Iterable[tuple[str, bool | None]]) -> int:
        """Set the recoverable flag of objects (e.g. after the catalogue changed); returns rows changed."""
        table = change_table(report_id)
        with self._tx():
            cursor = self._conn.executemany(
                f"UPDATE {table} SET recoverable = ? WHERE object_id = ?",
                [(None if flag is None else int(flag), object_id) for object_id, flag in values],
            )
            changed = cursor.rowcount
            self._recount(report_id)
        return changed
