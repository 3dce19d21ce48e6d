"""Hostile strings become literal, single-line, width-bounded text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from rich.cells import cell_len
from rich.console import Console

from entrabr_tui.ui.text import (
    EMPTY_NAME,
    clean,
    format_duration,
    format_expiry,
    multiline,
    name_text,
    safe,
    truncate,
)


def render(text: object, width: int = 60) -> str:
    console = Console(width=width, color_system=None, record=True, force_terminal=False)
    console.print(text)
    return console.export_text()


def test_markup_is_kept_literally() -> None:
    assert render(safe("[bold red]Injected[/bold red]")).strip() == "[bold red]Injected[/bold red]"


def test_escape_sequences_go_whole_and_leave_a_mark() -> None:
    text = safe("\x1b[31mred\x1b[0m and \x1b]0;title\x07done \x1b]52;c;ZXZpbA==\x07")
    assert text.plain == "␛red␛ and ␛done ␛"
    assert "\x1b" not in render(text)


def test_control_and_bidi_characters_are_made_visible() -> None:
    assert clean("a\x00b\nc\u202ed\u200be") == "a␀b␤c<U+202E>d<U+200B>e"
    assert multiline("a\r\nb\tc").plain == "a\nb    c"


def test_long_names_are_cut_to_width() -> None:
    text = safe("X" * 10_000, 40)
    assert cell_len(text.plain) == 40
    assert text.plain.endswith("…")


def test_wide_characters_are_cut_by_cells() -> None:
    cut = truncate("漢字" * 20, 9)
    assert cell_len(cut) <= 9
    assert cut.endswith("…")


def test_empty_names_get_a_placeholder() -> None:
    assert name_text("").plain == EMPTY_NAME
    assert name_text("   ").plain == EMPTY_NAME
    assert name_text("Ann").plain == "Ann"


@given(st.text(max_size=300), st.integers(min_value=1, max_value=80))
def test_safe_never_exceeds_width_or_contains_controls(value: str, width: int) -> None:
    plain = safe(value, width).plain
    assert cell_len(plain) <= width
    assert "\n" not in plain
    assert "\x1b" not in plain


def test_durations_and_expiry() -> None:
    now = datetime(2026, 7, 28, 9, 30, tzinfo=UTC)
    assert format_duration(45) == "45s"
    assert format_duration(3725) == "1h 02m"
    assert format_expiry(now + timedelta(days=3, hours=1), now) == "expires in 3 days"
    assert format_expiry(now - timedelta(seconds=1), now) == "expired"
    assert format_expiry(None, now) == "—"
