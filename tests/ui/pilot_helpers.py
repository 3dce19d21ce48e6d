"""Helpers for Pilot tests: open a group of the Changes tree, its rows, what has the focus, a pane's title.

Reading through a function keeps the type checker from carrying what an earlier assertion narrowed across
key presses that change the app.
"""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets.tree import TreeNode

from entrabr_tui.ui.app import EntrabrApp
from entrabr_tui.ui.widgets.change_nodes import ActionNode, NodeData, ObjectRow, TypeNode
from entrabr_tui.ui.widgets.changes_tree import ChangesTree

from .conftest import settle


def focused(app: EntrabrApp) -> Widget | None:
    """The widget that has the focus now."""
    return app.focused


def pane_title(app: EntrabrApp, pane_id: str) -> str:
    """The plain border title of the main screen's pane ``#pane_id`` (empty when it has none)."""
    title = app.main.query_one(f"#{pane_id}")._border_title
    return title.plain if title is not None else ""


def row_of(node: TreeNode[NodeData]) -> ObjectRow:
    """The changed object a tree leaf shows."""
    data = node.data
    assert isinstance(data, ObjectRow), data
    return data


def type_node(tree: ChangesTree, entity_type: str) -> TreeNode[NodeData]:
    return next(n for n in tree.root.children
                if isinstance(n.data, TypeNode) and n.data.entity_type == entity_type)


def action_node(tree: ChangesTree, entity_type: str, action: str) -> TreeNode[NodeData]:
    parent = type_node(tree, entity_type)
    return next(n for n in parent.children if isinstance(n.data, ActionNode) and n.data.action == action)


async def open_group(pilot: Pilot[Any], tree: ChangesTree, entity_type: str,
                     action: str) -> TreeNode[NodeData]:
    tree.focus()
    tree.move_cursor(type_node(tree, entity_type))
    await pilot.press("enter")
    await settle(pilot)
    node = action_node(tree, entity_type, action)
    tree.move_cursor(node)
    await pilot.press("enter")
    await settle(pilot)
    return node


def leaves(node: TreeNode[NodeData]) -> list[ObjectRow]:
    return [c.data for c in node.children if isinstance(c.data, ObjectRow)]


async def finish_flows(pilot: Pilot[Any], *groups: str) -> None:
    """Wait for the workers of each group in turn (a flow's worker starts the next group's), then settle.

    ``settle`` leaves the flows that may wait for the user alone; when a test knows a flow will not ask,
    it waits for the flow itself instead of hoping its next worker has started by the last pause.
    """
    for group in groups:
        await pilot.pause()
        await pilot.app.workers.wait_for_complete([w for w in pilot.app.workers if w.group == group])
    await settle(pilot)
