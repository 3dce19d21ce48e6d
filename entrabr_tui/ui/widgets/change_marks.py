"""What is marked for restore in the Changes tree, and the first end of a range being marked."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from textual.widgets.tree import TreeNode

from entrabr_tui.ui.widgets.change_nodes import NodeData

Node = TreeNode[NodeData]


class MarkSelection:
    """The IDs of the open report's objects in the restore queue, and the range anchor (``v``).

    ``marked`` mirrors the queue (the tree's workers persist every change); ``anchor`` is the row a range
    started on, forgotten once that row is no longer shown.
    """

    def __init__(self) -> None:
        self.marked: set[str] = set()
        self.anchor: Node | None = None

    def __contains__(self, object_id: object) -> bool:
        return object_id in self.marked

    def __len__(self) -> int:
        return len(self.marked)

    def replace(self, ids: Iterable[str]) -> None:
        """The queue as read from the cache."""
        self.marked = set(ids)

    def set(self, ids: Iterable[str], marked: bool) -> None:
        if marked:
            self.marked.update(ids)
        else:
            self.marked.difference_update(ids)

    def clear(self) -> None:
        self.marked.clear()

    def range_to(self, node: Node, alive: Callable[[Node], bool]) -> tuple[int, int] | None:
        """Start a range on ``node`` (``None``), or end the one started on a row still shown: the first and
        last line it spans."""
        anchor = self.anchor
        if anchor is None or anchor.line < 0 or not alive(anchor):
            self.anchor = node
            return None
        self.anchor = None
        low, high = sorted((anchor.line, node.line))
        return low, high

    def forget_lost_anchor(self, alive: Callable[[Node], bool]) -> None:
        """A range started on a row that is no longer shown is forgotten."""
        if self.anchor is not None and not alive(self.anchor):
            self.anchor = None
