"""New difference report: the scope dialog, and the flow that runs the job with live progress and downloads
the report into the cache."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Label, RadioSet
from textual.worker import Worker

from entrabr_tui.core.model import (
    MAX_IDS_PER_JOB,
    EntityNameAndIdsFilter,
    EntityNamesFilter,
    FilteringCriteria,
    ResourceType,
)
from entrabr_tui.engine.errors import is_refusal
from entrabr_tui.engine.events import JobProgress
from entrabr_tui.ui.backend import Backend, CachedReportView, QueueEntry, SnapshotEntry
from entrabr_tui.ui.bindings import SCOPE_DIALOG, SCREEN, bindings_of
from entrabr_tui.ui.messages import ReportProgressed, ReportReady
from entrabr_tui.ui.text import plural
from entrabr_tui.ui.widgets.status import job_progress_text, slot_text
from entrabr_tui.ui.widgets.toggles import TextCheckbox, TextChecklist, TextRadioButton

if TYPE_CHECKING:
    from entrabr_tui.ui.screens.main import MainScreen


@dataclass(frozen=True)
class ScopeChoice:
    """The scope picked in the dialog (``None`` = every supported object), and whether to skip reuse."""

    scope: FilteringCriteria | None
    fresh: bool = False


def marked_scope(entries: Sequence[QueueEntry]) -> EntityNameAndIdsFilter:
    """The queued objects as a type+IDs scope (one entry per type)."""
    by_type: dict[str, list[str]] = {}
    for entry in entries:
        by_type.setdefault(entry.entity_type, []).append(entry.id)
    return EntityNameAndIdsFilter(tuple((t, tuple(ids)) for t, ids in sorted(by_type.items())))


class ScopeDialog(ModalScreen[ScopeChoice | None]):
    """Pick what the new report covers: everything, chosen types, or the marked objects."""

    BINDINGS: ClassVar[list[BindingType]] = bindings_of(SCREEN, SCOPE_DIALOG)

    def __init__(self, snapshot: SnapshotEntry, marked: Sequence[QueueEntry], *, fresh: bool = False) -> None:
        super().__init__()
        self.snapshot = snapshot
        self.marked = list(marked)
        self.fresh = fresh

    def compose(self) -> ComposeResult:
        created = self.snapshot.snapshot.created.strftime("%Y-%m-%d %H:%M UTC")
        with Vertical(classes="dialog", id="scope-dialog"):
            yield Label(Text(f"New difference report against the backup of {created}", style="bold"),
                        classes="dialog-title")
            with VerticalScroll(classes="dialog-body"):
                yield from self._choices()
            with Horizontal(classes="dialog-buttons"):
                yield Button(Text("Cancel (esc)"), id="cancel", compact=True)
                yield Button(Text("Create report (ctrl+s)"), id="create", variant="primary", compact=True)
        yield Footer()

    def _choices(self) -> ComposeResult:
        marked_ok = 0 < len(self.marked) <= MAX_IDS_PER_JOB
        yield Label(Text("The first report on a backup loads it: up to 1–2.5 h, then about 45 min per "
                         "100,000 changes. An existing successful report is reused.", style="dim"))
        with RadioSet(id="scope-kind"):
            yield TextRadioButton(Text("All objects"), value=True, id="scope-all")
            yield TextRadioButton(Text("Chosen types"), id="scope-types")
            label = f"Marked objects ({plural(len(self.marked), 'object')}"
            label += ")" if marked_ok else f"; 1–{MAX_IDS_PER_JOB:,} allowed)"
            yield TextRadioButton(Text(label), id="scope-marked", disabled=not marked_ok)
        types = [t.value for t in ResourceType if t is not ResourceType.UNKNOWN_FUTURE_VALUE]
        yield TextChecklist(*[(Text(t), t) for t in types], id="scope-type-list")
        yield TextCheckbox(Text("New report even if one is cached (to verify a restore)"), self.fresh,
                           id="scope-fresh")

    def on_mount(self) -> None:
        self.query_one("#scope-type-list", TextChecklist).disabled = True
        self.query_one(RadioSet).focus()

    @on(RadioSet.Changed)
    def _kind(self, event: RadioSet.Changed) -> None:
        self.query_one("#scope-type-list", TextChecklist).disabled = event.pressed.id != "scope-types"

    @on(Button.Pressed, "#create")
    def action_create(self) -> None:
        pressed = self.query_one(RadioSet).pressed_button
        kind = pressed.id if pressed is not None else "scope-all"
        if kind == "scope-types":
            chosen = tuple(self.query_one("#scope-type-list", TextChecklist).selected)
            if not chosen:
                self.notify("Choose at least one type (space toggles).", severity="warning")
                return
            self.dismiss(ScopeChoice(EntityNamesFilter(chosen), self._fresh))
        elif kind == "scope-marked":
            self.dismiss(ScopeChoice(marked_scope(self.marked), self._fresh))
        else:
            self.dismiss(ScopeChoice(None, self._fresh))

    @property
    def _fresh(self) -> bool:
        return self.query_one("#scope-fresh", TextCheckbox).value

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class ReportFlow:
    """New report (``n``) and opening a backup's report: the scope dialog, the report job with live progress,
    the download into the cache. Owns the running report job; its workers belong to ``screen``.

    A report never replaces the one being read: when another report is on screen as it finishes, a toast
    offers it (``o`` opens it). Nothing is refused from the sign-in's token alone: the service decides, and
    a refusal leaves the screen as it was (no half-made report), with the service's answer shown.
    """

    def __init__(self, screen: MainScreen, backend: Backend) -> None:
        self.screen = screen
        self.backend = backend
        self.job: Worker[None] | None = None
        #: A restore ran since the last fresh report: the next report should not reuse a cached one.
        self.restored = False
        #: The backup the running (or last) report is for.
        self.target: SnapshotEntry | None = None
        #: A report that finished while another one was on screen, waiting for ``o``.
        self.ready_report: CachedReportView | None = None
        #: Reports this flow made fresh (to verify a restore): the queue follows them when they open.
        self.fresh_ids: set[str] = set()
        #: The report of the running job shown as it downloads (the pane showed nothing else).
        self.downloading_id: str | None = None

    @property
    def running(self) -> bool:
        return self.job is not None and self.job.is_running

    def new_report(self) -> None:
        """``n``: a report against a backup, asking for its scope: the highlighted backup in pane 1, else the
        backup of the report on screen."""
        screen = self.screen
        entry = screen.backups.current_entry if screen.backups.has_focus else None
        entry = entry or screen.snapshot or screen.backups.current_entry
        if entry is None:
            screen.notify("No backup to compare against yet.", severity="warning")
            return
        self.start(entry, ask_scope=True)

    def start(self, entry: SnapshotEntry, *, ask_scope: bool, fresh: bool = False) -> Worker[None] | None:
        """Create (or reuse, or finish downloading) the report for ``entry``; returns the worker of the flow
        (``None``: not possible now, with a toast saying why). ``fresh`` ticks "new report even if one is
        cached" in the scope dialog (a report to verify a restore)."""
        screen, backend = self.screen, self.backend
        if backend.offline and (entry.report is None or not entry.report.complete):
            screen.notify("Offline: only reports already in the cache can be opened.", title="Offline",
                          severity="warning")
            return None
        if screen.job_running:
            screen.notify("A job is already running; only one can run per tenant. Press C to cancel it.",
                          severity="warning")
            return None
        return screen.run_worker(partial(self._choose_and_run, entry, ask_scope, fresh), group="report-flow",
                                 description="New report", exclusive=True, exit_on_error=False)

    async def _choose_and_run(self, entry: SnapshotEntry, ask_scope: bool, fresh: bool) -> None:
        screen, backend = self.screen, self.backend
        scope: FilteringCriteria | None = None
        if ask_scope:
            marked = await asyncio.to_thread(backend.queue)
            choice = await screen.app.push_screen_wait(ScopeDialog(entry, marked,
                                                                   fresh=fresh or self.restored))
            if choice is None:
                return
            scope, fresh = choice.scope, choice.fresh
        self.target = entry
        self.downloading_id = None
        if screen.report_id is None:
            screen.backups.mark_selected(entry.snapshot.id)
            screen.changes.show_message("Waiting for the difference report…")
        self.job = screen.run_worker(partial(self._run, entry.snapshot.id, scope, fresh), group="job",
                                     description="Difference report", exit_on_error=False)

    async def _run(self, snapshot_id: str, scope: FilteringCriteria | None, fresh: bool) -> None:
        screen = self.screen

        def progress(event: JobProgress) -> None:
            screen.post_message(ReportProgressed(event))

        try:
            report = await self.backend.ensure_report(snapshot_id, scope, progress, fresh=fresh)
        except Exception as exc:
            if not is_refusal(exc):
                raise
            self.ended("Not created: the service refused the difference report. n tries again.")
            screen.notify(str(exc), title="The service refused the report", severity="error", timeout=20)
            return
        if fresh:
            self.restored = False
            self.fresh_ids.add(report.id)
        screen.post_message(ReportReady(report))

    def _shows_this_job(self, job_id: str | None) -> bool:
        """The Changes pane shows nothing else: the report of this job may show (as it downloads, too)."""
        shown = self.screen.report_id
        return shown is None or (job_id is not None and shown == job_id) or shown == self.downloading_id

    def progressed(self, event: JobProgress) -> None:
        """Show the job's progress; once it downloads, its changes show as they arrive unless another report
        is on screen."""
        screen = self.screen
        text = job_progress_text(event)
        screen.status.set_slot(slot_text(event))
        countdown = partial(job_progress_text, event) if event.retry is not None else None
        if event.phase == "downloading":
            screen.job_strip.show_text(text, event.downloaded, event.total, countdown=countdown)
            if event.job_id and self._shows_this_job(event.job_id):
                self.downloading_id = event.job_id
                screen.open_report(event.job_id, downloading=True)
        else:
            screen.job_strip.show_text(text, None, None, countdown=countdown)

    def ready(self, report: CachedReportView) -> None:
        """The report is in the cache: show it, or offer it when another report is being read."""
        screen = self.screen
        screen.job_strip.hide()
        screen.status.set_slot(None)
        total = report.total if report.total is not None else report.downloaded
        when = screen.backup_time(report.snapshot_id)
        label = f"{when:%m-%d %H:%M}" if when is not None else "The"
        if not report.complete:  # never shown as complete: what arrived is shown, the title says how far
            self._open(report)
            screen.notify(f"{label} difference report {report.state_text}. Open it again to download it "
                          "again.", title="Report incomplete", severity="warning", timeout=15)
        elif self._shows_this_job(report.id):
            self._open(report)
            screen.notify(f"{label} difference report ready: {plural(total, 'change')}.", title="Report")
        else:
            self.ready_report = report
            screen.refresh_bindings()
            screen.notify(f"{label} report ready ({plural(total, 'change')}) — press o to open it.",
                          title="Report", timeout=30)
        screen.load_snapshots(self.backend)

    def open_ready(self) -> bool:
        """``o``: open the report that finished in the background; ``False`` when there is none."""
        report, self.ready_report = self.ready_report, None
        if report is None:
            return False
        self._open(report)
        self.screen.refresh_bindings()
        self.screen.changes.focus()
        return True

    def _open(self, report: CachedReportView) -> None:
        """Show a report this flow made; a fresh one (a verification) takes over the queue of the report it
        verifies."""
        screen = self.screen
        screen.open_report(report.id, report)
        if report.id in self.fresh_ids and screen.marks is not None:
            screen.marks.follow_report(report.id)

    def ended(self, message: str = "No report open: press n for a new one, or enter on a backup.") -> None:
        """The report job stopped without a report (refused, failed, cancelled): clear its progress; a pane
        that was waiting for it says so (no half-made report is shown)."""
        screen = self.screen
        screen.job_strip.hide()
        screen.status.set_slot(None)
        if screen.report_id is None:
            screen.changes.show_message(message)
            screen.backups.mark_selected(screen.snapshot.snapshot.id if screen.snapshot is not None else None)
        screen.load_snapshots(self.backend)

    def stop(self) -> None:
        """Stop following the running report job (it was cancelled on the service)."""
        if self.job is not None:
            self.job.cancel()
        self.ended("Report cancelled: press n for a new one, or enter on a backup.")
