"""Literal, width-bounded text for every surface of the UI.

Text from the tenant or the keyboard is never handed to Textual as a string where Textual parses markup
(``border_title``, ``notify``, ``Label``, ``Static``, ``DataTable`` cells, tree labels …): the UI builds
``rich.text.Text`` from parts with the helpers here, which also apply the one display rule for tenant text
(:func:`entrabr_tui.core.text.display_text`: escape sequences, controls and invisible characters made
visible). A ``Text`` is always rendered literally, so ``[/`` or ``[@click=app.quit]`` in a name is shown as
written. Notifications are literal too: the app's ``notify`` never parses markup.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from rich.cells import cell_len
from rich.console import Console
from rich.containers import Lines
from rich.style import Style
from rich.text import Text
from textual.widgets import Input

from entrabr_tui.core.text import (
    ELLIPSIS,
    MAX_DISPLAY_CHARS,
    display_text,
    format_count,
    format_duration,
    plural,
)

__all__ = [
    "CLIPBOARD_NOTE",
    "ELLIPSIS",
    "EMPTY_NAME",
    "clean",
    "format_age",
    "format_count",
    "format_duration",
    "format_expiry",
    "keep_input_literal",
    "literal",
    "multiline",
    "name_text",
    "plural",
    "safe",
    "short_id",
    "truncate",
    "wrapped",
]

EMPTY_NAME = "(no name)"
#: Longest text kept in a text field (a filter, a search).
INPUT_CHARS = 500

#: What a copy does, said honestly: the app cannot know whether the terminal honours OSC 52.
CLIPBOARD_NOTE = ("sent to the terminal clipboard (OSC 52). Terminals and multiplexers that ignore OSC 52 "
                  "(e.g. tmux without set-clipboard) copy nothing.")

#: Measures wrapping (no output; the width is given per call).
_MEASURE = Console(width=200, color_system=None, legacy_windows=False, force_terminal=False)

#: One part of :func:`literal`: text, ``Text``, or ``(text, style)``.
Part = str | Text | tuple[str, str | Style]


def clean(value: object, *, limit: int | None = MAX_DISPLAY_CHARS) -> str:
    """One line of ``value`` as it may be shown (see :func:`~entrabr_tui.core.text.display_text`)."""
    return display_text(value, limit=limit)


def truncate(text: str, width: int) -> str:
    """Cut ``text`` to at most ``width`` terminal cells, ending with an ellipsis when cut."""
    if width <= 0:
        return ""
    if text.isascii():  # one cell per character (controls are marks by now)
        return text if len(text) <= width else text[: width - 1] + ELLIPSIS
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


def safe(value: object, width: int | None = None, style: str | Style = "") -> Text:
    """A literal ``Text`` of ``value``: never interpreted as markup, one line, at most ``width`` cells."""
    text = clean(value)
    if width is not None:
        text = truncate(text, width)
    return Text(text, style=style, no_wrap=True, overflow="ellipsis", end="")


def multiline(value: object, style: str | Style = "", *, limit: int | None = MAX_DISPLAY_CHARS) -> Text:
    """A literal ``Text`` of ``value`` that keeps its line breaks and wraps (dialogs, notifications)."""
    return Text(display_text(value, multiline=True, limit=limit), style=style, end="")


def wrapped(text: str | Text, width: int, lines: int, style: str | Style = "") -> tuple[Text, int]:
    """``text`` (in display form already) wrapped to ``width`` cells over at most ``lines`` lines, the last
    one ending in ``…`` when the text goes on; and the number of lines used (a table row's height)."""
    if width <= 0:
        return Text("", end=""), 1
    source = text.copy() if isinstance(text, Text) else Text(text, style=style, end="")
    if "\n" not in source.plain and source.cell_len <= width:
        source.no_wrap = True
        return source, 1
    folded = source.wrap(_MEASURE, width, overflow="fold")
    if len(folded) > lines:
        kept = list(folded)[:lines]
        kept[-1].truncate(max(0, width - 1))
        kept[-1].append(ELLIPSIS)
        folded = Lines(kept)
    out = Text("\n", end="").join(folded)
    out.no_wrap = True
    return out, len(folded)


def keep_input_literal(field: Input, value: str) -> bool:
    """What was typed or pasted into ``field`` in display form: an escape sequence or an invisible character
    would otherwise reach the terminal as it is. ``True`` when the field's value was replaced (its change
    event follows with the display form; act on that one)."""
    shown = display_text(value, limit=INPUT_CHARS)
    if shown == value:
        return False
    field.value = shown
    return True


def literal(*parts: Part) -> Text:
    """One literal ``Text`` from parts: strings (and the text of ``(text, style)`` pairs) follow the display
    rule, ``Text`` parts are taken as built (they are literal already)."""
    out = Text(end="", no_wrap=True, overflow="ellipsis")
    for part in parts:
        if isinstance(part, Text):
            out.append_text(part)
        elif isinstance(part, tuple):
            out.append(clean(part[0]), style=part[1])
        else:
            out.append(clean(part))
    return out


def name_text(name: str | None, width: int | None = None) -> Text:
    """A display name, with a visible placeholder for empty names."""
    if not name or not clean(name).strip():
        return Text(EMPTY_NAME, style="italic dim", end="")
    return safe(name, width)


def short_id(object_id: str, length: int = 8) -> str:
    """The start of an id, enough to tell objects apart on screen: ``03727d0f…``."""
    text = clean(object_id)
    return text if len(text) <= length + 1 else text[:length] + ELLIPSIS


def format_age(then: datetime, now: datetime) -> str:
    """``3h 05m ago``."""
    return format_duration((now - then).total_seconds()) + " ago"


def format_expiry(expires: datetime | None, now: datetime) -> str:
    """``expires in 3 days`` / ``expires in 5h 20m`` / ``expired`` / ``—``."""
    if expires is None:
        return "—"
    left = expires - now
    if left <= timedelta(0):
        return "expired"
    days = left.days
    if days == 0:
        return f"expires in {format_duration(left.total_seconds())}"
    return f"expires in {plural(days, 'day')}"
