"""Opening an entrabr SQLite file safely: integrity check, move-aside, WAL, permissions and migrations.

On open, an existing file is checked (SQLite header, ``application_id``, a marker row, the schema version and
``PRAGMA quick_check``) on a read-only connection. A damaged file (a failed integrity check, or SQLite
saying the file is corrupt or not a database), a file that belongs to something else, or one written by a
newer entrabr is never deleted: it is renamed next to itself with a reason and UTC timestamp suffix (its
``-wal`` and ``-shm`` companions too), a fresh database is created, and the caller receives a message
saying where the old file went (:attr:`OpenedDatabase.warnings`).

Nothing else moves a file aside. *Locked is not damaged*: a file another program (or another entrabr)
holds is waited for (:data:`BUSY_TIMEOUT` seconds, on every connection), and if it stays locked the open
fails with a :class:`StoreError` that says so, leaving the file alone; any other error reading it is
reported the same way. On a read-only folder or file system the file is opened read-only
(:attr:`OpenedDatabase.read_only`, with a message), never moved, created or upgraded.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from entrabr_tui.store.paths import create_private_file, secure_dir, secure_sqlite_files

_T = TypeVar("_T")

SQLITE_MAGIC = b"SQLite format 3\x00"
_COMPANIONS = ("-wal", "-shm", "-journal")

#: Seconds a connection waits for a lock another connection (or process) holds before SQLite reports
#: "database is locked". Writes are short transactions (one page, one journal entry, one index chunk), so
#: normal contention between entrabr processes never comes near it.
BUSY_TIMEOUT = 60.0

#: SQLite result codes (the low byte of an extended code).
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_CORRUPT, _SQLITE_NOTADB = 5, 6, 11, 26
#: ``OSError.errno`` values that mean "this place cannot be written".
_READ_ONLY_ERRNOS = {errno.EROFS, errno.EACCES, errno.EPERM}


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
    read_only: bool = False
    """The folder or file cannot be written: the connection is read-only (``mode=ro``)."""


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


def in_list_chunks(values: Sequence[_T]) -> Iterator[tuple[list[_T], str]]:
    """``values`` in slices of at most :data:`IN_LIST_CHUNK`, each with its ``?,?,…`` placeholder text."""
    for start in range(0, len(values), IN_LIST_CHUNK):
        chunk = list(values[start : start + IN_LIST_CHUNK])
        yield chunk, ",".join("?" * len(chunk))


def _result_code(exc: sqlite3.Error) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else int(code) & 0xFF


def is_busy(exc: BaseException) -> bool:
    """The error means another connection holds a lock (``SQLITE_BUSY``/``SQLITE_LOCKED``): wait, never
    treat the file as damaged."""
    if not isinstance(exc, sqlite3.Error):
        return False
    code = _result_code(exc)
    if code is not None:
        return code in (_SQLITE_BUSY, _SQLITE_LOCKED)
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _is_damage(exc: sqlite3.Error) -> bool:
    """SQLite itself says the file is damaged or not a database (the only errors that move a file aside)."""
    code = _result_code(exc)
    if code is not None:
        return code in (_SQLITE_CORRUPT, _SQLITE_NOTADB)
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text


def busy_error(label: str, path: Path, timeout: float) -> StoreError:
    return StoreError(
        f"The {label} at {path} is in use by another program and stayed locked for {timeout:.0f} s; it was "
        "left as it is. Close that program (or let it finish) and try again."
    )


def connect_read_only(path: Path, *, timeout: float | None = None) -> sqlite3.Connection:
    """A read-only connection that never writes anything next to ``path`` (a read-only folder or file
    system included): ``mode=ro``, and ``immutable`` when SQLite cannot open its shared-memory file there."""
    wait = BUSY_TIMEOUT if timeout is None else timeout
    uri = f"{path.resolve().as_uri()}?mode=ro"  # file:///C:/… on Windows, file:///home/… elsewhere
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False, timeout=wait)
    try:
        conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()
    except sqlite3.OperationalError as exc:
        conn.close()
        if is_busy(exc) or _is_damage(exc):
            raise
        conn = sqlite3.connect(f"{uri}&immutable=1", uri=True, isolation_level=None,
                               check_same_thread=False, timeout=wait)
    conn.execute(f"PRAGMA busy_timeout = {int(wait * 1000)}")
    return conn  # (``mode=ro`` refuses writes to the file; temporary tables still work)


def _inspect(path: Path, spec: DatabaseSpec, *, read_only: bool = False,
             timeout: float | None = None) -> tuple[str, str] | None:
    """``None`` when the file is usable (or empty); else ``(reason, detail)`` for a file to move aside.

    Only reads (through a read-only connection when the file cannot be written; otherwise a plain one, which
    tidies its ``-wal``/``-shm`` when it closes). A lock held elsewhere is waited for and then raised as
    :class:`StoreError` (never a reason to move the file); so is any other error that is not damage.
    """
    wait = BUSY_TIMEOUT if timeout is None else timeout
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
        if read_only:
            conn = connect_read_only(path, timeout=wait)
        else:
            conn = sqlite3.connect(path, isolation_level=None, timeout=wait)
            conn.execute(f"PRAGMA busy_timeout = {int(wait * 1000)}")
    except sqlite3.Error as exc:
        return _judge(exc, path, spec, wait)
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
    except sqlite3.Error as exc:
        return _judge(exc, path, spec, wait)
    finally:
        conn.close()
    return None


def _judge(exc: sqlite3.Error, path: Path, spec: DatabaseSpec, timeout: float) -> tuple[str, str]:
    """Damage is a reason to move the file aside; a lock or any other error is raised, the file kept."""
    if _is_damage(exc):
        return "corrupt", str(exc)
    if is_busy(exc):
        raise busy_error(spec.label, path, timeout) from exc
    raise StoreError(f"Cannot read the {spec.label} at {path}: {exc}. It was left as it is.") from exc


def writable(path: Path) -> bool:
    """Whether entrabr can write ``path`` and create files next to it (its ``-wal``/``-shm``): ``False`` on
    a read-only folder or file system, or for a file it may only read."""
    probe = path.parent / f".{path.name}.probe-{os.getpid()}"
    try:
        fd = os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        pass
    except OSError as exc:
        if exc.errno in _READ_ONLY_ERRNOS:
            return False
        raise
    else:
        os.close(fd)
        probe.unlink(missing_ok=True)
    if path.exists():
        try:
            os.close(os.open(path, os.O_RDWR))
        except OSError as exc:
            if exc.errno in _READ_ONLY_ERRNOS:
                return False
            raise
    return True


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


def connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    """A connection in the store's settings (WAL, NORMAL sync, foreign keys, :data:`BUSY_TIMEOUT`);
    ``read_only`` for a file that cannot be written (see :func:`connect_read_only`)."""
    if read_only:
        return connect_read_only(path)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT)
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
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
    has already opened and checked. A folder or file that cannot be written gives a read-only connection
    (see the module docstring).
    """
    try:
        secure_dir(path.parent)
    except OSError as exc:
        if exc.errno not in _READ_ONLY_ERRNOS:
            raise StoreError(f"Cannot use the folder of the {spec.label}, {path.parent}: "
                             f"{exc.strerror or exc}") from exc
    try:
        can_write = writable(path)
    except OSError as exc:
        raise StoreError(f"Cannot use the {spec.label} at {path}: {exc.strerror or exc}") from exc
    if not can_write:
        return _open_read_only(path, spec, verify)
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
    except sqlite3.Error as exc:
        if is_busy(exc):
            raise busy_error(spec.label, path, BUSY_TIMEOUT) from exc
        raise StoreError(f"Cannot open the {spec.label} at {path}: {exc}") from exc
    except OSError as exc:
        raise StoreError(f"Cannot open the {spec.label} at {path}: {exc}") from exc
    try:
        migrated_from = _migrate(conn, spec, path)
    except sqlite3.Error as exc:
        conn.close()
        if is_busy(exc):
            raise busy_error(spec.label, path, BUSY_TIMEOUT) from exc
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


