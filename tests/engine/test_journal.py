"""The job journal: a crash between the POST and the journal update is reconciled, never resubmitted."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from entrabr_tui.core.model import (
    EntityNameAndIdsFilter,
    EntityNamesFilter,
    Job,
    JobKind,
    RecoveryStatus,
    snapshot_id_for,
)
from entrabr_tui.emulator import EmulatorServer
from entrabr_tui.engine.errors import InterruptedRestoreError
from entrabr_tui.engine.journal import Journal, match_intent
from entrabr_tui.engine.session import Session
from entrabr_tui.graph.client import RecoveryClient
from entrabr_tui.store import Cache, HistoryAction, IntentStatus, JournalIntent, StorePaths

from .conftest import FAST, Sleeper, control, jobs_of

OpenSession = Callable[..., Awaitable[Session]]


def report_ref(plan: Any) -> str:
    assert plan.report is not None
    return str(plan.report.id)


class SimulatedCrash(Exception):
    """Stands for the process dying at this point."""


async def _queued_plan(session: Session) -> Any:
    snapshot = await session.resolve_snapshot("latest")
    report = await session.ensure_report(snapshot, None)
    users = [r.object_id for r in session.page(report.id, entity_type="user", action="update", limit=5,
                                               on_prem=False)]
    assert len(users) == 5
    session.mark(report.id, users)
    return session.plan(report.id)


async def test_crash_between_the_post_and_the_journal_update_is_reconciled_not_resubmitted(
    open_session: OpenSession, graph: RecoveryClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = await open_session()
    plan = await _queued_plan(session)
    assert plan.batch_count == 1

    def crash(self: Journal, intent: JournalIntent, job_id: str) -> JournalIntent:
        raise SimulatedCrash(job_id)

    with monkeypatch.context() as patch:
        patch.setattr(Journal, "submitted", crash)
        with pytest.raises(SimulatedCrash):
            await session.restore(plan)
    [created] = await jobs_of(graph, JobKind.RECOVERY)
    [pending] = session.cache.journal.pending_intents()
    assert pending.kind is JobKind.RECOVERY and pending.job_id is None
    await session.aclose()

    restarted = await open_session()  # opening reconciles the journal at once

    assert restarted.recovered is not None
    [(adopted, job)] = restarted.recovered.adopted
    assert adopted.id == pending.id and job.id == created.id
    entry = restarted.cache.journal.entry(pending.id)
    assert entry is not None and entry.job_id == created.id
    # The restore is offered as interrupted (even when its one batch is recorded already): resuming it
    # reports what the job did and never sends the batch again.
    interrupted = restarted.interrupted_restore()
    assert interrupted is not None and interrupted.batch_count == 1
    result = await restarted.resume_restore()
    assert [j.id for j in result.jobs] == [created.id] and result.outcome == "succeeded"
    assert result.objects_modified == 5
    entry = restarted.cache.journal.entry(pending.id)
    assert entry is not None and entry.status is IntentStatus.DONE
    # The history names the job that did the work, with its counts and outcome.
    finished = [e for e in restarted.history(actions=["restore-finished"]) if e.job_id == created.id]
    assert finished and finished[0].outcome == "successful"
    assert finished[0].counts.get("objectsModified") == 5
    assert [j.id for j in await jobs_of(graph, JobKind.RECOVERY)] == [created.id]  # exactly one, ever
    assert restarted.queue(report_ref(plan)) == []  # the restored objects left the queue
    assert restarted.interrupted_restore() is None
    assert (await restarted.resume()).restores == []


async def test_a_post_that_never_left_is_sent_once_when_the_job_list_proves_it(
    open_session: OpenSession, graph: RecoveryClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = await open_session()
    plan = await _queued_plan(session)

    async def crash_before_sending(self: RecoveryClient, *args: Any, **kwargs: Any) -> Any:
        raise SimulatedCrash("killed before the request was sent")

    with monkeypatch.context() as patch:
        patch.setattr(RecoveryClient, "create_recovery_job", crash_before_sending)
        with pytest.raises(SimulatedCrash):
            await session.restore(plan)
    await session.aclose()

    restarted = await open_session()

    # Just after the request, its absence from the job list proves nothing yet: it stays pending.
    assert restarted.recovered is not None and restarted.recovered.adopted == []
    [unsettled] = restarted.recovered.unsettled
    interrupted = restarted.interrupted_restore()
    assert interrupted is not None and interrupted.text == "An interrupted restore: 0 of 1 batches done"
    assert interrupted.blocked is not None and interrupted.blocked.intent == unsettled
    with pytest.raises(InterruptedRestoreError):
        await restarted.restore(plan)  # a new plan cannot run alongside it
    assert await jobs_of(graph, JobKind.RECOVERY) == []

    result = await restarted.resume_restore()  # waits until the job list proves it, then sends it once

    entry = restarted.cache.journal.entry(unsettled.id)
    assert entry is not None and entry.status is IntentStatus.NOT_RECEIVED and entry.job_id is None
    assert "never received" in (entry.message or "")
    [job] = await jobs_of(graph, JobKind.RECOVERY)
    assert [j.id for j in result.jobs] == [job.id] and result.outcome == "succeeded"
    assert restarted.interrupted_restore() is None


async def test_an_old_request_the_job_list_cannot_vouch_for_is_never_resent(
    open_session: OpenSession, graph: RecoveryClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = await open_session()
    plan = await _queued_plan(session)

    async def crash_before_sending(self: RecoveryClient, *args: Any, **kwargs: Any) -> Any:
        raise SimulatedCrash("killed before the request was sent")

    with monkeypatch.context() as patch:
        patch.setattr(RecoveryClient, "create_recovery_job", crash_before_sending)
        with pytest.raises(SimulatedCrash):
            await session.restore(plan)
    [pending] = session.cache.journal.pending_intents()
    old = (datetime.now(UTC) - timedelta(days=6)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    session.cache.db.conn.execute("UPDATE restore_intent SET created = ? WHERE id = ?", (old, pending.id))
    await session.aclose()

    restarted = await open_session()

    assert restarted.recovered is not None
    [unconfirmed] = restarted.recovered.unconfirmed
    entry = restarted.cache.journal.entry(unconfirmed.id)
    assert entry is not None and entry.status is IntentStatus.UNCONFIRMED and entry.job_id is None
    assert "not sent again" in (entry.message or "")
    result = await restarted.resume_restore()
    assert result.error is not None and "not sent again" in result.error
    assert await jobs_of(graph, JobKind.RECOVERY) == []
    assert restarted.history(actions=["restore-finished"])[0].outcome == "stopped"


async def test_a_report_started_before_a_crash_is_picked_up_and_downloaded(
    open_session: OpenSession,
    graph: RecoveryClient,
    emulator: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
    sleeper: Sleeper,
) -> None:
    session = await open_session()
    snapshot = await session.resolve_snapshot("latest")
    control(emulator, "config", {"job_speed": 1.0})  # the report would run for an hour

    async def crash_while_polling(*args: Any, **kwargs: Any) -> Job:
        raise SimulatedCrash("killed while polling")

    assert session.runner is not None
    monkeypatch.setattr(session.runner, "watch", crash_while_polling)
    with pytest.raises(SimulatedCrash):
        await session.ensure_report(snapshot, EntityNamesFilter(("group",)))
    await session.aclose()
    control(emulator, "config", {"job_speed": FAST})

    restarted = await open_session()

    async def a_day_passes(polls: int) -> None:
        if polls == 1:
            control(emulator, "advance", {"days": 1})

    sleeper.hook = a_day_passes
    resumed = await restarted.resume()

    [report] = resumed.reports
    [job] = await jobs_of(graph, JobKind.PREVIEW)
    assert report.id == job.id and report.complete
    assert report.downloaded == len(await graph.get_changes(snapshot, job.id))
    assert restarted.journal.owns(job.id)


async def test_a_report_picked_up_after_a_crash_has_its_sync_status_looked_up(
    open_session: OpenSession,
    emulator: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
    sleeper: Sleeper,
) -> None:
    session = await open_session()
    snapshot = await session.resolve_snapshot("latest")
    control(emulator, "config", {"job_speed": 1.0})  # the report would run for an hour

    async def crash_while_polling(*args: Any, **kwargs: Any) -> Job:
        raise SimulatedCrash("killed while polling")

    assert session.runner is not None
    monkeypatch.setattr(session.runner, "watch", crash_while_polling)
    with pytest.raises(SimulatedCrash):
        await session.ensure_report(snapshot, EntityNamesFilter(("user", "group")))
    await session.aclose()
    control(emulator, "config", {"job_speed": FAST})
    restarted = await open_session()

    async def a_day_passes(polls: int) -> None:
        if polls == 1:
            control(emulator, "advance", {"days": 1})

    sleeper.hook = a_day_passes
    [report] = (await restarted.resume()).reports

    assert report.complete and restarted.cache.sync.pending(report.report_id) == []
    [checked] = restarted.history(actions=[HistoryAction.SYNC_STATUS_CHECKED])
    assert checked.job_id == report.id and checked.outcome == "done" and checked.counts["asked"] > 0


def _matched_id(job: Job | None) -> str | None:
    return job.id if job is not None else None


def _intent(created: datetime, scope: Any = None, kind: JobKind = JobKind.RECOVERY) -> JournalIntent:
    target = datetime(2026, 3, 20, 22, tzinfo=UTC)
    return JournalIntent(
        id=1, tenant_id="t", kind=kind, snapshot_id=snapshot_id_for(target), target_state=target, scope=scope,
        scope_key="", report_id=None, run_id=None, batch=None, batch_count=None, label=None, created=created,
        status=IntentStatus.PENDING, status_raw="pending", job_id=None, job_set_at=None, updated=created,
        message=None,
    )


def _job(job_id: str, started: datetime, scope: Any = None, kind: JobKind = JobKind.RECOVERY,
         target: datetime | None = None) -> Job:
    return Job(kind=kind, id=job_id, status=RecoveryStatus.RUNNING, status_raw="running",
               target_state=target or datetime(2026, 3, 20, 22, tzinfo=UTC), started=started, filtering=scope)


def test_match_intent_takes_the_earliest_job_at_or_after_the_intent() -> None:
    at = datetime(2026, 3, 21, 9, 0, 30, tzinfo=UTC)
    scope = EntityNameAndIdsFilter((("user", ("A", "b")),))
    same_scope = EntityNameAndIdsFilter((("user", ("B", "a")),))  # order and case do not matter
    jobs = [
        _job("too-early", at - timedelta(minutes=10), scope),
        _job("other-scope", at + timedelta(seconds=1), EntityNamesFilter(("user",))),
        _job("other-backup", at + timedelta(seconds=1), scope, target=datetime(2026, 3, 19, 22, tzinfo=UTC)),
        _job("a-report", at + timedelta(seconds=1), scope, kind=JobKind.PREVIEW),
        _job("later", at + timedelta(seconds=40), same_scope),
        _job("ours", at - timedelta(seconds=1), same_scope),  # whole-second timestamps, small skew
    ]

    assert _matched_id(match_intent(_intent(at, scope), jobs)) == "ours"
    assert _matched_id(match_intent(_intent(at, scope), jobs, claimed=["ours"])) == "later"
    assert _matched_id(match_intent(_intent(at, scope), jobs, claimed=["OURS"])) == "ours"
    assert _matched_id(match_intent(_intent(at, scope), jobs, allowance=timedelta(0))) == "later"
    assert match_intent(_intent(at, None), jobs) is None


def test_journal_owns_jobs_it_journaled_or_flagged(paths: StorePaths) -> None:
    cache = Cache.open("tenant-x", paths=paths)
    try:
        journal = Journal(cache)
        intent = journal.intend(JobKind.RECOVERY, "MTc4NTE4OTYwMA==", None)
        journal.submitted(intent, "Job-One")
        assert journal.owns("Job-One") and not journal.owns("job-one")  # ids are opaque: compared exactly
        assert not journal.owns("job-two")
        cache.jobs.upsert(_job("job-two", datetime.now(UTC)), started_here=True)
        assert journal.owns("job-two")
    finally:
        cache.close()


async def test_a_restore_post_whose_answer_was_lost_adopts_the_job_it_created(
    open_session: OpenSession, graph: RecoveryClient, emulator: EmulatorServer
) -> None:
    session = await open_session()
    plan = await _queued_plan(session)
    control(emulator, "faults", {"kind": "drop", "count": 1, "match": "/recoveryJobs"})

    result = await session.restore(plan)

    [job] = await jobs_of(graph, JobKind.RECOVERY)
    assert [j.id for j in result.jobs] == [job.id] and result.outcome == "succeeded"
    [entry] = [i for i in session.cache.journal.entries() if i.kind is JobKind.RECOVERY]
    assert entry.job_id == job.id and entry.status is IntentStatus.DONE


async def test_a_restore_post_with_an_unknown_outcome_and_no_job_is_not_sent_again(
    open_session: OpenSession, graph: RecoveryClient, emulator: EmulatorServer
) -> None:
    from entrabr_tui.engine.errors import UnconfirmedIntentError

    session = await open_session()
    plan = await _queued_plan(session)
    control(emulator, "faults", {"kind": "504", "count": 1, "match": "/recoveryJobs"})

    with pytest.raises(UnconfirmedIntentError) as raised:
        await session.restore(plan)

    assert "not sent again" in str(raised.value)
    assert await jobs_of(graph, JobKind.RECOVERY) == []
    entry = session.cache.journal.entry(raised.value.intent_id)
    assert entry is not None and entry.status is IntentStatus.PENDING and entry.job_id is None
    assert session.history(actions=["restore-finished"])[0].outcome == "error"
    assert session.interrupted_restore() is not None  # the batch may have arrived: resumable, not replanned

    # Resumed, the earlier request is settled first (the job list proves it never arrived), then sent once.
    result = await session.resume_restore()

    assert result.outcome == "succeeded"
    assert [j.id for j in await jobs_of(graph, JobKind.RECOVERY)] == [result.jobs[0].id]
    settled = session.cache.journal.entry(raised.value.intent_id)
    assert settled is not None and settled.status is IntentStatus.NOT_RECEIVED


async def test_asking_again_after_a_lost_answer_tracks_the_job_instead_of_starting_another(
    open_session: OpenSession, graph: RecoveryClient, monkeypatch: pytest.MonkeyPatch
) -> None:

    session = await open_session()
    plan = await _queued_plan(session)

    def crash(self: Journal, intent: JournalIntent, job_id: str) -> JournalIntent:
        raise SimulatedCrash(job_id)

    with monkeypatch.context() as patch:
        patch.setattr(Journal, "submitted", crash)
        with pytest.raises(SimulatedCrash):
            await session.restore(plan)

    with pytest.raises(InterruptedRestoreError):
        await session.restore(plan)  # same session, no restart: the user simply tries again

    [job] = await jobs_of(graph, JobKind.RECOVERY)
    result = await session.resume_restore()  # the lost answer's job is found, followed, recorded
    assert [j.id for j in result.jobs] == [job.id]
    assert len(await jobs_of(graph, JobKind.RECOVERY)) == 1

