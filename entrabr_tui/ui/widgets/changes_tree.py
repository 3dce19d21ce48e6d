"""The Changes tree: type → action → objects, loaded lazily from the cache a page at a time.

Only counts are loaded up front (at most a few dozen type/action nodes). An action node fetches one page of
at most ``PAGE_SIZE`` objects when it is opened, with "next"/"previous" rows to move through the rest, so
the number of expanded lines stays bounded however large the report is. A filter (text, recoverable) asks the
cache for filtered counts and the first page of every open node in one round, in a worker that a newer
filter cancels (one lookup runs at a time; filters cancelled while waiting for it are never looked up); the
result is applied to the nodes in place, in one update.
The type/action quick filters and the soft-delete lens only hide nodes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from typing import ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.actions import SkipAction
from textual.binding import BindingType
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Tree
from textual.widgets.tree import NodeID, TreeNode, UnknownNodeID
from textual.worker import Worker, WorkerState, get_current_worker

from entrabr_tui.ui.backend import Backend, RestoreMarkView, TypeActionCount
from entrabr_tui.ui.bindings import CHANGES
from entrabr_tui.ui.messages import (
    ChangeHighlighted,
    DiffRequested,
    FilterRequested,
    MarkNodesRequested,
    MarksChanged,
    UnmarkAllRequested,
)
from entrabr_tui.ui.text import CLIPBOARD_NOTE, plural
from entrabr_tui.ui.widgets.change_filters import AlertLens, ChangeFilters
from entrabr_tui.ui.widgets.change_marks import MarkSelection
from entrabr_tui.ui.widgets.change_nodes import (
    ActionNode,
    NodeData,
    ObjectRow,
    PageLink,
    RowDetail,
    TypeNode,
    turn_page,
)
from entrabr_tui.ui.widgets.changes_build import ChangesBuilder, relabel
from entrabr_tui.ui.widgets.changes_model import ChangesModel
from entrabr_tui.ui.widgets.changes_view import (
    FilterKey,
    NodeKey,
    OpenPlan,
    TreeView,
    fetch_page,
    group_counts,
)
from entrabr_tui.ui.widgets.tree_steps import open_or_enter, step_back
from entrabr_tui.ui.workers import failure_title

#: Seconds the view must rest before the rows shown get their details (backup name, UPN) read.
DETAILS_DELAY = 0.25

Node = TreeNode[NodeData]


class ChangesTree(Tree[NodeData]):
    """Changed objects of one report, by type and action, a page at a time.

    The tree hands its state to collaborators it holds: ``model`` (the report shown, its counts, the filter
    applied), ``filters`` (what the user filters by), ``marks`` (what is marked, a range being marked) and
    ``nodes`` (builds and updates the nodes in place). Cache reads run in the tree's workers.
    """

    BINDINGS: ClassVar[list[BindingType]] = CHANGES.as_list()

    class Summary(Message):
        """The pane title should change."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class PageLoaded(Message):
        """A page of an action node was read (in a worker)."""

        def __init__(self, node_id: int, report_id: str, generation: int,
                     rows: list[ObjectRow] | None) -> None:
            super().__init__()
            self.node_id = node_id
            self.report_id = report_id
            self.generation = generation
            #: ``None``: the page could not be read (the worker reports why).
            self.rows = rows

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("Changes", id=id)
        self.show_root = False
        self.guide_depth = 2
        self.model = ChangesModel()
        self.filters = ChangeFilters()
        self.marks = MarkSelection()
        self.nodes = ChangesBuilder(self, self.marks, self._load_page)
        self._empty_text = "Select a backup (pane 1) to see its changes."
        self.nodes.show_info(self._empty_text)
        self._details_due = 0.0
        self._details_timer: Timer | None = None
        #: An alert to filter by once its report shows: (report id, lens, type, action).
        self._alert_wanted: tuple[str, AlertLens, str | None, str | None] | None = None
        #: Put the cursor on the first object once the filter being looked up shows (an alert opened).
        self._focus_first = False

    # -- public API used by the screen ----------------------------------------------------------------
    @property
    def report_id(self) -> str | None:
        """The report shown (``None``: none)."""
        return self.model.report_id

    @property
    def filtered(self) -> bool:
        """A cache-side filter (text or recoverable) is active."""
        return self.filters.cache_side(self.model.total)

    @property
    def min_filter_chars(self) -> int:
        return self.filters.min_chars(self.model.total)

    def show_report(self, backend: Backend, report_id: str, counts: Sequence[TypeActionCount],
                    marked: set[str]) -> None:
        """Show a report (or refresh its counts while it downloads, keeping what is open)."""
        other = self.model.open(backend, report_id, counts)
        self.marks.replace(marked)
        if not other:
            self.nodes.relabel_leaves(None)  # the queue may have changed meanwhile (a restore, a retry)
        if other:
            self.filters.reset_cache_side()
            self.marks.anchor = None
            self.nodes.details.clear()
            self.workers.cancel_group(self, "tree-filter")
            self.clear()
        if self._alert_wanted is not None and self._alert_wanted[0] == report_id:
            self._apply_alert()
            return
        if self.filtered:
            self._refilter(force=True)  # the filtered counts are out of date too
            return
        self.model.show_unfiltered()
        self._sync()
        self._post_summary()

    def show_alert(self, report_id: str, lens: AlertLens, entity_type: str | None, action: str | None
                   ) -> None:
        """Show only a watch alert's objects (of ``entity_type`` and ``action`` when given) once report
        ``report_id`` shows (now, if it does), with the cursor on the first of them."""
        self._alert_wanted = (report_id, lens, entity_type, action)
        if self.model.report_id == report_id:
            self._apply_alert()

    def _apply_alert(self) -> None:
        assert self._alert_wanted is not None
        _, lens, entity_type, action = self._alert_wanted
        self._alert_wanted = None
        filters = self.filters
        filters.text, filters.recoverable, filters.alert = "", None, lens
        filters.type_only, filters.action_only, filters.lens = entity_type, action, False
        self._focus_first = True
        self._refilter(force=True)

    def show_message(self, text: str) -> None:
        """Empty the tree and show one line of text (no report, loading, error)."""
        self.model.close()
        self.workers.cancel_group(self, "tree-filter")
        self.nodes.details.clear()
        self._empty_text = text
        self.nodes.show_info(text)
        self._post_summary()

    def set_filter(self, text: str) -> None:
        """Keep only changes whose name or UPN contains ``text`` or whose ID starts with it.

        Looked up at once: waiting for typing to pause would add the wait to every keystroke. While one
        lookup runs, newer filters replace the one waiting for it, so only the newest is looked up next and
        only it is shown (a paste is one change of the field, looked up once)."""
        self.filters.text = text.strip()
        self._refilter()

    def apply_marks(self, ids: Sequence[str], marked: bool) -> None:
        """Reflect marks changed elsewhere (queue pane, unmark all)."""
        self.marks.set(ids, marked)
        self.nodes.relabel_leaves(set(ids))
        self._post_summary()

    def refresh_summary(self) -> None:
        """Say the pane title again (marks changed elsewhere, the pane shows this tree again)."""
        self._post_summary()

    def clear_marks(self) -> None:
        self.marks.clear()
        self.nodes.relabel_leaves(None)
        self._post_summary()

    def replace_marks(self, report_id: str, marked: set[str]) -> None:
        """The queue of ``report_id`` as read again (after a bulk change, or one made elsewhere)."""
        if report_id != self.model.report_id:
            return
        self.marks.replace(marked)
        self.nodes.relabel_leaves(None)
        self._post_summary()

    def set_restore_marks(self, marks: Mapping[str, RestoreMarkView]) -> None:
        """Badge each object row with what the last restore that covered it did."""
        self.nodes.restored = marks
        self.nodes.relabel_leaves(None)

    @property
    def current_row(self) -> ObjectRow | None:
        node = self.cursor_node
        return node.data if node is not None and isinstance(node.data, ObjectRow) else None

    def visible_rows(self) -> list[ObjectRow]:
        return [node.data for node in self.nodes.leaves() if isinstance(node.data, ObjectRow)]

    # -- labels (``Tree`` hooks) -----------------------------------------------------------------------------
    def process_label(self, label: str | Text) -> Text:
        """Labels built here are one line already; use them as they are (``Tree`` copies each one)."""
        if isinstance(label, Text) and "\n" not in label.plain:
            return label
        return super().process_label(label)

    def get_label_width(self, node: Node) -> int:
        """The width ``Tree`` would measure by rendering the label, without rendering it."""
        label = node.label
        width = label.cell_len if isinstance(label, Text) else cell_len(label)
        return width + (cell_len(self.ICON_NODE) if node.allow_expand else 0)

    # -- filtering -------------------------------------------------------------------------------------------
    def _wanted_key(self) -> FilterKey | None:
        return self.filters.key(self.model.total)

    def _refilter(self, *, force: bool = False) -> bool:
        """Show what the current filter matches; the cache is asked in a worker (a newer filter wins).
        ``False`` when the tree shows it already (nothing to ask)."""
        model = self.model
        if model.backend is None or model.report_id is None:
            return False
        key = self._wanted_key()
        started = force or key != model.applied
        if started:
            self._load_view(model.backend, model.report_id, key, self.nodes.open_plan())
        else:
            self.workers.cancel_group(self, "tree-filter")  # typed back to what is shown
        self._post_summary()
        return started

    @work(exclusive=True, exit_on_error=False, group="tree-filter", description="Filtering")
    async def _load_view(self, backend: Backend, report_id: str, key: FilterKey | None,
                         keep: OpenPlan) -> None:
        worker = get_current_worker()
        unfiltered, quick = list(self.model.counts), self.filters.quick
        view = await asyncio.to_thread(self.model.read_view, backend, report_id, key, unfiltered, quick, keep,
                                       lambda: worker.is_cancelled)
        if view is not None and report_id == self.model.report_id and key == self._wanted_key():
            self._apply_view(view)

    def _apply_view(self, view: TreeView) -> None:
        self.model.show(view)
        with self.app.batch_update():
            self._sync(view.pages, view.plan)
        self._post_summary()
        self._want_details()
        if self._focus_first and view.key is not None and view.key[2] is not None:
            self._focus_first = False
            first = next(iter(self.nodes.leaves()), None)
            if first is not None:
                self.call_after_refresh(self.move_cursor, first)

    # -- details of the rows shown (backup name, UPN) --------------------------------------------------------
    def on_resize(self) -> None:
        if self.model.report_id is None:
            self.nodes.show_info(self._empty_text)  # wrapped to the new width

    def _want_details(self) -> None:
        """Read the details of the object rows in view once the view has rested for ``DETAILS_DELAY`` (a
        moving cursor only moves the deadline: one timer, no work per keystroke)."""
        self._details_due = time.monotonic() + DETAILS_DELAY
        if self._details_timer is None:
            self._details_timer = self.set_timer(DETAILS_DELAY, self._details_rested)

    def _details_rested(self) -> None:
        self._details_timer = None
        left = self._details_due - time.monotonic()
        if left > 0.005:
            self._details_timer = self.set_timer(left, self._details_rested)
            return
        model = self.model
        if model.backend is None or model.report_id is None:
            return
        top = int(self.scroll_offset.y)
        ids = self.nodes.missing_details(top, top + self.size.height)
        if ids:
            self._read_details(model.backend, model.report_id, ids)

    @work(exclusive=True, exit_on_error=False, group="row-details", description="Reading object details")
    async def _read_details(self, backend: Backend, report_id: str, ids: list[str]) -> None:
        changes = await asyncio.to_thread(backend.changes, report_id, ids)
        if report_id != self.model.report_id:
            return
        found = {change.id: RowDetail.of(change) for change in changes}
        self.nodes.add_details({object_id: found.get(object_id, RowDetail()) for object_id in ids})

    # -- building --------------------------------------------------------------------------------------------
    def _sync(self, pages: dict[NodeKey, list[ObjectRow]] | None = None,
              plan: OpenPlan | None = None) -> None:
        """Make the type and action nodes match the shown counts under the quick filters (see
        :meth:`ChangesBuilder.sync`)."""
        quick = self.filters.quick
        groups = group_counts(c for c in self.model.shown_counts if quick.keeps(c))
        if self.filtered:
            empty = "No matches."
        else:
            empty = "No changes." if self.model.report_id else self._empty_text
        self.nodes.sync(groups, empty, pages, plan)

    def _rebuild(self) -> None:
        """Show or hide nodes after a quick filter changed (no query)."""
        self._sync()
        self._post_summary()

    def _post_summary(self) -> None:
        model = self.model
        parts = [plural(model.total, "change") if model.report_id else "no report"]
        if self.marks.marked:
            parts.append(f"marked {len(self.marks):,}")
        pending = self._wanted_key() != model.applied
        quick = self.filters.quick
        kept = sum(c.count for c in model.shown_counts if quick.keeps(c))
        parts.extend(self.filters.describe(model.total, model.shown_total, pending, kept))
        anchor = self.marks.anchor
        if anchor is not None and isinstance(anchor.data, ObjectRow):
            parts.append("range from the row marked [range start]: v on its last row")
        self.post_message(self.Summary(" · ".join(parts)))

    # -- lazy pages ------------------------------------------------------------------------------------------
    @on(Tree.NodeExpanded)
    def _expanded(self, event: Tree.NodeExpanded[NodeData]) -> None:
        data = event.node.data
        if isinstance(data, ActionNode) and not data.loaded and not data.pending:
            self._load_page(event.node, data)
        elif isinstance(data, TypeNode):  # open actions inside a type that was closed load now
            for child in event.node.children:
                if isinstance(child.data, ActionNode) and child.is_expanded and not child.data.loaded \
                        and not child.data.pending:
                    self._load_page(child, child.data)

    def _load_page(self, node: Node, data: ActionNode) -> None:
        model = self.model
        if model.backend is None or model.report_id is None:
            return
        self.nodes.show_node_info(node, "loading…")
        data.pending = True
        self._fetch_page(model.backend, model.report_id, int(node.id), (data.entity_type, data.action),
                         data.page_starts[-1], model.applied, model.generation)

    @work(thread=True, exit_on_error=False, group="tree-page", description="Loading changes")
    def _fetch_page(self, backend: Backend, report_id: str, node_id: int, node: NodeKey,
                    after: tuple[str, str, int] | None, key: FilterKey | None, generation: int) -> None:
        try:
            rows = fetch_page(backend, report_id, node, after, key)
        except Exception:
            self.post_message(self.PageLoaded(node_id, report_id, generation, None))
            raise
        self.post_message(self.PageLoaded(node_id, report_id, generation, rows))

    @on(PageLoaded)
    def _page_loaded(self, message: PageLoaded) -> None:
        if not self.model.is_current(message.report_id, message.generation):
            return
        try:
            node = self.get_node_by_id(NodeID(message.node_id))
        except UnknownNodeID:
            return
        data = node.data
        if not isinstance(data, ActionNode):
            return
        if message.rows is None:
            data.pending = False
            self.nodes.show_node_info(node, "not loaded: close and open again to retry")
            return
        on_link = self.cursor_node is not None and self.cursor_node.parent is node
        with self.app.batch_update():
            first = self.nodes.fill_page(node, data, message.rows)
        if on_link and first is not None:
            self.call_after_refresh(self.move_cursor, first)
        self.call_after_refresh(self._want_details)

    def _turn_page(self, link: PageLink) -> None:
        node = self.cursor_node.parent if self.cursor_node is not None else None
        if node is None:
            return
        data = link.parent
        if turn_page(data.page_starts, (c.data for c in node.children), link.forward):
            self._load_page(node, data)

    # -- events ----------------------------------------------------------------------------------------------
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        error = event.worker.error
        if event.state is WorkerState.ERROR and error is not None:
            self.notify(str(error) or type(error).__name__, title=failure_title(event.worker),
                        severity="error", timeout=10)

    @on(Tree.NodeHighlighted)
    def _highlighted(self, event: Tree.NodeHighlighted[NodeData]) -> None:
        data = event.node.data
        if isinstance(data, ObjectRow):
            self.post_message(ChangeHighlighted(self.model.report_id, data.id, data.position))
        else:
            self.post_message(ChangeHighlighted(None, None))
        self._want_details()

    # -- navigation (bindings.CHANGES) -----------------------------------------------------------------------
    def action_drill_in(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        data = node.data
        if isinstance(data, ObjectRow):
            self.post_message(DiffRequested())
        elif isinstance(data, PageLink):
            self._turn_page(data)
        elif isinstance(data, TypeNode | ActionNode):
            open_or_enter(self, node)

    def action_back(self) -> None:
        step_back(self)

    def _jump_to_match(self, forward: bool) -> None:
        lines = [n.line for n in self.nodes.leaves() if n.line >= 0]
        if not lines:
            return
        start = self.cursor_line
        after = [ln for ln in lines if (ln > start if forward else ln < start)]
        target = (after[0] if forward else after[-1]) if after else (lines[0] if forward else lines[-1])
        self.cursor_line = target
        self.scroll_to_line(target)

    def action_next_match(self) -> None:
        if not self.filters.text:
            raise SkipAction()
        self._jump_to_match(forward=True)

    def action_previous_match(self) -> None:
        if not self.filters.text:
            raise SkipAction()
        self._jump_to_match(forward=False)

    # -- marks -----------------------------------------------------------------------------------------------
    def _set_marks(self, ids: list[str], marked: bool) -> None:
        model = self.model
        if not ids or model.backend is None or model.report_id is None:
            return
        self.apply_marks(ids, marked)
        self._persist_marks(model.backend, model.report_id, ids, marked)

    @work(thread=True, exit_on_error=False, group="marks", description="Saving the restore queue")
    def _persist_marks(self, backend: Backend, report_id: str, ids: list[str], marked: bool) -> None:
        size = backend.mark(report_id, ids) if marked else backend.unmark(report_id, ids)
        self.post_message(MarksChanged(report_id, ids, marked, size))

    def action_copy_id(self) -> None:
        """Copy the id of the object under the cursor (OSC 52)."""
        row = self.current_row
        if row is None:
            self.notify("Put the cursor on an object to copy its id.", severity="warning")
            return
        self.app.copy_to_clipboard(row.id)
        self.notify(f"The id {row.id} was {CLIPBOARD_NOTE}", title="Copy")

    def action_mark(self) -> None:
        """An object: mark or unmark it and move down. A type or action node: all of it (see
        :meth:`_mark_nodes`)."""
        node = self.cursor_node
        if node is None:
            return
        data = node.data
        if isinstance(data, ObjectRow):
            self._set_marks([data.id], data.id not in self.marks)
            self.action_cursor_down()
        elif isinstance(data, ActionNode):
            self._mark_nodes([(data.entity_type, data.action)], f"{data.entity_type} / {data.action}",
                             toggle=True)
        elif isinstance(data, TypeNode):
            quick = self.filters.quick
            nodes = [(c.entity_type_raw, c.action_raw) for c in self.model.shown_counts
                     if c.entity_type_raw == data.entity_type and quick.keeps(c)]
            self._mark_nodes(nodes, data.entity_type, toggle=True)

    def _mark_nodes(self, nodes: list[tuple[str, str]], what: str, *, toggle: bool) -> None:
        """Ask for every object of ``nodes`` that the filter shown matches to be marked (in the whole report,
        however few of them are loaded); with ``toggle``, unmarked when all of them are marked already."""
        report_id = self.model.report_id
        if report_id is None or not nodes:
            self.notify("Nothing to mark here.", severity="warning")
            return
        self.post_message(MarkNodesRequested(report_id, nodes, self.model.applied, toggle=toggle, what=what))

    def action_range(self) -> None:
        node = self.cursor_node
        if node is None or not isinstance(node.data, ObjectRow):
            self.notify("Put the cursor on an object to start a range.", severity="warning")
            return
        start = self.marks.anchor
        span = self.marks.range_to(node, self.nodes.alive)
        for end in (start, self.marks.anchor):  # the row that starts a range says so
            if end is not None and isinstance(end.data, ObjectRow) and self.nodes.alive(end):
                relabel(end, self.nodes.object_label(end.data))
        if span is None:
            self._post_summary()
            return
        ids = []
        for line in range(span[0], span[1] + 1):
            picked = self.get_node_at_line(line)
            if picked is not None and isinstance(picked.data, ObjectRow):
                ids.append(picked.data.id)
        self._set_marks(ids, True)
        self._post_summary()

    def action_mark_all(self) -> None:
        """Every match of the filters shown (text, recoverable, type, action, lens) in the whole report."""
        quick = self.filters.quick
        nodes = [(c.entity_type_raw, c.action_raw) for c in self.model.shown_counts if quick.keeps(c)]
        what = "all matches" if self.filters.any else "every change of the report"
        self._mark_nodes(nodes, what, toggle=False)

    def action_unmark_all(self) -> None:
        self.post_message(UnmarkAllRequested())

    # -- filters ---------------------------------------------------------------------------------------------
    def action_open_filter(self) -> None:
        self.post_message(FilterRequested())

    def action_clear_filter(self) -> None:
        if not (self.filters.any or self.marks.anchor):
            raise SkipAction()
        refilter = self.filters.clear()
        self.marks.anchor = None
        if not (refilter and self._refilter()):
            self._rebuild()

    def action_cycle_type(self) -> None:
        self.filters.cycle_type(self.model.counts)
        self._rebuild()
        self._open_quick_matches()

    def action_cycle_action(self) -> None:
        self.filters.cycle_action(self.model.counts)
        self._rebuild()
        self._open_quick_matches()

    def _open_quick_matches(self) -> None:
        """What a type or action filter keeps opens: its types, and the action node if it is the only one."""
        if not (self.filters.type_only or self.filters.action_only):
            return
        types = [n for n in self.root.children if isinstance(n.data, TypeNode)]
        for tnode in types:
            tnode.expand()
        actions = [a for t in types for a in t.children if isinstance(a.data, ActionNode)]
        if len(actions) == 1:
            actions[0].expand()

    def action_cycle_recoverable(self) -> None:
        self.filters.cycle_recoverable()
        self._refilter()

    def action_destructive_lens(self) -> None:
        self.filters.toggle_lens()
        self._rebuild()
