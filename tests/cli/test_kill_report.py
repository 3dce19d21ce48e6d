"""``report`` killed with SIGKILL before its download, then run again: the job it started is adopted (its
download resumes), never orphaned, and never doubled — ``--fresh`` included (the download itself killed
part-way is tests/cli/test_kill_resume.py).

* ``after-post``: the POST created the job, its answer was lost and the process waits on the job list to
  find it (held): the journal has no job id;
* ``running-fresh``: the job runs (the journal has its id); ``report --fresh`` run again follows our own
  still-running fresh job instead of starting another;
* ``ended-before-download``: the job ended while no process followed it; ``report`` run again downloads it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from entrabr_tui.emulator import EmulatorServer

from .helpers import cli
from .kill_harness import HELD_MS, Control, Run, entrabr, read_db

FAST = 1e6


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    emulator = EmulatorServer(seed=7, objects=1500, drift=400, job_speed=FAST)
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()


def _intents(home: Path) -> list[tuple[str, str | None]]:
    return [(s, j) for s, j in read_db(
        home, "SELECT status, job_id FROM restore_intent WHERE kind = 'recoveryPreviewJob' ORDER BY id")]


@pytest.mark.parametrize("point", ["after-post", "running-fresh", "ended-before-download"])
def test_a_report_killed_before_its_download_is_adopted_not_doubled(
        server: EmulatorServer, entrabr_home: Path, point: str) -> None:
    fresh = ["--fresh"] if point == "running-fresh" else []
    base = ("--graph-url", server.graph_url(), "--auth", "emulator")
    latest = cli(*base, "snapshots", "--json").json()["snapshots"][0]["id"]  # named: a day passes below
    command = entrabr(server, "report", "--snapshot", latest, "--json", *fresh)
    control = Control(server)
    try:
        if point == "after-post":
            control.fault(kind="drop", count=1, match="/recoveryPreviewJobs")
            control.fault(kind="slow", delay_ms=0, count=2, match="/recovery/jobs")  # reuse check, slot check
            control.fault(kind="slow", delay_ms=HELD_MS, count=1, match="/recovery/jobs")  # the search waits
        else:
            control.post("config", {"job_speed": 1.0})  # the report job runs for an hour

        first = Run(command, entrabr_home)
        if point == "after-post":
            first.wait_for(lambda: control.fired() == [1, 2, 1] and _intents(entrabr_home) == [
                ("pending", None)], "a POST whose answer was lost, the job list held")
        else:
            first.wait_for(lambda: [s for s, _ in _intents(entrabr_home)] == ["submitted"],
                           "the report job running with its id in the journal")
        first.kill()
        [job] = control.jobs("recoveryPreviewJob")  # killed for certain before any download
        assert read_db(entrabr_home, "SELECT count(*) FROM report_page") in ([], [(0,)])

        if point != "after-post":
            control.post("config", {"job_speed": FAST})
        if point == "ended-before-download":
            control.post("advance", {"days": 1})
            assert control.jobs("recoveryPreviewJob")[0]["status"] == "successful"

        second = Run(command, entrabr_home)
        if point == "running-fresh":
            second.wait_for(lambda: job["id"] in second.stderr, "the rerun following the running job")
            control.post("advance", {"days": 1})
        code, out = second.finish()
        assert code == 0, second.stderr[-3000:]
        summary = json.loads(out)

        assert [j["id"] for j in control.jobs("recoveryPreviewJob")] == [job["id"]]  # one job, ever
        assert summary["report"]["id"] == job["id"] and summary["report"]["complete"] is True
        total = control.jobs("recoveryPreviewJob")[0]["totalChangedObjectsCalculated"]
        assert summary["totalChanges"] == summary["report"]["downloaded"] == total
        assert [s for s, _ in _intents(entrabr_home)] == ["done"]
    finally:
        control.close()
