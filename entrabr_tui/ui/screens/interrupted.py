"""On start: "An interrupted restore: N of M batches done — resume / review / drop".

A restore that stopped part-way (the terminal closed, the process was killed, the service failed a batch)
is offered when the tenant opens. Resume finishes it (the batch it was running is followed, never sent
again; the ones it had not sent are sent), review lists its batches, drop forgets the rest (a batch already
at the service runs on and is still recorded). Everything shown is built as literal text.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from entrabr_tui.ui.backend import InterruptedRestoreView
from entrabr_tui.ui.bindings import INTERRUPTED, SCREEN, bindings_of
from entrabr_tui.ui.text import clean

RESUME, REVIEW, DROP = "resume", "review", "drop"


def interrupted_body(interrupted: InterruptedRestoreView, *, review: bool = False) -> Text:
    """What the dialog says (every batch when ``review``)."""
    body = Text(f"Started {interrupted.created:%Y-%m-%d %H:%MZ}. Resume finishes it: the batch it was "
                "running is followed to its end (never sent twice), the batches it had not sent are sent in "
                "order. Drop leaves the rest unsent. Until it is resumed or dropped, no other restore can "
                "start.")
    if review:
        body.append("\n\n")
        for line in interrupted.lines():
            body.append(clean(line)[:300] + "\n")
    return body


class InterruptedRestoreDialog(ModalScreen[str | None]):
    """Resume (r), review (v) or drop (d) an interrupted restore; esc asks again next time."""

    BINDINGS: ClassVar[list[BindingType]] = bindings_of(SCREEN, INTERRUPTED)

    def __init__(self, interrupted: InterruptedRestoreView, *, review: bool = False,
                 can_resume: bool = True) -> None:
        super().__init__()
        self.interrupted = interrupted
        self.review = review
        self.can_resume = can_resume

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide" if self.review else "dialog"):
            yield Label(Text(clean(self.interrupted.text), style="bold"), classes="dialog-title")
            with VerticalScroll(classes="dialog-body"):
                yield Static(interrupted_body(self.interrupted, review=self.review))
            with Horizontal(classes="dialog-buttons"):
                yield Button("Later (esc)", id="later", compact=True)
                yield Button("Drop (d)", id="drop", variant="error", compact=True)
                yield Button("Review (v)", id="review", compact=True, disabled=self.review)
                yield Button("Resume (r)", id="resume", variant="primary", compact=True,
                             disabled=not self.can_resume)

    def on_mount(self) -> None:
        self.query_one("#later", Button).focus()

    @on(Button.Pressed, "#resume")
    def action_resume(self) -> None:
        if self.can_resume:
            self.dismiss(RESUME)

    @on(Button.Pressed, "#review")
    def action_review(self) -> None:
        self.dismiss(REVIEW)

    @on(Button.Pressed, "#drop")
    def action_drop(self) -> None:
        self.dismiss(DROP)

    @on(Button.Pressed, "#later")
    def action_later(self) -> None:
        self.dismiss(None)
