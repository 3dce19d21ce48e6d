"""Triage tags in the tenant cache: ``revert`` / ``keep`` / ``investigate`` with a note, on a cluster of
changes (by cluster id) or an operation (by correlation id). Tags belong to the tenant, not to one report: a
cluster id is a hash of the edit itself, so a tag still applies to the same edit in a later report."""

from __future__ import annotations

from datetime import datetime

from entrabr_tui.core.audit_triage import TagTarget, TriageNote, TriageTag
from entrabr_tui.store.cache_database import CacheDatabase
from entrabr_tui.store.codec import time_from_db, time_to_db, utc_now


class TriageStore:
    """Read and write triage tags."""

    def __init__(self, db: CacheDatabase) -> None:
        self._db = db

    def get(self, target: TagTarget, key: str) -> TriageNote | None:
        row = self._db.conn.execute(
            "SELECT target, key, tag, note, updated FROM triage_tag WHERE target = ? AND key = ?",
            (target.value, key.lower())).fetchone()
        return None if row is None else _note(row)

    def set(self, target: TagTarget, key: str, tag: TriageTag | None, note: str = "", *,
            now: datetime | None = None) -> TriageNote | None:
        """Tag ``key`` (``tag=None`` removes the tag); returns the stored tag."""
        with self._db.tx():
            if tag is None:
                self._db.conn.execute("DELETE FROM triage_tag WHERE target = ? AND key = ?",
                                      (target.value, key.lower()))
            else:
                self._db.conn.execute(
                    "INSERT OR REPLACE INTO triage_tag (target, key, tag, note, updated) VALUES (?,?,?,?,?)",
                    (target.value, key.lower(), tag.value, note, time_to_db(now or utc_now())))
        return self.get(target, key)

    def all(self, target: TagTarget | None = None) -> list[TriageNote]:
        """Every tag (of one kind of target), newest first."""
        where, args = ("WHERE target = ?", [target.value]) if target is not None else ("", [])
        rows = self._db.conn.execute(
            f"SELECT target, key, tag, note, updated FROM triage_tag {where} ORDER BY updated DESC, key",
            args).fetchall()
        return [_note(r) for r in rows]


def _note(row: tuple[str, str, str, str, str]) -> TriageNote:
    return TriageNote(TagTarget(row[0]), row[1], TriageTag(row[2]), row[3], time_from_db(row[4]) or utc_now())
