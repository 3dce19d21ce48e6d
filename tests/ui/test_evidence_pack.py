""""Write evidence pack" in the command palette: it asks for the folder (a new one in the data folder is
offered, never the current directory), writes the pack in a worker with its steps on the job strip, then
says the folder, literally; a folder that cannot take the pack is said as an error and nothing is left
behind."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from entrabr_tui.engine.evidence import EVIDENCE_STEPS, MANIFEST, verify_manifest
from entrabr_tui.store import StorePaths
from entrabr_tui.ui.app import EntrabrApp
from entrabr_tui.ui.screens.dialogs import ExportPathDialog

from .conftest import running, settle
from .demo_app import demo
from .fake_backend import FakeBackend
from .palette import run_command, wait_until

pytestmark = pytest.mark.ui


def asked(app: EntrabrApp) -> bool:
    """The folder question is on screen, its field mounted."""
    return isinstance(app.screen, ExportPathDialog) and bool(app.screen.query("#export-path"))


async def write_pack(app: EntrabrApp, pilot: Pilot[Any], folder: str | None = None) -> Path:
    """Run the palette entry, answer the folder question (``folder``, else the one offered); returns the
    folder offered."""
    await run_command(pilot, "write evidence pack", "Write evidence pack")
    await wait_until(pilot, lambda: asked(app), "the folder question")
    field = app.screen.query_one("#export-path", Input)
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
        offered = Path(app.screen.query_one("#export-path", Input).value)
        await pilot.press("escape")
        await settle(pilot)
        assert not offered.exists() and not any(n.title.startswith("Evidence") for n in app._notifications)
