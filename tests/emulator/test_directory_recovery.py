"""Recovery against the emulated tenant: totals add up, fixes stick, failures are the documented ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from entrabr_tui.emulator import catalog as c
from entrabr_tui.emulator.directory import ChangeRecord, Directory, RecoveryOutcome, Scope

from .tenant_helpers import NOW, newest, oldest, parsed


def fresh(seed: int = 3, objects: int = 2000, drift: int | None = None) -> Directory:
    """A tenant whose change objects flag on-premises-synced objects (so tests can tell them apart)."""
    return Directory(seed=seed, objects=objects, drift=drift, now=NOW, sync_flag_in_changes=True)


def expected_units(records: list[ChangeRecord]) -> int:
    return len(records) + sum(r.link_count for r in records)


def total_units(outcome: RecoveryOutcome) -> int:
    return outcome.objects_modified + outcome.links_modified + sum(f.units for f in outcome.failed)


def assert_invariant(d: Directory, sid: str, scope: Scope | None = None) -> RecoveryOutcome:
    records = d.diff(sid, scope)
    outcome = d.recover(sid, scope)
    assert total_units(outcome) == expected_units(records)
    assert {f.record.id for f in outcome.failed} <= {r.id for r in records}
    return outcome


@pytest.mark.parametrize("which", range(7))
def test_full_recovery_invariant_and_fix_for_every_snapshot(which: int) -> None:
    d = fresh()
    sid = d.snapshots()[which][0]
    outcome = assert_invariant(d, sid)
    assert outcome.objects_modified > 0 and outcome.links_modified > 0
    remaining = d.diff(sid)
    assert {r.id for r in remaining} == {f.record.id for f in outcome.failed}
    for record in remaining:
        doc = orjson.loads(record.body)
        assert doc["currentState"].get("onPremisesSyncEnabled") or record.link_count > 0


def test_second_recovery_modifies_nothing_new() -> None:
    d = fresh()
    sid = newest(d)
    first = d.recover(sid)
    before = [r.body for r in d.diff(sid)]
    second = assert_invariant(d, sid)
    assert (second.objects_modified, second.links_modified) == (0, 0)
    assert [f.record.id for f in second.failed] == [f.record.id for f in first.failed]
    assert [r.body for r in d.diff(sid)] == before


@pytest.mark.parametrize("types", [{"user"}, {"group"}, {"conditionalAccessPolicy", "namedLocationPolicy"},
                                   {"application", "servicePrincipal"}, {"organization"}])
def test_invariant_with_type_scope_and_other_types_untouched(types: set[str]) -> None:
    d = fresh()
    sid = oldest(d)
    before = d.diff(sid)
    scope = Scope(types=frozenset(types))
    assert_invariant(d, sid, scope)
    after = d.diff(sid)
    others_after = [r for r in after if r.entity_type not in types]
    assert others_after == [r for r in before if r.entity_type not in types]
    failed_ids = {r.id for r in after if r.entity_type in types}
    assert failed_ids <= {r.id for r in before if r.entity_type in types}


def test_invariant_with_id_scope() -> None:
    d = fresh()
    sid = newest(d)
    full = d.diff(sid)
    picked: dict[str, set[str]] = {}
    for r in full[::7]:
        picked.setdefault(r.entity_type, set()).add(r.id)
    scope = Scope(ids={t: frozenset(ids) for t, ids in picked.items()})
    outcome = assert_invariant(d, sid, scope)
    chosen = {i for ids in picked.values() for i in ids}
    after = d.diff(sid)
    assert [r for r in after if r.id not in chosen] == [r for r in full if r.id not in chosen]
    assert {r.id for r in after if r.id in chosen} == {f.record.id for f in outcome.failed}


def test_on_prem_synced_objects_are_never_recovered() -> None:
    d = fresh()
    sid = newest(d)
    synced = [r for r in d.diff(sid) if orjson.loads(r.body)["currentState"].get("onPremisesSyncEnabled")]
    assert synced
    outcome = d.recover(sid)
    failures = {f.record.id: f for f in outcome.failed}
    for record in synced:
        failure = failures[record.id]
        assert failure.message == c.ONPREM_FAILURE
        assert failure.units == 1 + record.link_count
        body = orjson.loads(failure.body)
        assert body["failureMessage"] == c.ONPREM_FAILURE
        assert list(body)[:5] == ["entityTypeName", "id", "displayName", "recoveryAction", "failureMessage"]
        assert body["deltaFromCurrent"] == orjson.loads(record.body)["deltaFromCurrent"]
    still = {r.id: r.body for r in d.diff(sid)}
    assert all(still[r.id] == r.body for r in synced)


def test_links_to_hard_deleted_members_fail_and_name_the_member() -> None:
    d = fresh(drift=2000)
    sid = newest(d)
    outcome = d.recover(sid)
    link_failures = [f for f in outcome.failed
                     if f.record.entity_type == "group" and "member object" in f.message]
    assert link_failures
    for failure in link_failures:
        body = orjson.loads(failure.body)
        failed_ids = [e["id"] for e in body["deltaFromCurrent"]["members@delta"]]
        assert failed_ids and all(i in failure.message for i in failed_ids)
        assert all(not d.names("user", [i]) or "is deleted" in failure.message for i in failed_ids)
        assert failure.units >= len(failed_ids)
        assert body["currentState"] == {"@odata.type": "#microsoft.graph.group"}


def test_recovery_restores_and_soft_deletes() -> None:
    d = fresh()
    sid = newest(d)
    docs = parsed(d.diff(sid))
    group = next(x for x in docs if x["entityTypeName"] == "group" and x["recoveryAction"] == "restore")
    rogue = [x["id"] for x in docs if x["displayName"] == "Azure AD Sync Helper"]
    assert len(rogue) == 2
    d.recover(sid)
    remaining = {x["id"]: x for x in parsed(d.diff(sid))}
    assert not set(rogue) & set(remaining)
    if group["id"] in remaining:  # only links to members that are gone can remain
        assert remaining[group["id"]]["recoveryAction"] == "update"
    # the restored group is back with its members; the rogue app is now a restorable soft-deleted object
    assert d.names("group", [group["id"]]) == {group["id"]: group["displayName"]}
    assert d.names("application", [rogue[0]]) == {rogue[0]: "Azure AD Sync Helper"}
    older = parsed(d.diff(oldest(d)))
    assert not any(x["id"] in rogue for x in older)


def test_recovery_counts_objects_and_links_exactly() -> None:
    d = fresh(seed=5, objects=800)
    sid = newest(d)
    records = d.diff(sid)
    outcome = d.recover(sid)
    failed_objects = sum(1 for f in outcome.failed if f.units > 0 and (
        f.message == c.ONPREM_FAILURE or f.units > len(orjson.loads(f.body)["deltaFromCurrent"]
                                                       .get("members@delta", []))))
    assert outcome.objects_modified + failed_objects == len(records)
    assert outcome.links_modified + sum(f.units for f in outcome.failed) - failed_objects == sum(
        r.link_count for r in records)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), objects=st.integers(50, 600), drift=st.integers(0, 200),
       which=st.integers(0, 4), types=st.sets(st.sampled_from(c.ENTITY_TYPES), max_size=4))
def test_invariant_holds_for_any_tenant_and_scope(seed: int, objects: int, drift: int, which: int,
                                                  types: set[str]) -> None:
    d = Directory(seed=seed, objects=objects, drift=drift, snapshots=5, now=NOW)
    sid = d.snapshots()[which][0]
    scope = Scope(types=frozenset(types)) if types else None
    outcome = assert_invariant(d, sid, scope)
    again = assert_invariant(d, sid, scope)
    assert (again.objects_modified, again.links_modified) == (0, 0)
    assert {r.id for r in d.diff(sid, scope)} == {f.record.id for f in outcome.failed}


def test_advance_day_snapshots_the_live_state_and_keeps_retention() -> None:
    d = fresh(objects=1000)
    before = d.snapshots()
    live_vs_newest = d.diff(newest(d))
    assert live_vs_newest
    sid = d.advance_day()
    after = d.snapshots()
    assert after[0] == (sid, before[0][1] + timedelta(days=1))
    assert after[0][1] == datetime(2026, 3, 21, 22, tzinfo=UTC)
    assert len(after) == 7 and after[1:] == before[:-1]
    assert d.snapshot_time(before[-1][0]) is None
    with pytest.raises(KeyError):
        d.diff(before[-1][0])
    # the incident is now part of the newest backup: against it only the new day's drift shows
    fresh_drift = d.diff(sid)
    assert not any(r.display_name.startswith("DISABLED - ") and r.action == "update"
                   and b"DISABLED - " in r.body for r in fresh_drift)
    # against the previous backup, the incident is still there
    vanished = {r.id for r in live_vs_newest} - {r.id for r in d.diff(before[0][0])}
    assert vanished <= {r.id for r in fresh_drift}


def test_advance_many_days_then_recover() -> None:
    d = fresh(objects=600)
    for _ in range(10):
        d.advance_day()
    assert len(d.snapshots()) == 7
    for sid, _ in d.snapshots():
        assert_invariant(d, sid)


def test_reset_returns_to_the_constructed_state() -> None:
    d = fresh(objects=1000)
    snaps = d.snapshots()
    bodies = {sid: [r.body for r in d.diff(sid)] for sid, _ in snaps}
    count = d.object_count
    d.recover(oldest(d))
    d.advance_day()
    d.advance_day()
    assert d.snapshots() != snaps
    d.reset()
    assert d.snapshots() == snaps
    assert d.object_count == count
    assert {sid: [r.body for r in d.diff(sid)] for sid, _ in snaps} == bodies


def test_object_count_follows_creations_and_deletions() -> None:
    d = fresh(objects=1000, drift=0)
    assert 990 <= d.object_count <= 1010
    base = fresh(objects=1000, drift=100)
    soft_deleted = sum(1 for r in base.diff(newest(base)) if r.action == "restore")
    created = sum(1 for r in base.diff(newest(base)) if r.action == "softDelete")
    assert base.object_count - d.object_count == created - soft_deleted - 1  # one user purged for good
    base.recover(newest(base))
    assert base.object_count < d.object_count + created


def test_recovery_never_changes_owners_and_totals_ignore_owner_links() -> None:
    d = fresh()
    sid = newest(d)
    records = d.diff(sid)
    owned = {r.id: orjson.loads(r.body)["deltaFromCurrent"]["owners@delta"] for r in records
             if b"owners@delta" in r.body}
    assert owned
    hist, layout = d._hist, d._layout  # owner links are not rendered anywhere else

    def index(object_id: str) -> int:
        found = layout.index_of(object_id)
        assert found is not None, object_id
        return found

    before = {(g, e["id"]): hist.is_owner(index(g), index(e["id"]))
              for g, entries in owned.items() for e in entries}
    assert set(before.values()) == {True, False}
    outcome = assert_invariant(d, sid)           # totals count membership links only
    after = {key: hist.is_owner(index(key[0]), index(key[1])) for key in before}
    assert after == before
    assert not any(b"owners@delta" in f.body for f in outcome.failed)
    assert not owned.keys() & {r.id for r in d.diff(sid)}   # owner links alone make no change object
