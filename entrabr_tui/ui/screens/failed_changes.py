"""The failed changes of one restore job, reopened from the History screen (from the cache)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label

from entrabr_tui.core.model import Change
from entrabr_tui.ui.bindings import FAILED_CHANGES_SCREEN, SCREEN, bindings_of
from entrabr_tui.ui.screens.dialogs import dialog_title
from entrabr_tui.ui.widgets.failed_changes import FailedChangesTable


class FailedChangesScreen(ModalScreen[None]):
    """A restore job's failed changes with the service's messages; esc or q closes it."""

    BINDINGS: ClassVar[list[BindingType]] = bindings_of(SCREEN, FAILED_CHANGES_SCREEN)

    def __init__(self, title: Text | str, failed: Sequence[Change], note: str = "") -> None:
        super().__init__()
        self.title_text = dialog_title(title)
        self.failed = list(failed)
        self.note = note

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide", id="failed-changes"):
            yield Label(self.title_text, classes="dialog-title")
            yield FailedChangesTable(id="failed-table")
            hint = "enter shows a whole message · y copies it · esc closes"
            yield Label(Text(f"{self.note} · {hint}" if self.note else hint, style="dim"))

    def on_mount(self) -> None:
        table = self.query_one(FailedChangesTable)
        table.show(self.failed)
        table.focus()

    def action_close(self) -> None:
        self.dismiss(None)
