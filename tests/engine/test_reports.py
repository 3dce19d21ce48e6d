"""Difference reports through the engine against the emulator: create, reuse, resume, cancel, queue."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from entrabr_tui import engine
from entrabr_tui.core.model import EntityNamesFilter, Job, JobKind, RecoveryStatus
from entrabr_tui.emulator import EmulatorServer
from entrabr_tui.engine import Session
from entrabr_tui.engine.errors import JobEndedError
from entrabr_tui.engine.events import PHASE_DONE, PHASE_DOWNLOADING, PHASE_QUEUED, JobProgress
from entrabr_tui.graph.client import RecoveryClient
from entrabr_tui.graph.credentials import EmulatorCredential
from entrabr_tui.store import HistoryAction, StorePaths

from .conftest import FAST, Sleeper, control, jobs_of, settings_for

OpenSession = Callable[..., Awaitable[Session]]


async def test_report_is_created_then_reused_without_a_new_job(
    open_session: OpenSession, graph: RecoveryClient
) -> None:
    session = await open_session()
    snapshot = await session.resolve_snapshot("latest")
    events: list[JobProgress] = []

    first = await session.ensure_report(snapshot, None, events.append)

    expected = len(await graph.get_changes(snapshot, first.id))
    assert first.complete and not first.reused
    assert first.downloaded == expected > 0
    assert first.status is RecoveryStatus.SUCCESSFUL
    phases = [e.phase for e in events]
    assert phases[-1] == PHASE_DONE and PHASE_DOWNLOADING in phases
    statuses = [e for e in events if e.phase in {s.value for s in RecoveryStatus}]
    assert statuses and statuses[-1].phase == "successful"
    # First job on this backup: the documented loading hour plus at least a minute of calculation.
    assert all(e.expected is not None and e.expected >= 3660 for e in statuses)
    assert len(await jobs_of(graph, JobKind.PREVIEW)) == 1

    assert session.runner is not None
    listings = session.runner.list_jobs
    calls: list[int] = []

    async def counted() -> list[Job]:
        calls.append(1)
        return await listings()

    session.runner.list_jobs = counted  # type: ignore[method-assign]  # counts the listings it passes on
    again = await session.ensure_report(snapshot, None)

    assert calls == []  # served from the cache: not even the job list was asked for
    assert again.reused and again.id == first.id and again.downloaded == expected
    assert len(await jobs_of(graph, JobKind.PREVIEW)) == 1
    actions = [e.action for e in session.history(actions=[
        HistoryAction.REPORT_CREATED, HistoryAction.REPORT_REUSED, HistoryAction.REPORT_DOWNLOADED])]
    assert actions == ["report-reused", "report-downloaded", "report-created"]


async def test_a_successful_report_listed_by_the_service_is_reused_by_a_new_cache(
    open_session: OpenSession, graph: RecoveryClient
) -> None:
    snapshot = (await graph.list_snapshots())[0].id
    scope = EntityNamesFilter(("user",))
    created = await graph.create_preview_job(snapshot, scope)
    await graph.wait_for_job(JobKind.PREVIEW, snapshot, created.id, interval=0, max_polls=400)
    session = await open_session()

    info = await session.ensure_report(snapshot, EntityNamesFilter(("user",)))

    assert info.id == created.id and info.reused and info.complete
    assert info.downloaded == len(await graph.get_changes(snapshot, created.id))
    assert len(await jobs_of(graph, JobKind.PREVIEW)) == 1
    # A different scope is a different report.
    other = await session.ensure_report(snapshot, EntityNamesFilter(("group",)))
    assert other.id != created.id and not other.reused
    assert len(await jobs_of(graph, JobKind.PREVIEW)) == 2


async def test_download_resumes_from_the_stored_next_link(
    open_session: OpenSession, graph: RecoveryClient
) -> None:
    session = await open_session(page_size=7)
    snapshot = await session.resolve_snapshot("latest")
    pages_seen: list[int] = []

    def stop_after_two_pages(event: JobProgress) -> None:
        if event.phase == PHASE_DOWNLOADING:
            pages_seen.append(event.pages)
            if event.pages == 2:
                raise asyncio.CancelledError  # the app is closed mid-download

    with pytest.raises(asyncio.CancelledError):
        await session.ensure_report(snapshot, None, stop_after_two_pages)

    partial = session.reports(snapshot)[0]
    assert not partial.complete and partial.downloaded == 14
    stored = session.cache.reports.get(partial.report_id)
    assert stored is not None and stored.next_link is not None and "skiptoken" in stored.next_link.lower()

    resumed: list[JobProgress] = []
    info = await session.ensure_report(snapshot, None, resumed.append)

    changes = await graph.get_changes(snapshot, info.id)
    assert info.id == partial.id and info.complete and info.reused
    assert info.downloaded == len(changes)
    report = session.cache.reports.get(info.report_id)
    assert report is not None
    assert report.received_items == len(changes) and report.duplicate_items == 0
    downloads = [e for e in resumed if e.phase == PHASE_DOWNLOADING]
    total_pages = -(-len(changes) // 7)
    assert len(downloads) == total_pages - 2  # only the missing pages were fetched
    cached_ids = {row.object_id for row in session.page(info.id, limit=10_000)}
    assert cached_ids == {c.id for c in changes}
    assert len(await jobs_of(graph, JobKind.PREVIEW)) == 1


async def test_cancel_stops_the_running_report(
    open_session: OpenSession, graph: RecoveryClient, emulator: EmulatorServer, sleeper: Sleeper
) -> None:
    session = await open_session()
    snapshot = await session.resolve_snapshot("latest")
    control(emulator, "config", {"job_speed": 1.0})  # the report would now take an hour
    cancelled: list[str | None] = []

    async def cancel_once(polls: int) -> None:
        if session.runner is not None and session.runner.current is not None and not cancelled:
            cancelled.append(await session.cancel())

    sleeper.hook = cancel_once

    with pytest.raises(JobEndedError) as raised:
        await session.ensure_report(snapshot, None)

    job = raised.value.job
    assert cancelled == [job.id]
    assert job.status is RecoveryStatus.ABANDONED
    assert "cancelled" in str(raised.value)
    listed = {j.id: j for j in await graph.list_jobs()}
    assert listed[job.id].status is RecoveryStatus.ABANDONED
    entry = session.history(actions=[HistoryAction.CANCEL])[0]
    assert entry.job_id == job.id and entry.identity == "backup.admin@contoso.example"
    assert session.reports(snapshot) == []


async def test_queued_reports_run_one_after_another(
    open_session: OpenSession, graph: RecoveryClient
) -> None:
    session = await open_session()
    snapshot = await session.resolve_snapshot("latest")
    events: dict[str, list[JobProgress]] = {"user": [], "group": []}

    results = await asyncio.gather(*(
        session.ensure_report(snapshot, EntityNamesFilter((kind,)), events[kind].append)
        for kind in ("user", "group")
    ))

    assert all(r.complete and not r.reused for r in results)
    assert events["group"][0].phase == PHASE_QUEUED  # waited in the local queue, no 409
    previews = await jobs_of(graph, JobKind.PREVIEW)
    assert len(previews) == 2 and all(j.status is RecoveryStatus.SUCCESSFUL for j in previews)
    first, second = sorted(previews, key=lambda j: (j.started, j.completed))
    assert first.completed is not None and second.started is not None and first.completed <= second.started


@pytest.mark.parametrize("emulator", [{"deterministic_ids": True}], indirect=True)
async def test_a_reused_job_id_from_another_service_never_serves_stale_changes(
    emulator: EmulatorServer, open_session: OpenSession, paths: StorePaths
) -> None:
    first = await open_session()
    snapshot = await first.resolve_snapshot("latest")
    everything = await first.ensure_report(snapshot, None)
    await first.aclose()
    emulator.stop()

    # same seed and deterministic ids: the same job ids
    with EmulatorServer(seed=11, objects=2000, job_speed=FAST, deterministic_ids=True) as again:
        second = await engine.open_session(settings_for(again), paths=paths, sleep=Sleeper())
        credential = EmulatorCredential(again.base_url, "admin")
        try:
            users = await second.ensure_report(snapshot, EntityNamesFilter(("user",)))
            assert users.id == everything.id  # the new service handed out the same id
            async with RecoveryClient(credential, again.graph_url()) as other:
                expected = await other.get_changes(snapshot, users.id)
            assert users.downloaded == len(expected) < everything.downloaded
            assert {r.entity_type_raw for r in second.page(users.id, limit=10_000)} == {"user"}
        finally:
            await second.aclose()
            await credential.close()


async def test_a_long_wait_rides_out_service_errors_while_polling(
    open_session: OpenSession, graph: RecoveryClient, emulator: EmulatorServer
) -> None:
    session = await open_session()
    snapshot = await session.resolve_snapshot("latest")
    # Six attempts per read (the client's own retries): the first read and two polls fail, then the
    # service recovers on the third poll's second attempt.
    control(emulator, "faults", {"kind": "503", "count": 19, "match": "recoveryPreviewJobs/"})
    events: list[JobProgress] = []

    info = await session.ensure_report(snapshot, None, events.append)

    assert info.complete and info.downloaded == len(await graph.get_changes(snapshot, info.id))
    blips = [e for e in events if "could not check" in e.text and e.retry is None]
    assert len(blips) == 2 and "Trying again" in blips[0].text
    # Every wait before a retry shows in the progress: five per failed read (the sixth try gives up), and
    # one before the third poll's second try.
    waits = [e.retry for e in events if e.retry is not None]
    assert len(waits) == 3 * 5 + 1 and {w.reason for w in waits} == {"HTTP 503"}
    assert len(await jobs_of(graph, JobKind.PREVIEW)) == 1
