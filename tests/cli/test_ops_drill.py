"""``entrabr drill``: the scripted incident recovered on a built-in emulator, timed and shown by ``status``;
``--read-only`` times one full report of a tenant the options name."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from entrabr_tui.emulator import EmulatorServer

from .helpers import Result, cli

DEMO = ["--objects", "600", "--job-speed", "100000", "-q"]
STEPS = ["incident", "report", "triage", "plan", "restore", "verify"]


def run(*argv: str, expect: int = 0) -> Result:
    result = cli(*argv)
    assert result.code == expect, (result.code, result.stderr, result.stdout[-2000:])
    return result


def test_a_drill_on_the_emulator_is_timed_and_shows_in_status() -> None:
    doc = run("drill", *DEMO, "--incident", "80", "--json").json()
    assert doc["schema"] == "entrabr.drill/1" and doc["kind"] == "emulator"
    assert [s["step"] for s in doc["steps"]] == STEPS
    assert doc["outcome"] in ("verified", "verified with expected differences"), doc["detail"]
    assert doc["changes"] >= 80 and doc["restored"] > 0
    recovery = sum(s["seconds"] for s in doc["steps"] if s["step"] != "incident")
    assert doc["recoverySeconds"] == pytest.approx(recovery, abs=0.01)
    (row,) = run("--demo", *DEMO, "status", "--json").json()["tenants"]
    assert row["tenant"] == doc["tenant"] and row["lastDrill"]["outcome"] == doc["outcome"]
    text = run("drill", *DEMO[:-1], "--incident", "40").stdout
    assert all(step in text for step in STEPS) and "Recovery time (report to verification):" in text


def test_a_full_drill_runs_on_the_emulator_only() -> None:
    refused = cli("drill", "--tenant", "contoso.onmicrosoft.com")
    assert refused.code == 2 and "--read-only" in refused.stderr
    assert cli("drill", "--read-only", "--demo", "--incident", "5").code == 2


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    emulator = EmulatorServer(seed=5, objects=600, job_speed=100_000)
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()


def test_a_read_only_drill_times_one_report(server: EmulatorServer) -> None:
    flags = ["--graph-url", server.graph_url(), "--auth", "emulator", "-q"]
    doc = run("drill", "--read-only", *flags, "--json").json()
    assert doc["kind"] == "read-only" and doc["outcome"] == "measured"
    assert [s["step"] for s in doc["steps"]] == ["report"] and doc["changes"] > 0
    assert doc["restored"] == 0
    jobs = run("jobs", *flags, "--json").json()["jobs"]
    assert [j["kind"] for j in jobs] == ["recoveryPreviewJob"]
    (row,) = run("status", *flags, "--json").json()["tenants"]
    assert row["lastDrill"]["outcome"] == "measured"
