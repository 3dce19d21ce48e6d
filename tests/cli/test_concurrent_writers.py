"""Two ``entrabr report`` processes on one home against one tenant: the second waits for the first (saying
who holds the tenant), both end correctly, and the service ran one report job."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from entrabr_tui.emulator import EmulatorServer

from .kill_harness import Control, Run, cache_file, entrabr, read_db


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    # The report job runs until the test advances time.
    emulator = EmulatorServer(seed=4, objects=1500, drift=300, job_speed=1.0)
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()


def test_two_report_processes_on_one_home_end_with_one_report_job(server: EmulatorServer,
                                                                   entrabr_home: Path) -> None:
    control = Control(server)
    try:
        command = entrabr(server, "report", "--json")
        first = Run(command, entrabr_home)
        first.wait_for(lambda: [s for (s,) in read_db(entrabr_home, "SELECT status FROM restore_intent")]
                       == ["submitted"], "the first process's report job running")
        path = cache_file(entrabr_home)
        assert path is not None
        holder = json.loads(Path(f"{path}.lock").read_text())
        assert holder["command"] == "report" and holder["pid"] == first.proc.pid and holder["host"]

        second = Run(command, entrabr_home)
        waiting = f"another entrabr (report, pid {first.proc.pid}"
        says = "is downloading a report of this tenant; waiting"
        second.wait_for(lambda: any(waiting in line and says in line for line in second.err),
                        "the second process waiting for the first")
        control.post("advance", {"days": 1})  # the report job ends; the first downloads it

        code, out = first.finish()
        assert code == 0, first.stderr[-2000:]
        code2, out2 = second.finish()
        assert code2 == 0, second.stderr[-2000:]
        one, two = json.loads(out), json.loads(out2)

        [job] = control.jobs("recoveryPreviewJob")
        assert one["report"]["id"] == two["report"]["id"] == job["id"]
        assert two["report"]["reused"] is True and one["report"]["complete"] and two["report"]["complete"]
        assert one["totalChanges"] == two["totalChanges"] == job["totalChangedObjectsCalculated"]
        assert "Traceback" not in first.stderr + second.stderr
        assert Path(f"{path}.lock").read_text() == ""  # released: nobody is named any more
    finally:
        control.close()
