"""The rows of a report that a text filter matches (the rule is in :mod:`entrabr_tui.store.change_filter`).

Text of three characters or more uses the trigram index for the rows it covers (rows not indexed yet are
scanned with the same rule); shorter text scans.
"""

from __future__ import annotations

from itertools import product
from typing import Any

from entrabr_tui.store.cache_database import CacheDatabase
from entrabr_tui.store.cache_schema import change_table, fts_table
from entrabr_tui.store.change_filter import display_only

#: Letters of a text's start whose upper- and lower-case forms :func:`id_prefix_ranges` spells out.
ID_PREFIX_LETTERS = 6


def id_prefix_ranges(needle: str) -> list[tuple[str, str]]:
    """Ranges of the (case-sensitive) object id index that hold every id starting with ``needle`` in any
    case: one per way of writing its first few characters in upper or lower case (a case-insensitive
    ``LIKE`` cannot use that index, and would scan the whole report). Rows in them are still checked with
    the filter rule, so longer texts are exact too."""
    start = needle[:ID_PREFIX_LETTERS]
    spellings = {"".join(chars) for chars in product(*({ch.lower(), ch.upper()} for ch in start))}
    return [(spelled, spelled + "\U0010ffff") for spelled in sorted(spellings)]


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
            ranges = id_prefix_ranges(needle)
            values = ",".join("(?, ?)" for _ in ranges)
            sql = f"""m(r) AS (
                SELECT rowid FROM {fts} WHERE {fts} MATCH ? AND rowid <= ?
                UNION SELECT c.rowid FROM (VALUES {values}) v CROSS JOIN {table} c
                      ON c.object_id >= v.column1 AND c.object_id < v.column2
                      WHERE c.rowid <= ? AND ebr_match(?, NULL, NULL, c.object_id)
                UNION SELECT rowid FROM {table} WHERE rowid > ?
                      AND ebr_match(?, display_name, principal_name, object_id))"""
            bounds = [bound for pair in ranges for bound in pair]
            args = [phrase, search_rowid, *bounds, search_rowid, needle, search_rowid, needle]
            return sql, args, True
        sql = (
            f"m(r) AS (SELECT rowid FROM {table} WHERE ebr_match(?, display_name, principal_name, object_id))"
        )
        return sql, [needle], False
