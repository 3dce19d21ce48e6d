"""The incident context is never lost: whole-type restores explained (and by ID only on request), the quit
and cancel questions say what really happens, the palette's Quit asks like q, dialogs show their own keys,
and the tree agrees with the queue after a retry and after a verification report."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable

from entrabr_tui.core.model import EntityNameAndIdsFilter, EntityNamesFilter
from entrabr_tui.core.plan_options import Choice
from entrabr_tui.engine.plans import SessionPlan
from entrabr_tui.engine.restore import RestoreResult
from entrabr_tui.ui.app import EntrabrApp
from entrabr_tui.ui.backend import RestoreProgressCallback
from entrabr_tui.ui.screens.dialogs import ConfirmDialog
from entrabr_tui.ui.screens.lockout_dialog import BreakGlassDialog
from entrabr_tui.ui.screens.plan_review import PlanReviewScreen
from entrabr_tui.ui.screens.report_flow import ScopeDialog
from entrabr_tui.ui.screens.restore_dialogs import RestoreConfirmDialog, RestoreResultScreen
from entrabr_tui.ui.widgets.change_nodes import ObjectRow
from entrabr_tui.ui.widgets.toggles import TextCheckbox

from .conftest import running, settle, take_the_plan
from .fake_backend import FakeBackend
from .palette import run_command
from .pilot_helpers import action_node, open_group
from .screen_text import screen_text

SIZES = [(80, 24), (120, 40)]


def flat(app: EntrabrApp) -> str:
    return " ".join(screen_text(app).split())


def tree_says(app: EntrabrApp) -> str:
    """The lines the Changes pane shows while no report is open (wrapped to its width), as one text."""
    tree = app.main.changes
    return " ".join(str(node.label) for node in tree.root.children)


async def start_blocked_restore(app: EntrabrApp, pilot: Pilot[Any], backend: FakeBackend) -> None:
    """Queue 185 user updates (two batches) and start restoring them; batch 1 waits on the gate."""
    tree = app.main.changes
    node = await open_group(pilot, tree, "user", "update")
    tree.move_cursor(node)
    await pilot.press("space")
    await settle(pilot)
    await pilot.press("r")
    await settle(pilot)
    await take_the_plan(pilot)
    await pilot.press("y")
    for _ in range(5):
        await pilot.pause()
    assert app.main.job_running


@pytest.mark.parametrize("size", SIZES)
async def test_a_whole_type_restore_is_explained_and_can_go_by_id(size: tuple[int, int]) -> None:
    backend = FakeBackend()
    seen: list[object] = []
    original = backend.restore

    async def spy(plan: SessionPlan, progress: RestoreProgressCallback | None, /) -> RestoreResult:
        seen.extend(plan.batches)
        return await original(plan, progress)

    backend.restore = spy  # type: ignore[method-assign]  # records the batches, then restores
    async with running(backend, size=size) as (app, pilot):
        await open_group(pilot, app.main.changes, "conditionalAccessPolicy", "update")
        await pilot.press("j", "space", "r")  # the report's only policy: it can be restored as a whole type
        await settle(pilot)
        assert isinstance(app.screen, PlanReviewScreen)
        whole = next(n for n, o in enumerate(app.screen.options) if o.choice is Choice.WHOLE_TYPES)
        app.screen.query_one("#plan-options", DataTable).move_cursor(row=whole)
        await take_the_plan(pilot)  # the whole type, as chosen
        assert isinstance(app.screen, RestoreConfirmDialog) and app.screen.offer_by_id
        text = " ".join(app.screen.body.plain.split())
        assert "restores EVERY conditionalAccessPolicy that differs from the backup when the job runs" in text
        assert "not only the 1 object you marked" in text
        assert "i By ID only" in screen_text(app).splitlines()[-1]  # the dialog's keys in its footer
        await pilot.press("i")
        await settle(pilot)
        assert isinstance(app.screen, RestoreConfirmDialog) and not app.screen.offer_by_id
        assert "EVERY" not in app.screen.body.plain
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, BreakGlassDialog)  # a policy is restored: asked once
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, RestoreResultScreen)
        assert len(seen) == 1 and isinstance(seen[0], EntityNameAndIdsFilter)
        assert not isinstance(seen[0], EntityNamesFilter)


@pytest.mark.parametrize("size", SIZES)
async def test_quit_while_a_multi_batch_restore_runs_says_what_stops(size: tuple[int, int]) -> None:
    backend = FakeBackend(restore_gate=asyncio.Event(), service_in_process=True)
    async with running(backend, size=size) as (app, pilot):
        await start_blocked_restore(app, pilot, backend)
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        text = " ".join(app.screen.body.plain.split())
        assert "This demo tenant runs inside entrabr: quitting stops it, and the job with it" in text
        assert "1 later batch of this restore is not submitted yet and will not be" in text
        assert "Keep running (n)" in flat(app)
        await pilot.press("n")
        await pilot.pause()
        assert not app._exit
        assert backend.restore_gate is not None
        backend.restore_gate.set()
        await settle(pilot)


async def test_quit_on_a_real_tenant_says_the_job_keeps_running() -> None:
    backend = FakeBackend(restore_gate=asyncio.Event())
    async with running(backend) as (app, pilot):
        await start_blocked_restore(app, pilot, backend)
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        assert "The job keeps running on the service" in app.screen.body.plain
        await pilot.press("n")
        assert backend.restore_gate is not None
        backend.restore_gate.set()
        await settle(pilot)


async def test_quit_from_the_palette_asks_while_a_job_runs() -> None:
    backend = FakeBackend(restore_gate=asyncio.Event())
    async with running(backend) as (app, pilot):
        await start_blocked_restore(app, pilot, backend)
        await run_command(pilot, "quit", "Quit")
        for _ in range(3):
            await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog) and not app._exit
        await pilot.press("y")
        await pilot.pause()
        assert app._exit
        assert backend.restore_gate is not None
        backend.restore_gate.set()


async def test_quit_from_the_palette_exits_at_once_when_idle() -> None:
    async with running() as (app, pilot):
        await run_command(pilot, "quit", "Quit")
        await pilot.pause()
        assert app._exit


@pytest.mark.parametrize("size", SIZES)
async def test_cancelling_a_report_asks_plainly_and_leaves_the_waiting_state(size: tuple[int, int]) -> None:
    backend = FakeBackend(report_gate=asyncio.Event())
    backend._reports.clear()
    async with running(backend, size=size) as (app, pilot):
        await pilot.press("n")
        await settle(pilot)
        await pilot.press("ctrl+s")
        for _ in range(5):
            await pilot.pause()
        assert app.main.job_running and "Waiting for the difference report" in tree_says(app)
        await pilot.press("C")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        text = flat(app)
        assert "Keep running (n)" in text and "Cancel the job (y)" in text
        assert "Cancel (n)" not in text
        footer = screen_text(app).splitlines()[-1]
        assert "y Yes" in footer and "n No" in footer and "Restore" not in footer  # the dialog's keys
        await pilot.press("y")
        await settle(pilot)
        text = tree_says(app)
        assert "Waiting for the difference report" not in text and "Report cancelled" in text
        assert not app.main.job_running and not app.main.job_strip.display
        assert backend.report_gate is not None
        backend.report_gate.set()


async def test_the_tree_and_the_queue_agree_after_a_retry() -> None:
    backend = FakeBackend(fail_ids=frozenset({"u-00000"}))
    async with running(backend) as (app, pilot):
        tree = app.main.changes
        node = await open_group(pilot, tree, "user", "update")
        tree.move_cursor(next(n for n in node.children if getattr(n.data, "id", "") == "u-00000"))
        await pilot.press("space", "r")
        await settle(pilot)
        await take_the_plan(pilot)
        await pilot.press("y")
        await settle(pilot)
        await pilot.press("R")
        await settle(pilot)
        await take_the_plan(pilot)  # the retry's plan
        await pilot.press("y")  # the retry fails again (the object is managed elsewhere)
        await settle(pilot)
        assert isinstance(app.screen, RestoreResultScreen)
        await pilot.press("escape")
        await settle(pilot)
        row = next(n for n in action_node(tree, "user", "update").children
                   if isinstance(n.data, ObjectRow) and n.data.id == "u-00000")
        assert set(backend.queued) == {"u-00000"} == tree.marks.marked
        assert str(row.label).startswith("[x]")
        assert "1 queued" in str(app.main.query_one("#pane-queue").border_title)


@pytest.mark.parametrize("size", SIZES)
async def test_n_in_the_result_verifies_and_the_queue_follows_the_fresh_report(size: tuple[int, int]) -> None:
    backend = FakeBackend(fail_ids=frozenset({"u-00000"}))
    async with running(backend, size=size) as (app, pilot):
        tree = app.main.changes
        node = await open_group(pilot, tree, "user", "update")
        for object_id in ("u-00000", "u-00001"):
            tree.move_cursor(next(n for n in node.children if getattr(n.data, "id", "") == object_id))
            await pilot.press("space")
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        await take_the_plan(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, RestoreResultScreen)
        assert "n Fresh report" in screen_text(app).splitlines()[-1]
        await pilot.press("n")  # works inside the dialog
        await settle(pilot)
        assert isinstance(app.screen, ScopeDialog)
        assert app.screen.query_one("#scope-fresh", TextCheckbox).value
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert tree.report_id == "job-1"  # the fresh report is offered, not switched to
        await pilot.press("o")
        await settle(pilot)
        assert tree.report_id == "job-2"
        # The failed object still differs: it stays queued, now in the fresh report, and the tree says so.
        assert {i: r for i, (r, _c) in backend.queued.items()} == {"u-00000": "job-2"}
        assert tree.marks.marked == {"u-00000"}
        assert any(n.title == "Restore queue" and "follows the new report" in n.message
                   for n in app._notifications)
