"""New difference report: choose the scope, run the job with live progress, download into the cache."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Label, RadioButton, RadioSet, SelectionList

from entrabr_tui.core.model import (
    MAX_IDS_PER_JOB,
    EntityNameAndIdsFilter,
    EntityNamesFilter,
    FilteringCriteria,
    ResourceType,
)
from entrabr_tui.engine.events import JobProgress
from entrabr_tui.ui.backend import Backend, QueueEntry, SnapshotEntry
from entrabr_tui.ui.messages import ReportProgressed, ReportReady
from entrabr_tui.ui.screens.dialogs import ConfirmDialog
from entrabr_tui.ui.screens.main_base import MainBase
from entrabr_tui.ui.text import clean, plural
from entrabr_tui.ui.widgets.status import job_progress_text, slot_text


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

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="scope-cancel"),
        Binding("ctrl+s", "create", "Create report", priority=True, id="scope-create"),
    ]

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
                yield Button("Cancel (esc)", id="cancel", compact=True)
                yield Button("Create report (ctrl+s)", id="create", variant="primary", compact=True)

    def _choices(self) -> ComposeResult:
        marked_ok = 0 < len(self.marked) <= MAX_IDS_PER_JOB
        yield Label(Text("The first report on a backup loads it: up to 1–2.5 h, then about 45 min per "
                         "100,000 changes. An existing successful report is reused.", style="dim"))
        with RadioSet(id="scope-kind"):
            yield RadioButton("All objects", value=True, id="scope-all")
            yield RadioButton("Chosen types", id="scope-types")
            label = f"Marked objects ({plural(len(self.marked), 'object')}"
            label += ")" if marked_ok else f"; 1–{MAX_IDS_PER_JOB} allowed)"
            yield RadioButton(label, id="scope-marked", disabled=not marked_ok)
        types = [t.value for t in ResourceType if t is not ResourceType.UNKNOWN_FUTURE_VALUE]
        yield SelectionList[str](*[(t, t) for t in types], id="scope-type-list")
        yield Checkbox("New report even if one is cached (to verify a restore)", self.fresh, id="scope-fresh")

    def on_mount(self) -> None:
        self.query_one("#scope-type-list", SelectionList).disabled = True
        self.query_one(RadioSet).focus()

    @on(RadioSet.Changed)
    def _kind(self, event: RadioSet.Changed) -> None:
        self.query_one("#scope-type-list", SelectionList).disabled = event.pressed.id != "scope-types"

    @on(Button.Pressed, "#create")
    def action_create(self) -> None:
        pressed = self.query_one(RadioSet).pressed_button
        kind = pressed.id if pressed is not None else "scope-all"
        if kind == "scope-types":
            chosen = tuple(self.query_one("#scope-type-list", SelectionList).selected)
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
        return self.query_one("#scope-fresh", Checkbox).value

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class ReportFlow(MainBase):
    """New report (``n``), opening a snapshot's report, progress, and cancelling the job (``C``)."""

    def action_new_report(self) -> None:
        if self.backend is None:
            return
        entry = self.backups.current_entry or self.snapshot
        if entry is None:
            self.notify("No backup to compare against yet.", severity="warning")
            return
        self.start_report(entry, ask_scope=True)

    def start_report(self, entry: SnapshotEntry, *, ask_scope: bool) -> None:
        """Create (or reuse, or finish downloading) the report for ``entry``."""
        backend = self.backend
        if backend is None:
            return
        caps = backend.capabilities
        if backend.offline and (entry.report is None or not entry.report.complete):
            self.notify("Offline: only reports already in the cache can be opened.", title="Offline",
                        severity="warning")
            return
        if ask_scope and not caps.can_create_report:
            reason = caps.report_reason or "this sign-in cannot create difference reports"
            self.notify(clean(reason), title="New report is disabled", severity="error", timeout=8)
            return
        if self.job_running:
            self.notify("A job is already running; only one can run per tenant. Press C to cancel it.",
                        severity="warning")
            return
        self.snapshot = entry
        self.backups.mark_selected(entry.snapshot.id)
        self._report_flow(backend, entry, ask_scope)

    @work(exclusive=True, exit_on_error=False, group="report-flow", description="New report")
    async def _report_flow(self, backend: Backend, entry: SnapshotEntry, ask_scope: bool) -> None:
        scope: FilteringCriteria | None = None
        fresh = False
        if ask_scope:
            marked = await asyncio.to_thread(backend.queue)
            choice = await self.app.push_screen_wait(ScopeDialog(entry, marked, fresh=self.restored))
            if choice is None:
                return
            scope, fresh = choice.scope, choice.fresh
        self.report_id = None
        self.changes.show_message("Waiting for the difference report…")
        self.job = self._report_job(backend, entry.snapshot.id, scope, fresh)

    @work(exit_on_error=False, group="job", description="Difference report")
    async def _report_job(self, backend: Backend, snapshot_id: str, scope: FilteringCriteria | None,
                          fresh: bool) -> None:
        def progress(event: JobProgress) -> None:
            self.post_message(ReportProgressed(event))

        report = await backend.ensure_report(snapshot_id, scope, progress, fresh=fresh)
        if fresh:
            self.restored = False
        self.post_message(ReportReady(report))

    @on(ReportProgressed)
    def _report_progressed(self, message: ReportProgressed) -> None:
        event = message.progress
        text = job_progress_text(event)
        self.status.set_slot(slot_text(event))
        if event.phase == "downloading":
            self.job_strip.show_text(text, event.downloaded, event.total)
            if event.job_id and self.backend is not None:
                self.open_report(event.job_id, downloading=True)
        else:
            self.job_strip.show_text(text, None, None)

    @on(ReportReady)
    def _report_ready(self, message: ReportReady) -> None:
        self.job_strip.hide()
        self.status.set_slot(None)
        report = message.report
        self.open_report(report.id, report)
        total = report.total if report.total is not None else report.downloaded
        self.notify(f"Difference report ready: {plural(total, 'change')}.", title="Report")
        if self.backend is not None:
            self.load_snapshots(self.backend)

    def action_cancel_job(self) -> None:
        if not self.job_running:
            self.notify("No job is running.")
            return
        self._cancel_flow()

    @work(exclusive=True, exit_on_error=False, group="cancel-flow", description="Cancel job")
    async def _cancel_flow(self) -> None:
        ok = await self.app.push_screen_wait(ConfirmDialog(
            "Cancel the running job?",
            "The service stops it as soon as it can. Changes a restore already applied stay applied.",
            "Cancel job", danger=True))
        if not ok or self.backend is None:
            return
        await self.backend.cancel()
        if self.job is not None:
            self.job.cancel()
        self.job_strip.hide()
        self.status.set_slot(None)
        self.notify("Job cancelled.", title="Job")
