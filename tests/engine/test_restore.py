"""Restores through the session: the demo tenant restored and confirmed by a fresh report, failures and
their retry, a Reader refused with the role it needs, and an offline session served from the cache."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest

from entrabr_tui import engine
from entrabr_tui.core.model import EntityNameAndIdsFilter, JobKind, RecoveryStatus
from entrabr_tui.emulator import EmulatorServer
from entrabr_tui.engine import Session, open_demo
from entrabr_tui.engine.errors import OfflineError
from entrabr_tui.engine.events import RestoreProgress
from entrabr_tui.engine.interrupted import BatchPhase
from entrabr_tui.engine.settings import SessionSettings
from entrabr_tui.engine.timing import PollPolicy
from entrabr_tui.graph import errors as graph_errors
from entrabr_tui.graph.client import RecoveryClient
from entrabr_tui.graph.errors import ForbiddenError
from entrabr_tui.store import HistoryAction, StorePaths

from .conftest import FAST, MAX_POLLS, Sleeper, control, jobs_of

OpenSession = Callable[..., Awaitable[Session]]


async def test_full_restore_of_the_demo_tenant_is_confirmed_by_a_fresh_report(
    paths: StorePaths, sleeper: Sleeper
) -> None:
    session = await open_demo(role="admin", objects=2000, job_speed=FAST, paths=paths, sleep=sleeper,
                              poll=PollPolicy(max_polls=MAX_POLLS), page_size=50)
    try:
        snapshot = await session.resolve_snapshot("latest")
        before = await session.ensure_report(snapshot, None)
        assert session.mark_where(before.id) == before.downloaded
        plan = session.plan(before.id)
        assert plan.total > 0 and plan.batch_count >= 1
        progress: list[RestoreProgress] = []

        result = await session.restore(plan, progress.append)

        failed_ids = {c.id for c in result.failed}
        assert result.complete and result.outcome == "completed with failures"
        assert result.objects_modified + len(failed_ids) >= plan.total
        assert all(c.failure_message for c in result.failed)
        assert {p.batch for p in progress} == set(range(1, plan.batch_count + 1))
        assert all(p.batch_count == plan.batch_count for p in progress)
        after = await session.ensure_report(snapshot, None, fresh=True)
        assert after.id != before.id and not after.reused
        excluded_ids = {e.id for e in plan.excluded_objects}
        remaining = session.page(after.id, limit=10_000)
        assert 0 < len(remaining) < before.downloaded
        # Only what recovery cannot do is left: on-premises synced objects, or changes that failed.
        assert all(row.object_id in failed_ids | excluded_ids for row in remaining)
        assert all(row.on_premises_synced or row.object_id in failed_ids for row in remaining)
        # The restored objects left the queue; the failed and excluded ones stayed for a retry.
        assert {q.id for q in session.queue(before.id)} == failed_ids | excluded_ids
        actions = [e.action for e in session.history()]
        assert actions.count("restore-submitted") == plan.batch_count
        assert {"restore-planned", "restore-finished", "objects-marked", "sign-in"} <= set(actions)
        finished = session.history(actions=[HistoryAction.RESTORE_FINISHED])[0]
        assert finished.counts["objectsModified"] == result.objects_modified
        assert finished.identity == "backup.admin@contoso.example" and "eyJ" not in repr(finished)
    finally:
        await session.aclose()
    assert session.emulator is not None and session.emulator._thread is None  # the demo stopped its emulator


async def test_failures_are_kept_and_the_retry_plan_keeps_only_what_can_be_recovered(
    open_session: OpenSession, graph: RecoveryClient
) -> None:
    session = await open_session()
    snapshot = await session.resolve_snapshot("latest")
    report = await session.ensure_report(snapshot, None)
    session.mark_where(report.id, entity_type="group")
    session.mark_where(report.id, entity_type="user", on_prem=True)
    plan = session.plan(report.id, allow_whole_type=False)
    assert all(isinstance(b, EntityNameAndIdsFilter) for b in plan.plan.batches)

    result = await session.restore(plan)

    assert result.failed and all(c.failure_message for c in result.failed)
    assert sum(len(session.failed_changes(job.id)) for job in result.jobs) == len(result.failed)
    retry = session.retry_plan(result, plan)
    synced = {row.object_id for row in session.page(report.id, on_prem=True, limit=10_000)}
    expected = {c.id for c in result.failed} - synced
    assert set(retry.ids) == expected and expected
    assert all(isinstance(b, EntityNameAndIdsFilter) for b in retry.plan.batches)
    again = await session.restore(retry)
    # The member is still gone: the retry fails the same way, and says so.
    assert {c.id for c in again.failed} == expected
    assert {c.failure_message for c in again.failed} == {c.failure_message for c in result.failed}
    assert len(await jobs_of(graph, JobKind.RECOVERY)) == plan.batch_count + retry.batch_count


async def test_a_reader_is_refused_a_restore_by_the_service_with_the_role_it_needs(
    open_session: OpenSession, graph: RecoveryClient
) -> None:
    admin = await open_session("admin")
    snapshot = await admin.resolve_snapshot("latest")
    await admin.ensure_report(snapshot, None)
    await admin.aclose()
    reader = await open_session("reader")
    assert not reader.capabilities.can_restore  # the token's hint; the session refuses nothing on it

    report = await reader.ensure_report(snapshot, None)  # reading and reusing reports is allowed
    # The live role definition gives Entra Backup Reader backup/preview/create: a fresh report runs.
    fresh = await reader.ensure_report(snapshot, None, fresh=True)
    assert fresh.id != report.id and fresh.complete
    marked = reader.mark_where(fresh.id, entity_type="user")
    plan = reader.plan(fresh.id)
    with pytest.raises(ForbiddenError) as raised:
        await reader.restore(plan)

    # The service said no (HTTP 403); the message names the role it wants and who was signed in.
    assert raised.value.status == 403
    assert "Entra Backup Administrator" in str(raised.value) and "Entra Backup Reader" in str(raised.value)
    assert "Entra Backup Administrator" in raised.value.needs
    assert await jobs_of(graph, JobKind.RECOVERY) == []
    assert len(await jobs_of(graph, JobKind.PREVIEW)) == 2
    refused = reader.history(actions=[HistoryAction.RESTORE_FINISHED])[0]
    assert refused.outcome == "refused" and "Entra Backup Administrator" in (refused.detail or "")
    assert len(reader.queue(fresh.id)) == marked > 0  # nothing ran: the queue is as it was
    entry = reader.history(actions=[HistoryAction.SIGN_IN])[0]
    assert entry.identity == "backup.reader@contoso.example"


async def test_a_refused_report_is_logged_and_leaves_no_report(
    open_session: OpenSession, graph: RecoveryClient
) -> None:
    # However the token reads, the service may refuse (a permission not consented, a role removed since).
    refusing = await open_session("reader")
    snapshot = await refusing.resolve_snapshot("latest")
    before = refusing.reports()
    assert refusing.reports_manager is not None

    async def refuse(*_args: object, **_options: object) -> None:
        raise graph_errors.for_status(graph_errors.ResponseInfo(403, "Forbidden", "Requires the permission."),
                                      graph_errors.CREATE_PREVIEW)

    assert refusing.client is not None
    refusing.client.create_preview_job = refuse  # type: ignore[method-assign,assignment]  # the service refuses
    with pytest.raises(ForbiddenError) as raised:
        await refusing.ensure_report(snapshot, None, fresh=True)
    assert "Creating a difference report was refused" in str(raised.value)
    assert "Entra Backup Reader" in str(raised.value)
    assert refusing.reports() == before  # no report was begun, not even an empty one
    logged = refusing.history(actions=[HistoryAction.REPORT_CREATED])[0]
    assert logged.outcome == "refused" and logged.snapshot_id == snapshot
    assert await jobs_of(graph, JobKind.PREVIEW) == []


async def test_offline_session_serves_a_cached_report_with_no_server(
    emulator: EmulatorServer, open_session: OpenSession, paths: StorePaths
) -> None:
    online = await open_session()
    snapshot = await online.resolve_snapshot("latest")
    report = await online.ensure_report(snapshot, None)
    jobs_online = await online.jobs()
    names = {r.object_id: r.display_name for r in online.page(report.id, limit=10_000)}
    await online.aclose()
    emulator.stop()

    offline = await engine.open_session(SessionSettings(offline=True), paths=paths)
    try:
        assert offline.offline and offline.identity == "backup.admin@contoso.example"
        entries = await offline.snapshots()
        assert entries[0].snapshot.id == snapshot and entries[0].report is not None
        assert entries[0].report.id == report.id
        cached = await offline.ensure_report(snapshot, None)
        assert cached.id == report.id and cached.reused and cached.downloaded == report.downloaded
        assert {r.object_id: r.display_name for r in offline.page(report.id, limit=10_000)} == names
        assert [j.id for j in await offline.jobs()] == [j.id for j in jobs_online]
        assert (await offline.resolve_snapshot("latest")) == snapshot
        with pytest.raises(OfflineError, match="offline"):
            await offline.ensure_report(snapshot, None, fresh=True)
        offline.mark(report.id, list(names)[:3])
        with pytest.raises(OfflineError):
            await offline.restore(offline.plan(report.id))
        with pytest.raises(OfflineError):
            await offline.cancel()
        assert offline.history(actions=[HistoryAction.REPORT_REUSED])[0].job_id == report.id
    finally:
        await offline.aclose()


# The engine learns which objects are synchronised from on-premises from the change objects only, so
# the emulator is asked to flag them there (Microsoft's examples do not).
@pytest.mark.parametrize("emulator", [{"sync_flag_in_changes": True}], indirect=True)
async def test_restore_progress_and_summary_name_every_batch(open_session: OpenSession) -> None:
    session = await open_session()
    snapshot = await session.resolve_snapshot("latest")
    report = await session.ensure_report(snapshot, None)
    ids = [r.object_id for r in session.page(report.id, entity_type="user", action="update", on_prem=False,
                                             limit=10_000)]
    session.mark(report.id, ids)
    plan = session.plan(report.id, allow_whole_type=False)
    events: list[RestoreProgress] = []

    result = await session.restore(plan, events.append)

    assert [b.batch for b in result.batches] == list(range(1, plan.batch_count + 1))
    assert all(b.job is not None and b.job.status is RecoveryStatus.SUCCESSFUL for b in result.batches)
    assert result.objects_modified == len(ids) and result.outcome == "succeeded"
    assert events[-1].text.startswith("Restore succeeded")
    assert session.queue(report.id) == []


async def test_an_error_while_watching_the_first_batch_leaves_the_run_resumable_and_recorded(
    open_session: OpenSession, graph: RecoveryClient, emulator: EmulatorServer
) -> None:
    session = await open_session()
    snapshot = await session.resolve_snapshot("latest")
    report = await session.ensure_report(snapshot, None)
    ids = [r.object_id for r in session.page(report.id, limit=10_000, recoverable=True)]
    session.mark(report.id, ids)
    plan = session.plan(report.id, allow_whole_type=False)
    assert plan.batch_count >= 2
    faulted: list[str] = []
    control(emulator, "config", {"job_speed": 1})  # the first batch's job is still running when first read

    def on_progress(event: RestoreProgress) -> None:
        # Once the first batch's job exists, every read of it fails: the wait gives up with a service error.
        if event.job_id is not None and not faulted:
            faulted.append(event.job_id)
            control(emulator, "faults", {"kind": "503", "count": 1000, "match": "recoveryJobs/"})

    result = await session.restore(plan, on_progress)

    httpx.delete(f"{emulator.base_url}/_emulator/faults", timeout=10).raise_for_status()
    assert result.outcome == "stopped" and result.error is not None and "Batch 1 of" in result.error
    assert [b.skipped for b in result.batches[1:]] == [True] * (plan.batch_count - 1)
    [created] = await jobs_of(graph, JobKind.RECOVERY)
    assert faulted == [created.id]
    interrupted = session.interrupted_restore()  # the later batches are still offered
    assert interrupted is not None and interrupted.batch_count == plan.batch_count
    assert [s.phase for s in interrupted.states] == [BatchPhase.SENT] + [BatchPhase.TO_DO] * (
        plan.batch_count - 1)
    finished = session.history(actions=[HistoryAction.RESTORE_FINISHED])[0]
    assert finished.outcome == "stopped" and "Batch 1 of" in (finished.detail or "")

    control(emulator, "config", {"job_speed": FAST})
    control(emulator, "advance", {"days": 1})  # the service catches up: the first batch's job ends

    resumed = await session.resume_restore()

    assert resumed.complete, resumed.summary
    assert len(resumed.jobs) == plan.batch_count
    jobs = await jobs_of(graph, JobKind.RECOVERY)
    assert len(jobs) == plan.batch_count and [j.id for j in jobs].count(created.id) == 1  # never sent twice
    assert session.interrupted_restore() is None
