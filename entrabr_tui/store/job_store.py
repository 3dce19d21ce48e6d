"""Jobs of both kinds in the cache: upsert from polls, reconcile with the service list, archive, look up."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from entrabr_tui.core.model import FilteringCriteria, Job, JobKind, RecoveryStatus
from entrabr_tui.store.cache_database import CacheDatabase
from entrabr_tui.store.codec import (
    EPOCH,
    dumps,
    loads,
    scope_from_db,
    scope_key,
    scope_to_db,
    time_from_db,
    time_to_db,
    utc_now,
)
from entrabr_tui.store.records import JobReconcileResult, JobRecord
from entrabr_tui.store.tenant_store import TenantStore

_JOB_COLUMNS = (
    "id, kind, status, snapshot_id, target_state, started, completed, filtering, scope_key, "
    "total_changed_objects, total_changed_links, total_objects_modified, total_links_modified, "
    "total_failed_changes, raw, first_seen, last_seen, archived, archived_at, started_here"
)
_NON_TERMINAL = tuple(
    s.value for s in RecoveryStatus if not s.is_terminal and s.value != "unknownFutureValue"
)

#: A job first seen this recently is not archived when a list omits it (lists may lag behind a POST).
DEFAULT_ARCHIVE_GRACE = timedelta(minutes=15)


def _job_from_row(row: sqlite3.Row | tuple[Any, ...]) -> JobRecord:
    (
        job_id,
        kind,
        status,
        snapshot_id,
        target,
        started,
        completed,
        filtering,
        key,
        tco,
        tcl,
        tom,
        tlm,
        tfc,
        raw,
        first_seen,
        last_seen,
        archived,
        archived_at,
        started_here,
    ) = row
    job = Job(
        kind=JobKind(kind),
        id=job_id,
        status=RecoveryStatus.parse(status),
        status_raw=status,
        target_state=time_from_db(target),
        started=time_from_db(started),
        completed=time_from_db(completed),
        filtering=scope_from_db(filtering),
        total_changed_objects=tco,
        total_changed_links=tcl,
        total_objects_modified=tom,
        total_links_modified=tlm,
        total_failed_changes=tfc,
        snapshot_id=snapshot_id,
    )
    raw_value = loads(raw) if raw is not None else None
    return JobRecord(
        job=job,
        snapshot_id=snapshot_id,
        scope_key=key,
        first_seen=time_from_db(first_seen) or EPOCH,
        last_seen=time_from_db(last_seen) or EPOCH,
        archived=bool(archived),
        archived_at=time_from_db(archived_at),
        started_here=bool(started_here),
        raw=raw_value if isinstance(raw_value, dict) else None,
    )


class JobStore:
    """Jobs as last reported by the service, kept after the service forgets them (``archived``)."""

    def __init__(self, db: CacheDatabase, tenant: TenantStore) -> None:
        self._db = db
        self._tenant = tenant

    def _upsert(
        self,
        job: Job,
        raw: Mapping[str, Any] | None,
        snapshot_id: str | None,
        started_here: bool,
        now: datetime,
    ) -> None:
        existing = self._db.conn.execute("SELECT snapshot_id FROM job WHERE id = ?", (job.id,)).fetchone()
        snap = snapshot_id or job.snapshot_id or (existing[0] if existing else None)
        snap = snap or self._tenant.snapshot_at(job.target_state)
        stamp = time_to_db(now)
        self._db.conn.execute(
            f"""INSERT INTO job ({_JOB_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,0,NULL,?)
            ON CONFLICT (id) DO UPDATE SET
                kind = excluded.kind, status = excluded.status, snapshot_id = excluded.snapshot_id,
                target_state = excluded.target_state, started = excluded.started,
                completed = excluded.completed, filtering = excluded.filtering,
                scope_key = excluded.scope_key,
                total_changed_objects = excluded.total_changed_objects,
                total_changed_links = excluded.total_changed_links,
                total_objects_modified = excluded.total_objects_modified,
                total_links_modified = excluded.total_links_modified,
                total_failed_changes = excluded.total_failed_changes,
                raw = coalesce(excluded.raw, job.raw), last_seen = excluded.last_seen,
                archived = 0, archived_at = NULL,
                started_here = max(job.started_here, excluded.started_here)""",
            (
                job.id,
                job.kind.value,
                job.status_raw,
                snap,
                time_to_db(job.target_state),
                time_to_db(job.started),
                time_to_db(job.completed),
                scope_to_db(job.filtering),
                scope_key(job.filtering),
                job.total_changed_objects,
                job.total_changed_links,
                job.total_objects_modified,
                job.total_links_modified,
                job.total_failed_changes,
                dumps(dict(raw)) if raw is not None else None,
                stamp,
                stamp,
                int(started_here),
            ),
        )

    def upsert(
        self,
        job: Job,
        *,
        raw: Mapping[str, Any] | None = None,
        snapshot_id: str | None = None,
        started_here: bool = False,
        now: datetime | None = None,
    ) -> JobRecord:
        """Store the latest state of a job (from a poll or a list); a job seen again is no longer archived.

        ``snapshot_id`` (else ``job.snapshot_id``) is the snapshot path the job was reached by, when known;
        otherwise the one stored before, else the snapshot whose ``createdDateTime`` equals the job's
        ``targetStateDateTime``. Snapshot ids are never built from a time.
        """
        with self._db.tx():
            self._upsert(job, raw, snapshot_id, started_here, now or utc_now())
        record = self.get(job.id)
        assert record is not None
        return record

    def reconcile(
        self,
        listed: Iterable[Job | tuple[Job, Mapping[str, Any]]],
        *,
        now: datetime | None = None,
        grace: timedelta = DEFAULT_ARCHIVE_GRACE,
    ) -> JobReconcileResult:
        """Compare with the service's complete ``/jobs`` list: store every listed job, archive missing ones.

        Archived jobs (and their reports and failed changes) are kept and stay browsable. A job first seen
        less than ``grace`` ago is not archived yet. Pass only a complete listing (all pages).
        """
        now = now or utc_now()
        result = JobReconcileResult()
        known = {row[0]: bool(row[1]) for row in self._db.conn.execute("SELECT id, archived FROM job")}
        seen: set[str] = set()
        with self._db.tx():
            for entry in listed:
                job, raw = entry if isinstance(entry, tuple) else (entry, None)
                seen.add(job.id)
                if job.id not in known:
                    result.added.append(job.id)
                elif known[job.id]:
                    result.unarchived.append(job.id)
                else:
                    result.updated.append(job.id)
                self._upsert(job, raw, None, False, now)
            cutoff = time_to_db(now - grace)
            for job_id, first_seen in self._db.conn.execute(
                "SELECT id, first_seen FROM job WHERE archived = 0"
            ).fetchall():
                if job_id not in seen and first_seen < cutoff:
                    result.archived.append(job_id)
            self._db.conn.executemany(
                "UPDATE job SET archived = 1, archived_at = ? WHERE id = ?",
                [(time_to_db(now), job_id) for job_id in result.archived],
            )
        return result

    def get(self, job_id: str) -> JobRecord | None:
        row = self._db.conn.execute(f"SELECT {_JOB_COLUMNS} FROM job WHERE id = ?", (job_id,)).fetchone()
        return _job_from_row(row) if row else None

    def all(
        self,
        *,
        kind: JobKind | None = None,
        snapshot_id: str | None = None,
        include_archived: bool = True,
    ) -> list[JobRecord]:
        """Jobs, newest start first."""
        where, args = ["1 = 1"], []
        if kind is not None:
            where.append("kind = ?")
            args.append(kind.value)
        if snapshot_id is not None:
            where.append("snapshot_id = ?")
            args.append(snapshot_id)
        if not include_archived:
            where.append("archived = 0")
        rows = self._db.conn.execute(
            f"SELECT {_JOB_COLUMNS} FROM job WHERE {' AND '.join(where)} "
            "ORDER BY coalesce(started, first_seen) DESC, id",
            args,
        ).fetchall()
        return [_job_from_row(row) for row in rows]

    def active(self) -> list[JobRecord]:
        """Jobs the service last reported as not finished (what may hold the tenant's single job slot)."""
        marks = ",".join("?" * len(_NON_TERMINAL))
        rows = self._db.conn.execute(
            f"SELECT {_JOB_COLUMNS} FROM job WHERE archived = 0 AND status IN ({marks}) "
            "ORDER BY started DESC",
            _NON_TERMINAL,
        ).fetchall()
        return [_job_from_row(row) for row in rows]

    def find_reusable(
        self, snapshot_id: str, scope: FilteringCriteria | None, *, include_running: bool = False
    ) -> JobRecord | None:
        """The newest preview job of this snapshot and scope the service still lists as successful (or, with
        ``include_running``, still running), so that a new report need not be started."""
        statuses = ("successful", *_NON_TERMINAL) if include_running else ("successful",)
        marks = ",".join("?" * len(statuses))
        rows = self._db.conn.execute(
            f"""SELECT {_JOB_COLUMNS} FROM job
            WHERE kind = ? AND scope_key = ? AND archived = 0 AND status IN ({marks})
              AND (snapshot_id = ? OR target_state = ?)
            ORDER BY status = 'successful' DESC, coalesce(completed, started) DESC LIMIT 1""",
            (
                JobKind.PREVIEW.value,
                scope_key(scope),
                *statuses,
                snapshot_id,
                self._tenant.snapshot_created(snapshot_id),
            ),
        ).fetchall()
        return _job_from_row(rows[0]) if rows else None
