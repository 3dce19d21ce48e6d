"""The emulated tenant: snapshots, determinism, layout, the incident and the shape of change objects."""

from __future__ import annotations

import base64
import itertools
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from entrabr_tui.emulator import catalog as c
from entrabr_tui.emulator.directory import Directory
from entrabr_tui.emulator.layout import Layout

from .tenant_helpers import NOW, newest, oldest, parsed, tenant

DELTA_EXTRA = {"@odata.type", "deletedDateTime", "@removed", "members@delta", "owners@delta"}
CURRENT_EXTRA = {"@odata.type", "deletedDateTime"}


# ---- snapshots -----------------------------------------------------------------------------------
def test_snapshots_are_daily_at_22z_newest_first_with_epoch_ids() -> None:
    snaps = tenant().snapshots()
    assert len(snaps) == 7
    times = [t for _, t in snaps]
    assert times[0] == datetime(2026, 3, 20, 22, tzinfo=UTC)
    assert all(a - b == timedelta(days=1) for a, b in itertools.pairwise(times))
    for sid, t in snaps:
        assert base64.b64decode(sid).decode() == str(int(t.timestamp()))
        assert tenant().snapshot_time(sid) == t
    assert tenant().snapshot_time("MTIzNA==") is None
    assert tenant().snapshot_time("not base64 at all") is None


@pytest.mark.parametrize(("now", "expected"), [
    (datetime(2026, 3, 21, 22, 0, tzinfo=UTC), datetime(2026, 3, 21, 22, tzinfo=UTC)),
    (datetime(2026, 3, 21, 21, 59, 59, tzinfo=UTC), datetime(2026, 3, 20, 22, tzinfo=UTC)),
    (datetime(2026, 3, 21, 23, 0), datetime(2026, 3, 21, 22, tzinfo=UTC)),  # naive = UTC
])
def test_newest_snapshot_is_last_22z_at_or_before_now(now: datetime, expected: datetime) -> None:
    d = Directory(seed=1, objects=100, snapshots=5, now=now)
    assert d.snapshots()[0][1] == expected
    assert len(d.snapshots()) == 5


def test_unknown_snapshot_raises_key_error() -> None:
    with pytest.raises(KeyError):
        tenant().diff("MTIzNA==")


@pytest.mark.parametrize("build", [
    lambda: Directory(now=NOW, objects=10),
    lambda: Directory(now=NOW, snapshots=0),
    lambda: Directory(now=NOW, drift=-1),
], ids=["objects", "snapshots", "drift"])
def test_bad_arguments_are_rejected(build: Callable[[], Directory]) -> None:
    with pytest.raises(ValueError):
        build()


# ---- determinism ---------------------------------------------------------------------------------
def test_same_parameters_give_byte_identical_changes() -> None:
    a = Directory(seed=9, objects=1500, now=NOW)
    b = Directory(seed=9, objects=1500, now=NOW)
    for (sid, _), (sid_b, _) in zip(a.snapshots(), b.snapshots(), strict=True):
        assert sid == sid_b
        assert [r.body for r in a.diff(sid)] == [r.body for r in b.diff(sid)]


def test_time_of_day_does_not_change_what_drifted() -> None:
    early = Directory(seed=9, objects=1500, now=datetime(2026, 3, 21, 0, 5, tzinfo=UTC))
    late = Directory(seed=9, objects=1500, now=datetime(2026, 3, 21, 21, 55, tzinfo=UTC))
    for (sid, _), (sid_late, _) in zip(early.snapshots(), late.snapshots(), strict=True):
        assert [(r.id, r.action) for r in early.diff(sid)] == [(r.id, r.action) for r in late.diff(sid_late)]


def test_other_seed_gives_other_tenant() -> None:
    a = tenant(seed=3)
    b = Directory(seed=4, objects=2000, now=NOW)
    singletons = {"authorizationPolicy", "authenticationMethodsPolicy"}
    ids_a = {r.id for r in a.diff(oldest(a))} - singletons
    ids_b = {r.id for r in b.diff(oldest(b))} - singletons
    assert ids_a and ids_b and not ids_a & ids_b


