"""Readable at 80 and 120 columns: the diff wraps and zooms, tree rows tell look-alikes apart, hints wrap,
every backup shows, state reads without colour, keys mean one thing, the header stays honest."""

from __future__ import annotations

import asyncio

import pytest
from rich.text import Text
from textual.widgets import Input

from entrabr_tui.core.model import Change, JobKind, SyncStatus
from entrabr_tui.engine.events import JobProgress
from entrabr_tui.ui.screens.dialogs import ConfirmDialog
from entrabr_tui.ui.screens.report_flow import ScopeDialog
from entrabr_tui.ui.widgets.change_nodes import ObjectRow, TypeNode
from entrabr_tui.ui.widgets.diff import RawJsonView
from entrabr_tui.ui.widgets.status import job_progress_text

from .conftest import running, settle
from .fake_backend import FakeBackend, build_changes
from .pilot_helpers import focused, open_group, pane_title
from .screen_text import screen_text

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


def look_alikes() -> list[Change]:
    """Three users the attacker renamed alike, and a long value (cloud users, as after a directory lookup)."""
    changes = build_changes(20)
    for i, upn in enumerate((None, "amir.alvarez@contoso.example", None)):
        current = {"@odata.type": "#microsoft.graph.user", "displayName": "DISABLED - Amir Alvarez",
                   "accountEnabled": False, "department": "x"}
        if upn:
            current["userPrincipalName"] = upn
        changes.append(Change.from_json({
            "id": f"a{i}000000-0000-4000-8000-00000000000{i}", "entityTypeName": "user",
            "recoveryAction": "update", "displayName": "DISABLED - Amir Alvarez",
            "deltaFromCurrent": {"@odata.type": "#microsoft.graph.user", "displayName": "Amir Alvarez",
                                 "accountEnabled": True, "department": "Finance and Controlling " * 6},
            "currentState": current}).with_sync(SyncStatus.CLOUD))
    return changes


@pytest.mark.parametrize("size", SIZES)
async def test_the_diff_wraps_long_values_and_never_cuts_rec(size: tuple[int, int]) -> None:
    async with running(FakeBackend(tenant_changes=look_alikes()), size=size) as (app, pilot):
        node = await open_group(pilot, app.main.changes, "user", "update")
        rows = {n.data.id[:2]: n for n in node.children if isinstance(n.data, ObjectRow)}
        app.main.changes.move_cursor(rows["a0"])
        await settle(pilot)
        table = app.main.diff.table
        widths = [c.width for c in table.columns.values()]
        assert [str(c.label) for c in table.columns.values()] == ["Property", "Backup", "Current", "Rec"]
        assert widths[-1] == 3 and sum(widths) + 2 * len(widths) <= table.size.width
        department = next(i for i, r in enumerate(table.diff_rows) if r.path == "department")
        row_key = list(table.rows)[department]
        assert table.rows[row_key].height > 1  # the long value wraps instead of being cut at once
        text = screen_text(app)
        assert " yes" in text and "ye\n" not in text
        # Another object: the same column widths (stable at a given width).
        app.main.changes.move_cursor(rows["u-"])
        await settle(pilot)
        assert [c.width for c in table.columns.values()] == widths
        # z zooms the focused pane to the whole screen; the value columns widen; z again comes back.
        await pilot.press("3", "z")
        await settle(pilot)
        assert app.main.maximized is app.main.diff
        assert [c.width for c in table.columns.values()][1] > widths[1]
        await pilot.press("z")
        await settle(pilot)
        assert app.main.maximized is None
        await pilot.press("z", "2")  # going to another pane shows every pane again
        await settle(pilot)
        assert app.main.maximized is None and app.focused is app.main.changes


