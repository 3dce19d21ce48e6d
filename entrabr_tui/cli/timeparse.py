"""Times on the command line: ``--since`` values (a UTC date/time, or an age: ``90s``, ``30m``, ``12h``,
``7d``, ``2w``) and lengths of time (``--wait 30m``)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from entrabr_tui.cli.exits import UsageError
from entrabr_tui.core.model import parse_datetime

_RELATIVE = re.compile(r"^\s*(\d{1,6})\s*([smhdw])\s*$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, now: datetime) -> datetime:
    """The moment ``text`` names; a date alone means its midnight UTC."""
    match = _RELATIVE.match(text)
    if match:
        amount, unit = int(match.group(1)), match.group(2).lower()
        return now - timedelta(**{_UNITS[unit]: amount})
    value = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        value += "T00:00:00Z"
    parsed = parse_datetime(value.replace(" ", "T", 1))
    if parsed is None:
        raise UsageError(f"--since: cannot read {text!r} as a time.",
                         hint="Use a UTC date/time (2026-07-28, 2026-07-28T08:00Z) or an age (30m, 12h, 7d).")
    return parsed.astimezone(UTC)


def parse_duration(text: str, option: str) -> timedelta:
    """A length of time (``90s``, ``30m``, ``12h``, ``7d``, ``2w``; a bare number is seconds)."""
    value = text.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    match = _RELATIVE.match(value)
    if not match:
        raise UsageError(f"{option}: cannot read {text!r} as a length of time.",
                         hint="Use seconds (90) or a number with a unit: 90s, 30m, 12h, 7d, 2w.")
    amount, unit = int(match.group(1)), match.group(2).lower()
    return timedelta(**{_UNITS[unit]: amount})