# ---- layout --------------------------------------------------------------------------------------
@pytest.mark.parametrize("objects", [50, 100, 2000, 1_000_000])
def test_layout_proportions(objects: int) -> None:
    layout = Layout(1, objects)
    counts = layout.counts
    assert sum(counts.values()) == objects
    assert counts["user"] > objects * (0.75 if objects >= 100 else 0.5)
    assert 4 <= counts["conditionalAccessPolicy"] <= 60
    assert 3 <= counts["namedLocationPolicy"] <= 8
    singletons = ("organization", "authorizationPolicy", "authenticationMethodPolicy")
    assert [counts[t] for t in singletons] == [1, 1, 1]
    assert counts["group"] >= 4 and counts["application"] >= 2 and counts["servicePrincipal"] >= 3


def test_ids_round_trip_and_reject_foreign_ids() -> None:
    layout = Layout(7, 1_000_000)
    for idx in (0, 1, 2, 3, 999, 123_456, 999_999, 1_000_500):
        oid = layout.id_of(idx)
        assert layout.index_of(oid) == idx
        if idx not in (1, 2):
            assert layout.index_of(oid.upper()) == idx
    assert layout.id_of(1) == "authorizationPolicy"
    assert layout.id_of(2) == "authenticationMethodsPolicy"
    assert len({layout.id_of(i) for i in range(20_000)}) == 20_000
    assert layout.index_of("11111111-1111-1111-1111-111111111111") is None
    assert layout.index_of(Layout(8, 1_000_000).id_of(5000)) is None
    assert layout.index_of("zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz") is None


def test_static_memberships_are_consistent_both_ways() -> None:
    layout = Layout(2, 3000)
    u0, g0 = layout.starts["user"], layout.starts["group"]
    by_group: dict[int, set[int]] = {}
    for u in range(u0, u0 + layout.counts["user"]):
        groups = layout.groups_of(u)
        assert 1 <= len(groups) <= 2
        for g in groups:
            assert layout.group_kind(g - g0) != "dynamic"
            by_group.setdefault(g, set()).add(u)
    for g in range(g0, g0 + layout.counts["group"]):
        assert set(layout.members_of(g)) == by_group.get(g, set())
    sizes = [len(v) for v in by_group.values()]
    assert min(sizes) >= 5 and max(sizes) < 200


def test_group_kinds_all_present_even_in_small_tenants() -> None:
    layout = Layout(1, 100)
    kinds = {layout.group_kind(o) for o in range(layout.counts["group"])}
    assert kinds == {"security", "unified", "dynamic", "onprem"}


# ---- report contents -----------------------------------------------------------------------------
def test_oldest_snapshot_diff_has_every_action_and_many_types() -> None:
    records = tenant().diff(oldest(tenant()))
    actions = Counter(r.action for r in records)
    assert set(actions) == {"update", "restore", "softDelete"}
    by_type_action = Counter((r.entity_type, r.action) for r in records)
    assert by_type_action[("user", "update")] > by_type_action[("user", "restore")] > 0
    assert by_type_action[("user", "softDelete")] > 0
    assert {r.entity_type for r in records} >= {"user", "group", "conditionalAccessPolicy",
                                               "namedLocationPolicy", "application", "servicePrincipal"}
    assert [(r.entity_type, r.id) for r in records] == sorted((r.entity_type, r.id) for r in records)
    assert len({r.id for r in records}) == len(records)


def test_every_entity_type_appears_across_seeds() -> None:
    seen: set[str] = set()
    for seed in range(1, 6):
        d = tenant(seed=seed)
        seen.update(r.entity_type for r in d.diff(oldest(d)))
    # The organization has no recoverable Graph property (the documented per-user MFA settings have none).
    assert c.RECOVERABLE["organization"] == ()
    assert seen == set(c.ENTITY_TYPES) - {"organization"}


