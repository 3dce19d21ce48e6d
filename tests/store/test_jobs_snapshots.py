"""Snapshots (first seen, expected expiry, retention), jobs of both kinds, and archiving what expired."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from entrabr_tui.core.model import (
    EntityNameAndIdsFilter,
    EntityNamesFilter,
    FilteringCriteria,
    Job,
    JobKind,
    Snapshot,
    snapshot_id_for,
)
from entrabr_tui.store.cache import Cache
from entrabr_tui.store.codec import scope_key
from entrabr_tui.store.records import DEFAULT_RETENTION
from entrabr_tui.store.tenant_store import derive_retention

from .synth import make_items

DAY = timedelta(days=1)
T0 = datetime(2026, 7, 21, 22, 0, tzinfo=UTC)


def _snapshots(first: int, last: int) -> list[Snapshot]:
    return [Snapshot(snapshot_id_for(T0 + n * DAY), T0 + n * DAY) for n in range(last, first - 1, -1)]


def _preview(job_id: str, day: int, status: str = "successful", scope: object = None, **extra: object) -> Job:
    data = {
        "@odata.type": "#microsoft.graph.entraRecoveryServices.recoveryPreviewJob",
        "id": job_id,
        "status": status,
        "targetStateDateTime": (T0 + day * DAY).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "jobStartDateTime": (T0 + day * DAY + timedelta(hours=10)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "jobCompletionDateTime": None if status != "successful" else "2026-07-30T12:00:00Z",
        "filteringCriteria": scope,
        "totalChangedObjectsCalculated": 1200,
        "totalChangedLinksCalculated": 90,
        **extra,
    }
    return Job.from_json(data)


def _recovery(job_id: str, day: int, status: str = "successful") -> Job:
    return Job.from_json(
        {
            "@odata.type": "#microsoft.graph.entraRecoveryServices.recoveryJob",
            "id": job_id,
            "status": status,
            "targetStateDateTime": (T0 + day * DAY).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "jobStartDateTime": "2026-07-30T09:00:00.1234567Z",
            "jobCompletionDateTime": "2026-07-30T11:30:00Z",
            "filteringCriteria": {
                "@odata.type": "#microsoft.graph.entraRecoveryServices.recoveryJobEntityNamesFilter",
                "entityTypes": ["user"],
            },
            "totalChangedObjectsCalculated": 1200,
            "totalChangedLinksCalculated": 90,
            "totalObjectsModified": 1198,
            "totalLinksModified": 90,
            "totalFailedChanges": 2,
        }
    )


def test_derive_retention() -> None:
    assert derive_retention([]) is None
    assert derive_retention([T0, T0]) is None
    assert derive_retention([T0 + n * DAY for n in range(7)]) == 7 * DAY
    assert derive_retention([T0 + n * DAY for n in range(5)]) == 5 * DAY
    assert derive_retention([T0, T0 + DAY, T0 + 3 * DAY]) == 4 * DAY  # a missing day keeps the usual gap


def test_snapshots_first_seen_expiry_and_expired() -> None:
    cache = Cache.open("snap-tenant")
    assert cache.tenant.retention() == DEFAULT_RETENTION
    seen = T0 + 7 * DAY
    records = cache.tenant.record_snapshots(_snapshots(0, 6), now=seen)
    assert cache.tenant.retention() == 7 * DAY
    assert [r.created for r in records] == [T0 + n * DAY for n in range(6, -1, -1)]  # newest first
    oldest = records[-1]
    assert oldest.first_seen == seen and oldest.expected_expiry == T0 + 7 * DAY and not oldest.expired
    assert oldest.expires_in(seen) == timedelta(0)
    later = seen + DAY
    records = cache.tenant.record_snapshots(_snapshots(1, 7), now=later)
    assert len(records) == 8  # the expired one is kept
    gone = cache.tenant.snapshot(snapshot_id_for(T0))
    assert gone is not None and gone.expired and gone.first_seen == seen and gone.last_seen == seen
    assert [r.id for r in cache.tenant.snapshots(include_expired=False)] == [s.id for s in _snapshots(1, 7)]
    first_day = cache.tenant.snapshot(snapshot_id_for(T0 + DAY))
    assert first_day is not None and first_day.first_seen == seen and first_day.last_seen == later
    # a partial list archives nothing
    cache.tenant.record_snapshots(_snapshots(6, 7), now=later, complete=False)
    assert len(cache.tenant.snapshots(include_expired=False)) == 7


def test_short_list_never_extends_retention_backwards() -> None:
    cache = Cache.open("snap-tenant-2")
    cache.tenant.record_snapshots(_snapshots(0, 6), now=T0 + 7 * DAY)
    cache.tenant.record_snapshots(_snapshots(5, 6), now=T0 + 7 * DAY)  # e.g. after a service hiccup
    assert cache.tenant.retention() == 7 * DAY


def test_onboarding_retention_errs_early() -> None:
    cache = Cache.open("snap-tenant-3")
    records = cache.tenant.record_snapshots(_snapshots(0, 1), now=T0 + DAY)
    assert cache.tenant.retention() == 2 * DAY
    assert records[-1].expected_expiry == T0 + 2 * DAY


def test_jobs_round_trip_every_field() -> None:
    cache = Cache.open("job-tenant")
    cache.tenant.record_snapshots(_snapshots(0, 6), now=T0)
    ids = EntityNameAndIdsFilter((("user", ("A", "b")), ("group", ("c",))))
    preview = _preview("p1", 3, scope=ids.to_json())
    recovery = _recovery("r1", 3)
    raw = {"id": "r1", "extra": {"nested": True}}
    record = cache.jobs.upsert(preview, now=T0)
    # The snapshot id comes from the cached snapshot list (never built from the job's time).
    assert record.job == replace(preview, snapshot_id=snapshot_id_for(T0 + 3 * DAY))
    assert record.snapshot_id == snapshot_id_for(T0 + 3 * DAY)
    assert record.scope_key == scope_key(ids) and record.first_seen == T0 and not record.archived
    rec = cache.jobs.upsert(recovery, raw=raw, snapshot_id="SNAP-FROM-PATH", started_here=True, now=T0)
    assert rec.job == replace(recovery, snapshot_id="SNAP-FROM-PATH") and rec.raw == raw
    assert rec.started_here and rec.snapshot_id == "SNAP-FROM-PATH"
    assert rec.job.started == datetime(2026, 7, 30, 9, 0, 0, 123456, tzinfo=UTC)
    again = cache.jobs.upsert(_recovery("r1", 3, status="running"), now=T0 + DAY)
    assert again.snapshot_id == "SNAP-FROM-PATH" and again.started_here and again.raw == raw
    assert again.last_seen == T0 + DAY and again.first_seen == T0
    assert [j.id for j in cache.jobs.all(kind=JobKind.RECOVERY)] == ["r1"]
    assert [j.id for j in cache.jobs.active()] == ["r1"]
    weird = Job.from_json({"id": "w1", "status": "somethingNew", "targetStateDateTime": "garbage"})
    stored = cache.jobs.upsert(weird)
    assert stored.job.status_raw == "somethingNew" and stored.job.status.value == "unknownFutureValue"


def test_snapshot_of_job_comes_from_the_snapshot_list() -> None:
    cache = Cache.open("job-tenant-2")
    iso_id = "MjAyNi0wNy0yNFQyMjowMDowMFo="  # docs-style id (base64 of ISO text)
    cache.tenant.record_snapshots([Snapshot(iso_id, T0 + 3 * DAY)], now=T0)
    record = cache.jobs.upsert(_preview("p1", 3), now=T0)
    assert record.snapshot_id == iso_id
    assert cache.jobs.find_reusable(iso_id, None) is not None


def test_reconcile_archives_vanished_jobs_and_keeps_their_data() -> None:
    cache = Cache.open("archive-tenant")
    start = T0 + 8 * DAY
    cache.jobs.reconcile([_preview("p1", 3), _recovery("r1", 3)], now=start)
    report = cache.report_writer.begin_report("p1", snapshot_id_for(T0 + 3 * DAY), None, "u1",
                                              total_expected=120)
    items = make_items(120, 4)
    cache.report_writer.ingest_page(report.id, items, None, "u1")
    failed = cache.report_writer.begin_failed_changes("r1", None, "f1")
    cache.report_writer.ingest_page(failed.id, [dict(items[0], failureMessage="gone")], None, "f1")
    cache.jobs.upsert(_preview("p2", 4, status="running"), now=start + 6 * DAY)  # too new to archive

    result = cache.jobs.reconcile([_preview("p3", 5)], now=start + 6 * DAY + timedelta(minutes=5))
    assert result.added == ["p3"] and sorted(result.archived) == ["p1", "r1"] and result.unarchived == []
    assert {j.id for j in cache.jobs.all(include_archived=False)} == {"p2", "p3"}
    archived = cache.jobs.get("p1")
    assert archived is not None and archived.archived and archived.job == _preview("p1", 3)
    kept = cache.reports.get(report.id)
    assert kept is not None and kept.archived and kept.item_count == 120
    assert sum(n.count for n in cache.queries.counts(report.id)) == 120
    assert len(cache.queries.page(report.id, limit=500)) == 120
    assert cache.queries.failed_changes("r1")[0].failure_message == "gone"
    # a complete archived report is still offered for reuse; the service may list a job again
    assert cache.reports.find_reusable(snapshot_id_for(T0 + 3 * DAY), None) == kept
    back = cache.jobs.reconcile(
        [_preview("p1", 3), _preview("p2", 4), _preview("p3", 5)], now=start + 7 * DAY
    )
    assert back.unarchived == ["p1"] and back.archived == [] and sorted(back.updated) == ["p2", "p3"]
    archived = cache.jobs.get("p1")
    assert archived is not None and not archived.archived
    assert cache.jobs.get("r1").archived  # type: ignore[union-attr]  # still gone from the service


def test_incomplete_report_of_archived_job_is_not_reusable() -> None:
    cache = Cache.open("archive-tenant-2")
    snap = snapshot_id_for(T0 + 3 * DAY)
    cache.jobs.reconcile([_preview("p1", 3)], now=T0)
    report = cache.report_writer.begin_report("p1", snap, None, "u1")
    cache.report_writer.ingest_page(report.id, make_items(10, 5), "u2", "u1")
    assert cache.reports.find_reusable(snap, None) == cache.reports.get(report.id)
    cache.jobs.reconcile([], now=T0 + DAY)
    assert cache.reports.find_reusable(snap, None) is None


def test_find_reusable_matches_snapshot_and_scope() -> None:
    cache = Cache.open("reuse-tenant")
    cache.tenant.record_snapshots(_snapshots(0, 6), now=T0)
    snap = snapshot_id_for(T0 + 3 * DAY)
    users = EntityNamesFilter(("user",))
    cache.jobs.reconcile(
        [
            _preview("p-all", 3),
            _preview("p-users", 3, scope=users.to_json()),
            _preview("p-failed", 3, status="failed", scope=EntityNamesFilter(("group",)).to_json()),
            _preview("p-run", 3, status="calculating", scope=EntityNamesFilter(("group",)).to_json()),
        ],
        now=T0,
    )
    whole = cache.jobs.find_reusable(snap, None)
    of_users = cache.jobs.find_reusable(snap, EntityNamesFilter(("user", "user")))
    assert whole is not None and whole.id == "p-all"
    assert of_users is not None and of_users.id == "p-users"
    assert cache.jobs.find_reusable(snap, EntityNamesFilter(("group",))) is None
    running = cache.jobs.find_reusable(snap, EntityNamesFilter(("group",)), include_running=True)
    assert running is not None and running.id == "p-run"
    assert cache.jobs.find_reusable(snapshot_id_for(T0), None) is None
    assert cache.reports.find_reusable(snap, None) is None
    cache.report_writer.ingest_page(
        cache.report_writer.begin_report("p-all", snap, None, "u").id, make_items(3, 1), None, "u"
    )
    reusable = cache.reports.find_reusable(snap, None)
    assert reusable is not None and reusable.job_id == "p-all" and reusable.job_status == "successful"
    assert cache.reports.find_reusable(snap, users) is None
    stored = cache.tenant.snapshot(snap)
    assert stored is not None and stored.report_count == 1


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        (None, None, True),
        (EntityNamesFilter(("user", "group")), EntityNamesFilter(("group", "user")), True),
        (
            EntityNameAndIdsFilter((("user", ("A", "b")),)),
            EntityNameAndIdsFilter((("user", ("B", "a")),)),
            True,
        ),
        (EntityNamesFilter(("user",)), None, False),
        (EntityNameAndIdsFilter((("user", ("a",)),)), EntityNameAndIdsFilter((("group", ("a",)),)), False),
    ],
)
def test_scope_key(a: FilteringCriteria | None, b: FilteringCriteria | None, same: bool) -> None:
    assert (scope_key(a) == scope_key(b)) is same
