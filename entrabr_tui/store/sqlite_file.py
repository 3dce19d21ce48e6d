"""Opening an entrabr SQLite file safely: integrity check, move-aside, WAL, permissions and migrations.

On open, an existing file is checked (SQLite header, ``application_id``, a marker row, the schema version and
``PRAGMA quick_check``). A damaged file, a file that belongs to something else, or one written by a newer
entrabr is never deleted: it is renamed next to itself with a reason and UTC timestamp suffix (its
``-wal`` and ``-shm`` companions too), a fresh database is created, and the caller receives a message
saying where the old file went (:attr:`OpenedDatabase.warnings`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from entrabr_tui.store.paths import create_private_file, secure_dir, secure_sqlite_files

SQLITE_MAGIC = b"SQLite format 3\x00"
_COMPANIONS = ("-wal", "-shm", "-journal")


class StoreError(Exception):
    """A store file cannot be used (unreadable, unwritable, or an unexpected state); the message says why."""


@dataclass(frozen=True, slots=True)
class Migration:
    """One forward schema step: ``apply`` runs in a transaction, then ``user_version`` becomes ``version``."""

    version: int
    description: str
    apply: Callable[[sqlite3.Connection], None]


@dataclass(frozen=True, slots=True)
class DatabaseSpec:
    """What a given kind of entrabr database looks like."""

    label: str
    application_id: int
    marker: str
    migrations: Sequence[Migration]

    @property
    def latest_version(self) -> int:
        return len(self.migrations)


@dataclass(slots=True)
class OpenedDatabase:
    """An open connection plus what happened while opening it."""

    conn: sqlite3.Connection
    path: Path
    created: bool
    migrated_from: int
    warnings: list[str] = field(default_factory=list)
    moved_to: Path | None = None


def execute_script(conn: sqlite3.Connection, script: str) -> None:
    """Run several statements without ``executescript`` (which would commit the open transaction)."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                conn.execute(buffer)
            buffer = ""
    if buffer.strip():
        conn.execute(buffer)


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` … ``COMMIT``; rolled back on any exception (including KeyboardInterrupt)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


#: Values bound per ``IN (…)`` list, well below SQLite's limit on bound parameters.
IN_LIST_CHUNK = 500


def in_list_chunks(values: Sequence[str]) -> Iterator[tuple[list[str], str]]:
    """``values`` in slices of at most :data:`IN_LIST_CHUNK`, each with its ``?,?,…`` placeholder text."""
    for start in range(0, len(values), IN_LIST_CHUNK):
        chunk = list(values[start : start + IN_LIST_CHUNK])
        yield chunk, ",".join("?" * len(chunk))


def _inspect(path: Path, spec: DatabaseSpec) -> tuple[str, str] | None:
    """``None`` when the file is usable (or empty); else ``(reason, detail)``."""
    try:
        with open(path, "rb") as handle:
            header = handle.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise StoreError(f"Cannot read the {spec.label} at {path}: {exc.strerror or exc}") from exc
    if not header:
        return None
    if header != SQLITE_MAGIC:
        return "corrupt", "it is not an SQLite database"
    try:
        conn = sqlite3.connect(path, isolation_level=None)
    except sqlite3.Error as exc:
        return "corrupt", str(exc)
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        objects = conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0]
        if app_id != spec.application_id:
            if app_id == 0 and objects == 0 and version == 0:
                return None
            return "foreign", f"application id {app_id:#x} instead of {spec.application_id:#x}"
        if version > spec.latest_version:
            return "newer", (
                f"schema version {version} was written by a newer entrabr; this one knows up to "
                f"{spec.latest_version}"
            )
        if version > 0:
            marker = conn.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
            if marker is None or marker[0] != spec.marker:
                return "foreign", "its format marker is missing or different"
        problems = [str(row[0]) for row in conn.execute("PRAGMA quick_check(5)")]
        if problems != ["ok"]:
            return "corrupt", "; ".join(problems)[:300]
    except sqlite3.DatabaseError as exc:
        return "corrupt", str(exc)
    finally:
        conn.close()
    return None


def _move_aside(path: Path, reason: str, now: datetime) -> Path:
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.{reason}-{stamp}")
    counter = 1
    while target.exists():
        counter += 1
        target = path.with_name(f"{path.name}.{reason}-{stamp}-{counter}")
    path.rename(target)
    for suffix in _COMPANIONS:
        companion = Path(f"{path}{suffix}")
        if companion.exists():
            companion.rename(Path(f"{target}{suffix}"))
    return target


def set_aside(path: Path, reason: str, *, now: datetime | None = None) -> Path | None:
    """Rename a closed database and its ``-wal``/``-shm``/``-journal`` files to ``<name>.<reason>-<time>``.

    The next open creates a fresh database in its place; nothing is deleted. Returns the new name, or ``None``
    when there is no such file. Close every connection to it first.
    """
    if not path.exists():
        return None
    try:
        return _move_aside(path, reason, now or datetime.now(UTC))
    except OSError as exc:
        raise StoreError(f"Cannot move {path} aside: {exc.strerror or exc}") from exc


_REASON_TEXT = {
    "corrupt": "damaged",
    "foreign": "not an entrabr {label}",
    "newer": "from a newer version of entrabr",
}


def connect(path: Path) -> sqlite3.Connection:
    """A connection in the store's settings (WAL, NORMAL sync, foreign keys, busy timeout)."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10.0)
    conn.execute("PRAGMA busy_timeout = 10000")
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        conn.close()
        raise StoreError(
            f"SQLite cannot use WAL mode for {path} (got {mode!r}); is the folder on a network share?"
        )
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA temp_store = MEMORY")
    return conn


def _migrate(conn: sqlite3.Connection, spec: DatabaseSpec, path: Path) -> int:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > spec.latest_version:
        conn.close()
        raise StoreError(
            f"The {spec.label} at {path} has schema version {version}, newer than this entrabr "
            f"({spec.latest_version}); upgrade entrabr or move the file away."
        )
    for migration in spec.migrations[version:]:
        with transaction(conn):
            migration.apply(conn)
            conn.execute(f"PRAGMA user_version = {int(migration.version)}")
    return int(version)


def open_database(
    path: Path, spec: DatabaseSpec, *, verify: bool = True, now: datetime | None = None
) -> OpenedDatabase:
    """Open (creating or repairing as needed) the database at ``path``.

    ``verify=False`` skips the integrity checks: use it for a second connection to a file that this process
    has already opened and checked.
    """
    secure_dir(path.parent)
    warnings: list[str] = []
    moved_to: Path | None = None
    if verify:
        problem = _inspect(path, spec) if path.exists() else None
        orphans = [Path(f"{path}{s}") for s in _COMPANIONS if Path(f"{path}{s}").exists()]
        if problem is None and not path.exists() and orphans:
            problem = ("orphan", "journal files without a database")
        if problem is not None:
            reason, detail = problem
            when = now or datetime.now(UTC)
            if path.exists():
                moved_to = _move_aside(path, reason, when)
                text = _REASON_TEXT.get(reason, reason).format(label=spec.label)
                warnings.append(
                    f"The {spec.label} at {path} was {text} ({detail}). It was kept as {moved_to}; "
                    f"a fresh {spec.label} was created."
                )
            else:
                for orphan in orphans:
                    orphan.rename(orphan.with_name(f"{orphan.name}.orphan-{when.strftime('%Y%m%dT%H%M%SZ')}"))
                warnings.append(
                    f"Stray journal files next to {path} were set aside; a fresh {spec.label} was created."
                )
    created = not path.exists() or path.stat().st_size == 0
    try:
        create_private_file(path)
        conn = connect(path)
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"Cannot open the {spec.label} at {path}: {exc}") from exc
    try:
        migrated_from = _migrate(conn, spec, path)
    except sqlite3.Error as exc:
        conn.close()
        raise StoreError(f"Cannot upgrade the {spec.label} at {path}: {exc}") from exc
    secure_sqlite_files(path)
    return OpenedDatabase(
        conn=conn,
        path=path,
        created=created,
        migrated_from=migrated_from,
        warnings=warnings,
        moved_to=moved_to,
    )


def set_meta_marker(conn: sqlite3.Connection, spec_marker: str, application_id: int) -> None:
    """Part of every first migration: the ``meta`` table, its format marker and the application id."""
    conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('format', ?)", (spec_marker,))
    conn.execute(f"PRAGMA application_id = {int(application_id)}")
