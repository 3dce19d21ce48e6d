"""Times on the command line: ``--since`` values (a UTC date/time, or an age: ``90s``, ``30m``, ``12h``,
``7d``, ``2w``) and lengths of time (``--wait 30m``). The reading itself is :mod:`entrabr_tui.core.time_input`
(the app reads the same forms); this module turns what it cannot read into usage errors."""

from __future__ import annotations

from datetime import datetime, timedelta

from entrabr_tui.cli.exits import UsageError
from entrabr_tui.core.time_input import TimeInputError, parse_length, parse_moment


def parse_since(text: str, now: datetime) -> datetime:
    """The moment ``text`` names; a date alone means its midnight UTC."""
    try:
        return parse_moment(text, now)
    except TimeInputError as err:
        raise UsageError(f"--since: {err}", hint=err.hint) from None


def parse_duration(text: str, option: str) -> timedelta:
    """A length of time (``90s``, ``30m``, ``12h``, ``7d``, ``2w``; a bare number is seconds)."""
    try:
        return parse_length(text)
    except TimeInputError as err:
        raise UsageError(f"{option}: {err}", hint=err.hint) from None
