"""The rows of a report that a text filter matches (the rule is in :mod:`entrabr_tui.store.change_filter`).

Text of three characters or more uses the trigram index for the rows it covers (rows not indexed yet are
scanned with the same rule); shorter text scans.
"""

from __future__ import annotations

from typing import Any

from entrabr_tui.store.cache_database import CacheDatabase
from entrabr_tui.store.cache_schema import change_table, fts_table
from entrabr_tui.store.change_filter import display_only


def _like_prefix(text: str) -> str:
    return text + "%"


class ChangeMatcher:
    """Finds the rows of a report that a text matches, through the trigram index where it covers them."""

    def __init__(self, db: CacheDatabase) -> None:
        self._db = db

    def report_state(self, report_id: int) -> tuple[int, bool, bool, str]:
        """``(search_rowid, has_fts, indexed, kind)`` of a report; ``KeyError`` when there is none."""
        row = self._db.conn.execute(
            "SELECT search_rowid, has_fts, indexed, kind FROM report WHERE id = ?", (report_id,)
        ).fetchone()
        if row is None:
            raise KeyError(f"no report {report_id} in the cache")
        return int(row[0]), bool(row[1]), bool(row[2]), str(row[3])

    def cte(self, report_id: int, needle: str) -> tuple[str, list[Any], bool]:
        """A ``m(r)`` CTE of matching rowids; the flag says whether the trigram index was used."""
        table = change_table(report_id)
        search_rowid, has_fts, _indexed, _kind = self.report_state(report_id)
        if has_fts and len(needle) >= 3 and search_rowid > 0 and not display_only(needle):
            fts = fts_table(report_id)
            phrase = '"' + needle.replace('"', '""') + '"'
            sql = f"""m(r) AS (
                SELECT rowid FROM {fts} WHERE {fts} MATCH ? AND rowid <= ?
                UNION SELECT rowid FROM {table} WHERE object_id LIKE ? AND rowid <= ?
                      AND ebr_match(?, NULL, NULL, object_id)
                UNION SELECT rowid FROM {table} WHERE rowid > ?
                      AND ebr_match(?, display_name, principal_name, object_id))"""
            args = [phrase, search_rowid, _like_prefix(needle), search_rowid, needle, search_rowid, needle]
            return sql, args, True
        sql = (
            f"m(r) AS (SELECT rowid FROM {table} WHERE ebr_match(?, display_name, principal_name, object_id))"
        )
        return sql, [needle], False
