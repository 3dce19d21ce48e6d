"""Times typed by a person (pure): a moment (a UTC date/time, or an age before now: ``90s``, ``30m``,
``12h``, ``7d``, ``2w``) and a length of time (``90``, ``30m``). The command line's ``--since``/``--until``
and ``--wait`` read them, and so does the app's time window dialog; each says what is wrong in its own words
(:class:`TimeInputError` carries the hint)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from .model import parse_datetime

_RELATIVE = re.compile(r"^\s*(\d{1,6})\s*([smhdw])\s*$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
MOMENT_HINT = "Use a UTC date/time (2026-07-28, 2026-07-28T08:00Z) or an age (30m, 12h, 7d)."
LENGTH_HINT = "Use seconds (90) or a number with a unit: 90s, 30m, 12h, 7d, 2w."


class TimeInputError(ValueError):
    """Text that is not a time; ``hint`` says what is accepted."""

    def __init__(self, text: str, what: str, hint: str) -> None:
        super().__init__(f"cannot read {text!r} as {what}.")
        self.text = text
        self.hint = hint


def parse_moment(text: str, now: datetime) -> datetime:
    """The moment ``text`` names (UTC); a date alone means its midnight UTC, an age counts back from
    ``now``. Raises :class:`TimeInputError`."""
    match = _RELATIVE.match(text)
    if match:
        amount, unit = int(match.group(1)), match.group(2).lower()
        return now - timedelta(**{_UNITS[unit]: amount})
    value = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        value += "T00:00:00Z"
    parsed = parse_datetime(value.replace(" ", "T", 1))
    if parsed is None:
        raise TimeInputError(text, "a time", MOMENT_HINT)
    return parsed.astimezone(UTC)


def parse_length(text: str) -> timedelta:
    """A length of time (``90s``, ``30m``, ``12h``, ``7d``, ``2w``; a bare number is seconds). Raises
    :class:`TimeInputError`."""
    value = text.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    match = _RELATIVE.match(value)
    if not match:
        raise TimeInputError(text, "a length of time", LENGTH_HINT)
    amount, unit = int(match.group(1)), match.group(2).lower()
    return timedelta(**{_UNITS[unit]: amount})


def moment_text(value: datetime) -> str:
    """``2026-07-28T08:00:05Z``: a moment as :func:`parse_moment` reads it back (to the second)."""
    return f"{value.astimezone(UTC):%Y-%m-%dT%H:%M:%S}Z"
