"""The pure parts of a careful restore: fingerprints and staleness, options and estimates, dependencies,
lockout evaluation, verification and the reviewed plan document."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from entrabr_tui.core.dependencies import Deleted, DependencyKind, fixes, missing_dependencies
from entrabr_tui.core.lockout import (
    GLOBAL_ADMINISTRATOR_ROLE,
    admin_principal,
    break_glass_principals,
    coverage,
    evaluate,
    membership_changes,
    restored_policies,
)
from entrabr_tui.core.model import Change, EntityNameAndIdsFilter, EntityNamesFilter, SyncStatus
from entrabr_tui.core.plan_options import Choice, DurationModel, PlanEstimate, TypeFacts, plan_choices
from entrabr_tui.core.planner import QueuedChange
from entrabr_tui.core.recoverability import RECOVERABLE
from entrabr_tui.core.review import compare_reviewed, object_fingerprints
from entrabr_tui.core.reviewed_plan import (
    DocumentProblem,
    PlanDocumentError,
    ReviewedPlan,
    items_of,
    read_document,
)
from entrabr_tui.core.verification import Residue, VerifyOutcome, classify


def change(object_id: str, entity: str = "user", action: str = "update", delta: dict[str, Any] | None = None,
           current: dict[str, Any] | None = None, name: str = "") -> Change:
    return Change.from_json({"id": object_id, "entityTypeName": entity, "recoveryAction": action,
                             "displayName": name or object_id, "deltaFromCurrent": delta or {},
                             "currentState": current or {}}).with_sync(SyncStatus.CLOUD)


# -- fingerprints and staleness ----------------------------------------------------------------------------
def test_fingerprints_ignore_order_link_order_and_the_soft_delete_stamp() -> None:
    a = change("g1", "group", delta={"description": "x", "members@delta": [{"id": "u1"}, {"id": "u2"}]},
               current={"description": "y"})
    b = change("g1", "group", delta={"members@delta": [{"id": "u2"}, {"id": "u1"}], "description": "x"},
               current={"description": "y"})
    assert object_fingerprints([a]) == object_fingerprints([b])
    d1 = change("u9", action="softDelete", delta={"@removed": {"reason": "changed"}, "deletedDateTime": "T1"})
    d2 = change("u9", action="softDelete", delta={"@removed": {"reason": "changed"}, "deletedDateTime": "T2"})
    assert object_fingerprints([d1]) == object_fingerprints([d2])
    # What the restore would overwrite counts too: a colleague's new value is a move.
    c = change("g1", "group", delta={"description": "x", "members@delta": [{"id": "u1"}, {"id": "u2"}]},
               current={"description": "colleague"})
    assert object_fingerprints([c]) != object_fingerprints([a])
    # Several changes of one object make one fingerprint, in any order.
    two = [change("u1", delta={"jobTitle": "a"}), change("u1", delta={"department": "b"})]
    assert object_fingerprints(two) == object_fingerprints(list(reversed(two)))
    assert list(object_fingerprints(two)) == [("user", "u1")]


def test_staleness_sorts_every_reviewed_object_and_lists_unreviewed_ones() -> None:
    reviewed = {("user", "a"): "1", ("user", "b"): "2", ("user", "c"): "3"}
    fresh = {("user", "a"): "1", ("user", "b"): "changed", ("user", "z"): "9", ("group", "g"): "7"}
    found = compare_reviewed(reviewed, fresh, ["user"])
    assert found.unchanged == (("user", "a"),) and found.moved == (("user", "b"),)
    assert found.gone == (("user", "c"),)
    assert found.unreviewed == (("user", "z"),) and not found.clean
    assert "1 of 3 objects moved" in found.summary and "1 unreviewed changes of user" in found.summary
    by_id = compare_reviewed(reviewed, fresh)
    assert by_id.unreviewed == ()
    assert compare_reviewed({("user", "a"): "1"}, {("user", "a"): "1"}).clean


# -- options and estimates -----------------------------------------------------------------------------------
def q(object_id: str, entity: str = "user", action: str = "update") -> QueuedChange:
    return QueuedChange(object_id, entity, action, RECOVERABLE)


def test_a_thousand_users_are_ten_batches_with_an_estimate() -> None:
    queued = [q(f"u{i:04d}") for i in range(1000)]
    model = DurationModel(tenant_objects=2000, backup_loaded=True)
    choices = plan_choices(queued, {"user": TypeFacts("user", 1200, unmarked=("u9999",))}, model)
    by_id = choices.option(Choice.BY_ID)
    assert by_id.estimate.jobs == 10 and by_id.safe
    assert choices.default is Choice.BY_ID  # whole types would revert an unmarked change
    whole = choices.option(Choice.WHOLE_TYPES)
    assert whole.also_reverts == (("user", "u9999"),) and not whole.safe and whole.estimate.jobs == 1
    now = datetime(2026, 7, 28, 1, 0, tzinfo=UTC)
    text = by_id.estimate.text(now)
    assert text.startswith("10 jobs · ~") and text.endswith(" local") and "ends ≈ " in text
    assert by_id.estimate.seconds == pytest.approx(10 * model.job_seconds(100))


def test_the_default_is_the_fastest_plan_that_reverts_nothing_unmarked_or_kept() -> None:
    queued = [q(f"u{i:04d}") for i in range(450)] + [q("g1", "group"), q("g2", "group")]
    model = DurationModel(backup_loaded=False, tenant_objects=10_000)
    safe = plan_choices(queued, {"user": TypeFacts("user", 450), "group": TypeFacts("group", 5, ("g3",))},
                        model)
    mix = safe.option(Choice.MIX)
    assert mix.whole_types == ("user",) and mix.safe and safe.default is Choice.MIX
    assert mix.plan.batches[0] == EntityNamesFilter(("user",))
    assert mix.plan.batches[1] == EntityNameAndIdsFilter((("group", ("g1", "g2")),))
    assert mix.estimate.seconds < safe.option(Choice.BY_ID).estimate.seconds
    assert mix.estimate.load == model.load > 0  # the backup was not loaded by a report yet
    kept = plan_choices(queued, {"user": TypeFacts("user", 450, kept=("u0007",))}, model,
                        kept_object_ids={"u0007", "g2"})
    assert kept.kept_left_out == (("group", "g2"), ("user", "u0007"))
    assert kept.default is Choice.BY_ID
    assert kept.option(Choice.WHOLE_TYPES).reverts_kept == (("user", "u0007"),)
    assert "u0007" not in kept.chosen.plan.types[0].ids


def test_the_model_learns_from_the_tenants_jobs() -> None:
    model = DurationModel(backup_loaded=True)
    documented = model.job_seconds(100)
    learnt = model.refined([(100, documented * 2), (100, documented * 4), (50, -1), (100, documented * 3)])
    assert learnt.factor == pytest.approx(3.0, rel=0.05) and learnt.learnt_from == 3
    assert "learnt from 3 past jobs" in learnt.basis
    assert model.refined([]) is model
    assert "Mon 03 Aug" in PlanEstimate(2, 6 * 86400).text(datetime(2026, 7, 28, 9, 0, tzinfo=UTC))


# -- dependencies ----------------------------------------------------------------------------------------
def test_missing_dependencies_name_what_to_queue() -> None:
    group = change("g1", "group", delta={"members@delta": [{"id": "u1"}, {"id": "u2"},
                                                           {"id": "u3", "@removed": {"reason": "changed"}}]})
    policy = change("c1", "conditionalAccessPolicy", delta={"conditions": {
        "users": {"includeGroups": ["g9"], "excludeUsers": ["u2"]},
        "locations": {"includeLocations": ["n1", "All"]}}})
    sp = change("s1", "servicePrincipal", action="restore", name="Payroll")
    deleted = {"u1": Deleted("user", "u1", "Ada"), "u2": Deleted("user", "u2", "Bob"),
               "u3": Deleted("user", "u3"), "g9": Deleted("group", "g9", "Admins"),
               "n1": Deleted("namedLocationPolicy", "n1", "HQ"),
               "a1": Deleted("application", "a1", "payroll")}
    found = missing_dependencies([group, policy, sp], {"g1", "c1", "s1", "u2"}, deleted)
    kinds = [(w.kind, w.subject_id, w.needed.id) for w in found]
    assert kinds == [(DependencyKind.APPLICATION, "s1", "a1"), (DependencyKind.MEMBER, "g1", "u1"),
                     (DependencyKind.POLICY_REFERENCE, "c1", "g9"),
                     (DependencyKind.POLICY_REFERENCE, "c1", "n1")]
    assert "adds back member Ada" in found[1].text
    assert [d.id for d in fixes(found)] == ["a1", "g9", "n1", "u1"]
    assert missing_dependencies([group], {"g1"}, deleted, whole_types={"user"}) == []


# -- lockout -----------------------------------------------------------------------------------------------
def ca(state: str = "enabled", include: list[str] | None = None, exclude_groups: list[str] | None = None,
       grant: list[str] | None = None, apps: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    return {"displayName": "Block all", "state": state,
            "conditions": {"users": {"includeUsers": ["All"] if include is None else include,
                                     "excludeUsers": [],
                                     "includeGroups": [], "excludeGroups": exclude_groups or [],
                                     "includeRoles": [], "excludeRoles": []},
                           "applications": {"includeApplications": apps or ["All"]}, **extra},
            "grantControls": {"operator": "OR", "builtInControls": grant or ["block"]}}


def test_coverage_follows_the_policy_rules() -> None:
    [user, group] = break_glass_principals(["bg1"], ["bgg"])
    assert coverage(ca(), user) is not None and coverage(ca(), group) is not None
    assert coverage(ca(exclude_groups=["bgg"]), user) is None  # accounts are taken to be in the group
    assert coverage(ca(exclude_groups=["bgg"]), group) is None
    assert coverage(ca(state="enabledForReportingButNotEnforced"), user) is None
    assert coverage(ca(apps=["00000002-0000-0ff1-ce00-000000000000"]), user) is None
    assert coverage(ca(clientAppTypes=["exchangeActiveSync", "other"]), user) is None
    roles = ca(include=[])
    roles["conditions"]["users"]["includeRoles"] = [GLOBAL_ADMINISTRATOR_ROLE]
    assert coverage(roles, user) is not None and coverage(roles, group) is None
    located = coverage(ca(grant=["mfa"], locations={"includeLocations": ["n1"]}), user)
    assert located is not None and located.conditions == ("location",) and not located.blocks
    assert coverage(ca(include=["GuestsOrExternalUsers"]), user) is None


def test_a_restore_that_newly_covers_a_break_glass_group_is_found() -> None:
    live = {"c1": ca(exclude_groups=["bgg"]), "c2": ca(state="disabled")}
    changes = [change("c1", "conditionalAccessPolicy", delta={"conditions": ca()["conditions"]},
                      name="Block all"),
               change("c2", "conditionalAccessPolicy", delta={"state": "enabled"}, name="Other")]
    before, after = restored_policies(changes, live)
    assert after["c1"] is not None and after["c1"]["conditions"]["users"]["excludeGroups"] == []
    principals = [*break_glass_principals([], ["bgg"]), admin_principal("me", [])]
    found = evaluate(before, after, principals)
    assert [(f.policy_id, f.principal.label, f.needs_confirmation) for f in found] == [
        ("c1", "break-glass group", True), ("c2", "break-glass group", True),
        ("c2", "you (the signed-in admin)", True)]
    assert found[0].text == "'Block all' would newly apply to break-glass group bgg: blocks sign-in"
    # Nothing new: a policy that already applied is no finding.
    assert evaluate(live, live, principals) == []


def test_removing_a_break_glass_account_from_an_excluded_group_is_found() -> None:
    live = {"c1": ca(exclude_groups=["exempt"])}
    group = change("exempt", "group", delta={"members@delta": [{"id": "bg1", "@removed": {"reason": "x"}}]})
    memberships = membership_changes([group], ["bg1"])
    assert memberships.removed == {"bg1": frozenset({"exempt"})}
    found = evaluate(live, live, break_glass_principals(["bg1"], []), memberships)
    assert [f.principal.id for f in found] == ["bg1"]


# -- verification ----------------------------------------------------------------------------------------
def test_verification_sorts_residue_from_drift() -> None:
    fresh = [change("u1", delta={"jobTitle": "x"}), change("u2", delta={"jobTitle": "y"}),
             change("u3", delta={"passwordProfile": {"x": 1}}),
             Change.from_json({"id": "u4", "entityTypeName": "user", "recoveryAction": "update",
                               "deltaFromCurrent": {"jobTitle": "z"},
                               "currentState": {"onPremisesSyncEnabled": True}}),
             change("u9", delta={"jobTitle": "ignored: not restored"})]
    restored = [("user", f"u{i}") for i in range(1, 7)]
    reviewed = object_fingerprints([fresh[1]])
    found = classify(fresh, restored, {"u1"}, reviewed)
    kinds = {item.id: (item.residue, item.detail) for item in found.residue}
    assert kinds["u1"][0] is Residue.FAILED and kinds["u3"][0] is Residue.UNRECOVERABLE
    assert kinds["u4"][0] is Residue.SYNCED and "u9" not in kinds
    assert kinds["u2"] == (Residue.DRIFTED, "the same difference as reviewed: the restore did not change it")
    assert found.verdict is VerifyOutcome.DRIFT and found.checked == 6
    assert found.summary.startswith("Drift found: 2 of 6 restored objects match the backup; 3 expected")
    clean = classify([fresh[0]], restored, {"u1"})
    assert clean.verdict is VerifyOutcome.EXPECTED
    assert classify([], restored, ()).verdict is VerifyOutcome.VERIFIED


# -- the reviewed plan document ----------------------------------------------------------------------------
def test_a_reviewed_plan_round_trips_and_refuses_tampering() -> None:
    choices = plan_choices([q("u1"), q("u2", action="restore"), q("g1", "group")], {}, DurationModel())
    plan = choices.chosen.plan
    reviewed = {("user", "u1"): "h1", ("user", "u2"): "h2", ("group", "g1"): "h3"}
    doc = ReviewedPlan("tenant-1", "snap", "job-1", "ann@contoso", datetime(2026, 7, 28, tzinfo=UTC),
                       items_of(plan, reviewed, {"u1": "Ada"}, {}), plan.batches, "ids",
                       planner={"options": [{"choice": "ids"}]}).document()
    back = read_document(doc)
    assert back.reviewed == reviewed and back.jobs == plan.batches
    assert back.restore_plan().batches == plan.batches
    assert (back.items[0].id, back.items[0].action, back.items[1].display_name) == ("u2", "restore", "Ada")
    tampered = {**doc, "snapshotId": "other"}
    with pytest.raises(PlanDocumentError) as raised:
        read_document(tampered)
    assert raised.value.problem is DocumentProblem.TAMPERED
    rehashed = ReviewedPlan("tenant-1", "snap", None, "ann", datetime(2026, 7, 28, tzinfo=UTC),
                            back.items, (EntityNamesFilter(("user",)),), "ids").document()
    with pytest.raises(PlanDocumentError, match="jobs are not the ones its items give"):
        read_document(rehashed)
    for bad in ("x", {"schema": "other"}, {**doc, "contentSha256": None}):
        with pytest.raises(PlanDocumentError) as malformed:
            read_document(bad)
        assert malformed.value.problem is DocumentProblem.MALFORMED
    assert back.reviewed_at + timedelta(0) == datetime(2026, 7, 28, tzinfo=UTC)