@pytest.mark.parametrize("size", SIZES)
async def test_look_alike_rows_show_upn_or_short_id_and_the_backup_name(size: tuple[int, int]) -> None:
    async with running(FakeBackend(tenant_changes=look_alikes()), size=size) as (app, pilot):
        node = await open_group(pilot, app.main.changes, "user", "update")
        await asyncio.sleep(0.4)  # the rows in view get their details once the view rests
        await settle(pilot)
        alike = [n.label.plain for n in node.children
                 if isinstance(n.data, ObjectRow) and n.data.display_name == "DISABLED - Amir Alvarez"
                 and isinstance(n.label, Text)]
        assert sorted(alike) == [
            '[ ] ~ DISABLED - Amir Alvarez  (a0000000…, was "Amir Alvarez")',
            '[ ] ~ DISABLED - Amir Alvarez  (a2000000…, was "Amir Alvarez")',
            '[ ] ~ DISABLED - Amir Alvarez  (amir.alvarez@contoso.ex…, was "Amir Alvarez")',  # UPN cut
        ]
        await pilot.press("2", "z")  # zoomed, the whole row shows even at 80 columns
        await settle(pilot)
        assert '(a0000000…, was "Amir Alvarez")' in screen_text(app)
        app.main.changes.move_cursor(next(n for n in node.children if isinstance(n.data, ObjectRow)
                                          and n.data.id.startswith("a0")))
        await pilot.press("y")  # copies the object's id
        assert app.clipboard == "a0000000-0000-4000-8000-000000000000"
        assert any("(OSC 52)" in n.message for n in app._notifications)


@pytest.mark.parametrize("size", SIZES)
async def test_first_run_hint_wraps_and_names_the_one_key(size: tuple[int, int]) -> None:
    async with running(FakeBackend(cached=False, backups=7), size=size) as (app, pilot):
        text = screen_text(app)
        for part in ("Press enter to create", "2026-07-27", "22:00 UTC", "up to 1–2.5 h."):
            assert part in text  # wrapped, not cut
        assert app.focused is app.main.backups
        assert "Create report" in text  # the footer says what enter does here
        assert app.main.backups.row_count == 7
        for day in ("07-27", "07-21"):  # every backup shows: the oldest is not behind a scrollbar
            assert day in text
        await pilot.press("enter")
        await settle(pilot)
        assert app.main.changes.report_id is not None  # one key


async def test_raw_json_toggles_back_and_esc_leaves_it() -> None:
    async with running() as (app, pilot):
        await open_group(pilot, app.main.changes, "user", "update")
        await pilot.press("j")
        await settle(pilot)
        await pilot.press("3", "J")
        assert isinstance(app.focused, RawJsonView)
        await pilot.press("J")
        assert focused(app) is app.main.diff.table and not app.main.diff.raw
        await pilot.press("J", "escape")
        assert focused(app) is app.main.diff.table and not app.main.diff.raw
        await pilot.press("3")
        assert focused(app) is app.main.diff.table


async def test_esc_leaves_the_filter_field_empty() -> None:
    async with running() as (app, pilot):
        app.main.changes.focus()
        await pilot.press("slash", *"user0001", "enter")
        await settle(pilot)
        field = app.main.query_one("#filter", Input)
        assert field.display and field.value == "user0001"
        await pilot.press("escape")
        await settle(pilot)
        assert field.value == "" and not field.display and not app.main.changes.filters.text


async def test_choices_read_without_colour() -> None:
    async with running() as (app, pilot):
        await pilot.press("1", "n")
        await settle(pilot)
        assert isinstance(app.screen, ScopeDialog)
        text = screen_text(app)
        assert "(•) All objects" in text and "( ) Chosen types" in text
        assert "[ ] New report even if one is cached" in text
        assert "[ ] user" in text
        await pilot.press("down", "enter", "tab", "space")
        await settle(pilot)
        text = screen_text(app)
        assert "( ) All objects" in text and "(•) Chosen types" in text and "[x] user" in text


