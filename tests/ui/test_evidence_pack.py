""""Write evidence pack" in the command palette: it asks since when (the time of the open report's backup is
offered, else 7 days ago; a time that cannot be read is refused in the dialog, the text kept) and the folder
(a new one in the data folder is offered, never the current directory), writes the pack of that window in a
worker with its steps and the audit log's waits (another entrabr on the tenant, the request budget) on the
job strip, then says the folder, literally; a folder that cannot take the pack is said as an error and
nothing is left behind."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Label, Static

from entrabr_tui.engine.audit_types import AuditProgress
from entrabr_tui.engine.evidence import EVIDENCE_STEPS, MANIFEST, verify_manifest
from entrabr_tui.store import StorePaths
from entrabr_tui.ui.app import EntrabrApp
from entrabr_tui.ui.screens.evidence_dialog import PACK_CONTENTS, EvidencePackDialog

from .conftest import running, settle
from .demo_app import demo
from .fake_backend import NOW, FakeBackend
from .palette import run_command, wait_until

pytestmark = pytest.mark.ui


def asked(app: EntrabrApp) -> bool:
    """The question (since when, which folder) is on screen, its fields mounted."""
    return isinstance(app.screen, EvidencePackDialog) and bool(app.screen.query("#evidence-folder"))


async def write_pack(app: EntrabrApp, pilot: Pilot[Any], folder: str | None = None) -> Path:
    """Run the palette entry, answer the folder question (``folder``, else the one offered); returns the
    folder offered."""
    await run_command(pilot, "write evidence pack", "Write evidence pack")
    await wait_until(pilot, lambda: asked(app), "the folder question")
    field = app.screen.query_one("#evidence-folder", Input)
    offered = Path(field.value)
    if folder is not None:
        field.value = folder
    await pilot.press("enter")
    await wait_until(pilot, lambda: any(n.title.startswith("Evidence pack") for n in app._notifications),
                     "the evidence pack's outcome")
    await settle(pilot)
    return offered


@pytest.mark.emulator
async def test_the_pack_is_written_to_a_new_folder_in_the_data_folder(monkeypatch: pytest.MonkeyPatch,
                                                                        tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    async with demo("admin") as (app, pilot, session):
        steps: list[str] = []
        strip = app.main.job_strip
        shown = strip.show_text

        def show_text(text: str, done: float | None, total: float | None, **kw: Any) -> None:
            steps.append(text)
            shown(text, done, total, **kw)

        monkeypatch.setattr(strip, "show_text", show_text)
        folder = await write_pack(app, pilot)
        assert folder.parent == StorePaths.default().data_dir / "evidence"
        assert folder.name.startswith("evidence-") and session.tenant
        assert (folder / MANIFEST).is_file() and verify_manifest(folder) == []
        assert sorted(p.name for p in folder.iterdir()) == ["evidence.html", "evidence.json", "evidence.md",
                                                            MANIFEST]
        assert steps == [f"Evidence pack: {text}" for text in EVIDENCE_STEPS]  # each step shown, in order
        assert not strip.display  # and the strip gone once written
        [done] = [n for n in app._notifications if n.title == "Evidence pack written"]
        assert str(folder) in done.message and n_files(done.message) == 4
        assert list(tmp_path.iterdir()) == []  # nothing in the current directory
        [logged] = [e for e in session.history(limit=None) if e.action == "export"]
        assert str(folder) in (logged.detail or "") and logged.outcome == "ok"


def n_files(message: str) -> int:
    return int(message.split(" ", 1)[0])


async def test_a_folder_that_cannot_take_the_pack_is_said(tmp_path: Path) -> None:
    backend = FakeBackend()
    not_a_folder = tmp_path / "notes.txt"
    not_a_folder.write_text("kept", encoding="utf-8")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("kept", encoding="utf-8")
    async with running(backend) as (app, pilot):
        await write_pack(app, pilot, str(not_a_folder / "pack [red]x"))
        [failed] = [n for n in app._notifications if n.title == "Evidence pack not written"]
        assert failed.severity == "error"
        assert f"Cannot make the folder {not_a_folder / 'pack [red]x'}" in failed.message  # literal path
        assert not app.main.job_strip.display
        app._notifications.clear()
        await write_pack(app, pilot, str(busy))
        [refused] = [n for n in app._notifications if n.title == "Evidence pack not written"]
        assert "is not an empty folder" in refused.message
        assert sorted(p.name for p in tmp_path.iterdir()) == ["busy", "notes.txt"]
        assert os.listdir(busy) == ["keep.txt"]
        logged = [e for e in backend.history() if e.action == "export"]
        assert len(logged) == 2 and all((e.outcome or "").startswith("error") for e in logged)


async def test_cancelling_writes_nothing(tmp_path: Path) -> None:
    backend = FakeBackend()
    async with running(backend) as (app, pilot):
        await run_command(pilot, "write evidence pack", "Write evidence pack")
        await wait_until(pilot, lambda: asked(app), "the folder question")
        offered = Path(app.screen.query_one("#evidence-folder", Input).value)
        await pilot.press("escape")
        await settle(pilot)
        assert not offered.exists() and not any(n.title.startswith("Evidence") for n in app._notifications)


# -- the window: since when ----------------------------------------------------------------------------------

def since_field(app: EntrabrApp) -> Input:
    return app.screen.query_one("#evidence-since", Input)


def window_line(app: EntrabrApp) -> str:
    return str(app.screen.query_one("#evidence-window", Static).render())


def dialog_text(app: EntrabrApp) -> str:
    return " ".join(str(label.render()) for label in app.screen.query(Label))


async def ask(app: EntrabrApp, pilot: Pilot[Any]) -> None:
    await run_command(pilot, "write evidence pack", "Write evidence pack")
    await wait_until(pilot, lambda: asked(app), "the evidence pack's question")


async def test_the_window_offered_starts_at_the_open_reports_backup(tmp_path: Path) -> None:
    backend = FakeBackend()
    async with running(backend) as (app, pilot):
        report = app.open_report
        assert report is not None
        backup = app.main.backup_time(report.snapshot_id)
        assert backup is not None and backup == NOW - timedelta(hours=11, minutes=30)
        await ask(app, pilot)
        assert since_field(app).value == "2026-07-27T22:00:00Z"
        assert "Offered: the time of the backup of 2026-07-27 22:00 UTC, the open report's backup." \
            in dialog_text(app)
        assert window_line(app) == ("The pack covers the recoveries from 2026-07-27 22:00:00 UTC to now "
                                    f"(11h 30m): {PACK_CONTENTS}.")
        app.screen.query_one("#evidence-folder", Input).value = str(tmp_path / "pack")
        await pilot.press("enter")
        await wait_until(pilot, lambda: bool(backend.evidence_since), "the pack")
        assert backend.evidence_since == [backup]


async def test_without_a_backup_the_last_seven_days_are_offered(tmp_path: Path) -> None:
    backend = FakeBackend(backups=0, cached=False)
    async with running(backend) as (app, pilot):
        await ask(app, pilot)
        assert since_field(app).value == "2026-07-21T09:30:00Z"
        assert "Offered: 7 days ago (no backup is open)." in dialog_text(app)
        assert "to now (7d 00h)" in window_line(app)


@pytest.mark.parametrize(("typed", "since"), [
    ("2026-07-20T08:00Z", datetime(2026, 7, 20, 8, tzinfo=UTC)),
    ("2026-07-25", datetime(2026, 7, 25, tzinfo=UTC)),
    ("36h", NOW - timedelta(hours=36)),
])
async def test_the_window_typed_is_the_one_the_pack_covers(tmp_path: Path, typed: str, since: datetime
                                                           ) -> None:
    backend = FakeBackend()
    async with running(backend) as (app, pilot):
        await ask(app, pilot)
        app.screen.query_one("#evidence-folder", Input).value = str(tmp_path / "pack")
        since_field(app).focus()
        since_field(app).value = ""
        await pilot.press(*typed)
        assert window_line(app).startswith(
            f"The pack covers the recoveries from {since:%Y-%m-%d %H:%M:%S} UTC to now (")
        await pilot.press("enter")
        await wait_until(pilot, lambda: any(n.title == "Evidence pack written" for n in app._notifications),
                         "the pack")
        assert backend.evidence_since == [since]
        [done] = [n for n in app._notifications if n.title == "Evidence pack written"]
        assert done.message.endswith(f"the recoveries since {since:%Y-%m-%dT%H:%M:%S}Z")
        assert (tmp_path / "pack" / MANIFEST).is_file()


@pytest.mark.parametrize(("typed", "why"), [
    ("last [b]tuesday", "Since: cannot read 'last [b]tuesday' as a time. Use a UTC date/time"),
    ("2026-08-01", "Since: 2026-08-01T00:00:00Z is in the future: the pack would hold nothing."),
    ("", "Since: type when the window starts."),
])
async def test_a_time_that_cannot_be_read_is_refused_and_kept(tmp_path: Path, typed: str, why: str) -> None:
    backend = FakeBackend()
    async with running(backend) as (app, pilot):
        await ask(app, pilot)
        folder = str(tmp_path / "pack")
        app.screen.query_one("#evidence-folder", Input).value = folder
        since_field(app).focus()
        since_field(app).value = ""
        await pilot.press(*typed)
        await pilot.press("enter")
        await settle(pilot)
        assert asked(app)                                                  # still asking
        assert why in window_line(app)                                     # why, literally
        assert since_field(app).value == typed and since_field(app).has_focus
        assert app.screen.query_one("#evidence-folder", Input).value == folder
        assert backend.evidence_since == [] and not (tmp_path / "pack").exists()
        since_field(app).value = "2d"                                      # put right, it goes on
        await pilot.press("enter")
        await wait_until(pilot, lambda: bool(backend.evidence_since), "the pack")
        assert backend.evidence_since == [NOW - timedelta(days=2)]


# -- the read of the audit log on the job strip --------------------------------------------------------------

HELD = ("another entrabr (restore, pid 4242 on build-7, since 09:12Z) is writing to this tenant's cache; "
        "waiting…")


async def test_the_wait_for_the_tenant_and_the_audit_logs_budget_reach_the_job_strip(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    gate = asyncio.Event()
    budget = "Waiting 12s for the audit log's request budget (5 per 10 s)"
    pages = "Reading the audit log 07-27 22:00 – 07-28 09:30: 1,000 records (1,000 new), 1 requests"
    backend = FakeBackend(evidence_gate=gate, evidence_audit=[
        AuditProgress("waiting", HELD, tenant_held=True),
        AuditProgress("waiting", "Waiting 0s for the audit log's request budget (5 per 10 s)", wait=0.2),
        AuditProgress("reading", pages, pages=1, requests=1, received=1000, stored=1000),
        AuditProgress("waiting", budget, wait=12.0),
        AuditProgress("waiting", HELD, tenant_held=True),
    ])
    async with running(backend) as (app, pilot):
        strip = app.main.job_strip
        shown: list[str] = []
        show_text = strip.show_text

        def recorded(text: str, done: float | None, total: float | None, **kw: Any) -> None:
            shown.append(text)
            show_text(text, done, total, **kw)

        monkeypatch.setattr(strip, "show_text", recorded)
        await ask(app, pilot)
        app.screen.query_one("#evidence-folder", Input).value = str(tmp_path / "pack")
        await pilot.press("enter")
        held = f"Evidence pack: Tenant {backend.tenant}: {HELD}"
        await wait_until(pilot, lambda: len(shown) == 5, "the audit log's progress")
        assert shown == [f"Evidence pack: {EVIDENCE_STEPS[0]}", held, f"Evidence pack: {pages}",
                         f"Evidence pack: {budget}", held]                    # the short wait left out
        await pilot.pause()
        assert strip.display and str(strip.query_one("#job-text", Static).render()) == held
        gate.set()
        await wait_until(pilot, lambda: any(n.title == "Evidence pack written" for n in app._notifications),
                         "the pack")
        assert shown[-1] == f"Evidence pack: {EVIDENCE_STEPS[-1]}" and not strip.display
