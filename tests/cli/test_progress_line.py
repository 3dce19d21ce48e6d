"""The progress line: redrawn in place within the terminal's width (``COLUMNS`` when its size cannot be read,
else 80; cut by cells, never wrapped, hostile text literal), a retry counted down once a second, one line
per change when stderr is no terminal."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from entrabr_tui.cli import progress
from entrabr_tui.cli.progress import ProgressPrinter, job_line
from entrabr_tui.core.model import JobKind, RecoveryStatus
from entrabr_tui.core.text import cell_width, truncate
from entrabr_tui.engine.events import JobProgress, RestoreProgress, RetryWait

from .helpers import FakeTty

T0 = datetime(2026, 7, 30, 8, 0, tzinfo=UTC)
LONG = JobProgress(job_id="0087d630-8636-4efe-aae0-88c40ad3d22d", kind=JobKind.PREVIEW, phase="loadingData",
                   text="Loading the backup data (first use of this backup)", elapsed=3.0, expected=6.0,
                   status=RecoveryStatus.LOADING_DATA)


def wait(seconds: float, attempt: int = 1) -> RetryWait:
    return RetryWait(cause="throttled", reason="HTTP 429", attempt=attempt, max_attempts=6, delay=seconds,
                     until=T0 + timedelta(seconds=seconds))


def drawn(text: str) -> list[str]:
    """The successive states of the status line."""
    return [part for part in text.split("\r\x1b[K") if part]


@pytest.mark.parametrize("columns", [80, 120])
def test_a_long_line_is_cut_to_the_terminal_width(monkeypatch: pytest.MonkeyPatch, columns: int) -> None:
    monkeypatch.setattr(progress, "terminal_width", lambda stream: columns)
    err = FakeTty()
    ticks = iter(range(100))
    printer = ProgressPrinter(err, clock=lambda: float(next(ticks)))
    assert cell_width(job_line(LONG)) > 120
    for _ in range(3):
        printer.job(LONG)
    printer.done()
    states = drawn(err.getvalue())
    assert "\n" not in err.getvalue() and len(states) == 3
    assert all(cell_width(s) == columns - 1 and s.endswith("...") for s in states)
    assert states[0].startswith("loadingData  Loading the backup data")


def test_the_width_falls_back_to_80_columns() -> None:
    err = FakeTty()  # no file descriptor: its size cannot be read
    printer = ProgressPrinter(err)
    printer.job(LONG)
    assert cell_width(drawn(err.getvalue())[0]) == 79


async def test_a_retry_counts_down_once_a_second() -> None:
    clock = {"now": T0}
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock["now"] += timedelta(seconds=seconds)

    err = FakeTty()
    ticks = iter(range(100))
    printer = ProgressPrinter(err, clock=lambda: float(next(ticks)), now=lambda: clock["now"], sleep=sleep)
    printer.job(JobProgress(job_id="j1", kind=JobKind.PREVIEW, phase="calculating", text="Calculating",
                            elapsed=3.0, retry=wait(3)))
    assert printer._ticker is not None
    await printer._ticker
    states = drawn(err.getvalue())
    found = [re.search(r"trying again (in \d+s|now)", s) for s in states]
    countdown = [m.group(1) if m else None for m in found]
    assert countdown == ["in 3s", "in 2s", "in 1s", "now"]
    assert sleeps == [1.0, 1.0, 1.0]
    assert "throttled (HTTP 429)" in states[0] and "(try 2 of 6)" in states[0]


async def test_the_next_event_ends_the_countdown() -> None:
    clock = {"now": T0}
    err = FakeTty()
    ticks = iter(range(100))
    printer: ProgressPrinter

    async def sleep(seconds: float) -> None:
        clock["now"] += timedelta(seconds=seconds)
        printer.job(JobProgress(job_id="j1", kind=JobKind.PREVIEW, phase="calculating", text="Calculating",
                                elapsed=9.0))  # the retried request went through

    printer = ProgressPrinter(err, clock=lambda: float(next(ticks)), now=lambda: clock["now"], sleep=sleep)
    printer.job(JobProgress(job_id="j1", kind=JobKind.PREVIEW, phase="calculating", text="Calculating",
                            elapsed=3.0, retry=wait(180)))
    assert printer._ticker is not None
    await printer._ticker
    states = drawn(err.getvalue())
    assert len(states) == 2 and "trying again" in states[0] and "trying again" not in states[1]


def test_off_a_terminal_each_retry_is_one_line() -> None:
    err = io.StringIO()
    printer = ProgressPrinter(err, now=lambda: T0)
    event = JobProgress(job_id="j1", kind=JobKind.PREVIEW, phase="calculating", text="Calculating",
                        elapsed=3.0)
    for item in (event, event, replace(event, retry=wait(180)), replace(event, retry=wait(180)),
                 replace(event, retry=wait(60, attempt=2)), event):
        printer.job(item)
    lines = err.getvalue().splitlines()
    assert len(lines) == 4
    assert "trying again in 3m 00s (try 2 of 6)" in lines[1] and "in 1m 00s (try 3 of 6)" in lines[2]
    assert "trying again" not in lines[3]


def test_restore_lines_show_the_retry() -> None:
    err = io.StringIO()
    printer = ProgressPrinter(err, now=lambda: T0)
    printer.restore(RestoreProgress(batch=1, batch_count=2, job_id=None, phase="queued", text="Submitting",
                                    elapsed=0.0, retry=wait(30)))
    assert err.getvalue().startswith("batch 1/2  queued  throttled (HTTP 429): trying again in 30s")


def test_fit_cuts_by_columns() -> None:
    assert truncate("abcdef", 4) == "abc…" and truncate("abc", 4) == "abc"
    assert truncate("日本語テキスト", 7) == "日本語…" and cell_width(truncate("日本語テキスト", 7)) == 7
    assert truncate("abcdef", 5, "...") == "ab..."



def test_throttling_shows_in_the_report_progress() -> None:
    import httpx

    from entrabr_tui.emulator import EmulatorServer

    from .helpers import cli

    server = EmulatorServer(seed=7, objects=200, job_speed=100_000)
    server.start()
    try:
        httpx.post(f"{server.base_url}/_emulator/faults", timeout=10,
                   json={"kind": "429", "count": 2, "retry_after": 0, "match": "recoveryPreviewJobs"},
                   ).raise_for_status()
        result = cli("report", "--graph-url", server.graph_url(), "--auth", "emulator")
    finally:
        server.stop()
    assert result.code == 0, result.stderr
    throttled = [line for line in result.stderr.splitlines() if "throttled (HTTP 429): trying again" in line]
    assert len(throttled) == 2 and "(try 2 of 6)" in throttled[0] and "(try 3 of 6)" in throttled[1]


HOSTILE = JobProgress(job_id="0087d630-8636-4efe-aae0-88c40ad3d22d\x1b]0;owned\x07", kind=JobKind.RECOVERY,
                      phase="running", text="復元中の対象オブジェクト" * 6 + "\x1b[2J\u202eevil\r\nnext",
                      elapsed=3.0, changed_objects=1234, status=RecoveryStatus.RUNNING)


def states_at(monkeypatch: pytest.MonkeyPatch, columns: int, events: list[JobProgress | RestoreProgress]
              ) -> list[str]:
    """The status line's successive states on a terminal whose size cannot be read, with ``COLUMNS`` set."""
    monkeypatch.setenv("COLUMNS", str(columns))
    err = FakeTty()
    ticks = iter(range(100))
    printer = ProgressPrinter(err, clock=lambda: float(next(ticks)))
    for event in events:
        if isinstance(event, RestoreProgress):
            printer.restore(event)
        else:
            printer.job(event)
    printer.done()
    assert "\n" not in err.getvalue()
    return drawn(err.getvalue())


