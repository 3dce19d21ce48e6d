"""Times typed by a person: the forms the command line and the app's time window dialog both read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from entrabr_tui.core.time_input import MOMENT_HINT, TimeInputError, moment_text, parse_length, parse_moment

NOW = datetime(2026, 7, 28, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("text", "expected"), [
    ("12h", NOW - timedelta(hours=12)),
    (" 30 m ", NOW - timedelta(minutes=30)),
    ("2W", NOW - timedelta(weeks=2)),
    ("2026-07-01", datetime(2026, 7, 1, tzinfo=UTC)),
    ("2026-07-01 08:30Z", datetime(2026, 7, 1, 8, 30, tzinfo=UTC)),
    ("2026-07-28T03:30:00Z", datetime(2026, 7, 28, 3, 30, tzinfo=UTC)),
])
def test_moments(text: str, expected: datetime) -> None:
    assert parse_moment(text, NOW) == expected


@pytest.mark.parametrize("text", ["soon", "", "12x", "2026-13-45", "-3h"])
def test_what_is_not_a_moment_says_what_is(text: str) -> None:
    with pytest.raises(TimeInputError) as caught:
        parse_moment(text, NOW)
    assert str(caught.value) == f"cannot read {text!r} as a time." and caught.value.hint == MOMENT_HINT


def test_a_moment_written_reads_back_to_the_second() -> None:
    when = datetime(2026, 7, 28, 3, 30, 5, 123456, tzinfo=UTC)
    assert moment_text(when) == "2026-07-28T03:30:05Z"
    assert parse_moment(moment_text(when), NOW) == when.replace(microsecond=0)


def test_lengths() -> None:
    assert parse_length("90") == timedelta(seconds=90)
    assert parse_length("30m") == timedelta(minutes=30)
    with pytest.raises(TimeInputError, match="as a length of time"):
        parse_length("half an hour")
