"""Who changed it, on the demo incident, through a real session over loopback HTTP, checked against the
emulator's ground truth: the incident's changes are the compromised admin's and the rogue app's, the
legitimate ones their own actors', sync writes come out as sync, changes with no record as unexplained; hard
deletes show in the blind spots; restoring the incident's actors' changes leaves the legitimate ones in
place; a sign-in without the audit role is told what is missing while everything else works."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from entrabr_tui.core.audit_blindspots import BlindSpotKind
from entrabr_tui.core.audit_join import Verdict
from entrabr_tui.core.audit_triage import TagTarget, TriageTag
from entrabr_tui.core.model import SyncStatus
from entrabr_tui.emulator import EmulatorServer
from entrabr_tui.engine import Session
from entrabr_tui.engine.audit_types import (
    AuditNotReadyError,
    AuditProgress,
    AuditUnavailableError,
    ChangeGroup,
)
from entrabr_tui.engine.reports import ReportInfo
from entrabr_tui.store import StorePaths

from .conftest import Sleeper, sessions_on

NOW = datetime(2026, 3, 21, 9, 30, tzinfo=UTC)
AUDIT: dict[str, Any] = {"audit_latency_s": 0, "audit_gap_fraction": 0.05, "audit_throttle_window_s": 0,
                         "audit_retention_days": 30, "audit_events": 0}
INCIDENT = {"compromisedAdmin", "rogueApp"}
LEGIT = {"legitAdmin", "hrProvisioning"}


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(seed=11, objects=3000, job_speed=1e6, now=NOW) as emu:
        yield emu


@pytest.fixture
def emulator(server: EmulatorServer) -> Iterator[EmulatorServer]:
    """The module's emulator, reset for each test (fast jobs, a 5% log gap, no latency or throttle)."""
    httpx.post(f"{server.base_url}/_emulator/reset").raise_for_status()
    httpx.post(f"{server.base_url}/_emulator/config",
               json={"latency_ms": 0, "job_speed": 1e6, **AUDIT}).raise_for_status()
    yield server


@pytest.fixture
async def open_session(emulator: EmulatorServer, paths: StorePaths, sleeper: Sleeper
                       ) -> AsyncIterator[Callable[..., Awaitable[Session]]]:
    """Sessions on the emulator's clock, without an audit request budget."""
    async with sessions_on(emulator, paths, sleeper, emulator_clock=True) as make:
        yield make


def cast_ids(truth: dict[str, Any]) -> dict[str, str]:
    """Emulator actor key -> the id the audit log keys it by (user id, or service principal id)."""
    return {m["key"]: (m.get("id") or m["servicePrincipalId"]).lower() for m in truth["cast"]}


async def report_of(session: Session, oldest: bool = False, fresh: bool = False) -> ReportInfo:
    snapshots = [e for e in await session.snapshots() if not e.expired]
    snapshot = snapshots[-1 if oldest else 0].snapshot
    return await session.ensure_report(snapshot.id, fresh=fresh)


def since_backup(truth: dict[str, Any], object_id: str, backup: datetime) -> list[dict[str, Any]]:
    return [e for e in truth["objects"].get(object_id, [])
            if datetime.fromisoformat(e["activityDateTime"].replace("Z", "+00:00")) > backup]


