"""The tenant row and its backups (snapshots) in the cache, with the retention they imply."""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from entrabr_tui.core.model import Snapshot
from entrabr_tui.store.cache_database import CacheDatabase
from entrabr_tui.store.codec import EPOCH, time_from_db, time_to_db, utc_now
from entrabr_tui.store.records import DEFAULT_RETENTION, SnapshotRecord, TenantRecord

#: A snapshot row as :meth:`TenantStore._snapshot_record` reads it, with the number of cached change reports.
_SNAPSHOT_SELECT = """SELECT s.id, s.created, s.first_seen, s.last_seen, s.expired, s.total_changed_objects,
    (SELECT count(*) FROM report r WHERE r.snapshot_id = s.id AND r.kind = 'changes')
    FROM snapshot s"""


def derive_retention(created: Iterable[datetime]) -> timedelta | None:
    """Retention implied by one snapshot list: span from oldest to newest plus the usual gap between two.

    ``None`` with fewer than two distinct snapshots. Around onboarding the list is short and this
    under-estimates, which errs on the safe side (expiry shown too early, never too late).
    """
    times = sorted(set(created))
    if len(times) < 2:
        return None
    gap = statistics.median_low((b - a).total_seconds() for a, b in itertools.pairwise(times))
    return (times[-1] - times[0]) + timedelta(seconds=gap)


class TenantStore:
    """The cache's tenant (name, Graph URL, observed retention) and the snapshots the service listed."""

    def __init__(self, db: CacheDatabase, tenant_id: str) -> None:
        self._db = db
        self._tenant_id = tenant_id

    # -- tenant ------------------------------------------------------------------------------------------

    def ensure(self, now: datetime) -> None:
        """Create the tenant row on first use; afterwards note when it was last seen."""
        stamp = time_to_db(now)
        with self._db.tx():
            self._db.conn.execute(
                "INSERT INTO tenant (id, first_seen, last_seen) VALUES (?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET last_seen = excluded.last_seen",
                (self._tenant_id, stamp, stamp),
            )

    def info(self) -> TenantRecord:
        row = self._db.conn.execute(
            "SELECT id, display_name, graph_url, first_seen, last_seen, retention_s FROM tenant WHERE id = ?",
            (self._tenant_id,),
        ).fetchone()
        return TenantRecord(
            id=row[0],
            display_name=row[1],
            graph_url=row[2],
            first_seen=time_from_db(row[3]) or EPOCH,
            last_seen=time_from_db(row[4]) or EPOCH,
            retention=None if row[5] is None else timedelta(seconds=row[5]),
        )

    def set_info(self, *, display_name: str | None = None, graph_url: str | None = None) -> TenantRecord:
        with self._db.tx():
            self._db.conn.execute(
                "UPDATE tenant SET display_name = coalesce(?, display_name), "
                "graph_url = coalesce(?, graph_url) WHERE id = ?",
                (display_name, graph_url, self._tenant_id),
            )
        return self.info()

    def note_aliases(self, *names: str) -> None:
        """Remember names this tenant is known by (a config profile, the domain a profile names), so that a
        status read offline finds its cache by them."""
        keys = [f"alias:{name.strip().casefold()}" for name in names if name and name.strip()]
        if not keys:
            return
        with self._db.tx():
            self._db.conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                                      [(key, self._tenant_id) for key in keys])

    def aliases(self) -> set[str]:
        """The names noted by :meth:`note_aliases` (casefolded)."""
        rows = self._db.conn.execute("SELECT key FROM meta WHERE key LIKE 'alias:%'").fetchall()
        return {str(key)[len("alias:"):] for (key,) in rows}

    def retention(self) -> timedelta:
        """Backup retention to assume: derived from snapshot lists, else the documented default (7 days)."""
        return self.info().retention or DEFAULT_RETENTION

    # -- snapshots ---------------------------------------------------------------------------------------

    def record_snapshots(
        self, snapshots: Iterable[Snapshot], *, complete: bool = True, now: datetime | None = None
    ) -> list[SnapshotRecord]:
        """Store a snapshot list from the service. With ``complete`` (the whole list), snapshots missing from
        it are marked expired (kept, with their reports) and the retention estimate is refined."""
        now = now or utc_now()
        stamp = time_to_db(now)
        listed = list(snapshots)
        conn = self._db.conn
        with self._db.tx():
            for snap in listed:
                conn.execute(
                    """INSERT INTO snapshot (id, created, first_seen, last_seen, total_changed_objects)
                    VALUES (?,?,?,?,?) ON CONFLICT (id) DO UPDATE SET created = excluded.created,
                    last_seen = excluded.last_seen, expired = 0, expired_at = NULL,
                    total_changed_objects =
                        coalesce(excluded.total_changed_objects, total_changed_objects)""",
                    (snap.id, time_to_db(snap.created), stamp, stamp, snap.total_changed_objects),
                )
            if complete:
                ids = {s.id for s in listed}
                gone = [
                    r[0] for r in conn.execute("SELECT id FROM snapshot WHERE expired = 0") if r[0] not in ids
                ]
                conn.executemany(
                    "UPDATE snapshot SET expired = 1, expired_at = ? WHERE id = ?", [(stamp, i) for i in gone]
                )
                derived = derive_retention(s.created for s in listed)
                if derived is not None:
                    conn.execute(
                        "UPDATE tenant SET retention_s = max(coalesce(retention_s, 0), ?) WHERE id = ?",
                        (int(derived.total_seconds()), self._tenant_id),
                    )
        return self.snapshots()

    def snapshots(self, *, include_expired: bool = True) -> list[SnapshotRecord]:
        """Snapshots newest first, with expected expiry and the number of cached reports."""
        retention = self.retention()
        where = "" if include_expired else "WHERE s.expired = 0"
        rows = self._db.conn.execute(f"{_SNAPSHOT_SELECT} {where} ORDER BY s.created DESC, s.id").fetchall()
        return [self._snapshot_record(row, retention) for row in rows]

    def snapshot(self, snapshot_id: str) -> SnapshotRecord | None:
        row = self._db.conn.execute(f"{_SNAPSHOT_SELECT} WHERE s.id = ?", (snapshot_id,)).fetchone()
        return self._snapshot_record(row, self.retention()) if row else None

    def snapshot_created(self, snapshot_id: str) -> str | None:
        """The stored ``created`` text of a snapshot (``None`` when the snapshot is unknown)."""
        row = self._db.conn.execute("SELECT created FROM snapshot WHERE id = ?", (snapshot_id,)).fetchone()
        return row[0] if row else None

    def snapshot_at(self, target: datetime | None) -> str | None:
        """The id of the snapshot taken at ``target`` (a job's ``targetStateDateTime``), if one is known."""
        if target is None:
            return None
        row = self._db.conn.execute(
            "SELECT id FROM snapshot WHERE created = ? ORDER BY first_seen LIMIT 1", (time_to_db(target),)
        ).fetchone()
        return row[0] if row else None

    @staticmethod
    def _snapshot_record(row: tuple[Any, ...], retention: timedelta) -> SnapshotRecord:
        created = time_from_db(row[1]) or EPOCH
        return SnapshotRecord(
            id=row[0],
            created=created,
            first_seen=time_from_db(row[2]) or EPOCH,
            last_seen=time_from_db(row[3]) or EPOCH,
            expected_expiry=created + retention,
            expired=bool(row[4]),
            total_changed_objects=row[5],
            report_count=int(row[6]),
        )
