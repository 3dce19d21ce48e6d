"""The dialogs of a restore: the confirmation (which backup, what a whole-type job touches, the choice to
restore by ID only, the typed word when anything is soft-deleted) and the result (the verdict of the checks
after it, failed changes, retry, a fresh report to verify)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, Static

from entrabr_tui.core.planner import summary_lines
from entrabr_tui.core.text import failed_summary
from entrabr_tui.ui.bindings import RESTORE_CONFIRM, RESTORE_RESULT, SCREEN, bindings_of
from entrabr_tui.ui.screens.restore_guard import AfterChecks, after_text
from entrabr_tui.ui.text import clean, plural, safe
from entrabr_tui.ui.widgets.failed_changes import FailedChangesTable

if TYPE_CHECKING:
    from entrabr_tui.engine.plans import SessionPlan
    from entrabr_tui.engine.restore import RestoreResult

#: What must be typed before a restore that soft-deletes anything.
TYPED_WORD = "soft-delete"

#: Results of :class:`RestoreConfirmDialog` besides ``None`` (not confirmed).
RESTORE = "restore"
BY_ID = "by-id"
#: Results of :class:`RestoreResultScreen` besides ``None`` (closed).
RETRY = "retry"
VERIFY = "verify"


def backup_label(created: datetime | None) -> str:
    """``the backup of 2026-12-04 22:00 UTC`` (or ``the backup`` when its time is not known)."""
    return f"the backup of {created:%Y-%m-%d %H:%M} UTC" if created is not None else "the backup"


def plan_body(plan: SessionPlan, refusal: str | None = None) -> Text:
    """What the confirmation says under its title (which names the backup): the plan, what whole-type jobs
    touch besides what was marked, and (when the sign-in is expected to be refused) why."""
    body = Text("\n".join(clean(line) for line in summary_lines(plan.plan)))
    for t in plan.types:
        if t.whole_type:
            name = clean(t.entity_type)
            body.append_text(Text.assemble(
                "\n\n", ("Whole type: ", "bold"),
                f"the job for {name} restores EVERY {name} that differs from the backup when the job runs, "
                "not only the ", (plural(t.count, "object"), "bold"),
                " you marked: objects changed since the report are restored too."))
    if plan.summary.whole_types:
        body.append("\n\nPress i to restore by ID only: just the objects you marked.", style="bold")
    if refusal:
        body.append_text(Text.assemble(("\n\nThe service is expected to refuse this: ", "bold"),
                                       safe(refusal), ". It decides; its answer is shown and logged."))
    body.append("\n\nRecovery runs against the live tenant now, so it can differ from the report you "
                "reviewed.", style="dim")
    return body


class RestoreConfirmDialog(ModalScreen[str | None]):
    """Confirm a restore: ``y`` restores, ``i`` re-plans by object IDs only (offered when the plan has a
    whole-type job), ``n``/esc cancel. With ``typed_word`` (anything is soft-deleted) the word must be typed
    first; the keys then go to the field, and the buttons are reached with tab."""

    BINDINGS: ClassVar[list[BindingType]] = bindings_of(SCREEN, RESTORE_CONFIRM)

    def __init__(self, title: str, body: Text, *, typed_word: str | None = None, by_id: bool = False) -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.typed_word = typed_word
        self.offer_by_id = by_id

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="restore-confirm"):
            yield Label(Text(self.title_text, style="bold"), classes="dialog-title")
            with VerticalScroll(classes="dialog-body"):
                yield Static(self.body)
            if self.typed_word is not None:
                yield Label(Text(f"Type {self.typed_word} to confirm:"))
                yield Input(placeholder=self.typed_word, id="typed", compact=True)
            keys = self.typed_word is None
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel (esc)" if not keys else "Cancel (n)", id="cancel", compact=True)
                if self.offer_by_id:
                    yield Button("By ID only (i)" if keys else "By ID only", id="by-id", compact=True)
                yield Button("Restore (y)" if keys else "Restore", id="confirm", variant="error",
                             disabled=not keys, compact=True)
        yield Footer()

    def on_mount(self) -> None:
        if self.typed_word is not None:
            self.query_one("#typed", Input).focus()
        else:
            self.query_one("#cancel", Button).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "by_id":
            return self.offer_by_id
        return True

    @on(Input.Changed, "#typed")
    def _typed(self, event: Input.Changed) -> None:
        self.query_one("#confirm", Button).disabled = event.value.strip() != self.typed_word

    @on(Input.Submitted, "#typed")
    def _submitted(self) -> None:
        self.action_confirm()

    @on(Button.Pressed, "#confirm")
    def action_confirm(self) -> None:
        if self.typed_word is None or self.query_one("#typed", Input).value.strip() == self.typed_word:
            self.dismiss(RESTORE)

    @on(Button.Pressed, "#by-id")
    def action_by_id(self) -> None:
        if self.offer_by_id:
            self.dismiss(BY_ID)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class RestoreResultScreen(ModalScreen[str | None]):
    """What a restore did: its jobs, the verdict of the checks after it (verification, lockout), and every
    failed change with the service's message.

    Dismisses with :data:`RETRY` (``R``: retry the failures), :data:`VERIFY` (``n``: a fresh report of the
    backup) or ``None``.
    """

    BINDINGS: ClassVar[list[BindingType]] = bindings_of(SCREEN, RESTORE_RESULT)

    def __init__(self, outcome: RestoreResult, backup: datetime | None = None,
                 after: AfterChecks | None = None) -> None:
        super().__init__()
        self.outcome = outcome
        self.backup = backup
        self.after = after

    def compose(self) -> ComposeResult:
        outcome = self.outcome
        failed = failed_summary(outcome.failed_count, len(outcome.failed))
        jobs = plural(len(outcome.jobs), "recovery job")
        with Vertical(classes="dialog wide", id="restore-result"):
            yield Label(Text(f"Restore {outcome.outcome}: {jobs}; {failed}", style="bold"),
                        classes="dialog-title")
            verdict = after_text(self.after)
            if verdict:
                yield Static(verdict, id="restore-verdict")
            yield FailedChangesTable(id="failed-table")
            hint = ("enter shows a whole message · y copies it · R retries the failures · History (H) shows "
                    "them again · " if outcome.failed else "")
            yield Label(Text(f"{hint}n runs a fresh report of {backup_label(self.backup)} to verify the "
                             "tenant now matches it · esc closes", style="dim"))
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(FailedChangesTable)
        table.show(self.outcome.failed)
        table.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "retry":
            return bool(self.outcome.failed)
        return True

    def action_close(self) -> None:
        self.dismiss(None)

    def action_retry(self) -> None:
        if self.outcome.failed:
            self.dismiss(RETRY)

    def action_verify(self) -> None:
        self.dismiss(VERIFY)
