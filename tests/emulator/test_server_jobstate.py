"""The job state machine with an explicit clock: phases, durations, cancel, retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from entrabr_tui.emulator.directory import ChangeRecord, FailedChange, RecoveryOutcome, Scope
from entrabr_tui.emulator.graph_errors import GraphError
from entrabr_tui.emulator.jobs import PREVIEW, RECOVERY, Job, JobStore, loading_seconds

T0 = datetime(2026, 3, 21, 8, 0, tzinfo=UTC)


def _records(n: int, links: int = 0) -> list[ChangeRecord]:
    return [ChangeRecord(id=f"id-{i:05d}", entity_type="user" if i % 2 else "group", action="update",
                         display_name=f"Object {i}", body=b"{}", link_count=links) for i in range(n)]


def _store(speed: float = 1.0) -> JobStore:
    store = JobStore(seed=3, job_speed=speed, retention_days=7)
    store.tenant_objects = 2000
    return store


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
    records = _records(20_000, links=4)                                  # 100,000 changes
    store.finish_diff(job, records, store.generation)
    assert job.objects_calculated is None                                # not published until the end
    calc_end = loaded + timedelta(minutes=45)
    assert store.step(job, calc_end - timedelta(seconds=1)) is None and job.status == "calculating"
    assert store.step(job, calc_end) is None
    assert job.status == "successful" and job.completed == calc_end
    assert (job.objects_calculated, job.links_calculated) == (20_000, 80_000)


def test_loading_only_for_the_first_job_of_a_snapshot() -> None:
    store = _store(speed=1e6)
    first = _job(store)
    later = T0 + timedelta(days=1)
    work = store.step(first, later)
    assert work is not None and "S1" in store.loaded
    store.finish_diff(first, _records(3), store.generation)
    store.step(first, later)
    assert first.status == "successful"
    second = store.create(kind=RECOVERY, snapshot_id="S1", target=T0, scope=None, criteria=None, now=later)
    store.step(second, later + timedelta(seconds=15 / 1e6))
    assert second.status == "calculating"
    third_store = _store()
    other = _job(third_store, snapshot="S2")
    third_store.step(other, T0 + timedelta(seconds=15))
    assert other.status == "loadingData"


def test_recovery_runs_then_applies() -> None:
    store = _store(speed=1000)
    job = _job(store, RECOVERY)
    store.loaded.add("S1")
    work = store.step(job, T0 + timedelta(seconds=1))
    assert work is not None and work.kind == "diff"
    store.finish_diff(job, _records(10_000, links=4), store.generation)     # 50,000 changes
    calc_end = T0 + timedelta(seconds=0.015) + timedelta(seconds=45 * 60 / 2 / 1000)
    assert store.step(job, calc_end) is None and job.status == "running"
    run_end = calc_end + timedelta(seconds=30 * 3600 / 10 / 1000)
    assert store.step(job, run_end - timedelta(seconds=1)) is None
    work = store.step(job, run_end)
    assert work is not None and work.kind == "recover"
    before = store.generation
    failure = FailedChange(record=_records(1)[0], message="nope", units=1, body=b"{}")
    outcome = RecoveryOutcome(objects_modified=9_999, links_modified=40_000, failed=(failure,))
    store.finish_recovery(job, outcome)
    assert job.status == "successful" and job.completed == run_end and store.generation == before + 1
    only_failures = _job(_store(), RECOVERY)
    only_failures.status, only_failures.busy = "running", True
    _store().finish_recovery(only_failures, RecoveryOutcome(0, 0, (failure,)))
    assert only_failures.status == "failed"


def test_stale_diff_is_recomputed_at_the_end_of_calculating() -> None:
    store = _store(speed=1e6)
    job = _job(store)
    store.loaded.add("S1")
    store.step(job, T0 + timedelta(seconds=1))
    store.finish_diff(job, _records(5), store.generation)
    store.generation += 1                                         # the tenant changed meanwhile
    work = store.step(job, T0 + timedelta(seconds=1))
    assert work is not None and work.kind == "diff" and job.status == "calculating"
    store.finish_diff(job, _records(2), store.generation)
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
    store.finish_diff(job, _records(1000), store.generation)
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
