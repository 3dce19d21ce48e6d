"""The client never takes an incomplete walk for a complete one (real client, emulator on loopback).

A walk only reports facts (pages, change objects received, unreadable ones, whether a page came without a
next link); completeness is proven by comparing them with the job's announced total.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from entrabr_tui.core.completeness import Completeness
from entrabr_tui.core.model import EntityNamesFilter, Job, JobKind
from entrabr_tui.graph import (
    ChangeList,
    IncompleteChangesError,
    RecoveryClient,
    UnexpectedResponseError,
)

from .conftest import ClientFactory, Control, SleepRecorder
from .docs_payload import DOCS_CHANGES, DOCS_LINKS, USER_ID

POLL: dict[str, Any] = {"interval": 0.005, "max_polls": 4000}
TOP = 10


@pytest.fixture
async def clean(control: Control) -> AsyncIterator[Control]:
    """The control plane; reset afterwards too (closes the second listener of redirect faults)."""
    yield control
    control.reset()


async def finished_report(client: RecoveryClient) -> tuple[str, Job]:
    snapshot = (await client.list_snapshots())[-1]
    created = await client.create_preview_job(snapshot.id, EntityNamesFilter(("user", "group")))
    job = await client.wait_for_job(JobKind.PREVIEW, snapshot.id, created.id, **POLL)
    assert job.is_terminal and job.total_changed_objects is not None
    assert job.total_changed_objects > 3 * TOP  # several pages
    return snapshot.id, job


async def test_an_honest_walk_is_complete_and_its_facts_are_right(
    make_client: ClientFactory, clean: Control
) -> None:
    client = make_client()
    snapshot_id, job = await finished_report(client)
    walk = client.iter_change_pages(snapshot_id, job.id, top=TOP)
    pages = [page async for page in walk]
    outcome = walk.outcome
    assert outcome.pages == len(pages) and outcome.received == sum(len(p.items) for p in pages)
    assert outcome.reached_end and pages[-1].is_last and not any(p.is_last for p in pages[:-1])
    assert outcome.received == job.total_changed_objects  # one change object per change
    # links live inside the objects; owner links are reported but recovery does not change them, so the
    # job's link total counts only the membership links
    members = sum(len(i["deltaFromCurrent"].get("members@delta", ())) for p in pages for i in p.items)
    assert outcome.links >= members == job.total_changed_links
    assert outcome.unreadable == 0 and outcome.stated_count is None and not outcome.resumed
    assert outcome.completeness(job.total_changed_objects) is Completeness.COMPLETE
    result = await client.read_changes(snapshot_id, job.id, top=TOP)
    assert result.complete and result.expected == job.total_changed_objects
    assert len(result.changes) == outcome.received


async def test_a_page_without_next_link_ends_the_walk_short(
    make_client: ClientFactory, clean: Control
) -> None:
    client = make_client()
    snapshot_id, job = await finished_report(client)
    clean.fault("no-next-link", count=1, match="getChanges")
    walk = client.iter_change_pages(snapshot_id, job.id, top=TOP)
    pages = [page async for page in walk]
    # The facts: one page, TOP items, no next link on it. The walk alone cannot know more.
    assert len(pages) == 1 and pages[0].is_last
    assert walk.outcome.received == TOP and walk.outcome.reached_end
    assert walk.outcome.completeness(job.total_changed_objects) is Completeness.SHORT
    clean.fault("no-next-link", count=1, match="getChanges")
    result = await client.read_changes(snapshot_id, job.id, top=TOP)
    assert result.completeness is Completeness.SHORT and not result.complete
    assert (result.outcome.received, result.expected) == (TOP, job.total_changed_objects)
    clean.fault("no-next-link", count=1, match="getChanges")  # at $top=999 the list is one page: the
    assert len(await client.get_changes(snapshot_id, job.id)) == job.total_changed_objects  # last one
    assert clean.faults_fired() == [1, 1, 0]


async def test_a_short_page_is_a_count_mismatch(make_client: ClientFactory, clean: Control) -> None:
    client = make_client()
    snapshot_id, job = await finished_report(client)
    clean.fault("short-page", count=2, lose=3, match="getChanges")
    result = await client.read_changes(snapshot_id, job.id, top=TOP)
    assert result.outcome.reached_end  # the walk went on to the real end...
    assert job.total_changed_objects is not None
    assert result.outcome.received == job.total_changed_objects - 6  # ...but six changes never arrived
    assert result.completeness is Completeness.SHORT
    clean.fault("short-page", count=1, match="getChanges")
    with pytest.raises(IncompleteChangesError) as caught:
        await client.get_changes(snapshot_id, job.id)
    assert caught.value.expected == job.total_changed_objects
    assert caught.value.received == job.total_changed_objects // 2 + job.total_changed_objects % 2
    assert f"ended after {caught.value.received} of {job.total_changed_objects} changes" in str(caught.value)


async def test_malformed_changes_are_kept_unreadable_and_counted(
    make_client: ClientFactory, clean: Control
) -> None:
    client = make_client()
    snapshot_id, job = await finished_report(client)
    honest = await client.read_changes(snapshot_id, job.id, top=TOP)
    clean.fault("malformed-change", count=6, match="getChanges")  # one of each variant, in order
    result = await client.read_changes(snapshot_id, job.id, top=TOP)
    assert result.complete and len(result.changes) == len(honest.changes)  # nothing dropped
    assert result.outcome.unreadable == 5  # an unknown enum value is readable
    reasons = [change.unreadable for change in result.unreadable]
    assert reasons == [
        "no 'id'",
        "no 'entityTypeName'",
        "'id' is a number, not a string",
        "'recoveryAction' is a number, not a string",
        "'deltaFromCurrent' is a string, not an object",
    ]
    assert [c.raw for c in result.unreadable][2]["id"] == 12345  # the object as sent
    unknown = result.changes[5]
    assert unknown.readable and unknown.action_raw == "quarantine" and unknown.id == honest.changes[5].id
    assert result.changes[6:] == honest.changes[6:]
    clean.fault("malformed-change", count=2, match="getChanges")
    assert len(await client.get_changes(snapshot_id, job.id)) == len(honest.changes)


@pytest.mark.parametrize("status", [307, 302])
async def test_a_redirect_to_another_host_is_an_error_not_an_empty_last_page(
    make_client: ClientFactory, clean: Control, sleeps: SleepRecorder, status: int
) -> None:
    client = make_client()
    snapshot_id, job = await finished_report(client)
    clean.fault("redirect-foreign", count=1, status=status, match="getChanges")
    walk = client.iter_change_pages(snapshot_id, job.id, top=TOP)
    with pytest.raises(UnexpectedResponseError, match="redirected the request to another host"):
        [page async for page in walk]
    assert walk.outcome.pages == 0 and not walk.outcome.reached_end
    assert walk.outcome.completeness(job.total_changed_objects) is Completeness.UNFINISHED
    [fault] = clean.state()["faults"]
    assert fault["fired"] == 1 and fault["foreign_requests"] == 0  # the other host was never asked
    assert sleeps.delays == []  # not retried


async def test_a_redirect_to_another_host_mid_walk_stops_the_walk(
    make_client: ClientFactory, clean: Control
) -> None:
    client = make_client()
    snapshot_id, job = await finished_report(client)
    walk = client.iter_change_pages(snapshot_id, job.id, top=TOP, prefetch=False)
    first = await anext(walk)
    clean.fault("redirect-foreign", count=1, match="getChanges")
    with pytest.raises(UnexpectedResponseError, match="another host"):
        await anext(walk)
    assert not first.is_last and walk.outcome.pages == 1 and not walk.outcome.reached_end
    clean.fault("redirect-foreign", count=1, match="getChanges")
    with pytest.raises(UnexpectedResponseError):
        await client.get_changes(snapshot_id, job.id)


async def test_docs_shaped_report_keeps_every_change_of_one_object(
    make_client: ClientFactory, clean: Control
) -> None:
    clean.post("changes-override", {"changes": DOCS_CHANGES})
    client = make_client()
    snapshot = (await client.list_snapshots())[0]
    created = await client.create_preview_job(snapshot.id)
    job = await client.wait_for_job(JobKind.PREVIEW, snapshot.id, created.id, **POLL)
    assert (job.total_changed_objects, job.total_changed_links) == (len(DOCS_CHANGES), DOCS_LINKS)
    result: ChangeList = await client.read_changes(snapshot.id, job.id, top=2, job=job)
    assert result.complete and result.outcome.pages == 3 and result.outcome.links == DOCS_LINKS
    assert [c.id for c in result.changes].count(USER_ID) == 4
    assert [c.action_raw for c in result.changes[:4]] == ["update", "restore", "softDelete", "softDelete"]
    assert [c.delta for c in result.changes] == [item["deltaFromCurrent"] for item in DOCS_CHANGES]
    pages = client.iter_change_pages(snapshot.id, job.id, top=2)
    assert [item async for page in pages for item in page.items] == DOCS_CHANGES  # byte for byte
    assert len(await client.get_changes(snapshot.id, job.id)) == len(DOCS_CHANGES)


async def test_a_resumed_walk_counts_its_own_pages(make_client: ClientFactory, clean: Control) -> None:
    client = make_client()
    snapshot_id, job = await finished_report(client)
    walk = client.iter_change_pages(snapshot_id, job.id, top=TOP, prefetch=False)
    first = await anext(walk)
    await walk.aclose()
    assert first.next_link is not None
    resumed = client.iter_change_pages(snapshot_id, job.id, start_url=first.next_link)
    assert len([p async for p in resumed]) >= 1
    outcome = resumed.outcome
    assert outcome.resumed and outcome.reached_end
    assert outcome.completeness(job.total_changed_objects) is Completeness.SHORT
    assert outcome.completeness(job.total_changed_objects, before=len(first.items)) is Completeness.COMPLETE
