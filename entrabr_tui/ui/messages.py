"""Messages that carry worker results and selections between widgets and the main screen."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from textual.message import Message

from entrabr_tui.core.compare import Comparison
from entrabr_tui.engine.alert_view import AlertView
from entrabr_tui.engine.events import JobProgress, RestoreProgress
from entrabr_tui.ui.backend import (
    CachedReportView,
    QueueEntry,
    RestoreMarkView,
    SnapshotEntry,
    TypeActionCount,
)

if TYPE_CHECKING:
    # (plans and restore load the Graph SDK: the app paints before it is loaded)
    from entrabr_tui.engine.plans import SessionPlan
    from entrabr_tui.engine.restore import RestoreResult
    from entrabr_tui.ui.widgets.changes_view import FilterKey


class SnapshotsLoaded(Message):
    """The snapshot list arrived."""

    def __init__(self, entries: Sequence[SnapshotEntry]) -> None:
        super().__init__()
        self.entries = list(entries)


class AlertLoaded(Message):
    """The watch alert the app was opened on was read: its ``view``, or ``error`` saying why it cannot be
    shown."""

    def __init__(self, alert_id: str, view: AlertView | None, error: str | None = None) -> None:
        super().__init__()
        self.alert_id = alert_id
        self.view = view
        self.error = error


class SnapshotChosen(Message):
    """The user picked a snapshot in the Backups pane."""

    def __init__(self, entry: SnapshotEntry) -> None:
        super().__init__()
        self.entry = entry


class ReportProgressed(Message):
    """A report job or its download moved on (coalesced: only the newest one matters)."""

    def __init__(self, progress: JobProgress) -> None:
        super().__init__()
        self.progress = progress

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ReportProgressed)


class ReportReady(Message):
    """A report is fully in the cache and can be browsed."""

    def __init__(self, report: CachedReportView) -> None:
        super().__init__()
        self.report = report


class CountsLoaded(Message):
    """Change counts by type and action for a report."""

    def __init__(self, report_id: str, counts: Sequence[TypeActionCount], marked: set[str]) -> None:
        super().__init__()
        self.report_id = report_id
        self.counts = list(counts)
        self.marked = marked


class ChangeHighlighted(Message):
    """The tree cursor is on a changed object (or on none: ``change_id`` is ``None``)."""

    def __init__(self, report_id: str | None, change_id: str | None, position: int | None = None) -> None:
        super().__init__()
        self.report_id = report_id
        self.change_id = change_id
        self.position = position  # which change of the object (an object may have several)

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ChangeHighlighted)


class DiffRequested(Message):
    """Enter on an object in the Changes tree: focus its diff."""


class FilterRequested(Message):
    """``/`` in the Changes tree: show the filter input."""


class MarksChanged(Message):
    """Objects were queued or unqueued; ``queue_size`` is the new total."""

    def __init__(self, report_id: str | None, ids: Sequence[str], marked: bool, queue_size: int) -> None:
        super().__init__()
        self.report_id = report_id
        self.ids = list(ids)
        self.marked = marked
        self.queue_size = queue_size


class QueueLoaded(Message):
    """The restore queue and its plan, for the Queue pane; ``signature`` is the queue's as it was read."""

    def __init__(self, entries: Sequence[QueueEntry], plan: SessionPlan | None,
                 error: str | None = None, signature: object = None) -> None:
        super().__init__()
        self.entries = list(entries)
        self.plan = plan
        self.error = error
        self.signature = signature


class RestoreProgressed(Message):
    """A restore batch moved on (coalesced)."""

    def __init__(self, progress: RestoreProgress) -> None:
        super().__init__()
        self.progress = progress

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, RestoreProgressed)


class RestoreFinished(Message):
    """A restore ended (successfully, with failures, or cancelled)."""

    def __init__(self, outcome: RestoreResult, plan: SessionPlan) -> None:
        super().__init__()
        self.outcome = outcome
        self.plan = plan


class JobSlotChanged(Message):
    """What holds the tenant's one job slot, for the status line (``None`` when free)."""

    def __init__(self, description: str | None) -> None:
        super().__init__()
        self.description = description


class MarkNodesRequested(Message):
    """Mark every object of these (type, action) nodes that the filter shown matches, loaded or not (the
    whole report, not the rows on screen). ``toggle``: unmark them instead when all are marked already."""

    def __init__(self, report_id: str, nodes: Sequence[tuple[str, str]], key: FilterKey | None,
                 *, toggle: bool, what: str) -> None:
        super().__init__()
        self.report_id = report_id
        self.nodes = list(nodes)
        #: The cache-side filter shown: (text, recoverable answer), ``None`` when there is none.
        self.key = key
        self.toggle = toggle
        self.what = what


class UnmarkAllRequested(Message):
    """Empty the restore queue (asks first when much is queued)."""


class MarksReloaded(Message):
    """The queue changed in bulk (or elsewhere): the IDs now queued from ``report_id``."""

    def __init__(self, report_id: str, marked: set[str]) -> None:
        super().__init__()
        self.report_id = report_id
        self.marked = marked


class RestoreMarksLoaded(Message):
    """What recent restores did to each object, by lower-case object ID."""

    def __init__(self, marks: Mapping[str, RestoreMarkView]) -> None:
        super().__init__()
        self.marks = marks


class QueueChanged(Message):
    """The queue's signature moved (another process, e.g. the command line, changed it)."""

    def __init__(self, signature: object) -> None:
        super().__init__()
        self.signature = signature



class CompareProgressed(Message):
    """A report the comparison of two backups needs made progress (it is created or downloaded)."""

    def __init__(self, progress: JobProgress) -> None:
        super().__init__()
        self.progress = progress


class CompareReady(Message):
    """The comparison of two backups is made (it stays open in the backend for paging), with its objects
    counted per type and kind (in the worker)."""

    def __init__(self, comparison: Comparison, counts: dict[str, dict[str, int]]) -> None:
        super().__init__()
        self.comparison = comparison
        self.counts = counts
