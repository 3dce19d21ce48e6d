"""The rows matching the latest text filter, kept in a temporary table for the queries that follow.

A filter is asked for its counts per node and then for a page of one or more nodes; while it is typed, each
keystroke asks again with one more character. Finding the matches (the trigram index, then a lookup of every
match in the change table) is most of the cost of each of those queries. So the matching rows of the latest
text (when there are at most :data:`MATCH_SET_ROWS`) are copied once into a temporary table of this
connection, with the columns the queries read. Counts, counts per node and pages with the same text are then
read from it, and a text that extends it (``smit`` after ``smi``: its matches are a subset, by the filter
rule) is found by scanning it instead of the whole report.

The table is only used while nothing changed in the database since it was filled: ``PRAGMA data_version``
moves when another connection commits and ``total_changes`` when this one writes.
"""

from __future__ import annotations

from dataclasses import dataclass

from entrabr_tui.store.cache_database import CacheDatabase
from entrabr_tui.store.cache_schema import change_table, fts_table
from entrabr_tui.store.change_matcher import ChangeMatcher

#: Most matching rows kept (a denser filter is answered from the change table every time).
MATCH_SET_ROWS = 25_000

#: Columns copied from the change table (its rowid becomes ``r``).
_SET_COLUMNS = (
    "object_id", "entity_type", "action", "display_name", "principal_name", "on_prem", "recoverable",
    "failure_message", "unreadable",
)


@dataclass(frozen=True)
class _Kept:
    report_id: int
    needle: str
    version: tuple[int, int]
    #: The temporary table, or ``None`` when there were too many matches to keep.
    table: str | None


class MatchSet:
    """Keeps the matches of the latest text filter of one connection (see the module docstring)."""

    def __init__(self, db: CacheDatabase, matcher: ChangeMatcher) -> None:
        self._db = db
        self._matcher = matcher
        self._kept: _Kept | None = None
        self._slot = 0

    def table(self, report_id: int, needle: str, *, build: bool) -> str | None:
        """A temporary table with the columns of the change table (``r`` is the rowid) holding every change of
        the report that matches ``needle``; ``None`` when there is none to use. It is built from the change
        table only when ``build`` (else only from the kept matches of a shorter text)."""
        if self._db.conn.in_transaction:
            return None  # a temporary table made now would vanish with a rollback
        kept = self._kept
        if kept is not None and (kept.report_id, kept.version) == (report_id, self._db.data_version()):
            if kept.needle == needle:
                return kept.table
            if kept.table is not None and needle.startswith(kept.needle):
                return self._fill(report_id, needle, kept.table)
        if not build:
            return None
        if self._too_many_candidates(report_id, needle):
            self._kept = _Kept(report_id, needle, self._db.data_version(), None)
            return None
        return self._fill(report_id, needle, None)

    def _too_many_candidates(self, report_id: int, needle: str) -> bool:
        """More name/UPN matches in the trigram index than a match set keeps (cheap: no table lookups)."""
        if len(needle) < 3 or not self._db.has_trigram:
            return False
        conn = self._db.conn
        row = conn.execute("SELECT has_fts FROM report WHERE id = ?", (report_id,)).fetchone()
        if row is None or not row[0]:
            return False
        fts = fts_table(report_id)
        found = conn.execute(
            f"SELECT count(*) FROM (SELECT rowid FROM {fts} WHERE {fts} MATCH ? LIMIT ?)",
            ('"' + needle.replace('"', '""') + '"', MATCH_SET_ROWS + 1),
        ).fetchone()[0]
        return int(found) > MATCH_SET_ROWS

    def _fill(self, report_id: int, needle: str, source: str | None) -> str | None:
        table = f"entrabr_matches_{self._slot}"
        self._slot ^= 1
        conn = self._db.conn
        conn.execute(f"DROP TABLE IF EXISTS temp.{table}")
        conn.execute(
            f"""CREATE TEMP TABLE {table} (
                r INTEGER PRIMARY KEY, object_id TEXT NOT NULL, entity_type TEXT NOT NULL,
                action TEXT NOT NULL, display_name TEXT NOT NULL COLLATE NOCASE, principal_name TEXT,
                on_prem INTEGER NOT NULL, recoverable INTEGER, failure_message TEXT, unreadable TEXT)"""
        )
        before = conn.total_changes
        if source is not None:
            conn.execute(
                f"INSERT INTO temp.{table} SELECT * FROM temp.{source} "
                "WHERE ebr_match(?, display_name, principal_name, object_id)",
                (needle,),
            )
        else:
            cte, args, _ = self._matcher.cte(report_id, needle)
            conn.execute(
                f"WITH {cte} INSERT INTO temp.{table} SELECT c.rowid, "
                + ", ".join(f"c.{column}" for column in _SET_COLUMNS)
                + f" FROM m CROSS JOIN {change_table(report_id)} c ON c.rowid = m.r LIMIT ?",
                [*args, MATCH_SET_ROWS + 1],
            )
        kept: str | None = table
        if conn.total_changes - before > MATCH_SET_ROWS:  # (``rowcount`` is not set after ``WITH … INSERT``)
            conn.execute(f"DROP TABLE temp.{table}")
            kept = None
        conn.execute(f"DROP TABLE IF EXISTS temp.entrabr_matches_{self._slot}")  # the previous set
        self._kept = _Kept(report_id, needle, self._db.data_version(), kept)
        return kept
