"""A recovery's audit records follow the recovery as it applies its changes: written part by part while the
job runs, each dated when its change was due, all naming the user from the job's token under one
correlation id; and records that name a job work with random job ids (repeatable only under the knob)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from entrabr_tui.emulator import EmulatorServer
from entrabr_tui.emulator.audit_actors import recovery_initiator
from entrabr_tui.emulator.audit_events import TICKS
from entrabr_tui.emulator.audit_query import parse_list
from entrabr_tui.emulator.jobs import RECOVERY, Job
from entrabr_tui.emulator.service import EmulatorService

from .conftest import AUDIT_EXACT, AUDIT_NOW, Api, audit_records

UPN = "restorer@contoso.example"
OID = "0d6a8f1e-6c1b-4f7e-8d55-1a2b3c4d5e77"
MEMBER_ACTIVITIES = {"Add member to group", "Remove member from group"}


class SteppedClock:
    """An emulated clock that moves only when the test moves it."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.at = start

    def now(self) -> datetime:
        return self.at

    def advance(self, delta: timedelta) -> None:
        self.at += delta

    def reset(self) -> None:
        self.at = self.start


def recovery_records(service: EmulatorService, now: datetime) -> list[dict[str, Any]]:
    audit = service.audit
    events, more = audit.page(parse_list({"$top": ["1000"], "$filter": ["category eq 'Backup and Recovery'"]},
                                         "v1.0", 100), now)
    assert not more
    return [audit.render(ev, beta=False) | {"ticks": ev.ticks} for ev in events
            if ev.activity.name != "Create recovery job"]


def object_of(record: dict[str, Any]) -> str:
    """The object whose change wrote the record (a membership record's group)."""
    targets = record["targetResources"]
    return str(targets[1]["id"] if record["activityDisplayName"] in MEMBER_ACTIVITIES else targets[0]["id"])


async def until_running(service: EmulatorService, clock: SteppedClock, job: Job) -> None:
    """Move the clock phase by phase until the job runs, letting it do the work each phase waits on."""
    while True:
        await service.settle()
        await service.drain()
        if job.status == "running" or job.terminal:
            return
        if job.phase_end is not None:
            clock.at = max(clock.at, job.phase_end)


async def run_until(service: EmulatorService, clock: SteppedClock, when: datetime) -> None:
    clock.at = when
    await service.settle()
    await service.drain()


async def test_recovery_records_are_written_as_the_recovery_applies_its_changes() -> None:
    service = EmulatorService(seed=11, objects=3000, job_speed=100.0, now=AUDIT_NOW)
    clock = SteppedClock(AUDIT_NOW + timedelta(minutes=5))
    service.clock = clock  # type: ignore[assignment]  # a clock the test steps by hand
    service.audit.settings.update({"audit_latency_s": 0, "audit_gap_fraction": 0.0})
    initiator = recovery_initiator(OID, UPN, "Restorer", "198.51.100.7", "entrabr-test")
    sid = service.snapshots[0][0]
    job = await service.create_job(RECOVERY, sid, None, None, initiator)
    await until_running(service, clock, job)
    assert job.status == "running" and job.phase_start is not None and job.phase_end is not None
    assert job.records and job.order is not None
    start, end = job.phase_start, job.phase_end
    ids = [job.records[i].id for i in job.order]
    assert recovery_records(service, clock.at) == []                 # nothing applied yet, nothing logged

    halfway = start + (end - start) * 0.4
    await run_until(service, clock, halfway)
    assert 0 < job.applied < len(ids) and job.status == "running"
    assert job.outcome is not None and 0 < job.outcome.objects_modified < len(ids)
    early = recovery_records(service, clock.at)
    applied = set(ids[:job.applied])
    assert {object_of(r) for r in early} == applied                  # what is applied, and only that
    assert all(start.timestamp() * TICKS <= r["ticks"] <= halfway.timestamp() * TICKS for r in early)

    await run_until(service, clock, end + timedelta(seconds=1))
    assert job.status in ("successful", "failed")
    every = recovery_records(service, clock.at)
    assert {object_of(r) for r in every} == set(ids)
    assert {r["id"] for r in early} <= {r["id"] for r in every}
    later = [r for r in every if r["id"] not in {e["id"] for e in early}]
    assert later and all(halfway.timestamp() * TICKS < r["ticks"] <= end.timestamp() * TICKS for r in later)
    # each change's records are dated when it was due: in the job's application order
    first_seen: dict[str, int] = {}
    for r in every:
        first_seen.setdefault(object_of(r), r["ticks"])
    assert job.cumulative is not None
    due = [start + (end - start) * (units / job.cumulative[-1]) for units in job.cumulative]
    assert [first_seen[i] for i in ids] == [int(t.timestamp() * TICKS) for t in due]
    assert {r["correlationId"] for r in every} == {early[0]["correlationId"]}
    initiators = {(r["initiatedBy"]["user"]["userPrincipalName"], r["initiatedBy"]["user"]["id"])
                  for r in every}
    assert initiators == {(UPN, OID)}
    failed = [r for r in every if r["result"] == "failure"]
    assert job.outcome is not None and bool(failed) == bool(job.outcome.failed)


@pytest.fixture(scope="module")
def repeatable_server() -> Iterator[EmulatorServer]:
    """A small emulator whose job ids derive from the seed."""
    with EmulatorServer(seed=4, objects=300, job_speed=1e6, now=AUDIT_NOW, deterministic_ids=True) as server:
        yield server


def job_records(api: Api, job_id: str) -> list[dict[str, Any]]:
    return audit_records(api, {"$filter": f"targetResources/any(t: t/id eq '{job_id}')"})


def recover_once(api: Api) -> tuple[str, list[dict[str, Any]]]:
    api.control("POST", "reset")
    api.control("POST", "config", json={"latency_ms": 0, "job_speed": 1e6, **AUDIT_EXACT})
    _, job = api.run("recovery")
    records = [r for r in audit_records(api, {"$orderby": "activityDateTime asc"})
               if r["category"] == "Backup and Recovery"]
    return str(job["id"]), records


def test_job_records_name_random_job_ids(audit: Api) -> None:
    first, first_records = recover_once(audit)
    second, second_records = recover_once(audit)
    assert first != second                                           # random ids: a new one every time
    (created,) = job_records(audit, second)                          # the first job's went with the reset
    assert created["activityDisplayName"] == "Create recovery job"
    assert created["targetResources"][0]["id"] == second
    for job_id, records in ((first, first_records), (second, second_records)):
        (named,) = [r for r in records if r["activityDisplayName"] == "Create recovery job"]
        assert named["targetResources"][0]["id"] == job_id
        assert len({r["correlationId"] for r in records if r is not named}) == 1
    correlations = {r["correlationId"] for r in first_records}
    assert correlations.isdisjoint({r["correlationId"] for r in second_records})


def test_job_ids_and_their_records_repeat_only_under_the_knob(repeatable_server: EmulatorServer) -> None:
    api = Api(repeatable_server)
    try:
        first, first_records = recover_once(api)
        second, second_records = recover_once(api)
        assert first == second
        assert job_records(api, second) and job_records(api, second)[0]["targetResources"][0]["id"] == second
        assert [(r["id"], r["correlationId"], r["activityDisplayName"]) for r in first_records] == [
            (r["id"], r["correlationId"], r["activityDisplayName"]) for r in second_records]
    finally:
        api.close()
