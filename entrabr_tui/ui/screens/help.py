"""Help screen, generated from the binding registry with the user's keymap applied."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from entrabr_tui.ui.bindings import ALL_GROUPS, HELP, SCREEN, BindingGroup, bindings_of
from entrabr_tui.ui.text import safe

_EXTRA = (
    ("ctrl+p", "Command palette: exports, theme, history, key reference", ""),
    ("mouse", "Click to focus and select, wheel to scroll", ""),
)


def keys_for(binding: Binding, keymap: Mapping[str, str]) -> list[str]:
    """The keys a binding answers to, after the keymap."""
    keys = keymap.get(binding.id, binding.key) if binding.id else binding.key
    return [k.strip() for k in keys.split(",") if k.strip()]


def display_key(key: str) -> str:
    names = {"question_mark": "?", "slash": "/", "space": "space", "escape": "esc", "delete": "del"}
    return names.get(key, key)


def help_rows(group: BindingGroup, keymap: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """``(keys, what it does, binding id)`` for each binding of the group."""
    return [(" ".join(display_key(k) for k in keys_for(b, keymap)), b.description or b.action, b.id or "")
            for b in group.bindings]


class HelpScreen(ModalScreen[None]):
    """Every key of the app, grouped by where it works. esc, q or ? closes it."""

    BINDINGS: ClassVar[list[BindingType]] = bindings_of(SCREEN, HELP)

    def compose(self) -> ComposeResult:
        keymap: Mapping[str, str] = getattr(self.app, "_keymap", {}) or {}
        with Vertical(classes="dialog wide", id="help"):
            yield Label(Text("entrabr — keys", style="bold"), classes="dialog-title")
            with VerticalScroll(classes="dialog-body", can_focus=True):
                for group in ALL_GROUPS:
                    yield Static(self._table(group.title, help_rows(group, keymap)))
                yield Static(self._table("Also", list(_EXTRA)))
            yield Label(Text('Change keys in the config file\'s [keys] table by id, e.g. restore = "ctrl+o". '
                             "↑/↓ scroll, esc closes.", style="dim"))

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()

    @staticmethod
    def _table(title: str, rows: list[tuple[str, str, str]]) -> Table:
        table = Table(title=title, title_justify="left", show_header=False, box=None, padding=(0, 2),
                      title_style="bold")
        table.add_column("Keys", no_wrap=True, min_width=16)
        table.add_column("Action")
        table.add_column("Id", style="dim", no_wrap=True)
        for keys, description, binding_id in rows:
            table.add_row(safe(keys, 30), Text(description), Text(binding_id))
        return table

    def action_close(self) -> None:
        self.dismiss(None)
