"""How text from the tenant is shown, and how durations and counts are written (pure functions).

Everything the service returns (names, UPNs, property values, failure messages) and everything typed may hold
terminal escape sequences, control characters, bidirectional overrides or invisible characters. The one rule
for showing such text anywhere (the terminal UI, the command line, the cache's text search):

* A terminal escape sequence (CSI ``ESC [ … m``, OSC ``ESC ] … BEL``/``ST`` such as OSC 8 links and OSC 52
  clipboard writes, DCS/APC/PM strings; also their 8-bit C1 forms) becomes one ``␛``: the sequence goes
  whole, its payload with it, and the mark shows that one was there. Any other ESC becomes ``␛`` and what
  follows it stays text.
* A line break (LF, CR LF or CR) becomes ``␤``; other C0 controls become their Control Pictures symbol
  (``␀`` for NUL, ``␇`` for BEL, ``␉`` for tab); DEL becomes ``␡``. With ``multiline=True`` line breaks
  stay line breaks (as LF) and tabs become four spaces.
* Everything else that is invisible or reorders text becomes ``<U+XXXX>``: C1 controls, bidi marks,
  embeddings, overrides and isolates (``<U+202E>``), zero-width and other format characters (``<U+200B>``,
  the BOM, tag characters), line/paragraph separators, Hangul fillers, lone surrogates.
* Markup is never interpreted here or anywhere else (``[bold]`` stays ``[bold]``): that is the widgets' side
  of the rule (they build literal text).

Every replacement is a character nobody types, so a filter typed on the keyboard that matches the display
form of a value also matches a substring of the raw value: the cache's substring index can stay on raw
values and have its candidates checked with :func:`display_text` (see ``store.change_filter``). The raw
value itself is kept wherever it is copied or written as JSON.
"""

from __future__ import annotations

import re
import unicodedata

#: Longest text shown by default; longer text is cut here and ends with ``…`` (a 10,000-character name).
MAX_DISPLAY_CHARS = 2_000

ELLIPSIS = "…"
ESCAPE_MARK = "␛"

_ESCAPE_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"  # CSI, e.g. colours and cursor moves
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC, DCS, SOS, PM, APC
    r"|\x1b"  # any other escape: the ESC goes, what follows is shown as text
)

#: Characters beyond C0 that are never shown as they are (see the module docstring).
_INVISIBLE_RANGES = (
    "\x7f-\x9f\u00ad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u115f\u1160\u17b4\u17b5"
    "\u180b-\u180f\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\u3164\ud800-\udfff\ufeff\uffa0"
    "\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U00013438\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0001\U000e0020-\U000e007f"
)
#: Every character :func:`display_text` replaces.
UNSAFE_CHARS = re.compile(f"[\x00-\x1f{_INVISIBLE_RANGES}]")
#: The same without C0 controls (for JSON, whose encoder escapes those itself).
UNSAFE_BEYOND_C0 = re.compile(f"[{_INVISIBLE_RANGES}]")


def _replacement(char: str, multiline: bool) -> str:
    code = ord(char)
    if char == "\n" and multiline:
        return "\n"
    if char == "\t" and multiline:
        return "    "
    if code == 0x0A:
        return "␤"
    if code < 0x20:
        return chr(0x2400 + code)
    if code == 0x7F:
        return "␡"
    return f"<U+{code:04X}>"


def display_text(value: object, *, multiline: bool = False, limit: int | None = MAX_DISPLAY_CHARS) -> str:
    """``value`` as it may be shown: escape sequences, controls and invisible characters made visible (the
    rule is in the module docstring), never longer than ``limit`` characters (``None``: no limit).

    One line unless ``multiline``. Markup is kept as written: show the result as literal text.
    """
    text = value if isinstance(value, str) else str(value)
    if limit is not None and len(text) > limit:
        text = text[:limit] + ELLIPSIS
    if text.isprintable():
        return text
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x1b" in text or any("\x90" <= ch <= "\x9f" for ch in text):
        text = _ESCAPE_SEQUENCE.sub(ESCAPE_MARK, text)
    return UNSAFE_CHARS.sub(lambda m: _replacement(m.group(), multiline), text)


