"""Pane 2, the Changes pane: the type → action tree or the tree grouped by who changed it, one at a time.

The pane answers the keys that act on a whole group, whichever tree has the focus (``b`` regroups, ``m``
marks the focused group across the whole report, or unmarks it when all of it is queued already, ``w`` marks
a time window, ``T`` tags a cluster or an operation). It only says what was asked, as messages; the main
screen's audit flow does the work, and tells the pane (:meth:`ChangesPane.show_unmarks`) whether ``m`` would
mark or unmark the focused group, so the footer names what the key will do.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from textual import on
from textual.binding import BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Tree

from entrabr_tui.engine.audit_types import ChangeGroup
from entrabr_tui.ui.bindings import GROUPS
from entrabr_tui.ui.text import clean, truncate
from entrabr_tui.ui.widgets.change_nodes import ActionNode, ObjectRow, TypeNode
from entrabr_tui.ui.widgets.changes_tree import ChangesTree
from entrabr_tui.ui.widgets.group_nodes import Grouping, GroupNode, Level
from entrabr_tui.ui.widgets.group_tree import GroupTree


class ChangesPane(Vertical):
    """The Changes pane (see the module docstring); ``grouping`` says which tree shows, ``unmarks``
    whether ``m`` would take the focused group out of the queue (all of it is queued)."""

    BINDINGS: ClassVar[list[BindingType]] = GROUPS.as_list()

    class Regroup(Message):
        """``b``: group the changes the next way."""

    class MarkGroup(Message):
        """``m``: queue every change of ``group`` (``what`` names it for the toast), or take the group out
        of the queue when all of it is queued already."""

        def __init__(self, group: ChangeGroup, what: str) -> None:
            super().__init__()
            self.group = group
            self.what = what

    class MarkWindow(Message):
        """``w``: ask for a time window (from ``since`` to ``until`` at first: the focused actor's or
        operation's span, else open) and mark its changes (of the filter's matches, with ``text``)."""

        def __init__(self, since: datetime | None, until: datetime | None, text: str | None) -> None:
            super().__init__()
            self.since = since
            self.until = until
            self.text = text

    class GroupFocused(Message):
        """The cursor moved: whether ``m`` marks or unmarks may have changed."""

    class Unmarks(Message):
        """What the look at the focused group found: ``m`` would unmark it (``value``), or mark it."""

        def __init__(self, value: bool) -> None:
            super().__init__()
            self.value = value

    class TagGroup(Message):
        """``T``: tag ``node`` (``None``: the cursor is on no cluster or operation)."""

        def __init__(self, node: GroupNode | None) -> None:
            super().__init__()
            self.node = node

    grouping = Grouping.TYPE
    unmarks = False

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """``m`` is "Mark the whole group", or "Unmark the whole group" on a group all queued already."""
        if action in ("mark_group", "unmark_group"):
            return (action == "unmark_group") == self.unmarks
        return True

    def show_unmarks(self, unmarks: bool) -> None:
        """Whether ``m`` would unmark the focused group (the footer says which it does)."""
        if unmarks != self.unmarks:
            self.unmarks = unmarks
            self.refresh_bindings()

    @on(Unmarks)
    def _unmarks(self, message: Unmarks) -> None:
        self.show_unmarks(message.value)

    @on(Tree.NodeHighlighted)
    def _highlighted(self) -> None:
        self.post_message(self.GroupFocused())

    def action_regroup(self) -> None:
        self.post_message(self.Regroup())

    def action_mark_group(self) -> None:
        found = self.focused_group()
        if found is None:
            self.notify("Move onto a group (a type, an action, an actor, an operation or a cluster), or "
                        "filter with / to mark every match.", title="Mark the group", severity="warning")
            return
        self.post_message(self.MarkGroup(*found))

    def action_unmark_group(self) -> None:
        """The same request as marking: the flow unmarks when all of the group is queued when it looks."""
        self.action_mark_group()

    def action_mark_window(self) -> None:
        node = self.query_one(GroupTree).focused_group if self.grouping is not Grouping.TYPE else None
        timed = node is not None and node.level is not Level.CLUSTER
        self.post_message(self.MarkWindow(node.first if timed and node else None,
                                          node.last if timed and node else None, self.filter_text()))

    def action_tag_group(self) -> None:
        node = self.query_one(GroupTree).focused_group if self.grouping is not Grouping.TYPE else None
        self.post_message(self.TagGroup(node))

    def filter_text(self) -> str | None:
        """The text filter of the tree shown (``None``: none)."""
        if self.grouping is Grouping.TYPE:
            tree = self.query_one(ChangesTree)
            return tree.filters.effective_text(tree.model.total) or None
        return self.query_one(GroupTree).text

    def focused_group(self) -> tuple[ChangeGroup, str] | None:
        """The group under the cursor (an object's own group: its action, operation or cluster), or every
        match of the filter when the cursor is on none; ``None`` when there is neither."""
        text = self.filter_text()
        if self.grouping is Grouping.TYPE:
            tree = self.query_one(ChangesTree)
            node = tree.cursor_node
            data = node.data if node is not None else None
            if isinstance(data, ObjectRow):
                data = node.parent.data if node is not None and node.parent is not None else None
            if isinstance(data, ActionNode):
                return (ChangeGroup(entity_type=data.entity_type, action=data.action, text=text),
                        f"{clean(data.entity_type)} {clean(data.action)}")
            if isinstance(data, TypeNode):
                return ChangeGroup(entity_type=data.entity_type, text=text), clean(data.entity_type)
            return (ChangeGroup(text=text), f"every match of /{truncate(clean(text), 30)}") if text else None
        group = self.query_one(GroupTree).focused_group
        if group is not None:
            return group.group, f"{group.level.value} {truncate(clean(group.title), 40)}"
        if text:
            return ChangeGroup(text=text), f"every match of /{truncate(clean(text), 30)}"
        return None
