"""Radio buttons, checkboxes and a checklist whose state reads without colour: ``(•)``/``( )`` and
``[x]``/``[ ]`` are written out (Textual draws the same glyph on and off and tells them apart by colour)."""

from __future__ import annotations

from typing import ClassVar

from rich.segment import Segment
from textual.binding import BindingType
from textual.content import Content
from textual.strip import Strip
from textual.widgets import Checkbox, RadioButton, SelectionList
from textual.widgets._toggle_button import ToggleButton

from entrabr_tui.ui.bindings import CHOICES

RADIO_ON, RADIO_OFF = "(•)", "( )"
CHECK_ON, CHECK_OFF = "[x]", "[ ]"


def _marks(button: ToggleButton, on: str, off: str) -> Content:
    return Content.styled(on if button.value else off, button.get_visual_style("toggle--button"))


class TextRadioButton(RadioButton, inherit_bindings=False):
    """A radio button drawn ``(•) label`` when chosen and ``( ) label`` when not."""

    BINDINGS: ClassVar[list[BindingType]] = [b for b in CHOICES.bindings if b.action == "toggle_button"]

    @property
    def _button(self) -> Content:
        return _marks(self, RADIO_ON, RADIO_OFF)


class TextCheckbox(Checkbox, inherit_bindings=False):
    """A checkbox drawn ``[x] label`` when ticked and ``[ ] label`` when not."""

    BINDINGS: ClassVar[list[BindingType]] = [b for b in CHOICES.bindings if b.action == "toggle_button"]

    @property
    def _button(self) -> Content:
        return _marks(self, CHECK_ON, CHECK_OFF)


class TextChecklist(SelectionList[str], inherit_bindings=False):
    """A list of options to tick, each drawn ``[x] option`` or ``[ ] option``."""

    BINDINGS: ClassVar[list[BindingType]] = [b for b in CHOICES.bindings if b.action != "toggle_button"]

    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        segments = list(strip)
        button = (ToggleButton.BUTTON_LEFT, ToggleButton.BUTTON_INNER, ToggleButton.BUTTON_RIGHT)
        if len(segments) < 3 or tuple(s.text for s in segments[:3]) != button:
            return strip
        style = segments[1].style
        index = style.meta.get("option") if style is not None else None
        ticked = isinstance(index, int) and self.get_option_at_index(index).value in self.selected
        mark = CHECK_ON if ticked else CHECK_OFF
        return Strip([Segment(mark, style), *segments[3:]], strip.cell_length)
