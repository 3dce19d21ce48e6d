"""Safe display of data from the tenant: literal text, no control characters, bounded width.

Everything the service returns (names, UPNs, property values, failure messages) may contain Rich markup,
ANSI escape sequences, control characters, right-to-left text or be empty or huge. The helpers here turn any
value into a ``rich.text.Text`` that renders literally and never takes more than the given cell width.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from rich.cells import cell_len
from rich.text import Text

#: Longest string kept before any other processing (a 10,000-character name is cut here first).
MAX_INPUT_CHARS = 2_000

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]")
# C0/C1 controls and the bidirectional overrides/isolates that can reorder the rest of the line.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")

ELLIPSIS = "…"
EMPTY_NAME = "(no name)"


def clean(value: object) -> str:
    """A single-line, printable version of ``value`` (escape sequences removed, controls made visible)."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > MAX_INPUT_CHARS:
        text = text[:MAX_INPUT_CHARS] + ELLIPSIS
    text = _ANSI.sub("", text)
    return _CONTROL.sub(_visible_control, text)


def _visible_control(match: re.Match[str]) -> str:
    char = match.group(0)
    if char in "\t\n\r":
        return " "
    return "?" if ord(char) > 0x7F else f"^{chr((ord(char) + 64) % 128)}"


def truncate(text: str, width: int) -> str:
    """Cut ``text`` to at most ``width`` terminal cells, ending with an ellipsis when cut."""
    if width <= 0:
        return ""
    if cell_len(text) <= width:
        return text
    out: list[str] = []
    used = 0
    for char in text:
        size = cell_len(char)
        if used + size > width - 1:
            break
        out.append(char)
        used += size
    return "".join(out) + ELLIPSIS


def safe(value: object, width: int | None = None, style: str = "") -> Text:
    """A literal ``Text`` of ``value``: never interpreted as markup, one line, at most ``width`` cells."""
    text = clean(value)
    if width is not None:
        text = truncate(text, width)
    return Text(text, style=style, no_wrap=True, overflow="ellipsis", end="")


def name_text(name: str | None, width: int | None = None) -> Text:
    """A display name, with a visible placeholder for empty names."""
    if not name or not clean(name).strip():
        return Text(EMPTY_NAME, style="italic dim", end="")
    return safe(name, width)


def plural(count: int, word: str) -> str:
    return f"{count:,} {word}" + ("" if count == 1 else "s")


def format_age(then: datetime, now: datetime) -> str:
    """``3h``, ``2d`` style age of ``then`` relative to ``now``."""
    return format_duration((now - then).total_seconds()) + " ago"


def format_duration(seconds: float) -> str:
    """Compact duration: ``45s``, ``12m``, ``3h 05m``, ``2d 4h``."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    if seconds < 86400:
        return f"{seconds // 3600}h {(seconds % 3600) // 60:02d}m"
    return f"{seconds // 86400}d {(seconds % 86400) // 3600}h"


def format_expiry(expires: datetime | None, now: datetime) -> str:
    """``expires in 3 days`` / ``expires today`` / ``expired`` / ``—``."""
    if expires is None:
        return "—"
    left = expires - now
    if left <= timedelta(0):
        return "expired"
    days = left.days
    if days == 0:
        return f"expires in {format_duration(left.total_seconds())}"
    return f"expires in {plural(days, 'day')}"