def test_incident_after_newest_snapshot() -> None:
    d = tenant()
    docs = parsed(d.diff(newest(d)))
    users = [x for x in docs if x["entityTypeName"] == "user" and x["recoveryAction"] == "update"]
    disabled = [x for x in users if x["currentState"].get("accountEnabled") is False
                and x["currentState"]["displayName"].startswith("DISABLED - ")]
    assert len(disabled) >= 40
    for x in disabled:
        assert x["deltaFromCurrent"]["accountEnabled"] is True
        assert "DISABLED - " + x["deltaFromCurrent"]["displayName"] == x["currentState"]["displayName"]
    ca = [x for x in docs if x["entityTypeName"] == "conditionalAccessPolicy"]
    assert [x["currentState"]["state"] for x in ca] == ["enabledForReportingButNotEnforced"]
    assert ca[0]["deltaFromCurrent"]["state"] == "enabled"
    groups = [x for x in docs if x["entityTypeName"] == "group" and x["recoveryAction"] == "restore"]
    assert len(groups) == 1
    adds = groups[0]["deltaFromCurrent"]["members@delta"]
    assert len(adds) >= 5 and all("@removed" not in e for e in adds)
    rogue = {(x["entityTypeName"], x["displayName"]) for x in docs if x["recoveryAction"] == "softDelete"}
    assert {("application", "Azure AD Sync Helper"), ("servicePrincipal", "Azure AD Sync Helper")} <= rogue
    loc = [x for x in docs if x["entityTypeName"] == "namedLocationPolicy"]
    assert len(loc) == 1
    cidrs = {r["cidrAddress"] for r in loc[0]["currentState"]["ipRanges"]}
    assert {"0.0.0.0/1", "128.0.0.0/1"} <= cidrs
    assert not {r["cidrAddress"] for r in loc[0]["deltaFromCurrent"]["ipRanges"]} & {"0.0.0.0/1"}
    assert any(x["entityTypeName"] == "user" and x["recoveryAction"] == "restore" for x in docs)


@pytest.mark.parametrize("drift", [0, 7, 150, 900])
def test_drift_sets_how_many_objects_the_incident_touches(drift: int) -> None:
    d = Directory(seed=2, objects=3000, drift=drift, now=NOW)
    records = d.diff(newest(d))
    # hard-deleted users are touched but never reported; a couple of groups may show their broken links
    assert drift - max(1, drift // 1000) - 2 <= len(records) <= drift + 3
    if drift == 0:
        assert records == []


def test_default_incident_is_a_few_percent() -> None:
    d = tenant(objects=5000)
    n = len(d.diff(newest(d)))
    assert 0.02 * 5000 <= n <= 0.04 * 5000


def test_only_recoverable_and_only_changed_properties() -> None:
    for seed in (1, 2, 3):
        d = tenant(seed=seed)
        for sid, _ in d.snapshots():
            for doc in parsed(d.diff(sid)):
                allowed = set(c.RECOVERABLE[doc["entityTypeName"]])
                delta, current = doc["deltaFromCurrent"], doc["currentState"]
                assert set(delta) <= allowed | DELTA_EXTRA, doc
                assert set(current) <= allowed | CURRENT_EXTRA, doc
                if doc["recoveryAction"] == "update":
                    props = set(delta) - DELTA_EXTRA
                    assert props == set(current) - CURRENT_EXTRA
                    assert all(delta[k] != current[k] for k in props), doc
                    assert props or delta.get("members@delta"), doc


def test_non_recoverable_edits_never_reach_the_report() -> None:
    bodies = b"".join(r.body for seed in (1, 2, 3) for r in tenant(seed=seed).diff(oldest(tenant(seed=seed))))
    for name in (b"lastPasswordChangeDateTime", b"aboutMe", b"membershipRule", b"passwordCredentials",
                 b"expirationDateTime", b"(renamed)", b"onPremisesExtensionAttributes"):
        assert name not in bodies
