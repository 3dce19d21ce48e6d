"""How the Changes tree and the Diff pane load: latest request wins, filters update nodes in place, the diff
waits for the cursor to rest, stale results are dropped."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any

import pytest
from textual.widgets import TextArea
from textual.widgets.tree import TreeNode, UnknownNodeID

from entrabr_tui.core.model import Change, SyncStatus
from entrabr_tui.core.recoverability import Recoverable
from entrabr_tui.store import ChangeRow, NodeCount
from entrabr_tui.ui.widgets import changes_build, diff
from entrabr_tui.ui.widgets.change_nodes import PAGE_SIZE, ActionNode, NodeData, ObjectRow
from entrabr_tui.ui.widgets.changes_tree import ChangesTree
from entrabr_tui.ui.widgets.changes_view import AUTO_OPEN_NODE, OpenPlan, QuickFilter, group_counts, plan_open

from .conftest import running, settle
from .fake_backend import FakeBackend
from .pilot_helpers import action_node, leaves, open_group, row_of, type_node


class RecordingBackend(FakeBackend):
    """Records the cache queries the UI makes (from worker threads)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.calls: list[tuple[str, Any]] = []
        self.lock = threading.Lock()
        self.fail_change = 0

    def _record(self, name: str, detail: Any) -> None:
        with self.lock:
            self.calls.append((name, detail))

    def of(self, name: str) -> list[Any]:
        with self.lock:
            return [detail for kind, detail in self.calls if kind == name]

    def counts(self, report_id: str, /, *, text: str | None = None,
               recoverable: Recoverable | None = None, marked: bool | None = None,
               ids: Sequence[str] | None = None) -> list[NodeCount]:
        self._record("counts", (text, recoverable))
        return super().counts(report_id, text=text, recoverable=recoverable, marked=marked, ids=ids)

    def page(self, report_id: str, entity_type: str | None, action: str | None,
             after: tuple[str, str, int] | None, limit: int, /, *, text: str | None = None,
             recoverable: Recoverable | None = None, ids: Sequence[str] | None = None) -> list[ChangeRow]:
        self._record("page", (entity_type, action, text))
        return super().page(report_id, entity_type, action, after, limit, text=text, recoverable=recoverable,
                            ids=ids)

    def change(self, report_id: str, change_id: str, position: int | None = None, /) -> Change | None:
        self._record("change", change_id)
        if self.fail_change:
            self.fail_change -= 1
            raise RuntimeError("the cache is busy")
        return super().change(report_id, change_id, position)

    def display_names(self, ids: Sequence[str], /) -> dict[str, str]:
        return super().display_names(ids)


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> asyncio.Event:
    """Diff requests wait for this event instead of a time (so the test decides when the cursor rests)."""
    event = asyncio.Event()

    async def rest(delay: float) -> None:
        await event.wait()

    monkeypatch.setattr(diff, "rest", rest)
    return event


def object_nodes(node: TreeNode[NodeData]) -> list[TreeNode[NodeData]]:
    return [c for c in node.children if isinstance(c.data, ObjectRow)]


async def test_diff_loads_only_where_the_cursor_rests(gate: asyncio.Event) -> None:
    backend = RecordingBackend()
    async with running(backend) as (app, pilot):
        tree = app.main.changes
        node = await open_group(pilot, tree, "user", "update")
        rows = object_nodes(node)
        gate.clear()
        for row in rows[1:6]:
            tree.move_cursor(row)
            await pilot.pause()
        assert backend.of("change") == []  # nothing read while the cursor moves
        assert app.main.diff.pending
        gate.set()
        await settle(pilot)
        last = rows[5].data
        assert isinstance(last, ObjectRow)
        assert backend.of("change") == [last.id]
        assert app.main.diff.change is not None and app.main.diff.change.id == last.id
        assert not app.main.diff.pending


async def test_diff_back_on_the_shown_object_reads_nothing(gate: asyncio.Event) -> None:
    backend = RecordingBackend()
    gate.set()
    async with running(backend) as (app, pilot):
        tree = app.main.changes
        node = await open_group(pilot, tree, "user", "update")
        rows = object_nodes(node)
        tree.move_cursor(rows[1])
        await settle(pilot)
        shown = backend.of("change")
        gate.clear()
        tree.move_cursor(rows[2])
        await pilot.pause()
        tree.move_cursor(rows[1])
        await pilot.pause()
        gate.set()
        await settle(pilot)
        assert backend.of("change") == shown
        first = rows[1].data
        assert isinstance(first, ObjectRow) and app.main.diff.change is not None
        assert app.main.diff.change.id == first.id


