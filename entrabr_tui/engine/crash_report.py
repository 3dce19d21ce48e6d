"""Crash reports: what went wrong, written down for whoever fixes it, without a token or a secret in it.

When the command line or the terminal app meets an exception nobody planned for, it writes one report to
``crash-reports/`` in the data folder (``$ENTRABR_HOME/data`` or the platformdirs user data path; the
folder 0700, the file 0600) and names its path on stderr. A report holds the time, the versions, the
command line and the traceback: no local variables and no environment. Every part goes through
:func:`scrub`: token-like text (JWTs, ``Bearer …``, see :mod:`entrabr_tui.store.redact`) and the values of
environment variables named like a secret (``AZURE_CLIENT_SECRET``, ``…_TOKEN``, ``…_PASSWORD``) are
replaced with ``[redacted]`` wherever they appear.

Writing a report never raises: a crash handler that crashes helps nobody (``None`` means no file).
"""

from __future__ import annotations

import os
import platform
import re
import sys
import traceback
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from entrabr_tui.core.text import display_text
from entrabr_tui.store.paths import FILE_MODE, StorePaths, secure_dir
from entrabr_tui.store.redact import REDACTED, redact_text

FOLDER = "crash-reports"
#: Environment variables whose values are secrets wherever they show up (names compared case-insensitively).
_SECRET_NAME = re.compile(r"(?i)(secret|token|password|passwd|assertion|api_?key|private_?key|credential)")
#: Shorter values would match ordinary words; secrets are longer than this.
_MIN_SECRET = 6


def secret_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """Values of environment variables named like a secret, longest first."""
    env = os.environ if environ is None else environ
    values = {v for k, v in env.items() if _SECRET_NAME.search(k) and len(v.strip()) >= _MIN_SECRET}
    return sorted(values, key=len, reverse=True)


def scrub(text: str, environ: Mapping[str, str] | None = None) -> str:
    """``text`` with token-like parts and secret environment values replaced by ``[redacted]``."""
    for value in secret_values(environ):
        text = text.replace(value, REDACTED)
    return redact_text(text)[0]


def crash_text(exc: BaseException, *, where: str, argv: Sequence[str], now: datetime,
               environ: Mapping[str, str] | None = None) -> str:
    """The report's text (already scrubbed)."""
    from entrabr_tui import __version__

    lines = [
        "entrabr crash report",
        f"time: {now.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}",
        f"where: {where}",
        f"entrabr: {__version__}",
        f"python: {platform.python_implementation()} {platform.python_version()}",
        f"platform: {platform.platform()}",
        "command: " + " ".join(["entrabr", *argv]),
        "",
        "".join(traceback.format_exception(exc)).rstrip(),
        "",
    ]
    return scrub("\n".join(lines), environ)


def write_crash_report(exc: BaseException, *, where: str, argv: Sequence[str] | None = None,
                       now: datetime | None = None, paths: StorePaths | None = None) -> Path | None:
    """Write a crash report for ``exc``; returns its path, or ``None`` when it could not be written."""
    try:
        when = now or datetime.now(UTC)
        text = crash_text(exc, where=where, argv=sys.argv[1:] if argv is None else argv, now=when)
        folder = secure_dir((paths or StorePaths.default()).data_dir / FOLDER)
        stamp = when.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        for attempt in range(100):
            path = folder / f"crash-{stamp}-{os.getpid()}{f'-{attempt}' if attempt else ''}.txt"
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
            except FileExistsError:
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                if hasattr(os, "fchmod"):
                    os.fchmod(handle.fileno(), FILE_MODE)
                handle.write(text)
            return path
    except Exception:  # the caller says that no report was written
        pass
    return None


def crash_notice(exc: BaseException, path: Path | None) -> str:
    """What to print on stderr: the error in one line and where the report went (scrubbed; control
    characters shown by the display rule, so the message cannot drive the terminal)."""
    message = str(exc).strip()
    detail = display_text(message.splitlines()[0], limit=300) if message else ""
    head = f"entrabr stopped on an unexpected error ({type(exc).__name__}{': ' + detail if detail else ''})."
    where = (f"A crash report (no tokens in it) was written to {path}; attach it to a bug report."
             if path is not None else "No crash report could be written (the data folder is not writable).")
    return scrub(f"{head}\n{where}")
