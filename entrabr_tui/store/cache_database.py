"""The SQLite connection of one tenant's cache file and the transactions every part of the cache uses."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from entrabr_tui.store.cache_schema import trigram_available
from entrabr_tui.store.change_filter import text_matches
from entrabr_tui.store.sqlite_file import OpenedDatabase, transaction

#: Bytes of the cache file SQLite reads through a memory map rather than by copying each page into its own
#: cache. A text filter's first lookup in a large report reads thousands of rows scattered over the file;
#: mapped, each costs a memory access instead of a read call and a copy (about half the time of that lookup).
#: Only address space is reserved; the pages stay the operating system's file cache. SQLite falls back to
#: plain reads where mapping is not available.
MMAP_BYTES = 1 << 30


class CacheDatabase:
    """Owns the SQLite connection of one tenant's cache and what opening it found.

    One instance is used by one thread at a time (it may be handed between threads). For concurrent reading
    while another thread ingests, open a second :class:`~entrabr_tui.store.cache.Cache` with
    :meth:`~entrabr_tui.store.cache.Cache.reader`: WAL lets readers proceed.
    """

    def __init__(self, opened: OpenedDatabase) -> None:
        self.conn: sqlite3.Connection = opened.conn
        """The raw connection (the cache's parts use it; outside the store, for diagnostics and tests)."""
        self.path: Path = opened.path
        self.warnings: list[str] = list(opened.warnings)
        """Messages from opening (e.g. where a damaged file was moved); show them to the user."""
        self.moved_to: Path | None = opened.moved_to
        self.created = opened.created
        self.read_only = opened.read_only
        """The file could not be written (a read-only folder or file system): reads only."""
        self.conn.execute("PRAGMA cache_size = -65536")
        self.conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
        self.conn.create_function("ebr_match", 4, text_matches, deterministic=True)
        self.has_trigram = trigram_available(self.conn)
        """Whether this SQLite has the trigram tokenizer (new reports then get a substring index)."""

    def close(self) -> None:
        self.conn.close()

    def tx(self) -> AbstractContextManager[sqlite3.Connection]:
        """A transaction: committed when the block ends, rolled back when it raises."""
        return transaction(self.conn)

    @contextmanager
    def durable_tx(self) -> Iterator[sqlite3.Connection]:
        """A transaction synced to disk at commit (for the restore journal)."""
        self.conn.execute("PRAGMA synchronous = FULL")
        try:
            with transaction(self.conn) as conn:
                yield conn
        finally:
            self.conn.execute("PRAGMA synchronous = NORMAL")

    def data_version(self) -> tuple[int, int]:
        """Moves whenever any connection commits (``PRAGMA data_version``) or this one writes."""
        return int(self.conn.execute("PRAGMA data_version").fetchone()[0]), self.conn.total_changes
