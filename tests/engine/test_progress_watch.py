"""ProgressWatch: the Graph client's retries reach the progress callbacks with a countdown, and only while
the run lasts. (A job stuck in a status this version does not know is the runner's to stop: see
test_runner_unknown_status.py.)"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from entrabr_tui.core.model import JobKind, RecoveryStatus
from entrabr_tui.engine.events import JobProgress, RestoreProgress, RetryWait
from entrabr_tui.engine.progress_watch import ProgressWatch
from entrabr_tui.graph.errors import Operation
from entrabr_tui.graph.resilience import RetryCause, RetryEvent

T0 = datetime(2026, 7, 30, 8, 0, tzinfo=UTC)


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


async def test_retries_show_on_the_last_progress_event_then_clear() -> None:
    client = Listeners()
    watch = ProgressWatch(client, kind=JobKind.PREVIEW)  # type: ignore[arg-type]  # a double with the listener calls only
    seen: list[JobProgress] = []
    callback = watch.job(seen.append)

    async def work() -> None:
        client.announce(throttled())  # before any event: a stand-in event carries it
        callback(progress(RecoveryStatus.CALCULATING, "calculating"))
        client.announce(throttled(2))
        callback(progress(RecoveryStatus.SUCCESSFUL, "successful"))

    await watch.run(work())
    assert client.listeners == []  # removed when the run ends
    client.announce(throttled(3))  # after the run: nobody hears it
    assert [(e.phase, e.retry is not None) for e in seen] == [
        ("queued", True), ("calculating", False), ("calculating", True), ("successful", False)]
    wait = seen[2].retry
    assert isinstance(wait, RetryWait) and wait.attempt == 2 and wait.cause == "throttled"
    assert wait.text(T0) == "throttled (HTTP 429): trying again in 3m 00s (try 3 of 6)"
    assert wait.text(T0 + timedelta(seconds=179.5)) .endswith("in 1s (try 3 of 6)")
    assert "trying again now" in wait.text(T0 + timedelta(seconds=200))


async def test_restore_progress_carries_retries_too() -> None:
    client = Listeners()
    watch = ProgressWatch(client, kind=JobKind.RECOVERY)  # type: ignore[arg-type]  # a double with the listener calls only
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


async def test_the_listener_is_removed_when_the_run_fails() -> None:
    client = Listeners()
    watch = ProgressWatch(client, kind=JobKind.PREVIEW)  # type: ignore[arg-type]  # a double with the listener calls only
    watch.job(None)

    async def failing() -> None:
        assert client.listeners  # listening while the run lasts
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await watch.run(failing())
    assert client.listeners == []
