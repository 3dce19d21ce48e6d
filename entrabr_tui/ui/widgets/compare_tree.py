"""The Changes pane comparing two backups: type → how the objects differ (changed, in B only, in A only) →
objects, and the objects left out of the comparison with the reason.

Like the type → action tree, only counts are shown up front (the comparison's per type and kind counts, a few
dozen nodes); a kind node reads one page of at most ``PAGE_SIZE`` objects from the backend when it opens, in a
thread worker, with "next"/"previous" rows for the rest, so the tree stays bounded at any size. Pages that
arrive for an older comparison are dropped (``generation``).
"""

from __future__ import annotations

from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.binding import BindingType
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import NodeID, TreeNode, UnknownNodeID
from textual.worker import Worker, WorkerState

from entrabr_tui.core.compare import Comparison, DeltaKind, MovedObject, ObjectDelta
from entrabr_tui.ui.backend import Backend
from entrabr_tui.ui.bindings import CHANGES, COMPARE
from entrabr_tui.ui.messages import DiffRequested
from entrabr_tui.ui.text import CLIPBOARD_NOTE
from entrabr_tui.ui.widgets.change_nodes import PAGE_SIZE, InfoRow, TypeNode, info_label, type_label
from entrabr_tui.ui.widgets.changes_build import info_lines
from entrabr_tui.ui.widgets.compare_nodes import (
    MOVED,
    CompareData,
    CompareLink,
    DeltaRow,
    KindNode,
    delta_label,
    kind_label,
    link_label,
)
from entrabr_tui.ui.widgets.styles import theme_style
from entrabr_tui.ui.widgets.tree_steps import open_or_enter, step_back
from entrabr_tui.ui.workers import failure_title

Node = TreeNode[CompareData]

#: The Changes pane's keys that mean the same here.
_NAVIGATION = frozenset({
    "cursor_up", "cursor_down", "scroll_home", "scroll_end", "page_up", "page_down", "drill_in", "back",
    "cursor_parent", "cursor_parent_next_sibling", "cursor_previous_sibling", "cursor_next_sibling",
    "page_left", "page_right", "toggle_expand_all", "copy_id"})
#: Kinds in the order they are listed inside a type.
_KIND_ORDER = (DeltaKind.CHANGED.value, DeltaKind.APPEARED.value, DeltaKind.DISAPPEARED.value)
#: Kind → the theme variable that repeats the glyph's meaning in colour.
_KIND_VARIABLE = {DeltaKind.CHANGED.value: "warning", DeltaKind.APPEARED.value: "success",
                  DeltaKind.DISAPPEARED.value: "error", MOVED: "warning"}

#: Why marking is off here (space, ctrl+a; the restore key says the same).
MARKING_OFF = ("Marking is off while two backups are compared: a comparison says what differs between A "
               "and B, not what a restore of either would write. esc returns to the report; to restore, "
               "open the report of the backup to restore from (enter in pane 1) and mark there.")


def compare_key(comparison: Comparison) -> tuple[str, str]:
    """The comparison's name for paging: the preview job ids of its reports A and B."""
    return comparison.a.report_id, comparison.b.report_id


def read_page(backend: Backend, reports: tuple[str, str], data: KindNode) -> list[CompareData]:
    """The current page of a kind node, with its page links (blocking: run it in a thread)."""
    items: list[ObjectDelta | MovedObject]
    if data.kind == MOVED:
        items = list(backend.compare_moved(reports, data.offset, PAGE_SIZE))
    else:
        items = list(backend.compare_page(reports, data.entity_type, data.kind, data.offset, PAGE_SIZE))
    found: list[CompareData] = []
    if data.offset > 0:
        found.append(CompareLink(data, forward=False))
    found.extend(DeltaRow(item) for item in items)
    if not items:
        found.append(InfoRow("(none)"))
    if len(items) == PAGE_SIZE and data.offset + PAGE_SIZE < data.count:
        found.append(CompareLink(data, forward=True))
    return found


