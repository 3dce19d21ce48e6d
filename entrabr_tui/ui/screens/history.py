"""History: the service's jobs (both kinds) and the local log of every action taken in the app."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, Label

from entrabr_tui.core.model import Change, Job, JobKind, RecoveryStatus
from entrabr_tui.core.text import failed_summary
from entrabr_tui.ui.backend import Backend, LogEntry
from entrabr_tui.ui.bindings import HISTORY, SCREEN, bindings_of
from entrabr_tui.ui.screens.failed_changes import FailedChangesScreen
from entrabr_tui.ui.text import clean, format_duration, keep_input_literal, safe
from entrabr_tui.ui.widgets.tables import NavTable


def job_outcome(job: Job) -> str:
    """A restore job's state in the words the restore result uses (``completed with failures`` …)."""
    if job.kind is JobKind.PREVIEW or not job.is_terminal:
        return job.status_raw
    if job.status is RecoveryStatus.ABANDONED:
        return "cancelled"
    if job.status is RecoveryStatus.FAILED:
        return "failed"
    return "completed with failures" if job.total_failed_changes else "succeeded"


def job_cells(job: Job, failed_objects: int | None = None) -> tuple[str, ...]:
    """The row of one job; ``failed_objects`` counts the failed objects kept in the cache (restores)."""
    kind = "report" if job.kind is JobKind.PREVIEW else "restore"
    started = f"{job.started:%Y-%m-%d %H:%M}" if job.started else "—"
    took = "—"
    if job.started and job.completed:
        took = format_duration((job.completed - job.started).total_seconds())
    if job.kind is JobKind.PREVIEW:
        counts = f"{job.total_changed_objects or 0:,} objects, {job.total_changed_links or 0:,} links"
    else:
        counts = f"{job.total_objects_modified or 0:,} modified; " + failed_summary(
            job.total_failed_changes or 0, failed_objects)
        if failed_objects:
            counts += " (enter)"
    return kind, job_outcome(job), started, took, counts, job.id


def log_cells(entry: LogEntry) -> tuple[str, ...]:
    return (f"{entry.at:%Y-%m-%d %H:%M:%S}", entry.identity or "—", entry.action, entry.detail or "",
            entry.outcome or "", entry.job_id or "")


class HistoryScreen(Screen[None]):
    """Two tables with one filter: ``/`` focuses it, esc or q goes back."""

    BINDINGS: ClassVar[list[BindingType]] = bindings_of(SCREEN, HISTORY)

    def __init__(self, backend: Backend) -> None:
        super().__init__()
        self.backend = backend
        self.jobs: list[Job] = []
        self.entries: list[LogEntry] = []
        #: Failed changes kept in the cache, by restore job id.
        self.failed: dict[str, list[Change]] = {}
        #: The jobs shown, in table order (the filter hides some).
        self._shown_jobs: list[Job] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="pane", id="history-jobs") as jobs:
            jobs.border_title = "Jobs on the service"
            yield NavTable(id="jobs-table")
        with Vertical(classes="pane", id="history-log") as actions:
            actions.border_title = "Actions taken in this app"
            yield NavTable(id="log-table")
        yield Input(placeholder="filter (any column)", id="history-filter-input")
        yield Label(Text("enter on a restore job shows its failed changes · job details expire on the "
                         "service 5–7 days after completion.", style="dim"))
        yield Footer()

    def on_mount(self) -> None:
        jobs = self.query_one("#jobs-table", NavTable)
        for name in ("Kind", "Status", "Started (UTC)", "Took", "Counts", "ID"):
            jobs.add_column(name)
        log = self.query_one("#log-table", NavTable)
        for name in ("When (UTC)", "Who", "Action", "Detail", "Outcome", "Job"):
            log.add_column(name)
        jobs.loading = True
        jobs.focus()
        self.load()

    @work(exclusive=True, exit_on_error=False, group="history", description="Loading history")
    async def load(self) -> None:
        log = await asyncio.to_thread(self.backend.history)
        self.entries = list(log)
        self._fill_log(self.query_one("#history-filter-input", Input).value)
        try:
            self.jobs = list(await self.backend.jobs())
            self.failed = await asyncio.to_thread(self._read_failed, self.jobs)
        finally:
            self.query_one("#jobs-table", NavTable).loading = False
        self._fill_jobs(self.query_one("#history-filter-input", Input).value)

    def _read_failed(self, jobs: Sequence[Job]) -> dict[str, list[Change]]:
        """The cached failed changes of the restore jobs that had failures (blocking)."""
        return {job.id: list(self.backend.failed_changes(job.id)) for job in jobs
                if job.kind is JobKind.RECOVERY and job.total_failed_changes}

    def _fill_jobs(self, text: str) -> None:
        cells = [job_cells(j, len(self.failed[j.id]) if j.id in self.failed else None) for j in self.jobs]
        shown = self._fill(self.query_one("#jobs-table", NavTable), cells, text,
                           "No jobs on the service (history expires after 5–7 days).")
        self._shown_jobs = [job for job, row in zip(self.jobs, cells, strict=True) if row in shown]

    def _fill_log(self, text: str) -> None:
        self._fill(self.query_one("#log-table", NavTable), [log_cells(e) for e in self.entries], text,
                   "Nothing done in this app yet.")

    @staticmethod
    def _fill(table: NavTable, rows: Sequence[tuple[str, ...]], text: str,
              empty: str) -> list[tuple[str, ...]]:
        """Show the rows that contain ``text`` (as shown: the display rule applies to both); returns them."""
        needle = clean(text.strip()).casefold()
        table.clear()
        shown = [r for r in rows if not needle or any(needle in clean(cell).casefold() for cell in r)]
        for row in shown:
            table.add_row(*(safe(cell, 60) for cell in row))
        if not shown:
            table.add_row(Text(empty if not needle else "No match.", style="dim italic"),
                          *(Text("") for _ in range(len(table.columns) - 1)))
        return shown

    @on(Input.Changed, "#history-filter-input")
    def _filter(self, event: Input.Changed) -> None:
        if keep_input_literal(event.input, event.value):
            return
        self._fill_jobs(event.value)
        self._fill_log(event.value)

    @on(Input.Submitted, "#history-filter-input")
    def _submitted(self) -> None:
        self.query_one("#jobs-table", NavTable).focus()

    def action_open_job(self) -> None:
        """enter on a restore job: its failed changes, as the cache keeps them."""
        table = self.query_one("#jobs-table", NavTable)
        if self.focused is not table or not 0 <= table.cursor_row < len(self._shown_jobs):
            return
        job = self._shown_jobs[table.cursor_row]
        if job.kind is not JobKind.RECOVERY:
            self.notify("A difference report: open it from the Backups pane (1).", title="History")
            return
        failed = self.failed.get(job.id, [])
        if not failed:
            said = failed_summary(job.total_failed_changes or 0)
            why = "none are kept in this cache" if job.total_failed_changes else "nothing to show"
            self.notify(f"Restore job {job.id}: {said}; {why}.", title="History")
            return
        title = (f"Restore job {job.id} ({job_outcome(job)}): "
                 f"{failed_summary(job.total_failed_changes or 0, len(failed))}")
        self.app.push_screen(FailedChangesScreen(title, failed))

    def action_focus_filter(self) -> None:
        self.query_one("#history-filter-input", Input).focus()

    def action_close(self) -> None:
        if self.focused is self.query_one("#history-filter-input", Input) and self.focused.value:
            self.query_one("#history-filter-input", Input).value = ""
            return
        self.dismiss(None)
