"""The connection-holding base shared by the parts of :class:`entrabr_tui.store.cache.Cache`."""

from __future__ import annotations

import sqlite3
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from entrabr_tui.store.cache_schema import trigram_available
from entrabr_tui.store.sqlite_file import OpenedDatabase, transaction

#: Decides whether a change (a raw ``getChanges`` item) can be recovered; ``None`` means unknown.
RecoverableFn = Callable[[Mapping[str, Any]], bool | None]


def text_matches(needle: str | None, name: str | None, principal: str | None, object_id: str | None) -> int:
    """The filter rule: ``needle`` (lower-cased) is in the name or UPN/mail, or is a prefix of the id.

    Registered in SQLite as ``ebr_match`` for the scanning query paths; the trigram index implements the
    same rule for its candidates.
    """
    if not needle:
        return 1
    if name and needle in name.lower():
        return 1
    if principal and needle in principal.lower():
        return 1
    return 1 if object_id and object_id.lower().startswith(needle) else 0


class CacheCore:
    """Owns the SQLite connection of one tenant's cache.

    One instance is used by one thread at a time (it may be handed between threads). For concurrent reading
    while another thread ingests, open a second instance with ``verify=False``: WAL lets readers proceed.
    """

    def __init__(
        self, opened: OpenedDatabase, tenant_id: str, *, recoverable: RecoverableFn | None = None
    ) -> None:
        self._conn: sqlite3.Connection = opened.conn
        self.path: Path = opened.path
        self.tenant_id = tenant_id
        self.warnings: list[str] = list(opened.warnings)
        """Messages from opening (e.g. where a damaged file was moved); show them to the user."""
        self.moved_to: Path | None = opened.moved_to
        self.created = opened.created
        self._recoverable_fn = recoverable
        self._page_cache: OrderedDict[int, bytes] = OrderedDict()
        self._conn.execute("PRAGMA cache_size = -65536")
        self._conn.create_function("ebr_match", 4, text_matches, deterministic=True)
        self.has_trigram = trigram_available(self._conn)

    @property
    def connection(self) -> sqlite3.Connection:
        """The raw connection (for diagnostics and tests; prefer the methods)."""
        return self._conn

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> CacheCore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        return transaction(self._conn)

    def _snapshot_created(self, snapshot_id: str) -> str | None:
        """The stored ``created`` text of a snapshot (``None`` when the snapshot is unknown)."""
        row = self._conn.execute("SELECT created FROM snapshot WHERE id = ?", (snapshot_id,)).fetchone()
        return row[0] if row else None

    @contextmanager
    def _durable_tx(self) -> Iterator[sqlite3.Connection]:
        """A transaction synced to disk at commit (for the restore journal)."""
        self._conn.execute("PRAGMA synchronous = FULL")
        try:
            with transaction(self._conn) as conn:
                yield conn
        finally:
            self._conn.execute("PRAGMA synchronous = NORMAL")
