"""Writing an export to a file, safely, for the command line and the terminal app alike.

* Where: a path the user chose, or by default a new file in ``exports/`` of the data folder
  (:func:`default_export_path`; never the current directory), created 0700.
* How: the export is written to a new private file (0600; exports hold tenant data) beside the target,
  flushed and synced, and only then put in place, so an interrupted or failed export never leaves half a
  file under the real name and is never reported as written.
* What it may replace: nothing, unless ``replace`` is given, and then only a regular file: a symbolic link,
  a folder, a device, a FIFO or a socket is never replaced (:class:`ExportTargetError`).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from entrabr_tui.engine.export import Export, ExportFormat, suggested_filename, write_export
from entrabr_tui.store.paths import FILE_MODE, StorePaths, secure_dir

_KINDS = ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"),
          (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"))
#: How many other names (``-2`` …) are tried when a name is taken.
_MAX_NAME_TRIES = 100


class ExportTargetError(Exception):
    """The chosen file cannot take the export (it exists, is not a regular file, or has no folder)."""


def export_folder() -> Path:
    """``exports/`` in the data folder (created 0700)."""
    return secure_dir(StorePaths.default().data_dir / "exports")


def default_export_path(data: Export, fmt: ExportFormat | str, folder: Path | None = None) -> Path:
    """A free file name for ``data`` in ``folder`` (default :func:`export_folder`): the suggested name, or
    it with ``-2``, ``-3`` … appended."""
    folder = folder if folder is not None else export_folder()
    name = Path(suggested_filename(data, fmt))
    for attempt in range(1, _MAX_NAME_TRIES + 1):
        path = folder / (name.name if attempt == 1 else f"{name.stem}-{attempt}{name.suffix}")
        if not os.path.lexists(path):
            return path
    raise ExportTargetError(f"No free file name for {name} in {folder}.")


def check_target(path: Path, *, replace: bool) -> None:
    """Refuse anything but a new file, or (with ``replace``) a regular file."""
    try:
        mode = os.lstat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return
    for test, kind in _KINDS:
        if test(mode):
            raise ExportTargetError(f"{path} is {kind}; an export only ever replaces a regular file.")
    if not replace:
        raise ExportTargetError(f"{path} exists.")


def write_export_file(path: Path, data: Export, fmt: ExportFormat | str, *, replace: bool = False) -> int:
    """Write ``data`` as ``fmt`` to ``path`` (see the module documentation); returns the record count."""
    return write_text_file(path, lambda handle: write_export(handle, data, fmt), replace=replace)


def write_text_file(path: Path, write: Callable[[TextIO], int], *, replace: bool = False) -> int:
    """Write a file the safe way (see the module documentation): ``write(handle)`` fills it and returns a
    count, which is returned once the file is in place."""
    check_target(path, replace=replace)
    temporary, handle = _open_temporary(path)
    try:
        with handle:
            count = write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            check_target(path, replace=True)  # nothing else slipped in meanwhile
            os.replace(temporary, path)
        else:
            try:
                os.link(temporary, path)  # fails when the name was taken meanwhile: never replaces
            except FileExistsError:
                raise ExportTargetError(f"{path} exists.") from None
    finally:
        temporary.unlink(missing_ok=True)
    return count


def _open_temporary(path: Path) -> tuple[Path, TextIO]:
    """A new private file beside ``path`` (never an existing one, never through a link)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    for attempt in range(_MAX_NAME_TRIES):
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{attempt}.partial")
        try:
            fd = os.open(temporary, flags, FILE_MODE)
        except FileExistsError:
            continue
        except (FileNotFoundError, NotADirectoryError):
            raise ExportTargetError(f"Cannot write {path}: there is no folder {path.parent}.") from None
        if hasattr(os, "fchmod"):
            os.fchmod(fd, FILE_MODE)
        return temporary, open(fd, "w", encoding="utf-8", newline="")
    raise ExportTargetError(f"Cannot create a temporary file beside {path}.")
