"""The two moves every tree of a report shares (the Changes tree, the grouped tree, a comparison): enter opens
a branch or steps onto its first child; back closes an open branch or steps onto its parent."""

from __future__ import annotations

from typing import Any

from textual.widgets import Tree
from textual.widgets.tree import TreeNode


def open_or_enter(tree: Tree[Any], node: TreeNode[Any]) -> None:
    """Open ``node`` if it is closed, else put the cursor on its first child."""
    if not node.is_expanded:
        node.expand()
    elif node.children:
        tree.move_cursor(node.children[0])


def step_back(tree: Tree[Any]) -> None:
    """Close the branch under the cursor if it is open, else put the cursor on its parent (not the root)."""
    node = tree.cursor_node
    if node is None:
        return
    if node.is_expanded and node.allow_expand:
        node.collapse()
    elif node.parent is not None and node.parent is not tree.root:
        tree.move_cursor(node.parent)
