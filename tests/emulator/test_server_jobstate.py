"""The job state machine with an explicit clock: phases, durations, cancel, retention."""

from __future__ import annotations

from datetime import timedelta

import pytest

from entrabr_tui.emulator.directory import ChangeRecord, FailedChange, RecoveryOutcome, Scope
from entrabr_tui.emulator.graph_errors import GraphError
from entrabr_tui.emulator.jobs import PREVIEW, RECOVERY, Job, JobStore, loading_seconds
from entrabr_tui.emulator.views import job_json

from .tenant_helpers import T0, change_records


def _store(speed: float = 1.0) -> JobStore:
    store = JobStore(seed=3, job_speed=speed, retention_days=7)
    store.tenant_objects = 2000
    return store


def _calculated(job: Job) -> tuple[int | None, int | None]:
    """The published counts, read afresh (the job object changes under the store's steps)."""
    return job.objects_calculated, job.links_calculated


def _job(store: JobStore, kind: str = PREVIEW, snapshot: str = "S1") -> Job:
    return store.create(kind=kind, snapshot_id=snapshot, target=T0 - timedelta(hours=10), scope=None,
                        criteria=None, now=T0)


def test_preview_phases_with_documented_durations() -> None:
    store = _store()
    job = _job(store)
    assert job.status == "initialized"
    assert store.step(job, T0 + timedelta(seconds=14)) is None and job.status == "initialized"
    assert store.step(job, T0 + timedelta(seconds=15)) is None
    assert job.status == "loadingData"
    loaded = T0 + timedelta(seconds=15 + loading_seconds(2000))
    assert store.step(job, loaded - timedelta(seconds=1)) is None and job.status == "loadingData"
    work = store.step(job, loaded)
    assert work is not None and work.kind == "diff" and job.status == "calculating"
    assert store.step(job, loaded + timedelta(days=1)) is None          # busy: waits for the diff
    records = change_records(20_000, links=4)                                  # 100,000 changes
    store.finish_diff(job, records, store.generation)
    assert job.objects_calculated is None                                # not published until the end
    calc_end = loaded + timedelta(minutes=45)
    assert store.step(job, calc_end - timedelta(seconds=1)) is None and job.status == "calculating"
    assert store.step(job, calc_end) is None
    assert job.status == "successful" and job.completed == calc_end
    assert _calculated(job) == (20_000, 80_000)


def test_loading_only_for_the_first_job_of_a_snapshot() -> None:
    store = _store(speed=1e6)
    first = _job(store)
    later = T0 + timedelta(days=1)
    work = store.step(first, later)
    assert work is not None and "S1" in store.loaded
    store.finish_diff(first, change_records(3), store.generation)
    store.step(first, later)
    assert first.status == "successful"
    second = store.create(kind=RECOVERY, snapshot_id="S1", target=T0, scope=None, criteria=None, now=later)
    store.step(second, later + timedelta(seconds=15 / 1e6))
    assert second.status == "calculating"
    third_store = _store()
    other = _job(third_store, snapshot="S2")
    third_store.step(other, T0 + timedelta(seconds=15))
    assert other.status == "loadingData"


def _running(store: JobStore, records: list[ChangeRecord]) -> Job:
    """A recovery job that has entered ``running`` with ``records`` as its calculated changes."""
    job = _job(store, RECOVERY)
    store.loaded.add("S1")
    work = store.step(job, T0 + timedelta(seconds=1))
    assert work is not None and work.kind == "diff"
    store.finish_diff(job, records, store.generation)
    assert job.phase_end is not None
    assert store.step(job, job.phase_end) is None and job.status == "running"
    return job


def test_recovery_applies_progressively_while_running() -> None:
    store = _store(speed=1000)
    job = _running(store, change_records(10_000, links=4))                # 50,000 object + link units
    assert job.phase_start is not None and job.phase_end is not None
    assert job.phase_end - job.phase_start == timedelta(seconds=30 * 3600 / 10 / 1000)
    doc = job_json(job, True)
    assert (doc["totalObjectsModified"], doc["totalLinksModified"], doc["totalFailedChanges"]) == (0, 0, None)
    quarter = job.phase_start + (job.phase_end - job.phase_start) / 4
    work = store.step(job, quarter)
    assert work is not None and work.kind == "recover" and work.upto == 2500
    assert work.scope is not None and work.scope.ids is not None
    assert sum(len(v) for v in work.scope.ids.values()) == 2500
    assert store.step(job, quarter) is None                          # busy: that part is being applied
    before = store.generation
    store.finish_recovery(job, RecoveryOutcome(2500, 10_000, ()), work.upto)
    assert store.generation == before + 1 and job.applied == 2500 and job.status == "running"
    assert store.step(job, quarter) is None                          # nothing more is due yet
    doc = job_json(job, True)
    assert (doc["totalObjectsModified"], doc["totalLinksModified"], doc["totalFailedChanges"]) == (
        2500, 10_000, None)
    work_end = job.phase_end
    work = store.step(job, work_end)
    assert work is not None and work.upto == 10_000
    assert work.scope is not None and work.scope.ids is not None
    assert sum(len(v) for v in work.scope.ids.values()) == 7500
    failure = FailedChange(record=change_records(1)[0], message="nope", units=1, body=b"{}")
    store.finish_recovery(job, RecoveryOutcome(7499, 29_996, (failure,)), work.upto)
    assert job.status == "running"                                   # finished by the next step
    assert store.step(job, job.phase_end + timedelta(hours=1)) is None
    assert job.status == "successful" and job.completed == work_end
    doc = job_json(job, True)
    assert (doc["totalObjectsModified"], doc["totalLinksModified"], doc["totalFailedChanges"]) == (
        9_999, 39_996, 1)


