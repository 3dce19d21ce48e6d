"""Comparing two backups in the app, on the in-memory backend double: picking A and B in pane 1, the compare
tree and the Diff pane A beside B, the objects left out, marking and restoring off, and back to the report."""

from __future__ import annotations

from entrabr_tui.core.compare import DeltaKind, ObjectDelta
from entrabr_tui.ui.widgets.backups import BackupsTable
from entrabr_tui.ui.widgets.change_nodes import TypeNode
from entrabr_tui.ui.widgets.compare_nodes import MOVED, DeltaRow, KindNode
from entrabr_tui.ui.widgets.compare_tree import CompareTree

from .conftest import running, settle
from .fake_backend import FakeBackend
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
        await pilot.press("space")
        await settle(pilot)
        assert not backend.marked(report_id)
        await pilot.press("r")
        await settle(pilot)
        assert any("off while two backups are compared" in n.message for n in app._notifications)

        # esc: the report view as it was.
        await pilot.press("escape")
        await settle(pilot)
        assert not tree.display and main.changes.display and main.report_id == report_id
        text = screen_text(app)
        assert "2 Changes" in text and a_row not in text and b_row not in text
