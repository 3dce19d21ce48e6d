"""The failed changes of a restore, readable in full: messages wrap, enter shows one whole, y copies it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.binding import BindingType

from entrabr_tui.core.model import Change
from entrabr_tui.ui.bindings import FAILED_CHANGES
from entrabr_tui.ui.screens.dialogs import TextDialog
from entrabr_tui.ui.text import CLIPBOARD_NOTE, clean, literal, multiline, name_text, safe, short_id, wrapped
from entrabr_tui.ui.widgets.tables import NavTable

#: Lines a failure message may wrap over in the table (enter shows all of it).
MESSAGE_LINES = 4
NO_MESSAGE = "(the service gave no message)"


def failure_body(change: Change) -> Text:
    """Everything about one failed change, for the full-message dialog."""
    return Text.assemble(
        ("Object: ", "bold"), name_text(change.display_name), "\n",
        ("Id: ", "bold"), safe(change.id), "\n",
        ("Type: ", "bold"), safe(change.entity_type_raw), ("   Action: ", "bold"), safe(change.action_raw),
        ("\n\nWhat the service said:\n", "bold"), multiline(change.failure_message or NO_MESSAGE),
    )


class FailedChangesTable(NavTable):
    """One row per failed change: its type, object and the service's whole message (wrapped)."""

    BINDINGS: ClassVar[list[BindingType]] = FAILED_CHANGES.as_list()

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.failed: list[Change] = []

    def on_mount(self) -> None:
        self.redraw()

    def show(self, failed: Sequence[Change]) -> None:
        self.failed = list(failed)
        self.redraw()

    def redraw(self) -> None:
        room = max(30, (self.size.width or 80) - 2 - 2 * 3)
        type_w = min(18, max(8, room // 6))
        object_w = min(32, max(12, room // 4))
        message_w = max(12, room - type_w - object_w)
        cursor = self.cursor_row
        self.reset_columns([("type", "Type", type_w), ("object", "Object", object_w),
                            ("failure", "What the service said", message_w)])
        for index, change in enumerate(self.failed):
            name = name_text(change.display_name, object_w)
            who = Text.assemble(name, "\n", (short_id(change.id, object_w - 1), "dim"))
            message, lines = wrapped(clean(change.failure_message or NO_MESSAGE, limit=2_000), message_w,
                                     MESSAGE_LINES)
            self.add_row(safe(change.entity_type_raw, type_w), who, message, key=str(index),
                         height=max(2, lines))
        if not self.failed:
            self.add_row(Text(""), Text(""), Text("No change failed.", style="italic"), key="none")
        if self.row_count:
            self.move_cursor(row=min(max(cursor, 0), self.row_count - 1))

    @property
    def current_change(self) -> Change | None:
        if 0 <= self.cursor_row < len(self.failed):
            return self.failed[self.cursor_row]
        return None

    def action_show_failure(self) -> None:
        change = self.current_change
        if change is not None:
            title = literal("Failed: ", change.entity_type_raw, " ", name_text(change.display_name, 60))
            self.app.push_screen(TextDialog(title, failure_body(change)))

    def action_copy_failure(self) -> None:
        change = self.current_change
        if change is None:
            return
        self.app.copy_to_clipboard(f"{change.entity_type_raw} {change.id} {change.display_name}: "
                                   f"{change.failure_message or NO_MESSAGE}")
        self.notify(f"The failure of {truncate_name(change)} was {CLIPBOARD_NOTE}", title="Copy")


def truncate_name(change: Change) -> str:
    return name_text(change.display_name, 40).plain
