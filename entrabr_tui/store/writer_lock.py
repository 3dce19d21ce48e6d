"""The per-tenant writer lock: one entrabr process at a time downloads reports and runs restores for a tenant.

The lock is a file next to the tenant's cache, ``tenant-<key>.sqlite3.lock``. Its holder keeps an operating
system lock on it for as long as it holds the tenant, and writes who it is into it as one line of JSON::

    {"command": "report", "pid": 1234, "host": "build-7", "since": "2026-07-28T10:32:05Z"}

Another process that finds the lock taken reads that line to say who holds the tenant ("another entrabr
(report, pid 1234 on build-7, since 10:32Z)"); readers of the cache never take the lock.

**Stale locks.** The operating system releases the lock when its holder ends, however it ends (SIGKILL, a
crash, a power cut on a local disk), so a lock is never left behind: what a dead holder wrote stays in the
file, but the lock is free and the next holder overwrites it. No pid or host has to be checked, and a
recycled pid cannot fake a holder.

**Platforms.** POSIX uses ``fcntl.flock`` on the whole file (held per open file, so two sessions in one
process exclude each other as two processes do). Windows uses ``msvcrt.locking`` on one byte far beyond the
JSON line (a locked region cannot be read there, so the holder's description stays readable). Where the
file system offers no locks at all (some network shares), the lock cannot be taken: :meth:`TenantLock.
try_acquire` then succeeds with :attr:`TenantLock.warning` set, and entrabr carries on unguarded, saying so.
"""

from __future__ import annotations

import errno
import os
import socket
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

#: Where the Windows lock byte sits (past any JSON the file holds).
_WINDOWS_LOCK_OFFSET = 1 << 20
_WOULD_BLOCK = {errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES, getattr(errno, "EDEADLK", errno.EACCES)}
_UNSUPPORTED = {errno.ENOLCK, errno.EOPNOTSUPP, getattr(errno, "ENOTSUP", errno.EOPNOTSUPP), errno.EINVAL}


def lock_path(cache_file: Path) -> Path:
    """The lock file of a tenant's cache (next to it; never moved with it)."""
    return cache_file.with_name(cache_file.name + ".lock")


@dataclass(frozen=True, slots=True)
class LockHolder:
    """Who holds a tenant: the command it runs, its process id and host, and since when."""

    command: str
    pid: int
    host: str
    since: datetime | None

    @property
    def text(self) -> str:
        """``another entrabr (report, pid 1234 on build-7, since 10:32Z)``."""
        since = f", since {self.since:%H:%MZ}" if self.since is not None else ""
        return f"another entrabr ({self.command}, pid {self.pid} on {self.host}{since})"

    def to_json(self) -> bytes:
        since = self.since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if self.since else None
        return orjson.dumps({"command": self.command, "pid": self.pid, "host": self.host, "since": since})

    @classmethod
    def from_json(cls, data: bytes) -> LockHolder:
        """The holder a lock file names; an unreadable file gives an anonymous holder."""
        try:
            doc: Any = orjson.loads(data.split(b"\n", 1)[0] or b"{}")
        except orjson.JSONDecodeError:
            doc = {}
        doc = doc if isinstance(doc, dict) else {}
        since = None
        if isinstance(doc.get("since"), str):
            try:
                since = datetime.fromisoformat(doc["since"].replace("Z", "+00:00"))
            except ValueError:
                since = None
        pid = doc.get("pid")
        return cls(command=str(doc.get("command") or "unknown command"),
                   pid=pid if isinstance(pid, int) else 0, host=str(doc.get("host") or "an unknown host"),
                   since=since)


def _os_lock(fd: int) -> None:
    """Take the OS lock without waiting; ``BlockingIOError`` when another holds it."""
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows
        import msvcrt

        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError as exc:
            if exc.errno in _WOULD_BLOCK:
                raise BlockingIOError(exc.errno, "locked") from exc
            raise
        return
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _os_unlock(fd: int) -> None:
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows
        import msvcrt

        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        return
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_UN)


def _read_all(fd: int) -> bytes:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks: list[bytes] = []
    while True:
        chunk = os.read(fd, 4096)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


class TenantLock:
    """The writer lock of one tenant's cache (see the module docstring). Re-entrant within its owner:
    nested acquisitions by the same object count, and the lock is released by the last release."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._depth = 0
        self.holder: LockHolder | None = None
        """This process's holder entry while it holds the lock."""
        self.warning: str | None = None
        """Set when the file system offers no locks, so the tenant is not guarded."""

    @property
    def held(self) -> bool:
        return self._depth > 0

    def try_acquire(self, command: str, *, now: datetime | None = None) -> LockHolder | None:
        """Take the lock for ``command`` without waiting: ``None`` when taken (or already held here), else
        the other holder."""
        if self._depth:
            self._depth += 1
            return None
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            _os_lock(fd)
        except BlockingIOError:
            other = LockHolder.from_json(_read_all(fd))
            os.close(fd)
            return other
        except OSError as exc:
            if exc.errno not in _UNSUPPORTED:
                os.close(fd)
                raise
            self.warning = (f"The file system of {self.path.parent} offers no file locks, so entrabr cannot "
                            "keep two processes from working on this tenant at once.")
        holder = LockHolder(command, os.getpid(), socket.gethostname(), now or datetime.now(UTC))
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, holder.to_json() + b"\n")
        os.fsync(fd)
        self._fd, self._depth, self.holder = fd, 1, holder
        return None

    def release(self) -> None:
        """Give the lock back (the last of nested acquisitions does)."""
        if self._depth == 0:
            return
        self._depth -= 1
        if self._depth or self._fd is None:
            return
        fd, self._fd, self.holder = self._fd, None, None
        try:
            os.ftruncate(fd, 0)  # no holder is named once the lock is free
            _os_unlock(fd)
        except OSError:
            pass  # closing the file releases the lock all the same
        finally:
            os.close(fd)

    def other_holder(self) -> LockHolder | None:
        """Who else holds the tenant now (``None`` when nobody does, or this object does)."""
        if self._depth:
            return None
        try:
            fd = os.open(self.path, os.O_RDWR)
        except FileNotFoundError:
            return None
        except OSError:
            return None  # a lock file this process may not open is not a holder it can name
        try:
            try:
                _os_lock(fd)
            except BlockingIOError:
                return LockHolder.from_json(_read_all(fd))
            except OSError:
                return None
            _os_unlock(fd)
            return None
        finally:
            os.close(fd)
