"""Comparing two backups in the app, on the in-memory backend double: picking A and B in pane 1, the compare
tree and the Diff pane A beside B, the objects left out, marking and restoring off, and back to the report."""

from __future__ import annotations

import asyncio

import pytest
from rich.console import Group
from rich.table import Table
from textual.widgets import Static

from entrabr_tui.core.compare import DeltaKind, ObjectDelta
from entrabr_tui.core.text import display_text
from entrabr_tui.ui.screens.help import HelpScreen
from entrabr_tui.ui.widgets.backups import BackupsTable
from entrabr_tui.ui.widgets.change_nodes import PAGE_SIZE, TypeNode
from entrabr_tui.ui.widgets.compare_nodes import MOVED, CompareLink, DeltaRow, KindNode
from entrabr_tui.ui.widgets.compare_tree import CompareTree
from entrabr_tui.ui.widgets.group_nodes import Grouping

from .conftest import running, settle
from .fake_backend import HOSTILE_CORPUS, FakeBackend, hostile_changes
from .palette import wait_until
from .screen_text import screen_text


async def test_pick_two_backups_compare_and_leave() -> None:
    backend = FakeBackend(live_moved=frozenset({"u-00000"}))
    async with running(backend) as (app, pilot):
        main = app.main
        report_id = main.report_id
        assert report_id is not None
        await pilot.press("1", "j", "x")
        await settle(pilot)
        table = main.query_one(BackupsTable)
        newest, older = list(table.entries)[:2]
        a_row = f"A {table.entries[older].snapshot.created:%m-%d %H:%M}"
        b_row = f"B {table.entries[newest].snapshot.created:%m-%d %H:%M}"
        assert table.compare_a == older
        text = screen_text(app)
        assert a_row in text and "compare: A =" in text  # the row says it in words, not colour alone
        await pilot.press("escape")  # cancels the pick
        await settle(pilot)
        assert table.compare_a is None and a_row not in screen_text(app)

        await pilot.press("x", "k", "x")
        await settle(pilot)
        assert backend.compare_calls == [(older, newest)]
        tree = main.query_one(CompareTree)
        assert tree.display and not main.changes.display and tree.has_focus
        comparison = backend.comparison
        assert comparison is not None and comparison.objects
        text = screen_text(app)
        assert "2 Compare" in text and "↔ B " in text and a_row in text and b_row in text
        assert "not compared" in text

        # The objects left out come first, with the reason.
        moved = tree.root.children[0]
        assert isinstance(moved.data, KindNode) and moved.data.kind == MOVED
        moved.expand()
        await settle(pilot)
        rows = [c for c in moved.children if isinstance(c.data, DeltaRow)]
        assert [r.data.id for r in rows if isinstance(r.data, DeltaRow)] == ["u-00000"]
        tree.move_cursor(rows[0])
        await settle(pilot)
        assert "[not compared]" in screen_text(app)
        assert main.diff.table.heads is not None
        assert [r.current_text for r in main.diff.table.diff_rows] == [
            "the live value differs between the two reports"]

        # A changed object: A's value beside B's, the heads naming both backups.
        users = next(n for n in tree.root.children
                     if isinstance(n.data, TypeNode) and n.data.entity_type == "user")
        changed = next(c for c in users.children if isinstance(c.data, KindNode)
                       and c.data.kind == DeltaKind.CHANGED.value)
        changed.expand()
        await settle(pilot)
        first = next(c for c in changed.children if isinstance(c.data, DeltaRow))
        tree.move_cursor(first)
        await settle(pilot)
        assert isinstance(first.data, DeltaRow) and isinstance(first.data.item, ObjectDelta)
        diff = main.diff.table
        assert diff.heads == (a_row, b_row)
        assert [(r.path, r.backup, r.current) for r in diff.diff_rows] == [
            (p.name, p.a, p.b) for p in first.data.item.properties]
        assert str(main.diff.border_subtitle).startswith("~ changed · user · ")

        # Marking and restoring are off, and say so.
        for key in ("space", "m", "ctrl+a"):
            app.clear_notifications()
            await pilot.press(key)
            await settle(pilot)
            assert any(n.message.startswith("Marking is off while two backups are compared")
                       for n in app._notifications), key
        assert not backend.marked(report_id) and not backend.queued
        await pilot.press("r")
        await settle(pilot)
        assert any(n.message.startswith("Restore is off while two backups are compared")
                   for n in app._notifications)
        await pilot.press("b")
        await settle(pilot)
        assert main.audit is not None and main.audit.grouping is Grouping.TYPE

        # esc: the report view as it was.
        await pilot.press("escape")
        await settle(pilot)
        assert not tree.display and main.changes.display and main.report_id == report_id
        text = screen_text(app)
        assert "2 Changes" in text and a_row not in text and b_row not in text


async def test_the_footer_of_pane_1_and_the_help_name_the_compare_key() -> None:
    """``x`` is the only way into a comparison: pane 1's footer shows it while pane 1 has the focus (and only
    there), and the help says it in full."""
    async with running(FakeBackend()) as (app, pilot):
        await pilot.press("1")
        await settle(pilot)
        assert "x Compare" in screen_text(app).splitlines()[-1]
        await pilot.press("2")
        await settle(pilot)
        assert "x Compare" not in screen_text(app).splitlines()[-1]
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("slash")
        await settle(pilot)
        await pilot.press(*"backup b")
        await settle(pilot)
        [help_table] = [s.content for s in app.screen.query(Static) if isinstance(s.content, Group)]
        rows = [[str(cell) for cell in row] for table in help_table.renderables if isinstance(table, Table)
                for row in zip(*(column.cells for column in table.columns), strict=True)]  # keys, what, id
        assert ["x", "Compare two backups: this key on backup A, then on backup B", "backups-compare"] in rows