async def test_diff_error_is_shown_and_the_next_request_retries(gate: asyncio.Event) -> None:
    backend = RecordingBackend()
    gate.set()
    async with running(backend) as (app, pilot):
        tree = app.main.changes
        node = await open_group(pilot, tree, "user", "update")
        rows = object_nodes(node)
        backend.fail_change = 1
        tree.move_cursor(rows[1])
        await settle(pilot)
        assert app.main.diff.change is None or app.main.diff.change.id != row_of(rows[1]).id
        assert not app.main.diff.pending
        tree.move_cursor(rows[2])
        await settle(pilot)
        tree.move_cursor(rows[1])
        await settle(pilot)
        first = rows[1].data
        assert isinstance(first, ObjectRow)
        assert backend.of("change").count(first.id) == 2
        assert app.main.diff.change is not None and app.main.diff.change.id == first.id


async def test_raw_json_is_filled_only_while_shown(gate: asyncio.Event) -> None:
    gate.set()
    async with running(RecordingBackend()) as (app, pilot):
        tree = app.main.changes
        node = await open_group(pilot, tree, "user", "update")
        rows = object_nodes(node)
        tree.move_cursor(rows[1])
        await settle(pilot)
        raw = app.main.query_one("#diff-raw", TextArea)
        assert raw.text == ""
        await pilot.press("3", "J")
        await settle(pilot)
        assert '"id": "' + row_of(rows[1]).id in raw.text
        tree.move_cursor(rows[2])
        await settle(pilot)
        assert '"id": "' + row_of(rows[2]).id in raw.text


async def test_typing_queries_only_the_latest_text() -> None:
    backend = RecordingBackend()
    async with running(backend) as (app, pilot):
        tree = app.main.changes
        before = len(backend.of("counts"))
        for end in range(1, len("user0001") + 1):
            tree.set_filter("user0001"[:end])  # faster than any typist: each replaces the one before
        await settle(pilot)
        assert backend.of("counts")[before:] == [("user0001", None)]
        assert tree.model.applied == ("user0001", None, None)
        assert {r.id for r in tree.visible_rows()} == {c.id for c in backend.tenant_changes
                                                         if "user0001" in (c.principal_name or "")}


async def test_typing_back_to_what_is_shown_asks_nothing() -> None:
    backend = RecordingBackend()
    async with running(backend) as (app, pilot):
        tree = app.main.changes
        tree.set_filter("user0001")
        await settle(pilot)
        asked = len(backend.calls)
        tree.set_filter("user000")
        tree.set_filter("user0001")
        await settle(pilot)
        assert len(backend.calls) == asked
        assert tree.model.applied == ("user0001", None, None)


async def test_filter_updates_the_nodes_in_place() -> None:
    backend = RecordingBackend(users=1_500)
    async with running(backend) as (app, pilot):
        tree = app.main.changes
        node = await open_group(pilot, tree, "user", "update")
        user = type_node(tree, "user")
        assert len(leaves(node)) == PAGE_SIZE
        tree.move_cursor(node)
        await pilot.pause()
        before = len(backend.of("page"))
        tree.set_filter("User 001")
        await settle(pilot)
        assert type_node(tree, "user") is user and action_node(tree, "user", "update") is node
        assert node.is_expanded and tree.cursor_node is node
        expected = sorted(c.display_name for c in backend.tenant_changes if c.action_raw == "update"
                          and c.entity_type_raw == "user" and "user 001" in c.display_name.lower())
        assert [r.display_name for r in leaves(node)] == expected
        assert isinstance(node.data, ActionNode) and node.data.count == len(expected)
        # The open node's first page came with the counts (small matching nodes opened by themselves too).
        asked = backend.of("page")[before:]
        assert ("user", "update", "User 001") in asked and all(text == "User 001" for _t, _a, text in asked)
        assert len(asked) == len(set(asked))
        tree.set_filter("")
        await settle(pilot)
        assert action_node(tree, "user", "update") is node and len(leaves(node)) == PAGE_SIZE
        assert tree.model.applied is None


async def test_the_same_page_again_keeps_its_nodes() -> None:
    async with running(RecordingBackend()) as (app, pilot):
        tree = app.main.changes
        node = await open_group(pilot, tree, "user", "update")
        tree.set_filter("User 00")
        await settle(pilot)
        kept = list(node.children)
        tree._refilter(force=True)
        await settle(pilot)
        assert list(node.children) == kept and all(a is b for a, b in zip(node.children, kept, strict=True))