async def test_every_change_is_attributed_as_the_ground_truth_says(
        open_session: Callable[..., Awaitable[Session]], emulator: EmulatorServer) -> None:
    session = await open_session()
    info = await report_of(session)
    events: list[AuditProgress] = []
    result = await session.pull_audit(info.id, events.append)
    assert result.joined == (info.id,) and result.stored > 100 and events[-1].phase == "done"
    truth = emulator.audit_truth()
    ids = cast_ids(truth)
    kind_of = {ident: m["kind"] for m in truth["cast"] for ident in [ids[m["key"]]]}
    backup = next(e for e in await session.snapshots() if e.snapshot.id == info.snapshot_id).snapshot.created
    incident = legit = unexplained = 0
    rows = session.page(info.id, None, None, None, 10_000)
    assert len(rows) == info.downloaded
    for row in rows:
        attribution = session.attribution(info.id, row.object_id, row.position)
        assert attribution is not None
        entries = since_backup(truth, row.object_id, backup)
        logged = [e for e in entries if e["logged"]]
        actor = attribution.actor.key if attribution.actor else None
        if entries and not logged:                         # every record of the change fell in the log gap
            if row.sync is SyncStatus.SYNCED:              # synchronised, and nothing explains it: sync
                assert attribution.verdict is Verdict.SYNC, row
                continue
            assert attribution.verdict is Verdict.UNEXPLAINED, row
            unexplained += 1
            continue
        if not entries:                                    # links dropped by a purge: the purge explains them
            assert attribution.verdict is Verdict.EXPLAINED and kind_of[actor or ""] == "rogueApp"
            continue
        if len(logged) == len(entries):
            assert attribution.verdict is Verdict.EXPLAINED, (row, attribution)
        else:                                              # some of its records fell in the gap
            assert attribution.verdict in (Verdict.EXPLAINED, Verdict.PARTLY, Verdict.UNEXPLAINED)
        kinds = {e["actor"] for e in logged}
        if kinds <= INCIDENT:
            assert kind_of[actor or ""] in INCIDENT, (row, attribution)
            incident += 1
        elif kinds <= LEGIT:
            assert actor in {ids[e["actorKey"]] for e in logged}, (row, attribution)
            legit += 1
    assert incident >= 70 and legit >= 2 and unexplained >= 1
    actors = session.audit_actors(info.id)
    assert kind_of[actors[0].key] == "rogueApp" and actors[0].changes >= 60      # ranked by changes
    assert sum(a.changes for a in actors) == info.downloaded
    ops = session.audit_operations(info.id, actors[0].key)
    assert len(ops) <= 4 and sum(o.changes for o in ops) == actors[0].changes   # few correlation ids
    assert any(name == "Update user" for name, _ in ops[0].activities)
    first = session.group_page(info.id, ChangeGroup(actor=actors[0].key))[0]
    text = session.attribution(info.id, first.object_id)
    assert text is not None and text.text.startswith("by Azure AD Sync Helper (app) at 2026-03-21 ")


async def test_sync_writes_come_out_as_sync_and_gaps_as_unexplained(
        open_session: Callable[..., Awaitable[Session]], emulator: EmulatorServer) -> None:
    session = await open_session()
    info = await report_of(session, oldest=True)
    await session.pull_audit(info.id)
    truth = emulator.audit_truth()
    backup = next(e for e in await session.snapshots() if e.snapshot.id == info.snapshot_id).snapshot.created
    synced = gapped = 0
    for row in session.page(info.id, None, None, None, 10_000):
        entries = since_backup(truth, row.object_id, backup)
        attribution = session.attribution(info.id, row.object_id, row.position)
        assert attribution is not None
        if entries and all(e["actor"] == "directorySync" and e["logged"] for e in entries):
            assert attribution.verdict is Verdict.SYNC, row
            synced += 1
        elif entries and not any(e["logged"] for e in entries) and row.sync is SyncStatus.SYNCED:
            assert attribution.verdict is Verdict.SYNC and attribution.reason, row  # nothing explains it
        elif entries and not any(e["logged"] for e in entries):
            assert attribution.verdict is Verdict.UNEXPLAINED and attribution.reason, row
            gapped += 1
        elif entries and not any(e["actor"] == "directorySync" for e in entries):
            assert attribution.verdict is not Verdict.SYNC, row
    assert synced >= 3 and gapped >= 1
    verdicts = session.audit.join_info(info.id)
    assert verdicts.sync >= synced and verdicts.unexplained >= gapped


