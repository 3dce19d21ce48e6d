"""Reusable modal dialogs: yes/no, typed confirmation, where to write an export, and a full-value viewer.

Titles and bodies may hold names, paths and service messages: given as strings they follow the display rule
and are shown literally (:func:`~entrabr_tui.ui.text.multiline`); given as ``Text`` they are taken as built.
Each shows its own keys in a footer (the main screen's keys do nothing while a dialog is open).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, Static

from entrabr_tui.ui.bindings import DIALOG, EXPORT_DIALOG, SCREEN, TEXT_DIALOG, TYPED_DIALOG, bindings_of
from entrabr_tui.ui.text import keep_input_literal, multiline


def dialog_title(title: Text | str) -> Text:
    """A dialog's bold, literal title."""
    text = title.copy() if isinstance(title, Text) else multiline(title)
    text.stylize("bold")
    return text


def dialog_body(body: Text | str) -> Text:
    """A dialog's literal body."""
    return body if isinstance(body, Text) else multiline(body)


class ConfirmDialog(ModalScreen[bool]):
    """A yes/no question. ``y`` confirms; ``n``/esc cancel; focus starts on the safe choice."""

    BINDINGS: ClassVar[list[BindingType]] = bindings_of(SCREEN, DIALOG)

    def __init__(self, title: Text | str, body: Text | str, confirm_label: str = "Yes", *,
                 danger: bool = False, cancel_label: str = "Cancel") -> None:
        super().__init__()
        self.title_text = dialog_title(title)
        self.body = dialog_body(body)
        self.confirm_label = confirm_label
        self.cancel_label = cancel_label
        self.danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            with VerticalScroll(classes="dialog-body"):
                yield Static(self.body)
            with Horizontal(classes="dialog-buttons"):
                yield Button(Text(f"{self.cancel_label} (n)"), id="cancel", compact=True)
                yield Button(Text(f"{self.confirm_label} (y)"), id="confirm",
                             variant="error" if self.danger else "primary", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    @on(Button.Pressed, "#confirm")
    def action_confirm(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)


class TypedConfirmDialog(ModalScreen[bool]):
    """A confirmation that needs a word typed, for actions that soft-delete objects."""

    BINDINGS: ClassVar[list[BindingType]] = bindings_of(SCREEN, TYPED_DIALOG)

    def __init__(self, title: Text | str, body: Text | str, word: str, confirm_label: str) -> None:
        super().__init__()
        self.title_text = dialog_title(title)
        self.body = dialog_body(body)
        self.word = word
        self.confirm_label = confirm_label

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            with VerticalScroll(classes="dialog-body"):
                yield Static(self.body)
            yield Label(Text(f"Type {self.word} to confirm:"))
            yield Input(placeholder=self.word, id="typed", compact=True)
            with Horizontal(classes="dialog-buttons"):
                yield Button(Text("Cancel (esc)"), id="cancel", compact=True)
                yield Button(Text(self.confirm_label), id="confirm", variant="error", disabled=True,
                             compact=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#typed", Input).focus()

    @on(Input.Changed, "#typed")
    def _typed(self, event: Input.Changed) -> None:
        if not keep_input_literal(event.input, event.value):
            self.query_one("#confirm", Button).disabled = event.value.strip() != self.word

    @on(Input.Submitted, "#typed")
    def _submitted(self, event: Input.Submitted) -> None:
        if event.value.strip() == self.word:
            self.dismiss(True)

    @on(Button.Pressed, "#confirm")
    def _confirm(self) -> None:
        if self.query_one("#typed", Input).value.strip() == self.word:
            self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)


#: What the path dialog says.
FILE_PROMPT = "Write to this file (a new one: an existing file is never replaced; ~ is your home folder):"


class ExportPathDialog(ModalScreen[Path | None]):
    """Where to write an export: a file name, prefilled with a new file in the data folder's ``exports/``.
    Enter writes (an existing file is never replaced), esc cancels."""

    BINDINGS: ClassVar[list[BindingType]] = bindings_of(SCREEN, EXPORT_DIALOG)

    def __init__(self, title: Text | str, default: Path) -> None:
        super().__init__()
        self.title_text = dialog_title(title)
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label(self.title_text, classes="dialog-title")
            yield Static(Text(FILE_PROMPT))
            yield Input(value=str(self.default), id="export-path", compact=True)
            with Horizontal(classes="dialog-buttons"):
                yield Button(Text("Cancel (esc)"), id="cancel", compact=True)
                yield Button(Text("Export (enter)"), id="export", variant="primary", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        field = self.query_one("#export-path", Input)
        field.focus()
        field.cursor_position = len(field.value)

    @on(Input.Changed, "#export-path")
    def _typed(self, event: Input.Changed) -> None:
        keep_input_literal(event.input, event.value)

    @on(Input.Submitted, "#export-path")
    @on(Button.Pressed, "#export")
    def _export(self) -> None:
        value = self.query_one("#export-path", Input).value.strip()
        if value:
            self.dismiss(Path(value).expanduser())

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class TextDialog(ModalScreen[None]):
    """Shows long text (a full property value, a failure message) literally, scrollable."""

    BINDINGS: ClassVar[list[BindingType]] = bindings_of(SCREEN, TEXT_DIALOG)

    def __init__(self, title: Text | str, body: Text | str) -> None:
        super().__init__()
        self.title_text = dialog_title(title)
        self.body = dialog_body(body)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label(self.title_text, classes="dialog-title")
            with VerticalScroll(classes="dialog-body"):
                yield Static(self.body)
            yield Label(Text("esc closes", style="dim"))
        yield Footer()

    def action_close(self) -> None:
        self.dismiss(None)
