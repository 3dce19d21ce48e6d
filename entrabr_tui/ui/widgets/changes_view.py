"""What the Changes tree shows for one filter, fetched from the cache in one round (off the UI thread).

A filter change needs the filtered counts and the first page of every node that will be open. Both are read
here in one call, in a worker thread, and handed to the tree as a :class:`TreeView` that it applies in one
update. Nothing here touches widgets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from entrabr_tui.core.model import RecoveryAction
from entrabr_tui.core.recoverability import Recoverable
from entrabr_tui.ui.backend import Backend, TypeActionCount
from entrabr_tui.ui.widgets.change_nodes import PAGE_SIZE, ObjectRow

#: With a filter, action nodes this small open by themselves (up to ``AUTO_OPEN_ROWS`` rows in all).
AUTO_OPEN_NODE = 100
AUTO_OPEN_ROWS = 1_000
#: With a filter that leaves this few types, every type opens.
AUTO_OPEN_TYPES = 3

#: A cache-side filter: (text, recoverable answer, object ids: a watch alert's objects, or ``None``); ``None``
#: is no filter.
FilterKey = tuple[str, Recoverable | None, tuple[str, ...] | None]
NodeKey = tuple[str, str]


@dataclass(frozen=True)
class QuickFilter:
    """The filters that only hide nodes (no query): one type, one action, the soft-delete lens."""

    type_only: str | None = None
    action_only: str | None = None
    lens: bool = False

    def keeps(self, count: TypeActionCount) -> bool:
        if count.count <= 0:
            return False
        if self.type_only is not None and count.entity_type_raw != self.type_only:
            return False
        if self.lens:
            return RecoveryAction.parse(count.action_raw) is RecoveryAction.SOFT_DELETE
        return self.action_only is None or count.action_raw == self.action_only


def group_counts(counts: Iterable[TypeActionCount]) -> dict[str, list[TypeActionCount]]:
    """Counts by type: the type with the most changes first (the incident is usually there), then by name;
    actions in name order."""
    groups: dict[str, list[TypeActionCount]] = {}
    for c in sorted(counts, key=lambda c: (c.entity_type_raw, c.action_raw)):
        groups.setdefault(c.entity_type_raw, []).append(c)
    order = sorted(groups, key=lambda etype: (-sum(c.count for c in groups[etype]), etype))
    return {etype: groups[etype] for etype in order}


@dataclass(frozen=True)
class OpenPlan:
    """Which type and action nodes show their children."""

    types: frozenset[str] = frozenset()
    actions: frozenset[NodeKey] = frozenset()

    def loads(self) -> list[NodeKey]:
        """Action nodes whose first page is visible (open, inside an open type), in tree order."""
        return sorted(key for key in self.actions if key[0] in self.types)


def plan_open(groups: dict[str, list[TypeActionCount]], keep: OpenPlan, auto_open: bool,
              open_all: bool = False) -> OpenPlan:
    """Nodes open now stay open; with ``auto_open`` (a filter), small nodes and a few types open as well;
    with ``open_all`` (a listed set of objects: an alert's), every node opens (each shows one page)."""
    types, actions = set(keep.types), set(keep.actions)
    budget = AUTO_OPEN_ROWS
    for etype, group in groups.items():
        if open_all:
            types.add(etype)
            actions.update((etype, c.action_raw) for c in group)
            continue
        for c in group:
            if auto_open and c.count <= min(AUTO_OPEN_NODE, budget):
                budget -= c.count
                types.add(etype)
                actions.add((etype, c.action_raw))
        if auto_open and len(groups) <= AUTO_OPEN_TYPES:
            types.add(etype)
    return OpenPlan(frozenset(types), frozenset(actions))


@dataclass
class TreeView:
    """Counts for one filter and the first page of the nodes to open."""

    key: FilterKey | None
    counts: list[TypeActionCount]
    plan: OpenPlan
    pages: dict[NodeKey, list[ObjectRow]] = field(default_factory=dict)


def fetch_page(backend: Backend, report_id: str, node: NodeKey, after: tuple[str, str, int] | None,
               key: FilterKey | None) -> list[ObjectRow]:
    """One page of a type/action node under a filter (blocking)."""
    text, recoverable, ids = key if key is not None else ("", None, None)
    rows = backend.page(report_id, node[0], node[1], after, PAGE_SIZE, text=text or None,
                        recoverable=recoverable, ids=ids)
    return [ObjectRow.from_summary(r) for r in rows]


def fetch_view(backend: Backend, report_id: str, key: FilterKey | None, unfiltered: Sequence[TypeActionCount],
               quick: QuickFilter, keep: OpenPlan, cancelled: Callable[[], bool] = lambda: False) -> TreeView:
    """Counts under ``key`` (``unfiltered`` as they are when there is none) and the first page of each node
    that will be open and visible (blocking: call it in a thread). Stops early once ``cancelled()``."""
    if key is None:
        counts = [c for c in unfiltered if c.count > 0]
    else:
        found = backend.counts(report_id, text=key[0] or None, recoverable=key[1], ids=key[2])
        counts = [c for c in found if c.count > 0]
    plan = plan_open(group_counts(c for c in counts if quick.keeps(c)), keep, auto_open=key is not None,
                     open_all=key is not None and key[2] is not None)
    wanted = {(c.entity_type_raw, c.action_raw) for c in counts if quick.keeps(c)}
    view = TreeView(key, counts, plan)
    for node in plan.loads():
        if cancelled():
            break
        if node in wanted:
            view.pages[node] = fetch_page(backend, report_id, node, None, key)
    return view
