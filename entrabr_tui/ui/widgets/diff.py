"""Diff pane: one object's properties side by side (backup / current), or its raw JSON."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import TextArea

from entrabr_tui.core.diff import DiffKind, DiffRow, raw_json
from entrabr_tui.core.model import Change
from entrabr_tui.ui.bindings import DIFF
from entrabr_tui.ui.text import clean, name_text, safe, truncate
from entrabr_tui.ui.widgets.styles import action_glyph, theme_style
from entrabr_tui.ui.widgets.tables import NavTable

#: Kind → the theme variable that repeats the glyph's meaning in colour.
_KIND_VARIABLE = {
    DiffKind.CHANGED: "warning",
    DiffKind.ADDED: "success",
    DiffKind.RESTORE: "success",
    DiffKind.REMOVED: "error",
    DiffKind.SOFT_DELETE: "error",
}


class DiffTable(NavTable):
    """The property rows of one change; widths follow the pane so long values never widen it."""

    BINDINGS: ClassVar[list[BindingType]] = DIFF.as_list()

    class Back(Message):
        """esc/h: return to the Changes pane."""

    class ShowValue(Message):
        """enter: show the full values of the focused row."""

        def __init__(self, row: DiffRow) -> None:
            super().__init__()
            self.row = row

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.diff_rows: list[DiffRow] = []

    @property
    def current_row(self) -> DiffRow | None:
        if 0 <= self.cursor_row < len(self.diff_rows):
            return self.diff_rows[self.cursor_row]
        return None

    def show_rows(self, rows: list[DiffRow]) -> None:
        self.diff_rows = rows
        self.redraw()

    def redraw(self) -> None:
        prop_w, back_w, cur_w = self.split([1, 3], [34, 33, 33])
        cursor = self.cursor_row
        self.reset_columns([("glyph", " ", 1), ("property", "Property", prop_w), ("backup", "Backup", back_w),
                            ("current", "Current", cur_w), ("rec", "Rec", 3)])
        for index, row in enumerate(self.diff_rows):
            variable = _KIND_VARIABLE.get(row.kind)
            glyph_style = theme_style(self.app, variable, bold=True) if variable else ""
            indent = "  " * min(row.depth, 6)
            label = safe(indent + clean(row.label), prop_w, style="bold" if row.is_header else "")
            if row.note and row.is_header:
                room = max(0, prop_w - label.cell_len)
                label = Text.assemble(label, safe(f" {row.note}", room, style="dim"))
            self.add_row(
                Text(row.glyph, style=glyph_style),
                label,
                safe(row.backup_text, back_w),
                safe(row.current_text, cur_w),
                Text("yes" if row.recoverable else "no", style="" if row.recoverable else "italic"),
                key=str(index),
            )
        if self.diff_rows:
            self.move_cursor(row=min(max(cursor, 0), len(self.diff_rows) - 1))

    def action_back(self) -> None:
        self.post_message(self.Back())

    def action_expand_value(self) -> None:
        row = self.current_row
        if row is not None:
            self.post_message(self.ShowValue(row))

    def action_copy_value(self) -> None:
        row = self.current_row
        if row is None:
            return
        text = row.backup_text if row.backup_text else row.current_text
        which = "backup" if row.backup_text else "current"
        self.app.copy_to_clipboard(text)
        path = truncate(clean(row.path), 40)
        self.notify(f"Copied the {which} value of {path} ({len(text):,} characters).", title="Copied")

    def action_toggle_raw(self) -> None:
        pane = self.parent
        if isinstance(pane, DiffPane):
            pane.toggle_raw()


class DiffPane(Vertical):
    """Pane 3: a header line naming the object, then the diff table or the raw JSON."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="pane")
        self.change: Change | None = None
        self.raw = False

    def compose(self) -> ComposeResult:
        yield DiffTable(id="diff-table")
        raw = TextArea("", read_only=True, id="diff-raw", show_line_numbers=False)
        raw.display = False
        yield raw

    @property
    def table(self) -> DiffTable:
        return self.query_one(DiffTable)

    def show(self, change: Change | None, rows: list[DiffRow]) -> None:
        self.change = change
        self.table.show_rows(rows)
        raw = self.query_one("#diff-raw", TextArea)
        raw.load_text(raw_json(change) if change is not None else "")
        self.border_subtitle = self._subtitle(change)

    def toggle_raw(self) -> None:
        if self.change is None:
            return
        self.raw = not self.raw
        raw = self.query_one("#diff-raw", TextArea)
        raw.display = self.raw
        self.table.display = not self.raw
        (raw if self.raw else self.table).focus()

    @staticmethod
    def _subtitle(change: Change | None) -> str:
        if change is None:
            return ""
        name = name_text(change.display_name, 30).plain
        glyph = action_glyph(change.action_raw)
        return f"{glyph} {clean(change.action_raw)} · {clean(change.entity_type_raw)} · {name}"

    def placeholder(self, text: str) -> None:
        self.change = None
        self.table.show_rows([])
        self.border_subtitle = text
