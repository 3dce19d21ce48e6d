"""Retries are announced (why, which try, how long, until when) and job waits end (emulator on loopback)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest

from entrabr_tui.core.model import EntityNamesFilter, JobKind
from entrabr_tui.graph import (
    JobWaitTimeoutError,
    RecoveryClient,
    RetryCause,
    RetryEvent,
    ThrottledError,
)

from .conftest import ClientFactory, Control, SleepRecorder, fast_policy
from .token_credential import StaticTokenCredential

NOW = datetime(2026, 7, 28, 9, 0, tzinfo=UTC)
POLL: dict[str, Any] = {"interval": 0.005, "max_polls": 4000}


async def finished_report(client: RecoveryClient) -> tuple[str, str]:
    snapshot = (await client.list_snapshots())[-1]
    created = await client.create_preview_job(snapshot.id, EntityNamesFilter(("user",)))
    job = await client.wait_for_job(JobKind.PREVIEW, snapshot.id, created.id, **POLL)
    assert job.is_terminal
    return snapshot.id, job.id


async def test_each_wait_is_announced_to_client_and_call_listeners(
    make_client: ClientFactory, control: Control, sleeps: SleepRecorder
) -> None:
    heard: list[RetryEvent] = []
    per_call: list[RetryEvent] = []
    client = make_client(retry=fast_policy(sleeps, max_attempts=5, now=lambda: NOW), on_retry=heard.append)
    snapshot_id, job_id = await finished_report(client)
    assert heard == []
    control.fault("429", count=1, retry_after=180, match="getChanges")
    control.fault("503", count=1, retry_after=2, match="getChanges")
    control.fault("drop", count=1, match="getChanges")
    control.fault("truncate", count=1, match="getChanges")
    pages = client.iter_change_pages(snapshot_id, job_id, on_retry=per_call.append)
    assert [item async for page in pages for item in page.items]
    assert per_call == heard
    assert [(e.cause, e.attempt, e.max_attempts, e.reason) for e in heard] == [
        (RetryCause.THROTTLED, 1, 5, "HTTP 429"),
        (RetryCause.SERVER_ERROR, 2, 5, "HTTP 503"),
        (RetryCause.NETWORK, 3, 5, "RemoteProtocolError"),
        (RetryCause.UNREADABLE_RESPONSE, 4, 5, "malformed body"),
    ]
    assert [e.delay for e in heard] == pytest.approx(sleeps.delays)
    assert heard[0].delay == pytest.approx(189.0) and heard[0].retry_after == 180  # 180 s + 5% jitter
    assert [e.until for e in heard] == [NOW + timedelta(seconds=e.delay) for e in heard]
    assert all(e.operation.doing == "Reading the changes of a difference report" for e in heard)


async def test_a_listener_can_be_removed_and_a_broken_one_does_not_stop_the_retry(
    make_client: ClientFactory, control: Control, sleeps: SleepRecorder
) -> None:
    heard: list[RetryEvent] = []

    def broken(event: RetryEvent) -> None:
        raise RuntimeError("the progress line is gone")

    client = make_client(on_retry=broken)
    remove = client.add_retry_listener(heard.append)
    control.fault("503", count=1, match="snapshots")
    assert await client.list_snapshots()
    assert [e.cause for e in heard] == [RetryCause.SERVER_ERROR]
    remove()
    control.fault("503", count=1, match="snapshots")
    assert await client.list_snapshots()
    assert len(heard) == 1 and len(sleeps.delays) == 2


async def test_the_last_failed_try_is_not_announced_as_a_wait(
    make_client: ClientFactory, control: Control, sleeps: SleepRecorder
) -> None:
    heard: list[RetryEvent] = []
    client = make_client(retry=fast_policy(sleeps, max_attempts=3), on_retry=heard.append)
    control.fault("429", count=10, retry_after=180, match="snapshots")
    with pytest.raises(ThrottledError):
        await client.list_snapshots()
    assert [e.attempt for e in heard] == [1, 2] and len(sleeps.delays) == 2


class FakeClock:
    """Monotonic seconds that move only when the test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


async def test_wait_for_job_gives_up_after_its_timeout(make_client: ClientFactory, control: Control) -> None:
    control.config(job_speed=1.0)  # the job stays in its first phase for the whole test
    client = make_client()
    snapshot = (await client.list_snapshots())[0]
    created = await client.create_preview_job(snapshot.id)
    clock = FakeClock()
    seen: list[str] = []
    with pytest.raises(JobWaitTimeoutError) as caught:
        await client.wait_for_job(
            JobKind.PREVIEW, snapshot.id, created.id, interval=10, timeout=25, sleep=clock.sleep, clock=clock,
            on_update=lambda j: seen.append(j.status_raw),
        )
    error = caught.value
    assert clock.sleeps == [10, 10, 10] and len(seen) == 4 and error.waited == 30
    assert error.job.id == created.id and not error.job.is_terminal and not error.unknown_status
    assert f"Job {created.id} is still {error.job.status_raw} after 30s" in error.message
    await client.cancel_job(created.id)


# -- statuses the emulator never sends: a scripted Graph --------------------------------------------------

BASE = "https://graph.microsoft.com/v1.0"
SNAP = "MjAyNi0wMy0yMFQyMjowMDowMFo="


def job_body(status: str) -> bytes:
    return orjson.dumps({"@odata.type": "#microsoft.graph.entraRecoveryServices.recoveryPreviewJob",
                         "id": "j1", "status": status, "targetStateDateTime": "2026-03-20T22:00:00Z",
                         "jobStartDateTime": "2026-03-21T08:00:00Z"})


def scripted(statuses: list[str], sleeps: SleepRecorder) -> RecoveryClient:
    def handler(request: httpx.Request) -> httpx.Response:
        status = statuses.pop(0) if len(statuses) > 1 else statuses[0]
        return httpx.Response(200, content=job_body(status), headers={"content-type": "application/json"})

    return RecoveryClient(StaticTokenCredential("t"), BASE, transport=httpx.MockTransport(handler),
                          retry=fast_policy(sleeps))


async def test_a_status_from_the_future_is_not_waited_on_forever(sleeps: SleepRecorder) -> None:
    clock = FakeClock()
    async with scripted(["running", "queuedForApproval"], sleeps) as client:
        with pytest.raises(JobWaitTimeoutError) as caught:
            await client.wait_for_job(JobKind.PREVIEW, SNAP, "j1", interval=600, unknown_status_timeout=3600,
                                      sleep=clock.sleep, clock=clock)
    error = caught.value
    assert error.unknown_status and error.job.status_raw == "queuedForApproval"
    assert error.waited == 600 * 7  # first seen at 600 s, given up 3,600 s later
    assert "'queuedForApproval', which this version of the app does not know" in error.message


async def test_an_unknown_status_that_ends_is_waited_out(sleeps: SleepRecorder) -> None:
    clock = FakeClock()
    statuses = ["queuedForApproval"] * 5 + ["running", "queuedForApproval", "successful"]
    async with scripted(statuses, sleeps) as client:
        job = await client.wait_for_job(
            JobKind.PREVIEW, SNAP, "j1", interval=600, unknown_status_timeout=3000, sleep=clock.sleep,
            clock=clock,
        )
    assert job.status_raw == "successful" and len(clock.sleeps) == 7
