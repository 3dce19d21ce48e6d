"""Errors a person can act on: each a message and its own exit code, never "Unexpected error (X)"; a
failed write is never reported as done; an export never replaces anything but a regular file."""

from __future__ import annotations

import errno
import io
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from entrabr_tui.cli import targets
from entrabr_tui.cli.exits import ExitCode, UsageError
from entrabr_tui.core.model import Job, JobKind, RecoveryStatus
from entrabr_tui.graph.errors import JobWaitTimeoutError
from entrabr_tui.store import StorePaths

from .helpers import DEMO, ROOT, Result, cli


def no_surprise(result: Result, code: ExitCode) -> None:
    assert result.code == code, result.stderr
    assert "Unexpected error" not in result.stderr and "unexpected error" not in result.stderr
    assert "Traceback" not in result.stderr
    assert not (StorePaths.default().data_dir / "crash-reports").exists()


@pytest.fixture
def demo_report() -> None:
    assert cli("report", *DEMO, "-q").code == 0


# -- a closed pipe ---------------------------------------------------------------------------------
class ClosedPipe(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")


def test_a_closed_pipe_ends_quietly_with_141(demo_report: None) -> None:
    err = io.StringIO()
    from entrabr_tui.cli import run

    code = run(["changes", *DEMO, "--limit", "0", "-q"], stdout=ClosedPipe(), stderr=err,
               stdin=io.StringIO())
    assert code == int(ExitCode.PIPE_CLOSED) == 141
    assert err.getvalue() == ""


def test_a_closed_pipe_in_a_real_process(demo_report: None, entrabr_home: Path) -> None:
    read, write = os.pipe()
    os.close(read)  # whoever reads went away before anything was written
    try:
        proc = subprocess.run([sys.executable, "-m", "entrabr_tui", "changes", *DEMO, "--limit", "0", "-q"],
                              stdout=write, stderr=subprocess.PIPE, text=True, timeout=120, cwd=ROOT,
                              env=dict(os.environ, ENTRABR_HOME=str(entrabr_home)), check=False)
    finally:
        os.close(write)
    assert proc.returncode == 141
    assert proc.stderr == ""


# -- read-only and full disks -----------------------------------------------------------------------
@pytest.mark.parametrize(("number", "said"), [(errno.EROFS, "the file system is read-only"),
                                              (errno.EACCES, "permission denied")])
def test_a_cache_folder_that_cannot_be_written(monkeypatch: pytest.MonkeyPatch, entrabr_home: Path,
                                               number: int, said: str) -> None:
    real_mkdir = os.mkdir
    cache = str(entrabr_home / "cache")

    def mkdir(path: Any, mode: int = 0o777, **kwargs: Any) -> None:
        if os.fspath(path).startswith(cache):
            raise OSError(number, os.strerror(number), os.fspath(path))
        real_mkdir(path, mode, **kwargs)

    monkeypatch.setattr(os, "mkdir", mkdir)
    result = cli("snapshots", *DEMO)
    no_surprise(result, ExitCode.READ_ONLY)
    assert f"Cannot write {cache}: {said}." in result.stderr and "ENTRABR_HOME" in result.stderr
    assert cli("history").code == 0  # what needs no cache still works


def test_a_full_disk_while_a_report_downloads(monkeypatch: pytest.MonkeyPatch) -> None:
    from entrabr_tui.store.report_writer import ReportWriter

    def full(*args: Any, **kwargs: Any) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(ReportWriter, "ingest_page", full)
    result = cli("report", *DEMO, "--json")
    no_surprise(result, ExitCode.DISK_FULL)
    assert "The disk is full" in result.stderr
    assert result.json()["error"]["kind"] == "disk-full"


def test_a_full_disk_while_exporting_leaves_nothing_and_reports_nothing_done(
        monkeypatch: pytest.MonkeyPatch, demo_report: None, tmp_path: Path) -> None:
    def fsync(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", fsync)
    target = tmp_path / "report.csv"
    result = cli("export", *DEMO, "--format", "csv", "--out", str(target))
    no_surprise(result, ExitCode.DISK_FULL)
    assert "Wrote" not in result.stderr
    assert list(tmp_path.iterdir()) == []  # neither the file nor its temporary
    [logged] = cli("history", "--action", "export", "--json").json()["entries"]
    assert logged["outcome"].startswith("error: OSError")


# -- a job stuck in a status this version does not know ------------------------------------------------
def test_a_stuck_job_has_its_own_exit_code(monkeypatch: pytest.MonkeyPatch) -> None:
    from entrabr_tui.engine.session import Session

    async def stuck(self: Session, *args: Any, **kwargs: Any) -> Any:
        job = Job(kind=JobKind.PREVIEW, id="job-9", status=RecoveryStatus.UNKNOWN_FUTURE_VALUE,
                  status_raw="rehydrating")
        raise JobWaitTimeoutError("The difference report job job-9 has been in status 'rehydrating' …",
                                  job=job, waited=3600.0, unknown_status=True)

    monkeypatch.setattr(Session, "ensure_report", stuck)
    result = cli("report", *DEMO)
    no_surprise(result, ExitCode.TIMEOUT)
    assert "'rehydrating'" in result.stderr


# -- input that never ends --------------------------------------------------------------------------
class Endless:
    """A stream that never ends: the same line over and over (or one line without an end)."""

    def __init__(self, line: str) -> None:
        self.line = line

    def readline(self, size: int = -1, /) -> str:
        return self.line if size < 0 else self.line[:size]

    def __iter__(self) -> Iterator[str]:
        while True:
            yield self.line


def test_an_endless_line_stops_reading() -> None:
    with pytest.raises(UsageError, match="stdin line 1 is longer than 4,096 characters; stopped reading"):
        targets.read_targets(Endless("7" * 100_000), "stdin")


def test_endless_ids_stop_at_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(targets, "MAX_IDS", 1000)
    with pytest.raises(UsageError, match="more than 1,000 IDs; stopped reading"):
        targets.read_targets(Endless("user:8f0c2b6e-0000-0000-0000-000000000001\n"), "stdin")


def test_endless_comments_stop_at_the_line_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(targets, "MAX_LINES", 5000)
    with pytest.raises(UsageError, match="more than 5,000 lines; stopped reading"):
        targets.read_targets(Endless("# nothing here\n"), "stdin")


def test_too_many_ids_on_stdin_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(targets, "MAX_IDS", 10)
    ids = "".join(f"user:8f0c2b6e-0000-0000-0000-{n:012d}\n" for n in range(50))
    result = cli("restore", "--plan", "--ids-from", "-", *DEMO, stdin=ids)
    no_surprise(result, ExitCode.USAGE)
    assert "more than 10 IDs; stopped reading" in result.stderr


# -- export --force replaces regular files only --------------------------------------------------------
def _special(kind: str, path: Path, elsewhere: Path) -> None:
    if kind == "symlink":
        elsewhere.write_text("precious", encoding="utf-8")
        path.symlink_to(elsewhere)
    elif kind == "folder":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file kinds")
@pytest.mark.parametrize("kind", ["symlink", "folder", "fifo"])
def test_export_force_never_replaces_anything_but_a_regular_file(demo_report: None, tmp_path: Path,
                                                                 kind: str) -> None:
    target, elsewhere = tmp_path / "out.json", tmp_path / "precious.txt"
    _special(kind, target, elsewhere)
    result = cli("export", *DEMO, "--out", str(target), "--force")
    no_surprise(result, ExitCode.USAGE)
    assert "an export only ever replaces a regular file" in result.stderr
    if kind == "symlink":
        assert target.is_symlink() and elsewhere.read_text(encoding="utf-8") == "precious"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX devices")
def test_export_force_refuses_a_device(demo_report: None) -> None:
    result = cli("export", *DEMO, "--out", os.devnull, "--force")
    no_surprise(result, ExitCode.USAGE)
    assert "is a device" in result.stderr


def test_export_force_replaces_a_regular_file(demo_report: None, tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_text("old", encoding="utf-8")
    assert cli("export", *DEMO, "--out", str(target)).code == ExitCode.USAGE
    assert target.read_text(encoding="utf-8") == "old"
    result = cli("export", *DEMO, "--out", str(target), "--force")
    assert result.code == 0 and f"to {target}." in result.stderr
    assert target.read_text(encoding="utf-8").startswith('{"schema":"entrabr.report/1"')
    assert oct(target.stat().st_mode & 0o777) == oct(0o600)


def test_export_without_out_goes_to_the_data_folder_and_says_where(demo_report: None,
                                                                   monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("export", *DEMO, "--format", "md", "-q")
    assert result.code == 0 and result.stdout == ""
    folder = StorePaths.default().data_dir / "exports"
    [written] = list(folder.glob("entrabr-report-*.md"))
    assert f"to {written}." in result.stderr  # said even with --quiet
    assert list(tmp_path.iterdir()) == []  # nothing in the current directory
    assert oct(folder.stat().st_mode & 0o777) == oct(0o700)
    again = cli("export", *DEMO, "--format", "md", "--json").json()
    assert again["path"] != str(written) and again["path"].startswith(str(folder))
