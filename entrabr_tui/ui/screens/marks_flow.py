"""The restore queue in bulk: marking whole nodes and every match of a filter, emptying the queue (asked
first when much is queued), undoing the last bulk change, following changes made by another process (the
command line), and warning when an object restored in the last day is queued again."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING

from textual.worker import Worker

from entrabr_tui.engine.errors import EngineError
from entrabr_tui.ui.backend import Backend, RestoreMarkView
from entrabr_tui.ui.messages import MarkNodesRequested, MarksReloaded, QueueChanged, RestoreMarksLoaded
from entrabr_tui.ui.screens.dialogs import ConfirmDialog
from entrabr_tui.ui.text import format_duration, plural

if TYPE_CHECKING:
    from entrabr_tui.ui.screens.main import MainScreen

#: Emptying a queue of more objects than this asks first.
ASK_ABOVE = 100
#: Seconds between two looks at whether the queue changed elsewhere.
QUEUE_POLL = 2.0
#: Queuing an object restored this recently warns.
RECENT = timedelta(days=1)


class MarksFlow:
    """Bulk changes of the restore queue and keeping the screen in step with the queue (see the module
    docstring). Its workers belong to ``screen``; what they find comes back as messages."""

    def __init__(self, screen: MainScreen, backend: Backend) -> None:
        self.screen = screen
        self.backend = backend
        #: What recent restores did, by lower-case object ID.
        self.restored: Mapping[str, RestoreMarkView] = {}
        #: The queue's signature as last read by this app (``None``: not read yet).
        self.signature: object = None

    def _run(self, work: Callable[[], None], description: str) -> Worker[None]:
        """Run a change of the queue in a thread worker (they run one after another: they share the
        session's connection)."""
        return self.screen.run_worker(work, thread=True, group="marks", description=description,
                                      exit_on_error=False)

    # -- bulk changes --------------------------------------------------------------------------------------
    def mark_nodes(self, request: MarkNodesRequested) -> Worker[None]:
        """Mark every object of the requested nodes under the filter (or unmark them, when toggling and all
        are marked), across the whole report."""
        return self._run(partial(self._mark_nodes, request, set(self.screen.changes.marks.marked)),
                         "Marking objects")

    def _mark_nodes(self, request: MarkNodesRequested, before: set[str]) -> None:
        backend, report_id = self.backend, request.report_id
        text, recoverable, ids = request.key if request.key is not None else ("", None, None)
        wanted = set(request.nodes)
        unmark = False
        if request.toggle:
            def total(marked: bool | None) -> int:
                counts = backend.counts(report_id, text=text or None, recoverable=recoverable, marked=marked,
                                        ids=ids)
                return sum(c.count for c in counts if (c.entity_type_raw, c.action_raw) in wanted)

            unmark = total(True) == total(None) > 0
        if unmark:
            changed = backend.unmark_where(report_id, nodes=request.nodes, text=text or None,
                                           recoverable=recoverable, ids=ids)
        else:
            changed = backend.mark_where(report_id, nodes=request.nodes, text=text or None,
                                         recoverable=recoverable, ids=ids)
        marked = backend.marked(report_id)
        self.screen.post_message(MarksReloaded(report_id, marked))
        what = request.what[:60]
        if unmark:
            note = f"Unmarked {plural(changed, 'object')} ({what})."
        elif changed:
            note = f"Marked {plural(changed, 'object')} ({what})."
        else:
            note = f"Every object of {what} was marked already."
        undo = " Press u to undo." if changed else ""
        self.screen.notify(note + undo, title="Restore queue")
        if not unmark:
            self.warn_recent(marked - before)

    def unmark_all(self) -> Worker[None]:
        """Empty the queue of every report; asks first when more than :data:`ASK_ABOVE` are queued."""
        return self.screen.run_worker(self._unmark_all, group="unmark-all", description="Unmark all",
                                      exclusive=True, exit_on_error=False)

    async def _unmark_all(self) -> None:
        screen = self.screen
        queued = len(screen.queue.entries)
        if queued == 0:
            screen.notify("The restore queue is empty.")
            return
        if queued > ASK_ABOVE and not await screen.app.push_screen_wait(ConfirmDialog(
                f"Unmark all {queued:,} queued objects?",
                "The restore queue is emptied (of every report). u undoes it afterwards.", "Unmark all",
                danger=True)):
            return
        self._run(self._clear, "Clearing the restore queue")

    def _clear(self) -> None:
        backend = self.backend
        backend.unmark_all()
        self._reload_marks()
        removed = backend.undoable_marks()[1]
        self.screen.notify(f"Unmarked {plural(removed, 'object')}. Press u to undo.", title="Restore queue")

    def undo(self) -> Worker[None]:
        """Revert the last bulk change of the queue (marking by node or filter, emptying it, carrying it to a
        newer report)."""
        return self._run(self._undo, "Undoing the last bulk change")

    def _undo(self) -> None:
        unmarked, marked = self.backend.undo_marks()
        if not (unmarked or marked):
            self.screen.notify("Nothing to undo.")
            return
        self._reload_marks()
        parts = [f"unmarked {unmarked:,}" if unmarked else "", f"marked {marked:,} again" if marked else ""]
        self.screen.notify("Undone: " + " and ".join(p for p in parts if p) + ".", title="Restore queue")

    def _reload_marks(self) -> None:
        """Read the open report's marks again and post them (in a worker thread)."""
        report_id = self.screen.report_id
        if report_id is not None:
            self.screen.post_message(MarksReloaded(report_id, self.backend.marked(report_id)))
        else:
            self.screen.post_message(QueueChanged(None))

    def follow_report(self, report_id: str) -> Worker[None]:
        """A fresh report of a backup opened: the queue of an older report of the same backup moves to it
        (objects that still differ stay queued, the others leave the queue), so the tree and the queue
        agree. Undone with ``u``."""
        return self._run(partial(self._follow_report, report_id), "Carrying the queue over")

    def _follow_report(self, report_id: str) -> None:
        backend = self.backend
        sources = {entry.report_id for entry in backend.queue()} - {report_id}
        if len(sources) != 1:
            return
        try:
            kept, dropped = backend.move_queue(sources.pop(), report_id)
        except EngineError:
            return  # queued from another backup's report: it stays where it is
        self.screen.post_message(MarksReloaded(report_id, backend.marked(report_id)))
        if kept or dropped:
            gone = f"; {plural(dropped, 'object')} no longer differ and left it" if dropped else ""
            self.screen.notify(f"The restore queue follows the new report: {kept:,} still differ{gone}. "
                               "Press u to undo.", title="Restore queue", timeout=15)

    # -- following the queue ---------------------------------------------------------------------------------
    def poll(self) -> None:
        """Look (in a worker) whether the queue changed since this app last read it (not while this app is
        changing or reading it: that read brings the change)."""
        if self.signature is None or self.screen.queue_busy:
            return
        self.screen.run_worker(self._poll, thread=True, group="queue-poll",
                               description="Checking the restore queue", exclusive=True, exit_on_error=False)

    def _poll(self) -> None:
        signature = self.backend.queue_signature()
        if signature != self.signature:
            self.screen.post_message(QueueChanged(signature))

    # -- recent restores -------------------------------------------------------------------------------------
    def load_restore_marks(self) -> Worker[None]:
        return self.screen.run_worker(self._load_restore_marks, thread=True, group="restore-marks",
                                      description="Reading recent restores", exclusive=True,
                                      exit_on_error=False)

    def _load_restore_marks(self) -> None:
        self.screen.post_message(RestoreMarksLoaded(self.backend.restore_marks()))

    def warn_recent(self, ids: Sequence[str] | set[str]) -> None:
        """Warn when objects restored in the last day are queued again (``notify`` may be called from any
        thread)."""
        restored = self.restored
        if not restored or not ids:
            return
        now = self.screen.clock()
        recent = [(i, mark) for i in ids if (mark := restored.get(i.lower())) is not None
                  and mark.state == "restored" and now - mark.at <= RECENT]
        if not recent:
            return
        newest = max(mark.at for _, mark in recent)
        ago = format_duration((now - newest).total_seconds())
        if len(recent) == 1:
            text = f"This object was restored {ago} ago; it is queued again."
        else:
            text = f"{plural(len(recent), 'queued object')} were restored in the last day (latest {ago} ago)."
        self.screen.notify(text + " A fresh report shows whether it still differs.",
                           title="Restored recently", severity="warning", timeout=10)
