"""The main screen: status line, read-only banner, job strip and the four panes; the session's state and its
cache workers. New reports and restores are flows the screen holds (``report_flow``, ``restore_flow``)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.events import Key
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input
from textual.worker import Worker, WorkerState

from entrabr_tui.core.model import JobKind, RecoveryStatus
from entrabr_tui.ui.backend import Backend, CachedReportView, SnapshotEntry
from entrabr_tui.ui.bindings import AUDIT, GLOBAL, SCREEN, bindings_of
from entrabr_tui.ui.messages import (
    AlertLoaded,
    ChangeHighlighted,
    CompareProgressed,
    CompareReady,
    CountsLoaded,
    DiffRequested,
    FilterRequested,
    JobSlotChanged,
    MarkNodesRequested,
    MarksChanged,
    MarksReloaded,
    QueueChanged,
    QueueLoaded,
    ReportProgressed,
    ReportReady,
    RestoreFinished,
    RestoreMarksLoaded,
    RestoreProgressed,
    SnapshotChosen,
    SnapshotsLoaded,
    UnmarkAllRequested,
)
from entrabr_tui.ui.screens.audit_flow import AuditFlow
from entrabr_tui.ui.screens.compare_flow import CompareFlow
from entrabr_tui.ui.screens.dialogs import ConfirmDialog, TextDialog
from entrabr_tui.ui.screens.help import HelpScreen
from entrabr_tui.ui.screens.history import HistoryScreen
from entrabr_tui.ui.screens.marks_flow import QUEUE_POLL, MarksFlow
from entrabr_tui.ui.screens.report_flow import ReportFlow
from entrabr_tui.ui.screens.restore_flow import RestoreFlow
from entrabr_tui.ui.text import format_duration, keep_input_literal, literal
from entrabr_tui.ui.widgets.backups import BackupsTable
from entrabr_tui.ui.widgets.change_filters import AlertLens
from entrabr_tui.ui.widgets.changes_pane import ChangesPane
from entrabr_tui.ui.widgets.changes_tree import ChangesTree
from entrabr_tui.ui.widgets.compare_tree import MARKING_OFF, CompareTree
from entrabr_tui.ui.widgets.diff import DiffPane, DiffTable, value_body
from entrabr_tui.ui.widgets.group_nodes import Grouping
from entrabr_tui.ui.widgets.group_tree import GroupTree
from entrabr_tui.ui.widgets.queue import QueueTable, plan_title
from entrabr_tui.ui.widgets.status import JobStrip, ReadOnlyBanner, StatusLine, report_state
from entrabr_tui.ui.workers import failure_title

#: A queue of this many objects or more is read again once changes pause for ``QUEUE_SETTLE`` seconds.
LARGE_QUEUE = 5_000
QUEUE_SETTLE = 0.3

#: Pane number → (container id, id of the widget that takes focus).
PANES = {1: ("pane-backups", "backups"), 2: ("pane-changes", "tree"), 3: ("pane-diff", "diff-table"),
         4: ("pane-queue", "queue")}


def first_run_hint(entries: Sequence[SnapshotEntry], highlighted: SnapshotEntry | None) -> str:
    """What the Changes pane says while no report is open: the one key that starts one."""
    if not entries:
        return "No backups are listed for this tenant yet (ctrl+r lists them again)."
    entry = highlighted or max(entries, key=lambda e: e.snapshot.created)
    when = entry.snapshot.created.strftime("%Y-%m-%d %H:%M UTC")
    return (f"No difference report is open. Press enter to create the difference report for the backup of "
            f"{when} (highlighted in pane 1), or n to choose what it covers. The first report on a backup "
            "takes the service up to 1–2.5 h.")


#: Seconds after the main screen is shown by which the garbage collector runs again, when the command line
#: paused it for the start-up and no tenant opened yet (a sign-in waiting, an error shown).
COLLECTOR_PAUSE = 10.0
#: Seconds after the backups are first listed at which start-up memory is settled (:func:`settle_memory`, a
#: full collection of about 0.1 s): the first useful screen is drawn and answers keys before it runs.
SETTLE_AFTER = 0.5


def settle_memory() -> None:
    """Once per process, when a tenant opens: collect start-up garbage, then leave everything start-up made
    (modules, widgets, the session) out of later garbage collections. A full collection then looks only at
    what was made since, so it no longer stalls a keystroke for tens of milliseconds. The collector runs
    again from here if the start-up paused it (see :func:`entrabr_tui.cli.run`)."""
    if not gc.get_freeze_count():
        gc.collect()
        gc.freeze()
    gc.enable()


class MainScreen(Screen[None]):
    """Backups (1), Changes (2), Diff (3), Restore queue (4); everything else is a flow or a dialog.

    The screen holds the session's state (the backend, the open report, the chosen backup) and reads the cache
    in its workers. Once a tenant is open it hands new reports to ``reports`` and restores to ``restores``,
    flows that own their running job, progress and dialogs; their workers belong to this screen too.
    """

    BINDINGS: ClassVar[list[BindingType]] = bindings_of(SCREEN, GLOBAL, AUDIT)
    #: Narrow and short terminals give the diff more room (app.tcss).
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]  # noqa: RUF012 (Textual types it so)
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]  # noqa: RUF012

    def __init__(self, clock: Callable[[], datetime]) -> None:
        super().__init__()
        self.clock = clock
        self.backend: Backend | None = None
        self.report: CachedReportView | None = None
        self.report_id: str | None = None
        self.snapshot: SnapshotEntry | None = None
        self.reports: ReportFlow | None = None
        self.restores: RestoreFlow | None = None
        self.audit: AuditFlow | None = None
        self.marks: MarksFlow | None = None
        self.compare: CompareFlow | None = None
        self._first_listing = True
        self._queue_timer: Timer | None = None
        self._sync_asked: set[str] = set()  # reports whose sync status was looked up on opening
        #: The watch alert being read to open on (``entrabr --open``); the newest report waits for it.
        self.alert_pending: str | None = None
        self._listed: list[SnapshotEntry] | None = None  # the backups as first listed

    # -- widgets ---------------------------------------------------------------------------------------------
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
    def comparing(self) -> bool:
        """Pane 2 shows a comparison of two backups (marking and restoring are off)."""
        return self.compare is not None and self.compare.active

    @property
    def job_running(self) -> bool:
        """A report or restore job started here runs (only one may run per tenant); a comparison counts
        while it makes a report."""
        flows = (self.reports, self.restores)
        return any(flow is not None and flow.running for flow in flows) or (
            self.compare is not None and self.compare.makes_report)

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        yield ReadOnlyBanner(id="banner")
        yield JobStrip(id="job")
        with Horizontal(id="panes"):
            with Vertical(id="left"):
                with Vertical(id="pane-backups", classes="pane"):
                    yield BackupsTable(self.clock, id="backups")
                with ChangesPane(id="pane-changes", classes="pane"):
                    yield Input(placeholder="filter: name, UPN or id (enter keeps, esc clears)", id="filter")
                    tree = ChangesTree(id="tree")
                    yield tree
                    yield GroupTree(tree.marks, id="group-tree")
                    yield CompareTree(id="compare-tree")
            with Vertical(id="right"):
                yield DiffPane(id="pane-diff")
                with Vertical(id="pane-queue", classes="pane"):
                    yield QueueTable(id="queue")
        yield Footer()

    def on_mount(self) -> None:
        if not gc.isenabled():
            self.set_timer(COLLECTOR_PAUSE, gc.enable, name="collector-pause")
        self.query_one("#banner", ReadOnlyBanner).display = False
        self.query_one("#filter", Input).display = False
        self.query_one(GroupTree).display = False
        self.query_one(CompareTree).display = False
        self.set_pane_title(1, "Backups")
        self.set_pane_title(2, "Changes")
        self.set_pane_title(3, "Diff", "z zooms")
        self.set_pane_title(4, "Restore queue", "empty")
        self.diff.placeholder("move onto an object in pane 2")
        self.query_one("#tree", ChangesTree).show_message("Connecting…")
        self.backups.focus()

    def set_pane_title(self, pane: int, name: str, detail: str | Text = "") -> None:
        """A pane's border title, literal (``detail`` may hold a typed filter or a name)."""
        container = self.query_one(f"#{PANES[pane][0]}")
        container.border_title = literal(f"{pane} {name}", *((" · ", detail) if detail else ()))

    # -- session ---------------------------------------------------------------------------------------------
    def set_backend(self, backend: Backend) -> None:
        """Start showing a tenant: status line, banner and the backups first; the rest once they show."""
        self.backend = backend
        self._sync_asked = set()
        self.reports = ReportFlow(self, backend)
        self.restores = RestoreFlow(self, backend)
        self.audit = AuditFlow(self, backend)
        self.marks = MarksFlow(self, backend)
        self.compare = CompareFlow(self, backend)
        caps = backend.capabilities
        self.status.set_session(backend.tenant, caps, backend.offline)
        self.query_one("#banner", ReadOnlyBanner).show_limits(caps, backend.offline)
        self.changes.show_message("Loading backups…")
        self._first_listing = True
        self.load_snapshots(backend)

    def _after_first_listing(self) -> None:
        """The backups are on screen (or could not be listed): read the queue, the job slot and recent
        restores, start following the queue, and settle start-up memory."""
        if not self._first_listing or self.backend is None or self.marks is None:
            return
        self._first_listing = False
        self.load_queue(self.backend)
        self.load_slot(self.backend)
        self.marks.load_restore_marks()
        self.set_interval(QUEUE_POLL, self.marks.poll, name="queue-poll")
        self.set_timer(SETTLE_AFTER, settle_memory, name="settle-memory")

    @on(JobSlotChanged)
    def _slot_changed(self, message: JobSlotChanged) -> None:
        if not self.job_running:
            self.status.set_slot(message.description)

    @on(SnapshotsLoaded)
    def _snapshots_loaded(self, message: SnapshotsLoaded) -> None:
        self.backups.show_entries(message.entries)
        self.set_pane_title(1, "Backups", f"{len(message.entries)}")
        first = self._first_listing
        if first:
            self._listed = message.entries
        if self.report_id is None and self.snapshot is None and self.alert_pending is None \
                and not self.comparing:
            self._open_newest(message.entries, first)
        elif self.snapshot is None and self.report is not None:  # an alert's report opened before the list
            entry = self.backup_entry(self.report.snapshot_id)
            if entry is not None:
                self.snapshot = entry
                self.backups.mark_selected(entry.snapshot.id)
        self._after_first_listing()

    def _open_newest(self, entries: Sequence[SnapshotEntry], first: bool) -> None:
        """Open the newest backup's complete report (the start of a session), else say how to make one."""
        ready = [e for e in entries if e.report is not None and e.report.complete
                 and e.report.status is RecoveryStatus.SUCCESSFUL]
        if ready:
            newest = max(ready, key=lambda e: e.snapshot.created)
            self.snapshot = newest
            self.backups.mark_selected(newest.snapshot.id)
            assert newest.report is not None
            self.open_report(newest.report.id, newest.report)
        elif first:
            self.changes.show_message(first_run_hint(entries, self.backups.current_entry))

    # -- a watch alert (entrabr --open) ---------------------------------------------------------------------
    def open_alert(self, alert_id: str) -> None:
        """Open the app on a watch alert: its report, the Changes tree filtered to the objects its rule
        matched, the first of them in the Diff pane. An alert that cannot be shown is said in a notification
        and the session starts as usual (on the newest report)."""
        if self.backend is None:
            return
        self.alert_pending = alert_id
        self.changes.show_message(f"Opening alert {alert_id}…")
        self._read_alert(self.backend, alert_id)

    @work(thread=True, exit_on_error=False, group="alert", description="Reading the alert")
    def _read_alert(self, backend: Backend, alert_id: str) -> None:
        from entrabr_tui.engine.errors import EngineError

        try:
            view = backend.alert_view(alert_id)
        except EngineError as exc:
            self.post_message(AlertLoaded(alert_id, None, str(exc)))
            return
        except Exception as exc:
            self.post_message(AlertLoaded(alert_id, None, f"The alert could not be read: {exc}"))
            raise
        self.post_message(AlertLoaded(alert_id, view))

    @on(AlertLoaded)
    def _alert_loaded(self, message: AlertLoaded) -> None:
        if message.alert_id != self.alert_pending or self.backend is None:
            return
        self.alert_pending = None
        view = message.view
        if view is None:
            self.notify(message.error or f"Alert {message.alert_id} cannot be shown.",
                        title=f"Alert {message.alert_id} not opened", severity="warning", timeout=30)
            if self._listed is None:
                self.changes.show_message("Loading backups…")  # the newest report opens once listed
            elif self.report_id is None:
                self._open_newest(self._listed, True)
            return
        report = view.report
        lens = AlertLens(view.alert_id, view.object_ids, view.matched)
        self.open_report(report.id, report)
        self.changes.show_alert(report.id, lens, view.entity_type, view.action)
        self._focus_changes()
        what = " ".join(p for p in (view.entity_type, view.action, view.prop) if p)
        shown = f"{len(view.object_ids):,} object(s)" + ("" if view.listed_all else
                                                          f" of {view.matched:,} change(s) matched")
        self.notify(f"{view.title}\nShowing {shown}{' · ' + what if what else ''}; esc shows the whole "
                    "report.", title=f"Alert {view.alert_id} · {view.severity} · {view.rule}", timeout=30)

    @on(SnapshotChosen)
    def _snapshot_chosen(self, message: SnapshotChosen) -> None:
        entry = message.entry
        if self.compare is not None:
            self.compare.leave()  # enter on a backup: its report, not the comparison
        report = entry.report
        if report is not None and report.status is RecoveryStatus.SUCCESSFUL and report.complete:
            self.snapshot = entry
            self.backups.mark_selected(entry.snapshot.id)
            self.open_report(report.id, report)
            self.changes.focus()
        else:
            # No usable report in the cache: reuse a successful one on the service, or create one of
            # every object at once (one key to start; n asks what a new report covers).
            if self.reports is not None:
                self.reports.start(entry, ask_scope=False)

    @on(CountsLoaded)
    def _counts_loaded(self, message: CountsLoaded) -> None:
        if message.report_id == self.report_id and self.backend is not None:
            self.changes.show_report(self.backend, message.report_id, message.counts, message.marked)
            if self.audit is not None:
                self.audit.report_opened()

    @on(GroupTree.Summary)
    def _group_summary(self, message: GroupTree.Summary) -> None:
        if self.comparing:
            return
        if self.audit is not None and self.audit.grouping is not Grouping.TYPE:
            self.set_pane_title(2, "Changes", message.text)

    @on(ChangesPane.Regroup)
    def _regroup(self) -> None:
        if self.audit is not None:
            self.audit.regroup()

    @on(ChangesPane.MarkGroup)
    def _mark_group(self, message: ChangesPane.MarkGroup) -> None:
        if self.audit is not None:
            self.audit.mark(message.group, message.what)

    @on(ChangesPane.MarkWindow)
    def _mark_window(self, message: ChangesPane.MarkWindow) -> None:
        if self.audit is not None:
            self.audit.window(message.since, message.until, message.text)

    @on(ChangesPane.GroupFocused)
    def _group_focused(self) -> None:
        if self.audit is not None:
            self.audit.probe()

    @on(ChangesPane.TagGroup)
    def _tag_group(self, message: ChangesPane.TagGroup) -> None:
        if self.audit is not None:
            self.audit.tag(message.node)

    @on(GroupTree.ToggleMark)
    def _toggle_mark(self, message: GroupTree.ToggleMark) -> None:
        if self.audit is not None:
            self.audit.toggle(self.report_id, message.row.id)

    def action_not_in_report(self) -> None:
        if self.audit is not None:
            self.audit.lens()

    @on(ChangesTree.Summary)
    def _tree_summary(self, message: ChangesTree.Summary) -> None:
        """The pane says which backup the report on it compares with: in the title (short, last) and in full
        on the bottom border, which nothing else crowds; and how it is grouped."""
        if self.comparing:
            return
        if self.audit is not None and self.audit.grouping is not Grouping.TYPE:
            return
        report = self.report if self.report is not None and self.report.id == self.report_id else None
        state = report_state(report)
        when = self.backup_time(report.snapshot_id) if report is not None else None
        backup = f"backup {when:%m-%d %H:%M}" if when is not None else ""
        parts = ("by type", message.text, state, backup)
        self.set_pane_title(2, "Changes", " · ".join(t for t in parts if t))
        pane = self.query_one("#pane-changes")
        pane.border_subtitle = f"backup of {when:%Y-%m-%d %H:%M}" if when is not None else ""

        field = self.query_one("#filter", Input)
        if not self.changes.filters.text and field.value and self.focused is not field:
            field.value = ""  # the filter was cleared in the tree (esc): the field shows it
            field.display = False

    # -- backups ---------------------------------------------------------------------------------------------
    def backup_entry(self, snapshot_id: str | None) -> SnapshotEntry | None:
        """The listed backup ``snapshot_id`` names (``None``: not listed, or no id)."""
        return self.backups.entries.get(snapshot_id) if snapshot_id else None

    def backup_time(self, snapshot_id: str | None) -> datetime | None:
        """When backup ``snapshot_id`` was taken, if it is listed."""
        entry = self.backup_entry(snapshot_id)
        return entry.snapshot.created if entry is not None else None

    # -- the cache -------------------------------------------------------------------------------------------
    def open_report(self, report_id: str, report: CachedReportView | None = None, *,
                    downloading: bool = False, sync_checked: bool = False) -> None:
        """Show a report's changes (counts first; objects load when their nodes open). A cached report opened
        online has the sync status of its users and groups looked up once (``sync_checked``: it was, as it
        was downloaded)."""
        if self.backend is None:
            return
        other = report_id != self.report_id
        if other and self.compare is not None:
            self.compare.leave()  # another report opens: the report view shows it
        if other:
            self.diff.placeholder("")
            if self.reports is not None and self.reports.ready_report is not None \
                    and self.reports.ready_report.id == report_id:
                self.reports.ready_report = None
                self.refresh_bindings()
        self.report_id = report_id
        if report is not None or other:
            self.report = report
        entry = self.backup_entry(report.snapshot_id) if report is not None else None
        if entry is not None:
            self.snapshot = entry
            self.backups.mark_selected(entry.snapshot.id)
        self.load_counts(self.backend, report_id, downloading)
        if sync_checked:
            self._sync_asked.add(report_id)
        if not downloading and not self.backend.offline and report_id not in self._sync_asked:
            self._sync_asked.add(report_id)  # once per report: the answers are kept in the cache
            self.look_up_sync(self.backend, report_id)

    @work(exit_on_error=False, group="sync-status", description="Checking sync status")
    async def look_up_sync(self, backend: Backend, report_id: str) -> None:
        """Ask the directory about the users and groups of an opened cached report whose sync status is still
        unknown (a report downloaded here was asked about already); what it learns shows in the counts."""
        check = await backend.check_sync_status(report_id)
        if check.asked and self.backend is backend and self.report_id == report_id:
            self.load_counts(backend, report_id)

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
        other = await asyncio.to_thread(backend.tenant_holder)
        if other is not None:  # another entrabr downloads or restores on this tenant; reading still works
            self.post_message(JobSlotChanged(f"tenant held by {other}"))
            return
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

    def load_queue(self, backend: Backend) -> None:
        """Show the queue and its plan again. A large queue is read once changes pause (a burst of marks
        reads it once), a small one at once."""
        if len(self.queue.entries) < LARGE_QUEUE:
            self._read_queue(backend)
            return
        if self._queue_timer is not None:
            self._queue_timer.stop()
        self._queue_timer = self.set_timer(QUEUE_SETTLE, partial(self._queue_settled, backend))

    def _queue_settled(self, backend: Backend) -> None:
        self._queue_timer = None
        self._read_queue(backend)

    @property
    def queue_busy(self) -> bool:
        """The queue is being changed or read (or will be read shortly)."""
        return self._queue_timer is not None or any(
            w.group in ("queue", "marks") and not w.is_finished for w in self.workers)

    @work(thread=True, exclusive=True, exit_on_error=False, group="queue", description="Planning the restore")
    def _read_queue(self, backend: Backend) -> None:
        signature = backend.queue_signature()  # read first: a change made meanwhile shows at the next look
        entries = backend.queue()
        try:
            plan = backend.plan(record=False)
        except Exception as exc:  # e.g. objects queued from two reports: the queue still shows, unplanned
            self.post_message(QueueLoaded(entries, None, str(exc) or type(exc).__name__, signature))
            return
        self.post_message(QueueLoaded(entries, plan, signature=signature))

    @work(thread=True, exit_on_error=False, group="marks", description="Saving the restore queue")
    def unmark(self, backend: Backend, report_id: str, ids: list[str]) -> None:
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

    # -- flows -----------------------------------------------------------------------------------------------
    @on(ReportProgressed)
    def _report_progressed(self, message: ReportProgressed) -> None:
        if self.reports is not None:
            self.reports.progressed(message.progress)

    @on(ReportReady)
    def _report_ready(self, message: ReportReady) -> None:
        if self.reports is not None:
            self.reports.ready(message.report)

    @on(RestoreProgressed)
    def _restore_progressed(self, message: RestoreProgressed) -> None:
        if self.restores is not None:
            self.restores.progressed(message.progress)

    @on(RestoreFinished)
    def _restore_finished(self, message: RestoreFinished) -> None:
        if self.reports is not None:
            self.reports.restored = True  # the next report should not reuse one made before the restore
        if self.restores is not None:
            self.restores.finished(message.outcome, message.plan)

    # -- comparing two backups -------------------------------------------------------------------------------
    @on(BackupsTable.ComparePending)
    def _compare_pending(self, message: BackupsTable.ComparePending) -> None:
        count = f"{len(self.backups.entries)}"
        if message.entry is None:
            self.set_pane_title(1, "Backups", count)
            return
        when = message.entry.snapshot.created.strftime("%m-%d %H:%M")
        self.set_pane_title(1, "Backups", f"{count} · compare: A = {when}, x on B (esc cancels)")

    @on(BackupsTable.CompareRequested)
    def _compare_requested(self, message: BackupsTable.CompareRequested) -> None:
        if self.compare is not None:
            self.compare.start(message.a, message.b)

    @on(CompareProgressed)
    def _compare_progressed(self, message: CompareProgressed) -> None:
        if self.compare is not None:
            self.compare.progressed(message.progress)

    @on(CompareReady)
    def _compare_ready(self, message: CompareReady) -> None:
        if self.compare is not None:
            self.compare.ready(message.comparison, message.counts)

    @on(CompareTree.Highlighted)
    def _compare_highlighted(self, message: CompareTree.Highlighted) -> None:
        if self.compare is not None and self.compare.active:
            self.diff.request_compare(self.backend, message.row, self.compare.heads)

    @on(CompareTree.Leave)
    def _leave_compare(self) -> None:
        if self.compare is not None:
            self.compare.leave()

    # -- diff ------------------------------------------------------------------------------------------------
    @on(ChangeHighlighted)
    def _change_highlighted(self, message: ChangeHighlighted) -> None:
        """The Diff pane loads the highlighted object once the cursor rests on it (latest wins)."""
        self.diff.request(self.backend, message.report_id, message.change_id, message.position)

    @on(DiffRequested)
    def _open_diff(self) -> None:
        self.action_focus_pane(3)

    @on(DiffTable.Back)
    @on(QueueTable.Back)
    def _back(self) -> None:
        self.action_focus_pane(2)

    @on(DiffTable.ShowValue)
    def _show_value(self, message: DiffTable.ShowValue) -> None:
        row = message.row
        body = value_body(row, self.diff.table.who, self.diff.table.heads)
        self.app.push_screen(TextDialog(literal(f"{row.glyph} ", row.path), body))

    # -- queue -----------------------------------------------------------------------------------------------
    @on(MarksChanged)
    def _marks_changed(self, message: MarksChanged) -> None:
        if message.report_id is None:
            self.changes.clear_marks()
        elif not message.marked and message.report_id == self.report_id:
            self.changes.apply_marks(message.ids, False)
        elif message.marked and self.marks is not None:
            self.marks.warn_recent(message.ids)
        if self.backend is not None:
            self.load_queue(self.backend)
        if self.audit is not None:
            self.audit.probe(again=True)

    @on(MarkNodesRequested)
    def _mark_nodes(self, message: MarkNodesRequested) -> None:
        if self.marks is not None:
            self.marks.mark_nodes(message)

    @on(MarksReloaded)
    def _marks_reloaded(self, message: MarksReloaded) -> None:
        self.changes.replace_marks(message.report_id, message.marked)
        if message.report_id == self.report_id:
            self.query_one(GroupTree).relabel()
        if self.backend is not None:
            self.load_queue(self.backend)
        if self.audit is not None:
            self.audit.probe(again=True)

    @on(QueueChanged)
    def _queue_changed(self) -> None:
        """The queue changed (elsewhere, e.g. the command line): read it and the marks again."""
        if self.backend is None:
            return
        self.load_queue(self.backend)
        if self.report_id is not None:
            self.load_counts(self.backend, self.report_id)

    @on(RestoreMarksLoaded)
    def _restore_marks_loaded(self, message: RestoreMarksLoaded) -> None:
        if self.marks is not None:
            self.marks.restored = message.marks
        self.changes.set_restore_marks(message.marks)

    @on(QueueLoaded)
    def _queue_loaded(self, message: QueueLoaded) -> None:
        if self.marks is not None and message.signature is not None:
            self.marks.signature = message.signature
        self.queue.show_queue(message.entries, message.plan)
        if message.error is not None:
            self.set_pane_title(4, "Restore queue", f"{len(message.entries):,} queued · cannot plan")
            self.notify(message.error, title="Restore queue", severity="warning", timeout=10)
        else:
            self.set_pane_title(4, "Restore queue", plan_title(message.plan))

    @on(QueueTable.Unmark)
    def _unmark(self, message: QueueTable.Unmark) -> None:
        if self.backend is not None:
            self.unmark(self.backend, message.report_id, message.ids)

    @on(QueueTable.UnmarkAll)
    @on(UnmarkAllRequested)
    def _unmark_all(self) -> None:
        if self.marks is not None:
            self.marks.unmark_all()

    # -- filter ----------------------------------------------------------------------------------------------
    @on(FilterRequested)
    def _open_filter(self) -> None:
        field = self.query_one("#filter", Input)
        field.display = True
        field.value = self.changes.filters.text
        field.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        if not keep_input_literal(event.input, event.value):
            self.changes.set_filter(event.value)
            if self.audit is not None:
                self.audit.filter_changed(event.value)

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        field = self.query_one("#filter", Input)
        field.display = bool(event.value.strip())
        self._focus_changes()

    def _focus_changes(self) -> None:
        """Focus the Changes pane's tree that shows (type → action, grouped, or a comparison)."""
        if self.comparing:
            self.query_one(CompareTree).focus()
            return
        grouped = self.audit is not None and self.audit.grouping is not Grouping.TYPE
        (self.query_one(GroupTree) if grouped else self.changes).focus()

    def on_key(self, event: Key) -> None:
        field = self.query_one("#filter", Input)
        if event.key == "escape" and self.focused is field:
            event.stop()
            field.value = ""
            field.display = False
            self.changes.set_filter("")
            if self.audit is not None:
                self.audit.filter_changed("")
            self._focus_changes()

    # -- actions ---------------------------------------------------------------------------------------------
    def action_focus_pane(self, pane: int) -> None:
        if self.maximized is not None and self.maximized.id != PANES[pane][0]:
            self.minimize()  # another pane was zoomed: show them all again
        if pane == 3 and self.diff.raw:
            self.query_one("#diff-raw").focus()
            return
        if pane == 2:
            self._focus_changes()
            return
        self.query_one(f"#{PANES[pane][1]}").focus()

    def action_new_report(self) -> None:
        if self.reports is not None:
            self.reports.new_report()

    def action_restore(self) -> None:
        if self.comparing:
            self.notify("Restore is off while two backups are compared. " + MARKING_OFF, title="Restore",
                        severity="warning", timeout=12)
            return
        if self.restores is not None:
            self.restores.start()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open_ready_report":
            return self.reports is not None and self.reports.ready_report is not None
        return True

    def action_open_ready_report(self) -> None:
        if self.reports is None or not self.reports.open_ready():
            self.notify("No report is waiting to be opened.")

    def action_undo_marks(self) -> None:
        if self.marks is not None:
            self.marks.undo()

    def action_cancel_job(self) -> None:
        if not self.job_running:
            self.notify("No job is running.")
            return
        self._cancel_flow()

    @work(exclusive=True, exit_on_error=False, group="cancel-flow", description="Cancel job")
    async def _cancel_flow(self) -> None:
        ok = await self.app.push_screen_wait(ConfirmDialog(
            "Cancel the running job?",
            "The service stops it as soon as it can. Changes a restore already applied stay applied; "
            "batches of a restore not submitted yet are not submitted.",
            "Cancel the job", danger=True, cancel_label="Keep running"))
        if not ok or self.backend is None:
            return
        await self.backend.cancel()
        for flow in (self.reports, self.restores):
            if flow is not None and flow.running:
                flow.stop()
        if self.compare is not None and self.compare.running:
            self.compare.stop()
        self.job_strip.hide()
        self.status.set_slot(None)
        self.notify("Job cancelled.", title="Job")

    def action_zoom(self) -> None:
        """z: the focused pane fills the screen; z again (or esc) brings the four panes back."""
        if self.maximized is not None:
            self.minimize()
            return
        focused = self.focused
        for container_id, _ in PANES.values():
            pane = self.query_one(f"#{container_id}")
            if focused is not None and (focused is pane or pane in focused.ancestors):
                self.maximized = pane
                return

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen())

    def action_history(self) -> None:
        if self.backend is not None:
            self.app.push_screen(HistoryScreen(self.backend))

    def action_refresh(self) -> None:
        self.refresh_all()
        self.notify("Refreshing backups, report and queue.")

    def action_quit(self) -> None:
        """Quit; while a job runs, ask first (what happens to the job is said in the question)."""
        if not self.job_running:
            self.app.exit()
            return
        self._confirm_quit()

    def quit_consequences(self) -> str:
        """What quitting now does to the running job, truthfully for this session."""
        backend = self.backend
        left = self.restores.batches_left if self.restores is not None else 0
        if backend is not None and backend.service_in_process:
            text = ("This demo tenant runs inside entrabr: quitting stops it, and the job with it. The next "
                    "start begins a new demo tenant.")
        else:
            text = "The job keeps running on the service; entrabr picks it up again next time."
        if left:
            batches = "1 later batch of this restore is" if left == 1 else \
                f"{left:,} later batches of this restore are"
            text += f" {batches} not submitted yet and will not be."
        return text

    @work(exclusive=True, exit_on_error=False, group="quit", description="Quit")
    async def _confirm_quit(self) -> None:
        if await self.app.push_screen_wait(ConfirmDialog(
                "A job is running. Quit anyway?", self.quit_consequences(), "Quit",
                cancel_label="Keep running")):
            self.app.exit()

    # -- errors ----------------------------------------------------------------------------------------------
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is WorkerState.ERROR and worker.error is not None:
            self.notify(str(worker.error) or type(worker.error).__name__, title=failure_title(worker),
                        severity="error", timeout=10)
            if worker.group == "job":
                if self.reports is not None and worker is self.reports.job:
                    self.reports.ended("The difference report did not finish (see the message).\n"
                                       "Press n to try again.")
                elif self.restores is not None:
                    self.restores.ended()
            elif worker.group == "compare" and self.compare is not None:
                self.compare.ended()
            elif worker.group == "snapshots":
                self.changes.show_message("Could not list backups: press ctrl+r to retry.")
                self._after_first_listing()
