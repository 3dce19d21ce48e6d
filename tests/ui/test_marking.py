"""Marking at scale in the Changes tree: whole nodes (open or closed), every match of a filter across the
whole report, a count and a toast, unmark-all asked first and undone, the queue following the command line,
and what recent restores did shown on each object."""

from __future__ import annotations

from datetime import timedelta

import pytest

from entrabr_tui.ui.app import EntrabrApp
from entrabr_tui.ui.screens.dialogs import ConfirmDialog
from entrabr_tui.ui.widgets.change_nodes import ObjectRow
from entrabr_tui.ui.widgets.changes_tree import ChangesTree

from .conftest import running, settle, take_the_plan
from .fake_backend import NOW, FakeBackend, FakeRestoreMark
from .pilot_helpers import action_node, leaves, open_group, pane_title, type_node
from .screen_text import screen_text

SIZES = [(80, 24), (120, 40)]


def ids_of(backend: FakeBackend, entity_type: str, action: str | None = None) -> set[str]:
    return {c.id for c in backend.tenant_changes
            if c.entity_type_raw == entity_type and (action is None or c.action_raw == action)}


def toasts(app: EntrabrApp, title: str = "Restore queue") -> list[str]:
    return [n.message for n in app._notifications if n.title == title]


@pytest.mark.parametrize("size", SIZES)
async def test_space_on_an_action_node_marks_all_of_it_then_unmarks(size: tuple[int, int]) -> None:
    backend = FakeBackend()
    async with running(backend, size=size) as (app, pilot):
        tree = app.main.changes
        updates = ids_of(backend, "user", "update")
        node = await open_group(pilot, tree, "user", "update")
        tree.move_cursor(node)
        await pilot.press("space")
        await settle(pilot)
        assert set(backend.queued) == updates  # all of them, not the page loaded
        assert f"marked {len(updates):,}" in pane_title(app, "pane-changes")
        assert toasts(app)[-1].startswith(f"Marked {len(updates):,} objects (user / update).")
        assert all(str(n.label).startswith("[x]") for n in node.children if isinstance(n.data, ObjectRow))
        assert f"{len(updates):,} queued" in pane_title(app, "pane-queue")
        await pilot.press("space")  # all marked: space unmarks them
        await settle(pilot)
        assert backend.queued == {}
        assert toasts(app)[-1].startswith(f"Unmarked {len(updates):,} objects")


@pytest.mark.parametrize("size", SIZES)
async def test_space_on_a_closed_type_node_marks_the_whole_type(size: tuple[int, int]) -> None:
    backend = FakeBackend()
    async with running(backend, size=size) as (app, pilot):
        tree = app.main.changes
        tree.focus()
        node = type_node(tree, "user")
        assert not node.is_expanded
        tree.move_cursor(node)
        await pilot.press("space")
        await settle(pilot)
        assert set(backend.queued) == ids_of(backend, "user")
        closed = action_node(tree, "group", "update")
        tree.move_cursor(type_node(tree, "group"))
        await pilot.press("enter")
        await settle(pilot)
        tree.move_cursor(closed)
        await pilot.press("space")  # an action node that was never opened
        await settle(pilot)
        assert set(backend.queued) == ids_of(backend, "user") | ids_of(backend, "group")


@pytest.mark.parametrize("size", SIZES)
async def test_ctrl_a_marks_all_matches_of_the_filter(size: tuple[int, int]) -> None:
    backend = FakeBackend()
    async with running(backend, size=size) as (app, pilot):
        tree = app.main.changes
        await pilot.press("2", "slash", *"user0001", "enter")
        await settle(pilot)
        matches = {c.id for c in backend.tenant_changes if "user0001" in (c.principal_name or "")}
        assert len(matches) == 10
        await pilot.press("ctrl+a")
        await settle(pilot)
        assert set(backend.queued) == matches
        assert toasts(app)[-1].startswith("Marked 10 objects (all matches).")
        assert "marked 10" in pane_title(app, "pane-changes")
        await pilot.press("escape")  # the filter goes; the marks stay
        await settle(pilot)
        assert set(tree.marks.marked) == matches


