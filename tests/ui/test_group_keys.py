"""Keys that act on a whole group of the Changes pane, at 80×24 and 120×40: ``w`` marks a time window (the
focused actor's or operation's span to start with, counted before anything is marked, kept changes left out,
one undo), ``m`` unmarks a group all of whose changes are queued (the footer says which it will do), and the
status line keeps the "not in report" count at every width."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static
from textual.widgets.tree import TreeNode

from entrabr_tui.core.audit_triage import TagTarget, TriageTag
from entrabr_tui.core.time_input import moment_text
from entrabr_tui.ui.app import EntrabrApp
from entrabr_tui.ui.screens.audit_screens import TimeWindowDialog
from entrabr_tui.ui.widgets.changes_pane import ChangesPane
from entrabr_tui.ui.widgets.group_nodes import GroupData, GroupNode
from entrabr_tui.ui.widgets.group_tree import GroupTree

from .conftest import running, settle
from .fake_backend import NOW, ROGUE, FakeAuditRow, FakeBackend, fake_audit_row
from .pilot_helpers import type_node
from .screen_text import screen_text

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


def rows(backend: FakeBackend) -> list[FakeAuditRow]:
    return [fake_audit_row(i, c) for i, c in enumerate(backend.tenant_changes)]


def in_window(backend: FakeBackend, since: datetime | None, until: datetime | None) -> list[FakeAuditRow]:
    return [r for r in rows(backend) if r.at is not None and (since is None or r.at >= since)
            and (until is None or r.at <= until)]


async def group_by(pilot: Pilot[Any], app: EntrabrApp, presses: int) -> GroupTree:
    app.main.changes.focus()
    for _ in range(presses):
        await pilot.press("b")
        await settle(pilot)
    return app.main.query_one(GroupTree)


def group_child(node: TreeNode[GroupData], key: str) -> TreeNode[GroupData]:
    return next(n for n in node.children if isinstance(n.data, GroupNode) and n.data.key == key)


def group_of(node: TreeNode[GroupData]) -> GroupNode:
    assert isinstance(node.data, GroupNode)
    return node.data


def window_dialog(app: EntrabrApp) -> TimeWindowDialog:
    screen = app.screen
    assert isinstance(screen, TimeWindowDialog), screen
    return screen


def count_line(app: EntrabrApp) -> str:
    return str(window_dialog(app).query_one("#window-count", Static).render())


def footer(app: EntrabrApp) -> str:
    return screen_text(app).splitlines()[-1]


def notes_of(app: EntrabrApp) -> list[str]:
    notes: list[str] = []
    app.notify = lambda message, **kw: notes.append(message)  # type: ignore[method-assign]
    return notes


@pytest.mark.parametrize("size", SIZES)
async def test_w_on_an_operation_counts_its_time_span_then_marks_it_and_u_undoes(
        size: tuple[int, int]) -> None:
    backend = FakeBackend()
    async with running(backend, size=size) as (app, pilot):
        tree = await group_by(pilot, app, 1)
        rogue = group_child(tree.root, ROGUE.key)
        tree.move_cursor(rogue)
        await pilot.press("enter")
        await settle(pilot)
        operation = group_child(rogue, "op-rogue-1")
        tree.move_cursor(operation)
        await settle(pilot)
        assert "w Mark time" in footer(app)
        await pilot.press("w")
        await settle(pilot)
        dialog = window_dialog(app)
        span = group_of(operation)
        assert span.first is not None and span.last is not None
        assert dialog.query_one("#window-from", Input).value == moment_text(span.first)
        assert dialog.query_one("#window-to", Input).value == moment_text(span.last)
        inside = in_window(backend, span.first, span.last)
        assert len(inside) > span.count  # a window holds every actor's changes of its time
        assert f"{len(inside):,} changes in this window." in count_line(app)
        assert not backend.queued  # nothing is marked before the count is taken
        notes = notes_of(app)
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(app.screen, TimeWindowDialog)
        assert set(backend.queued) == {r.change.id for r in inside}
        assert app.main.changes.marks.marked == set(backend.queued)
        assert any(n.startswith(f"Queued {len(inside):,} changes of the window ") and "u undoes" in n
                   for n in notes), notes
        await pilot.press("u")
        await settle(pilot)
        assert not backend.queued and not app.main.changes.marks.marked


@pytest.mark.parametrize("size", SIZES)
async def test_w_reads_ages_leaves_kept_clusters_out_and_says_what_it_cannot_read(
        size: tuple[int, int]) -> None:
    backend = FakeBackend()
    async with running(backend, size=size) as (app, pilot):
        tree = await group_by(pilot, app, 2)
        kept = group_of(tree.root.children[0])
        backend.set_triage_tag(TagTarget.CLUSTER, kept.key, TriageTag.KEEP, "legitimate")
        tree.move_cursor(tree.root.children[1])
        await pilot.press("w")
        await settle(pilot)
        dialog = window_dialog(app)
        assert dialog.query_one("#window-from", Input).value == ""  # a cluster has no time span
        await pilot.press(*"soon")
        await settle(pilot)
        assert "From: cannot read 'soon' as a time. Use a UTC date/time" in count_line(app)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, TimeWindowDialog) and not backend.queued  # nothing lost, nothing marked
        for _ in "soon":
            await pilot.press("backspace")
        await pilot.press(*"3h")
        await settle(pilot)
        since = NOW - timedelta(hours=3)
        inside = in_window(backend, since, None)
        left_out = [r for r in inside if r.cluster.id == kept.key]
        assert inside and left_out
        text = count_line(app)
        assert f"{len(inside):,} changes in this window" in text
        assert f"{len(left_out):,} kept by a triage tag (left out)" in text
        notes = notes_of(app)
        await pilot.press("enter")
        await settle(pilot)
        assert set(backend.queued) == {r.change.id for r in inside if r.cluster.id != kept.key}
        assert any(f"{len(left_out):,} changes tagged keep left out" in n for n in notes), notes


@pytest.mark.parametrize("size", SIZES)
async def test_w_in_the_type_tree_reads_the_audit_log_first_then_asks(size: tuple[int, int]) -> None:
    backend = FakeBackend(audit_pulled=False)
    async with running(backend, size=size) as (app, pilot):
        app.main.changes.focus()
        assert not backend.audit_pulled
        await pilot.press("w")
        await settle(pilot)
        assert backend.audit_pulled
        window_dialog(app)
        assert count_line(app).startswith("Type From, To or both")  # no window yet (no group is focused)
        await pilot.press(*"7h")
        await settle(pilot)
        inside = in_window(backend, NOW - timedelta(hours=7), None)
        assert len(inside) < len(backend.tenant_changes)  # changes no record names are in no window
        assert f"{len(inside):,} changes in this window." in count_line(app)
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, TimeWindowDialog) and not backend.queued


@pytest.mark.parametrize("size", SIZES)
async def test_m_on_a_fully_marked_cluster_unmarks_it_the_footer_says_so_and_u_undoes(
        size: tuple[int, int]) -> None:
    backend = FakeBackend()
    async with running(backend, size=size) as (app, pilot):
        tree = await group_by(pilot, app, 2)
        biggest = tree.root.children[0]
        members = {r.change.id for r in rows(backend) if r.cluster.id == group_of(biggest).key}
        tree.move_cursor(biggest)
        await settle(pilot)
        assert "m Mark group" in footer(app)
        await pilot.press("m")
        await settle(pilot)
        assert set(backend.queued) == members
        assert app.main.query_one(ChangesPane).unmarks
        assert "m Unmark group" in footer(app)
        notes = notes_of(app)
        await pilot.press("m")
        await settle(pilot)
        assert not backend.queued and not app.main.changes.marks.marked
        assert any(n.startswith(f"Took {len(members):,} objects of cluster ") and "u undoes" in n
                   for n in notes), notes
        assert "m Mark group" in footer(app)
        await pilot.press("u")
        await settle(pilot)
        assert set(backend.queued) == members and app.main.changes.marks.marked == members


@pytest.mark.parametrize("size", SIZES)
async def test_m_never_unmarks_a_group_whose_unmarked_changes_a_tag_keeps(size: tuple[int, int]) -> None:
    backend = FakeBackend()
    async with running(backend, size=size) as (app, pilot):
        tree = await group_by(pilot, app, 1)
        rogue = group_child(tree.root, ROGUE.key)
        tree.move_cursor(rogue)
        await pilot.press("enter")
        await settle(pilot)
        backend.set_triage_tag(TagTarget.OPERATION, "op-rogue-0", TriageTag.KEEP, "")
        tree.move_cursor(rogue)
        await pilot.press("m")
        await settle(pilot)
        queued = {r.change.id for r in rows(backend) if r.actor == ROGUE.key and r.operation != "op-rogue-0"}
        assert set(backend.queued) == queued
        assert "m Unmark group" in footer(app)  # all of it that can be queued is
        await pilot.press("m")
        await settle(pilot)
        assert not backend.queued


@pytest.mark.parametrize("size", SIZES)
async def test_m_on_a_fully_marked_type_unmarks_it_without_the_audit_log(size: tuple[int, int]) -> None:
    backend = FakeBackend(role="reader")
    async with running(backend, size=size) as (app, pilot):
        tree = app.main.changes
        tree.focus()
        tree.move_cursor(type_node(tree, "group"))
        await pilot.press("m")
        await settle(pilot)
        groups = {c.id for c in backend.tenant_changes if c.entity_type_raw == "group"}
        assert set(backend.queued) == groups
        assert "m Unmark group" in footer(app)
        await pilot.press("m")
        await settle(pilot)
        assert not backend.queued
        await pilot.press("u")
        await settle(pilot)
        assert set(backend.queued) == groups


@pytest.mark.parametrize("size", SIZES)
async def test_the_status_line_keeps_the_not_in_report_count(size: tuple[int, int]) -> None:
    async with running(FakeBackend(), size=size) as (app, pilot):
        status = app.main.status
        line = str(status.render())
        assert "not in report: 3 (L)" in line and "Backup Admin" in line
        assert len(line) <= size[0]
        status.set_slot("report: calculating differences since 10:42Z, 1h 12m 03s")
        await pilot.pause()
        line = str(status.render())
        assert "not in report: 3 (L) · report: calc" in line and len(line) <= size[0]
        status.set_audit("not in report: 12,345,678 (L)")
        await pilot.pause()
        assert "not in report: 12,345,678 (L)" in str(status.render())
