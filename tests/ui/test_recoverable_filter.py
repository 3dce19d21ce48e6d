"""The ``c`` filter cycles recoverable / not recoverable / unknown, the tree says ``[sync?]`` where the sync
status is unknown, and the diff's Rec column says ``?`` for what waits on it — at 80×24 and 120×40."""

from __future__ import annotations

import pytest
from textual.coordinate import Coordinate

from entrabr_tui.core.model import SyncStatus
from entrabr_tui.core.recoverability import Recoverable, recoverability
from entrabr_tui.ui.app import EntrabrApp
from entrabr_tui.ui.screens.plan_review import PlanReviewScreen
from entrabr_tui.ui.screens.restore_dialogs import RestoreConfirmDialog
from entrabr_tui.ui.widgets.change_nodes import ActionNode, ObjectRow
from entrabr_tui.ui.widgets.diff import DiffTable

from .conftest import running, settle
from .fake_backend import FakeBackend
from .pilot_helpers import open_group, row_of
from .screen_text import screen_text

SIZES = [(80, 24), (120, 40)]


def title(app: EntrabrApp) -> str:
    return str(app.main.query_one("#pane-changes").border_title)


@pytest.mark.parametrize("size", SIZES)
async def test_c_cycles_through_the_three_answers(size: tuple[int, int]) -> None:
    backend = FakeBackend()
    expected = {answer: {c.id for c in backend.tenant_changes if recoverability(c).answer is answer}
                for answer in Recoverable}
    assert all(expected.values())  # the seeded tenant has all three
    async with running(backend, size=size) as (app, pilot):
        tree = app.main.changes
        tree.focus()
        for answer, words in ((Recoverable.YES, "recoverable"), (Recoverable.NO, "not recoverable"),
                              (Recoverable.UNKNOWN, "recoverable? (sync unknown)")):
            await pilot.press("c")
            await settle(pilot)
            assert words in title(app)
            counted = sum(n.data.count for t in tree.root.children for n in t.children
                          if isinstance(n.data, ActionNode))
            assert counted == len(expected[answer]), words
            if answer is Recoverable.NO:  # the synced user is listed as not recoverable
                node = await open_group(pilot, tree, "user", "update")
                listed = {c.data.id for c in node.children if isinstance(c.data, ObjectRow)}
                assert "u-00007" in listed and listed <= expected[answer]
                tree.focus()
        await pilot.press("c")
        await settle(pilot)
        assert "recoverable" not in title(app)


@pytest.mark.parametrize("size", SIZES)
async def test_unknown_sync_status_is_shown_as_such(size: tuple[int, int]) -> None:
    backend = FakeBackend()
    async with running(backend, size=size) as (app, pilot):
        tree = app.main.changes
        # Deleted users: the directory does not list them, so their sync status stays unknown.
        node = await open_group(pilot, tree, "user", "restore")
        rows = [c for c in node.children if isinstance(c.data, ObjectRow)]
        assert rows and all(row_of(c).sync is SyncStatus.UNKNOWN for c in rows)
        assert all(row_of(c).recoverable is None for c in rows)
        assert all("[sync?]" in str(c.label) and "[not recoverable]" not in str(c.label) for c in rows)
        assert "[sync?]" in screen_text(app)
        tree.move_cursor(rows[0])
        await pilot.press("enter")
        await settle(pilot)
        table = app.main.query_one(DiffTable)
        assert table.diff_rows and all(r.recoverable is None for r in table.diff_rows)
        assert str(table.get_cell_at(Coordinate(0, 3))) == "?"  # the Rec column
        await pilot.press("enter")
        await settle(pilot)
        assert "Recoverable: unknown" in screen_text(app) and "sync status unknown" in screen_text(app)


@pytest.mark.parametrize("size", SIZES)
async def test_restore_asks_about_the_queue_and_the_confirmation_warns(size: tuple[int, int]) -> None:
    backend = FakeBackend()
    async with running(backend, size=size) as (app, pilot):
        await open_group(pilot, app.main.changes, "user", "restore")
        await pilot.press("j", "space")
        await settle(pilot)
        assert len(backend.queued) == 1
        await pilot.press("r")
        await settle(pilot)
        assert backend.sync_checks == 1  # the queue's unknown statuses are looked up before the plan
        assert isinstance(app.screen, PlanReviewScreen)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, RestoreConfirmDialog)
        text = " ".join(app.screen.body.plain.split())
        assert "sync status unknown for 1 user" in text and "Directory.Read.All" in text
        await pilot.press("n")
        await settle(pilot)


async def test_a_cached_report_opened_online_has_its_sync_status_looked_up_once() -> None:
    backend = FakeBackend()
    async with running(backend) as (app, pilot):
        assert app.main.report_id is not None
        assert backend.sync_checked_reports == [app.main.report_id]  # the report opened at start
        await pilot.press("1", "enter")  # opened again: the answers are in the cache already
        await settle(pilot)
        assert backend.sync_checked_reports == [app.main.report_id]


async def test_a_cached_report_opened_offline_is_not_looked_up() -> None:
    backend = FakeBackend(offline=True)
    async with running(backend) as (app, _pilot):
        assert app.main.report_id is not None and backend.sync_checked_reports == []
