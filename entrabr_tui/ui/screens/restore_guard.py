"""The checks around a restore in the app: the plan's options, the recheck, the lockout guard, the
verification after it, and reviewed plan files.

:class:`RestoreGuardFlow` is the restore flow's collaborator for everything but running the jobs:

1. the plan compared (:class:`~entrabr_tui.ui.screens.plan_review.PlanReviewScreen`): its options, the
   one-key fix of missing dependencies, the recheck switched off (recorded), the plan exported as a reviewed
   plan file for a second person;
2. before the restore: the recheck (a fresh preview of the plan's objects) and, when objects moved, the
   admin's answer (:class:`~entrabr_tui.ui.screens.recheck_dialog.RecheckDialog`); the break-glass accounts,
   asked once on the first restore that touches policies; the lockout check, whose findings need the
   policies' names typed (:class:`~entrabr_tui.ui.screens.lockout_dialog.LockoutWarning`);
3. after it: the verification preview and the lockout check again, shown on the result screen.

All service work goes through the :class:`~entrabr_tui.ui.backend.Backend`; blocking calls run in threads.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text

from entrabr_tui.core.verification import Verification
from entrabr_tui.engine.errors import PlanRefusedError
from entrabr_tui.engine.events import JobProgress
from entrabr_tui.ui.backend import Backend
from entrabr_tui.ui.screens.dialogs import ExportPathDialog
from entrabr_tui.ui.screens.lockout_dialog import BreakGlassDialog, LockoutWarning
from entrabr_tui.ui.screens.plan_review import PlanFileDialog, PlanReview, PlanReviewScreen
from entrabr_tui.ui.screens.recheck_dialog import RecheckDialog
from entrabr_tui.ui.text import clean, plural
from entrabr_tui.ui.widgets.status import job_progress_text, slot_text

if TYPE_CHECKING:  # (these load the Graph SDK: the app paints before it is loaded)
    from entrabr_tui.engine.plans import SessionPlan
    from entrabr_tui.engine.restore import RestoreResult
    from entrabr_tui.engine.restore_checks import LockoutCheck
    from entrabr_tui.ui.screens.main import MainScreen


@dataclass(frozen=True)
class AfterChecks:
    """What the checks after a restore found (``None``: that check did not run)."""

    verification: Verification | None = None
    lockout_after: LockoutCheck | None = None


class RestoreGuardFlow:
    """The checks around the app's restores (see the module docstring); its dialogs belong to ``screen``."""

    def __init__(self, screen: MainScreen, backend: Backend) -> None:
        self.screen = screen
        self.backend = backend

    def _progress(self, event: JobProgress) -> None:
        screen = self.screen
        screen.status.set_slot(slot_text(event))
        screen.job_strip.show_text(job_progress_text(event), None, None)

    def _done(self) -> None:
        self.screen.job_strip.hide()
        self.screen.status.set_slot(None)

    # -- 1. the plan --------------------------------------------------------------------------------------
    async def review(self, plan: SessionPlan) -> PlanReview | None:
        """The plan's options until the admin chooses one (``None``: back). Missing dependencies can be
        queued (the queue is planned again) and the plan exported, without leaving the screen for good."""
        screen, backend = self.screen, self.backend
        recheck = True
        while True:
            source = _source(plan)
            review = await screen.app.push_screen_wait(
                PlanReviewScreen(plan, screen.clock().astimezone(), recheck=recheck, source=source))
            if review is None:
                return None
            recheck = review.recheck
            if review.action == "fix-dependencies":
                added = await asyncio.to_thread(backend.queue_dependencies, review.plan)
                screen.notify(f"{plural(added, 'object')} the plan depends on queued.", title="Restore plan")
                if plan.reviewed_plan is None:
                    plan = await asyncio.to_thread(backend.plan)
                    screen.load_queue(backend)
                continue
            if review.action == "export":
                await self.export(review.plan)
                plan = review.plan
                continue
            return review

    async def export(self, plan: SessionPlan) -> None:
        """Ask where, then write ``plan`` as a reviewed plan file (a new file, never over another)."""
        screen, backend = self.screen, self.backend
        if plan.is_empty:
            screen.notify("Nothing to export: the plan restores nothing.", severity="warning")
            return
        app = screen.app
        folder = getattr(app, "export_directory", Path.home())
        default = Path(folder) / f"restore-plan-{screen.clock():%Y%m%d-%H%M%S}.json"
        title = "Export the restore plan as a reviewed plan file"
        chosen = await app.push_screen_wait(ExportPathDialog(title, default))
        if chosen is None:
            return
        try:
            digest = await asyncio.to_thread(backend.export_plan, plan, chosen)
        except Exception as exc:
            screen.notify(clean(str(exc))[:300], title="Not exported", severity="error", timeout=10,
                          markup=False)
            return
        screen.notify(f"Reviewed plan written to {clean(str(chosen))} (SHA-256 {digest[:16]}…). A second "
                      "person opens it from the command palette to apply it.", title="Exported", timeout=10,
                      markup=False)

    async def open_plan(self) -> SessionPlan | None:
        """Ask for a reviewed plan file and read it (refusals are said, with the reason)."""
        screen = self.screen
        app = screen.app
        folder = getattr(app, "export_directory", Path.home())
        chosen = await app.push_screen_wait(PlanFileDialog(Path(folder)))
        if chosen is None:
            return None
        try:
            return await self.backend.open_plan(chosen)
        except PlanRefusedError as exc:
            screen.notify(clean(exc.message)[:400], title=f"Plan refused ({exc.reason.value})",
                          severity="error", timeout=15, markup=False)
            return None

    # -- 2. before the restore ----------------------------------------------------------------------------
    async def before(self, plan: SessionPlan, recheck: bool) -> tuple[SessionPlan, LockoutCheck] | None:
        """Recheck, break-glass accounts, lockout: the plan to restore and the lockout check, or ``None``
        when the admin went back (nothing restored)."""
        screen, backend = self.screen, self.backend
        if recheck:
            try:
                found = await backend.recheck(plan, self._progress)
            finally:
                self._done()
            choice = "accept" if found.clean else await screen.app.push_screen_wait(RecheckDialog(found))
            settled = await asyncio.to_thread(backend.settle_recheck, plan, found, choice)
            if settled is None:
                screen.notify("Nothing was restored.", title="Went back")
                return None
            if settled.is_empty:
                screen.notify("Nothing is left to restore after the recheck.", severity="warning")
                return None
            plan = settled
        else:
            await asyncio.to_thread(backend.skip_recheck, plan)
        if await asyncio.to_thread(backend.break_glass_wanted, plan):
            answer = await screen.app.push_screen_wait(BreakGlassDialog())
            if answer is not None:
                await asyncio.to_thread(partial(backend.set_break_glass, *answer))
        check = await backend.lockout_check(plan)
        if check.needs_confirmation:
            typed = await screen.app.push_screen_wait(LockoutWarning(check))
            confirmed = typed is not None and await asyncio.to_thread(backend.confirm_lockout, check, typed)
            if not confirmed:
                screen.notify("Nothing was restored.", title="Lockout not confirmed", severity="warning")
                return None
        elif check.findings or check.note:
            screen.notify(clean(check.summary)[:300], title="Lockout check", severity="warning", timeout=10,
                          markup=False)
        return plan, check

    # -- 3. after the restore -----------------------------------------------------------------------------
    async def after(self, plan: SessionPlan, outcome: RestoreResult,
                    check: LockoutCheck | None) -> AfterChecks:
        """The verification preview and the lockout check again (errors are results, never raised)."""
        backend = self.backend
        verification: Verification | None = None
        if not outcome.cancelled and outcome.jobs:
            try:
                verification = await backend.verify_restore(plan, outcome, self._progress)
            finally:
                self._done()
        lockout_after = None
        if check is not None and check.policies:
            try:
                lockout_after = await backend.lockout_after(check)
            except Exception as exc:  # the restore ran: say the check failed rather than lose the outcome
                from entrabr_tui.engine.restore_checks import LockoutCheck  # loaded by the session by now

                lockout_after = LockoutCheck(note=f"The check after the restore failed: {exc}",
                                             after_restore=True)
        return AfterChecks(verification, lockout_after)


def _source(plan: SessionPlan) -> Text | None:
    reviewed = plan.reviewed_plan
    if reviewed is None:
        return None
    text = Text("A reviewed plan: reviewed by ", style="bold")
    text.append(clean(reviewed.reviewer)[:120])
    text.append(f" at {reviewed.reviewed_at:%Y-%m-%d %H:%M}Z")
    return text


def after_text(after: AfterChecks | None) -> Text:
    """The verdicts of the checks after a restore, for the result screen (names shown literally)."""
    text = Text()
    if after is None:
        return text
    verification = after.verification
    if verification is not None:
        style = "bold" if verification.drifted else ""
        text.append(clean(verification.summary) + "\n", style=style)
        for item in verification.drifted[:20]:
            text.append("  drifted during recovery: ")
            text.append(clean(f"{item.entity_type} {item.display_name or item.id} ({item.detail})")[:200])
            text.append("\n")
    if after.lockout_after is not None:
        text.append(clean(after.lockout_after.summary) + "\n")
        for finding in after.lockout_after.findings[:10]:
            text.append("  ")
            text.append(clean(finding.text)[:300])
            text.append("\n")
    return text
