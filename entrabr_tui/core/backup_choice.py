"""Which backup a user means by ``latest``, an ID or a date ``YYYY-MM-DD`` (UTC): one rule for every surface.

``latest`` is the newest backup the service still lists; offline, when the cache knows no listed one, the
newest it knows. An explicit ID or date may name a backup the service no longer lists (expired): its cached
reports stay browsable, and the service answers for anything else.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Protocol, TypeVar

from .model import Snapshot


class ListedBackup(Protocol):
    """A backup as a list of them shows it: the snapshot and whether the service still lists it."""

    @property
    def snapshot(self) -> Snapshot: ...

    @property
    def expired(self) -> bool: ...


B = TypeVar("B", bound=ListedBackup)


class Unmatched(StrEnum):
    """Why no backup was chosen."""

    NONE_KNOWN = "none-known"
    NONE_CURRENT = "none-current"
    NO_MATCH = "no-match"


class BackupNotChosen(Exception):
    """No backup answers the spec: ``reason`` says why, ``known`` lists the known backups, newest first."""

    def __init__(self, reason: Unmatched, message: str, known: Sequence[Snapshot] = ()) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.known = tuple(known)


def choose_backup(entries: Sequence[B], spec: str | None, *, offline: bool) -> B:
    """The entry ``spec`` names among ``entries`` (newest first); raises :class:`BackupNotChosen`."""
    if not entries:
        raise BackupNotChosen(Unmatched.NONE_KNOWN,
                              "No backups are known" + (" in the cache." if offline else "."))
    text = (spec or "latest").strip()
    if text.lower() == "latest":
        current = [e for e in entries if not e.expired] or (list(entries) if offline else [])
        if not current:
            raise BackupNotChosen(Unmatched.NONE_CURRENT,
                                  "No current backup is listed; older ones are kept in the cache.",
                                  [e.snapshot for e in entries])
        return current[0]
    for entry in entries:
        if entry.snapshot.id == text or entry.snapshot.created.strftime("%Y-%m-%d") == text:
            return entry
    raise BackupNotChosen(Unmatched.NO_MATCH, f"No backup {text!r}.", [e.snapshot for e in entries])