async def test_the_same_counts_again_leave_the_page_undrawn() -> None:
    """A lookup that changes nothing shown gives no node a new label: a new label on the action node would
    redraw every row of its page."""
    async with running(RecordingBackend()) as (app, pilot):
        tree = app.main.changes
        node = await open_group(pilot, tree, "user", "update")
        tree.set_filter("User 00")
        await settle(pilot)
        labelled = {child: child._updates for child in (node, *node.children)}
        tree._refilter(force=True)
        await settle(pilot)
        assert {child: child._updates for child in (node, *node.children)} == labelled
        data = node.data
        assert isinstance(data, ActionNode)
        data.count += 1  # a count that did change is drawn
        tree.nodes.fill_page(node, data, leaves(node))
        assert node._updates == labelled[node] + 1 and f"{data.count:,}" in str(node.label)


async def test_a_page_asked_for_before_a_filter_is_dropped() -> None:
    async with running(RecordingBackend()) as (app, pilot):
        tree = app.main.changes
        node = await open_group(pilot, tree, "user", "update")
        assert tree.report_id is not None
        shown = leaves(node)
        stale = [ObjectRow("u-x", "user", "update", "Stale", None, SyncStatus.CLOUD, True)]
        stale_generation = tree.model.generation - 1
        tree.post_message(ChangesTree.PageLoaded(int(node.id), tree.report_id, stale_generation, stale))
        await settle(pilot)
        assert leaves(node) == shown


async def test_pages_of_many_leaves_are_built_like_tree_add_leaf(monkeypatch: pytest.MonkeyPatch) -> None:
    async with running(RecordingBackend(users=1_500)) as (app, pilot):
        tree = app.main.changes
        node = await open_group(pilot, tree, "user", "update")
        data = node.data
        assert isinstance(data, ActionNode)
        rows = leaves(node)

        def drawn() -> list[tuple[Any, str, bool, int]]:
            tree._build()
            return [(line.node.data, str(line.node.label), line.node.allow_expand, line.node.line)
                    for line in tree._tree_lines]

        assert changes_build._BULK_OK
        old = list(node.children)
        tree.nodes.fill_page(node, data, rows[::-1])
        fast = drawn()
        for child in old:
            with pytest.raises(UnknownNodeID):
                tree.get_node_by_id(child.id)
        monkeypatch.setattr(changes_build, "_BULK_OK", False)
        tree.nodes.fill_page(node, data, rows)
        tree.nodes.fill_page(node, data, rows[::-1])
        assert drawn() == fast
        assert all(tree.get_node_by_id(child.id) is child for child in node.children)


def test_open_plan_keeps_open_nodes_and_opens_small_ones() -> None:
    counts = [NodeCount("user", "update", 5_000), NodeCount("user", "restore", AUTO_OPEN_NODE),
              NodeCount("group", "update", 3), NodeCount("application", "softDelete", AUTO_OPEN_NODE + 1)]
    groups = group_counts(counts)
    assert list(groups) == ["user", "application", "group"]  # most changes first
    keep = OpenPlan(frozenset({"user"}), frozenset({("user", "update")}))
    assert plan_open(groups, keep, auto_open=False) == keep
    plan = plan_open(groups, keep, auto_open=True)
    assert plan.actions == {("user", "update"), ("user", "restore"), ("group", "update")}
    assert plan.types == {"application", "group", "user"}  # three types or fewer: all open
    assert plan.loads() == [("group", "update"), ("user", "restore"), ("user", "update")]
    lens = QuickFilter(lens=True)
    assert [c.action_raw for c in counts if lens.keeps(c)] == ["softDelete"]
    assert [c.count for c in counts if QuickFilter(type_only="user").keeps(c)] == [5_000, AUTO_OPEN_NODE]


async def test_a_range_started_on_a_row_that_went_away_starts_again() -> None:
    backend = RecordingBackend(users=1_500)
    async with running(backend) as (app, pilot):
        tree = app.main.changes
        node = await open_group(pilot, tree, "user", "update")
        tree.move_cursor(object_nodes(node)[3])
        await pilot.press("v")
        assert tree.marks.anchor is not None
        tree.set_filter("User 001")
        await settle(pilot)
        assert tree.marks.anchor is None  # its row is no longer shown
        rows = object_nodes(node)
        tree.focus()
        tree.move_cursor(rows[2])
        await pilot.press("v")
        await settle(pilot)
        assert tree.marks.anchor is rows[2] and not backend.queued
