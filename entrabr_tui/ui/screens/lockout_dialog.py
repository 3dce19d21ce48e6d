"""The lockout guard in the app: the break-glass accounts (asked once), and the lockout warning.

:class:`BreakGlassDialog` asks, on the first restore that touches policies, for the object ids of the
tenant's break-glass (emergency access) accounts and groups; the answer is saved in the tenant's settings
(an empty answer too, so it is not asked again). :class:`LockoutWarning` shows what the lockout check found
— every enforced Conditional Access policy the restore would newly apply to a break-glass identity, or that
would block the signed-in admin — and asks for each such policy's name to be typed before the restore may
go ahead. Policy names and ids come from the tenant: they are shown literally.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from entrabr_tui.ui.bindings import BREAK_GLASS_DIALOG, LOCKOUT_DIALOG, SCREEN, bindings_of
from entrabr_tui.ui.text import clean, safe

if TYPE_CHECKING:  # (this loads the Graph SDK: the app paints before it is loaded)
    from entrabr_tui.engine.restore_checks import LockoutCheck

_SEPARATORS = re.compile(r"[\s,;]+")


def id_list(text: str) -> list[str]:
    """Object ids typed into a field (separated by spaces, commas or semicolons)."""
    return [part for part in _SEPARATORS.split(text.strip()) if part]


class BreakGlassDialog(ModalScreen[tuple[list[str], list[str]] | None]):
    """Ask for the break-glass accounts and groups (object ids); dismisses with ``(users, groups)``, or
    ``None`` for "not now" (asked again next time)."""

    BINDINGS: ClassVar[list[BindingType]] = bindings_of(SCREEN, BREAK_GLASS_DIALOG)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="break-glass-dialog"):
            yield Label(Text("Break-glass accounts of this tenant", style="bold"), classes="dialog-title")
            yield Static(Text(
                "This restore changes Conditional Access. Name the emergency-access accounts and groups "
                "(object ids) whose sign-in must never be blocked: every restore that touches policies is "
                "checked against them. Saved in this tenant's settings; leave both empty to check only "
                "your own sign-in."))
            yield Label(Text("Accounts (object ids):"))
            yield Input(id="break-glass-users", compact=True)
            yield Label(Text("Groups (object ids):"))
            yield Input(id="break-glass-groups", compact=True)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Not now (esc)", id="cancel", compact=True)
                yield Button("Save (ctrl+s)", id="save", variant="primary", compact=True)

    def on_mount(self) -> None:
        self.query_one("#break-glass-users", Input).focus()

    @on(Input.Submitted, "#break-glass-groups")
    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        users = id_list(self.query_one("#break-glass-users", Input).value)
        groups = id_list(self.query_one("#break-glass-groups", Input).value)
        self.dismiss((users, groups))

    @on(Input.Submitted, "#break-glass-users")
    def _next_field(self) -> None:
        self.query_one("#break-glass-groups", Input).focus()

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


def lockout_body(check: LockoutCheck) -> Text:
    """What the check found, one finding a line, and what it could not know."""
    body = Text(clean(check.summary) + "\n", style="bold")
    for finding in check.findings:
        marker = "! " if finding.needs_confirmation else "  "
        body.append(marker, style="bold")
        body.append_text(safe(finding.text))
        body.append("\n")
    body.append("\nRestoring Conditional Access puts back the policy as it was in the backup. Break-glass "
                "accounts must stay excluded from every policy so that someone can always sign in.\n",
                style="dim")
    return body


class LockoutWarning(ModalScreen[list[str] | None]):
    """The lockout findings; the restore goes ahead only once every listed policy's name is typed exactly.
    Dismisses with the names typed, or ``None`` (go back)."""

    BINDINGS: ClassVar[list[BindingType]] = bindings_of(SCREEN, LOCKOUT_DIALOG)

    def __init__(self, check: LockoutCheck) -> None:
        super().__init__()
        self.check = check
        self.names = check.policy_names

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide", id="lockout-warning"):
            yield Label(Text("This restore could lock people out", style="bold"), classes="dialog-title")
            with VerticalScroll(classes="dialog-body"):
                yield Static(lockout_body(self.check))
            for number, name in enumerate(self.names):
                label = Text("Type the policy's name to restore it anyway: ")
                label.append_text(safe(name, 80, style="bold"))
                yield Label(label)
                yield Input(placeholder=clean(name)[:80], id=f"policy-{number}", compact=True)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Go back (esc)", id="cancel", compact=True)
                yield Button("Restore anyway", id="confirm", variant="error", disabled=True, compact=True)

    def on_mount(self) -> None:
        if self.names:
            self.query_one("#policy-0", Input).focus()
        else:
            self.query_one("#cancel", Button).focus()

    def _typed(self) -> list[str]:
        return [self.query_one(f"#policy-{n}", Input).value for n in range(len(self.names))]

    def _complete(self) -> bool:
        pairs = zip(self._typed(), self.names, strict=True)
        return all(typed.strip() == name.strip() for typed, name in pairs)

    @on(Input.Changed)
    def _changed(self) -> None:
        self.query_one("#confirm", Button).disabled = not self._complete()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        if self._complete():
            self.dismiss(self._typed())

    @on(Button.Pressed, "#confirm")
    def _confirm(self) -> None:
        if self._complete():
            self.dismiss(self._typed())

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
