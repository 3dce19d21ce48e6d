"""Typed helpers for Pilot tests: what the app focuses, a pane's title, the rows of a tree group.

Reading through a function keeps the type checker from carrying what an earlier assertion narrowed across
key presses that change the app.
"""

from __future__ import annotations

from textual.widget import Widget
from textual.widgets.tree import TreeNode

from entrabr_tui.ui.app import EntrabrApp
from entrabr_tui.ui.widgets.change_nodes import NodeData, ObjectRow


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