def test_recovery_with_only_failures_fails() -> None:
    store = _store(speed=1000)
    job = _running(store, change_records(1))
    end = job.phase_end
    assert end is not None
    work = store.step(job, end)
    assert work is not None and work.upto == 1
    failure = FailedChange(record=change_records(1)[0], message="nope", units=1, body=b"{}")
    store.finish_recovery(job, RecoveryOutcome(0, 0, (failure,)), work.upto)
    store.step(job, end)
    assert job.status == "failed" and job.completed == end


def test_recovery_applies_restores_first() -> None:
    actions = [("group", "update"), ("user", "softDelete"), ("group", "restore"), ("user", "restore"),
               ("user", "update")]
    records = [ChangeRecord(id=f"id-{i}", entity_type=t, action=a, display_name="x", body=b"{}", link_count=0)
               for i, (t, a) in enumerate(actions)]
    store = _store(speed=1000)
    job = _running(store, records)
    assert job.order == [3, 2, 4, 0, 1]
    assert job.phase_start is not None and job.phase_end is not None
    work = store.step(job, job.phase_start + (job.phase_end - job.phase_start) * 0.4)
    assert work is not None and work.scope is not None and work.scope.ids is not None
    assert {i for ids in work.scope.ids.values() for i in ids} == {"id-3", "id-2"}


def test_preview_and_unstarted_recovery_totals_are_null() -> None:
    store = _store()
    recovery = _job(store, RECOVERY)
    doc = job_json(recovery, False)
    totals = ("totalObjectsModified", "totalLinksModified", "totalFailedChanges")
    assert [doc[k] for k in totals] == [None] * 3
    assert "totalObjectsModified" not in job_json(_job(_store()), False)


def test_stale_diff_is_recomputed_at_the_end_of_calculating() -> None:
    store = _store(speed=1e6)
    job = _job(store)
    store.loaded.add("S1")
    store.step(job, T0 + timedelta(seconds=1))
    store.finish_diff(job, change_records(5), store.generation)
    store.generation += 1                                         # the tenant changed meanwhile
    work = store.step(job, T0 + timedelta(seconds=1))
    assert work is not None and work.kind == "diff" and job.status == "calculating"
    store.finish_diff(job, change_records(2), store.generation)
    store.step(job, T0 + timedelta(seconds=1))
    assert job.status == "successful" and job.objects_calculated == 2


def test_one_active_job_and_cancel() -> None:
    store = _store()
    job = _job(store)
    with pytest.raises(GraphError) as err:
        _job(store, RECOVERY)
    assert err.value.status == 409
    assert store.cancel_plan(job, T0 + timedelta(seconds=3)) is None
    assert job.status == "abandoned" and job.completed == T0 + timedelta(seconds=3)
    assert _job(store, RECOVERY).status == "initialized"


def test_cancelling_a_running_recovery_applies_the_part_done() -> None:
    store = _store()
    job = _job(store, RECOVERY)
    store.loaded.add("S1")
    store.step(job, T0 + timedelta(seconds=15))
    store.finish_diff(job, change_records(1000), store.generation)
    store.step(job, T0 + timedelta(seconds=15 + 120))
    assert job.status == "running" and job.phase_start is not None and job.phase_end is not None
    quarter = job.phase_start + (job.phase_end - job.phase_start) / 4
    work = store.cancel_plan(job, quarter)
    assert work is not None and work.kind == "partial" and isinstance(work.scope, Scope)
    assert work.scope.ids is not None and sum(len(v) for v in work.scope.ids.values()) == 250
    store.finish_cancel(job, RecoveryOutcome(250, 0, ()), quarter)
    assert job.status == "abandoned" and job.outcome is not None and job.outcome.objects_modified == 250


def test_retention_and_aged_out_snapshots() -> None:
    store = _store(speed=1e6)
    done = _job(store)
    done.status, done.completed = "successful", T0
    running = store.create(kind=PREVIEW, snapshot_id="S2", target=T0, scope=None, criteria=None, now=T0)
    store.purge(T0 + timedelta(days=7) - timedelta(seconds=1), ["S1", "S2"])
    assert set(store.jobs) == {done.id, running.id}
    store.purge(T0 + timedelta(days=7), ["S1", "S2"])
    assert set(store.jobs) == {running.id}
    store.purge(T0 + timedelta(days=7), ["S1"])
    assert store.jobs == {}


def test_speed_divides_durations() -> None:
    slow, fast = _store(1.0), _store(1000.0)
    a, b = _job(slow), _job(fast)
    assert a.phase_end is not None and b.phase_end is not None
    assert (a.phase_end - T0) == 1000 * (b.phase_end - T0)