async def test_hard_deletes_and_links_are_in_the_blind_spots_and_the_purge_clock_ticks(
        open_session: Callable[..., Awaitable[Session]], emulator: EmulatorServer) -> None:
    session = await open_session()
    info = await report_of(session)
    assert session.purge_clock(info.id)                           # no audit log needed for the clock
    with pytest.raises(AuditNotReadyError):
        session.blind_spots(info.id)
    await session.pull_audit(info.id)
    truth = emulator.audit_truth()
    backup = next(e for e in await session.snapshots() if e.snapshot.id == info.snapshot_id).snapshot.created
    purged = {oid for oid in truth["objects"] if any(e["activity"] == "Hard Delete user" and e["logged"]
                                                     for e in since_backup(truth, oid, backup))}
    spots = session.blind_spots(info.id)
    assert purged and purged <= {s.object_id for s in spots if s.kind is BlindSpotKind.HARD_DELETE}
    assert not purged & {r.object_id for r in session.page(info.id, None, None, None, 10_000)}
    kinds = {s.kind for s in spots}
    assert {BlindSpotKind.OWNER_LINK, BlindSpotKind.CREDENTIALS, BlindSpotKind.SPONSOR_LINK} <= kinds
    assert all(s.advice for s in spots) and session.blind_spot_count(info.id) == len(spots)
    clock = session.purge_clock(info.id)
    assert [e.purge_at for e in clock] == sorted(e.purge_at for e in clock)
    assert all(e.deleted > backup and e.remaining.days < 30 for e in clock)


async def test_restoring_the_incident_actors_changes_keeps_the_legitimate_ones(
        open_session: Callable[..., Awaitable[Session]], emulator: EmulatorServer) -> None:
    session = await open_session()
    info = await report_of(session)
    await session.pull_audit(info.id)
    kinds = {cast_ids(emulator.audit_truth())[m["key"]]: m["kind"] for m in emulator.audit_truth()["cast"]}
    incident_actors = [a for a in session.audit_actors(info.id) if kinds.get(a.key) in INCIDENT]
    legit_actors = [a for a in session.audit_actors(info.id) if kinds.get(a.key) in LEGIT]
    assert len(incident_actors) == 2 and legit_actors
    legit_ids = {r.object_id for a in legit_actors
                 for r in session.group_page(info.id, ChangeGroup(actor=a.key), None, 10_000)}
    marked = [session.mark_group(info.id, ChangeGroup(actor=a.key)) for a in incident_actors]
    assert sum(m.marked for m in marked) == sum(a.changes for a in incident_actors)
    plan = session.plan()
    assert not set(plan.ids) & legit_ids and plan.total > 60
    result = await session.restore(plan)
    assert result.objects_modified > 0
    after = await report_of(session, fresh=True)
    now_changed = {r.object_id for r in session.page(after.id, None, None, None, 10_000)}
    assert legit_ids <= now_changed                              # the legitimate edits are still there
    failed = {c.id for c in result.failed}
    assert set(plan.ids) & now_changed == failed & set(plan.ids)   # the incident's are undone, but for
    assert len(failed) < len(plan.ids) / 3                         # what the service could not restore


async def test_triage_keep_leaves_a_cluster_out_of_marks_and_plans(
        open_session: Callable[..., Awaitable[Session]]) -> None:
    session = await open_session()
    info = await report_of(session)
    await session.pull_audit(info.id)
    biggest = session.audit_clusters(info.id)[0]
    assert biggest.changes >= 70 and "DISABLED - ⟨old⟩" in biggest.label
    session.set_triage_tag(TagTarget.CLUSTER, biggest.id, TriageTag.KEEP, "checked with HR")
    assert session.audit_clusters(info.id)[0].tag is not None
    result = session.mark_group(info.id, ChangeGroup())
    assert result.kept == biggest.changes and result.marked == info.downloaded - biggest.changes
    plan = session.plan(record=False)
    assert plan.kept_by_tags == biggest.changes
    assert any("kept by triage tags" in line for line in plan.lines())
    assert session.undo_marks() == (result.marked, 0) and session.queue() == []  # the queue's one undo
    # The planner's keep hook: a whole-report plan leaves the kept cluster's objects out of every option.
    kept = set(session.plans.kept(info))
    assert kept == set(session.audit.group_object_ids(info.id, ChangeGroup(cluster=biggest.id)))
    whole = session.plan_changes(info.id, session.iter_changes(info.id), record=False)
    assert whole.choices is not None and {i for _, i in whole.choices.kept_left_out} == kept
    assert not kept & set(whole.ids) and whole.kept_by_tags == biggest.changes
    operation = session.audit_operations(info.id, session.audit_actors(info.id)[0].key)[0]
    session.set_triage_tag(TagTarget.OPERATION, operation.correlation_id, TriageTag.INVESTIGATE)
    assert session.triage_tag(TagTarget.OPERATION, operation.correlation_id.upper()) is not None