@pytest.mark.parametrize("columns", [80, 81, 100, 160])
def test_columns_sets_the_width_when_the_terminal_size_cannot_be_read(monkeypatch: pytest.MonkeyPatch,
                                                                        columns: int) -> None:
    batch = RestoreProgress(batch=3, batch_count=12, job_id=LONG.job_id, phase="running", text="Restoring",
                            elapsed=3.0, ids_in_batch=20, job=replace(LONG, kind=JobKind.RECOVERY))
    longer = replace(LONG, text=LONG.text + ", " + LONG.text)
    assert cell_width(job_line(longer)) > 160
    states = states_at(monkeypatch, columns, [longer, batch, HOSTILE])
    assert len(states) == 3
    assert all(cell_width(s) <= columns - 1 for s in states), [cell_width(s) for s in states]
    assert cell_width(states[0]) == columns - 1 and states[0].endswith("...")  # the long line, cut
    assert states[1].startswith("batch 3/12 (20 objects)  loadingData")


@pytest.mark.parametrize("columns", [80, 81, 100, 160])
def test_wide_and_hostile_text_is_cut_by_cells_and_stays_literal(monkeypatch: pytest.MonkeyPatch,
                                                                 columns: int) -> None:
    (state,) = states_at(monkeypatch, columns, [HOSTILE])
    assert cell_width(state) <= columns - 1 and cell_width(state) >= columns - 2  # a wide char may not fit
    assert state.startswith("running  復元中の対象オブジェクト") and state.endswith("...")
    assert "\x1b" not in state and "\r" not in state and "\u202e" not in state
    whole = states_at(monkeypatch, 1000, [HOSTILE])[0]  # nothing cut: every mark is there, literally
    assert "オブジェクト␛<U+202E>evil␤next  job 0087d630-8636-4efe-aae0-88c40ad3d22d␛  1,234" in whole
    assert truncate(whole, columns - 1, "...") == state  # the cut is the one width-aware truncate


def test_the_terminal_width_wins_over_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress, "terminal_width", lambda stream: 120)
    (state,) = states_at(monkeypatch, 80, [LONG])
    assert cell_width(state) == 119


@pytest.mark.parametrize("columns", [80, 100])
def test_a_report_redraws_its_progress_within_the_width(monkeypatch: pytest.MonkeyPatch, columns: int
                                                        ) -> None:
    from .helpers import DEMO, cli, ok

    monkeypatch.setenv("COLUMNS", str(columns))
    err = ok(cli("report", *DEMO, "--fresh", tty_stderr=True)).stderr
    redraws = [part for line in err.split("\n") for part in line.split("\r\x1b[K")[1:] if part]
    assert redraws, err
    assert all(cell_width(part) <= columns - 1 for part in redraws), redraws
    assert all(line.startswith("\r\x1b[K") for line in err.split("\n") if "\x1b[K" in line), err
