"""Session housekeeping: exports and app-level actions in the history, and clearing the tenant's cache.

Mixed into :class:`~entrabr_tui.engine.session.Session`. Clearing the cache closes the session: the cache
file (with its ``-wal``/``-shm`` companions) is set aside as ``….cleared-<UTC time>`` — nothing is deleted —
and the next session on the tenant starts with an empty cache. The session history is a separate file and
keeps everything, including the clearing itself.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from entrabr_tui.engine.errors import EngineError
from entrabr_tui.engine.runner import JobRunner
from entrabr_tui.engine.timing import Clock
from entrabr_tui.store import Cache, History, HistoryAction, IntentStatus
from entrabr_tui.store.sqlite_file import set_aside


class AppAction(StrEnum):
    """History actions taken in the terminal app (besides reports, restores and exports)."""

    CACHE_CLEARED = "cache-cleared"
    OFFLINE = "offline"
    ONLINE = "online"
    PROFILE_SWITCHED = "profile-switched"
    THEME_CHANGED = "theme-changed"


class ReportRef(Protocol):
    """What an export entry records about the report it came from."""

    @property
    def id(self) -> str:
        """The report's preview job ID."""
        ...

    @property
    def snapshot_id(self) -> str | None: ...


#: Journal states that mean a job may still be running or its outcome is not collected yet.
_UNFINISHED = (IntentStatus.PENDING, IntentStatus.SUBMITTED)


class SessionAdmin:
    """History entries for actions outside the engine, and clearing the cache (see the module docstring)."""

    cache: Cache
    history_log: History
    runner: JobRunner | None
    clock: Clock
    closed: bool
    _restoring: bool

    def _log(self, action: HistoryAction | str, **fields: Any) -> None:  # implemented by Session
        raise NotImplementedError

    async def _release(self) -> None:  # implemented by Session: network clients, hooks and the cache
        raise NotImplementedError

    def log_export(self, what: str, target: str, *, count: int, fmt: str, report: ReportRef | None = None,
                   outcome: str = "ok") -> None:
        """Record an export (what, where to, how many rows, which format)."""
        self._log(HistoryAction.EXPORT, snapshot_id=report.snapshot_id if report else None,
                  job_id=report.id if report else None, counts={"rows": count}, outcome=outcome,
                  detail=f"{what} as {fmt} to {target}")

    def record(self, action: str, *, detail: str | None = None, outcome: str = "ok") -> None:
        """Append an action taken in the app (see :class:`AppAction`) to the session history."""
        self._log(action, detail=detail, outcome=outcome)

    def clear_cache_blocker(self) -> str | None:
        """Why the cache cannot be cleared now (``None`` when it can)."""
        if self.closed:
            return "The session is closed."
        if self._restoring or (self.runner is not None and self.runner.busy):
            return "A job started in this session is still running: wait for it to finish or cancel it first."
        unfinished = [i for i in self.cache.journal.open_intents() if i.status in _UNFINISHED]
        if unfinished:
            return (f"The cache tracks {len(unfinished)} job request(s) whose outcome is not collected yet; "
                    "they are checked against the service when the tenant is opened online. "
                    "Clear the cache after that.")
        return None

    async def close_and_clear_cache(self) -> Path | None:
        """Close the session and set the tenant's cache file aside; returns its new name (``None`` if there
        was no file). Raises :class:`EngineError`, leaving the session open, when :meth:`clear_cache_blocker`
        gives a reason; any later failure leaves the session closed and the file where it was."""
        blocker = self.clear_cache_blocker()
        if blocker is not None:
            raise EngineError(blocker)
        path = self.cache.db.path
        self.closed = True
        try:
            await self._release()
            kept = set_aside(path, "cleared", now=self.clock())
        except BaseException as exc:
            self._log(AppAction.CACHE_CLEARED, outcome="error", detail=f"{path}: {exc}")
            self.history_log.close()
            raise
        self._log(AppAction.CACHE_CLEARED,
                  detail=f"{path} set aside as {kept.name}" if kept is not None else f"{path} (no file)")
        self.history_log.close()
        return kept