async def test_type_and_action_filters_open_what_they_keep_and_count_it() -> None:
    async with running() as (app, pilot):
        tree = app.main.changes
        order = [n.data.entity_type for n in tree.root.children if isinstance(n.data, TypeNode)]
        assert order[0] == "user"  # most changes first
        counts = [n.data.count for n in tree.root.children if isinstance(n.data, TypeNode)]
        assert counts == sorted(counts, reverse=True)
        tree.focus()
        await pilot.press("t")
        await settle(pilot)
        assert "type=conditionalAccessPolicy: 1" in pane_title(app, "pane-changes")
        opened = [n for n in tree.root.children if isinstance(n.data, TypeNode)]
        shown = [n.data.entity_type for n in tree.root.children if isinstance(n.data, TypeNode)]
        assert shown == ["conditionalAccessPolicy"] and opened[0].is_expanded
        assert opened[0].children and all(child.is_expanded for child in opened[0].children)


async def test_range_start_is_marked_on_its_row() -> None:
    async with running() as (app, pilot):
        tree = app.main.changes
        await open_group(pilot, tree, "user", "update")
        await pilot.press("j", "v")
        await settle(pilot)
        node = tree.cursor_node
        assert node is not None and isinstance(node.label, Text) and "[range start]" in node.label.plain
        assert "range from the row marked [range start]" in pane_title(app, "pane-changes")
        await pilot.press("j", "v")
        await settle(pilot)
        assert "[range start]" not in node.label.plain if isinstance(node.label, Text) else True


@pytest.mark.parametrize("size", SIZES)
async def test_header_keeps_role_and_identity_and_offline_is_honest(size: tuple[int, int]) -> None:
    backend = FakeBackend(identity="backup.admin.with.a.long.name@contoso.example", tenant="Contoso Ltd (EU)")
    async with running(backend, size=size) as (app, _pilot):
        header = screen_text(app).splitlines()[0]
        # At 80 columns the identity is cut (the lens's count keeps its place); the role never is.
        assert ("backup.admin.with.a.long.name@" if size[0] >= 120 else "backup.adm") in header
        assert "Backup Admin" in header and "free" in header and "not in report: 3 (L)" in header
    async with running(FakeBackend(offline=True), size=size) as (app, _pilot):
        header = screen_text(app).splitlines()[0]
        assert "role" in header and ("not known" in header or "?" in header)
        assert "slot free" not in header and "OFFLINE" in header


def test_progress_past_the_estimate_and_big_numbers() -> None:
    late = JobProgress("j", JobKind.PREVIEW, "calculating", "Calculating differences", 7.0, 6.0)
    assert "7s: over the usual time (up to 6s)" in job_progress_text(late)
    download = JobProgress("j", JobKind.PREVIEW, "downloading", "Downloading", 30.0, 600.0,
                           downloaded=33_966, total=100_071)
    assert "33,966/100,071 changes" in job_progress_text(download)


async def test_ctrl_c_quits_and_asks_while_a_job_runs() -> None:
    async with running() as (app, pilot):
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert app._exit
    backend = FakeBackend(restore_gate=asyncio.Event())
    async with running(backend) as (app, pilot):
        await open_group(pilot, app.main.changes, "user", "update")
        await pilot.press("j", "space", "r")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("y")
        for _ in range(5):
            await pilot.pause()
        assert app.main.job_running
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog) and not app._exit
        await pilot.press("n")
        assert backend.restore_gate is not None
        backend.restore_gate.set()
        await settle(pilot)


async def test_the_palette_has_one_key_reference_and_help_names_the_config_file() -> None:
    async with running() as (app, pilot):
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Keys" not in titles and titles.count("Key reference") == 1
        await pilot.press("question_mark")
        await settle(pilot)
        assert "config.toml" in screen_text(app)
        await pilot.press(*"zoom")
        await settle(pilot)
        text = screen_text(app)
        assert "Zoom the pane" in text and "Copy value" not in text
