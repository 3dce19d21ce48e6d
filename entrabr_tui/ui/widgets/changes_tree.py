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
import threading
from collections.abc import Iterator, Sequence
from typing import ClassVar

from textual import on, work
from textual.binding import BindingType
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import NodeID, TreeNode, UnknownNodeID
from textual.worker import Worker, WorkerState, get_current_worker

from entrabr_tui.ui.backend import Backend, TypeActionCount
from entrabr_tui.ui.bindings import CHANGES
from entrabr_tui.ui.messages import ChangeHighlighted
from entrabr_tui.ui.text import clean, plural, truncate
from entrabr_tui.ui.widgets.change_nodes import (
    ActionNode,
    InfoRow,
    NodeData,
    ObjectRow,
    PageLink,
    TypeNode,
    info_label,
)
from entrabr_tui.ui.widgets.changes_actions import ChangesActions
from entrabr_tui.ui.widgets.changes_view import (
    FilterKey,
    NodeKey,
    OpenPlan,
    QuickFilter,
    TreeView,
    fetch_page,
    fetch_view,
)

#: Reports larger than this filter from ``LARGE_REPORT_MIN_CHARS`` typed characters on (a one-letter
#: substring matches nearly everything and costs a scan of the whole report).
LARGE_REPORT = 50_000
LARGE_REPORT_MIN_CHARS = 3

#: Seconds a typed filter waits before it is looked up, so that keys arriving together (a paste) are looked
#: up once. A longer wait would add itself to every keystroke; instead, while one lookup runs, newer
#: filters replace the one waiting for it (only the newest is looked up next, and only it is shown).
FILTER_DELAY = 0.01


