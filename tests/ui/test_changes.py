"""Changes tree and Diff pane: drilling in, paging, marks, filters, lenses, hostile names."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import TextArea

from entrabr_tui.ui.widgets.change_nodes import PAGE_SIZE, ActionNode, ObjectRow, PageLink, TypeNode

from .conftest import running, settle
from .fake_backend import HOSTILE_NAMES, FakeBackend
from .pilot_helpers import focused, leaves, open_group
from .screen_text import screen_text


async def test_counts_at_every_level() -> None:
    backend = FakeBackend()
    async with running(backend) as (app, _pilot):
        tree = app.main.changes
        expected: dict[tuple[str, str], int] = {}
        for c in backend.tenant_changes:
            key = (c.entity_type_raw, c.action_raw)
            expected[key] = expected.get(key, 0) + 1
        for tnode in tree.root.children:
            assert isinstance(tnode.data, TypeNode)
            actions = [a.data for a in tnode.children if isinstance(a.data, ActionNode)]
            assert tnode.data.count == sum(a.count for a in actions)
            for a in actions:
                assert a.count == expected[(a.entity_type, a.action)]


async def test_drill_into_a_user_shows_side_by_side_rows() -> None:
    async with running() as (app, pilot):
        tree = app.main.changes
        node = await open_group(pilot, tree, "user", "update")
        assert isinstance(node.data, ActionNode) and len(leaves(node)) == node.data.count
        await pilot.press("j")
        await settle(pilot)
        rows = app.main.diff.table.diff_rows
        by_path = {r.path: r for r in rows}
        assert by_path["jobTitle"].backup_text == "Engineer"
        assert by_path["jobTitle"].current_text == "Manager"
        assert by_path["jobTitle"].glyph == "~"
        text = screen_text(app)
        assert "jobTitle" in text and "Engineer" in text and "Manager" in text
        await pilot.press("enter")
        assert focused(app) is app.main.diff.table
        await pilot.press("escape")
        assert focused(app) is tree


async def test_group_member_changes_are_rows_with_resolved_names() -> None:
    async with running() as (app, pilot):
        tree = app.main.changes
        await open_group(pilot, tree, "group", "update")
        await pilot.press("j")
        await settle(pilot)
        rows = app.main.diff.table.diff_rows
        members = [r for r in rows if r.member_id]
        assert {(r.member_id, r.glyph) for r in members} == {("u-00001", "−"), ("u-00002", "+")}
        assert {r.label for r in members} == {"user"}
        assert {r.current_text or r.backup_text for r in members} == {"User 00001 (u-00001)",
                                                                     "User 00002 (u-00002)"}
        assert "User 00002" in screen_text(app)


async def test_conditional_access_policy_nested_rows_and_raw_json() -> None:
    async with running() as (app, pilot):
        tree = app.main.changes
        await open_group(pilot, tree, "conditionalAccessPolicy", "update")
        await pilot.press("j")
        await settle(pilot)
        paths = [r.path for r in app.main.diff.table.diff_rows]
        assert "conditions.users.includeUsers" in paths
        assert "state" in paths
        await pilot.press("3", "J")
        await settle(pilot)
        assert app.main.diff.raw
        assert '"conditionalAccessPolicy"' in app.main.query_one("#diff-raw", TextArea).text


async def test_copy_value_uses_clipboard_and_toasts() -> None:
    async with running() as (app, pilot):
        tree = app.main.changes
        await open_group(pilot, tree, "user", "update")
        await pilot.press("j")
        await settle(pilot)
        await pilot.press("3", "y")
        assert app.clipboard in {"Engineer", "true", "false", "Manager"} or app.clipboard
        assert any(n.title == "Copy" and "(OSC 52)" in n.message for n in app._notifications)


async def test_space_marks_and_moves_down_and_u_unmarks_all() -> None:
    backend = FakeBackend()
    async with running(backend) as (app, pilot):
        tree = app.main.changes
        await open_group(pilot, tree, "user", "restore")
        await pilot.press("j", "space", "space")
        await settle(pilot)
        assert len(backend.queued) == 2
        assert len(tree.marks.marked) == 2
        assert "[x]" in screen_text(app)
        assert "2 queued" in screen_text(app)
        await pilot.press("k", "space")
        await settle(pilot)
        assert len(backend.queued) == 1
        await pilot.press("U")
        await settle(pilot)
        assert backend.queued == {}
        assert "[x]" not in screen_text(app)


async def test_range_then_mark_all_marks_the_whole_report() -> None:
    backend = FakeBackend()
    async with running(backend) as (app, pilot):
        tree = app.main.changes
        node = await open_group(pilot, tree, "user", "softDelete")
        await pilot.press("j", "v", "j", "j", "j", "v")
        await settle(pilot)
        assert len(backend.queued) == 4
        await pilot.press("ctrl+a")  # every change of the report, not only the rows loaded
        await settle(pilot)
        assert len(backend.queued) == len(backend.tenant_changes) > len(leaves(node))
        assert all(label.startswith("[x]") for label in (str(n.label) for n in node.children
                                                          if isinstance(n.data, ObjectRow)))


async def test_unmark_from_the_queue_pane() -> None:
    backend = FakeBackend()
    async with running(backend) as (app, pilot):
        tree = app.main.changes
        await open_group(pilot, tree, "user", "update")
        await pilot.press("j", "space", "space")
        await settle(pilot)
        await pilot.press("4")
        queue = app.main.queue
        queue.move_cursor(row=1)
        await pilot.press("x")
        await settle(pilot)
        assert len(backend.queued) == 1
        assert len(tree.marks.marked) == 1


async def test_large_nodes_are_paged() -> None:
    backend = FakeBackend(users=1_500)
    async with running(backend) as (app, pilot):
        tree = app.main.changes
        node = await open_group(pilot, tree, "user", "update")
        assert isinstance(node.data, ActionNode)
        total = node.data.count
        assert total > PAGE_SIZE
        first_page = leaves(node)
        assert len(first_page) == PAGE_SIZE
        link = node.children[-1]
        assert isinstance(link.data, PageLink) and link.data.forward
        tree.move_cursor(link)
        await pilot.press("enter")
        await settle(pilot)
        second_page = leaves(node)
        assert len(second_page) == min(PAGE_SIZE, total - PAGE_SIZE)
        assert second_page[0].display_name > first_page[-1].display_name
        assert isinstance(node.children[0].data, PageLink) and not node.children[0].data.forward
        tree.move_cursor(node.children[0])
        await pilot.press("enter")
        await settle(pilot)
        assert leaves(node) == first_page


async def test_filter_by_name_upn_or_id_with_next_match() -> None:
    async with running() as (app, pilot):
        tree = app.main.changes
        tree.focus()
        await pilot.press("slash")
        await pilot.press(*"user0001")
        await settle(pilot)
        rows = tree.visible_rows()
        assert rows and all("user0001" in (r.principal_name or "") for r in rows)
        await pilot.press("enter")
        assert focused(app) is tree
        await pilot.press("right_square_bracket")
        first = tree.cursor_line
        assert tree.current_row is not None
        await pilot.press("right_square_bracket")
        assert tree.cursor_line > first and tree.current_row is not None
        await pilot.press("left_square_bracket")
        assert tree.cursor_line == first
        await pilot.press("escape")
        await settle(pilot)
        assert tree.filters.text == "" and not tree.filtered


async def test_destructive_lens_and_quick_filters() -> None:
    async with running() as (app, pilot):
        tree = app.main.changes
        tree.focus()
        await pilot.press("D")
        await settle(pilot)
        actions = {a.data.action for t in tree.root.children for a in t.children
                   if isinstance(a.data, ActionNode)}
        assert actions == {"softDelete"}
        assert "soft-delete lens" in str(app.main.query_one("#pane-changes").border_title)
        await pilot.press("escape", "t")
        types = {t.data.entity_type for t in tree.root.children if isinstance(t.data, TypeNode)}
        assert len(types) == 1


async def test_hostile_names_render_literally_and_keep_layout() -> None:
    async with running(size=(100, 30)) as (app, pilot):
        tree = app.main.changes
        tree.focus()
        await pilot.press("slash", *"u-9000", "enter")
        await settle(pilot)
        names = {r.display_name for r in tree.visible_rows()}
        assert names == set(HOSTILE_NAMES)
        text = screen_text(app)
        lines = text.splitlines()
        assert len(lines) == 30 and all(len(line) <= 100 for line in lines)
        assert "[bold red]Injected[/bold red]" in text
        assert "\x1b" not in text
        assert "ANSI red" in text
        assert "(no name)" in text
        assert "X" * 30 in text
        for node in tree.root.children[0].children[0].children:
            label = node.label
            assert isinstance(label, Text)
            assert label.cell_len < 120
            assert "X" * 100 not in label.plain
