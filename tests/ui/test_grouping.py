"""The Changes pane grouped by who changed it: actor → operation → objects and cluster → objects (b cycles,
the title names the grouping), marking a whole group across the report with its undo, triage tags (a kept
cluster is never queued), and the "Not in this report" lens with the purge clock."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot
from textual.widgets import Static
from textual.widgets.tree import TreeNode

from entrabr_tui.core.audit_triage import TagTarget, TriageTag
from entrabr_tui.ui.app import EntrabrApp
from entrabr_tui.ui.screens.audit_screens import NotInReportScreen, TriageDialog
from entrabr_tui.ui.screens.plan_review import PlanReviewScreen
from entrabr_tui.ui.widgets.change_nodes import ObjectRow
from entrabr_tui.ui.widgets.group_nodes import GroupData, GroupNode, Level
from entrabr_tui.ui.widgets.group_tree import GroupTree

from .conftest import running, settle
from .fake_backend import ROGUE, FakeBackend, fake_audit_row


def title(app: EntrabrApp) -> str:
    return str(app.main.query_one("#pane-changes").border_title)


def top(tree: GroupTree) -> list[GroupNode]:
    return [n.data for n in tree.root.children if isinstance(n.data, GroupNode)]


def node_of(tree: GroupTree, key: str) -> TreeNode[GroupData]:
    return next(n for n in tree.root.children if isinstance(n.data, GroupNode) and n.data.key == key)


async def group_by(pilot: Pilot[Any], app: EntrabrApp, presses: int) -> GroupTree:
    app.main.changes.focus()
    for _ in range(presses):
        await pilot.press("b")
        await settle(pilot)
    return app.main.query_one(GroupTree)


async def test_b_cycles_type_actor_cluster_with_the_mode_in_the_title() -> None:
    backend = FakeBackend()
    async with running(backend) as (app, pilot):
        assert "by type" in title(app)
        tree = await group_by(pilot, app, 1)
        assert tree.display and not app.main.changes.display and app.main.focused is tree
        assert "by actor → operation" in title(app)
        actors = top(tree)
        rows = [fake_audit_row(i, c) for i, c in enumerate(backend.tenant_changes)]
        expected: dict[str, int] = {}
        for r in rows:
            expected[r.actor] = expected.get(r.actor, 0) + 1
        assert {a.key: a.count for a in actors} == expected
        assert actors[0].key == ROGUE.key and actors[0].count == max(expected.values())  # most changes first
        await pilot.press("b")
        await settle(pilot)
        assert "by cluster" in title(app)
        clusters = top(tree)
        assert all(c.level is Level.CLUSTER for c in clusters)
        assert sum(c.count for c in clusters) == len(backend.tenant_changes)
        await pilot.press("b")
        await settle(pilot)
        assert "by type" in title(app) and app.main.changes.display and not tree.display


async def test_actor_opens_to_operations_then_a_page_of_objects() -> None:
    backend = FakeBackend()
    async with running(backend) as (app, pilot):
        tree = await group_by(pilot, app, 1)
        rogue = node_of(tree, ROGUE.key)
        tree.move_cursor(rogue)
        await pilot.press("enter")
        await settle(pilot)
        ops = [n for n in rogue.children if isinstance(n.data, GroupNode)]
        assert [n.data.key for n in ops if isinstance(n.data, GroupNode)] == ["op-rogue-0", "op-rogue-1"]
        tree.move_cursor(ops[0])
        await pilot.press("enter")
        await settle(pilot)
        objects = [n.data for n in ops[0].children if isinstance(n.data, ObjectRow)]
        wanted = sorted((c.display_name.casefold(), c.id) for i, c in enumerate(backend.tenant_changes)
                        if fake_audit_row(i, c).operation == "op-rogue-0")
        assert [(o.display_name.casefold(), o.id) for o in objects] == wanted[:len(objects)]
        assert len(objects) == min(500, len(wanted))


async def test_m_marks_a_whole_cluster_across_the_report_and_u_undoes_it() -> None:
    backend = FakeBackend()
    async with running(backend) as (app, pilot):
        tree = await group_by(pilot, app, 2)
        biggest = tree.root.children[0]
        assert isinstance(biggest.data, GroupNode)
        tree.move_cursor(biggest)
        await pilot.press("m")
        await settle(pilot)
        members = {c.id for i, c in enumerate(backend.tenant_changes)
                   if fake_audit_row(i, c).cluster.id == biggest.data.key}
        assert set(backend.queued) == members and len(members) == biggest.data.count
        assert app.main.changes.marks.marked == members
        assert f"marked {len(members):,}" in title(app)
        await pilot.press("u")
        await settle(pilot)
        assert not backend.queued and not app.main.changes.marks.marked


async def test_a_kept_cluster_is_never_queued_and_the_toast_says_so() -> None:
    backend = FakeBackend()
    async with running(backend) as (app, pilot):
        tree = await group_by(pilot, app, 2)
        biggest = tree.root.children[0]
        assert isinstance(biggest.data, GroupNode)
        key = biggest.data.key
        tree.move_cursor(biggest)
        await pilot.press("T")
        await settle(pilot)
        assert isinstance(app.screen, TriageDialog)
        await pilot.press("shift+tab")  # from the buttons to the note
        await pilot.press(*"legit HR run")
        await pilot.press("tab", "k")
        await settle(pilot)
        note = backend.tags[(TagTarget.CLUSTER, key)]
        assert note.tag is TriageTag.KEEP and note.note == "legit HR run"
        assert str(node_of(tree, key).label).startswith("[keep] ")
        notes: list[str] = []
        app.notify = lambda message, **kw: notes.append(message)  # type: ignore[method-assign]
        tree.move_cursor(node_of(tree, key))
        await pilot.press("m")
        await settle(pilot)
        assert not backend.queued
        assert any(f"{biggest.data.count:,} changes tagged keep left out" in n for n in notes), notes


async def test_mark_in_the_type_tree_marks_the_action_across_the_report() -> None:
    backend = FakeBackend()
    async with running(backend) as (app, pilot):
        tree = app.main.changes
        tree.focus()
        node = next(n for n in tree.root.children if n.data.entity_type == "user")  # type: ignore[union-attr]
        tree.move_cursor(node)
        await pilot.press("m")
        await settle(pilot)
        assert set(backend.queued) == {c.id for c in backend.tenant_changes if c.entity_type_raw == "user"}


async def test_lens_lists_blind_spots_with_advice_and_the_purge_clock() -> None:
    backend = FakeBackend()
    async with running(backend, size=(120, 40)) as (app, pilot):
        status = str(app.main.status.render())
        assert "not in report: 3 (L)" in status  # dropped first when the line is short of room
        await pilot.press("L")
        await settle(pilot)
        assert isinstance(app.screen, NotInReportScreen)
        body = str(app.screen.query_one("#lens-body", Static).render())
        assert "Hard-deleted" in body or "hard" in body.lower()
        assert "[bold]Payroll[/bold]" in body  # literal
        assert "What to do instead: " in body
        purges = backend.purge_clock("")
        assert "Purge clock" in body and purges
        first = body.index(purges[0].display_name)
        assert all(body.index(p.display_name) >= first for p in purges[:5])
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, NotInReportScreen)


async def test_no_audit_access_says_what_is_missing_and_type_view_still_works() -> None:
    async with running(FakeBackend(role="reader"), size=(120, 40)) as (app, pilot):
        tree = await group_by(pilot, app, 1)
        line = str(tree.root.children[0].label)
        assert line.startswith("no audit access: ")
        assert "audit: no access" in str(app.main.status.render())
        await pilot.press("b", "b")
        await settle(pilot)
        assert app.main.changes.display and app.main.changes.root.children


async def test_the_plan_review_says_how_many_changes_the_tags_leave_alone() -> None:
    backend = FakeBackend()
    async with running(backend) as (app, pilot):
        tree = await group_by(pilot, app, 2)
        kept, other = tree.root.children[0].data, tree.root.children[1].data
        assert isinstance(kept, GroupNode) and isinstance(other, GroupNode)
        backend.set_triage_tag(TagTarget.CLUSTER, kept.key, TriageTag.KEEP, "legitimate")
        tree.move_cursor(tree.root.children[1])
        await pilot.press("m")
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, PlanReviewScreen)
        text = " ".join(str(s.render()) for s in app.screen.query(Static))
        assert f"{kept.count:,} changes of the report left alone: kept by triage tags" in text


async def test_without_audit_access_m_still_marks_a_type_and_u_undoes_it() -> None:
    backend = FakeBackend(role="reader")
    async with running(backend) as (app, pilot):
        tree = app.main.changes
        tree.focus()
        node = next(n for n in tree.root.children if n.data.entity_type == "group")  # type: ignore[union-attr]
        tree.move_cursor(node)
        await pilot.press("m")
        await settle(pilot)
        groups = {c.id for c in backend.tenant_changes if c.entity_type_raw == "group"}
        assert set(backend.queued) == groups and app.main.changes.marks.marked == groups
        await pilot.press("u")
        await settle(pilot)
        assert not backend.queued


async def test_the_filter_narrows_the_grouped_tree_and_m_marks_its_matches_only() -> None:
    backend = FakeBackend()
    async with running(backend) as (app, pilot):
        tree = await group_by(pilot, app, 1)
        await pilot.press("slash", *"User 0001")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert app.main.focused is tree and "/User 0001" in title(app)
        matches = [(i, c) for i, c in enumerate(backend.tenant_changes) if "User 0001" in c.display_name]
        expected: dict[str, int] = {}
        for i, c in matches:
            actor = fake_audit_row(i, c).actor
            expected[actor] = expected.get(actor, 0) + 1
        assert {a.key: a.count for a in top(tree)} == expected
        tree.move_cursor(node_of(tree, ROGUE.key))
        await pilot.press("m")
        await settle(pilot)
        assert set(backend.queued) == {c.id for i, c in matches if fake_audit_row(i, c).actor == ROGUE.key}
