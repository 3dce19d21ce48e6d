"""Rich styles derived from the active Textual theme (never hard-coded colours)."""

from __future__ import annotations

from rich.style import Style
from textual.app import App
from textual.color import Color, ColorParseError

from entrabr_tui.core.model import RecoveryAction

_ACTION_VARIABLE = {
    RecoveryAction.UPDATE: "warning",
    RecoveryAction.RESTORE: "success",
    RecoveryAction.SOFT_DELETE: "error",
}


def theme_style(app: App[object], variable: str, *, bold: bool = False, dim: bool = False) -> Style:
    """A Rich style whose colour is the theme variable ``variable`` (plain when it cannot be parsed)."""
    value = app.theme_variables.get(variable) if app.theme_variables else None
    color = None
    if value:
        try:
            color = Color.parse(value).rich_color
        except ColorParseError:
            color = None
    return Style(color=color, bold=bold, dim=dim)


def action_style(app: App[object], action: str) -> Style:
    """Style of an action glyph; the glyph itself carries the meaning, the colour only repeats it."""
    variable = _ACTION_VARIABLE.get(RecoveryAction.parse(action))
    return theme_style(app, variable, bold=True) if variable else Style(bold=True)


def action_glyph(action: str) -> str:
    return RecoveryAction.parse(action).glyph