class ChangesTree(ChangesActions):
    """Changed objects of one report. Marks, filters and paging live here; data comes from workers."""

    BINDINGS: ClassVar[list[BindingType]] = CHANGES.as_list()

    class Summary(Message):
        """The pane title should change."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class PageLoaded(Message):
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
        self.backend: Backend | None = None
        self.report_id: str | None = None
        self.counts: list[TypeActionCount] = []
        self.shown_counts: list[TypeActionCount] = []
        self.marked: set[str] = set()
        self.filter_text = ""
        self.recoverable_filter: bool | None = None
        self.type_only: str | None = None
        self.action_only: str | None = None
        self.lens = False
        #: The (text, recoverable) filter the tree currently shows (``None``: unfiltered).
        self.applied_filter: tuple[str, bool | None] | None = None
        self._anchor: TreeNode[NodeData] | None = None
        #: Bumped whenever what the nodes hold is replaced (another report, a filter applied): pages asked for
        #: before that are dropped when they arrive.
        self._generation = 0
        self._fetching = threading.Lock()
        self._empty_text = "Select a backup (pane 1) to see its changes."
        self._show_info(self._empty_text)

    # -- public API used by the screen ----------------------------------------------------------------
    @property
    def filtered(self) -> bool:
        """A cache-side filter (text or recoverable) is active."""
        return bool(self.effective_text) or self.recoverable_filter is not None

    @property
    def min_filter_chars(self) -> int:
        return LARGE_REPORT_MIN_CHARS if sum(c.count for c in self.counts) > LARGE_REPORT else 1

    @property
    def effective_text(self) -> str:
        """The filter text sent to the cache (empty while too short for a large report)."""
        return self.filter_text if len(self.filter_text) >= self.min_filter_chars else ""

    def show_report(self, backend: Backend, report_id: str, counts: Sequence[TypeActionCount],
                    marked: set[str]) -> None:
        """Show a report (or refresh its counts while it downloads, keeping what is open)."""
        same = report_id == self.report_id
        self.backend, self.report_id, self.marked = backend, report_id, set(marked)
        self.counts = [c for c in counts if c.count > 0]
        if not same:
            self.filter_text, self.recoverable_filter, self._anchor = "", None, None
            self.applied_filter = None
            self._generation += 1
            self.workers.cancel_group(self, "tree-filter")
            self.clear()
        if self.filtered:
            self._refilter(force=True)  # the filtered counts are out of date too
            return
        self.shown_counts = self.counts
        self._sync()
        self._post_summary()

    def show_message(self, text: str) -> None:
        """Empty the tree and show one line of text (no report, loading, error)."""
        self.report_id, self.counts, self.shown_counts = None, [], []
        self.applied_filter = None
        self._generation += 1
        self.workers.cancel_group(self, "tree-filter")
        self._empty_text = text
        self._show_info(text)
        self._post_summary()

    def set_filter(self, text: str) -> None:
        """Keep only changes whose name or UPN contains ``text`` or whose ID starts with it (looked up once
        typing pauses)."""
        self.filter_text = text.strip()
        self._refilter(FILTER_DELAY)

    def apply_marks(self, ids: Sequence[str], marked: bool) -> None:
        """Reflect marks changed elsewhere (queue pane, unmark all)."""
        if marked:
            self.marked.update(ids)
        else:
            self.marked.difference_update(ids)
        self._relabel_leaves(set(ids))
        self._post_summary()

    def clear_marks(self) -> None:
        self.marked.clear()
        self._relabel_leaves(None)
        self._post_summary()

    @property
    def current_row(self) -> ObjectRow | None:
        node = self.cursor_node
        return node.data if node is not None and isinstance(node.data, ObjectRow) else None

    def visible_rows(self) -> list[ObjectRow]:
        return [node.data for node in self._leaves() if isinstance(node.data, ObjectRow)]

    @property
    def quick(self) -> QuickFilter:
        return QuickFilter(self.type_only, self.action_only, self.lens)

    # -- filtering -------------------------------------------------------------------------------------------
    def _wanted_key(self) -> FilterKey | None:
        return (self.effective_text, self.recoverable_filter) if self.filtered else None

    def _refilter(self, delay: float = 0.0, *, force: bool = False) -> bool:
        """Show what the current filter matches; the cache is asked in a worker (a newer filter wins).
        ``False`` when the tree shows it already (nothing to ask)."""
        if self.backend is None or self.report_id is None:
            return False
        key = self._wanted_key()
        started = force or key != self.applied_filter
        if started:
            self._load_view(self.backend, self.report_id, key, delay, self._open_now())
        else:
            self.workers.cancel_group(self, "tree-filter")  # typed back to what is shown
        self._post_summary()
        return started

    def _open_now(self) -> OpenPlan:
        types, actions = set(), set()
        for tnode in self.root.children:
            if isinstance(tnode.data, TypeNode) and tnode.is_expanded:
                types.add(tnode.data.entity_type)
            for anode in tnode.children:
                if isinstance(anode.data, ActionNode) and anode.is_expanded:
                    actions.add((anode.data.entity_type, anode.data.action))
        return OpenPlan(frozenset(types), frozenset(actions))

    @work(exclusive=True, exit_on_error=False, group="tree-filter", description="Filtering")
    async def _load_view(self, backend: Backend, report_id: str, key: FilterKey | None, delay: float,
                         keep: OpenPlan) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        worker = get_current_worker()
        unfiltered, quick = list(self.counts), self.quick

        def fetch() -> TreeView | None:
            with self._fetching:  # one at a time: filters cancelled while they waited are not looked up
                if worker.is_cancelled:
                    return None
                return fetch_view(backend, report_id, key, unfiltered, quick, keep,
                                  lambda: worker.is_cancelled)

        view = await asyncio.to_thread(fetch)
        if view is not None and report_id == self.report_id and key == self._wanted_key():
            self._apply_view(view)

    def _apply_view(self, view: TreeView) -> None:
        self.shown_counts = view.counts
        self.applied_filter = view.key
        self._generation += 1
        with self.app.batch_update():
            self._sync(view.pages, view.plan)
        self._post_summary()

    # -- building --------------------------------------------------------------------------------------------
    def _show_info(self, text: str) -> None:
        self.clear()
        self.root.add_leaf(info_label(InfoRow(text)), InfoRow(text))
        self.cursor_line = 0

    def _rebuild(self) -> None:
        """Show or hide nodes after a quick filter changed (no query)."""
        self._sync()
        self._post_summary()

    def _relabel_leaves(self, ids: set[str] | None) -> None:
        for node in self._leaves():
            if isinstance(node.data, ObjectRow) and (ids is None or node.data.id in ids):
                node.set_label(self._object_label(node.data))

    def _leaves(self) -> Iterator[TreeNode[NodeData]]:
        """Object leaves currently shown (under expanded nodes)."""
        for tnode in self.root.children:
            if not tnode.is_expanded:
                continue
            for anode in tnode.children:
                if anode.is_expanded:
                    yield from (leaf for leaf in anode.children if isinstance(leaf.data, ObjectRow))

    def _post_summary(self) -> None:
        total = sum(c.count for c in self.counts)
        parts = [plural(total, "change") if self.report_id else "no report"]
        if self.marked:
            parts.append(f"marked {len(self.marked):,}")
        if self.filter_text and not self.effective_text:
            typed = truncate(clean(self.filter_text), 20)
            parts.append(f"/{typed}: type {self.min_filter_chars}+ characters")
        elif self.filter_text:
            shown = f"{sum(c.count for c in self.shown_counts):,}"
            if self._wanted_key() != self.applied_filter:
                shown = "…"  # looked up once typing pauses
            parts.append(f"/{truncate(clean(self.filter_text), 20)}: {shown}")
        if self.recoverable_filter is not None:
            parts.append("recoverable" if self.recoverable_filter else "not recoverable")
        if self.type_only:
            parts.append(f"type={truncate(clean(self.type_only), 24)}")
        if self.lens:
            parts.append("soft-delete lens")
        elif self.action_only:
            parts.append(f"action={clean(self.action_only)}")
        if self._anchor is not None:
            parts.append("range…")
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

    def _load_page(self, node: TreeNode[NodeData], data: ActionNode) -> None:
        if self.backend is None or self.report_id is None:
            return
        node.remove_children()
        node.add_leaf(info_label(InfoRow("loading…")), InfoRow("loading…"))
        data.pending = True
        self._fetch_page(self.backend, self.report_id, int(node.id), (data.entity_type, data.action),
                         data.page_starts[-1], self.applied_filter, self._generation)

    @work(thread=True, exit_on_error=False, group="tree-page", description="Loading changes")
    def _fetch_page(self, backend: Backend, report_id: str, node_id: int, node: NodeKey,
                    after: tuple[str, str] | None, key: FilterKey | None, generation: int) -> None:
        try:
            rows = fetch_page(backend, report_id, node, after, key)
        except Exception:
            self.post_message(self.PageLoaded(node_id, report_id, generation, None))
            raise
        self.post_message(self.PageLoaded(node_id, report_id, generation, rows))

    @on(PageLoaded)
    def _page_loaded(self, message: PageLoaded) -> None:
        if message.report_id != self.report_id or message.generation != self._generation:
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
            node.remove_children()
            text = "not loaded: close and open again to retry"
            node.add_leaf(info_label(InfoRow(text)), InfoRow(text))
            return
        on_link = self.cursor_node is not None and self.cursor_node.parent is node
        with self.app.batch_update():
            first = self._fill_page(node, data, message.rows)
        if on_link and first is not None:
            self.call_after_refresh(self.move_cursor, first)

    def _turn_page(self, link: PageLink) -> None:
        node = self.cursor_node.parent if self.cursor_node is not None else None
        if node is None:
            return
        data = link.parent
        if link.forward:
            rows = [c.data for c in node.children if isinstance(c.data, ObjectRow)]
            if not rows:
                return
            data.page_starts.append((rows[-1].display_name, rows[-1].id))
        elif len(data.page_starts) > 1:
            data.page_starts.pop()
        self._load_page(node, data)

    # -- events ----------------------------------------------------------------------------------------------
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        error = event.worker.error
        if event.state is WorkerState.ERROR and error is not None:
            self.notify(clean(str(error) or type(error).__name__)[:300], title=event.worker.description,
                        severity="error", timeout=10)

    @on(Tree.NodeHighlighted)
    def _highlighted(self, event: Tree.NodeHighlighted[NodeData]) -> None:
        data = event.node.data
        if isinstance(data, ObjectRow):
            self.post_message(ChangeHighlighted(self.report_id, data.id))
        else:
            self.post_message(ChangeHighlighted(None, None))
