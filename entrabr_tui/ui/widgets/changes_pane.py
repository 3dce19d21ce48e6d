"""Pane 2, the Changes pane: the type → action tree or the tree grouped by who changed it, one at a time.

The pane answers the keys that act on a whole group, whichever tree has the focus (``b`` regroups, ``m``
marks the focused group across the whole report, ``T`` tags a cluster or an operation). It only says what was
asked, as messages; the main screen's audit flow does the work.
"""

from __future__ import annotations

from typing import ClassVar

from textual.binding import BindingType
from textual.containers import Vertical
from textual.message import Message

from entrabr_tui.engine.audit_types import ChangeGroup
from entrabr_tui.ui.bindings import GROUPS
from entrabr_tui.ui.text import clean, truncate
from entrabr_tui.ui.widgets.change_nodes import ActionNode, ObjectRow, TypeNode
from entrabr_tui.ui.widgets.changes_tree import ChangesTree
from entrabr_tui.ui.widgets.group_nodes import Grouping, GroupNode
from entrabr_tui.ui.widgets.group_tree import GroupTree


class ChangesPane(Vertical):
    """The Changes pane (see the module docstring); ``grouping`` says which tree shows."""

    BINDINGS: ClassVar[list[BindingType]] = GROUPS.as_list()

    class Regroup(Message):
        """``b``: group the changes the next way."""

    class MarkGroup(Message):
        """``m``: queue every change of ``group`` (``what`` names it for the toast)."""

        def __init__(self, group: ChangeGroup, what: str) -> None:
            super().__init__()
            self.group = group
            self.what = what

    class TagGroup(Message):
        """``T``: tag ``node`` (``None``: the cursor is on no cluster or operation)."""

        def __init__(self, node: GroupNode | None) -> None:
            super().__init__()
            self.node = node

    grouping = Grouping.TYPE

    def action_regroup(self) -> None:
        self.post_message(self.Regroup())

    def action_mark_group(self) -> None:
        found = self.focused_group()
        if found is None:
            self.notify("Move onto a group (a type, an action, an actor, an operation or a cluster), or "
                        "filter with / to mark every match.", title="Mark the group", severity="warning")
            return
        self.post_message(self.MarkGroup(*found))

    def action_tag_group(self) -> None:
        node = self.query_one(GroupTree).focused_group if self.grouping is not Grouping.TYPE else None
        self.post_message(self.TagGroup(node))

    def focused_group(self) -> tuple[ChangeGroup, str] | None:
        """The group under the cursor (an object's own group: its action, operation or cluster), or every
        match of the filter when the cursor is on none; ``None`` when there is neither."""
        if self.grouping is Grouping.TYPE:
            tree = self.query_one(ChangesTree)
            text = tree.filters.effective_text(tree.model.total) or None
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
        groups = self.query_one(GroupTree)
        group = groups.focused_group
        if group is not None:
            return group.group, f"{group.level.value} {truncate(clean(group.title), 40)}"
        if groups.text:
            return ChangeGroup(text=groups.text), f"every match of /{truncate(clean(groups.text), 30)}"
        return None
