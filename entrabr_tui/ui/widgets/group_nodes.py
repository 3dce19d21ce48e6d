"""Data held by the nodes of the grouped Changes tree (by actor or by cluster), and their labels.

A group node stands for a set of the report's changes (:class:`~entrabr_tui.engine.audit_types.ChangeGroup`):
an actor, one of its operations, or a cluster of alike changes. Its objects are read a page at a time, like
the type → action tree's; the lists of operations and clusters are read a page at a time too ("more" rows).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from rich.text import Text

from entrabr_tui.core.audit_triage import TriageNote, TriageTag
from entrabr_tui.engine.audit_types import ChangeGroup
from entrabr_tui.ui.text import clean, safe, truncate
from entrabr_tui.ui.widgets.change_nodes import PAGE_SIZE, InfoRow, ObjectRow

#: Operations of an actor, and clusters, read per page.
LIST_PAGE = 200
LABEL_WIDTH = 56


class Grouping(StrEnum):
    """How the Changes pane groups the report (``b`` cycles through them in this order)."""

    TYPE = "type → action"
    ACTOR = "actor → operation"
    CLUSTER = "cluster"

    @property
    def next(self) -> Grouping:
        order = list(Grouping)
        return order[(order.index(self) + 1) % len(order)]


class Level(StrEnum):
    ACTOR = "actor"
    OPERATION = "operation"
    CLUSTER = "cluster"


_TAG_BADGE = {TriageTag.REVERT: "[revert]", TriageTag.KEEP: "[keep]", TriageTag.INVESTIGATE: "[investigate]"}


@dataclass
class GroupNode:
    """An actor, an operation or a cluster, with its number of changes and (clusters, operations) its
    triage tag. ``group`` selects its changes across the whole report; ``first`` and ``last`` are the time
    span of an actor's or an operation's changes (a time window starts from it)."""

    level: Level
    key: str
    title: str
    count: int
    group: ChangeGroup
    tag: TriageNote | None = None
    detail: str = ""
    first: datetime | None = None
    last: datetime | None = None
    #: Keyset start of each object page visited (name, id, position); the last is the current page.
    page_starts: list[tuple[str, str, int] | None] = field(default_factory=lambda: [None])
    #: Keyset after which the next page of operations starts (actors only; ``None``: from the top).
    list_after: tuple[int, str] | None = None
    loaded: bool = False
    pending: bool = False

    @property
    def page_index(self) -> int:
        return len(self.page_starts) - 1

    @property
    def lists_operations(self) -> bool:
        """An actor's children are its operations; the others' are its objects."""
        return self.level is Level.ACTOR


@dataclass(frozen=True)
class RowsLink:
    """"next" / "previous" page of a group's objects."""

    parent: GroupNode
    forward: bool


@dataclass(frozen=True)
class MoreLink:
    """"more" operations of an actor (``parent``) or more clusters (``parent`` is ``None``)."""

    parent: GroupNode | None
    after: tuple[int, str]
    left: int


GroupData = GroupNode | ObjectRow | RowsLink | MoreLink | InfoRow


def group_label(node: GroupNode) -> Text:
    """``1,204  alice@contoso.com  (3 operations, 14:02–14:40Z)``: the count first, so a narrow pane never
    cuts it off; a tagged group shows its tag before it."""
    label = Text(end="", no_wrap=True)
    if node.tag is not None:
        label.append(_TAG_BADGE[node.tag.tag] + " ", style="bold")
    label.append(f"{node.count:,}  ", style="bold")
    style = "bold" if node.level is not Level.OPERATION else ""
    label.append_text(safe(node.title, LABEL_WIDTH, style=style))
    if node.detail:
        label.append(f"  ({truncate(clean(node.detail), 60)})", style="dim")
    if node.count > PAGE_SIZE and node.loaded and not node.lists_operations:
        first = node.page_index * PAGE_SIZE + 1
        last = min(node.count, first + PAGE_SIZE - 1)
        label.append(f"  (showing {first:,}–{last:,})", style="dim italic")
    return label


def rows_label(link: RowsLink) -> Text:
    node = link.parent
    if link.forward:
        left = max(0, node.count - (node.page_index + 1) * PAGE_SIZE)
        return Text(f"▸ next {min(PAGE_SIZE, left):,} of {left:,} more", style="italic", end="")
    return Text(f"◂ previous {PAGE_SIZE:,}", style="italic", end="")


def more_label(link: MoreLink) -> Text:
    what = "operations" if link.parent is not None else "clusters"
    return Text(f"▸ {min(LIST_PAGE, link.left):,} more {what} of {link.left:,}", style="italic", end="")
