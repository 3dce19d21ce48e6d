"""Flows: new report with progress, restore with confirmation, failures and retry, history, quit."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from entrabr_tui.core.model import EntityNameAndIdsFilter, EntityNamesFilter
from entrabr_tui.ui.screens.dialogs import ConfirmDialog
from entrabr_tui.ui.screens.history import HistoryScreen
from entrabr_tui.ui.screens.plan_review import PlanReviewScreen
from entrabr_tui.ui.screens.report_flow import ScopeDialog
from entrabr_tui.ui.screens.restore_dialogs import RestoreConfirmDialog, RestoreResultScreen

from .conftest import running, settle
from .fake_backend import FakeBackend
from .palette import wait_until
from .pilot_helpers import finish_flows, leaves, open_group
from .screen_text import screen_text


async def test_enter_on_a_backup_without_a_report_creates_one_at_once() -> None:
    backend = FakeBackend()
    backend._reports.clear()  # nothing is open: the new report shows as it arrives
    async with running(backend) as (app, pilot):
        await pilot.press("1", "j")
        await settle(pilot)
        assert "Create report" in screen_text(app)  # the footer says what enter does on this backup
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(app.screen, ScopeDialog)  # one key: every object, no questions
        second = (await backend.snapshots())[1].snapshot.id
        assert backend.report_calls == [(second, None)]
        assert app.main.changes.report_id == "job-1"
        assert any(n.title == "Report" and "ready" in n.message for n in app._notifications)
        await pilot.press("1")
        await settle(pilot)
        assert "Open report" in screen_text(app)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_a_report_ready_in_the_background_is_offered_not_switched_to(size: tuple[int, int]) -> None:
    backend = FakeBackend()
    async with running(backend, size=size) as (app, pilot):
        tree = app.main.changes
        node = await open_group(pilot, tree, "user", "update")
        reading = leaves(node)[3]
        tree.move_cursor(next(n for n in node.children if n.data == reading))
        await pilot.press("1", "j", "n")
        await settle(pilot)
        assert isinstance(app.screen, ScopeDialog)
        await pilot.click("#create")
        await settle(pilot)
        second = (await backend.snapshots())[1].snapshot.id
        assert backend.report_calls == [(second, None)]
        # The report being read stays, with the object under the cursor; the new one is offered.
        assert app.main.report_id == tree.report_id == "job-1"
        assert tree.current_row == reading
        ready = [n for n in app._notifications if n.title == "Report"]
        assert ready and "press o" in ready[-1].message and "07-26 22:00" in ready[-1].message
        assert "o Open ready report" in screen_text(app).splitlines()[-1]
        assert not app.main.job_strip.display
        assert "slot free" in screen_text(app)
        await pilot.press("o")
        await settle(pilot)
        assert app.main.report_id == tree.report_id == "job-2"
        assert "backup of 2026-07-26 22:00" in screen_text(app)  # the pane names the backup
        assert "o Open ready report" not in screen_text(app).splitlines()[-1]


async def test_new_report_from_the_keyboard_only() -> None:
    backend = FakeBackend()
    async with running(backend) as (app, pilot):
        await pilot.press("1", "j", "n")
        await settle(pilot)
        assert isinstance(app.screen, ScopeDialog)
        await pilot.press("down", "enter")  # the radio set has focus: choose "Chosen types"
        await settle(pilot)
        assert not app.screen.query_one("#scope-type-list").disabled
        await pilot.press("tab", "space", "ctrl+s")  # tick the first type, then create from anywhere
        await settle(pilot)
        second = (await backend.snapshots())[1].snapshot.id
        assert len(backend.report_calls) == 1 and backend.report_calls[0][0] == second
        scope = backend.report_calls[0][1]
        assert isinstance(scope, EntityNamesFilter) and scope.entity_types == ("user",)


async def test_report_scoped_to_marked_objects() -> None:
    backend = FakeBackend()
    async with running(backend) as (app, pilot):
        await open_group(pilot, app.main.changes, "user", "update")
        await pilot.press("j", "space", "space", "1", "j", "n")
        await settle(pilot)
        assert isinstance(app.screen, ScopeDialog)
        await pilot.click("#scope-marked")
        await pilot.click("#create")
        await settle(pilot)
        scope = backend.report_calls[0][1]
        assert isinstance(scope, EntityNameAndIdsFilter) and scope.id_count == 2


async def test_report_progress_is_shown_while_it_runs() -> None:
    """Progress messages coalesce (only the newest is drawn), so the report holds in its download until the
    strip has shown it."""
    backend = FakeBackend(download_gate=asyncio.Event())
    seen: list[str] = []
    async with running(backend) as (app, pilot):
        strip = app.main.job_strip
        original = strip.show_text

        def spy(text: str, done: float | None, total: float | None, **options: Any) -> None:
            seen.append(text)
            original(text, done, total, **options)

        strip.show_text = spy  # type: ignore[method-assign]  # a spy that records, then draws
        await pilot.press("1", "j", "enter")
        await wait_until(pilot, lambda: any("downloading" in t.lower() for t in seen), "the download shown")
        assert backend.download_gate is not None
        backend.download_gate.set()
        await finish_flows(pilot, "report-flow", "job")
        assert backend.report_calls, "enter on a backup without a report creates one"
    assert any("downloading" in t.lower() or "Downloading" in t for t in seen)
    assert all(t.startswith("difference report") for t in seen)


async def test_restore_with_confirmation_then_history() -> None:
    backend = FakeBackend()
    async with running(backend) as (app, pilot):
        await open_group(pilot, app.main.changes, "user", "update")
        await pilot.press("j", "j", "space", "space")
        await settle(pilot)
        queued = set(backend.queued)
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, PlanReviewScreen)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, RestoreConfirmDialog)
        assert "2 objects" in screen_text(app)
        assert "the backup of 2026-07-27 22:00 UTC" in screen_text(app)  # the confirmation names the backup
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, RestoreResultScreen)
        assert "No change failed" in screen_text(app)
        assert not queued & {c.id for c in backend.tenant_changes}
        await pilot.press("escape", "H")
        await settle(pilot)
        assert isinstance(app.screen, HistoryScreen)
        text = screen_text(app)
        assert "restoreFinished" in text and "rjob-1" in text and "2 modified" in text


async def test_cancelling_the_confirmation_restores_nothing() -> None:
    backend = FakeBackend()
    async with running(backend) as (app, pilot):
        await open_group(pilot, app.main.changes, "user", "update")
        await pilot.press("j", "space")
        await settle(pilot)
        before = len(backend.tenant_changes)
        await pilot.press("r")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert len(backend.tenant_changes) == before
        assert backend.server_jobs == []


async def test_soft_delete_needs_typed_confirmation() -> None:
    backend = FakeBackend()
    async with running(backend) as (app, pilot):
        await open_group(pilot, app.main.changes, "user", "softDelete")
        await pilot.press("j", "space")
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, PlanReviewScreen)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, RestoreConfirmDialog) and app.screen.typed_word == "soft-delete"
        assert "SOFT-DELETED" in screen_text(app)
        await pilot.press("y", "enter")
        await settle(pilot)
        assert isinstance(app.screen, RestoreConfirmDialog)
        await pilot.press("backspace", *"soft-delete", "enter")
        await settle(pilot)
        assert isinstance(app.screen, RestoreResultScreen)


async def test_failed_changes_are_listed_and_can_be_retried() -> None:
    backend = FakeBackend(fail_ids=frozenset({"u-00000"}))
    async with running(backend) as (app, pilot):
        group = await open_group(pilot, app.main.changes, "user", "update")
        target = next(n for n in group.children if getattr(n.data, "id", "") == "u-00000")
        app.main.changes.move_cursor(target)
        await pilot.press("space")
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, RestoreResultScreen)
        text = screen_text(app)
        assert "1 object, 1 change failed" in text
        assert "Update failed: object is managed elsewhere." in text
        await pilot.press("R")
        await settle(pilot)
        assert isinstance(app.screen, PlanReviewScreen)  # the retry's plan, as planned
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, RestoreConfirmDialog)


async def test_a_restore_stopped_by_an_error_says_why() -> None:
    backend = FakeBackend(restore_error="Reading a job failed: [b]HTTP 503[/b]")
    async with running(backend) as (app, pilot):
        await open_group(pilot, app.main.changes, "user", "update")
        await pilot.press("j", "space", "r")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, RestoreResultScreen)
        text = screen_text(app)
        assert "Restore stopped" in text
        assert "Batch 1 of 1 stopped: Reading a job failed: [b]HTTP 503[/b]" in text
        assert any("Reading a job failed" in n.message for n in app._notifications)


async def test_quit_asks_while_a_job_runs() -> None:
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
        assert "batch 1/1" in screen_text(app)
        await pilot.press("1", "q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")
        await pilot.pause()
        assert not app._exit
        assert backend.restore_gate is not None
        backend.restore_gate.set()
        await settle(pilot)
        assert not app.main.job_running


async def test_dialogs_keep_their_buttons_visible_at_80_by_24() -> None:
    async with running(size=(80, 24)) as (app, pilot):
        await pilot.press("1", "j", "n")
        await settle(pilot)
        assert isinstance(app.screen, ScopeDialog)
        assert "Create report" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        await open_group(pilot, app.main.changes, "user", "softDelete")
        await pilot.press("j", "space", "r")
        await settle(pilot)
        assert isinstance(app.screen, PlanReviewScreen)
        assert "esc back" in screen_text(app)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, RestoreConfirmDialog) and app.screen.typed_word is not None
        text = screen_text(app)
        assert "Restore" in text and "Cancel (esc)" in text


async def test_n_starts_a_report_in_every_pane_and_brackets_move_between_matches() -> None:
    async with running() as (app, pilot):
        await pilot.press("2", "n")
        await settle(pilot)
        assert isinstance(app.screen, ScopeDialog)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("2", "slash", *"user0001", "enter")
        await settle(pilot)
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert not isinstance(app.screen, ScopeDialog)
        assert app.main.changes.current_row is not None
        await pilot.press("n")  # the same key means the same thing while a filter is active
        await settle(pilot)
        assert isinstance(app.screen, ScopeDialog)


async def test_a_retry_shows_in_the_job_strip_and_counts_down() -> None:
    from datetime import UTC, datetime, timedelta

    from textual.widgets import Static

    from entrabr_tui.core.model import JobKind
    from entrabr_tui.engine.events import JobProgress, RetryWait

    async with running(FakeBackend()) as (app, pilot):
        strip = app.main.job_strip
        wait = RetryWait(cause="throttled", reason="HTTP 429", attempt=1, max_attempts=6, delay=120.0,
                         until=datetime.now(UTC) + timedelta(seconds=120))
        event = JobProgress(job_id="j1", kind=JobKind.PREVIEW, phase="calculating",
                            text="Calculating differences", elapsed=30.0, retry=wait)
        reports = app.main.reports
        assert reports is not None
        reports.progressed(event)
        await pilot.pause()
        text = str(strip.query_one("#job-text", Static).render())
        assert "throttled (HTTP 429): trying again in" in text and "(try 2 of 6)" in text
        assert strip._countdown is not None  # redrawn every second while the wait lasts
        assert "trying again in" in strip._countdown()
        reports.progressed(JobProgress(job_id="j1", kind=JobKind.PREVIEW, phase="calculating",
                                       text="Calculating differences", elapsed=31.0))
        await pilot.pause()
        assert "Calculating differences" in str(strip.query_one("#job-text", Static).render())
        assert strip._countdown is None
