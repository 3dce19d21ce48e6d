"""Comparing two backups in the app: backup A and B picked in pane 1 (``x`` twice), the comparison made in a
worker (reports missing for A or B are created or downloaded first, with the job strip's progress), then shown
in the Changes pane's compare tree and the Diff pane, A beside B; esc returns to the report view.

:class:`CompareFlow` is held by the main screen once a tenant is open. Marking and restoring are off while a
comparison shows (see :data:`~entrabr_tui.ui.widgets.compare_tree.MARKING_OFF`): a comparison is not a plan
of what a restore writes.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING

from textual.widgets import Input
from textual.worker import Worker

from entrabr_tui.core.compare import Comparison
from entrabr_tui.engine.backup_compare import gap_warning
from entrabr_tui.engine.events import JobProgress
from entrabr_tui.ui.backend import Backend, SnapshotEntry
from entrabr_tui.ui.messages import CompareProgressed, CompareReady
from entrabr_tui.ui.text import plural
from entrabr_tui.ui.widgets.backups import openable
from entrabr_tui.ui.widgets.compare_tree import CompareTree
from entrabr_tui.ui.widgets.group_nodes import Grouping
from entrabr_tui.ui.widgets.group_tree import GroupTree
from entrabr_tui.ui.widgets.status import job_progress_text, slot_text

if TYPE_CHECKING:
    from entrabr_tui.ui.screens.main import MainScreen


def backup_label(when: datetime | None) -> str:
    """A backup as the compare view names it: ``12-02 22:00`` (UTC), or ``?`` when its time is unknown."""
    return when.astimezone(UTC).strftime("%m-%d %H:%M") if when is not None else "?"


def comparison_notes(comparison: Comparison) -> list[str]:
    """What limits the verdict, one line each, for the top of the tree."""
    notes = [text for text in (gap_warning(comparison),) if text]
    for uncovered in comparison.uncovered:
        notes.append(f"{plural(uncovered.objects, uncovered.entity_type + ' object')} in a type only report "
                     f"{uncovered.covered_by} covers: not compared.")
    if comparison.unreadable:
        notes.append(f"{plural(len(comparison.unreadable), 'object')} with change objects that could not be "
                     "read: not compared.")
    return notes


class CompareFlow:
    """Compare two backups and show the comparison (see the module docstring). Owns the running comparison
    worker; its workers belong to ``screen``."""

    def __init__(self, screen: MainScreen, backend: Backend) -> None:
        self.screen = screen
        self.backend = backend
        self.job: Worker[None] | None = None
        #: Backups A and B of the comparison asked for (and shown).
        self.pair: tuple[SnapshotEntry, SnapshotEntry] | None = None
        #: The comparison shown (``None`` while it is made).
        self.comparison: Comparison | None = None
        #: The compare view shows in pane 2 (while the comparison is made, too).
        self.active = False
        #: The running comparison creates or downloads a report first (it holds the tenant's job slot).
        self.needs_report = False

    @property
    def tree(self) -> CompareTree:
        return self.screen.query_one(CompareTree)

    @property
    def running(self) -> bool:
        return self.job is not None and self.job.is_running

    @property
    def makes_report(self) -> bool:
        """The running comparison makes a report first (a job: only one may run per tenant)."""
        return self.running and self.needs_report

    @property
    def heads(self) -> tuple[str, str]:
        """The Diff pane's column heads: ``A 12-02 22:00`` and ``B 12-04 22:00``."""
        if self.pair is None:
            return "A", "B"
        a, b = self.pair
        return f"A {backup_label(a.snapshot.created)}", f"B {backup_label(b.snapshot.created)}"

    # -- starting --------------------------------------------------------------------------------------------
    def start(self, a: SnapshotEntry, b: SnapshotEntry) -> Worker[None] | None:
        """Compare backup ``a`` with backup ``b``; ``None`` when it cannot start now (a toast says why)."""
        screen, backend = self.screen, self.backend
        missing = [label for label, entry in (("A", a), ("B", b)) if not openable(entry)]
        if missing and backend.offline:
            screen.notify(f"Offline: backup {' and '.join(missing)} has no complete report in the cache, and "
                          "a comparison needs one of each.", title="Compare", severity="warning")
            return None
        if missing and screen.job_running:
            screen.notify(f"Backup {' and '.join(missing)} needs a difference report first, and a job is "
                          "already running (one per tenant). Press C to cancel it, or wait.", title="Compare",
                          severity="warning")
            return None
        if self.makes_report:
            screen.notify("The comparison asked for before is making a difference report: wait for it, or "
                          "press C to cancel it.", title="Compare", severity="warning")
            return None
        if self.job is not None and self.running:
            self.job.cancel()  # it only reads the cache: the newer one replaces it
        self.pair = (a, b)
        self.needs_report = bool(missing)
        self.comparison = None
        self.enter()
        waiting = (f"Comparing backup A ({backup_label(a.snapshot.created)}) with backup B "
                   f"({backup_label(b.snapshot.created)})…")
        if missing:
            waiting += (f" Backup {' and '.join(missing)} needs a difference report first: the job strip "
                        "shows its progress (the first report on a backup takes the service up to 1–2.5 h).")
        self.tree.show_message(waiting)
        self.titles()
        self.job = screen.run_worker(partial(self._run, a.snapshot.id, b.snapshot.id), group="compare",
                                     description="Compare backups", exit_on_error=False)
        return self.job

    async def _run(self, snapshot_a: str, snapshot_b: str) -> None:
        screen = self.screen

        def progress(event: JobProgress) -> None:
            screen.post_message(CompareProgressed(event))

        comparison = await self.backend.compare_backups(snapshot_a, snapshot_b, progress)
        counts = await asyncio.to_thread(comparison.counts)  # (every object: off the event loop)
        screen.post_message(CompareReady(comparison, counts))

    def progressed(self, event: JobProgress) -> None:
        """A report the comparison needs is made or downloaded: the job strip and slot show it."""
        screen = self.screen
        screen.status.set_slot(slot_text(event))
        text = job_progress_text(event)
        countdown = partial(job_progress_text, event) if event.retry is not None else None
        if event.phase == "downloading":
            screen.job_strip.show_text(text, event.downloaded, event.total, countdown=countdown)
        else:
            screen.job_strip.show_text(text, None, None, countdown=countdown)

    def ready(self, comparison: Comparison, counts: dict[str, dict[str, int]]) -> None:
        """The comparison is made: show it (if the compare view is still open)."""
        screen = self.screen
        screen.job_strip.hide()
        screen.status.set_slot(None)
        screen.load_snapshots(self.backend)  # reports made for it show in pane 1
        if not self.active:  # left while a report was made for it: that report is cached now
            screen.notify("The comparison is ready, but the compare view was left: x on the two backups in "
                          "pane 1 shows it (their reports are cached now).", title="Compare")
            return
        self.comparison = comparison
        self.tree.show(self.backend, comparison, counts, comparison_notes(comparison))
        self.titles()
        screen.diff.request_compare(self.backend, None, self.heads)
        self.tree.focus()
        moved = f", {len(comparison.moved):,} not compared (moved live)" if comparison.moved else ""
        differ = plural(len(comparison.objects), "object")
        screen.notify(f"Backup A {backup_label(comparison.a.backup_time)} ↔ B "
                      f"{backup_label(comparison.b.backup_time)}: {differ} differ{moved}. esc returns to the "
                      "report.", title="Compare")

    def ended(self) -> None:
        """The comparison did not finish (refused, failed, cancelled): the view says so; esc leaves it."""
        screen = self.screen
        screen.job_strip.hide()
        screen.status.set_slot(None)
        if self.active:
            self.tree.show_message("The comparison did not finish (see the message). esc returns to the "
                                   "report view; x on two backups in pane 1 tries again.")
        screen.load_snapshots(self.backend)

    def stop(self) -> None:
        """Stop the comparison (its report job was cancelled on the service)."""
        if self.job is not None:
            self.job.cancel()
        self.ended()

    # -- the view --------------------------------------------------------------------------------------------
    def enter(self) -> None:
        """Pane 2 shows the compare tree, pane 3 compares A with B, pane 1 says which backups they are."""
        screen = self.screen
        self.active = True
        field = screen.query_one("#filter", Input)
        field.display = False
        screen.changes.display = False
        screen.query_one(GroupTree).display = False
        self.tree.display = True
        if self.pair is not None:
            screen.backups.show_compared((self.pair[0].snapshot.id, self.pair[1].snapshot.id))
        screen.diff.request_compare(self.backend, None, self.heads)
        self.tree.focus()

    def titles(self) -> None:
        """Pane 2 and 3 titles say it is a comparison and of which backups."""
        screen = self.screen
        a, b = self.heads
        summary = self.tree.summary() if self.comparison is not None else "comparing…"
        screen.set_pane_title(2, "Compare", f"{a} ↔ {b} · {summary}")
        screen.query_one("#pane-changes").border_subtitle = "compare of two backups: marking is off"
        screen.set_pane_title(3, "Diff", f"compare {a} ↔ {b}")

    def leave(self) -> None:
        """Back to the report view as it was (the comparison stays in the backend until the next one)."""
        if not self.active:
            return
        screen = self.screen
        self.active = False
        if self.job is not None and self.running and not self.needs_report:
            self.job.cancel()  # it only reads the cache: nothing is lost
        self.tree.display = False
        grouped = screen.audit is not None and screen.audit.grouping is not Grouping.TYPE
        screen.changes.display = not grouped
        screen.query_one(GroupTree).display = grouped
        field = screen.query_one("#filter", Input)
        field.display = bool(field.value.strip())
        screen.backups.show_compared(None)
        screen.set_pane_title(2, "Changes")
        screen.set_pane_title(3, "Diff", "z zooms")
        screen.query_one("#pane-changes").border_subtitle = ""
        screen.diff.placeholder("move onto an object in pane 2")
        if grouped and screen.audit is not None:
            screen.audit.show(screen.audit.grouping)
        else:
            screen.changes.refresh_summary()
        if screen.report_id is None:  # none was open: the newest complete report opens, as at start
            screen.load_snapshots(self.backend)
        screen.action_focus_pane(2)
