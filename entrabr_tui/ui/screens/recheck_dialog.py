"""What moved since the review: the staleness guard's findings, and the admin's answer.

Shown when the recheck before a restore (a fresh preview of the plan's objects on the same backup) finds
objects that no longer differ from the backup the way they did when the plan was reviewed, objects that
now match it, or unreviewed changes a whole-type job would also restore. The admin restores them anyway
(``a``), leaves them out (``d``: the whole types that would touch unreviewed changes are scoped by ID), or
goes back (esc). Every answer is written to the history by the caller.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from entrabr_tui.core.review import ObjectKey
from entrabr_tui.ui.bindings import RECHECK_DIALOG, SCREEN, bindings_of
from entrabr_tui.ui.text import clean, name_text, safe

if TYPE_CHECKING:  # (this loads the Graph SDK: the app paints before it is loaded)
    from entrabr_tui.engine.restore_checks import Recheck

#: Objects listed per kind (the rest are counted).
SHOWN = 30


def recheck_body(recheck: Recheck) -> Text:
    """The findings, each object by type, name and id (names shown literally)."""
    staleness = recheck.staleness
    body = Text(clean(recheck.summary) + "\n", style="bold")
    for title, keys in (("Moved since the review (the restore would write over what changed):",
                         staleness.moved),
                        ("Now match the backup (nothing left to restore):", staleness.gone),
                        ("Not reviewed, but a whole-type job would restore them:", staleness.unreviewed)):
        if not keys:
            continue
        body.append(f"\n{title}\n")
        for key in keys[:SHOWN]:
            body.append_text(_line(recheck, key))
        if len(keys) > SHOWN:
            body.append(f"  … and {len(keys) - SHOWN:,} more\n", style="dim")
    return body


def _line(recheck: Recheck, key: ObjectKey) -> Text:
    line = Text("  ")
    line.append_text(safe(key[0], 24))
    line.append(" ")
    line.append_text(name_text(recheck.names.get(key[1]), 40))
    line.append(" ")
    line.append_text(safe(key[1], 40, style="dim"))
    line.append("\n")
    return line


class RecheckDialog(ModalScreen[str]):
    """Objects moved since the review: ``accept``, ``drop`` or ``back`` (see the module docstring)."""

    BINDINGS: ClassVar[list[BindingType]] = bindings_of(SCREEN, RECHECK_DIALOG)

    def __init__(self, recheck: Recheck) -> None:
        super().__init__()
        self.recheck = recheck

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide", id="recheck-dialog"):
            yield Label(Text("The tenant moved since the plan was reviewed", style="bold"),
                        classes="dialog-title")
            with VerticalScroll(classes="dialog-body"):
                yield Static(recheck_body(self.recheck))
            with Horizontal(classes="dialog-buttons"):
                yield Button("Go back (esc)", id="back", compact=True)
                yield Button("Leave them out (d)", id="drop", variant="primary", compact=True)
                yield Button("Restore them anyway (a)", id="accept", variant="error", compact=True)

    def on_mount(self) -> None:
        self.query_one("#back", Button).focus()

    @on(Button.Pressed, "#accept")
    def action_accept(self) -> None:
        self.dismiss("accept")

    @on(Button.Pressed, "#drop")
    def action_drop(self) -> None:
        self.dismiss("drop")

    @on(Button.Pressed, "#back")
    def action_back(self) -> None:
        self.dismiss("back")
