"""The evidence pack's question: since when (the window of recoveries the pack covers) and to which folder.

"Since" is read by the one reader of typed times (:mod:`entrabr_tui.core.time_input`, the forms of the
command line's ``--since``); the line under it says the window the pack will cover as it is typed, or why
the text is not a time. Enter writes only a window that can be read (the dialog stays open, with what was
typed, otherwise); esc cancels.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, Static

from entrabr_tui.core.text import format_duration
from entrabr_tui.core.time_input import MOMENT_HINT, TimeInputError, moment_text, parse_moment
from entrabr_tui.ui.bindings import EXPORT_DIALOG, SCREEN, bindings_of
from entrabr_tui.ui.screens.dialogs import dialog_title
from entrabr_tui.ui.text import clean, keep_input_literal

#: What the pack holds, as the window line says it.
PACK_CONTENTS = "timeline, RPO/RTO, plans, jobs and a SHA-256 manifest"


@dataclass(frozen=True, slots=True)
class EvidenceRequest:
    """What the admin chose: the recoveries since ``since``, written to ``folder``."""

    since: datetime
    folder: Path


def window_text(since: datetime, now: datetime) -> str:
    """``The pack covers the recoveries from 2026-07-21 09:30:00 UTC to now (7d 00h): …``."""
    return (f"The pack covers the recoveries from {since.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC to now "
            f"({format_duration((now - since).total_seconds())}): {PACK_CONTENTS}.")


class EvidencePackDialog(ModalScreen[EvidenceRequest | None]):
    """Asks for the pack's window (``since``, prefilled; ``offered`` says what the default is: the time of
    the backup restored from, or an age) and its folder (``folder``, a new one offered). Enter writes once
    both can be used; esc cancels."""

    BINDINGS: ClassVar[list[BindingType]] = bindings_of(SCREEN, EXPORT_DIALOG)

    def __init__(self, since: datetime, offered: str, folder: Path, clock: Callable[[], datetime]) -> None:
        super().__init__()
        self.since = since
        self.offered = offered
        self.folder = folder
        self.clock = clock

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="evidence"):
            yield Label(dialog_title("Write evidence pack"), classes="dialog-title")
            yield Label(Text(f"Since: when the window starts, as entrabr evidence --since reads it. "
                             f"{MOMENT_HINT} Offered: {self.offered}.", style="dim"))
            with Horizontal(classes="window-field"):
                yield Label("Since ")
                yield Input(moment_text(self.since), id="evidence-since", compact=True)
            yield Static("", id="evidence-window")
            yield Label(Text("Written to this folder (a new or empty one; ~ is your home folder):"),
                        id="evidence-folder-prompt")
            yield Input(str(self.folder), id="evidence-folder", compact=True)
            with Horizontal(classes="dialog-buttons"):
                yield Button(Text("Cancel (esc)"), id="cancel", compact=True)
                yield Button(Text("Write (enter)"), id="write", variant="primary", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        field = self.query_one("#evidence-folder", Input)
        field.focus()
        field.cursor_position = len(field.value)
        self._show_window()

    def read_since(self) -> datetime:
        """The moment the Since field names; ``ValueError`` says why it cannot be used."""
        value = self.query_one("#evidence-since", Input).value.strip()
        if not value:
            raise ValueError(f"Since: type when the window starts. {MOMENT_HINT}")
        now = self.clock()
        try:
            since = parse_moment(value, now)
        except TimeInputError as err:
            raise ValueError(f"Since: {err} {err.hint}") from None
        if since > now:
            raise ValueError(f"Since: {moment_text(since)} is in the future: the pack would hold nothing.")
        return since

    def _show_window(self) -> datetime | None:
        """Say the window the pack will cover, or why Since cannot be read; the start, when it can."""
        line = self.query_one("#evidence-window", Static)
        try:
            since = self.read_since()
        except ValueError as err:
            line.update(Text(clean(str(err)), style="bold"))
            return None
        line.update(Text(window_text(since, self.clock())))
        return since

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        if not keep_input_literal(event.input, event.value) and event.input.id == "evidence-since":
            self._show_window()

    @on(Input.Submitted)
    @on(Button.Pressed, "#write")
    def action_write(self) -> None:
        """Write: a Since that cannot be read is said (and the field focused, its text kept)."""
        since = self._show_window()
        if since is None:
            self.query_one("#evidence-since", Input).focus()
            self.app.bell()
            return
        folder = self.query_one("#evidence-folder", Input).value.strip()
        if not folder:
            self.query_one("#evidence-folder", Input).focus()
            self.app.bell()
            return
        self.dismiss(EvidenceRequest(since, Path(folder).expanduser()))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
