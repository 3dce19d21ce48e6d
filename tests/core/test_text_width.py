"""Cutting text to a width: one function for every surface, measured in terminal cells."""

from __future__ import annotations

import pytest

from entrabr_tui.cli import output
from entrabr_tui.core import text as core_text
from entrabr_tui.core.text import cell_width, char_cells, truncate
from entrabr_tui.ui import text as ui_text

SAMPLES = ["Ann Lee", "東京都庁舎ビル", "😀😀😀ab", "e\u0301" * 6, "❤\ufe0f" * 4, "ｱｲｳｴｵｶ", "👍🏽👍🏽x",
           "Zoë 李 🚀 Ops"]


def test_wide_characters_and_emoji_count_two_cells_and_joining_marks_none() -> None:
    assert cell_width("abc") == 3
    assert cell_width("東京") == 4 and cell_width("😀🚀") == 4
    assert cell_width("ｱｲ") == 2  # half-width katakana
    assert cell_width("e\u0301") == 1  # a combining accent joins the letter before it
    assert cell_width("👍🏽") == 2  # a skin-tone modifier joins the emoji before it
    assert cell_width("❤\ufe0f") == 1  # a variation selector takes no cell of its own


@pytest.mark.parametrize("sample", SAMPLES)
@pytest.mark.parametrize("width", range(0, 16))
def test_a_cut_never_exceeds_the_width_and_keeps_what_fits(sample: str, width: int) -> None:
    cut = truncate(sample, width)
    assert cell_width(cut) <= width
    if cell_width(sample) <= width:
        assert cut == sample
    elif width >= 1:
        assert cut.endswith("…") and sample.startswith(cut[:-1])
        # Nothing more would have fit: the next character of the sample overflows the room.
        kept = cut[:-1]
        assert cell_width(kept + sample[len(kept)]) > width - 1
    else:
        assert cut == ""


def test_the_terminal_ui_and_the_command_line_use_the_same_function() -> None:
    assert ui_text.truncate is core_text.truncate
    assert vars(output)["truncate"] is core_text.truncate
    assert vars(output)["cell_width"] is core_text.cell_width
    assert not hasattr(output, "fit") and not hasattr(output, "text_width")


def test_a_skin_toned_emoji_that_fits_is_not_cut() -> None:
    assert truncate("👍🏽👍🏽x", 5) == "👍🏽👍🏽x"
    assert truncate("abcdef", 5, "...") == "ab..." and truncate("abcdef", 2, "...") == ""


def test_text_measured_at_once_takes_the_cells_its_characters_take() -> None:
    """Accented names are measured without looking each character up: the answer is the same per character
    (soft hyphens, combining marks and wide characters included)."""
    for code in range(0x20, 0x3100):
        char = chr(code)
        if char.isprintable() or code == 0xAD:
            assert cell_width(f"a{char}b{char}") == 2 + 2 * char_cells(char), hex(code)
    assert cell_width("Zoë Jönsson-Åberg ŁĆŻ") == 21
    assert cell_width("Jo\u0308nsson") == 7 and cell_width("soft\u00adhyphen") == 10
