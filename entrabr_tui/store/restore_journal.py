"""The job journal: an intent is written (and synced to disk) before a job is POSTed, its job id after.

After a crash, :meth:`RestoreJournal.pending_intents` lists intents whose POST may or may not have reached the
service. Reconcile each one against ``/jobs`` (same kind, snapshot and scope, started near the intent's time;
:meth:`RestoreJournal.claimed_job_ids` lists jobs already claimed) instead of submitting it again. Job ids
are opaque and compared exactly.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from entrabr_tui.core.model import FilteringCriteria, JobKind
from entrabr_tui.store.cache_database import CacheDatabase
from entrabr_tui.store.codec import (
    EPOCH,
    scope_from_db,
    scope_key,
    scope_to_db,
    time_from_db,
    time_to_db,
    utc_now,
)
from entrabr_tui.store.records import IntentStatus, JournalIntent

_INTENT_COLUMNS = (
    "id, tenant_id, kind, snapshot_id, target_state, filtering, scope_key, report_id, run_id, batch, "
    "batch_count, label, created, status, job_id, job_set_at, updated, message"
)
_OPEN = tuple(s.value for s in IntentStatus if s.is_open)


def _intent_from_row(row: tuple[Any, ...]) -> JournalIntent:
    (
        intent_id,
        tenant_id,
        kind,
        snapshot_id,
        target_state,
        filtering,
        key,
        report_id,
        run_id,
        batch,
        batch_count,
        label,
        created,
        status,
        job_id,
        job_set_at,
        updated,
        message,
    ) = row
    known = status in IntentStatus._value2member_map_
    return JournalIntent(
        id=int(intent_id),
        tenant_id=tenant_id,
        kind=JobKind.PREVIEW if kind == JobKind.PREVIEW.value else JobKind.RECOVERY,
        snapshot_id=snapshot_id,
        target_state=time_from_db(target_state),
        scope=scope_from_db(filtering),
        scope_key=key,
        report_id=report_id,
        run_id=run_id,
        batch=batch,
        batch_count=batch_count,
        label=label,
        created=time_from_db(created) or EPOCH,
        status=IntentStatus(status) if known else IntentStatus.UNKNOWN,
        status_raw=status,
        job_id=job_id,
        job_set_at=time_from_db(job_set_at),
        updated=time_from_db(updated) or EPOCH,
        message=message,
    )


class RestoreJournal:
    """Write-ahead record of the jobs entrabr starts (every write is synced before it returns)."""

    def __init__(self, db: CacheDatabase, tenant_id: str) -> None:
        self._db = db
        self._tenant_id = tenant_id

    def intent(
        self,
        snapshot_id: str,
        scope: FilteringCriteria | None,
        *,
        kind: JobKind = JobKind.RECOVERY,
        target_state: datetime | None = None,
        report_id: int | None = None,
        run_id: str | None = None,
        batch: int | None = None,
        batch_count: int | None = None,
        label: str | None = None,
        now: datetime | None = None,
    ) -> JournalIntent:
        """Record that a job is about to be POSTed; call this before the POST."""
        stamp = time_to_db(now or utc_now())
        with self._db.durable_tx():
            cursor = self._db.conn.execute(
                f"""INSERT INTO restore_intent ({_INTENT_COLUMNS})
                VALUES (NULL,?,?,?,?,?,?,?,?,?,?,?,?,?,NULL,NULL,?,NULL)""",
                (
                    self._tenant_id,
                    kind.value,
                    snapshot_id,
                    time_to_db(target_state),
                    scope_to_db(scope),
                    scope_key(scope),
                    report_id,
                    run_id,
                    batch,
                    batch_count,
                    label,
                    stamp,
                    IntentStatus.PENDING.value,
                    stamp,
                ),
            )
            intent_id = int(cursor.lastrowid or 0)
        return self._intent_or_raise(intent_id)

    def attach_job(
        self, intent_id: int, job_id: str, *, now: datetime | None = None
    ) -> JournalIntent:
        """Record the job id (from the ``Location`` header, or found by reconciliation): ``submitted``."""
        return self.set_status(intent_id, IntentStatus.SUBMITTED, job_id=job_id, now=now)

    def set_status(
        self,
        intent_id: int,
        status: IntentStatus | str,
        *,
        job_id: str | None = None,
        message: str | None = None,
        now: datetime | None = None,
    ) -> JournalIntent:
        """Move an intent to ``status``; ``job_id`` and ``message`` are stored when given."""
        stamp = time_to_db(now or utc_now())
        with self._db.durable_tx():
            cursor = self._db.conn.execute(
                """UPDATE restore_intent SET status = ?, message = coalesce(?, message), updated = ?,
                job_set_at = CASE WHEN ? IS NOT NULL AND job_id IS NOT ? THEN ? ELSE job_set_at END,
                job_id = coalesce(?, job_id) WHERE id = ?""",
                (str(status), message, stamp, job_id, job_id, stamp, job_id, intent_id),
            )
            if cursor.rowcount == 0:
                raise KeyError(f"no journal entry {intent_id}")
        return self._intent_or_raise(intent_id)

    def entry(self, intent_id: int) -> JournalIntent | None:
        row = self._db.conn.execute(
            f"SELECT {_INTENT_COLUMNS} FROM restore_intent WHERE id = ?", (intent_id,)
        ).fetchone()
        return _intent_from_row(row) if row else None

    def _intent_or_raise(self, intent_id: int) -> JournalIntent:
        intent = self.entry(intent_id)
        if intent is None:
            raise KeyError(f"no journal entry {intent_id}")
        return intent

    def pending_intents(self) -> list[JournalIntent]:
        """Intents without a job id still ``pending``: the POST may have been sent before a crash.

        Reconcile them against the service's job list; never resubmit blindly.
        """
        rows = self._db.conn.execute(
            f"SELECT {_INTENT_COLUMNS} FROM restore_intent WHERE status = ? AND job_id IS NULL ORDER BY id",
            (IntentStatus.PENDING.value,),
        ).fetchall()
        return [_intent_from_row(r) for r in rows]

    def open_intents(self) -> list[JournalIntent]:
        """Intents not closed yet (pending, submitted or unconfirmed), oldest first."""
        marks = ",".join("?" * len(_OPEN))
        rows = self._db.conn.execute(
            f"SELECT {_INTENT_COLUMNS} FROM restore_intent WHERE status IN ({marks}) ORDER BY created, id",
            _OPEN,
        ).fetchall()
        return [_intent_from_row(r) for r in rows]

    def entries(self, *, limit: int | None = None) -> list[JournalIntent]:
        """Every intent, oldest first (the last ``limit`` ones when given)."""
        sql = f"SELECT {_INTENT_COLUMNS} FROM restore_intent ORDER BY id DESC"
        rows = self._db.conn.execute(sql + (f" LIMIT {int(limit)}" if limit is not None else "")).fetchall()
        return [_intent_from_row(r) for r in reversed(rows)]

    def claimed_job_ids(self) -> set[str]:
        """Ids of every job an intent points at: the jobs entrabr started."""
        rows = self._db.conn.execute("SELECT DISTINCT job_id FROM restore_intent WHERE job_id IS NOT NULL")
        return {r[0] for r in rows}

    def of_run(self, run_id: str) -> list[JournalIntent]:
        """Every intent of one restore run, oldest first (a batch may have several: one not received by
        the service is sent again under a new intent)."""
        rows = self._db.conn.execute(
            f"SELECT {_INTENT_COLUMNS} FROM restore_intent WHERE run_id = ? ORDER BY id", (run_id,)
        ).fetchall()
        return [_intent_from_row(r) for r in rows]
