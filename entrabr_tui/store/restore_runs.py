"""Restore runs: every batch of a restore, written down (synced) before its first batch is sent.

The job journal (:mod:`entrabr_tui.store.restore_journal`) records each batch just before its POST; a run
records the whole plan up front, so a restore interrupted after batch 2 of 5 knows batches 3 to 5 and can
run them later without planning again (the queue or the tenant may have moved on meanwhile). A run is
``running`` until it ends (``finished``), is cancelled (``cancelled``) or is dropped by the user
(``dropped``); what each batch did is read from the journal entries that carry the run's id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from entrabr_tui.core.model import FilteringCriteria
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


class RunStatus(StrEnum):
    """Life of a restore run (stored as text)."""

    RUNNING = "running"
    """Started and not ended: if no process runs it, it was interrupted and can be resumed."""
    FINISHED = "finished"
    """Every batch ran (successfully or not)."""
    CANCELLED = "cancelled"
    DROPPED = "dropped"
    """The user chose not to run the rest."""


@dataclass(frozen=True, slots=True)
class RunBatch:
    """One batch of a run: its number (1-based), scope and the object ids it restores."""

    batch: int
    scope: FilteringCriteria | None
    object_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RestoreRun:
    """A restore as planned when it started."""

    id: str
    report_id: int | None
    snapshot_id: str
    plan_hash: str | None
    label: str | None
    created: datetime
    status: str
    updated: datetime
    message: str | None
    batches: tuple[RunBatch, ...]

    @property
    def batch_count(self) -> int:
        return len(self.batches)


class RestoreRuns:
    """Restore runs of one tenant's cache (every write synced before it returns)."""

    def __init__(self, db: CacheDatabase, tenant_id: str) -> None:
        self._db = db
        self._tenant_id = tenant_id

    def begin(self, run_id: str, snapshot_id: str, batches: Sequence[RunBatch], *, report_id: int | None,
              plan_hash: str | None = None, label: str | None = None, now: datetime | None = None
              ) -> RestoreRun:
        """Record a run and all its batches; call before the first batch is sent."""
        stamp = time_to_db(now or utc_now())
        with self._db.durable_tx():
            self._db.conn.execute(
                """INSERT INTO restore_run (id, tenant_id, report_id, snapshot_id, batch_count, plan_hash,
                label, created, status, updated, message) VALUES (?,?,?,?,?,?,?,?,?,?,NULL)""",
                (run_id, self._tenant_id, report_id, snapshot_id, len(batches), plan_hash, label, stamp,
                 RunStatus.RUNNING.value, stamp),
            )
            self._db.conn.executemany(
                "INSERT INTO restore_run_batch (run_id, batch, filtering, scope_key, object_ids) "
                "VALUES (?,?,?,?,?)",
                [(run_id, b.batch, scope_to_db(b.scope), scope_key(b.scope), dumps(list(b.object_ids)))
                 for b in batches],
            )
        run = self.get(run_id)
        assert run is not None
        return run

    def set_status(self, run_id: str, status: RunStatus, *, message: str | None = None,
                   now: datetime | None = None) -> None:
        with self._db.durable_tx():
            self._db.conn.execute(
                "UPDATE restore_run SET status = ?, message = coalesce(?, message), updated = ? WHERE id = ?",
                (status.value, message, time_to_db(now or utc_now()), run_id),
            )

    def replace_batches(self, run_id: str, first: int, batches: Sequence[RunBatch], *,
                        now: datetime | None = None) -> RestoreRun:
        """Replace batches ``first`` and after with ``batches`` (numbered from ``first``): a batch the service
        refused as too large, split. Batches before ``first`` are kept as they are."""
        with self._db.durable_tx():
            conn = self._db.conn
            conn.execute("DELETE FROM restore_run_batch WHERE run_id = ? AND batch >= ?", (run_id, first))
            conn.executemany(
                "INSERT INTO restore_run_batch (run_id, batch, filtering, scope_key, object_ids) "
                "VALUES (?,?,?,?,?)",
                [(run_id, b.batch, scope_to_db(b.scope), scope_key(b.scope), dumps(list(b.object_ids)))
                 for b in batches],
            )
            conn.execute("UPDATE restore_run SET batch_count = ?, updated = ? WHERE id = ?",
                         (first - 1 + len(batches), time_to_db(now or utc_now()), run_id))
        run = self.get(run_id)
        assert run is not None
        return run

    def get(self, run_id: str) -> RestoreRun | None:
        row = self._db.conn.execute(
            "SELECT id, report_id, snapshot_id, plan_hash, label, created, status, updated, message "
            "FROM restore_run WHERE id = ?",
            (run_id,),
        ).fetchone()
        return self._run(row) if row else None

    def unfinished(self) -> list[RestoreRun]:
        """Runs still ``running``, oldest first (an interrupted restore, or one running right now)."""
        rows = self._db.conn.execute(
            "SELECT id, report_id, snapshot_id, plan_hash, label, created, status, updated, message "
            "FROM restore_run WHERE status = ? ORDER BY created, id",
            (RunStatus.RUNNING.value,),
        ).fetchall()
        return [self._run(row) for row in rows]

    def _run(self, row: tuple[Any, ...]) -> RestoreRun:
        run_id, report_id, snapshot_id, plan_hash, label, created, status, updated, message = row
        batches = tuple(
            RunBatch(int(batch), scope_from_db(filtering), tuple(_ids(loads(ids) if ids is not None else [])))
            for batch, filtering, ids in self._db.conn.execute(
                "SELECT batch, filtering, object_ids FROM restore_run_batch WHERE run_id = ? ORDER BY batch",
                (run_id,),
            )
        )
        return RestoreRun(run_id, report_id, snapshot_id, plan_hash, label, time_from_db(created) or EPOCH,
                          status, time_from_db(updated) or EPOCH, message, batches)


def _ids(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []
