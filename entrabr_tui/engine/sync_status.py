"""Which users and groups of a report are synchronised from on-premises, asked of the directory.

Difference reports rarely say (Microsoft's ``getChanges`` examples never carry ``onPremisesSyncEnabled``),
yet recovery leaves synced objects alone. So once a report is in the cache, and again for queued objects
before a restore is planned, :class:`SyncStatusLookup` asks the directory in bulk about the users and groups
whose status is still unknown and never looked up (``client.directory.lookup_sync_status``: ``getByIds``,
else ``/users`` and ``/groups``), and records each answer in the cache together with the recomputed
recoverable answer (:mod:`entrabr_tui.core.recoverability`).

The service decides what the identity may read: nothing is checked from token claims. When the directory
refuses (403), the network fails or the session is offline, the lookup stops, what was recorded so far stays,
and the rest stays unknown: the restore plan then warns that synced objects among them will not be recovered.
Objects the directory does not return (deleted ones, which it does not list) stay unknown and are not asked
about again for that report.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from entrabr_tui.core.model import SyncStatus
from entrabr_tui.core.recoverability import recoverability
from entrabr_tui.engine.timing import Clock, utc_now
from entrabr_tui.graph.client import RecoveryClient
from entrabr_tui.graph.errors import ForbiddenError, GraphError
from entrabr_tui.store import Cache

#: Ids asked about per directory call (several Graph requests each) and recorded per transaction.
LOOKUP_CHUNK = 5_000

#: ``progress(done, total)`` after each recorded chunk.
LookupProgress = Callable[[int, int], Awaitable[None] | None]


class LookupOutcome(StrEnum):
    """How a lookup ended."""

    DONE = "done"  # every pending object was asked about
    NOTHING = "nothing"  # no user or group of unknown status was left to ask about
    FORBIDDEN = "forbidden"  # the directory refused (403): the identity may not read users and groups
    FAILED = "failed"  # another error (network, service); what was recorded stays
    OFFLINE = "offline"  # an offline session cannot ask
    READ_ONLY = "readOnly"  # the cache can only be read: the answers could not be recorded, so none is asked


@dataclass(frozen=True, slots=True)
class SyncCheck:
    """What one lookup did: objects asked about, what the directory said, and how it ended."""

    outcome: LookupOutcome
    asked: int = 0
    synced: int = 0
    cloud: int = 0
    not_found: int = 0
    left: int = 0
    message: str | None = None

    @property
    def summary(self) -> str:
        """One line for the session history and the command line."""
        counts = (f"{self.asked:,} users and groups asked about: {self.synced:,} synced from on-premises, "
                  f"{self.cloud:,} cloud, {self.not_found:,} not found (sync status unknown)")
        if self.outcome is LookupOutcome.NOTHING:
            return "No user or group of unknown sync status to look up."
        if self.outcome is LookupOutcome.OFFLINE:
            return "Offline: the sync status of users and groups was not looked up."
        if self.outcome is LookupOutcome.READ_ONLY:
            return "The cache is read-only: the sync status of users and groups was not looked up."
        if self.outcome is LookupOutcome.DONE:
            return counts + "."
        stopped = f"; stopped with {self.left:,} still unknown: {self.message}"
        return (counts if self.asked else "Nothing looked up") + stopped


class SyncStatusLookup:
    """Asks the directory about the sync status of a report's users and groups and records the answers (see
    the module docstring); ``client`` is ``None`` offline."""

    def __init__(self, client: RecoveryClient | None, cache: Cache, *, clock: Clock = utc_now,
                 chunk: int = LOOKUP_CHUNK) -> None:
        self._client = client
        self._cache = cache
        self._clock = clock
        self._chunk = max(1, chunk)

    async def run(self, report_id: int, ids: Sequence[str] | None = None,
                  progress: LookupProgress | None = None) -> SyncCheck:
        """Look up the users and groups of the report (of ``ids`` only, when given) whose status is unknown
        and was never looked up."""
        if self._client is None:
            return SyncCheck(LookupOutcome.OFFLINE)
        if self._cache.read_only:
            return SyncCheck(LookupOutcome.READ_ONLY)
        pending = self._cache.sync.pending(report_id, ids)
        if not pending:
            return SyncCheck(LookupOutcome.NOTHING)
        asked = synced = cloud = not_found = 0
        await self._progress(progress, 0, len(pending))
        for start in range(0, len(pending), self._chunk):
            chunk = pending[start:start + self._chunk]
            try:
                found = await self._client.directory.lookup_sync_status(chunk)
            except GraphError as exc:
                outcome = LookupOutcome.FORBIDDEN if isinstance(exc, ForbiddenError) else LookupOutcome.FAILED
                return SyncCheck(outcome, asked, synced, cloud, not_found, len(pending) - asked, str(exc))
            self._record(report_id, found)
            asked += len(chunk)
            synced += sum(1 for flag in found.values() if flag is True)
            cloud += sum(1 for flag in found.values() if flag is False)
            not_found += sum(1 for flag in found.values() if flag is None)
            await self._progress(progress, asked, len(pending))
        return SyncCheck(LookupOutcome.DONE, asked, synced, cloud, not_found)

    @staticmethod
    async def _progress(progress: LookupProgress | None, done: int, total: int) -> None:
        if progress is not None:
            result = progress(done, total)
            if result is not None:
                await result

    def _record(self, report_id: int, found: dict[str, bool | None]) -> None:
        """Store one chunk's answers with the recoverable answer each known status gives each change."""
        known = [object_id for object_id, flag in found.items() if flag is not None]
        answers: dict[int, bool | None] = {}  # by position: each change of an object has its own answer
        for position, change in self._cache.queries.positioned_changes(report_id, known):
            flag = found.get(change.id)
            if flag is not None and change.readable:
                answers[position] = recoverability(change.with_sync(SyncStatus.from_flag(flag))).flag
        self._cache.sync.record(report_id, found, answers, now=self._clock())
