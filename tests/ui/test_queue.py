"""Restore queue pane: grouping, exclusions with reasons, unmarking, planning errors, and exports."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from entrabr_tui.engine.export import ExportFormat
from entrabr_tui.engine.plans import SessionPlan
from entrabr_tui.store import StorePaths
from entrabr_tui.ui.screens.dialogs import ExportPathDialog

from .conftest import running, settle
from .fake_backend import FakeBackend
from .palette import wait_until
from .pilot_helpers import open_group
from .screen_text import screen_text


async def test_queue_groups_by_type_and_action_and_shows_exclusions() -> None:
    backend = FakeBackend()
    async with running(backend) as (app, pilot):
        group = await open_group(pilot, app.main.changes, "user", "update")
        synced = next(n for n in group.children if getattr(n.data, "id", "") == "u-00007")
        app.main.changes.move_cursor(synced)
        await pilot.press("space", "space")
        await settle(pilot)
        text = screen_text(app)
        assert "[on-prem]" in text and "[not recoverable]" in text
        title = str(app.main.query_one("#pane-queue").border_title)
        assert "2 queued" in title and "1 to change" in title and "1 excluded" in title
        queue = app.main.queue
        keys = [str(k.value) for k in queue.rows]
        assert keys[0] == "group-0" and "excluded" in keys
        assert "on-premises" in screen_text(app)
        await pilot.press("4")
        queue.move_cursor(row=0)
        await pilot.press("x")
        await settle(pilot)
        assert set(backend.queued) == {"u-00007"}
        assert app.main.changes.marks.marked == {"u-00007"}


async def test_queue_still_shows_when_planning_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    backend = FakeBackend()

    def refuse(**_options: object) -> SessionPlan:
        raise RuntimeError("Objects are queued from several reports; plan one report at a time.")

    async with running(backend) as (app, pilot):
        monkeypatch.setattr(backend, "plan", refuse)
        await open_group(pilot, app.main.changes, "user", "update")
        await pilot.press("j", "space")
        await settle(pilot)
        assert "cannot plan" in str(app.main.query_one("#pane-queue").border_title)
        assert any("several reports" in n.message for n in app._notifications)


async def test_export_plan_writes_a_private_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    backend = FakeBackend()
    async with running(backend) as (app, pilot):
        await open_group(pilot, app.main.changes, "user", "update")
        await pilot.press("j", "space", "space")
        await settle(pilot)
        app.export("plan", ExportFormat.JSON)
        await wait_until(pilot, lambda: isinstance(app.screen, ExportPathDialog), "the path question")
        await pilot.press("enter")  # the offered file: a new one in the data folder's exports/
        await settle(pilot)
        assert list(tmp_path.iterdir()) == []  # never the current directory
        files = list((StorePaths.default().data_dir / "exports").glob("entrabr-plan-*.json"))
        assert len(files) == 1
        assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
        document = json.loads(files[0].read_text())
        assert "entrabr.plan" in json.dumps(document)
        assert any(n.title == "Exported" for n in app._notifications)
