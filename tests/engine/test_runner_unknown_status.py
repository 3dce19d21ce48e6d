"""The job runner stops watching a job stuck in a status this version does not know (JobWaitTimeoutError);
a known status in between starts the count again.

The emulator never sends a status from the future, so the runner's own tests script the Graph (httpx's mock
transport under the real RecoveryClient), and the restore's test rewrites the emulator's recovery job
reads."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from graph.token_credential import StaticTokenCredential

from entrabr_tui.core.model import Job, JobKind, RecoveryStatus
from entrabr_tui.engine import Session
from entrabr_tui.engine.events import JobProgress
from entrabr_tui.engine.interrupted import BatchPhase
from entrabr_tui.engine.journal import Journal
from entrabr_tui.engine.runner import JobRunner
from entrabr_tui.graph.client import RecoveryClient
from entrabr_tui.graph.errors import JobWaitTimeoutError
from entrabr_tui.store import Cache

from .conftest import jobs_of

BASE = "https://graph.microsoft.com/v1.0"
SNAP = "MjAyNi0wMy0yMFQyMjowMDowMFo="
T0 = datetime(2026, 7, 30, 8, 0, tzinfo=UTC)


class Clock:
    """UTC time that moves a minute at every sleep of the runner."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += timedelta(seconds=60)


def job_json(status: str) -> dict[str, Any]:
    return {"@odata.type": "#microsoft.graph.entraRecoveryServices.recoveryPreviewJob", "id": "job-1",
            "status": status, "targetStateDateTime": "2026-03-20T22:00:00Z",
            "jobStartDateTime": "2026-07-30T08:00:00Z"}


def scripted(statuses: list[str]) -> RecoveryClient:
    """A client whose job reads return ``statuses`` in turn (the last one from then on)."""

    def handler(request: httpx.Request) -> httpx.Response:
        status = statuses.pop(0) if len(statuses) > 1 else statuses[0]
        return httpx.Response(200, content=orjson.dumps(job_json(status)),
                              headers={"content-type": "application/json"})

    return RecoveryClient(StaticTokenCredential("t"), BASE, transport=httpx.MockTransport(handler))


def runner_for(client: RecoveryClient, clock: Clock, timeout: float | None) -> JobRunner:
    cache = Cache.open("unknown-status")
    return JobRunner(client, cache, Journal(cache, clock=clock), clock=clock, sleep=clock.sleep,
                     unknown_status_timeout=timeout)


async def test_a_job_stuck_in_an_unknown_status_stops_the_wait() -> None:
    clock = Clock()
    seen: list[JobProgress] = []
    async with scripted(["rehydrating"]) as client:
        runner = runner_for(client, clock, 600)
        job = Job.from_json(job_json("rehydrating"), snapshot_id=SNAP)
        with pytest.raises(JobWaitTimeoutError) as caught:
            await runner.watch(job, seen.append, snapshot_id=SNAP)
    error = caught.value
    assert error.unknown_status and error.job.id == "job-1" and error.job.status_raw == "rehydrating"
    assert "'rehydrating'" in error.message and "entrabr jobs" in error.message
    assert "difference report job job-1" in error.message and "10m 00s" in error.message
    assert len(seen) == 11  # 0 s … 600 s in the unknown status, each read reported
    assert error.waited == 600
    assert runner.current is None  # the runner no longer counts the job as its active one


async def test_a_known_status_in_between_restarts_the_count() -> None:
    clock = Clock()
    statuses = ["calculating" if n % 5 == 4 else "rehydrating" for n in range(40)] + ["successful"]
    seen: list[JobProgress] = []
    async with scripted(statuses[1:]) as client:
        runner = runner_for(client, clock, 600)
        job = Job.from_json(job_json(statuses[0]), snapshot_id=SNAP)
        finished = await runner.watch(job, seen.append, snapshot_id=SNAP)
    assert finished.status is RecoveryStatus.SUCCESSFUL
    assert len(seen) == 41 and clock.now == T0 + timedelta(minutes=40)  # 40 minutes, never 10 in a row


async def test_without_a_limit_an_unknown_status_is_waited_out() -> None:
    clock = Clock()
    async with scripted(["rehydrating"] * 120 + ["successful"]) as client:
        runner = runner_for(client, clock, None)
        job = Job.from_json(job_json("rehydrating"), snapshot_id=SNAP)
        finished = await runner.watch(job, snapshot_id=SNAP)
    assert finished.status is RecoveryStatus.SUCCESSFUL and clock.now == T0 + timedelta(hours=2, minutes=1)


async def test_the_session_gives_its_runner_the_configured_limit(
    open_session: Callable[..., Awaitable[Session]],
) -> None:
    session = await open_session(unknown_status_timeout=120.0)
    assert session.runner is not None and session.runner.unknown_status_timeout == 120.0


async def test_a_restore_stopped_by_an_unknown_status_stays_resumable_and_is_never_sent_twice(
    open_session: Callable[..., Awaitable[Session]], graph: RecoveryClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = await open_session(unknown_status_timeout=0.0)
    snapshot = await session.resolve_snapshot("latest")
    report = await session.ensure_report(snapshot, None)
    users = [r.object_id for r in session.page(report.id, entity_type="user", action="update", limit=5,
                                               recoverable=True)]
    session.mark(report.id, users)
    plan = session.plan(report.id)
    assert plan.batch_count == 1
    read_job = RecoveryClient.get_job

    async def from_the_future(self: RecoveryClient, kind: JobKind, *args: Any, **kwargs: Any) -> Job:
        job = await read_job(self, kind, *args, **kwargs)
        if kind is not JobKind.RECOVERY:
            return job
        return replace(job, status=RecoveryStatus.UNKNOWN_FUTURE_VALUE, status_raw="rehydrating")

    with monkeypatch.context() as patch:
        patch.setattr(RecoveryClient, "get_job", from_the_future)
        with pytest.raises(JobWaitTimeoutError) as caught:
            await session.restore(plan)
    assert caught.value.unknown_status and "'rehydrating'" in caught.value.message
    [created] = await jobs_of(graph, JobKind.RECOVERY)
    interrupted = session.interrupted_restore()  # the job goes on at the service: the run can be resumed
    assert interrupted is not None and [s.phase for s in interrupted.states] == [BatchPhase.SENT]
    assert interrupted.states[0].job_id == created.id

    result = await session.resume_restore()  # statuses this version knows again: followed to its end

    assert [j.id for j in result.jobs] == [created.id] and result.outcome == "succeeded"
    assert [j.id for j in await jobs_of(graph, JobKind.RECOVERY)] == [created.id]  # sent once, ever
    assert session.interrupted_restore() is None
