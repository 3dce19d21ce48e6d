"""Every emulator fault kind is survived, or surfaces as the right typed error once retries are spent."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from entrabr_tui.core.model import EntityNamesFilter, JobKind
from entrabr_tui.graph import (
    GraphError,
    NetworkError,
    OutcomeUnknownError,
    RecoveryClient,
    ServerError,
    ThrottledError,
    UnexpectedResponseError,
)

from .conftest import ClientFactory, Control, SleepRecorder, fast_policy

POLL: dict[str, Any] = {"interval": 0.005, "max_polls": 4000}
#: A read timeout far shorter than the slow fault's delay, so "slow" means "timed out" — and long enough that
#: an honest answer from a loaded machine never times out. Only the "slow" kind uses it.
SHORT_TIMEOUT = httpx.Timeout(5.0, read=1.0)
SLOW_MS = 5000


async def report_ids(client: RecoveryClient) -> tuple[str, str]:
    """A finished difference report on users and groups, made before any fault is injected."""
    snapshot = (await client.list_snapshots())[-1]
    created = await client.create_preview_job(snapshot.id, EntityNamesFilter(("user", "group")))
    job = await client.wait_for_job(JobKind.PREVIEW, snapshot.id, created.id, **POLL)
    assert job.is_terminal
    return snapshot.id, created.id


async def read_all(client: RecoveryClient, snapshot_id: str, job_id: str) -> list[str]:
    pages = client.iter_change_pages(snapshot_id, job_id, top=10)
    return [item["id"] async for page in pages for item in page.items]


def timeout_for(kind: str) -> dict[str, httpx.Timeout]:
    """The client's timeout for a fault kind: short only where the fault is slowness."""
    return {"timeout": SHORT_TIMEOUT} if kind == "slow" else {}


def spec(kind: str) -> dict[str, object]:
    extra: dict[str, object] = {"retry_after": 1} if kind in ("429", "503") else {}
    if kind == "slow":
        extra["delay_ms"] = SLOW_MS
    return extra


@pytest.mark.parametrize("kind", ["429", "503", "504", "drop", "truncate", "slow"])
async def test_fault_on_change_pages_is_survived_without_loss(
    make_client: ClientFactory, control: Control, sleeps: SleepRecorder, kind: str
) -> None:
    client = make_client(**timeout_for(kind))
    snapshot_id, job_id = await report_ids(client)
    expected = await read_all(client, snapshot_id, job_id)
    assert len(expected) > 20  # several pages
    control.fault(kind, count=2, match="getChanges", **spec(kind))
    assert await read_all(client, snapshot_id, job_id) == expected
    assert control.faults_fired() == [2]
    if kind in ("429", "503"):
        assert sleeps.delays == pytest.approx([1.05, 1.05])  # Retry-After: 1, plus 5% jitter
    else:
        assert sleeps.delays == pytest.approx([0.525, 1.05])  # exponential backoff


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("429", ThrottledError),
        ("503", ServerError),
        ("504", ServerError),
        ("drop", NetworkError),
        ("truncate", UnexpectedResponseError),
        ("slow", NetworkError),
    ],
)
async def test_fault_that_never_ends_surfaces_as_typed_error(
    make_client: ClientFactory, control: Control, sleeps: SleepRecorder, kind: str, error: type[GraphError]
) -> None:
    client = make_client(**timeout_for(kind), retry=fast_policy(sleeps, max_attempts=3))
    snapshot_id, job_id = await report_ids(client)
    control.fault(kind, count=100, match="getChanges", **spec(kind))
    with pytest.raises(error) as caught:
        await read_all(client, snapshot_id, job_id)
    assert type(caught.value) is error
    assert control.faults_fired() == [3] and len(sleeps.delays) == 2
    assert caught.value.message.startswith("Reading the changes of a difference report")
    if kind in ("429", "503", "504"):
        assert caught.value.status == int(kind) and caught.value.request_id
    if isinstance(caught.value, ThrottledError):
        assert caught.value.retry_after == 1 and caught.value.attempts == 3


async def test_typed_snapshot_list_survives_faults_and_long_retry_after(
    make_client: ClientFactory, control: Control, sleeps: SleepRecorder
) -> None:
    client = make_client(retry=fast_policy(sleeps, max_attempts=6))
    expected = await client.list_snapshots()
    control.fault("429", count=1, retry_after=200, match="snapshots")  # kiota alone refuses >= 180 s
    control.fault("truncate", count=1, match="snapshots")
    control.fault("drop", count=1, match="snapshots")
    control.fault("503", count=1, retry_after=900, match="snapshots")
    assert await client.list_snapshots() == expected
    assert control.faults_fired() == [1, 1, 1, 1]
    assert sleeps.delays == pytest.approx([210.0, 1.05, 2.1, 315.0])  # 900 s is capped at 300 s


async def test_job_creation_is_retried_only_when_nothing_was_created(
    make_client: ClientFactory, control: Control, sleeps: SleepRecorder
) -> None:
    control.config(job_speed=100.0)  # the created job keeps running during the test
    client = make_client()
    snapshot = (await client.list_snapshots())[0]
    control.fault("429", count=1, retry_after=3, match="recoveryPreviewJobs")
    control.fault("503", count=1, retry_after=2, match="recoveryPreviewJobs")
    created = await client.create_preview_job(snapshot.id)
    assert sleeps.delays == pytest.approx([3.15, 2.1])
    assert [j.id for j in await client.list_jobs()] == [created.id]
    await client.cancel_job(created.id)


@pytest.mark.parametrize("kind", ["drop", "504"])
async def test_job_creation_with_unknown_outcome_is_not_repeated(
    make_client: ClientFactory, control: Control, sleeps: SleepRecorder, kind: str
) -> None:
    control.config(job_speed=100.0)
    client = make_client()
    snapshot = (await client.list_snapshots())[0]
    control.fault(kind, count=1, match="recoveryJobs")
    with pytest.raises(OutcomeUnknownError) as caught:
        await client.create_recovery_job(snapshot.id)
    jobs = await client.list_jobs()
    assert sleeps.delays == [] and control.faults_fired() == [1]
    if kind == "drop":  # the service did create it before the connection dropped: it is named
        assert len(jobs) == 1 and caught.value.running_job == jobs[0]
        assert jobs[0].id in caught.value.message
        await client.cancel_job(jobs[0].id)
    else:  # the gateway answered for the service; nothing was created, but the client cannot know
        assert jobs == [] and caught.value.running_job is None and caught.value.status == 504
    assert "may or may not" in caught.value.message
