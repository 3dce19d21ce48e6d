"""``entrabr snapshots`` and ``entrabr history`` at 80, 100 and 160 columns: no line is longer than the
width, the key columns stay, backup IDs stay whole, job IDs are shortened to a prefix commands accept, what
was left out is said on stderr, and ``--json`` never changes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from entrabr_tui.cli.history_table import history_table
from entrabr_tui.core.text import cell_width
from entrabr_tui.store import HistoryEntry

from .helpers import cli, emulator_flags, ok

WIDTHS = (80, 100, 160)


@pytest.fixture
def graph() -> Iterator[list[str]]:
    with emulator_flags() as flags:
        yield flags


def at(width: int, monkeypatch: pytest.MonkeyPatch, *argv: str) -> tuple[list[str], str]:
    """stdout lines and stderr of ``entrabr *argv`` at ``width`` columns."""
    monkeypatch.setenv("COLUMNS", str(width))
    result = ok(cli(*argv))
    return result.stdout.splitlines(), result.stderr


def test_snapshots_fit_80_100_and_160_columns(graph: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    report = ok(cli("report", *graph, "--json")).json()["report"]["id"]
    listed = ok(cli("snapshots", *graph, "--json")).json()["snapshots"]
    assert len(listed) >= 5 and listed[0]["reports"][0]["id"] == report
    quiet = graph[:-1]  # without -q: the note on stderr
    for width in WIDTHS:
        lines, err = at(width, monkeypatch, "snapshots", *quiet)
        assert max(cell_width(line) for line in lines) <= width, (width, lines)
        header = lines[0].split("  ")
        assert {"TAKEN (UTC)", "EXPIRES", "ID", "REPORT"} <= {h.strip() for h in header}, header
        assert len(lines) == 1 + len(listed)
        for line, backup in zip(lines[1:], listed, strict=True):
            assert backup["id"] in line.split()  # never shortened: --snapshot takes the whole ID
        shown = next(cell for cell in lines[1].split() if report.startswith(cell) and len(cell) >= 8)
        if width == 160:
            assert shown == report and "shortened" not in err
            assert "all, " in lines[1] and "AGE" in lines[0]
        else:
            assert len(shown) < len(report) and "report IDs shortened to" in err and "--json" in err
    monkeypatch.setenv("COLUMNS", "80")
    narrow = ok(cli("snapshots", *graph, "--json")).stdout
    monkeypatch.setenv("COLUMNS", "160")
    assert narrow == ok(cli("snapshots", *graph, "--json")).stdout  # --json is never narrowed


def test_history_fits_80_100_and_160_columns(graph: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    ok(cli("report", *graph))
    restored = cli("restore", *graph, "--apply", "--all", "--yes", "--if-moved", "accept")
    assert restored.code == 7, restored.stderr
    entries = ok(cli("history", "--json")).json()["entries"]
    jobs = [e["jobId"] for e in entries if e["jobId"]]
    assert len(set(jobs)) >= 3 and any(e["counts"] for e in entries)
    for width in WIDTHS:
        lines, err = at(width, monkeypatch, "history")
        assert max(cell_width(line) for line in lines) <= width, (width, lines)
        header = [h.strip() for h in lines[0].split("  ") if h.strip()]
        assert header[:2] == ["WHEN (UTC)", "ACTION"] and "OUTCOME" in header and "JOB" in header, header
        assert len(lines) == 1 + len(entries)
        column = lines[0].index("JOB")
        for line, entry in zip(lines[1:], entries, strict=True):
            assert line.split()[2] == entry["action"]
            job = line[column:].split()[0]
            assert job == "-" if not entry["jobId"] else (entry["jobId"].startswith(job) and len(job) >= 8)
        if width == 160:
            assert header == ["WHEN (UTC)", "ACTION", "WHO", "OUTCOME", "JOB", "COUNTS", "DETAIL"]
            assert all(any(j in line for line in lines) for j in jobs) and not err
        else:
            assert "COUNTS" not in header and "job IDs shortened to 8 characters" in err
            assert not any(j in line for j in jobs for line in lines)
            assert ("WHO" in header) is (width == 100)  # at 80 who acted goes too
            assert "COUNTS and WHO left out" in err or width == 100
    monkeypatch.setenv("COLUMNS", "80")
    narrow = ok(cli("history", "--json")).stdout
    monkeypatch.setenv("COLUMNS", "160")
    assert narrow == ok(cli("history", "--json")).stdout  # --json is never narrowed


def test_a_job_id_shortened_in_the_history_is_taken_by_commands(graph: list[str],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    report = ok(cli("report", *graph, "--fresh", "--json")).json()["report"]["id"]
    lines, _ = at(80, monkeypatch, "history", "--action", "report-created", "--limit", "1")
    prefix = lines[1][lines[0].index("JOB"):].split()[0]
    assert report.startswith(prefix) and len(prefix) < len(report)
    monkeypatch.delenv("COLUMNS")
    assert ok(cli("changes", *graph, "--report", prefix, "--json")).json()["reportId"] == report


def entry(job_id: str | None, *, identity: str = "admin@contoso.com", detail: str = "-") -> HistoryEntry:
    return HistoryEntry(id=1, at=datetime(2026, 7, 27, 22, 0, tzinfo=UTC), action="report-created",
                        tenant_id="t", identity=identity, snapshot_id=None, scope=None, counts={"changes": 3},
                        outcome="ok", detail=detail, job_id=job_id, object_count=0, object_ids=(),
                        redacted=False)


def test_job_ids_are_shortened_only_as_far_as_every_known_job_differs() -> None:
    a, b = "5ad8e7de-0aec-4aa6-aca6-35fb066da63a", "5ad8e7de-83fe-40f8-a431-00d8a47a4d42"
    now = datetime(2026, 8, 1, tzinfo=UTC)
    table = history_table([entry(a)], 80, known_ids=[a, b], now=now)  # b is elsewhere in the history
    assert table.id_length == len("5ad8e7de-") + 1 and table.rows[0][table.header.index("JOB")] == a[:10]
    assert table.rows[0][0] == "07-27 22:00Z"  # this year: no year
    wide = history_table([entry(a)], 160, known_ids=[a, b], now=now)
    assert wide.rows[0][wide.header.index("JOB")] == a and not wide.narrowing()


@pytest.mark.parametrize("width", WIDTHS)
def test_wide_and_hostile_history_text_fits_and_stays_literal(monkeypatch: pytest.MonkeyPatch, width: int
                                                              ) -> None:
    from io import StringIO

    from entrabr_tui.cli.output import Output

    monkeypatch.setenv("COLUMNS", str(width))
    hostile = entry("5ad8e7de-0aec-4aa6-aca6-35fb066da63a", identity="管理者\x1b[31m@contoso.com" * 3,
                    detail="\u202e詳細な説明" * 10)
    stdout, stderr = StringIO(), StringIO()
    table = history_table([hostile], width, known_ids=[], now=datetime(2026, 8, 1, tzinfo=UTC))
    table.show(Output(stdout, stderr, StringIO()))
    lines = stdout.getvalue().splitlines()
    assert len(lines) == 2 and max(cell_width(line) for line in lines) <= width, lines
    assert "\x1b" not in stdout.getvalue() and "\u202e" not in stdout.getvalue()
    assert "<U+202E>詳細" in lines[1] and ("管理者␛" in lines[1]) is (width != 80)  # WHO is left out at 80
    assert lines[1].split()[-1].endswith("…")  # the detail is cut, by cells