async def test_a_big_comparison_pages_like_the_changes_tree() -> None:
    backend = FakeBackend(users=2400)
    async with running(backend, size=(120, 40)) as (app, pilot):
        await pilot.press("1", "j", "x", "k", "x")
        await settle(pilot)
        tree = app.main.query_one(CompareTree)
        kinds = [k for t in tree.root.children for k in t.children
                 if isinstance(k.data, KindNode) and k.data.count > PAGE_SIZE]
        assert kinds, "a kind with more objects than a page"
        node = kinds[0]
        assert isinstance(node.data, KindNode)
        count = node.data.count
        node.expand()
        await settle(pilot)
        rows = [c for c in node.children if isinstance(c.data, DeltaRow)]
        assert len(rows) == PAGE_SIZE and isinstance(node.children[-1].data, CompareLink)
        first_page = [r.data.id for r in rows if isinstance(r.data, DeltaRow)]
        tree.move_cursor(node.children[-1])
        await pilot.press("enter")  # the next page replaces this one
        await settle(pilot)
        rows = [c for c in node.children if isinstance(c.data, DeltaRow)]
        assert len(rows) == count - PAGE_SIZE
        assert isinstance(node.children[0].data, CompareLink) and not node.children[0].data.forward
        assert not {r.data.id for r in rows if isinstance(r.data, DeltaRow)} & set(first_page)
        assert f"showing {PAGE_SIZE + 1:,}–{count:,}" in str(node.label)
        assert sum(1 for _ in tree.root.children) < 20  # only counts, never every object, up front


async def test_a_missing_report_runs_with_progress_and_a_second_job_is_refused() -> None:
    gate = asyncio.Event()
    backend = FakeBackend(report_gate=gate)
    async with running(backend) as (app, pilot):
        main = app.main
        await pilot.press("1", "j", "x", "k", "x")  # backup A (one day old) has no report yet
        await wait_until(pilot, lambda: main.job_strip.display, "the job strip")
        assert main.job_running and main.compare is not None and main.compare.makes_report
        waiting = " ".join(str(n.label) for n in main.query_one(CompareTree).root.children)
        assert "Backup A needs a difference report first: the job strip shows its progress" in waiting
        assert "difference report" in screen_text(app).splitlines()[1]  # the job strip
        await pilot.press("1", "j", "j", "x", "k", "x")  # another comparison that needs a report: refused
        await pilot.pause()
        assert any("a job is already running" in n.message for n in app._notifications)
        gate.set()
        await settle(pilot)
        assert not main.job_strip.display and not main.job_running
        tree = main.query_one(CompareTree)
        assert tree.display and tree.comparison is not None
        assert len(backend.compare_calls) == 1


async def test_a_failed_comparison_says_so_and_offline_needs_cached_reports() -> None:
    backend = FakeBackend(compare_error="Both reports are of [bold]the same[/] backup \x1b[31m")
    async with running(backend) as (app, pilot):
        main = app.main
        await pilot.press("1", "j", "x", "k", "x")
        await settle(pilot)
        tree = main.query_one(CompareTree)
        assert tree.display and tree.comparison is None
        lines = " ".join(str(n.label) for n in tree.root.children)
        assert "The comparison did not finish" in lines
        failed = [n.message for n in app._notifications if n.title == "Compare backups"]
        assert any(m.startswith("Both reports are of [bold]the same[/]") for m in failed)
        assert not main.job_strip.display and not main.job_running
        await pilot.press("escape")
        await settle(pilot)
        assert not tree.display and main.changes.display

    offline = FakeBackend(offline=True)
    async with running(offline) as (app, pilot):
        await pilot.press("1", "j", "x", "k", "x")  # backup A has no report in the cache
        await settle(pilot)
        assert not offline.compare_calls and not app.main.query_one(CompareTree).display
        assert any(n.message.startswith("Offline: backup A has no complete report")
                   for n in app._notifications)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_tenant_text_in_the_compare_view_is_literal(size: tuple[int, int]) -> None:
    backend = FakeBackend(tenant_changes=hostile_changes("[/] \x1b[2J"), live_moved=frozenset({"h-02"}))
    async with running(backend, size=size) as (app, pilot):
        main = app.main
        await pilot.press("1", "j", "x", "k", "x")
        await settle(pilot)
        tree = main.query_one(CompareTree)
        for node in list(tree.root.children):
            node.expand()
            for child in list(node.children):
                child.expand()
        await settle(pilot)
        rows = [c for n in tree.root.children for k in (n, *n.children) for c in k.children
                if isinstance(c.data, DeltaRow)]
        assert rows
        for row in rows:
            tree.move_cursor(row)
            await settle(pilot)
            text = screen_text(app)
            for char in ("\x1b", "\x00", "\u202e", "\u200b", "\x07", "\x9b"):
                assert char not in text and char not in str(row.label)
                assert all(char not in r.label + r.backup_text + r.current_text
                           for r in main.diff.table.diff_rows)
        labels = [str(r.label) for r in rows]
        assert any(display_text(HOSTILE_CORPUS[0])[:20] in label for label in labels)
        assert app.is_running and app._exception is None
