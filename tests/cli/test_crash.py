"""A command that meets an exception no rule knows exits 1 with a crash report (0600, traceback, no token)
whose path is on stderr; the message itself carries no token either."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from entrabr_tui.cli import read_commands
from entrabr_tui.engine.crash_report import scrub
from entrabr_tui.store import StorePaths

from .helpers import cli

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJ0aWQiOiJ0ZW5hbnQifQ.c2lnbmF0dXJlLWJ5dGVz"
SECRET = "opaque-Client-Secret-9f8e7d"


def _explode(*_: object) -> int:
    raise KeyError(f"lost Bearer {JWT} near {SECRET}")


def test_an_unexpected_error_writes_a_crash_report(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_CLIENT_SECRET", SECRET)
    monkeypatch.setattr(read_commands, "history", _explode)
    result = cli("history", "--object", JWT, "--json")
    assert result.code == 1
    [report] = sorted((StorePaths.default().data_dir / "crash-reports").glob("crash-*.txt"))
    assert str(report) in result.stderr and "unexpected error (KeyError" in result.stderr
    doc = json.loads(result.stdout)
    assert doc["error"]["exitCode"] == 1 and str(report) in doc["error"]["hint"]
    assert stat.S_IMODE(report.stat().st_mode) == 0o600
    text = report.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in text and "in _explode" in text
    assert "where: command line" in text
    assert "command: entrabr history --object [redacted] --json" in text
    for output in (text, result.stderr, result.stdout):
        assert JWT not in output and JWT[:16] not in output and SECRET not in output


def test_a_report_that_cannot_be_written_is_said(monkeypatch: pytest.MonkeyPatch, entrabr_home: Path) -> None:
    monkeypatch.setattr(read_commands, "history", _explode)
    (entrabr_home / "data").mkdir()
    (entrabr_home / "data" / "crash-reports").write_text("not a folder")
    result = cli("history")
    assert result.code == 1 and "No crash report could be written" in result.stderr


def test_scrub_replaces_tokens_and_secret_environment_values() -> None:
    env = {"MY_API_TOKEN": "abcdef123456", "HOME": "/home/user", "SHORT_SECRET": "ab"}
    text = scrub(f"a abcdef123456 b /home/user c Authorization: Bearer xyz.123 d {JWT}", env)
    assert "abcdef123456" not in text and "/home/user" in text and "xyz.123" not in text and JWT not in text
