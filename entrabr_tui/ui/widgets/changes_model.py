"""The report the Changes tree shows: its counts, the filter applied to them, one-at-a-time cache reads."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from entrabr_tui.ui.backend import Backend, TypeActionCount
from entrabr_tui.ui.widgets.changes_view import FilterKey, OpenPlan, QuickFilter, TreeView, fetch_view


class ChangesModel:
    """What the Changes tree knows of the open report, apart from its nodes.

    ``counts`` are the report's per type/action counts; ``shown_counts`` the same under the filter the tree
    shows (``applied``, ``None`` when unfiltered). ``generation`` changes whenever what the nodes hold is
    replaced (another report, a filter applied), so a page asked for before that is recognised and dropped
    when it arrives. Filtered views are read one at a time (:meth:`read_view`).
    """

    def __init__(self) -> None:
        self.backend: Backend | None = None
        self.report_id: str | None = None
        self.counts: list[TypeActionCount] = []
        self.shown_counts: list[TypeActionCount] = []
        #: The (text, recoverable) filter the tree currently shows (``None``: unfiltered).
        self.applied: FilterKey | None = None
        self.generation = 0
        self._reading = threading.Lock()

    @property
    def total(self) -> int:
        """Changes in the report."""
        return sum(c.count for c in self.counts)

    @property
    def shown_total(self) -> int:
        """Changes under the filter shown."""
        return sum(c.count for c in self.shown_counts)

    def open(self, backend: Backend, report_id: str, counts: Sequence[TypeActionCount]) -> bool:
        """Take ``report_id``'s counts (a new report, or fresh counts of the one shown while it downloads).
        ``True`` when it is another report: what the nodes hold is replaced."""
        other = report_id != self.report_id
        self.backend, self.report_id = backend, report_id
        self.counts = [c for c in counts if c.count > 0]
        if other:
            self.applied = None
            self.generation += 1
        return other

    def close(self) -> None:
        """No report is shown."""
        self.report_id, self.counts, self.shown_counts = None, [], []
        self.applied = None
        self.generation += 1

    def show_unfiltered(self) -> None:
        self.shown_counts = self.counts

    def show(self, view: TreeView) -> None:
        """The tree shows ``view`` now: pages asked for before are stale."""
        self.shown_counts = view.counts
        self.applied = view.key
        self.generation += 1

    def is_current(self, report_id: str, generation: int) -> bool:
        """A page asked for at ``generation`` of ``report_id`` still belongs in the tree."""
        return report_id == self.report_id and generation == self.generation

    def read_view(self, backend: Backend, report_id: str, key: FilterKey | None,
                  unfiltered: Sequence[TypeActionCount], quick: QuickFilter, keep: OpenPlan,
                  cancelled: Callable[[], bool]) -> TreeView | None:
        """The counts and first pages for ``key`` (blocking: call it in a thread). One read runs at a time, so
        a filter cancelled while it waited for the one before is never looked up (``None``)."""
        with self._reading:
            if cancelled():
                return None
            return fetch_view(backend, report_id, key, unfiltered, quick, keep, cancelled)