async def test_a_time_window_marks_by_audit_time_and_unmarking_a_group_is_undone(
        open_session: Callable[..., Awaitable[Session]]) -> None:
    session = await open_session()
    info = await report_of(session)
    await session.pull_audit(info.id)
    actor = session.audit_actors(info.id)[0]
    assert actor.first is not None and actor.last is not None
    window = ChangeGroup(since=actor.first, until=actor.last)
    inside = session.group_count(info.id, window)
    assert inside >= actor.changes > 0
    result = session.mark_group(info.id, window)
    assert result.marked + result.already + result.kept == inside
    assert not session.group_has(info.id, window, marked=False, kept=False)   # all of it is queued now
    queued = {e.id for e in session.queue()}
    removed = session.unmark_group(info.id, ChangeGroup(actor=actor.key))
    assert removed > 0 and session.group_count(info.id, ChangeGroup(actor=actor.key), marked=True) == 0
    assert session.undo_marks() == (0, removed)                                # the queue's one undo
    assert {e.id for e in session.queue()} == queued


async def test_a_sign_in_without_the_audit_role_is_told_what_is_missing(
        open_session: Callable[..., Awaitable[Session]]) -> None:
    admin = await open_session()
    made = await report_of(admin)
    await admin.aclose()
    session = await open_session("reader")
    info = session.report(made.id)                           # everything else works as before
    assert info is not None and info.downloaded > 50 and session.page(info.id, None, None, None, 5)
    assert len(await session.snapshots()) == 7
    with pytest.raises(AuditUnavailableError) as caught:
        await session.pull_audit(info.id)
    assert "lacks a role that may read audit logs" in caught.value.message
    assert "Reports Reader" in caught.value.message
    status = session.audit_status()
    assert status.available is False and status.message == caught.value.message
    assert "unavailable" in status.text
    with pytest.raises(AuditUnavailableError):
        session.audit_actors(info.id)
    assert session.purge_clock(info.id) is not None and session.plan(record=False).is_empty


async def test_a_later_pull_reads_only_what_is_new(open_session: Callable[..., Awaitable[Session]],
                                                  emulator: EmulatorServer) -> None:
    session = await open_session()
    info = await report_of(session)
    first = await session.pull_audit(info.id)
    again = await session.pull_audit(info.id)
    assert again.pulls == () and again.state.records == first.state.records    # nothing to read yet
    httpx.post(f"{emulator.base_url}/_emulator/advance", json={"days": 1}).raise_for_status()
    later = await session.pull_audit(info.id)
    assert [p.kind for p in later.pulls] == ["refresh"]
    assert later.stored > 0 and later.received > later.stored               # the overlap, read again
    assert later.state.records == first.state.records + later.stored
    oldest = await report_of(session, oldest=True)
    back = await session.pull_audit(oldest.id)
    assert [p.kind for p in back.pulls] == ["backfill"] and back.stored > 0


async def test_a_pull_waits_while_another_process_holds_the_tenant(
        open_session: Callable[..., Awaitable[Session]], sleeper: Sleeper) -> None:
    """Reading the audit log and joining the report write the cache: the pull takes the tenant's writer lock,
    waiting (and saying who holds it) while another entrabr process writes."""
    from entrabr_tui.store.writer_lock import TenantLock, lock_path

    session = await open_session()
    info = await report_of(session)
    other = TenantLock(lock_path(session.cache.db.path))
    assert other.try_acquire("report") is None
    events: list[AuditProgress] = []
    before = len(sleeper.delays)

    async def release_later(count: int) -> None:
        if count == before + 3:
            other.release()

    sleeper.hook = release_later
    result = await session.pull_audit(info.id, events.append)
    waits = [e.text for e in events if e.phase == "waiting" and "another entrabr (report" in e.text]
    assert len(waits) == 3 and sleeper.delays[before:before + 3] == [1.0, 1.0, 1.0]
    assert result.joined == (info.id,) and session.audit.join_info(info.id).changes == info.downloaded
    assert session.writer.other_holder() is None and other.try_acquire("report") is None   # given back
    other.release()
