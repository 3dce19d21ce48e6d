"""``entrabr jobs`` at 80, 100 and 160 columns: no line is longer than the width, the key columns stay, IDs
are shortened to a prefix every command accepts (an ambiguous one is refused), ``--json`` never changes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from entrabr_tui.cli.common import full_job_id
from entrabr_tui.cli.exits import UsageError
from entrabr_tui.cli.fitted_table import short_id_length
from entrabr_tui.core.text import cell_width

from .helpers import cli, emulator_flags, ok


@pytest.fixture
def graph() -> Iterator[list[str]]:
    with emulator_flags() as flags:
        yield flags


def table(graph: list[str], monkeypatch: pytest.MonkeyPatch, width: int) -> list[str]:
    monkeypatch.setenv("COLUMNS", str(width))
    return ok(cli("jobs", *graph)).stdout.splitlines()


def test_jobs_fit_80_100_and_160_columns(graph: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    ok(cli("report", *graph))
    restored = cli("restore", *graph, "--apply", "--all", "--yes", "--if-moved", "accept")
    assert restored.code == 7, restored.stderr  # some changes fail: the counts have something to show
    listed = ok(cli("jobs", *graph, "--json")).json()["jobs"]
    assert {j["kind"] for j in listed} == {"recoveryPreviewJob", "recoveryJob"} and len(listed) >= 3
    ids = [j["id"] for j in listed]

    for width in (80, 100, 160):
        lines = table(graph, monkeypatch, width)
        assert max(cell_width(line) for line in lines) <= width, (width, lines)
        header = lines[0].split()
        assert header[:3] == ["KIND", "ID", "STATUS"] and "STARTED" in header, (width, header)
        assert len(lines) == 1 + len(ids)
        for line, job in zip(lines[1:], listed, strict=True):
            kind, shown, status = line.split()[:3]
            assert kind == ("report" if job["kind"] == "recoveryPreviewJob" else "restore")
            assert job["id"].startswith(shown) and len(shown) >= 8 and status == job["status"]
        if width == 160:  # everything, IDs whole
            assert header[-5:] == ["TOOK", "CHANGED", "MODIFIED", "FAILED", "SCOPE"]
            assert all(any(i in line for line in lines) for i in ids)
        else:  # one count column, IDs by their start
            assert "OK/FAILED/TOTAL" in header and "CHANGED" not in header
            assert not any(i in line for i in ids for line in lines)
        assert ("SCOPE" in header) is (width != 80)  # at 80 the scope goes first
        restore = next(j for j in listed if j["kind"] == "recoveryJob" and j["totalFailedChanges"])
        row = next(line for line in lines if line.split()[1] in restore["id"])
        if width != 160:
            counts = f"{restore['totalObjectsModified']}/{restore['totalFailedChanges']}/" \
                     f"{restore['totalChangedObjects']}"
            assert counts in row.split(), row

    monkeypatch.setenv("COLUMNS", "80")
    narrow = ok(cli("jobs", *graph, "--json"))
    monkeypatch.setenv("COLUMNS", "160")
    assert narrow.stdout == ok(cli("jobs", *graph, "--json")).stdout  # --json is never narrowed
    note = cli("jobs", *graph[:-1]).stderr
    assert "job IDs shortened" not in note  # at 160 nothing is left out
    monkeypatch.setenv("COLUMNS", "80")
    note = cli("jobs", *graph[:-1]).stderr
    assert "job IDs shortened to 8 characters" in note and "SCOPE left out" in note


def test_a_shown_prefix_is_taken_wherever_a_job_id_is(graph: list[str], monkeypatch: pytest.MonkeyPatch
                                                      ) -> None:
    report = ok(cli("report", *graph, "--json")).json()["report"]["id"]
    row = next(line for line in table(graph, monkeypatch, 80) if report.startswith(line.split()[1]))
    prefix = row.split()[1]
    assert len(prefix) < len(report)
    monkeypatch.delenv("COLUMNS")
    assert ok(cli("changes", *graph, "--report", prefix, "--json")).json()["reportId"] == report
    assert ok(cli("changes", *graph, "--report", prefix.upper(), "--json")).json()["reportId"] == report
    plan = ok(cli("restore", *graph, "--plan", "--all", "--report", prefix, "--json")).json()
    assert plan["reportId"] == report
    exported = ok(cli("export", *graph, "--report", prefix, "--out", "-")).json()
    assert exported["report"]["id"] == report
    unknown = cli("changes", *graph, "--report", "ffffffff-no-such-job")
    assert unknown.code == 8 and "ffffffff-no-such-job" in unknown.stderr


class _Jobs:
    """The two lists :func:`full_job_id` reads, as a session would give them."""

    def __init__(self, listed: list[str], cached: list[str]) -> None:
        self.listed, self.cached = listed, cached

    async def job_records(self, *, refresh: bool = True) -> list[Any]:
        assert not refresh  # naming a job never reads the service's list again
        return [SimpleNamespace(job=SimpleNamespace(id=i)) for i in self.listed]

    def reports(self) -> list[Any]:
        return [SimpleNamespace(id=i) for i in self.cached]


async def test_an_ambiguous_prefix_is_refused_with_the_jobs_it_names() -> None:
    a, b = "5ad8e7de-0aec-4aa6-aca6-35fb066da63a", "5ad8e7de-83fe-40f8-a431-00d8a47a4d42"
    c = "cc240201-fc4d-48b1-8db1-52e6f40ae016"
    session: Any = _Jobs([a, c], [b])
    with pytest.raises(UsageError) as refused:
        await full_job_id(session, "5ad8e7de")
    assert refused.value.code == 2 and a in refused.value.message and b in refused.value.message
    assert "ambiguous" in refused.value.message and refused.value.hint == "Give more of the ID."
    assert await full_job_id(session, "5ad8e7de-0") == a
    assert await full_job_id(session, "CC24") == c  # case is ignored
    assert await full_job_id(session, b.upper()) == b
    assert await full_job_id(session, "cc2") == "cc2"  # too short to be taken as a prefix
    assert await full_job_id(session, "12") == "12"  # a local report number stays as it is
    assert short_id_length([a, b, c]) == len("5ad8e7de-") + 1
    assert short_id_length([a, c]) == 8


def test_dates_drop_the_year_only_when_it_is_this_year() -> None:
    from entrabr_tui.cli.fitted_table import time_text

    when = datetime(2026, 7, 27, 22, 0, tzinfo=UTC)
    assert time_text(when, full=False, year=2026) == "07-27 22:00Z"
    assert time_text(when, full=False, year=2027) == "2026-07-27 22:00Z"
    assert time_text(when, full=True, year=2026) == "2026-07-27 22:00Z"
    assert time_text(None, full=False, year=2026) == "-"
