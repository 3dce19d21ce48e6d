"""Restore planning: per-type actions, exclusions, job batches and their invariants."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from entrabr_tui.core.model import (
    MAX_IDS_PER_JOB,
    Change,
    EntityNameAndIdsFilter,
    EntityNamesFilter,
    FilteringCriteria,
    SyncStatus,
)
from entrabr_tui.core.planner import (
    QueuedChange,
    RestorePlan,
    batch_stage,
    plan_restore,
    plan_to_json,
    queued_change_for,
    rebatch,
    summary_lines,
)
from entrabr_tui.core.recoverability import ExclusionReason, Recoverable, Verdict, stored_verdict
from entrabr_tui.core.stages import stage_of


def q(object_id: str, entity: str = "user", action: str = "update", synced: bool | None = False,
      recoverable: bool = True) -> QueuedChange:
    """A queued change whose verdict follows the definition: ``synced`` None is an unknown sync status,
    ``recoverable`` says whether a property or link of it is recoverable."""
    sync = SyncStatus.from_flag(synced)
    stored = None if sync is SyncStatus.UNKNOWN and recoverable else recoverable
    return QueuedChange(object_id, entity, action, stored_verdict(entity, action, sync, stored))


def batch_ids(batch: FilteringCriteria) -> list[tuple[str, str]]:
    assert isinstance(batch, EntityNameAndIdsFilter)
    return [(t, i) for t, ids in batch.values for i in ids]


def test_actions_are_grouped_per_type_and_sorted() -> None:
    plan = plan_restore([q("u3"), q("u1", action="restore"), q("u2", action="softDelete"), q("g1", "group"),
                         q("u4", action="somethingNew")])
    assert [t.entity_type for t in plan.types] == ["user", "group"]
    user = plan.types[0]
    actions = (user.restores, user.updates, user.soft_deletes, user.others)
    assert actions == (("u1",), ("u3",), ("u2",), ())
    assert user.ids == ("u1", "u3", "u2")
    assert not user.whole_type and user.report_total is None
    # Users and groups are two stages: a job never mixes them.
    assert plan.batches == (EntityNameAndIdsFilter((("user", ("u1", "u3", "u2")),)),
                            EntityNameAndIdsFilter((("group", ("g1",)),)))
    summary = plan.summary
    assert (summary.included, summary.restores, summary.updates, summary.soft_deletes, summary.others) == (
        4, 1, 2, 1, 0)
    assert summary.requires_typed_confirmation and summary.jobs == 2
    assert [(e.reason, e.ids) for e in plan.exclusions] == [(ExclusionReason.UNSUPPORTED_ACTION, ("u4",))]


def test_exclusions_say_why() -> None:
    plan = plan_restore([
        q("s1", synced=True), q("n1", recoverable=False), q("ok"),
        q("g1", "oAuth2PermissionGrant"), q("a1", "authenticationStrengthPolicy"), q("z1", "printer"),
        q("", "user"), q("s2", "oAuth2PermissionGrant", synced=True),
    ])
    reasons = {(e.entity_type, e.reason): e for e in plan.exclusions}
    assert reasons[("user", ExclusionReason.ON_PREMISES_SYNCED)].ids == ("s1",)
    assert reasons[("user", ExclusionReason.NOTHING_RECOVERABLE)].ids == ("n1",)
    assert reasons[("user", ExclusionReason.MISSING_ID)].ids == ("",)
    grant = reasons[("oAuth2PermissionGrant", ExclusionReason.TYPE_NOT_RECOVERABLE)]
    assert grant.ids == ("g1", "s2") and "service principal" in grant.detail
    assert "authentication strengths" in reasons[
        ("authenticationStrengthPolicy", ExclusionReason.TYPE_NOT_RECOVERABLE)].detail
    assert "'printer'" in reasons[("printer", ExclusionReason.TYPE_NOT_RECOVERABLE)].detail
    assert "on-premises" in reasons[("user", ExclusionReason.ON_PREMISES_SYNCED)].detail
    assert [t.entity_type for t in plan.types] == ["user"]
    assert plan.batches == (EntityNameAndIdsFilter((("user", ("ok",)),)),)
    summary = plan.summary
    assert summary.excluded == 7 and summary.included == 1 and summary.queued == 8
    assert plan.warnings == [] and summary.sync_unknown == 0
    assert dict(summary.excluded_by_reason) == {
        ExclusionReason.MISSING_ID: 1, ExclusionReason.TYPE_NOT_RECOVERABLE: 4,
        ExclusionReason.ON_PREMISES_SYNCED: 1, ExclusionReason.NOTHING_RECOVERABLE: 1}
    assert not summary.requires_typed_confirmation


def test_batches_hold_at_most_100_ids_with_one_entry_per_type() -> None:
    queued = [q(f"u{i:04d}") for i in range(250)] + [q(f"g{i:03d}", "group") for i in range(30)]
    plan = plan_restore(queued)
    sizes = [b.id_count for b in plan.batches if isinstance(b, EntityNameAndIdsFilter)]
    assert sizes == [100, 100, 50, 30]  # the users' stage ends before the groups' starts
    third = plan.batches[2]
    assert isinstance(third, EntityNameAndIdsFilter)
    assert [t for t, _ in third.values] == ["user"] and third.values[0][1][0] == "u0200"
    assert plan_restore(queued, max_ids=7).summary.jobs == 36 + 5


def test_jobs_follow_the_dependency_stages() -> None:
    queued = [q("c1", "conditionalAccessPolicy"), q("n1", "namedLocationPolicy"), q("s1", "servicePrincipal"),
              q("o1", "oAuth2PermissionGrant", recoverable=False), q("a1", "application"), q("g1", "group"),
              q("u1"), q("z1", "authorizationPolicy")]
    plan = plan_restore(queued, {"group": 1, "user": 1})
    assert [(stage.title, len(jobs)) for stage, jobs in plan.stages] == [
        ("users", 1), ("groups", 1), ("applications", 1), ("service principals", 1), ("named locations", 1),
        ("Conditional Access and other policies", 1)]
    assert plan.batches[:2] == (EntityNamesFilter(("user",)), EntityNamesFilter(("group",)))
    policies = plan.batches[-1]
    assert isinstance(policies, EntityNameAndIdsFilter)
    assert [t for t, _ in policies.values] == ["conditionalAccessPolicy", "authorizationPolicy"]
    assert plan_to_json(plan)["stages"][0] == {"stage": "users", "jobs": 1}
    assert any(line.startswith("  in order: users (1 job) → groups") for line in summary_lines(plan))


def test_rebatch_chooses_the_whole_types() -> None:
    plan = plan_restore([q("u1"), q("u2"), q("g1", "group"), q("c1", "conditionalAccessPolicy")])
    mixed = rebatch(plan, {"user", "conditionalAccessPolicy"})
    assert mixed.batches == (EntityNamesFilter(("user",)), EntityNameAndIdsFilter((("group", ("g1",)),)),
                             EntityNamesFilter(("conditionalAccessPolicy",)))
    assert mixed.summary.whole_types == ("user", "conditionalAccessPolicy")
    assert rebatch(mixed, ()).batches == plan.batches


def test_whole_type_only_when_every_change_of_the_type_is_queued() -> None:
    queued = [q("u1"), q("u2", action="softDelete"), q("g1", "group"), q("c1", "conditionalAccessPolicy")]
    plan = plan_restore(queued, {"user": 2, "group": 5, "conditionalAccessPolicy": 1})
    assert plan.batches == (EntityNamesFilter(("user",)), EntityNameAndIdsFilter((("group", ("g1",)),)),
                            EntityNamesFilter(("conditionalAccessPolicy",)))
    assert plan.summary.whole_types == ("user", "conditionalAccessPolicy")
    ids_only = plan_restore(queued, {"user": 2}, allow_whole_type=False)
    assert ids_only.batches == tuple(EntityNameAndIdsFilter(((t, ids),)) for t, ids in (
        ("user", ("u1", "u2")), ("group", ("g1",)), ("conditionalAccessPolicy", ("c1",))))
    with_excluded = plan_restore([*queued, q("u3", synced=True)], {"user": 3})
    assert all(isinstance(b, EntityNameAndIdsFilter) for b in with_excluded.batches)
    assert plan_restore([q("u1"), q("u1")], {"user": 2}).summary.whole_types == ()
    understated = plan_restore([q("u1"), q("u2"), q("u3", recoverable=False)], {"user": 2})
    assert understated.summary.whole_types == ()


def test_duplicates_count_once_and_order_does_not_matter() -> None:
    queued = [q("b"), q("a"), q("b"), q("c", "group"), q("a", "group")]
    plan = plan_restore(queued)
    assert plan.duplicates == 1 and plan.summary.queued == 5 and plan.summary.included == 4
    assert plan_restore(list(reversed(queued))) == plan
    conflicting = plan_restore([q("x"), q("x", synced=True), q("y", recoverable=False), q("y")])
    assert {e.reason for e in conflicting.exclusions} == {ExclusionReason.ON_PREMISES_SYNCED,
                                                         ExclusionReason.NOTHING_RECOVERABLE}


def test_empty_queue_and_bad_limits() -> None:
    plan = plan_restore([])
    assert plan.is_empty and plan.summary.jobs == 0 and plan.types == ()
    with pytest.raises(ValueError, match="max_ids"):
        plan_restore([q("a")], max_ids=0)


def test_untyped_records_are_accepted() -> None:
    yes = Verdict(Recoverable.YES)
    plan = plan_restore([(None, "user", "update", yes), ("x", "user", "update", yes)])  # type: ignore[list-item]  # an id-less record on purpose
    assert plan.summary.included == 1
    assert plan.exclusions[0].reason is ExclusionReason.MISSING_ID


def test_queued_change_for_uses_the_one_definition() -> None:
    change = Change.from_json({"id": "u1", "entityTypeName": "user", "recoveryAction": "update",
                               "deltaFromCurrent": {"passwordProfile": {"x": 1}},
                               "currentState": {"onPremisesSyncEnabled": True}})
    record = queued_change_for(change)
    assert record[:3] == ("u1", "user", "update")
    assert record.verdict.answer is Recoverable.NO
    assert record.verdict.reason is ExclusionReason.ON_PREMISES_SYNCED


def test_unknown_sync_status_is_included_and_warned_about() -> None:
    plan = plan_restore([q("u1", synced=None), q("u2"), q("u3", synced=None, action="restore"),
                         q("u4", synced=None, recoverable=False), q("g1", "group", synced=None),
                         q("c1", "conditionalAccessPolicy")])
    assert plan.types[0].ids == ("u3", "u1", "u2")
    assert plan.sync_unknown == (("user", ("u1", "u3")), ("group", ("g1",)))
    assert [(e.reason, e.ids) for e in plan.exclusions] == [(ExclusionReason.NOTHING_RECOVERABLE, ("u4",))]
    assert plan.summary.sync_unknown == 3
    assert plan.warnings == [
        "sync status unknown for 2 users: on-premises-synced objects will fail to recover; grant "
        "Directory.Read.All to check",
        "sync status unknown for 1 group: on-premises-synced objects will fail to recover; grant "
        "Directory.Read.All to check"]
    repeated = plan_restore([q("u1", synced=None)] * 1234)  # one object queued many times
    assert repeated.warnings[0].startswith("sync status unknown for 1 user:")
    many = plan_restore([q(f"u{i}", synced=None) for i in range(1234)])
    assert many.warnings[0].startswith("sync status unknown for 1,234 users: ")
    data = plan_to_json(plan)
    assert data["summary"]["syncUnknown"] == 3 and data["warnings"] == plan.warnings
    assert data["syncUnknown"] == [{"entityType": "user", "ids": ["u1", "u3"]},
                                   {"entityType": "group", "ids": ["g1"]}]
    assert "  warning: " + plan.warnings[0] in summary_lines(plan)
    # A copy known to be synced wins over one of unknown status, which wins over a recoverable one.
    mixed = plan_restore([q("x", synced=None), q("x"), q("y", synced=None), q("y", synced=True)])
    assert mixed.sync_unknown == (("user", ("x",)),)
    assert [e.ids for e in mixed.exclusions] == [("y",)]


def test_plan_json_and_lines() -> None:
    plan = plan_restore([q("u1", action="softDelete"), q("s1", synced=True), q("u1")], {"user": 2})
    data = plan_to_json(plan)
    assert data["summary"]["softDelete"] == 1 and data["summary"]["requiresTypedConfirmation"] is True
    odata = "#microsoft.graph.entraRecoveryServices.recoveryJobEntityNameAndIdsFilter"
    assert data["jobs"] == [{"@odata.type": odata,
                             "filterValues": [{"entityType": "user", "entityIds": ["u1"]}]}]
    assert data["excluded"][0]["reason"] == "onPremisesSynced"
    text = "\n".join(summary_lines(plan))
    assert "1 soft-deleted" in text and "SOFT-DELETED" in text and "duplicate" in text and "excluded" in text


RECOVERABLE_TYPES = ["user", "group", "application", "servicePrincipal", "conditionalAccessPolicy"]
TYPES = [*RECOVERABLE_TYPES, "oAuth2PermissionGrant", "authenticationStrengthPolicy", "mystery"]
ACTIONS = ["update", "restore", "softDelete", "unknownFutureValue"]

records = st.builds(
    q,
    object_id=st.text(alphabet="abcdef0123", min_size=0, max_size=3),
    entity=st.sampled_from(TYPES),
    action=st.sampled_from(ACTIONS),
    synced=st.sampled_from([False, True, None]),
    recoverable=st.booleans(),
)
_RANK = {Recoverable.NO: 0, Recoverable.UNKNOWN: 1, Recoverable.YES: 2}


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[QueuedChange], dict[str, int], int]:
    queued = draw(st.lists(records, max_size=400))
    totals: dict[str, int] = {}
    for entity in TYPES:
        distinct = len({r.id for r in queued if r.entity_type == entity})
        # Mostly consistent with the queue; sometimes more in the report, sometimes (bad input) fewer.
        totals[entity] = max(0, distinct + draw(st.sampled_from([0, 0, 1, 5, -1])))
    return queued, totals, draw(st.sampled_from([1, 3, 100]))


def check_invariants(queued: list[QueuedChange], totals: dict[str, int], plan: RestorePlan,
                     limit: int) -> None:
    groups: dict[tuple[str, str], list[QueuedChange]] = {}
    for r in queued:
        groups.setdefault((r.entity_type, r.id), []).append(r)
    # Conflicting duplicates: any copy that is not recoverable excludes.
    distinct = {k: min(g, key=lambda r: (_RANK[r.verdict.answer], str(r.verdict.reason), r.action))
                for k, g in groups.items()}
    eligible = {key for key, r in distinct.items() if r.id and r.entity_type in RECOVERABLE_TYPES
                and r.action in ACTIONS[:3] and r.verdict.answer is not Recoverable.NO}
    unknown = {(t, i) for t, ids in plan.sync_unknown for i in ids}
    assert unknown == {k for k in eligible if distinct[k].verdict.answer is Recoverable.UNKNOWN}
    excluded = {(e.entity_type, i) for e in plan.exclusions for i in e.ids}
    assert excluded == set(distinct) - eligible
    whole: set[str] = set()
    in_batches: Counter[tuple[str, str]] = Counter()
    for batch in plan.batches:
        if isinstance(batch, EntityNamesFilter):
            assert len(set(batch.entity_types)) == len(batch.entity_types)
            whole.update(batch.entity_types)
            continue
        assert 0 < batch.id_count <= limit
        entry_types = [t for t, _ in batch.values]
        assert len(entry_types) == len(set(entry_types)), "duplicate type in one filter"
        assert all(ids for _, ids in batch.values)
        in_batches.update(batch_ids(batch))
    assert all(n == 1 for n in in_batches.values()), "an id in more than one batch"
    assert not set(in_batches) & excluded
    assert set(in_batches) | {k for k in eligible if k[0] in whole} == eligible
    assert not {k for k in in_batches if k[0] in whole}
    stages = [batch_stage(b) for b in plan.batches]
    assert stages == sorted(stages), "jobs out of stage order"
    names = [batch_stage(b) for b in plan.batches if isinstance(b, EntityNamesFilter)]
    assert len(names) == len(set(names)), "more than one whole-type job in a stage"
    for batch in plan.batches:
        types = batch.entity_types if isinstance(batch, EntityNamesFilter) else [t for t, _ in batch.values]
        assert len({stage_of(t) for t in types}) == 1, "a job mixes two stages"
    for entity in whole:
        keys = [k for k in distinct if k[0] == entity]
        assert totals[entity] == len(keys) and all(k in eligible for k in keys)
    summary = plan.summary
    assert summary.included == len(eligible) and summary.excluded == len(excluded)
    assert summary.included + summary.excluded + summary.duplicates == len(queued)
    assert summary.soft_deletes == sum(1 for k in eligible if distinct[k].action == "softDelete")


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_plan_invariants(scenario: tuple[list[QueuedChange], dict[str, int], int]) -> None:
    queued, totals, limit = scenario
    plan = plan_restore(queued, totals, max_ids=limit)
    check_invariants(queued, totals, plan, limit)
    assert plan_restore(list(reversed(queued)), totals, max_ids=limit).batches == plan.batches


@settings(max_examples=60, deadline=None)
@given(st.lists(records, max_size=300))
def test_plan_invariants_without_totals(queued: list[QueuedChange]) -> None:
    plan = plan_restore(queued, max_ids=MAX_IDS_PER_JOB)
    assert not any(isinstance(b, EntityNamesFilter) for b in plan.batches)
    check_invariants(queued, {}, plan, MAX_IDS_PER_JOB)


def test_large_queue_is_planned_in_full() -> None:
    queued = [q(f"{i:06d}", TYPES[i % 5], ACTIONS[i % 3], synced=i % 17 == 0) for i in range(20_000)]
    plan = plan_restore(queued)
    check_invariants(queued, {}, plan, MAX_IDS_PER_JOB)
    per_type = Counter(t.entity_type for t in plan.types for _ in t.ids)
    assert plan.summary.jobs == sum(-(-n // MAX_IDS_PER_JOB) for n in per_type.values())