async def test_unmark_all_asks_above_a_hundred_and_u_undoes_it() -> None:
    backend = FakeBackend()
    async with running(backend) as (app, pilot):
        tree = app.main.changes
        await pilot.press("2", "ctrl+a")
        await settle(pilot)
        everything = set(backend.queued)
        assert len(everything) == len(backend.tenant_changes) > 100
        await pilot.press("U")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        assert f"Unmark all {len(everything):,} queued objects?" in screen_text(app)
        await pilot.press("n")
        await settle(pilot)
        assert set(backend.queued) == everything
        await pilot.press("U")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert backend.queued == {} and len(tree.marks) == 0
        assert toasts(app)[-1] == f"Unmarked {len(everything):,} objects. Press u to undo."
        await pilot.press("u")
        await settle(pilot)
        assert set(backend.queued) == everything and set(tree.marks.marked) == everything
        assert toasts(app)[-1] == f"Undone: marked {len(everything):,} again."
        await pilot.press("ctrl+z")  # nothing left to undo
        await settle(pilot)
        assert set(backend.queued) == everything
        assert any(n.message == "Nothing to undo." for n in app._notifications)


async def test_undo_reverts_a_bulk_mark_and_keeps_single_marks() -> None:
    backend = FakeBackend()
    async with running(backend) as (app, pilot):
        tree = app.main.changes
        node = await open_group(pilot, tree, "user", "restore")
        await pilot.press("j", "space")  # one object by hand
        await settle(pilot)
        single = set(backend.queued)
        tree.move_cursor(node)
        await pilot.press("space")
        await settle(pilot)
        assert len(backend.queued) == len(ids_of(backend, "user", "restore"))
        await pilot.press("u")
        await settle(pilot)
        assert set(backend.queued) == single
        assert {r.id for r in leaves(node) if r.id in tree.marks} == single


async def test_unmark_all_of_a_few_does_not_ask() -> None:
    backend = FakeBackend()
    async with running(backend) as (app, pilot):
        await open_group(pilot, app.main.changes, "user", "update")
        await pilot.press("j", "space", "space", "U")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmDialog)
        assert backend.queued == {}


async def test_the_queue_follows_marks_made_by_the_command_line() -> None:
    backend = FakeBackend()
    async with running(backend) as (app, pilot):
        tree = app.main.changes
        node = await open_group(pilot, tree, "user", "update")
        rows = leaves(node)[:3]
        backend.mark("job-1", [r.id for r in rows])  # another process (entrabr restore --ids …) marks
        marks = app.main.marks
        assert marks is not None
        marks.poll()  # what the app's timer does every few seconds
        await settle(pilot)
        assert {r.id for r in rows} <= tree.marks.marked
        assert "3 queued" in pane_title(app, "pane-queue")
        labels = [str(n.label) for n in node.children if isinstance(n.data, ObjectRow)][:3]
        assert all(label.startswith("[x]") for label in labels)
        backend.unmark("job-1", [rows[0].id])
        marks.poll()
        await settle(pilot)
        assert rows[0].id not in tree.marks and "2 queued" in pane_title(app, "pane-queue")


async def test_restored_objects_carry_a_badge_and_queuing_them_again_warns() -> None:
    backend = FakeBackend()
    backend.restored = {"u-00003": FakeRestoreMark("restored", NOW - timedelta(hours=2), "rjob-0"),
                        "u-00006": FakeRestoreMark("failed", NOW - timedelta(hours=2), "rjob-0")}
    async with running(backend, size=(120, 40)) as (app, pilot):
        tree: ChangesTree = app.main.changes
        node = await open_group(pilot, tree, "user", "restore")  # u-00003 is a restore, u-00006 an update
        row = next(n for n in node.children if isinstance(n.data, ObjectRow) and n.data.id == "u-00003")
        assert "[restored]" in str(row.label)
        tree.move_cursor(row)
        await pilot.press("space")
        await settle(pilot)
        warned = [n.message for n in app._notifications if n.title == "Restored recently"]
        assert warned and "restored 2h 00m ago" in warned[0]
        updates = await open_group(pilot, tree, "user", "update")
        failed = next(n for n in updates.children if isinstance(n.data, ObjectRow) and n.data.id == "u-00006")
        assert "[restore failed]" in str(failed.label)


async def test_after_a_restore_the_tree_shows_what_it_did() -> None:
    backend = FakeBackend(fail_ids=frozenset({"u-00000"}))
    async with running(backend, size=(120, 40)) as (app, pilot):
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
        await pilot.press("escape")
        await settle(pilot)
        node = action_node(tree, "user", "update")
        failed = next(n for n in node.children if getattr(n.data, "id", "") == "u-00000")
        assert str(failed.label).startswith("[x]")  # it failed: still queued, and the tree says so
        assert "[restore failed]" in str(failed.label)
        assert "1 queued" in pane_title(app, "pane-queue")
