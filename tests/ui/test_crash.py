"""A crash is loud: an unhandled exception in the app ends it with a non-zero code and a crash report (0600,
with the traceback, without tokens) in the data folder, whose path is printed on stderr."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from textual.markup import MarkupError
from textual.worker import WorkerFailed

from entrabr_tui.store import StorePaths
from entrabr_tui.ui.app import EntrabrApp

from .conftest import SIZE, factory_for, settle
from .fake_backend import NOW, FakeBackend

ROOT = Path(__file__).resolve().parents[2]
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJ0aWQiOiJ0ZW5hbnQifQ.c2lnbmF0dXJlLWJ5dGVz"
SECRET = "opaque-Client-Secret-9f8e7d"


def reports() -> list[Path]:
    folder = StorePaths.default().data_dir / "crash-reports"
    return sorted(folder.glob("crash-*.txt")) if folder.exists() else []


def check_report(path: Path, *expected: str) -> str:
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    text = path.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in text
    for part in expected:
        assert part in text, part
    assert JWT not in text and JWT[:20] not in text and SECRET not in text
    assert "[redacted]" in text
    return text


async def test_an_exception_in_a_worker_ends_the_app_with_a_report(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_CLIENT_SECRET", SECRET)

    async def boom() -> None:
        raise RuntimeError(f"worker failed with Bearer {JWT} and {SECRET}")

    app = EntrabrApp(factory_for(FakeBackend()), clock=lambda: NOW)
    with pytest.raises(WorkerFailed, match="worker failed"):
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            app.run_worker(boom(), name="boom")  # exit_on_error (the default): the app ends
            await pilot.pause()
    assert app.return_code == 1
    [report] = reports()
    assert app.crash_report == report
    check_report(report, "RuntimeError: worker failed", "where: terminal app")


async def test_a_markup_error_in_a_message_handler_ends_the_app_with_a_report() -> None:
    app = EntrabrApp(factory_for(FakeBackend()), clock=lambda: NOW)

    def handler() -> None:
        raise MarkupError(f"Expected markup value (found '[/' in Finance [/] Team) Bearer {JWT}")

    with pytest.raises(MarkupError):
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            app.call_later(handler)  # runs as a message handler of the app
            await pilot.pause()
    assert app.return_code == 1
    [report] = reports()
    check_report(report, "MarkupError", "Finance [/] Team")


#: Runs the real command line on the demo tenant with Textual's headless driver, after making a message
#: handler of the app raise once the app has mounted.
_APP_CRASH = f"""
import sys
from entrabr_tui.ui.app import EntrabrApp

original = EntrabrApp.on_mount

async def on_mount(self):
    await original(self)

    def explode():
        raise ValueError("handler exploded; token Bearer {JWT}")

    self.call_later(explode)

EntrabrApp.on_mount = on_mount
from entrabr_tui.cli import run
sys.exit(run(sys.argv[1:]))
"""


def test_the_command_line_app_exits_non_zero_and_names_the_report(entrabr_home: Path) -> None:
    env = dict(os.environ, TEXTUAL_DRIVER="textual.drivers.headless_driver:HeadlessDriver",
               AZURE_CLIENT_SECRET=SECRET, ENTRABR_HOME=str(entrabr_home))
    # The token rides in the arguments too (an offline app on a tenant named like a token).
    proc = subprocess.run([sys.executable, "-c", _APP_CRASH, "--offline", "--tenant", JWT],
                          capture_output=True, text=True, timeout=120, cwd=ROOT, env=env, check=False)
    assert proc.returncode == 1, proc.stderr
    [report] = reports()
    assert str(report) in proc.stderr and "crash report" in proc.stderr
    assert JWT not in proc.stderr and "Traceback" not in proc.stderr  # no locals dumped on the terminal
    check_report(report, "ValueError: handler exploded", "command: entrabr --offline --tenant [redacted]")
