"""Building the Changes tree's nodes: cheap labels, pages of leaves, and in-place updates of the groups.

Counts and filters change often (every keystroke of a filter, every page of a download). The type and action
nodes are therefore updated where they are: nodes still shown keep their state and only change their label,
vanished ones are removed and new ones inserted in order, so the tree is never rebuilt from scratch and the
cursor stays where it was (or on the nearest node that is still there).
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from rich.style import Style
from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode, UnknownNodeID

from entrabr_tui.ui.backend import RestoreMarkView, TypeActionCount
from entrabr_tui.ui.widgets.change_marks import MarkSelection
from entrabr_tui.ui.widgets.change_nodes import (
    PAGE_SIZE,
    ActionNode,
    InfoRow,
    NodeData,
    ObjectRow,
    PageLink,
    RowDetail,
    TypeNode,
    action_label,
    info_label,
    object_label,
    page_label,
    type_label,
)
from entrabr_tui.ui.widgets.changes_view import NodeKey, OpenPlan
from entrabr_tui.ui.widgets.styles import action_glyph, action_style, theme_style

Node = TreeNode[NodeData]

#: ``Tree`` keeps its nodes the way :meth:`ChangesBuilder.replace_leaves` expects (textual 8).
_BULK_OK = (
    all(hasattr(Tree, name) for name in ("_add_node", "_invalidate"))
    and "_tree_nodes" in Tree.__init__.__code__.co_names
    and {"_children", "_allow_expand", "_updates"} <= set(TreeNode.__init__.__code__.co_names)
)


def relabel(node: Node, label: Text) -> None:
    """Give ``node`` ``label`` unless it shows that label already. A new label draws the node's line again and
    the line of every node under it (``Tree`` keys each line's cache on the nodes above it): a filter that
    leaves an open node's count as it was must not redraw its whole page."""
    old = node.label
    if isinstance(old, Text) and (old.plain, old.spans, old.style, old.end) == (
            label.plain, label.spans, label.style, label.end):
        return
    node.set_label(label)


def info_lines(tree: Tree[Any], text: str) -> list[str]:
    """``text`` wrapped to the width of ``tree``, one line per info row."""
    width = max(20, tree.scrollable_content_region.width - 1) if tree.size.width else 48
    return textwrap.wrap(text, width) or [""]


class ChangesBuilder:
    """Builds and updates the nodes of one Changes tree (type → action → a page of objects) in place.

    Object labels show whether each object is in ``marks``; ``load_page`` is asked for the page of an open
    action node whose children were dropped (a filter changed while it was open).
    """

    def __init__(self, tree: Tree[NodeData], marks: MarkSelection,
                 load_page: Callable[[Node, ActionNode], None]) -> None:
        self.tree = tree
        self.marks = marks
        #: What recent restores did, by lower-case object ID (the badge of each object row).
        self.restored: Mapping[str, RestoreMarkView] = {}
        self._load_page = load_page
        self._label_styles: dict[tuple[str, str], tuple[str, Style, Style]] = {}
        #: Details read for objects of the report shown (backup name, UPN), by object id.
        self.details: dict[str, RowDetail] = {}

    # -- labels ----------------------------------------------------------------------------------------------
    def _styles(self, action: str) -> tuple[str, Style, Style]:
        """Glyph, glyph style and badge style of an action under the current theme (cached)."""
        app = self.tree.app
        key = (app.theme, action)
        styles = self._label_styles.get(key)
        if styles is None:
            styles = (action_glyph(action), action_style(app, action), theme_style(app, "warning"))
            self._label_styles[key] = styles
        return styles

    def action_label(self, node: ActionNode) -> Text:
        glyph, style, _badge = self._styles(node.action)
        return action_label(node, glyph, style)

    def object_label(self, row: ObjectRow) -> Text:
        glyph, style, badge = self._styles(row.action)
        anchor = self.marks.anchor
        restored = self.restored.get(row.id.lower()) if self.restored else None
        return object_label(row, row.id in self.marks, glyph, style, badge, self.details.get(row.id),
                            range_start=anchor is not None and anchor.data is row,
                            restored=restored.state if restored is not None else None)

    def add_details(self, details: dict[str, RowDetail]) -> None:
        """Details read for some objects: their rows show them."""
        self.details.update(details)
        self.relabel_leaves(set(details))

    def missing_details(self, first_line: int, last_line: int) -> list[str]:
        """Ids of the object rows on lines ``first_line``–``last_line`` whose details were not read yet
        (updates only: a restored or soft-deleted object keeps its name)."""
        ids = []
        for line in range(max(0, first_line), last_line + 1):
            node = self.tree.get_node_at_line(line)
            data = node.data if node is not None else None
            if isinstance(data, ObjectRow) and data.action == "update" and data.id not in self.details:
                ids.append(data.id)
        return ids

    def _leaf_label(self, item: NodeData) -> Text:
        if isinstance(item, ObjectRow):
            return self.object_label(item)
        if isinstance(item, PageLink):
            return page_label(item)
        return info_label(item if isinstance(item, InfoRow) else InfoRow(""))

    def relabel_leaves(self, ids: set[str] | None) -> None:
        """Draw the mark of the objects shown again (those in ``ids``; all for ``None``)."""
        for node in self.leaves():
            if isinstance(node.data, ObjectRow) and (ids is None or node.data.id in ids):
                relabel(node, self.object_label(node.data))

    # -- reading the nodes -----------------------------------------------------------------------------------
    def leaves(self) -> Iterator[Node]:
        """Object leaves currently shown (under expanded nodes)."""
        for tnode in self.tree.root.children:
            if not tnode.is_expanded:
                continue
            for anode in tnode.children:
                if anode.is_expanded:
                    yield from (leaf for leaf in anode.children if isinstance(leaf.data, ObjectRow))

    def open_plan(self) -> OpenPlan:
        """The type and action nodes open now."""
        types, actions = set(), set()
        for tnode in self.tree.root.children:
            if isinstance(tnode.data, TypeNode) and tnode.is_expanded:
                types.add(tnode.data.entity_type)
            for anode in tnode.children:
                if isinstance(anode.data, ActionNode) and anode.is_expanded:
                    actions.add((anode.data.entity_type, anode.data.action))
        return OpenPlan(frozenset(types), frozenset(actions))

    def alive(self, node: Node) -> bool:
        """``node`` is still in the tree."""
        try:
            return self.tree.get_node_by_id(node.id) is node
        except UnknownNodeID:
            return False

    # -- one line --------------------------------------------------------------------------------------------
    def show_info(self, text: str) -> None:
        """Empty the tree and show ``text``, wrapped to the tree's width (one line per row)."""
        tree = self.tree
        tree.clear()
        for line in info_lines(tree, text):
            tree.root.add_leaf(info_label(InfoRow(line)), InfoRow(line))
        tree.cursor_line = 0

    @staticmethod
    def show_node_info(node: Node, text: str) -> None:
        """Replace the children of ``node`` by one line of text ("loading…", "not loaded")."""
        node.remove_children()
        node.add_leaf(info_label(InfoRow(text)), InfoRow(text))

    # -- pages ---------------------------------------------------------------------------------------------
    def fill_page(self, node: Node, data: ActionNode, rows: list[ObjectRow]) -> Node | None:
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
                    relabel(child, page_label(child.data))
        else:
            self.replace_leaves(node, [(self._leaf_label(item), item) for item in items])
            self.marks.forget_lost_anchor(self.alive)
        relabel(node, self.action_label(data))
        return next((child for child in node.children if isinstance(child.data, ObjectRow)), None)

    def replace_leaves(self, node: Node, items: list[tuple[Text, NodeData]]) -> None:
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
        tree = self.tree
        for child in node._children:
            self._forget(child)
        node._children.clear()
        for label, data in items:
            leaf = tree._add_node(node, label, data)
            leaf._allow_expand = False
            node._children.append(leaf)
        node._updates += 1
        tree._invalidate()

    def _forget(self, node: Node) -> None:
        for child in node._children:
            self._forget(child)
        self.tree._tree_nodes.pop(node._id, None)

    # -- groups ----------------------------------------------------------------------------------------------
    def sync(self, groups: dict[str, list[TypeActionCount]], empty: str,
             pages: dict[NodeKey, list[ObjectRow]] | None = None, plan: OpenPlan | None = None) -> None:
        """Make the type and action nodes match ``groups`` (counts by type), in place; ``empty`` is the line
        shown when there are none.

        Without ``pages`` (counts refreshed, a quick filter toggled) nodes still shown keep their children.
        With them (a filter applied) every action node starts again at its first page: those in ``pages`` show
        it, other open ones load it, closed ones drop what they held; nodes in ``plan`` open.
        """
        tree = self.tree
        previous = tree.cursor_node
        root = tree.root
        for node in list(root.children):
            if not isinstance(node.data, TypeNode) or node.data.entity_type not in groups:
                node.remove()
        groups = self._keep_order(groups)
        if not groups:
            root.add_leaf(info_label(InfoRow(empty)), InfoRow(empty))
        for index, (etype, actions) in enumerate(groups.items()):
            children = root.children
            total = sum(c.count for c in actions)
            existing = children[index] if index < len(children) else None
            tdata = existing.data if existing is not None else None
            if existing is not None and isinstance(tdata, TypeNode) and tdata.entity_type == etype:
                tnode = existing
                if tdata.count != total:
                    tdata.count = total
                    relabel(tnode, type_label(tdata))
            else:
                data = TypeNode(etype, total)
                tnode = root.add(type_label(data), data, before=index)
            self._sync_actions(tnode, actions, pages, plan)
            if plan is not None and etype in plan.types and not tnode.is_expanded:
                tnode.expand()
        self._keep_cursor(previous)
        self.marks.forget_lost_anchor(self.alive)

    def _keep_order(self, groups: dict[str, list[TypeActionCount]]) -> dict[str, list[TypeActionCount]]:
        """``groups`` in their order (most changes first), unless counts that changed would reorder nodes the
        user has open: then the types shown keep their places and new ones follow."""
        shown = [n for n in self.tree.root.children if isinstance(n.data, TypeNode)]
        order = [n.data.entity_type for n in shown if isinstance(n.data, TypeNode)]
        if order == [etype for etype in groups if etype in order]:
            return groups
        if any(n.is_expanded for n in shown):
            return {etype: groups[etype] for etype in order} | groups
        for node in shown:
            node.remove()  # nothing is open: the new order costs nothing
        return groups

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
                anode = tnode.add(self.action_label(data), data, before=index)
            if pages is not None:
                opens = plan is not None and key in plan.actions
                self._show_first_page(tnode, anode, data, pages.get(key), opens)
            relabel(anode, self.action_label(data))

    def _show_first_page(self, tnode: Node, anode: Node, data: ActionNode, rows: list[ObjectRow] | None,
                         should_open: bool) -> None:
        data.page_starts, data.loaded, data.pending = [None], False, False
        if rows is not None:
            self.fill_page(anode, data, rows)
            if not anode.is_expanded:
                anode.expand()
        elif should_open and not anode.is_expanded:
            anode.expand()  # loads its page (Tree.NodeExpanded)
        elif anode.is_expanded and tnode.is_expanded:
            self._load_page(anode, data)
        elif anode.children:
            anode.remove_children()  # loads again when it (or its type) opens

    # -- cursor ----------------------------------------------------------------------------------------------
    def _keep_cursor(self, previous: Node | None) -> None:
        """If the cursor's node went away, move it to the nearest ancestor still shown (or the top)."""
        if previous is None or self.alive(previous):
            return
        tree = self.tree
        anchor = previous.parent
        while anchor is not None and anchor is not tree.root and not self.alive(anchor):
            anchor = anchor.parent
        tree.cursor_line = -1
        if anchor is None or anchor is tree.root:
            tree.cursor_line = 0
        else:
            tree.move_cursor(anchor)
