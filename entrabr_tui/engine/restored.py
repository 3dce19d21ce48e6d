"""What recent restores did to each object, from the session history and the cached job results.

Every restore batch is written to the session history as it is submitted (``restore-submitted``: its job id
and the ids of the objects it covers, whole-type batches included). The job's end state and its failed
changes are in the cache. Together they say, per object, whether the last restore that covered it restored
it, failed on it, was cancelled, or has not finished yet — what the terminal app shows next to each object.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from entrabr_tui.core.model import RecoveryStatus
from entrabr_tui.engine.cache_reader import CacheReader
from entrabr_tui.engine.session_log import SessionLog
from entrabr_tui.store import HistoryAction


class RestoreState(StrEnum):
    """What the last restore that covered an object did to it."""

    RESTORED = "restored"
    FAILED = "failed"
    CANCELLED = "cancelled"
    RUNNING = "running"  # submitted; the job has not been seen to end (yet)


@dataclass(frozen=True, slots=True)
class RestoreMark:
    """The last restore that covered one object: its outcome for the object, when, and the job."""

    state: RestoreState
    at: datetime
    job_id: str | None


def restore_marks(log: SessionLog, reader: CacheReader, since: datetime) -> dict[str, RestoreMark]:
    """Objects covered by restores submitted since ``since``, keyed by lower-case object id (the latest
    restore of an object wins)."""
    entries = log.entries(actions=[HistoryAction.RESTORE_SUBMITTED], since=since, limit=None)
    marks: dict[str, RestoreMark] = {}
    for entry in reversed(entries):  # oldest first: a later restore of an object wins
        if not entry.object_ids:
            continue
        state, failed = _outcome(reader, entry.job_id)
        for object_id in entry.object_ids:
            key = object_id.lower()
            own = RestoreState.FAILED if state is RestoreState.RESTORED and key in failed else state
            marks[key] = RestoreMark(own, entry.at, entry.job_id)
    return marks


def _outcome(reader: CacheReader, job_id: str | None) -> tuple[RestoreState, set[str]]:
    """The state of a recovery job as cached, and the lower-case ids of its failed changes."""
    if job_id is None:
        return RestoreState.RUNNING, set()
    with reader.locked() as cache:
        record = cache.jobs.get(job_id)
        if record is None or not record.job.is_terminal:
            return RestoreState.RUNNING, set()
        status = record.job.status
        if status is RecoveryStatus.ABANDONED:
            return RestoreState.CANCELLED, set()
        if status is not RecoveryStatus.SUCCESSFUL:
            return RestoreState.FAILED, set()
        return RestoreState.RESTORED, {c.id.lower() for c in cache.queries.failed_changes(job_id)}
