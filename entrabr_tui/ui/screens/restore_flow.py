"""Restore: plan review and confirmation, batch-by-batch progress, failed changes and retry."""

from __future__ import annotations

import asyncio
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label

from entrabr_tui.core.planner import summary_lines
from entrabr_tui.engine.events import RestoreProgress
from entrabr_tui.engine.plans import SessionPlan
from entrabr_tui.engine.restore import RestoreResult
from entrabr_tui.ui.backend import Backend
from entrabr_tui.ui.messages import RestoreFinished, RestoreProgressed
from entrabr_tui.ui.screens.dialogs import ConfirmDialog, TypedConfirmDialog
from entrabr_tui.ui.screens.main_base import MainBase
from entrabr_tui.ui.text import clean, name_text, plural, safe
from entrabr_tui.ui.widgets.status import restore_progress_text
from entrabr_tui.ui.widgets.tables import NavTable

#: What must be typed before a restore that soft-deletes anything.
TYPED_WORD = "soft-delete"


def plan_body(plan: SessionPlan) -> Text:
    body = Text("\n".join(clean(line) for line in summary_lines(plan.plan)))
    body.append("\n\nRecovery runs against the live tenant now, so it can differ from the report "
                "you reviewed.", style="dim")
    return body


class RestoreResultScreen(ModalScreen[bool]):
    """What a restore did: its jobs, and every failed change with the service's message.

    Dismisses with ``True`` when the user asks to retry the failures.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close", id="result-close"),
        Binding("R", "retry", "Retry failed", id="result-retry"),
    ]

    def __init__(self, outcome: RestoreResult) -> None:
        super().__init__()
        self.outcome = outcome

    def compose(self) -> ComposeResult:
        failed = len(self.outcome.failed)
        state = "finished with failures" if failed else "finished"
        if self.outcome.cancelled:
            state = "cancelled"
        with Vertical(classes="dialog wide", id="restore-result"):
            yield Label(Text(f"Restore {state}: {plural(len(self.outcome.jobs), 'recovery job')}, "
                             f"{plural(failed, 'failed change')}", style="bold"), classes="dialog-title")
            table = NavTable(id="failed-table")
            yield table
            hint = "R retries the failed changes · " if failed else ""
            yield Label(Text(f"{hint}Run a fresh report (n) to verify the tenant now matches the backup · "
                             "esc closes", style="dim"))

    def on_mount(self) -> None:
        table = self.query_one("#failed-table", NavTable)
        table.add_column("Type", key="type")
        table.add_column("Object", key="object")
        table.add_column("Failure", key="failure")
        for change in self.outcome.failed:
            table.add_row(safe(change.entity_type_raw, 24), name_text(change.display_name, 30),
                          safe(change.failure_message or "(no message)", 200))
        if not self.outcome.failed:
            table.add_row(Text(""), Text("No failed changes.", style="italic"), Text(""))
        table.focus()

    def action_close(self) -> None:
        self.dismiss(False)

    def action_retry(self) -> None:
        if self.outcome.failed:
            self.dismiss(True)


class RestoreFlow(MainBase):
    """``r``: review the plan, confirm, run the recovery jobs one after another, show the outcome."""

    def action_restore(self) -> None:
        backend = self.backend
        if backend is None:
            return
        caps = backend.capabilities
        if backend.offline:
            self.notify("Offline: restoring needs Microsoft Graph.", title="Restore is disabled",
                        severity="error")
            return
        if not caps.can_restore:
            reason = caps.restore_reason or "this sign-in cannot restore"
            self.notify(clean(reason), title="Restore is disabled", severity="error", timeout=8)
            return
        if self.job_running:
            self.notify("A job is already running; only one can run per tenant.", severity="warning")
            return
        self._restore_flow(backend)

    @work(exclusive=True, exit_on_error=False, group="restore-flow", description="Restore")
    async def _restore_flow(self, backend: Backend, retry: SessionPlan | None = None) -> None:
        plan = retry if retry is not None else await asyncio.to_thread(backend.plan)
        if plan.is_empty:
            why = " (every queued object is excluded — see pane 4)" if plan.queued else ""
            self.notify(f"Nothing to restore{why}. Mark objects with space in pane 2.", severity="warning")
            return
        summary = plan.summary
        title = f"Restore {plural(summary.included, 'object')} in {plural(summary.jobs, 'recovery job')}?"
        if summary.requires_typed_confirmation:
            title += f" {summary.soft_deletes:,} will be SOFT-DELETED"
            dialog: ModalScreen[bool] = TypedConfirmDialog(title, plan_body(plan), TYPED_WORD, "Restore")
        else:
            dialog = ConfirmDialog(title, plan_body(plan), "Restore", danger=True)
        if not await self.app.push_screen_wait(dialog):
            return
        self.job = self._restore_job(backend, plan)

    @work(exit_on_error=False, group="job", description="Restore")
    async def _restore_job(self, backend: Backend, plan: SessionPlan) -> None:
        def progress(event: RestoreProgress) -> None:
            self.post_message(RestoreProgressed(event))

        outcome = await backend.restore(plan, progress)
        self.post_message(RestoreFinished(outcome, plan))

    @on(RestoreProgressed)
    def _restore_progressed(self, message: RestoreProgressed) -> None:
        event = message.progress
        text = restore_progress_text(event)
        self.status.set_slot(f"restore: batch {event.batch}/{event.batch_count} {event.phase}")
        self.job_strip.show_text(text, event.batch - 1, event.batch_count)

    @on(RestoreFinished)
    def _restore_finished(self, message: RestoreFinished) -> None:
        self.job_strip.hide()
        self.status.set_slot(None)
        outcome = message.outcome
        self.restored = True
        failed = len(outcome.failed)
        self.notify(f"Restore finished: {plural(len(outcome.jobs), 'job')}, "
                    f"{plural(failed, 'failed change')}.", title="Restore",
                    severity="warning" if failed else "information")
        self.refresh_all()
        self.changes.clear_marks()
        if self.backend is not None and self.report_id is not None:
            self.load_counts(self.backend, self.report_id)
        self._show_outcome(outcome, message.plan)

    @work(exclusive=True, exit_on_error=False, group="restore-result", description="Restore result")
    async def _show_outcome(self, outcome: RestoreResult, plan: SessionPlan) -> None:
        retry = await self.app.push_screen_wait(RestoreResultScreen(outcome))
        backend = self.backend
        if not retry or backend is None:
            return
        retry_plan = await asyncio.to_thread(backend.retry_plan, outcome, plan)
        if retry_plan.is_empty:
            self.notify("None of the failed changes can be retried (see their messages).", severity="warning")
            return
        self._restore_flow(backend, retry_plan)
