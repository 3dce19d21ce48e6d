"""What the app says on start and in its titles about work that is not finished or not proven: an
interrupted restore (resume / review / drop), an incomplete report, another process holding the tenant."""

from __future__ import annotations

import asyncio

from entrabr_tui.ui.screens.dialogs import ConfirmDialog
from entrabr_tui.ui.screens.interrupted import InterruptedRestoreDialog

from .conftest import running, settle
from .fake_backend import FakeBackend, FakeInterrupted
from .screen_text import screen_text


async def test_an_interrupted_restore_is_offered_on_start_and_resumed() -> None:
    backend = FakeBackend(interrupted=FakeInterrupted(batch_count=3, done=1))
    async with running(backend) as (app, pilot):
        await settle(pilot)
        assert isinstance(app.screen, InterruptedRestoreDialog)
        text = screen_text(app)
        assert "An interrupted restore: 1 of 3 batches done" in text
        assert "Resume" in text and "Review" in text and "Drop" in text
        await pilot.press("v")  # review: every batch, then the same choice again
        await settle(pilot)
        assert isinstance(app.screen, InterruptedRestoreDialog) and app.screen.review
        assert "batch 2: ids: user 40 — to do" in screen_text(app)
        await pilot.press("r")
        await settle(pilot)
        assert backend.resumed == 1 and backend.dropped == 0
        assert not isinstance(app.screen, InterruptedRestoreDialog)
        assert any(n.title == "Interrupted restore" and "succeeded" in n.message for n in app._notifications)


async def test_quit_and_ctrl_c_ask_while_a_resumed_restore_runs() -> None:
    backend = FakeBackend(interrupted=FakeInterrupted(batch_count=2), restore_gate=asyncio.Event())
    async with running(backend) as (app, pilot):
        await settle(pilot)
        assert isinstance(app.screen, InterruptedRestoreDialog)
        await pilot.press("r")
        for _ in range(5):
            await pilot.pause()
        assert app.main.job_running  # the resumed restore is the running job
        assert "batch 1/2" in screen_text(app)
        for key in ("q", "ctrl+c"):
            await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, ConfirmDialog) and "A job is running" in screen_text(app)
            await pilot.press("n")
            await pilot.pause()
            assert not app._exit
        assert backend.restore_gate is not None
        backend.restore_gate.set()
        await settle(pilot)
        assert not app.main.job_running and backend.resumed == 1
        assert any(n.title == "Interrupted restore" and "succeeded" in n.message for n in app._notifications)


async def test_an_interrupted_restore_can_be_dropped_after_a_confirmation() -> None:
    backend = FakeBackend(interrupted=FakeInterrupted())
    async with running(backend) as (app, pilot):
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")  # not confirmed: asked again
        await settle(pilot)
        assert isinstance(app.screen, InterruptedRestoreDialog) and backend.dropped == 0
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert backend.dropped == 1 and backend.resumed == 0


async def test_a_reader_may_review_but_not_resume() -> None:
    backend = FakeBackend(role="reader", interrupted=FakeInterrupted())
    async with running(backend) as (app, pilot):
        await settle(pilot)
        assert isinstance(app.screen, InterruptedRestoreDialog) and not app.screen.can_resume
        await pilot.press("r")
        await settle(pilot)
        assert backend.resumed == 0 and isinstance(app.screen, InterruptedRestoreDialog)
        await pilot.press("escape")  # later: offered again next time
        await settle(pilot)
        assert not isinstance(app.screen, InterruptedRestoreDialog) and backend.interrupted is not None


async def test_nothing_is_offered_when_nothing_was_interrupted() -> None:
    async with running(FakeBackend()) as (app, _pilot):
        assert not isinstance(app.screen, InterruptedRestoreDialog)


async def test_the_status_line_says_when_another_process_holds_the_tenant() -> None:
    holder = "another entrabr (report, pid 4242 on build-7, since 10:32Z)"
    async with running(FakeBackend(holder=holder)) as (app, _pilot):
        assert f"tenant held by {holder}"[:30] in screen_text(app)  # cut: the lens's count keeps its place


async def test_an_incomplete_report_says_so_in_the_changes_title() -> None:
    backend = FakeBackend(incomplete=True)
    async with running(backend) as (app, pilot):
        await pilot.press("1", "enter")
        await settle(pilot)
        assert app.main.report is not None and not app.main.report.complete
        title = str(app.main.query_one("#pane-changes").border_title)
        assert "incomplete:" in title and "of" in title
        assert any(n.title == "Report incomplete" for n in app._notifications)


async def test_unreadable_change_objects_have_a_group_and_a_badge_of_their_own() -> None:
    from entrabr_tui.core.model import Change

    from .fake_backend import build_changes
    from .pilot_helpers import open_group

    broken = Change.from_json({"id": "u-broken", "entityTypeName": "user", "recoveryAction": "update",
                               "displayName": "Broken [red]Row", "deltaFromCurrent": "not an object"})
    assert not broken.readable
    backend = FakeBackend(tenant_changes=[*build_changes(20), broken])
    async with running(backend) as (app, pilot):
        await open_group(pilot, app.main.changes, "user", "(unreadable)")
        text = screen_text(app)
        assert "(unreadable)" in text and "[unreadable] Broken [red]Row" in text
