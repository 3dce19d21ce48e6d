"""Comparing two backups in the app on the built-in demo tenant (a real emulator over loopback), at 80×24 and
120×40: two seeded days picked in pane 1, their reports made through the report flow, and the compare view
checked against the emulator's own history of its snapshots."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from entrabr_tui.core.compare import DeltaKind, ObjectDelta
from entrabr_tui.engine import Session
from entrabr_tui.ui.widgets.backups import BackupsTable
from entrabr_tui.ui.widgets.change_nodes import TypeNode
from entrabr_tui.ui.widgets.compare_nodes import DeltaRow, KindNode
from entrabr_tui.ui.widgets.compare_tree import CompareTree

from .conftest import settle
from .demo_app import demo
from .screen_text import screen_text


def history(session: Session, a: str, b: str) -> dict[tuple[str, str], dict[str, Any]]:
    """The emulator's account of what differs between two snapshots, as reports can show it (an object purged
    in one of them is in neither report)."""
    server = session.emulator
    response = httpx.get(f"{server.base_url}/_emulator/history", params={"from": a, "to": b}, timeout=60)
    response.raise_for_status()
    objects = response.json()["objects"]
    return {(o["entityType"], o["id"]): o for o in objects if "present" in (o["a"], o["b"])}


def kind_of(entry: dict[str, Any]) -> str:
    present_a, present_b = entry["a"] == "present", entry["b"] == "present"
    if present_a == present_b:
        return DeltaKind.CHANGED.value
    return DeltaKind.APPEARED.value if present_b else DeltaKind.DISAPPEARED.value


@pytest.mark.emulator
@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_compare_two_seeded_days_in_the_app(size: tuple[int, int]) -> None:
    async with demo("admin", size) as (app, pilot, session):
        main = app.main
        table = main.query_one(BackupsTable)
        ids = list(table.entries)
        older, newer = ids[2], ids[1]  # two seeded days, neither with a report yet
        await pilot.press("1", "j", "j", "x", "k", "x")
        await settle(pilot)

        # Both reports were made through the report flow (pane 1 shows them cached), then compared.
        for snapshot_id in (older, newer):
            report = table.entries[snapshot_id].report
            assert report is not None and report.complete
        tree = main.query_one(CompareTree)
        comparison = tree.comparison
        assert tree.display and comparison is not None and tree.has_focus
        assert (comparison.a.snapshot_id, comparison.b.snapshot_id) == (older, newer)
        assert not comparison.moved
        text = screen_text(app)
        a_when = f"{table.entries[older].snapshot.created:%m-%d %H:%M}"
        assert "2 Compare" in text and f"A {a_when}" in text

        # The tree's counts are the emulator's history of the two days.
        truth = await asyncio.to_thread(history, session, older, newer)
        assert truth, "a day of drift changes something"
        shown: dict[tuple[str, str], int] = {}
        for tnode in tree.root.children:
            if isinstance(tnode.data, TypeNode):
                for knode in tnode.children:
                    assert isinstance(knode.data, KindNode)
                    shown[(tnode.data.entity_type, knode.data.kind)] = knode.data.count
        expected: dict[tuple[str, str], int] = {}
        for (entity_type, _), entry in truth.items():
            key = (entity_type, kind_of(entry))
            expected[key] = expected.get(key, 0) + 1
        assert shown == expected

        # Every kind node pages the objects of the history; a changed object's diff is A's value beside B's.
        checked = 0
        for tnode in list(tree.root.children):
            for knode in list(tnode.children):
                assert isinstance(knode.data, KindNode)
                knode.expand()
                await settle(pilot)
                rows = [c for c in knode.children if isinstance(c.data, DeltaRow)]
                assert len(rows) == knode.data.count
                for row in rows:
                    assert isinstance(row.data, DeltaRow) and isinstance(row.data.item, ObjectDelta)
                    item = row.data.item
                    entry = truth[(item.entity_type, item.object_id)]
                    assert item.kind.value == kind_of(entry)
                    if item.kind is DeltaKind.CHANGED and checked < 3 and any(
                            p.member_id is None for p in item.properties):
                        tree.move_cursor(row)
                        await settle(pilot)
                        diff = main.diff.table
                        assert diff.heads is not None and diff.heads[0] == f"A {a_when}"
                        top = {r.path: (r.backup, r.current) for r in diff.diff_rows if r.depth == 0}
                        for name, values in entry["properties"].items():
                            assert top[name] == (values["a"], values["b"]), name
                        checked += 1
        assert checked, "no changed object with properties to check"

        # Restoring is off in the compare view; esc returns to the report view.
        await pilot.press("r")
        await settle(pilot)
        assert any("off while two backups are compared" in n.message for n in app._notifications)
        await pilot.press("escape")
        await settle(pilot)
        assert not tree.display and main.changes.display
        assert "2 Changes" in screen_text(app)
