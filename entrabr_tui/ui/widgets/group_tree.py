"""The Changes pane grouped by who changed it: actor → operation → objects, or cluster → objects.

The report's changes are grouped by the audit join (:meth:`Backend.audit_actors`, ``audit_operations``,
``audit_clusters``, ``group_page``). Like the type → action tree, nothing is read before it is shown: the
actors (a few dozen) or the first page of clusters come first; an actor's operations, a page at a time, when
it opens; a group's objects, a page of at most ``PAGE_SIZE``, when it opens. So the number of lines in the
tree stays bounded at any report size. Every read runs in a thread worker; results arrive as messages and are
applied only if they still belong to the tree shown (``generation``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.binding import BindingType
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import NodeID, TreeNode, UnknownNodeID
from textual.worker import Worker, WorkerState

from entrabr_tui.core.audit_triage import TriageNote
from entrabr_tui.engine.audit_types import ActorSummary, ChangeGroup, ClusterSummary, OperationSummary
from entrabr_tui.ui.backend import Backend
from entrabr_tui.ui.bindings import CHANGES
from entrabr_tui.ui.messages import ChangeHighlighted, DiffRequested, FilterRequested
from entrabr_tui.ui.text import clean, plural
from entrabr_tui.ui.widgets.change_marks import MarkSelection
from entrabr_tui.ui.widgets.change_nodes import (
    PAGE_SIZE,
    InfoRow,
    ObjectRow,
    info_label,
    object_label,
    turn_page,
)
from entrabr_tui.ui.widgets.group_nodes import (
    LIST_PAGE,
    GroupData,
    Grouping,
    GroupNode,
    Level,
    MoreLink,
    RowsLink,
    group_label,
    more_label,
    rows_label,
)
from entrabr_tui.ui.widgets.styles import action_glyph, action_style, theme_style
from entrabr_tui.ui.widgets.tree_steps import open_or_enter, step_back
from entrabr_tui.ui.workers import failure_title

Node = TreeNode[GroupData]

#: The Changes pane's keys that mean the same here (the type/action filters, ranges and copies do not apply).
_NAVIGATION = frozenset({
    "cursor_up", "cursor_down", "scroll_home", "scroll_end", "page_up", "page_down", "drill_in", "back",
    "cursor_parent", "cursor_parent_next_sibling", "cursor_previous_sibling", "cursor_next_sibling",
    "page_left", "page_right", "mark", "open_filter", "toggle_expand_all"})


def _span(first: object, last: object) -> str:
    times = [t for t in (first, last) if t is not None]
    if not times:
        return ""
    start, end = min(times), max(times)  # type: ignore[type-var]
    return f"{start:%H:%M}–{end:%H:%M}Z" if start != end else f"{start:%H:%M}Z"


def actor_node(actor: ActorSummary, text: str | None) -> GroupNode:
    detail = ", ".join(p for p in (plural(actor.operations, "operation") if actor.key else "",
                                   _span(actor.first, actor.last)) if p)
    return GroupNode(Level.ACTOR, actor.key, actor.label, actor.changes,
                     ChangeGroup(actor=actor.key, text=text), detail=detail, first=actor.first,
                     last=actor.last)


def operation_node(op: OperationSummary, text: str | None) -> GroupNode:
    activities = ", ".join(name for name, _ in op.activities[:2])
    title = activities or "(no activity recorded)"
    detail = ", ".join(p for p in (f"correlation {op.correlation_id[:8]}" if op.correlation_id else "",
                                   _span(op.first, op.last)) if p)
    return GroupNode(Level.OPERATION, op.correlation_id, title, op.changes,
                     ChangeGroup(actor=op.actor_key, operation=op.correlation_id, text=text), op.tag, detail,
                     first=op.first, last=op.last)


def cluster_node(cluster: ClusterSummary, text: str | None) -> GroupNode:
    return GroupNode(Level.CLUSTER, cluster.id, cluster.label, cluster.changes,
                     ChangeGroup(cluster=cluster.id, text=text), cluster.tag,
                     f"{cluster.entity_type} {cluster.action}")


class GroupTree(Tree[GroupData]):
    """The Changes pane when it groups by actor or by cluster (see the module docstring). The marks shown
    are the Changes tree's (``marks``, shared)."""

    BINDINGS: ClassVar[list[BindingType]] = [b for b in CHANGES.bindings if b.action in _NAVIGATION]

    class Loaded(Message):
        """Children of ``node_id`` (``None``: the root) were read."""

        def __init__(self, generation: int, node_id: int | None, items: list[GroupData] | None,
                     error: str | None = None) -> None:
            super().__init__()
            self.generation = generation
            self.node_id = node_id
            self.items = items
            self.error = error

    class Summary(Message):
        """The pane title should change."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class ToggleMark(Message):
        """space on an object: queue it, or take it out of the queue."""

        def __init__(self, row: ObjectRow) -> None:
            super().__init__()
            self.row = row

    def __init__(self, marks: MarkSelection, *, id: str | None = None) -> None:
        super().__init__("Changes", id=id)
        self.show_root = False
        self.guide_depth = 2
        self.marks = marks
        self.backend: Backend | None = None
        self.report_id: str | None = None
        self.grouping = Grouping.ACTOR
        self.text: str | None = None
        self.generation = 0
        self.total = 0
        self._styles: dict[tuple[str, str], tuple[str, Style, Style]] = {}

    # -- showing ---------------------------------------------------------------------------------------------
    def show(self, backend: Backend, report_id: str, grouping: Grouping, text: str | None) -> None:
        """Read and show the top level of ``grouping`` (actors, or the first clusters)."""
        self.backend, self.report_id, self.grouping, self.text = backend, report_id, grouping, text or None
        self.generation += 1
        self.show_message("loading…")
        self._read_top(backend, report_id, grouping, self.text, self.generation, None)

    def show_message(self, text: str) -> None:
        self.clear()
        self.root.add_leaf(info_label(InfoRow(text)), InfoRow(text))
        self.cursor_line = 0
        self.total = 0
        self._post_summary()

    def reload(self) -> None:
        """Read again what is shown (after a tag or a mark changed counts)."""
        if self.backend is not None and self.report_id is not None:
            self.show(self.backend, self.report_id, self.grouping, self.text)

    @work(thread=True, exit_on_error=False, group="group-tree", description="Grouping changes")
    def _read_top(self, backend: Backend, report_id: str, grouping: Grouping, text: str | None,
                  generation: int, after: tuple[int, str] | None) -> None:
        try:
            items = self.read_top(backend, report_id, grouping, text, after)
        except Exception as exc:
            self.post_message(self.Loaded(generation, None, None, str(exc) or type(exc).__name__))
            return
        self.post_message(self.Loaded(generation, None, items))

    @staticmethod
    def read_top(backend: Backend, report_id: str, grouping: Grouping, text: str | None,
                 after: tuple[int, str] | None) -> list[GroupData]:
        """The top level of a grouping (blocking): actors, or a page of clusters and a "more" row."""
        if grouping is Grouping.ACTOR:
            actors = backend.audit_actors(report_id)
            nodes = [actor_node(a, text) for a in actors]
            if text:
                counts = dict(backend.group_counts(report_id, "actor", ChangeGroup(text=text)))
                for node in nodes:
                    node.count = counts.get(node.key, 0)
                nodes = [n for n in nodes if n.count]
            return list(nodes)
        clusters = backend.audit_clusters(report_id, after, LIST_PAGE)
        cluster_nodes = [cluster_node(c, text) for c in clusters]
        if text:
            counts = dict(backend.group_counts(report_id, "cluster", ChangeGroup(text=text)))
            for cnode in cluster_nodes:
                cnode.count = counts.get(cnode.key, 0)
            cluster_nodes = [n for n in cluster_nodes if n.count]
        found: list[GroupData] = list(cluster_nodes)
        if len(clusters) == LIST_PAGE:
            last = clusters[-1]
            total = backend.group_count(report_id, ChangeGroup())
            shown = sum(c.changes for c in clusters)
            found.append(MoreLink(None, (last.changes, last.id), max(LIST_PAGE, (total - shown) // max(
                1, last.changes))))
        return found

    # -- lazy children ---------------------------------------------------------------------------------------
    @on(Tree.NodeExpanded)
    def _expanded(self, event: Tree.NodeExpanded[GroupData]) -> None:
        data = event.node.data
        if isinstance(data, GroupNode) and not data.loaded and not data.pending:
            self._load(event.node, data)

    def _load(self, node: Node, data: GroupNode) -> None:
        if self.backend is None or self.report_id is None:
            return
        data.pending = True
        node.remove_children()
        node.add_leaf(info_label(InfoRow("loading…")), InfoRow("loading…"))
        self._read_children(self.backend, self.report_id, int(node.id), data, self.generation)

    @work(thread=True, exit_on_error=False, group="group-page", description="Loading changes")
    def _read_children(self, backend: Backend, report_id: str, node_id: int, data: GroupNode,
                       generation: int) -> None:
        try:
            items = self.read_children(backend, report_id, data)
        except Exception as exc:
            self.post_message(self.Loaded(generation, node_id, None, str(exc) or type(exc).__name__))
            return
        self.post_message(self.Loaded(generation, node_id, items))

    @staticmethod
    def read_children(backend: Backend, report_id: str, data: GroupNode) -> list[GroupData]:
        """An actor's next operations, or the current page of a group's objects (blocking)."""
        if data.lists_operations:
            ops = backend.audit_operations(report_id, data.key, data.list_after, LIST_PAGE)
            items: list[GroupData] = [operation_node(o, data.group.text) for o in ops]
            if data.group.text:
                counts = dict(backend.group_counts(report_id, "operation", data.group))
                for item in items:
                    assert isinstance(item, GroupNode)
                    item.count = counts.get(item.key, 0)
                items = [i for i in items if isinstance(i, GroupNode) and i.count]
            if len(ops) == LIST_PAGE:
                left = data.count - sum(o.changes for o in ops)
                items.append(MoreLink(data, (ops[-1].changes, ops[-1].correlation_id), left))
            return items
        rows = backend.group_page(report_id, data.group, data.page_starts[-1], PAGE_SIZE)
        found: list[GroupData] = []
        if data.page_index > 0:
            found.append(RowsLink(data, forward=False))
        found.extend(ObjectRow.from_summary(r) for r in rows)
        if not rows:
            found.append(InfoRow("(none)"))
        if len(rows) == PAGE_SIZE and (data.page_index + 1) * PAGE_SIZE < data.count:
            found.append(RowsLink(data, forward=True))
        return found

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        if message.generation != self.generation:
            return
        if message.node_id is None:
            if message.items is None:
                self.show_message(message.error or "Could not group the changes.")
                return
            self._fill_root(message.items)
            return
        try:
            node = self.get_node_by_id(NodeID(message.node_id))
        except UnknownNodeID:
            return
        parent = node.data
        if not isinstance(parent, GroupNode):
            return
        data = parent
        data.pending = False
        if message.items is None:
            node.remove_children()
            text = f"not loaded: {clean(message.error or '')}"
            node.add_leaf(info_label(InfoRow(text)), InfoRow(text))
            self.notify(message.error or "", title="Grouping changes", severity="error", timeout=10)
            return
        data.loaded = True
        on_child = self.cursor_node is not None and self.cursor_node.parent is node
        with self.app.batch_update():
            node.remove_children()
            self._add_items(node, message.items)
            node.set_label(group_label(data))
        if on_child and node.children:
            first = next((c for c in node.children if isinstance(c.data, ObjectRow | GroupNode)),
                         node.children[0])
            self.call_after_refresh(self.move_cursor, first)

    def _fill_root(self, items: Sequence[GroupData]) -> None:
        more = self.root.children[-1] if self.root.children else None
        appending = more is not None and isinstance(more.data, MoreLink) and more.data.parent is None \
            and self.cursor_node is more
        with self.app.batch_update():
            if appending and more is not None:
                more.remove()
            else:
                self.clear()
            if not items and not self.root.children:
                empty = "No matches." if self.text else "No changes."
                self.root.add_leaf(info_label(InfoRow(empty)), InfoRow(empty))
            self._add_items(self.root, items)
        self.total = sum(c.data.count for c in self.root.children if isinstance(c.data, GroupNode))
        if not appending:
            self.cursor_line = 0
        self._post_summary()

    def _add_items(self, node: Node, items: Sequence[GroupData]) -> None:
        for item in items:
            if isinstance(item, GroupNode):
                node.add(group_label(item), item)
            else:
                node.add_leaf(self._leaf_label(item), item)

    def _leaf_label(self, item: GroupData) -> Text:
        if isinstance(item, ObjectRow):
            return self.object_label(item)
        if isinstance(item, RowsLink):
            return rows_label(item)
        if isinstance(item, MoreLink):
            return more_label(item)
        return info_label(item if isinstance(item, InfoRow) else InfoRow(""))

    def object_label(self, row: ObjectRow) -> Text:
        key = (self.app.theme, row.action)
        styles = self._styles.get(key)
        if styles is None:
            styles = (action_glyph(row.action), action_style(self.app, row.action),
                      theme_style(self.app, "warning"))
            self._styles[key] = styles
        return object_label(row, row.id in self.marks, *styles)

    def relabel(self) -> None:
        """Draw the marks of the objects shown again (and the marked count in the title)."""
        for node in self._object_nodes(self.root):
            assert isinstance(node.data, ObjectRow)
            node.set_label(self.object_label(node.data))
        if self.display:
            self._post_summary()

    def _object_nodes(self, node: Node) -> list[Node]:
        out = []
        for child in node.children:
            if isinstance(child.data, ObjectRow):
                out.append(child)
            elif child.is_expanded:
                out.extend(self._object_nodes(child))
        return out

    def retag(self, key: str, tag: TriageNote | None) -> None:
        """A cluster or operation was tagged: its node shows it."""
        for node in self._group_nodes(self.root):
            data = node.data
            if isinstance(data, GroupNode) and data.key == key and data.level is not Level.ACTOR:
                data.tag = tag
                node.set_label(group_label(data))

    def _group_nodes(self, node: Node) -> list[Node]:
        out = []
        for child in node.children:
            if isinstance(child.data, GroupNode):
                out.append(child)
                out.extend(self._group_nodes(child))
        return out

    @property
    def focused_group(self) -> GroupNode | None:
        """The group under the cursor, or the one the object under it belongs to."""
        node = self.cursor_node
        while node is not None and not isinstance(node.data, GroupNode):
            node = node.parent
        return node.data if node is not None and isinstance(node.data, GroupNode) else None

    def _post_summary(self) -> None:
        parts = [f"by {self.grouping.value}"]
        if self.report_id is not None and self.total:
            parts.append(plural(self.total, "change"))
        if self.marks.marked:
            parts.append(f"marked {len(self.marks):,}")
        if self.text:
            parts.append(f"/{clean(self.text)}")
        self.post_message(self.Summary(" · ".join(parts)))

    # -- events ----------------------------------------------------------------------------------------------
    @on(Tree.NodeHighlighted)
    def _highlighted(self, event: Tree.NodeHighlighted[GroupData]) -> None:
        data = event.node.data
        if isinstance(data, ObjectRow):
            self.post_message(ChangeHighlighted(self.report_id, data.id, data.position))
        else:
            self.post_message(ChangeHighlighted(None, None))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        error = event.worker.error
        if event.state is WorkerState.ERROR and error is not None:
            self.notify(str(error) or type(error).__name__, title=failure_title(event.worker),
                        severity="error", timeout=10)

    # -- actions (bindings.CHANGES and bindings.GROUPS) ------------------------------------------------------
    def action_drill_in(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        data = node.data
        if isinstance(data, ObjectRow):
            self.post_message(DiffRequested())
        elif isinstance(data, RowsLink):
            self._turn_page(node, data)
        elif isinstance(data, MoreLink):
            self._more(data)
        elif isinstance(data, GroupNode):
            open_or_enter(self, node)

    def _turn_page(self, node: Node, link: RowsLink) -> None:
        parent = node.parent
        if parent is None:
            return
        data = link.parent
        if turn_page(data.page_starts, (c.data for c in parent.children), link.forward):
            self._load(parent, data)

    def _more(self, link: MoreLink) -> None:
        if self.backend is None or self.report_id is None:
            return
        if link.parent is None:
            self._read_top(self.backend, self.report_id, self.grouping, self.text, self.generation,
                           link.after)
            return
        node = self.cursor_node.parent if self.cursor_node is not None else None
        if node is None:
            return
        link.parent.list_after = link.after
        self._load(node, link.parent)

    def action_back(self) -> None:
        step_back(self)

    def action_mark(self) -> None:
        node = self.cursor_node
        if node is not None and isinstance(node.data, ObjectRow):
            self.post_message(self.ToggleMark(node.data))
        self.action_cursor_down()

    def action_open_filter(self) -> None:
        self.post_message(FilterRequested())
