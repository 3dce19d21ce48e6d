"""State and data workers shared by the main screen and its flows (report, restore)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from textual import work
from textual.screen import Screen
from textual.worker import Worker

from entrabr_tui.core.model import JobKind
from entrabr_tui.ui.backend import Backend, CachedReportView, SnapshotEntry
from entrabr_tui.ui.messages import (
    CountsLoaded,
    JobSlotChanged,
    MarksChanged,
    QueueLoaded,
    SnapshotsLoaded,
)
from entrabr_tui.ui.text import format_duration
from entrabr_tui.ui.widgets.backups import BackupsTable
from entrabr_tui.ui.widgets.changes_tree import ChangesTree
from entrabr_tui.ui.widgets.diff import DiffPane
from entrabr_tui.ui.widgets.queue import QueueTable
from entrabr_tui.ui.widgets.status import JobStrip, StatusLine

#: Pane number → (container id, id of the widget that takes focus).
PANES = {1: ("pane-backups", "backups"), 2: ("pane-changes", "tree"), 3: ("pane-diff", "diff-table"),
         4: ("pane-queue", "queue")}


class MainBase(Screen[None]):
    """The main screen's state: the backend, the open report, the running job; and its cache workers."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        super().__init__()
        self.clock = clock
        self.backend: Backend | None = None
        self.report: CachedReportView | None = None
        self.report_id: str | None = None
        self.snapshot: SnapshotEntry | None = None
        self.job: Worker[None] | None = None
        #: A restore ran since the last fresh report: the next report should not reuse a cached one.
        self.restored = False

    # -- widgets --------------------------------------------------------------------------------
    @property
    def changes(self) -> ChangesTree:
        return self.query_one(ChangesTree)

    @property
    def backups(self) -> BackupsTable:
        return self.query_one(BackupsTable)

    @property
    def diff(self) -> DiffPane:
        return self.query_one(DiffPane)

    @property
    def queue(self) -> QueueTable:
        return self.query_one(QueueTable)

    @property
    def status(self) -> StatusLine:
        return self.query_one(StatusLine)

    @property
    def job_strip(self) -> JobStrip:
        return self.query_one(JobStrip)

    @property
    def job_running(self) -> bool:
        return self.job is not None and self.job.is_running

    # -- loading ----------------------------------------------------------------------------------
    def open_report(self, report_id: str, report: CachedReportView | None = None, *,
                    downloading: bool = False) -> None:
        """Show a report's changes (counts first; objects load when their nodes open)."""
        if self.backend is None:
            return
        if report_id != self.report_id:
            self.diff.placeholder("")
        self.report_id = report_id
        self.report = report or self.report
        self.load_counts(self.backend, report_id, downloading)

    @work(exclusive=True, exit_on_error=False, group="snapshots", description="Listing backups")
    async def load_snapshots(self, backend: Backend) -> None:
        entries = await backend.snapshots()
        self.post_message(SnapshotsLoaded(entries))

    @work(exclusive=True, exit_on_error=False, group="slot", description="Checking the job slot")
    async def load_slot(self, backend: Backend) -> None:
        """Ask the service which job holds the slot (it may be one this app did not start)."""
        if backend.offline:
            return
        await backend.jobs()
        state = backend.slot_state()
        holder = state.holder if state is not None else None
        if holder is None or holder.is_terminal or (state is not None and state.holder_is_ours):
            self.post_message(JobSlotChanged(None))
            return
        kind = "report" if holder.kind is JobKind.PREVIEW else "restore"
        since = ""
        if holder.started is not None:
            since = f" for {format_duration((self.clock() - holder.started).total_seconds())}"
        text = f"slot held by a {kind} started elsewhere: {holder.status_raw}{since}"
        self.post_message(JobSlotChanged(text))

    @work(thread=True, exclusive=True, exit_on_error=False, group="counts", description="Counting changes")
    def load_counts(self, backend: Backend, report_id: str, downloading: bool = False) -> None:
        try:
            counts = backend.counts(report_id)
            marked = backend.marked(report_id)
        except Exception:
            if downloading:
                return  # the first page may not be in the cache yet; the next progress event retries
            raise
        self.post_message(CountsLoaded(report_id, counts, marked))

    @work(thread=True, exclusive=True, exit_on_error=False, group="queue", description="Planning the restore")
    def load_queue(self, backend: Backend) -> None:
        entries = backend.queue()
        try:
            plan = backend.plan(record=False)
        except Exception as exc:  # e.g. objects queued from two reports: the queue still shows, unplanned
            self.post_message(QueueLoaded(entries, None, str(exc) or type(exc).__name__))
            return
        self.post_message(QueueLoaded(entries, plan))

    @work(thread=True, exit_on_error=False, group="marks", description="Saving the restore queue")
    def unmark(self, backend: Backend, report_id: str | None, ids: list[str]) -> None:
        if report_id is None:
            backend.unmark_all()
            self.post_message(MarksChanged(None, [], False, 0))
            return
        size = backend.unmark(report_id, ids)
        self.post_message(MarksChanged(report_id, ids, False, size))

    def refresh_all(self) -> None:
        if self.backend is None:
            return
        self.load_snapshots(self.backend)
        self.load_queue(self.backend)
        if not self.job_running:
            self.load_slot(self.backend)
        if self.report_id is not None:
            self.load_counts(self.backend, self.report_id)
