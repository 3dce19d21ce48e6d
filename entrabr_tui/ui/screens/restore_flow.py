"""Restore: plan review and confirmation, the checks around it (:mod:`.restore_guard`), batch-by-batch
progress, failed changes and retry, the verification verdict, and reviewed plan files."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static
from textual.worker import Worker

from entrabr_tui.core.planner import summary_lines
from entrabr_tui.core.text import failed_summary
from entrabr_tui.engine.events import RestoreProgress
from entrabr_tui.engine.plans import SessionPlan
from entrabr_tui.engine.restore import RestoreResult
from entrabr_tui.engine.restore_checks import LockoutCheck
from entrabr_tui.ui.backend import Backend
from entrabr_tui.ui.bindings import RESTORE_RESULT, SCREEN, bindings_of
from entrabr_tui.ui.messages import RestoreFinished, RestoreProgressed
from entrabr_tui.ui.screens.dialogs import ConfirmDialog, TypedConfirmDialog
from entrabr_tui.ui.screens.restore_guard import AfterChecks, RestoreGuardFlow, after_text
from entrabr_tui.ui.text import clean, plural
from entrabr_tui.ui.widgets.failed_changes import FailedChangesTable
from entrabr_tui.ui.widgets.status import restore_progress_text

if TYPE_CHECKING:
    from entrabr_tui.ui.screens.main import MainScreen

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

    BINDINGS: ClassVar[list[BindingType]] = bindings_of(SCREEN, RESTORE_RESULT)

    def __init__(self, outcome: RestoreResult, after: AfterChecks | None = None) -> None:
        super().__init__()
        self.outcome = outcome
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
            yield Label(Text(f"{hint}after closing, n runs a fresh report to verify the tenant matches the "
                             "backup · esc closes", style="dim"))

    def on_mount(self) -> None:
        table = self.query_one(FailedChangesTable)
        table.show(self.outcome.failed)
        table.focus()

    def action_close(self) -> None:
        self.dismiss(False)

    def action_retry(self) -> None:
        if self.outcome.failed:
            self.dismiss(True)


class RestoreFlow:
    """Restore (``r``): review the plan, confirm, run the recovery jobs one after another, show the outcome
    and offer to retry the failures. Owns the running restore job; its workers belong to ``screen``."""

    def __init__(self, screen: MainScreen, backend: Backend) -> None:
        self.screen = screen
        self.backend = backend
        self.job: Worker[None] | None = None
        self.guard = RestoreGuardFlow(screen, backend)
        self.after: AfterChecks | None = None

    @property
    def running(self) -> bool:
        return self.job is not None and self.job.is_running

    def start(self, *, from_file: bool = False) -> Worker[None] | None:
        """``r``: restore the queued objects (``from_file``: the objects of a reviewed plan file), if this
        session may; returns the worker of the flow (``None``: refused, with a toast saying why)."""
        screen, backend = self.screen, self.backend
        caps = backend.capabilities
        if backend.offline:
            screen.notify("Offline: restoring needs Microsoft Graph.", title="Restore is disabled",
                          severity="error")
            return None
        if not caps.can_restore:
            reason = caps.restore_reason or "this sign-in cannot restore"
            screen.notify(reason, title="Restore is disabled", severity="error", timeout=8)
            return None
        if screen.job_running:
            screen.notify("A job is already running; only one can run per tenant.", severity="warning")
            return None
        if from_file:
            return self.screen.run_worker(self._open_and_run, group="restore-flow", description="Restore",
                                          exclusive=True, exit_on_error=False)
        return self._review()

    async def _open_and_run(self) -> None:
        plan = await self.guard.open_plan()
        if plan is not None:
            await self._confirm_and_run(plan)

    def export_reviewed_plan(self) -> Worker[None]:
        """Write the queue's plan as a reviewed plan file (palette)."""

        async def export() -> None:
            plan = await asyncio.to_thread(self.backend.plan)
            await self.guard.export(plan)

        return self.screen.run_worker(export, group="restore-flow", description="Restore",
                                      exclusive=True, exit_on_error=False)

    def _review(self, retry: SessionPlan | None = None) -> Worker[None]:
        """Review ``retry`` (or the queue's plan) and, once confirmed, run it."""
        return self.screen.run_worker(partial(self._confirm_and_run, retry), group="restore-flow",
                                      description="Restore", exclusive=True, exit_on_error=False)

    async def _confirm_and_run(self, retry: SessionPlan | None) -> None:
        screen, backend = self.screen, self.backend
        if retry is None:
            await backend.check_sync_status(queued=True)  # what is still unknown among the queued objects
        plan = retry if retry is not None else await asyncio.to_thread(backend.plan)
        if plan.is_empty:
            why = " (every queued object is excluded — see pane 4)" if plan.queued else ""
            screen.notify(f"Nothing to restore{why}. Mark objects with space in pane 2.", severity="warning")
            return
        review = await self.guard.review(plan)
        if review is None:
            return
        plan = review.plan
        summary = plan.summary
        title = f"Restore {plural(summary.included, 'object')} in {plural(summary.jobs, 'recovery job')}?"
        if summary.requires_typed_confirmation:
            title += f" {summary.soft_deletes:,} will be SOFT-DELETED"
            dialog: ModalScreen[bool] = TypedConfirmDialog(title, plan_body(plan), TYPED_WORD, "Restore")
        else:
            dialog = ConfirmDialog(title, plan_body(plan), "Restore", danger=True)
        if not await screen.app.push_screen_wait(dialog):
            return
        checked = await self.guard.before(plan, review.recheck)
        if checked is None:
            return
        plan, lockout = checked
        self.job = screen.run_worker(partial(self._run, plan, lockout), group="job", description="Restore",
                                     exit_on_error=False)

    async def _run(self, plan: SessionPlan, lockout: LockoutCheck | None = None) -> None:
        screen = self.screen

        def progress(event: RestoreProgress) -> None:
            screen.post_message(RestoreProgressed(event))

        outcome = await self.backend.restore(plan, progress)
        self.after = await self.guard.after(plan, outcome, lockout)
        screen.post_message(RestoreFinished(outcome, plan))

    def progressed(self, event: RestoreProgress) -> None:
        screen = self.screen
        text = restore_progress_text(event)
        screen.status.set_slot(f"restore: batch {event.batch}/{event.batch_count} {event.phase}")
        countdown = partial(restore_progress_text, event) if event.retry is not None else None
        screen.job_strip.show_text(text, event.batch - 1, event.batch_count, countdown=countdown)

    def finished(self, outcome: RestoreResult, plan: SessionPlan) -> Worker[None]:
        """Say how the restore went, read everything it changed again, then show its outcome (in the worker
        returned)."""
        screen = self.screen
        screen.job_strip.hide()
        screen.status.set_slot(None)
        failed = failed_summary(outcome.failed_count, len(outcome.failed))
        screen.notify(f"Restore {outcome.outcome}: {plural(len(outcome.jobs), 'recovery job')}; {failed}.",
                      title="Restore", severity="warning" if outcome.failed or outcome.failed_count else
                      "information")
        screen.refresh_all()
        screen.changes.clear_marks()
        if screen.report_id is not None:
            screen.load_counts(self.backend, screen.report_id)
        return screen.run_worker(partial(self._show_outcome, outcome, plan), group="restore-result",
                                 description="Restore result", exclusive=True, exit_on_error=False)

    async def _show_outcome(self, outcome: RestoreResult, plan: SessionPlan) -> None:
        screen, backend = self.screen, self.backend
        retry = await screen.app.push_screen_wait(RestoreResultScreen(outcome, self.after))
        if not retry:
            return
        retry_plan = await asyncio.to_thread(backend.retry_plan, outcome, plan)
        if retry_plan.is_empty:
            screen.notify("None of the failed changes can be retried (see their messages).",
                          severity="warning")
            return
        self._review(retry_plan)

    def stop(self) -> None:
        """Stop following the running restore (it was cancelled on the service)."""
        if self.job is not None:
            self.job.cancel()
