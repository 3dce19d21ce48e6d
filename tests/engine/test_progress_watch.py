"""ProgressWatch: retries reach the progress callbacks with a countdown; a job stuck in a status this
version does not know stops the wait with JobWaitTimeoutError."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from entrabr_tui.core.model import JobKind, RecoveryStatus
from entrabr_tui.engine.events import JobProgress, RestoreProgress, RetryWait
from entrabr_tui.engine.progress_watch import ProgressWatch
from entrabr_tui.graph.errors import JobWaitTimeoutError, Operation
from entrabr_tui.graph.resilience import RetryCause, RetryEvent

T0 = datetime(2026, 7, 30, 8, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class Listeners:
    """Stands in for RecoveryClient.add_retry_listener."""

    def __init__(self) -> None:
        self.listeners: list[Callable[[RetryEvent], object]] = []

    def add_retry_listener(self, listener: Callable[[RetryEvent], object]) -> Callable[[], None]:
        self.listeners.append(listener)
        return lambda: self.listeners.remove(listener)

    def announce(self, event: RetryEvent) -> None:
        for listener in list(self.listeners):
            listener(event)


def progress(status: RecoveryStatus, raw: str, job_id: str = "job-1") -> JobProgress:
    return JobProgress(job_id=job_id, kind=JobKind.PREVIEW, phase=raw, text="…", elapsed=0.0, status=status)


def throttled(attempt: int = 1) -> RetryEvent:
    return RetryEvent(operation=Operation("reading the job", "GET"), cause=RetryCause.THROTTLED,
                      attempt=attempt, max_attempts=6, delay=180.0, until=T0 + timedelta(seconds=180),
                      reason="HTTP 429", retry_after=180.0)


async def test_a_job_stuck_in_an_unknown_status_stops_the_wait() -> None:
    clock = Clock()
    watch = ProgressWatch(None, clock, kind=JobKind.PREVIEW, unknown_status_timeout=600)
    seen: list[JobProgress] = []
    callback = watch.job(seen.append)
    polls = 0

    async def poll_forever() -> None:
        nonlocal polls
        while True:
            callback(progress(RecoveryStatus.UNKNOWN_FUTURE_VALUE, "rehydrating"))
            polls += 1
            clock.now += timedelta(seconds=60)
            await asyncio.sleep(0)

    with pytest.raises(JobWaitTimeoutError) as caught:
        await watch.run(poll_forever())
    assert caught.value.unknown_status and caught.value.job.id == "job-1"
    assert "'rehydrating'" in caught.value.message and "entrabr jobs" in caught.value.message
    assert polls == 11  # 0 s … 600 s in the unknown status
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


async def test_a_known_status_in_between_restarts_the_count() -> None:
    clock = Clock()
    watch = ProgressWatch(None, clock, kind=JobKind.PREVIEW, unknown_status_timeout=600)
    callback = watch.job(None)

    async def flapping() -> str:
        for n in range(40):
            known = n % 5 == 4
            callback(progress(RecoveryStatus.CALCULATING if known else RecoveryStatus.UNKNOWN_FUTURE_VALUE,
                              "calculating" if known else "rehydrating"))
            clock.now += timedelta(seconds=60)
            await asyncio.sleep(0)
        return "finished"

    assert await watch.run(flapping()) == "finished"


async def test_retries_show_on_the_last_progress_event_then_clear() -> None:
    client = Listeners()
    watch = ProgressWatch(client, Clock(), kind=JobKind.PREVIEW)  # type: ignore[arg-type]
    seen: list[JobProgress] = []
    callback = watch.job(seen.append)

    async def work() -> None:
        client.announce(throttled())  # before any event: a stand-in event carries it
        callback(progress(RecoveryStatus.CALCULATING, "calculating"))
        client.announce(throttled(2))
        callback(progress(RecoveryStatus.SUCCESSFUL, "successful"))

    await watch.run(work())
    assert client.listeners == []  # removed when the run ends
    assert [(e.phase, e.retry is not None) for e in seen] == [
        ("queued", True), ("calculating", False), ("calculating", True), ("successful", False)]
    wait = seen[2].retry
    assert isinstance(wait, RetryWait) and wait.attempt == 2 and wait.cause == "throttled"
    assert wait.text(T0) == "throttled (HTTP 429): trying again in 180 s (try 3 of 6)"
    assert wait.text(T0 + timedelta(seconds=179.5)) .endswith("in 1 s (try 3 of 6)")
    assert "trying again now" in wait.text(T0 + timedelta(seconds=200))


async def test_restore_progress_carries_retries_too() -> None:
    client = Listeners()
    watch = ProgressWatch(client, Clock(), kind=JobKind.RECOVERY)  # type: ignore[arg-type]
    seen: list[RestoreProgress] = []
    callback = watch.restore(seen.append)

    async def work() -> None:
        job = JobProgress(job_id="r-1", kind=JobKind.RECOVERY, phase="running", text="Applying", elapsed=3.0,
                          status=RecoveryStatus.RUNNING)
        callback(RestoreProgress(batch=1, batch_count=2, job_id="r-1", phase="running", text="Applying",
                                 elapsed=3.0, job=job))
        client.announce(throttled())

    await watch.run(work())
    assert seen[-1].retry is not None and seen[-1].job is not None and seen[-1].job.retry == seen[-1].retry
