"""Hostile text through every surface of the app, at 80×24 and 120×40.

Names, UPNs, values, failure messages, the tenant name, the signed-in identity, the history, the filter field,
the help search, config notices, the export path and the crash notice all carry the corpus in
``fake_backend.HOSTILE_CORPUS``: Textual markup (unbalanced, actions, links), terminal escapes (colour, OSC 8,
OSC 52), a bidi override, NUL, a zero-width space, wide characters and a 10,000-character name. On every
surface the app keeps running (no exception, no exit code from a crash) and shows the text literally, in its
display form (``core.text.display_text``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from rich.text import Text
from textual.widgets import Input
from textual.worker import WorkerFailed

from entrabr_tui.core.text import display_text
from entrabr_tui.engine.crash_report import crash_notice
from entrabr_tui.ui.app import EntrabrApp
from entrabr_tui.ui.screens.dialogs import ExportPathDialog, TextDialog
from entrabr_tui.ui.screens.failed_changes import FailedChangesScreen
from entrabr_tui.ui.screens.help import HelpScreen
from entrabr_tui.ui.screens.history import HistoryScreen
from entrabr_tui.ui.screens.plan_review import PlanReviewScreen
from entrabr_tui.ui.screens.report_flow import ScopeDialog
from entrabr_tui.ui.screens.restore_dialogs import RestoreConfirmDialog, RestoreResultScreen
from entrabr_tui.ui.widgets.change_nodes import ObjectRow

from .conftest import factory_for, running, settle
from .fake_backend import HOSTILE_CORPUS, FakeBackend, hostile_changes
from .palette import wait_until
from .pilot_helpers import open_group, pane_title
from .screen_text import screen_text

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]

#: What the corpus looks like on screen: never an escape character, a NUL, a bidi override or a ZWSP.
FORBIDDEN = ("\x1b", "\x00", "\u202e", "\u200b", "\x07", "\x9b")
FAILURE = "[/] failed: \x1b[2Jcleared\u202e [@click=app.quit]quit"


def hostile_backend() -> FakeBackend:
    backend = FakeBackend(tenant="Contoso [/] \x1b[31mred\u202e",
                          identity="[@click=app.quit]admin@contoso.example",
                          tenant_changes=hostile_changes(FAILURE), failure_message=FAILURE,
                          fail_ids=frozenset({"h-00", "h-01"}),
                          broken={"h-03": "cannot read [/] \x1b[5mblink"},
                          warnings=["[red]warning[/] \x1b]52;c;ZXZpbA==\x07 [/"])
    for text in HOSTILE_CORPUS:
        backend.record("theme-changed", detail=text, outcome=text[:50])
    return backend


def alive(app: EntrabrApp) -> None:
    """The app did not crash: no exception, no exit code."""
    assert app._exception is None
    assert app.return_code is None
    assert app.is_running


def shows(app: EntrabrApp, *texts: str, cut: int = 6) -> str:
    """The screen, checked: no raw control character, and the start of each text in its display form."""
    screen = screen_text(app)
    for char in FORBIDDEN:
        assert char not in screen
    for text in texts:
        shown = display_text(text)[:cut]
        assert shown in screen, f"{shown!r} is not on screen"
    return screen


def labels(nodes: Iterable[Any]) -> list[str]:
    return [node.label.plain if isinstance(node.label, Text) else str(node.label) for node in nodes]


@pytest.mark.parametrize("size", SIZES)
async def test_tree_rows_titles_header_and_toasts(size: tuple[int, int]) -> None:
    async with running(hostile_backend(), size=size) as (app, pilot):
        alive(app)
        header = shows(app, "Contoso [/]").splitlines()[0]  # the tenant in the header, literally
        assert "[@" in header and ("Admin" in header)  # the identity (shortened at 80 columns) and the role
        if size[0] >= 120:
            assert "[@click=app.quit]admin@" in header
        assert any("[red]warning[/] ␛" in n.message for n in app._notifications)  # a toast from the backend
        node = await open_group(pilot, app.main.changes, "user", "update")
        rows = [n for n in node.children if isinstance(n.data, ObjectRow)]
        assert len(rows) == len(HOSTILE_CORPUS)
        for label in labels(rows):
            for char in FORBIDDEN:
                assert char not in label
        names = {display_text(f"DISABLED - {name}") for name in HOSTILE_CORPUS}
        assert all(any(label.startswith(f"[ ] ~ {shown[:30]}") for label in labels(rows)) for shown in names)
        alive(app)


@pytest.mark.parametrize("size", SIZES)
async def test_filter_field_takes_markup_literally(size: tuple[int, int]) -> None:
    async with running(hostile_backend(), size=size) as (app, pilot):
        tree = app.main.changes
        tree.focus()
        await pilot.press("slash", "left_square_bracket", "slash")  # typed: the crash of the past
        await settle(pilot)
        alive(app)
        assert "· /[/: " in pane_title(app, "pane-changes")  # literal, with a count
        assert tree.filters.text == "[/"
        assert {r.id for r in tree.visible_rows()} >= {"h-00", "h-01"}  # "[/" is in those names
        field = app.main.query_one("#filter", Input)
        for text in HOSTILE_CORPUS[:11]:
            field.value = text
            await settle(pilot)
            alive(app)
            title = pane_title(app, "pane-changes")
            assert f"/{display_text(text)[:4]}" in title
            shows(app)
        field.value = "DISABLED - ␛ANSI"  # what the screen shows is what the filter finds
        await settle(pilot)
        assert [r.id for r in tree.visible_rows()] == ["h-07"]
        await pilot.press("escape")
        await settle(pilot)
        assert field.value == "" and not field.display


@pytest.mark.parametrize("size", SIZES)
async def test_diff_rows_subtitle_value_dialog_and_copy(size: tuple[int, int]) -> None:
    async with running(hostile_backend(), size=size) as (app, pilot):
        node = await open_group(pilot, app.main.changes, "user", "update")
        for leaf in node.children:
            if not isinstance(leaf.data, ObjectRow) or leaf.data.id == "h-03":
                continue
            app.main.changes.move_cursor(leaf)
            await settle(pilot)
            alive(app)
            diff = app.main.diff
            assert diff.change is not None and diff.change.id == leaf.data.id
            subtitle = diff._border_subtitle.plain if diff._border_subtitle is not None else ""
            assert display_text(leaf.data.display_name)[:8] in subtitle
            values = [r.backup_text for r in diff.table.diff_rows if r.path == "jobTitle"]
            assert values and all(char not in values[0] for char in FORBIDDEN)
            shows(app)
        # A change that cannot be read: the error toast holds hostile text.
        by_id = {leaf.data.id: leaf for leaf in node.children if isinstance(leaf.data, ObjectRow)}
        app.main.changes.move_cursor(by_id["h-03"])
        # The diff worker fails, as it should (settle re-raises that only while it is still running when
        # settle looks, which depends on the machine's load); the toast says why.
        with contextlib.suppress(WorkerFailed):
            await settle(pilot)
        await wait_until(pilot, lambda: any("cannot read" in n.message for n in app._notifications),
                         "the toast of the unreadable change")
        await settle(pilot)
        alive(app)
        assert any("cannot read [/] ␛blink" in n.message for n in app._notifications)
        # The full value of a hostile displayName, and a copy of it.
        app.main.changes.move_cursor(by_id["h-05"])
        await settle(pilot)
        await pilot.press("enter")  # to the diff
        table = app.main.diff.table
        table.move_cursor(row=next(i for i, r in enumerate(table.diff_rows) if r.path == "displayName"))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, TextDialog)
        alive(app)
        shows(app, "[bold]Rich[/] Markup")
        await pilot.press("escape", "y")
        await settle(pilot)
        assert app.clipboard == "[bold]Rich[/] Markup"  # the raw value is what is copied
        await pilot.press("J")
        await settle(pilot)
        alive(app)
        await pilot.press("escape")  # back to the table from the raw JSON
        assert app.focused is table


@pytest.mark.parametrize("size", SIZES)
async def test_queue_dialogs_restore_result_and_history(size: tuple[int, int]) -> None:
    async with running(hostile_backend(), size=size) as (app, pilot):
        toasts: list[str] = []  # every notification, kept (a toast on screen expires after its timeout)
        shown = app.notify

        def keep(message: str, *args: Any, **options: Any) -> None:
            toasts.append(message)
            shown(message, *args, **options)

        app.notify = keep  # type: ignore[method-assign]
        node = await open_group(pilot, app.main.changes, "user", "update")
        by_id = {leaf.data.id: leaf for leaf in node.children if isinstance(leaf.data, ObjectRow)}
        for object_id in ("h-00", "h-01", "h-07"):  # two of them fail, with a hostile message
            app.main.changes.move_cursor(by_id[object_id])
            await pilot.press("space")
        await settle(pilot)
        alive(app)
        queue_rows = [app.main.queue.get_row_at(i)[1] for i in range(app.main.queue.row_count)]
        assert any(display_text(f"DISABLED - {HOSTILE_CORPUS[0]}")[:10] in str(cell) for cell in queue_rows)
        await pilot.press("n")  # the report scope dialog, with hostile objects queued
        await settle(pilot)
        assert isinstance(app.screen, ScopeDialog)
        alive(app)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, PlanReviewScreen)
        alive(app)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, RestoreConfirmDialog) and app.screen.typed_word is None
        alive(app)
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, RestoreResultScreen)
        alive(app)
        shows(app, FAILURE, cut=10)
        await pilot.press("enter")  # the whole failure message
        await settle(pilot)
        assert isinstance(app.screen, TextDialog)
        shows(app, FAILURE, cut=12)
        await pilot.press("escape", "y")
        assert FAILURE in (app.clipboard or "")
        await pilot.press("escape")
        await settle(pilot)
        assert any("[/" in message for message in toasts), toasts  # the copy toast names the object literally
        await pilot.press("H")
        await settle(pilot)
        assert isinstance(app.screen, HistoryScreen)
        alive(app)
        shows(app, HOSTILE_CORPUS[-2], cut=4)
        history_filter = app.screen.query_one("#history-filter-input", Input)
        await pilot.press("slash", "left_square_bracket", "slash")
        await settle(pilot)
        alive(app)
        assert history_filter.value == "[/"
        history_filter.value = ""
        await settle(pilot)
        app.screen.query_one("#jobs-table").focus()
        await pilot.press("g", "enter")
        await settle(pilot)
        assert isinstance(app.screen, FailedChangesScreen)
        alive(app)
        shows(app, FAILURE, cut=10)


@pytest.mark.parametrize("size", SIZES)
async def test_typed_confirmation_and_soft_delete_names(size: tuple[int, int]) -> None:
    async with running(hostile_backend(), size=size) as (app, pilot):
        await open_group(pilot, app.main.changes, "user", "softDelete")
        await pilot.press("j", "space", "r")
        await settle(pilot)
        assert isinstance(app.screen, PlanReviewScreen)
        alive(app)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, RestoreConfirmDialog) and app.screen.typed_word is not None
        alive(app)
        await pilot.press(*"[/]")
        await settle(pilot)
        alive(app)
        await pilot.press("escape")
        await settle(pilot)
        alive(app)


@pytest.mark.parametrize("size", SIZES)
async def test_help_search_and_config_path(size: tuple[int, int], monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Any) -> None:
    monkeypatch.setenv("ENTRABR_HOME", str(tmp_path / "[/]home\x1b[31m"))
    async with running(hostile_backend(), size=size) as (app, pilot):
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("left_square_bracket", "slash")  # typing filters
        await settle(pilot)
        alive(app)
        search = app.screen.query_one("#help-search", Input)
        assert search.value == "[/"
        config = app.screen.query_one("#help-config")
        assert "[/]home␛" in str(config.render())
        for text in ("[red]", "[@click=app.quit]", "copy"):
            search.value = text
            await settle(pilot)
            alive(app)
        await pilot.press("escape")  # clears the search
        assert search.value == ""
        await pilot.press("escape")  # closes the help
        await settle(pilot)
        assert not isinstance(app.screen, HelpScreen)


async def test_a_notification_never_parses_markup() -> None:
    async with running(FakeBackend(), size=(80, 24)) as (app, pilot):
        for text in HOSTILE_CORPUS:
            app.main.notify(text, title=text)  # a widget's notify defaults to markup: the app refuses it
            app.notify(text, markup=True)
        await settle(pilot)
        alive(app)
        messages = [n.message for n in app._notifications]
        assert "[/" in messages and "[@click=app.quit]" in messages
        assert all(char not in m for m in messages for char in FORBIDDEN)


@pytest.mark.parametrize("size", SIZES)
async def test_config_notices_and_the_export_path_are_literal(size: tuple[int, int], tmp_path: Path) -> None:
    notice = "config.toml: [keys] [/] \x1b]52;c;ZXZpbA==\x07 is not a key [@click=app.quit]"
    app = EntrabrApp(factory_for(FakeBackend()), notices=[notice])
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        alive(app)
        assert any("[keys] [/] ␛ is not a key [@click=app.quit]" in n.message for n in app._notifications)
        dialog = ExportPathDialog("Export [/] \x1b[31mred", tmp_path / "[red]x.csv")
        app.push_screen(dialog)
        await settle(pilot)
        field = dialog.query_one("#export-path", Input)
        field.value = str(tmp_path / "a\x1b[2Jb\u202e.csv")  # pasted: kept in its display form
        await settle(pilot)
        assert field.value == str(tmp_path / "a␛b<U+202E>.csv")
        shows(app, "Export [/] ␛red", cut=14)
        alive(app)


def test_a_crash_notice_cannot_drive_the_terminal() -> None:
    text = crash_notice(RuntimeError("boom \x1b]52;c;ZXZpbA==\x07 \u202e[/]\nsecond line"), None)
    assert "boom ␛ <U+202E>[/])." in text and "second line" not in text
    assert not any(char in text for char in FORBIDDEN)


@pytest.mark.parametrize("size", SIZES)
async def test_a_failed_sign_in_message_is_literal(size: tuple[int, int]) -> None:
    async def refused() -> FakeBackend:
        raise RuntimeError("[/] sign-in refused: \x1b]52;c;ZXZpbA==\x07 [@click=app.quit]")

    app = EntrabrApp(refused)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await pilot.pause()
        alive(app)
        assert any("[/] sign-in refused: ␛ [@click=app.quit]" in n.message for n in app._notifications)
        shows(app, "Could not open the tenant: [/]", cut=30)


async def test_the_crash_guard_can_fail() -> None:
    """``alive`` means something: an exception in the app leaves an exception and a non-zero exit code."""
    app = EntrabrApp(factory_for(FakeBackend()))
    with pytest.raises(RuntimeError, match=r"boom \[/\]"):
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            app.call_later(_raise)
            await pilot.pause()
            await pilot.pause()
    assert app.return_code == 1 and app._exception is not None


def _raise() -> None:
    raise RuntimeError("boom [/]")
