"""Help screen, generated from the binding registry with the user's keymap applied: one table (the columns
line up across sections), filtered as you type, with the path of the configuration file that remaps keys."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from rich.cells import cell_len
from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.events import Key
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from entrabr_tui.engine.locations import config_file_path
from entrabr_tui.ui.bindings import ALL_GROUPS, HELP, SCREEN, BindingGroup, bindings_of
from entrabr_tui.ui.text import clean, keep_input_literal, literal, safe

_EXTRA = (
    ("ctrl+p", "Command palette: exports, theme, history, key reference", ""),
    ("mouse", "Click to focus and select, wheel to scroll", ""),
)


def keys_for(binding: Binding, keymap: Mapping[str, str]) -> list[str]:
    """The keys a binding answers to, after the keymap."""
    keys = keymap.get(binding.id, binding.key) if binding.id else binding.key
    return [k.strip() for k in keys.split(",") if k.strip()]


def display_key(key: str) -> str:
    names = {"question_mark": "?", "slash": "/", "space": "space", "escape": "esc", "delete": "del",
             "left_square_bracket": "[", "right_square_bracket": "]"}
    return names.get(key, key)


def help_rows(group: BindingGroup, keymap: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """``(keys, what it does, binding id)`` for each binding of the group (a binding's ``tooltip`` says in
    full what its footer label says short)."""
    return [(" ".join(display_key(k) for k in keys_for(b, keymap)), b.tooltip or b.description or b.action,
             b.id or "")
            for b in group.bindings]


def help_sections(keymap: Mapping[str, str]) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """Every section of the help: the binding groups, then the keys that are not bindings."""
    return [(group.title, help_rows(group, keymap)) for group in ALL_GROUPS] + [("Also", list(_EXTRA))]


def help_table(sections: list[tuple[str, list[tuple[str, str, str]]]], needle: str = "") -> Group:
    """One table per section, every table with the same column widths so the columns line up down the whole
    screen; only rows that contain ``needle`` (or whose section title does), when given."""
    needle = needle.strip().casefold()
    every = [row for _title, rows in sections for row in rows]
    keys_w = max((min(30, cell_len(clean(keys))) for keys, _, _ in every), default=10)
    id_w = max((cell_len(binding_id) for _, _, binding_id in every), default=10)
    tables: list[Table] = []
    for title, rows in sections:
        shown = [row for row in rows
                 if not needle or any(needle in clean(cell).casefold() for cell in (*row, title))]
        if not shown:
            continue
        table = Table(title=Text(title, style="bold"), title_justify="left", show_header=False, box=None,
                      padding=(0, 2), expand=True)
        table.add_column("Keys", no_wrap=True, width=keys_w)
        table.add_column("What it does", ratio=1)
        table.add_column("Id", style="dim", no_wrap=True, width=id_w)
        for keys, description, binding_id in shown:
            table.add_row(safe(keys, keys_w), Text(description), Text(binding_id))
        tables.append(table)
    if not tables:
        return Group(Text("No key matches.", style="italic"))
    return Group(*tables)


class HelpScreen(ModalScreen[None]):
    """Every key of the app, by where it works. Type to filter; esc clears the filter, then closes."""

    BINDINGS: ClassVar[list[BindingType]] = bindings_of(SCREEN, HELP)

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[tuple[str, list[tuple[str, str, str]]]] = []

    def compose(self) -> ComposeResult:
        keymap: Mapping[str, str] = getattr(self.app, "_keymap", {}) or {}
        self.sections = help_sections(keymap)
        with Vertical(classes="dialog wide", id="help"):
            yield Label(Text("entrabr — keys", style="bold"), classes="dialog-title")
            yield Input(placeholder="type to filter the keys (esc clears, esc again closes)",
                        id="help-search", select_on_focus=False, compact=True)
            with VerticalScroll(classes="dialog-body", can_focus=True, id="help-body"):
                yield Static(help_table(self.sections), id="help-table")
            yield Label(literal(("Remap keys by their id (right column) in the [keys] table of ", "dim"),
                                (str(config_file_path()), "bold"),
                                (', e.g. restore = "ctrl+o". ↑/↓ scroll, esc closes.', "dim")),
                        id="help-config")

    def on_mount(self) -> None:
        self.query_one("#help-body", VerticalScroll).focus()

    @on(Input.Changed, "#help-search")
    def _search(self, event: Input.Changed) -> None:
        if not keep_input_literal(event.input, event.value):
            self.query_one("#help-table", Static).update(help_table(self.sections, event.value))

    def on_key(self, event: Key) -> None:
        search = self.query_one("#help-search", Input)
        if (self.focused is not search and event.is_printable and event.character
                and event.key not in self.active_bindings):
            event.stop()
            event.prevent_default()
            search.focus()
            search.insert_text_at_cursor(event.character)  # typing filters at once
        elif event.key == "escape" and self.focused is search and search.value:
            event.stop()
            event.prevent_default()
            search.value = ""
        elif event.key in ("up", "down", "pageup", "pagedown") and self.focused is search:
            body = self.query_one("#help-body", VerticalScroll)
            {"up": body.scroll_up, "down": body.scroll_down, "pageup": body.scroll_page_up,
             "pagedown": body.scroll_page_down}[event.key]()
            event.stop()

    def action_focus_search(self) -> None:
        self.query_one("#help-search", Input).focus()

    def action_close(self) -> None:
        self.dismiss(None)
