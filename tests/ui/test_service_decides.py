"""The service decides what a sign-in may do: the app offers what the role definition allows, tries, and
shows (and logs) a refusal without leaving anything half-made behind."""

from __future__ import annotations

import pytest

from entrabr_tui.graph import errors as graph_errors
from entrabr_tui.ui.screens.report_flow import ScopeDialog
from entrabr_tui.ui.screens.restore_dialogs import RestoreConfirmDialog

from .conftest import running, settle, take_the_plan
from .fake_backend import FakeBackend
from .pilot_helpers import open_group
from .screen_text import screen_text

SIZES = [(80, 24), (120, 40)]


@pytest.mark.parametrize("size", SIZES)
async def test_reader_creates_reports_and_is_told_restores_need_the_administrator(
    size: tuple[int, int]
) -> None:
    backend = FakeBackend(role="reader")
    async with running(backend, size=size) as (app, pilot):
        text = screen_text(app)
        flat = " ".join(text.split())
        assert "NO RESTORE" in text and "READ-ONLY" not in text
        assert "restores need the Entra Backup Administrator role" in flat  # the banner wraps, never clips
        footer = text.splitlines()[-1]
        assert "n New report" in footer and "r Restore" in footer
        await pilot.press("1", "j", "n")  # a report of another backup: offered, and it runs
        await settle(pilot)
        assert isinstance(app.screen, ScopeDialog)
        await pilot.press("ctrl+s")
        await settle(pilot)
        second = (await backend.snapshots())[1].snapshot.id
        assert backend.report_calls == [(second, None)]


@pytest.mark.parametrize("size", SIZES)
async def test_a_refused_restore_is_shown_with_the_role_and_changes_nothing(size: tuple[int, int]) -> None:
    backend = FakeBackend(role="reader")
    async with running(backend, size=size) as (app, pilot):
        await open_group(pilot, app.main.changes, "user", "update")
        await pilot.press("j", "space")
        await settle(pilot)
        queued = dict(backend.queued)
        await pilot.press("r")
        await settle(pilot)
        await take_the_plan(pilot)
        assert isinstance(app.screen, RestoreConfirmDialog)  # tried, not refused on the token
        assert "expected to refuse" in app.screen.body.plain
        await pilot.press("y")
        await settle(pilot)
        refused = [n for n in app._notifications if n.title == "The service refused the restore"]
        assert refused and "Entra Backup Administrator" in refused[0].message
        assert not app.main.job_running and not app.main.job_strip.display
        assert backend.queued == queued and backend.server_jobs == []
        assert backend.log[0].action == "restore-finished" and backend.log[0].outcome == "refused"


@pytest.mark.parametrize("size", SIZES)
async def test_a_refused_report_leaves_no_phantom_report(size: tuple[int, int],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    backend = FakeBackend()

    async def refuse(*_args: object, **_options: object) -> None:
        raise graph_errors.for_status(graph_errors.ResponseInfo(403, "Forbidden", "Requires the role."),
                                      graph_errors.CREATE_PREVIEW)

    async with running(backend, size=size) as (app, pilot):
        shown = app.main.report_id
        monkeypatch.setattr(backend, "ensure_report", refuse)
        await pilot.press("1", "j", "enter")
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert any(n.title == "The service refused the report" for n in app._notifications)
        # The report being read stays; no "did not finish" report, no job, no progress.
        assert app.main.report_id == shown and app.main.changes.report_id == shown
        assert not app.main.job_running and not app.main.job_strip.display
        text = screen_text(app)
        assert "did not finish" not in text and "Waiting" not in text


async def test_a_refused_report_with_nothing_open_says_so() -> None:
    backend = FakeBackend()
    backend._reports.clear()  # nothing cached: the pane waits for the new report

    async def refuse(*_args: object, **_options: object) -> None:
        raise graph_errors.for_status(graph_errors.ResponseInfo(403, "Forbidden", "Requires the role."),
                                      graph_errors.CREATE_PREVIEW)

    backend.ensure_report = refuse  # type: ignore[method-assign,assignment]  # the service refuses every report
    async with running(backend, size=(80, 24)) as (app, pilot):
        assert "No difference report is open" in " ".join(str(n.label)
                                                          for n in app.main.changes.root.children)
        await pilot.press("n")
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        text = " ".join(str(n.label) for n in app.main.changes.root.children)
        assert "refused" in text and "Waiting" not in text and "did not finish" not in text
        assert app.main.report_id is None
