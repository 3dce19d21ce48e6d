"""Where entrabr keeps its files, and how they are protected.

Three places, from platformdirs (appname ``entrabr``): the per-tenant caches under the user cache path, the
session history under the user data path and ``config.toml`` under the user config path. The environment
variable ``ENTRABR_HOME`` relocates all three to ``$ENTRABR_HOME/cache``, ``/data`` and ``/config``.

Folders are 0700 and files 0600, set explicitly with chmod so the result does not depend on the umask: every
folder entrabr creates (``ENTRABR_HOME`` itself and any missing parent included) and the folders it keeps
files in. On Windows, where POSIX modes mean nothing, the modes are left to the folder's ACLs.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "entrabr"
HOME_ENV = "ENTRABR_HOME"
DIR_MODE = 0o700
FILE_MODE = 0o600

#: POSIX modes apply (not on Windows, where chmod only sets the read-only flag).
POSIX_MODES = os.name != "nt"

_SAFE_KEY = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


def tenant_file_key(tenant_id: str) -> str:
    """A file-name-safe key for a tenant: the lower-cased id when it is plain, else a hash of it."""
    text = tenant_id.strip().lower()
    if _SAFE_KEY.fullmatch(text) and ".." not in text:
        return text
    digest = hashlib.sha256(tenant_id.encode("utf-8", "surrogatepass")).hexdigest()[:24]
    prefix = re.sub(r"[^a-z0-9]+", "-", text)[:24].strip("-")
    return f"{prefix}-{digest}" if prefix else digest


def secure_dir(path: Path) -> Path:
    """Create ``path`` and its missing parents, each 0700 whatever the umask, and make ``path`` 0700.

    Parents that already exist are left as they are (``/tmp`` or the user's home are not entrabr's)."""
    missing: list[Path] = []
    folder = path
    while not folder.exists() and folder.parent != folder:
        missing.append(folder)
        folder = folder.parent
    for created in reversed(missing):
        try:
            created.mkdir(mode=DIR_MODE)
        except FileExistsError:  # made meanwhile by another process: checked below like the rest
            if not created.is_dir():
                raise
        _private(created)
    _private(path)
    return path


def _private(folder: Path) -> None:
    if POSIX_MODES and stat.S_IMODE(folder.stat().st_mode) != DIR_MODE:
        os.chmod(folder, DIR_MODE)


def secure_file(path: Path) -> None:
    """Make an existing file 0600 (no-op when it does not exist)."""
    if not POSIX_MODES:
        return
    try:
        if stat.S_IMODE(path.stat().st_mode) != FILE_MODE:
            os.chmod(path, FILE_MODE)
    except FileNotFoundError:
        pass


def create_private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 if it does not exist yet; fix its mode if it does."""
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, FILE_MODE)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, FILE_MODE)
        else:  # pragma: no cover - platforms without fchmod
            os.chmod(path, FILE_MODE)
    finally:
        os.close(fd)


def secure_sqlite_files(db_path: Path) -> None:
    """0600 on an SQLite file and its ``-wal`` / ``-shm`` / ``-journal`` companions."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        secure_file(Path(f"{db_path}{suffix}"))


@dataclass(frozen=True, slots=True)
class StorePaths:
    """The three base folders; build with :meth:`default` (honours ``ENTRABR_HOME``) or directly in tests."""

    cache_dir: Path
    data_dir: Path
    config_dir: Path

    @classmethod
    def default(cls) -> StorePaths:
        home = os.environ.get(HOME_ENV, "").strip()
        if home:
            return cls.under(Path(home).expanduser())
        return cls(
            cache_dir=platformdirs.user_cache_path(APP_NAME, appauthor=False),
            data_dir=platformdirs.user_data_path(APP_NAME, appauthor=False),
            config_dir=platformdirs.user_config_path(APP_NAME, appauthor=False),
        )

    @classmethod
    def under(cls, home: Path) -> StorePaths:
        """All three folders below one directory (what ``ENTRABR_HOME`` does)."""
        return cls(cache_dir=home / "cache", data_dir=home / "data", config_dir=home / "config")

    def cache_db(self, tenant_id: str) -> Path:
        """The cache database of one tenant (the folder is created 0700)."""
        return secure_dir(self.cache_dir) / f"tenant-{tenant_file_key(tenant_id)}.sqlite3"

    @property
    def history_db(self) -> Path:
        return secure_dir(self.data_dir) / "history.sqlite3"

    @property
    def config_file(self) -> Path:
        return secure_dir(self.config_dir) / "config.toml"