def char_cells(char: str) -> int:
    """Terminal cells one character takes: wide and full-width East Asian characters and emoji two,
    combining marks, variation selectors and emoji skin-tone modifiers none (they join the one before),
    everything else one."""
    if char.isascii():
        return 1  # controls are marks by the time text is measured (see display_text)
    if unicodedata.category(char) in ("Mn", "Me", "Cf") or "\U0001f3fb" <= char <= "\U0001f3ff":
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


#: Text made only of printable ASCII and Latin-1/Latin Extended letters and signs (U+00A0–U+02FF, but the
#: soft hyphen): one cell per character (no wide, combining or format character is in those ranges). Most
#: names with accents are such text, measured without looking each character up.
_ONE_CELL_EACH = re.compile("[\x20-\x7e\u00a0-\u00ac\u00ae-\u02ff]*")


def cell_width(text: str) -> int:
    """Terminal cells ``text`` takes (see :func:`char_cells`)."""
    if text.isascii() or _ONE_CELL_EACH.fullmatch(text):
        return len(text)
    return sum(char_cells(char) for char in text)


def truncate(text: str, width: int, ellipsis: str = ELLIPSIS) -> str:
    """``text`` cut to at most ``width`` terminal cells, ending with ``ellipsis`` when cut (``""`` when not
    even the ellipsis fits). Every surface cuts text to a width with this one function."""
    if cell_width(text) <= width:
        return text
    room = width - cell_width(ellipsis)
    if room < 0:
        return ""
    if text.isascii():
        return text[:room] + ellipsis
    out: list[str] = []
    used = 0
    for char in text:
        size = char_cells(char)
        if used + size > room:
            break
        out.append(char)
        used += size
    return "".join(out) + ellipsis


def format_count(count: int) -> str:
    """A count with thousands separators: ``33,966``."""
    return f"{count:,}"


def plural(count: int, word: str, words: str | None = None) -> str:
    """``1 change``, ``4,000 changes`` (``words`` when the plural is not ``word`` + s)."""
    return f"{count:,} " + (word if count == 1 else words or word + "s")


def compact_count(count: int) -> str:
    """A count in at most five cells: ``950``, ``9,999``, ``318k``, ``1.2M``."""
    if count < 10_000:
        return f"{count:,}"
    if count < 1_000_000:
        return f"{count // 1000}k"
    return f"{count / 1_000_000:.1f}M"


#: (unit size, unit, next smaller unit size, its unit), largest first.
_DURATION_UNITS = ((86_400, "d", 3_600, "h"), (3_600, "h", 60, "m"), (60, "m", 1, "s"))


def format_duration(seconds: float, *, largest_unit: bool = False) -> str:
    """A duration: ``45s``, ``12m 05s``, ``3h 05m``, ``2d 04h`` (``largest_unit``: ``45s``, ``12m``, ``3h``,
    ``2d``). Negative durations count as zero."""
    total = max(0, round(seconds))
    for size, unit, small, small_unit in _DURATION_UNITS:
        if total >= size:
            big, rest = divmod(total, size)
            if largest_unit:
                return f"{big}{unit}"
            return f"{big}{unit} {rest // small:02d}{small_unit}"
    return f"{total}s"


def failed_summary(changes: int, objects: int | None = None) -> str:
    """How many changes of a restore failed, said the same way everywhere: ``2 objects, 4 changes failed``
    (``changes`` counts object and link changes as the service does; ``objects`` the failed objects, when
    known)."""
    if changes <= 0 and not objects:
        return "no change failed"
    counted = plural(max(changes, objects or 0), "change")
    if objects is None:
        return f"{counted} failed"
    return f"{plural(objects, 'object')}, {counted} failed"
