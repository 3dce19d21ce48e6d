"""The Changes tree: type → action → objects, loaded lazily from the cache a page at a time.

Only counts are loaded up front (at most a few dozen type/action nodes). An action node fetches one page of
at most ``PAGE_SIZE`` objects when it is opened, with "next"/"previous" rows to move through the rest, so
the number of expanded lines stays bounded however large the report is. A filter (text, recoverable) asks the
cache for filtered counts and pages; the type/action quick filters and the soft-delete lens only hide nodes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.binding import BindingType
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import NodeID, TreeNode, UnknownNodeID
from textual.worker import Worker, WorkerState

from entrabr_tui.core.model import RecoveryAction
from entrabr_tui.ui.backend import Backend, TypeActionCount
from entrabr_tui.ui.bindings import CHANGES
from entrabr_tui.ui.messages import ChangeHighlighted
from entrabr_tui.ui.text import clean, plural, truncate
from entrabr_tui.ui.widgets.change_nodes import (
    PAGE_SIZE,
    ActionNode,
    InfoRow,
    NodeData,
    ObjectRow,
    PageLink,
    TypeNode,
    action_label,
    info_label,
    object_label,
    page_label,
    type_label,
)
from entrabr_tui.ui.widgets.changes_actions import ChangesActions
from entrabr_tui.ui.widgets.styles import action_glyph, action_style, theme_style

#: With a filter, action nodes this small open by themselves (up to ``AUTO_OPEN_ROWS`` rows in all).
AUTO_OPEN_NODE = 100
AUTO_OPEN_ROWS = 1_000

#: Reports larger than this filter from ``LARGE_REPORT_MIN_CHARS`` typed characters on (a one-letter
#: substring matches nearly everything and costs a scan of the whole report).
LARGE_REPORT = 50_000
LARGE_REPORT_MIN_CHARS = 3


class ChangesTree(ChangesActions, Tree[NodeData]):
    """Changed objects of one report. Marks, filters and paging live here; data comes from workers."""

    BINDINGS: ClassVar[list[BindingType]] = CHANGES.as_list()

    class Summary(Message):
        """The pane title should change."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class PageLoaded(Message):
        def __init__(self, node_id: int, report_id: str, rows: list[ObjectRow]) -> None:
            super().__init__()
            self.node_id = node_id
            self.report_id = report_id
            self.rows = rows

    class FilteredCounts(Message):
        def __init__(self, report_id: str, key: tuple[str, bool | None],
                     counts: list[TypeActionCount]) -> None:
            super().__init__()
            self.report_id = report_id
            self.key = key
            self.counts = counts

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
        old_keys = {(c.entity_type_raw, c.action_raw) for c in self.counts}
        self.backend, self.report_id, self.marked = backend, report_id, set(marked)
        self.counts = [c for c in counts if c.count > 0]
        if not same:
            self.filter_text, self.recoverable_filter, self._anchor = "", None, None
            self.applied_filter = None
        if self.filtered:
            self.applied_filter = None
            self._refilter()
        elif same and old_keys == {(c.entity_type_raw, c.action_raw) for c in self.counts}:
            self.shown_counts = self.counts
            self._relabel_groups()
        else:
            self.shown_counts = self.counts
            self._rebuild()

    def show_message(self, text: str) -> None:
        """Empty the tree and show one line of text (no report, loading, error)."""
        self.report_id, self.counts, self.shown_counts = None, [], []
        self._empty_text = text
        self._show_info(text)
        self._post_summary()

    def set_filter(self, text: str) -> None:
        """Keep only changes whose name or UPN contains ``text`` or whose ID starts with it."""
        self.filter_text = text.strip()
        self._refilter()

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

    # -- filtering -------------------------------------------------------------------------------------------
    def _refilter(self) -> None:
        if not self.filtered or self.backend is None or self.report_id is None:
            if self.applied_filter is None and self.shown_counts is self.counts and self.report_id:
                self._post_summary()
                return
            self.shown_counts = self.counts
            self.applied_filter = None
            self._rebuild()
            return
        key = (self.effective_text, self.recoverable_filter)
        if key == self.applied_filter:
            self._post_summary()
            return
        self._fetch_counts(self.backend, self.report_id, key)

    @work(thread=True, exclusive=True, exit_on_error=False, group="tree-filter", description="Filtering")
    def _fetch_counts(self, backend: Backend, report_id: str, key: tuple[str, bool | None]) -> None:
        counts = backend.counts(report_id, text=key[0] or None, recoverable=key[1])
        self.post_message(self.FilteredCounts(report_id, key, list(counts)))

    @on(FilteredCounts)
    def _filtered_counts(self, message: FilteredCounts) -> None:
        current = (self.effective_text, self.recoverable_filter)
        if message.report_id == self.report_id and message.key == current:
            self.shown_counts = message.counts
            self.applied_filter = message.key
            self._rebuild(auto_open=True)

    def _visible_counts(self) -> list[TypeActionCount]:
        def keep(c: TypeActionCount) -> bool:
            if self.type_only is not None and c.entity_type_raw != self.type_only:
                return False
            if self.lens:
                return RecoveryAction.parse(c.action_raw) is RecoveryAction.SOFT_DELETE
            return self.action_only is None or c.action_raw == self.action_only

        return [c for c in self.shown_counts if c.count > 0 and keep(c)]

    # -- building --------------------------------------------------------------------------------------------
    def _show_info(self, text: str) -> None:
        self.clear()
        self.root.add_leaf(info_label(InfoRow(text)), InfoRow(text))
        self.cursor_line = 0

    def _rebuild(self, auto_open: bool = False) -> None:
        expanded = {self._key(n) for n in self._walk(self.root) if n.is_expanded and n is not self.root}
        self.clear()
        self._anchor = None
        groups: dict[str, list[TypeActionCount]] = {}
        for c in sorted(self._visible_counts(), key=lambda c: (c.entity_type_raw, c.action_raw)):
            groups.setdefault(c.entity_type_raw, []).append(c)
        if not groups:
            text = "No matches." if self.filtered else ("No changes." if self.report_id else self._empty_text)
            self.root.add_leaf(info_label(InfoRow(text)), InfoRow(text))
        budget = AUTO_OPEN_ROWS
        for etype, actions in groups.items():
            tnode = TypeNode(etype, sum(c.count for c in actions))
            type_tree = self.root.add(type_label(tnode), tnode)
            for c in actions:
                anode = ActionNode(etype, c.action_raw, c.count)
                child = type_tree.add(self._action_label(anode), anode)
                if auto_open and c.count <= min(AUTO_OPEN_NODE, budget):
                    budget -= c.count
                    type_tree.expand()
                    child.expand()
                elif ("a", etype, c.action_raw) in expanded:
                    child.expand()
            if ("t", etype, "") in expanded or (auto_open and len(groups) <= 3):
                type_tree.expand()
        self.cursor_line = 0
        self._post_summary()

    def _relabel_groups(self) -> None:
        totals = {(c.entity_type_raw, c.action_raw): c.count for c in self.shown_counts}
        for node in self._walk(self.root):
            data = node.data
            if isinstance(data, ActionNode):
                data.count = totals.get((data.entity_type, data.action), data.count)
                node.set_label(self._action_label(data))
            elif isinstance(data, TypeNode):
                data.count = sum(n for (t, _), n in totals.items() if t == data.entity_type)
                node.set_label(type_label(data))
        self._post_summary()

    def _relabel_leaves(self, ids: set[str] | None) -> None:
        for node in self._leaves():
            if isinstance(node.data, ObjectRow) and (ids is None or node.data.id in ids):
                node.set_label(self._object_label(node.data))

    def _action_label(self, node: ActionNode) -> Text:
        return action_label(node, action_glyph(node.action), action_style(self.app, node.action))

    def _object_label(self, row: ObjectRow) -> Text:
        return object_label(row, row.id in self.marked, action_glyph(row.action),
                            action_style(self.app, row.action), theme_style(self.app, "warning"))

    @staticmethod
    def _key(node: TreeNode[NodeData]) -> tuple[str, str, str]:
        data = node.data
        if isinstance(data, TypeNode):
            return ("t", data.entity_type, "")
        if isinstance(data, ActionNode):
            return ("a", data.entity_type, data.action)
        return ("", "", "")

    def _walk(self, node: TreeNode[NodeData]) -> Iterator[TreeNode[NodeData]]:
        yield node
        for child in node.children:
            yield from self._walk(child)

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
            shown = sum(c.count for c in self.shown_counts)
            parts.append(f"/{truncate(clean(self.filter_text), 20)}: {shown:,}")
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
        if isinstance(data, ActionNode) and not data.loaded:
            self._load_page(event.node, data)

    def _load_page(self, node: TreeNode[NodeData], data: ActionNode) -> None:
        if self.backend is None or self.report_id is None:
            return
        node.remove_children()
        node.add_leaf(info_label(InfoRow("loading…")), InfoRow("loading…"))
        self._fetch_page(self.backend, self.report_id, int(node.id), data, data.page_starts[-1],
                         self.effective_text, self.recoverable_filter)

    @work(thread=True, exit_on_error=False, group="tree-page", description="Loading changes")
    def _fetch_page(self, backend: Backend, report_id: str, node_id: int, data: ActionNode,
                    after: tuple[str, str] | None, text: str, recoverable: bool | None) -> None:
        rows = backend.page(report_id, data.entity_type, data.action, after, PAGE_SIZE,
                            text=text or None, recoverable=recoverable)
        self.post_message(self.PageLoaded(node_id, report_id, [ObjectRow.from_summary(r) for r in rows]))

    @on(PageLoaded)
    def _page_loaded(self, message: PageLoaded) -> None:
        if message.report_id != self.report_id:
            return
        try:
            node = self.get_node_by_id(NodeID(message.node_id))
        except UnknownNodeID:
            return
        data = node.data
        if not isinstance(data, ActionNode):
            return
        on_link = self.cursor_node is not None and self.cursor_node.parent is node
        node.remove_children()
        data.loaded = True
        if data.page_index > 0:
            link = PageLink(data, forward=False)
            node.add_leaf(page_label(link), link)
        first = None
        for row in message.rows:
            leaf = node.add_leaf(self._object_label(row), row)
            first = first or leaf
        if not message.rows:
            node.add_leaf(info_label(InfoRow("(none cached yet)")), InfoRow("(none cached yet)"))
        if (data.page_index + 1) * PAGE_SIZE < data.count and len(message.rows) == PAGE_SIZE:
            link = PageLink(data, forward=True)
            node.add_leaf(page_label(link), link)
        node.set_label(self._action_label(data))
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
