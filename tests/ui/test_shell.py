"""App shell: panes, focus keys, status line, read-only banner, help, keymap, quit."""

from __future__ import annotations

from collections.abc import Callable

from textual.widgets import Tree

from entrabr_tui.ui.bindings import ALL_GROUPS, binding_ids
from entrabr_tui.ui.screens.help import HelpScreen
from entrabr_tui.ui.widgets.change_nodes import TypeNode

from .conftest import running, settle
from .fake_backend import FakeBackend
from .pilot_helpers import open_group
from .screen_text import screen_text


async def test_four_panes_with_digits_in_titles() -> None:
    async with running() as (app, _pilot):
        text = screen_text(app)
        for title in ("1 Backups", "2 Changes", "3 Diff", "4 Restore queue"):
            assert title in text


async def test_digits_and_tab_move_between_panes() -> None:
    async with running() as (app, pilot):
        expected = {"1": "backups", "2": "tree", "3": "diff-table", "4": "queue"}
        for key, widget_id in expected.items():
            await pilot.press(key)
            assert app.focused is not None and app.focused.id == widget_id
        await pilot.press("1", "tab")
        assert app.focused is not None and app.focused.id == "tree"
        await pilot.press("shift+tab")
        assert app.focused is not None and app.focused.id == "backups"


async def test_status_line_shows_tenant_identity_and_role() -> None:
    async with running(size=(120, 40)) as (app, _pilot):  # narrower, the role's short name (test_readable)
        first_line = screen_text(app).splitlines()[0]
        assert "Contoso (demo)" in first_line
        assert "admin@contoso.example" in first_line
        assert "Entra Backup Administrator" in first_line
        assert app.main.query_one("#banner").display is False


async def test_newest_cached_report_opens_with_counts_equal_to_totals() -> None:
    backend = FakeBackend()
    async with running(backend) as (app, _pilot):
        tree = app.main.changes
        assert tree.report_id == "job-1"
        totals: dict[str, int] = {}
        for change in backend.tenant_changes:
            totals[change.entity_type_raw] = totals.get(change.entity_type_raw, 0) + 1
        shown = {n.data.entity_type: n.data.count for n in tree.root.children if isinstance(n.data, TypeNode)}
        assert shown == totals
        assert f"{len(backend.tenant_changes):,} changes" in screen_text(app)


async def test_help_is_generated_from_bindings_and_follows_the_keymap() -> None:
    async with running(keymap={"restore": "ctrl+o"}) as (app, pilot):
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        assert "ctrl+o" in text
        assert "Restore" in text
        await pilot.press("escape")
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_every_binding_has_a_unique_id() -> None:
    ids = binding_ids()
    assert len(ids) == sum(len(g.bindings) for g in ALL_GROUPS)
    assert len(ids) == len(set(ids))


async def test_remapped_key_runs_the_action() -> None:
    async with running(keymap={"pane-diff": "ctrl+o"}) as (app, pilot):
        await pilot.press("ctrl+o")
        assert app.focused is not None and app.focused.id == "diff-table"


async def test_quit_exits_when_no_job_runs() -> None:
    async with running() as (app, pilot):
        assert not app._exit
        await pilot.press("1", "q")
        await settle(pilot)
        assert app._exit


async def test_usable_at_80_by_24() -> None:
    async with running(size=(80, 24)) as (app, pilot):
        text = screen_text(app)
        lines = text.splitlines()
        assert len(lines) == 24
        assert all(len(line) <= 80 for line in lines)
        for title in ("1 Backups", "2 Changes", "3 Diff", "4 Restore queue"):
            assert title in text
        assert isinstance(app.main.changes, Tree)
        await open_group(pilot, app.main.changes, "conditionalAccessPolicy", "update")
        await pilot.press("j", "enter")
        await settle(pilot)
        text = screen_text(app)
        assert "Require MFA for admin" in text and "User 00003" in text and "Off" in text


async def test_device_code_sign_in_is_shown_in_the_app_and_closes_when_signed_in() -> None:
    import asyncio
    import threading
    from datetime import UTC, datetime

    from entrabr_tui.core.sign_in import DeviceCodePrompt
    from entrabr_tui.ui.app import EntrabrApp
    from entrabr_tui.ui.screens.sign_in import SignInScreen

    from .fake_backend import NOW

    proceed = asyncio.Event()
    backend = FakeBackend()

    async def factory(prompt: Callable[[DeviceCodePrompt], None]) -> FakeBackend:
        code = DeviceCodePrompt("https://microsoft.com/devicelogin", "[bold]AB12CD",
                                datetime(2026, 7, 28, tzinfo=UTC))
        thread = threading.Thread(target=prompt, args=(code,))
        thread.start()
        await asyncio.to_thread(thread.join)
        await proceed.wait()
        return backend

    app = EntrabrApp(factory, clock=lambda: NOW)
    async with app.run_test(size=(100, 30)) as pilot:
        for _ in range(20):
            await pilot.pause()
            if isinstance(app.screen, SignInScreen):
                break
        assert isinstance(app.screen, SignInScreen)
        text = screen_text(app)
        assert "https://microsoft.com/devicelogin" in text and "[bold]AB12CD" in text
        await pilot.press("c")
        assert app.clipboard == "[bold]AB12CD"
        proceed.set()
        await settle(pilot)
        assert not isinstance(app.screen, SignInScreen)
        assert app.backend is backend


async def test_status_line_names_a_job_started_elsewhere() -> None:
    from entrabr_tui.core.model import Job, JobKind

    backend = FakeBackend()
    backend.server_jobs = [Job.from_json({"id": "other", "status": "calculating",
                                          "jobStartDateTime": "2026-07-28T09:00:00Z"}, JobKind.PREVIEW)]
    async with running(backend, size=(140, 40)) as (app, _pilot):
        first_line = screen_text(app).splitlines()[0]
        assert "slot held by a report started elsewhere: calculating for 30m 00s" in first_line
    async with running(backend) as (app, _pilot):  # narrower, the count of the lens keeps its place
        first_line = screen_text(app).splitlines()[0]
        assert "not in report: 3 (L) · slot held by a report started" in first_line


async def test_offline_session_shows_banner_and_refuses_restore() -> None:
    backend = FakeBackend(offline=True)
    async with running(backend) as (app, pilot):
        text = screen_text(app)
        assert "OFFLINE" in text and "need Microsoft Graph" in text
        await pilot.press("r")
        await settle(pilot)
        assert any("Offline" in n.message for n in app._notifications)
        await pilot.press("1", "j", "enter")
        await settle(pilot)
        assert backend.report_calls == []
