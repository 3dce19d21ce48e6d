"""Where the command line writes: data on stdout, messages and progress on stderr, JSON when asked.

Text output is safe on a terminal: tenant data follows the display rule wherever it is printed
(:func:`~entrabr_tui.core.text.display_text`: an escape sequence is one ``␛``, controls their symbol, bidi
and invisible characters ``<U+202E>``), so a hostile display name cannot move the cursor, recolour the
screen or reorder a line. ``--json`` output keeps the exact values
(escaped the JSON way). Tables are plain columns separated by two spaces, one object per line, which suits
``grep``, ``cut`` and screen readers alike.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

from entrabr_tui.cli.exits import CliError
from entrabr_tui.core.text import cell_width, truncate
from entrabr_tui.engine.export_records import json_text, visible


def is_tty(stream: TextIO) -> bool:
    """Whether ``stream`` is an interactive terminal (false for files, pipes and closed streams)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


#: Width of a table when stdout is no terminal (a pipe, a file) and ``COLUMNS`` is not set.
TABLE_WIDTH = 100
#: How narrow columns are made to fit a table in: names and details first, then the rest, then any.
FLEX_FLOOR = 16
FIXED_FLOOR = 8
MIN_COLUMN = 4


def fit_columns(widths: Sequence[int], room: int, floor: int = MIN_COLUMN) -> list[int]:
    """Column widths that add up to at most ``room`` if they can: every column wider than a common cap is cut
    to it (the cap as high as the room allows, never below ``floor``)."""
    if not widths or sum(widths) <= room:
        return list(widths)
    low, high = min(floor, max(widths)), max(widths)
    while low < high:  # the highest cap that fits
        cap = (low + high + 1) // 2
        if sum(min(w, cap) for w in widths) <= room:
            low = cap
        else:
            high = cap - 1
    cut = [min(w, low) for w in widths]
    spare = room - sum(cut)
    for i, width in enumerate(widths):  # what is left goes to the cut columns, left to right
        if spare <= 0:
            break
        if width > cut[i]:
            extra = min(spare, width - cut[i])
            cut[i] += extra
            spare -= extra
    return cut


def terminal_width(stream: TextIO) -> int | None:
    """Columns of the terminal ``stream`` writes to (``None`` when it is no terminal)."""
    if not is_tty(stream):
        return None
    try:
        return os.get_terminal_size(stream.fileno()).columns or None
    except (AttributeError, ValueError, OSError):
        return None


def columns_setting() -> int | None:
    """The ``COLUMNS`` environment variable, when it holds a usable width (at least 20)."""
    text = os.environ.get("COLUMNS", "").strip()
    return int(text) if text.isdigit() and 20 <= int(text) <= 10_000 else None


class Output:
    """The command's streams and output mode."""

    def __init__(self, stdout: TextIO, stderr: TextIO, stdin: TextIO, *, json_mode: bool = False,
                 quiet: bool = False) -> None:
        self.stdout = stdout
        self.stderr = stderr
        self.stdin = stdin
        self.json_mode = json_mode
        self.quiet = quiet
        self.target_flags: list[str] = []
        """The options naming the tenant this run used (``--demo``, ``--tenant X`` …), for hints."""

    def command(self, text: str, *, online: bool = False) -> str:
        """``entrabr report --demo``: a command to suggest, with the options that name this run's tenant
        (``online``: without ``--offline``, for a command that needs the service)."""
        flags = [f for f in self.target_flags if not (online and f == "--offline")]
        return " ".join(["entrabr", text, *flags])

    @property
    def stderr_tty(self) -> bool:
        return is_tty(self.stderr)

    @property
    def stdin_tty(self) -> bool:
        return is_tty(self.stdin)

    # -- data (stdout) ------------------------------------------------------------------------------
    def line(self, text: str = "") -> None:
        """One line of data, control characters made visible."""
        self.stdout.write(visible(text) + "\n")

    def json(self, document: Any) -> None:
        """One JSON document on stdout."""
        self.stdout.write(json_text(document, indent=True) + "\n")
        self.stdout.flush()

    def table(self, header: Sequence[str], rows: Iterable[Sequence[object]], *,
              right: Sequence[int] = (), whole: Sequence[int] = (), flex: Sequence[int] = ()) -> int:
        """Aligned columns under a header line; returns the row count. ``right``: right-aligned columns.

        The table fits :attr:`width`: when it would not,
        long cells are cut and end with ``…``: first those of the ``flex`` columns (names, details) down to
        16 columns, then the others down to 8, then any down to 4. ``whole`` columns (object and job IDs,
        which are copied) are never cut."""
        cells = [[visible(_cell(c)) for c in row] for row in rows]
        head = [visible(h) for h in header]
        widths = [cell_width(h) for h in head]
        for row in cells:
            for i, cell in enumerate(row):
                widths[i] = max(widths[i], cell_width(cell))
        room = self.width - 2 * (len(widths) - 1) - sum(widths[i] for i in whole)
        fixed = [i for i in range(len(widths)) if i not in whole and i not in flex]
        for group, floor in ((flex, FLEX_FLOOR), (fixed, FIXED_FLOOR), ([*flex, *fixed], MIN_COLUMN)):
            excess = sum(w for i, w in enumerate(widths) if i not in whole) - room
            if excess <= 0:
                break
            group_room = sum(widths[i] for i in group) - excess
            for i, width in zip(group, fit_columns([widths[i] for i in group], group_room, floor),
                                strict=True):
                widths[i] = width
        for row in [head, *cells]:
            parts = []
            for i, cell in enumerate(row):
                cell = truncate(cell, widths[i])
                pad = " " * (widths[i] - cell_width(cell))
                last = i == len(row) - 1
                parts.append(pad + cell if i in right else (cell if last else cell + pad))
            self.stdout.write("  ".join(parts).rstrip() + "\n")
        return len(cells)

    @property
    def width(self) -> int:
        """Columns a line of a table may take on stdout: ``COLUMNS`` when it is set (as for ``ls``), else
        the terminal's width, else 100."""
        return columns_setting() or terminal_width(self.stdout) or TABLE_WIDTH

    # -- messages (stderr) --------------------------------------------------------------------------
    def info(self, text: str) -> None:
        """A message for the person running the command (silenced by ``--quiet``)."""
        if not self.quiet:
            self.say(text)

    def warn(self, text: str) -> None:
        """A warning (always shown)."""
        self.say(f"warning: {text}")

    def error(self, err: CliError) -> None:
        """Report ``err`` on stderr; with ``--json`` also an error document on stdout."""
        self.say(f"entrabr: {err.message}")
        if err.hint:
            self.say(err.hint)
        if self.json_mode:
            doc: dict[str, Any] = {"schema": "entrabr.error/1", "error": {
                "kind": err.code.label, "exitCode": int(err.code), "message": err.message}}
            if err.hint:
                doc["error"]["hint"] = err.hint
            if err.needs:
                doc["error"]["needs"] = err.needs
            self.json(doc)

    def prompt(self, text: str) -> None:
        """A question on stderr, without a newline (the answer is read from stdin)."""
        self.stderr.write(visible(text))
        self.stderr.flush()

    def say(self, text: str) -> None:
        """A message on stderr that ``--quiet`` does not silence (sign-in prompts, errors)."""
        for part in text.split("\n"):
            self.stderr.write(visible(part) + "\n")
        self.stderr.flush()


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
