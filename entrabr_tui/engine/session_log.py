"""The session history as one session writes it: who did what, on which tenant, with what outcome.

Every entry names the tenant and the signed-in identity (never a token). A history that cannot be written
never undoes or hides an action that already happened: the failure becomes a warning instead.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from entrabr_tui.store import History, HistoryAction, HistoryEntry, StoreError

log = logging.getLogger(__name__)


class AppAction(StrEnum):
    """History actions taken in the terminal app (besides reports, restores and exports)."""

    CACHE_CLEARED = "cache-cleared"
    OFFLINE = "offline"
    ONLINE = "online"
    PROFILE_SWITCHED = "profile-switched"
    THEME_CHANGED = "theme-changed"
    BREAK_GLASS_SET = "break-glass-set"


class ExportedReport(Protocol):
    """What an export entry records about the report it came from."""

    @property
    def id(self) -> str:
        """The report's preview job ID."""
        ...

    @property
    def snapshot_id(self) -> str | None: ...


class SessionLog:
    """Appends one session's actions to the session history, and reads this tenant's entries back.

    ``warn`` hears why an entry could not be written (the session shows it among its warnings).
    """

    def __init__(self, history: History, *, tenant_id: str, identity: str,
                 warn: Callable[[str], None]) -> None:
        self._history = history
        self._tenant_id = tenant_id
        self._identity = identity
        self._warn = warn

    @property
    def warnings(self) -> list[str]:
        """Messages from opening the history file (e.g. a damaged file moved aside)."""
        return self._history.warnings

    def write(
        self,
        action: HistoryAction | str,
        *,
        snapshot_id: str | None = None,
        scope: object = None,
        counts: Mapping[str, Any] | None = None,
        outcome: str = "ok",
        detail: str | None = None,
        job_id: str | None = None,
        object_ids: Iterable[str] = (),
    ) -> None:
        """Append an entry; never raises (a failure becomes a warning, see the class docstring)."""
        try:
            self._history.append(action, tenant_id=self._tenant_id, identity=self._identity,
                                 snapshot_id=snapshot_id, scope=scope, counts=counts, outcome=outcome,
                                 detail=detail, job_id=job_id, object_ids=object_ids)
        except (StoreError, sqlite3.Error, OSError) as exc:
            log.warning("Could not write the session history: %s", exc)
            self._warn(f"The session history could not be written ({exc}): {action} was not logged.")

    def export(self, what: str, target: str, *, count: int, fmt: str, report: ExportedReport | None = None,
               outcome: str = "ok") -> None:
        """Record an export (what, where to, how many rows, which format)."""
        self.write(HistoryAction.EXPORT, snapshot_id=report.snapshot_id if report else None,
                   job_id=report.id if report else None, counts={"rows": count}, outcome=outcome,
                   detail=f"{what} as {fmt} to {target}")

    def entries(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        actions: Sequence[HistoryAction | str] | None = None,
        object_id: str | None = None,
        tenant_id: str | None = None,
        limit: int | None = 500,
    ) -> list[HistoryEntry]:
        """Entries newest first, ``since <= at < until``, of the given actions, involving ``object_id``; of
        this session's tenant unless ``tenant_id`` names another."""
        return self._history.query(since=since, until=until, actions=actions, object_id=object_id,
                                   tenant_id=tenant_id or self._tenant_id, limit=limit)

    def close(self) -> None:
        self._history.close()
