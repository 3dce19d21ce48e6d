"""Building the Changes tree's nodes: cheap labels, pages of leaves, and in-place updates of the groups.

Counts and filters change often (every keystroke of a filter, every page of a download). The type and action
nodes are therefore updated where they are: nodes still shown keep their state and only change their label,
vanished ones are removed and new ones inserted in order, so the tree is never rebuilt from scratch and the
cursor stays where it was (or on the nearest node that is still there).
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode, UnknownNodeID

from entrabr_tui.ui.backend import TypeActionCount
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
from entrabr_tui.ui.widgets.changes_view import NodeKey, OpenPlan, QuickFilter, group_counts
from entrabr_tui.ui.widgets.styles import action_glyph, action_style, theme_style

Node = TreeNode[NodeData]

#: ``Tree`` keeps its nodes the way :meth:`ChangesBuild._replace_leaves` expects (textual 8).
_BULK_OK = (
    all(hasattr(Tree, name) for name in ("_add_node", "_invalidate"))
    and "_tree_nodes" in Tree.__init__.__code__.co_names
    and {"_children", "_allow_expand", "_updates"} <= set(TreeNode.__init__.__code__.co_names)
)


class ChangesBuild(Tree[NodeData]):
    """Node building for ``ChangesTree`` (its state lives there)."""

    report_id: str | None
    marked: set[str]
    shown_counts: list[TypeActionCount]
    _empty_text: str
    _anchor: Node | None

    def __init__(self, label: str, *, id: str | None = None) -> None:
        super().__init__(label, id=id)
        self._label_styles: dict[tuple[str, str], tuple[str, Style, Style]] = {}

    # Implemented by ChangesTree.
    @property
    def quick(self) -> QuickFilter:
        raise NotImplementedError

    @property
    def filtered(self) -> bool:
        raise NotImplementedError

    def _load_page(self, node: Node, data: ActionNode) -> None:
        raise NotImplementedError

    # -- labels ----------------------------------------------------------------------------------------------
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

    def _styles(self, action: str) -> tuple[str, Style, Style]:
        """Glyph, glyph style and badge style of an action under the current theme (cached)."""
        key = (self.app.theme, action)
        styles = self._label_styles.get(key)
        if styles is None:
            styles = (action_glyph(action), action_style(self.app, action), theme_style(self.app, "warning"))
            self._label_styles[key] = styles
        return styles

    def _action_label(self, node: ActionNode) -> Text:
        glyph, style, _badge = self._styles(node.action)
        return action_label(node, glyph, style)

    def _object_label(self, row: ObjectRow) -> Text:
        glyph, style, badge = self._styles(row.action)
        return object_label(row, row.id in self.marked, glyph, style, badge)

    # -- pages ---------------------------------------------------------------------------------------------
    def _fill_page(self, node: Node, data: ActionNode, rows: list[ObjectRow]) -> Node | None:
        """Show ``rows`` as the current page of an action node; returns the first object's node."""
        data.loaded, data.pending = True, False
        items: list[NodeData] = []
        if data.page_index > 0:
            items.append(PageLink(data, forward=False))
        items.extend(rows)
        if not rows:
            items.append(InfoRow("(none cached yet)"))
        if (data.page_index + 1) * PAGE_SIZE < data.count and len(rows) == PAGE_SIZE:
            items.append(PageLink(data, forward=True))
        if [child.data for child in node.children] == items:  # the same page again: only counts may differ
            for child in node.children:
                if isinstance(child.data, PageLink):
                    child.set_label(page_label(child.data))
        else:
            self._replace_leaves(node, [(self._leaf_label(item), item) for item in items])
            self._drop_lost_anchor()
        node.set_label(self._action_label(data))
        return next((child for child in node.children if isinstance(child.data, ObjectRow)), None)

    def _leaf_label(self, item: NodeData) -> Text:
        if isinstance(item, ObjectRow):
            return self._object_label(item)
        if isinstance(item, PageLink):
            return page_label(item)
        return info_label(item if isinstance(item, InfoRow) else InfoRow(""))

    def _replace_leaves(self, node: Node, items: list[tuple[Text, NodeData]]) -> None:
        """Replace the children of ``node`` by leaves.

        ``TreeNode.add_leaf`` invalidates the whole tree once per leaf, and ``remove_children`` is quadratic;
        for a page of hundreds of leaves this does both at once through ``Tree``'s node registry (the same
        steps those methods take), with one invalidation. Falls back to them if that registry changes.
        """
        if not _BULK_OK:
            node.remove_children()
            for label, data in items:
                node.add_leaf(label, data)
            return
        for child in node._children:
            self._forget(child)
        node._children.clear()
        for label, data in items:
            leaf = self._add_node(node, label, data)
            leaf._allow_expand = False
            node._children.append(leaf)
        node._updates += 1
        self._invalidate()

    def _forget(self, node: Node) -> None:
        for child in node._children:
            self._forget(child)
        self._tree_nodes.pop(node._id, None)

    # -- groups ----------------------------------------------------------------------------------------------
    def _sync(self, pages: dict[NodeKey, list[ObjectRow]] | None = None,
              plan: OpenPlan | None = None) -> None:
        """Make the type and action nodes match the shown counts under the quick filters, in place.

        Without ``pages`` (counts refreshed, a quick filter toggled) nodes still shown keep their children.
        With them (a filter applied) every action node starts again at its first page: those in ``pages`` show
        it, other open ones load it, closed ones drop what they held; nodes in ``plan`` open.
        """
        previous = self.cursor_node
        groups = group_counts(c for c in self.shown_counts if self.quick.keeps(c))
        root = self.root
        for node in list(root.children):
            if not isinstance(node.data, TypeNode) or node.data.entity_type not in groups:
                node.remove()
        if not groups:
            text = "No matches." if self.filtered else ("No changes." if self.report_id else self._empty_text)
            root.add_leaf(info_label(InfoRow(text)), InfoRow(text))
        for index, (etype, actions) in enumerate(groups.items()):
            children = root.children
            total = sum(c.count for c in actions)
            existing = children[index] if index < len(children) else None
            tdata = existing.data if existing is not None else None
            if existing is not None and isinstance(tdata, TypeNode) and tdata.entity_type == etype:
                tnode = existing
                if tdata.count != total:
                    tdata.count = total
                    tnode.set_label(type_label(tdata))
            else:
                data = TypeNode(etype, total)
                tnode = root.add(type_label(data), data, before=index)
            self._sync_actions(tnode, actions, pages, plan)
            if plan is not None and etype in plan.types and not tnode.is_expanded:
                tnode.expand()
        self._keep_cursor(previous)
        self._drop_lost_anchor()

    def _sync_actions(self, tnode: Node, actions: list[TypeActionCount],
                      pages: dict[NodeKey, list[ObjectRow]] | None, plan: OpenPlan | None) -> None:
        wanted = {c.action_raw for c in actions}
        for node in list(tnode.children):
            if not isinstance(node.data, ActionNode) or node.data.action not in wanted:
                node.remove()
        for index, c in enumerate(actions):
            key = (c.entity_type_raw, c.action_raw)
            children = tnode.children
            existing = children[index] if index < len(children) else None
            adata = existing.data if existing is not None else None
            if existing is not None and isinstance(adata, ActionNode) and adata.action == key[1]:
                anode, data = existing, adata
                data.count = c.count
            else:
                data = ActionNode(key[0], key[1], c.count)
                anode = tnode.add(self._action_label(data), data, before=index)
            if pages is not None:
                opens = plan is not None and key in plan.actions
                self._show_first_page(tnode, anode, data, pages.get(key), opens)
            anode.set_label(self._action_label(data))

    def _show_first_page(self, tnode: Node, anode: Node, data: ActionNode, rows: list[ObjectRow] | None,
                         should_open: bool) -> None:
        data.page_starts, data.loaded, data.pending = [None], False, False
        if rows is not None:
            self._fill_page(anode, data, rows)
            if not anode.is_expanded:
                anode.expand()
        elif should_open and not anode.is_expanded:
            anode.expand()  # loads its page (Tree.NodeExpanded)
        elif anode.is_expanded and tnode.is_expanded:
            self._load_page(anode, data)
        elif anode.children:
            anode.remove_children()  # loads again when it (or its type) opens

    # -- cursor ----------------------------------------------------------------------------------------------
    def _alive(self, node: Node) -> bool:
        """``node`` is still in the tree."""
        try:
            return self.get_node_by_id(node.id) is node
        except UnknownNodeID:
            return False

    def _drop_lost_anchor(self) -> None:
        """A range started on a row that is no longer shown is forgotten."""
        if self._anchor is not None and not self._alive(self._anchor):
            self._anchor = None

    def _keep_cursor(self, previous: Node | None) -> None:
        """If the cursor's node went away, move it to the nearest ancestor still shown (or the top)."""
        if previous is None or self._alive(previous):
            return
        anchor = previous.parent
        while anchor is not None and anchor is not self.root and not self._alive(anchor):
            anchor = anchor.parent
        self.cursor_line = -1
        if anchor is None or anchor is self.root:
            self.cursor_line = 0
        else:
            self.move_cursor(anchor)