def _open_read_only(path: Path, spec: DatabaseSpec, verify: bool) -> OpenedDatabase:
    """The file (or its folder) cannot be written: read it as it is, or say why that is not possible."""
    where = f"The {spec.label} at {path}"
    if not path.exists() or path.stat().st_size == 0:
        raise StoreError(f"{where} cannot be created: its folder is read-only. Make {path.parent} writable "
                         "(or point ENTRABR_HOME elsewhere) and try again.")
    if verify:
        problem = _inspect(path, spec, read_only=True)
        if problem is not None:
            raise StoreError(f"{where} cannot be used ({problem[1]}) and cannot be set aside either: the "
                             "folder is read-only. Nothing was changed.")
    try:
        conn = connect_read_only(path)
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.Error as exc:
        if is_busy(exc):
            raise busy_error(spec.label, path, BUSY_TIMEOUT) from exc
        raise StoreError(f"Cannot open {where}: {exc}") from exc
    if version != spec.latest_version:
        conn.close()
        raise StoreError(f"{where} was written by an older entrabr (schema {version}) and cannot be upgraded "
                         "in a read-only folder. Make the folder writable and try again.")
    message = (f"{where} is on a read-only folder or file system: it was opened read-only. What it holds "
               "can be browsed; nothing new can be stored (no reports can be downloaded and no restores "
               "run until the folder is writable).")
    return OpenedDatabase(conn=conn, path=path, created=False, migrated_from=version, warnings=[message],
                          read_only=True)


def set_meta_marker(conn: sqlite3.Connection, spec_marker: str, application_id: int) -> None:
    """Part of every first migration: the ``meta`` table, its format marker and the application id."""
    conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('format', ?)", (spec_marker,))
    conn.execute(f"PRAGMA application_id = {int(application_id)}")
