"""Restore: plan review and confirmation, the checks around it (:mod:`.restore_guard`), batch-by-batch
progress, failed changes, retry and verification, and reviewed plan files."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import TYPE_CHECKING

from textual.worker import Worker

from entrabr_tui.core.plan_options import Choice
from entrabr_tui.core.text import failed_summary
from entrabr_tui.engine.errors import is_refusal
from entrabr_tui.engine.events import RestoreProgress
from entrabr_tui.ui.backend import Backend
from entrabr_tui.ui.messages import RestoreFinished, RestoreProgressed
from entrabr_tui.ui.screens.restore_dialogs import (
    BY_ID,
    RESTORE,
    RETRY,
    TYPED_WORD,
    VERIFY,
    RestoreConfirmDialog,
    RestoreResultScreen,
    backup_label,
    plan_body,
)
from entrabr_tui.ui.screens.restore_guard import AfterChecks, RestoreGuardFlow
from entrabr_tui.ui.text import plural
from entrabr_tui.ui.widgets.status import restore_progress_text

if TYPE_CHECKING:
    from entrabr_tui.engine.plans import SessionPlan
    from entrabr_tui.engine.restore import RestoreResult
    from entrabr_tui.engine.restore_checks import LockoutCheck
    from entrabr_tui.ui.screens.main import MainScreen


class RestoreFlow:
    """Restore (``r``): review the plan, confirm, run the recovery jobs one after another, show the outcome
    and offer to retry the failures or verify with a fresh report. Owns the running restore job; its workers
    belong to ``screen``.

    Nothing is refused from the sign-in's token alone: a sign-in the token says cannot restore sees why in
    the confirmation, and the service's answer (a 403) is shown when it comes.
    """

    def __init__(self, screen: MainScreen, backend: Backend) -> None:
        self.screen = screen
        self.backend = backend
        self.job: Worker[None] | None = None
        #: The latest progress of the running restore (which batch of how many).
        self.progress: RestoreProgress | None = None
        self.guard = RestoreGuardFlow(screen, backend)
        self.after: AfterChecks | None = None

    @property
    def running(self) -> bool:
        return self.job is not None and self.job.is_running

    @property
    def batches_left(self) -> int:
        """Batches of the running restore not submitted yet (they never will be if the app stops now)."""
        if not self.running or self.progress is None:
            return 0
        return max(0, self.progress.batch_count - self.progress.batch)

    def start(self, *, from_file: bool = False) -> Worker[None] | None:
        """``r``: restore the queued objects (``from_file``: the objects of a reviewed plan file); returns the
        worker of the flow (``None``: refused, with a toast saying why). Nothing is refused from the token's
        claims: the service decides, and its refusal is shown."""
        screen, backend = self.screen, self.backend
        if backend.offline:
            screen.notify("Offline: restoring needs Microsoft Graph.", title="Restore is not possible",
                          severity="error")
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
        answer = await screen.app.push_screen_wait(self._dialog(plan))
        if answer == BY_ID and plan.choices is not None:
            plan = plan.with_choice(Choice.BY_ID)
            answer = await screen.app.push_screen_wait(self._dialog(plan))
        if answer != RESTORE:
            return
        checked = await self.guard.before(plan, review.recheck)
        if checked is None:
            return
        plan, lockout = checked
        self.progress = None
        self.after = None
        self.job = screen.run_worker(partial(self._run, plan, lockout), group="job", description="Restore",
                                     exit_on_error=False)

    def _dialog(self, plan: SessionPlan) -> RestoreConfirmDialog:
        summary = plan.summary
        backup = self.screen.backup_time(plan.snapshot_id)
        title = (f"Restore {plural(summary.included, 'object')} to {backup_label(backup)} in "
                 f"{plural(summary.jobs, 'recovery job')}?")
        if summary.requires_typed_confirmation:
            title += f" {summary.soft_deletes:,} will be SOFT-DELETED"
        caps = self.backend.capabilities
        refusal = None if caps.can_restore else (caps.restore_reason or "this sign-in may not restore")
        return RestoreConfirmDialog(title, plan_body(plan, refusal),
                                    typed_word=TYPED_WORD if summary.requires_typed_confirmation else None,
                                    by_id=bool(summary.whole_types) and plan.choices is not None)

    async def _run(self, plan: SessionPlan, lockout: LockoutCheck | None = None) -> None:
        screen = self.screen

        def progress(event: RestoreProgress) -> None:
            screen.post_message(RestoreProgressed(event))

        try:
            outcome = await self.backend.restore(plan, progress)
        except Exception as exc:
            if not is_refusal(exc):
                raise
            self.ended()
            screen.notify(str(exc), title="The service refused the restore", severity="error", timeout=20)
            return
        self.after = await self.guard.after(plan, outcome, lockout)
        screen.post_message(RestoreFinished(outcome, plan))

    def progressed(self, event: RestoreProgress) -> None:
        screen = self.screen
        self.progress = event
        text = restore_progress_text(event)
        screen.status.set_slot(f"restore: batch {event.batch}/{event.batch_count} {event.phase}")
        countdown = partial(restore_progress_text, event) if event.retry is not None else None
        screen.job_strip.show_text(text, event.batch - 1, event.batch_count, countdown=countdown)

    def ended(self) -> None:
        """The restore stopped without a result (refused, failed, cancelled): clear its progress."""
        self.progress = None
        self.screen.job_strip.hide()
        self.screen.status.set_slot(None)

    def finished(self, outcome: RestoreResult, plan: SessionPlan) -> Worker[None]:
        """Say how the restore went, read everything it changed again (the queue, the marks, what each
        object's last restore did), then show its outcome (in the worker returned)."""
        screen = self.screen
        self.ended()
        failed = failed_summary(outcome.failed_count, len(outcome.failed))
        screen.notify(f"Restore {outcome.outcome}: {plural(len(outcome.jobs), 'recovery job')}; {failed}.",
                      title="Restore", severity="warning" if outcome.failed or outcome.failed_count else
                      "information")
        screen.refresh_all()
        if screen.marks is not None:
            screen.marks.load_restore_marks()
        return screen.run_worker(partial(self._show_outcome, outcome, plan), group="restore-result",
                                 description="Restore result", exclusive=True, exit_on_error=False)

    async def _show_outcome(self, outcome: RestoreResult, plan: SessionPlan) -> None:
        screen, backend = self.screen, self.backend
        answer = await screen.app.push_screen_wait(
            RestoreResultScreen(outcome, screen.backup_time(plan.snapshot_id), self.after))
        if answer == VERIFY:
            entry = screen.backup_entry(plan.snapshot_id)
            if entry is None or screen.reports is None:
                screen.notify("That backup is no longer listed.", severity="warning")
                return
            screen.reports.start(entry, ask_scope=True, fresh=True)
            return
        if answer != RETRY:
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
        self.ended()
