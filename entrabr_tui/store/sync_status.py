"""The sync status of a report's users and groups as the directory gave it, and when it was asked.

Difference reports rarely say whether an object is synchronised from on-premises (Microsoft's examples never
carry ``onPremisesSyncEnabled``), so users and groups are stored with an unknown status (``on_prem`` -1) and
the engine asks the directory about them. :meth:`SyncStatusStore.record` keeps each answer in
``sync_status`` (per report and object id, with the time of the lookup; ``synced`` NULL when the directory
did not return the object) and, in the same transaction, sets the object's ``on_prem`` on every row of it
(an object may have several changes, all sharing its status) and each of those changes' ``recoverable``
answer (computed by the caller under the new status, change by change) in the report's change table, and
rebuilds the report's node counts. Change objects that could not be read are never asked about and keep
their answer (not recoverable).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from entrabr_tui.core.model import SyncStatus
from entrabr_tui.store.cache_database import CacheDatabase
from entrabr_tui.store.cache_schema import SYNC_UNKNOWN, SYNCABLE_TYPES, change_table, recount_nodes
from entrabr_tui.store.codec import EPOCH, sync_to_db, time_from_db, time_to_db, utc_now
from entrabr_tui.store.sqlite_file import in_list_chunks

_SYNCABLE = ", ".join(f"'{t}'" for t in SYNCABLE_TYPES)


class SyncStatusStore:
    """Directory lookups of the sync status of a report's users and groups (see the module docstring)."""

    def __init__(self, db: CacheDatabase) -> None:
        self._db = db

    def pending(self, report_id: int, ids: Iterable[str] | None = None) -> list[str]:
        """Users and groups of the report (of ``ids`` only, when given) whose sync status is unknown and was
        never looked up, in the order stored."""
        table = change_table(report_id)
        head = (f"SELECT DISTINCT c.object_id FROM {table} c WHERE c.on_prem = {SYNC_UNKNOWN} "
                f"AND c.entity_type IN ({_SYNCABLE}) AND c.unreadable IS NULL AND NOT EXISTS "
                "(SELECT 1 FROM sync_status s WHERE s.report_id = ? AND s.object_id = c.object_id)")
        if ids is None:
            return [r[0] for r in self._db.conn.execute(f"{head} ORDER BY c.rowid", (report_id,))]
        out: list[str] = []
        for chunk, marks in in_list_chunks(list(dict.fromkeys(ids))):
            out.extend(r[0] for r in self._db.conn.execute(
                f"{head} AND c.object_id IN ({marks}) ORDER BY c.rowid", (report_id, *chunk)))
        return out

    def record(self, report_id: int, found: Mapping[str, bool | None],
               recoverable: Mapping[int, bool | None], *, now: datetime | None = None) -> int:
        """Record one lookup: ``found`` maps each id asked about to ``True`` (synced), ``False`` (cloud) or
        ``None`` (not returned: the status stays unknown); ``recoverable`` gives the new answer of each change
        (by its position in the report) of the objects whose status became known. Returns the change rows
        updated."""
        stamp = time_to_db(now or utc_now())
        table = change_table(report_id)
        updated = 0
        with self._db.tx():
            self._db.conn.executemany(
                "INSERT INTO sync_status (report_id, object_id, synced, looked_up) VALUES (?,?,?,?) "
                "ON CONFLICT DO UPDATE SET synced = excluded.synced, looked_up = excluded.looked_up",
                [(report_id, object_id, None if flag is None else int(flag), stamp)
                 for object_id, flag in found.items()],
            )
            known = [(sync_to_db(SyncStatus.from_flag(flag)), object_id)
                     for object_id, flag in found.items() if flag is not None]
            if known:
                cursor = self._db.conn.executemany(
                    f"UPDATE {table} SET on_prem = ? WHERE object_id = ? AND unreadable IS NULL", known)
                updated = cursor.rowcount
                self._db.conn.executemany(
                    f"UPDATE {table} SET recoverable = ? WHERE rowid = ? AND unreadable IS NULL",
                    [(_flag(flag), position) for position, flag in recoverable.items()])
                recount_nodes(self._db.conn, report_id)
        return updated

    def looked_up(self, report_id: int, object_id: str) -> tuple[bool | None, datetime] | None:
        """What the last lookup of an object said (synced, or ``None`` when not returned) and when, or
        ``None`` when it was never looked up."""
        row = self._db.conn.execute(
            "SELECT synced, looked_up FROM sync_status WHERE report_id = ? AND object_id = ?",
            (report_id, object_id),
        ).fetchone()
        if row is None:
            return None
        return None if row[0] is None else bool(row[0]), time_from_db(row[1]) or EPOCH


def _flag(value: bool | None) -> int | None:
    return None if value is None else int(value)