class CompareTree(Tree[CompareData]):
    """What differs between backup A and backup B (see the module docstring); the highlighted object goes
    to the Diff pane (``Highlighted``), esc leaves the comparison (``Leave``)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *(b for b in CHANGES.bindings if b.action in _NAVIGATION), *COMPARE.bindings]

    class Highlighted(Message):
        """The cursor is on an object of the comparison (``None``: on no object)."""

        def __init__(self, row: DeltaRow | None) -> None:
            super().__init__()
            self.row = row

    class Leave(Message):
        """esc: back to the report view."""

    class PageLoaded(Message):
        """A page of a kind node was read (in a worker); ``items`` is ``None`` when it could not be."""

        def __init__(self, generation: int, node_id: int, items: list[CompareData] | None) -> None:
            super().__init__()
            self.generation = generation
            self.node_id = node_id
            self.items = items

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("Compare", id=id)
        self.show_root = False
        self.guide_depth = 2
        self.backend: Backend | None = None
        self.comparison: Comparison | None = None
        self.generation = 0
        self._message = ""

    # -- showing ---------------------------------------------------------------------------------------------
    def show_message(self, text: str) -> None:
        """Empty the tree and show ``text``, wrapped to its width (comparing, failed)."""
        self.generation += 1
        self.comparison = None
        self._message = text
        self.clear()
        self._add_info(text)
        self.cursor_line = 0

    def _add_info(self, text: str) -> None:
        for line in info_lines(self, text):
            self.root.add_leaf(info_label(InfoRow(line)), InfoRow(line))

    def on_resize(self) -> None:
        if self.comparison is None and self._message:
            self.show_message(self._message)  # wrapped to the new width

    def show(self, backend: Backend, comparison: Comparison, counts: dict[str, dict[str, int]],
             notes: list[str]) -> None:
        """Show ``comparison``: ``notes`` first (what limits the verdict), then the objects left out, then
        the types with their kinds (``counts``, per type and kind; pages load as nodes open)."""
        self.generation += 1
        self.backend, self.comparison = backend, comparison
        with self.app.batch_update():
            self._message = ""
            self.clear()
            for note in notes:
                self._add_info(note)
            if comparison.moved:
                moved = KindNode(None, MOVED, len(comparison.moved))
                self.root.add(self._kind_label(moved), moved)
            for entity_type in sorted(counts, key=lambda t: (-sum(counts[t].values()), t)):
                by_kind = counts[entity_type]
                tnode = TypeNode(entity_type, sum(by_kind.values()))
                branch = self.root.add(type_label(tnode), tnode, expand=True)
                for kind in _KIND_ORDER:
                    if by_kind.get(kind):
                        knode = KindNode(entity_type, kind, by_kind[kind])
                        branch.add(self._kind_label(knode), knode)
            if not comparison.objects and not comparison.moved:
                self._add_info("A and B do not differ in anything the two reports show.")
        self.cursor_line = 0

    @property
    def current_row(self) -> DeltaRow | None:
        node = self.cursor_node
        return node.data if node is not None and isinstance(node.data, DeltaRow) else None

    # -- labels ----------------------------------------------------------------------------------------------
    def _glyph_style(self, kind: str) -> Style:
        return theme_style(self.app, _KIND_VARIABLE[kind], bold=True)

    def _kind_label(self, node: KindNode) -> Text:
        return kind_label(node, self._glyph_style(node.kind))

    def _row_label(self, row: DeltaRow) -> Text:
        kind = MOVED if isinstance(row.item, MovedObject) else row.item.kind.value
        return delta_label(row, self._glyph_style(kind), theme_style(self.app, "warning"))

    def _label(self, data: CompareData) -> Text:
        if isinstance(data, DeltaRow):
            return self._row_label(data)
        if isinstance(data, CompareLink):
            return link_label(data)
        if isinstance(data, KindNode):
            return self._kind_label(data)
        if isinstance(data, TypeNode):
            return type_label(data)
        return info_label(data)

    # -- lazy pages ------------------------------------------------------------------------------------------
    @on(Tree.NodeExpanded)
    def _expanded(self, event: Tree.NodeExpanded[CompareData]) -> None:
        data = event.node.data
        if isinstance(data, KindNode) and not data.loaded and not data.pending:
            self._load(event.node, data)

    def _load(self, node: Node, data: KindNode) -> None:
        if self.backend is None or self.comparison is None:
            return
        data.pending = True
        node.remove_children()
        node.add_leaf(info_label(InfoRow("loading…")), InfoRow("loading…"))
        self._read(self.backend, compare_key(self.comparison), int(node.id), data, self.generation)

    @work(thread=True, exit_on_error=False, group="compare-page", description="Loading the comparison")
    def _read(self, backend: Backend, reports: tuple[str, str], node_id: int, data: KindNode,
              generation: int) -> None:
        try:
            items = read_page(backend, reports, data)
        except Exception:
            self.post_message(self.PageLoaded(generation, node_id, None))
            raise
        self.post_message(self.PageLoaded(generation, node_id, items))

    @on(PageLoaded)
    def _page_loaded(self, message: PageLoaded) -> None:
        if message.generation != self.generation:
            return
        try:
            node = self.get_node_by_id(NodeID(message.node_id))
        except UnknownNodeID:
            return
        data = node.data
        if not isinstance(data, KindNode):
            return
        data.pending = False
        on_link = self.cursor_node is not None and self.cursor_node.parent is node
        with self.app.batch_update():
            node.remove_children()
            if message.items is None:
                text = "not loaded: close and open again to retry"
                node.add_leaf(info_label(InfoRow(text)), InfoRow(text))
                return
            data.loaded = True
            first = None
            for item in message.items:
                child = node.add_leaf(self._label(item), item)
                if first is None and isinstance(item, DeltaRow):
                    first = child
            node.set_label(self._kind_label(data))
        if on_link and first is not None:
            self.call_after_refresh(self.move_cursor, first)

    def _turn_page(self, link: CompareLink) -> None:
        node = self.cursor_node.parent if self.cursor_node is not None else None
        if node is None:
            return
        data = link.parent
        data.offset = data.offset + PAGE_SIZE if link.forward else max(0, data.offset - PAGE_SIZE)
        data.loaded = False
        self._load(node, data)

    # -- events ----------------------------------------------------------------------------------------------
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        error = event.worker.error
        if event.state is WorkerState.ERROR and error is not None:
            self.notify(str(error) or type(error).__name__, title=failure_title(event.worker),
                        severity="error", timeout=10)

    @on(Tree.NodeHighlighted)
    def _highlighted(self, event: Tree.NodeHighlighted[CompareData]) -> None:
        data = event.node.data
        self.post_message(self.Highlighted(data if isinstance(data, DeltaRow) else None))

    # -- keys ------------------------------------------------------------------------------------------------
    def action_drill_in(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        data = node.data
        if isinstance(data, DeltaRow):
            self.post_message(DiffRequested())
        elif isinstance(data, CompareLink):
            self._turn_page(data)
        elif isinstance(data, TypeNode | KindNode):
            open_or_enter(self, node)

    def action_back(self) -> None:
        step_back(self)

    def action_copy_id(self) -> None:
        row = self.current_row
        if row is None:
            self.notify("Put the cursor on an object to copy its id.", severity="warning")
            return
        self.app.copy_to_clipboard(row.id)
        self.notify(f"The id {row.id} was {CLIPBOARD_NOTE}", title="Copy")

    def action_marking_off(self) -> None:
        self.notify(MARKING_OFF, title="Compare", severity="warning", timeout=10)

    def action_report_only(self) -> None:
        self.notify("Filtering, grouping by who changed it and tags apply to a report, not to a comparison "
                    "of two backups: esc returns to the report.", title="Compare", severity="warning")

    def action_leave_compare(self) -> None:
        self.post_message(self.Leave())

    def summary(self) -> str:
        """What the pane title says about the comparison shown."""
        comparison = self.comparison
        if comparison is None:
            return ""
        parts = [f"{len(comparison.objects):,} differ"]
        if comparison.moved:
            parts.append(f"{len(comparison.moved):,} not compared")
        return " · ".join(parts)
