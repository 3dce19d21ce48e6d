"""``restore --apply`` killed with SIGKILL at each point of a batch, then run again: exactly one recovery job
per batch, ever, and the history names every job that did the work.

The restore has two batches (150 objects: 100 + 50). The first run is killed while batch 1 is at a point
made certain by the emulator's fault knobs and the cache's journal, never by timing:

* ``before-post``: the intent is written, the POST answered 503 with a 300 s Retry-After (the service
  created nothing) and the process waits to send it again;
* ``after-post``: the POST created the job but its answer was lost (a dropped connection) and the process
  waits on the job list to find it (held), so the journal has no job id;
* ``mid-job``: the job runs (the journal has its id); the rerun follows it while it still runs;
* ``after-job-end``: as ``mid-job``, but the job ends before the rerun: it ended while nobody followed it
  and the journal still says "submitted".

The same command run again resumes the interrupted restore: batch 1 is followed or (only when the job
list proves the service never received it) sent, batch 2 is sent; nothing is sent twice.
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
OBJECTS = 150  # two batches: 100 + 50


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    emulator = EmulatorServer(seed=5, objects=1500, drift=600, job_speed=FAST)  # about 590 user changes
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()


def _ids_file(server: EmulatorServer, home: Path) -> tuple[Path, list[str]]:
    """A report in the cache, and the ids of 150 recoverable changed users written to a file."""
    base = ("--graph-url", server.graph_url(), "--auth", "emulator")
    assert cli(*base, "report", "--json").code == 0
    listed = cli(*base, "changes", "--type", "user", "--action", "update", "--recoverable", "yes", "--limit",
                 str(OBJECTS), "--json")
    assert listed.code == 0, listed.stderr
    ids = [row["id"] for row in listed.json()["changes"]]
    assert len(ids) == OBJECTS
    path = home / "ids.txt"
    path.write_text("\n".join(ids) + "\n")
    return path, ids


def _intents(home: Path) -> list[tuple[int | None, str, str | None]]:
    """``(batch, status, job id)`` of every restore journal entry, oldest first."""
    return [(b, s, j) for b, s, j in read_db(
        home, "SELECT batch, status, job_id FROM restore_intent WHERE kind = 'recoveryJob' ORDER BY id")]


def _batch_ids(job: dict[str, object]) -> set[str]:
    criteria = job["filteringCriteria"]
    assert isinstance(criteria, dict)
    return {i for value in criteria["filterValues"] for i in value["entityIds"]}


@pytest.mark.parametrize("point", ["before-post", "after-post", "mid-job", "after-job-end"])
def test_a_restore_killed_at_any_point_of_a_batch_ends_with_one_job_per_batch(
        server: EmulatorServer, entrabr_home: Path, point: str) -> None:
    ids_file, ids = _ids_file(server, entrabr_home)
    # The checks around the restore (previews before and after) are not what is killed here.
    command = entrabr(server, "restore", "--apply", "--ids-from", str(ids_file), "--yes", "--json",
                      "--no-recheck", "--no-verify")
    control = Control(server)
    try:
        if point == "before-post":
            control.fault(kind="503", retry_after=300, count=1, match="/recoveryJobs")
        elif point == "after-post":
            control.fault(kind="drop", count=1, match="/recoveryJobs")
            control.fault(kind="slow", delay_ms=0, count=1, match="/recovery/jobs")  # the slot check passes
            control.fault(kind="slow", delay_ms=HELD_MS, count=1, match="/recovery/jobs")  # the search waits
        else:
            control.post("config", {"job_speed": 1.0})  # the batch runs for hours: it is killed mid-job

        first = Run(command, entrabr_home)
        if point == "before-post":
            first.wait_for(lambda: control.fired() == [1] and _intents(entrabr_home) == [
                (1, "pending", None)], "a POST refused with 503 and waiting to be sent again")
        elif point == "after-post":
            first.wait_for(lambda: control.fired() == [1, 1, 1] and _intents(entrabr_home) == [
                (1, "pending", None)], "a POST whose answer was lost, the job list held")
        else:
            first.wait_for(lambda: [s for _, s, _ in _intents(entrabr_home)] == ["submitted"],
                           "batch 1 running with its job id in the journal")
        first.kill()

        jobs = control.jobs("recoveryJob")
        assert len(jobs) == (0 if point == "before-post" else 1)  # killed for certain at that point
        if point in ("mid-job", "after-job-end"):
            assert jobs[0]["status"] not in ("successful", "failed", "abandoned")
            control.post("config", {"job_speed": FAST})
        if point == "after-job-end":
            control.post("advance", {"days": 1})  # the job ends while no process follows it
            assert control.jobs("recoveryJob")[0]["status"] == "successful"

        second = Run(command, entrabr_home)
        if point == "mid-job":
            second.wait_for(lambda: "following job" in second.stderr, "the rerun following batch 1's job")
            control.post("advance", {"days": 1})
        code, out = second.finish()
        assert code in (0, 7), second.stderr[-3000:]
        result = json.loads(out)
        assert "resuming it" in second.stderr and result["resumed"] is True

        # Exactly one recovery job per batch, ever: together they hold each object once.
        jobs = control.jobs("recoveryJob")
        assert len(jobs) == 2, [j["id"] for j in jobs]
        second_batch, first_batch = sorted((_batch_ids(j) for j in jobs), key=len)
        assert len(first_batch) == 100 and len(second_batch) == 50
        assert first_batch | second_batch == set(ids) and not first_batch & second_batch
        assert sorted(j["id"] for j in result["jobs"]) == sorted(j["id"] for j in jobs)

        # The journal: every batch done with its job; a request the service never received was closed.
        intents = _intents(entrabr_home)
        assert [(b, s) for b, s, _ in intents if s == "done"] == [(1, "done"), (2, "done")]
        assert {j for _, s, j in intents if s == "done"} == {j["id"] for j in jobs}
        expected_other = [(1, "not-received", None)] if point == "before-post" else []
        assert [i for i in intents if i[1] != "done"] == expected_other
        assert read_db(entrabr_home, "SELECT status FROM restore_run") == [("finished",)]

        # The history names both jobs with their outcome and counts.
        history = cli("history", "--action", "restore-finished", "--json")
        finished = {e["jobId"]: e for e in history.json()["entries"] if e["jobId"]}
        assert set(finished) >= {j["id"] for j in jobs}
        assert all(finished[j["id"]]["counts"].get("objectsModified") is not None for j in jobs)
    finally:
        control.close()
