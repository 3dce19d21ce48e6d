"""The join of a change with its object's audit events: explained / unexplained per part, the primary actor,
clusters, blind spots, the purge clock and records read leniently."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from entrabr_tui.core.audit_blindspots import PURGE_DAYS, BlindSpotKind, blind_spot, purge_clock
from entrabr_tui.core.audit_clusters import OLD, cluster_key, cluster_of
from entrabr_tui.core.audit_join import JoinContext, Reason, Verdict, explain_change
from entrabr_tui.core.audit_model import (
    TargetEvent,
    actor_of,
    attribution_text,
    iso_to_us,
    record_facts,
    target_events,
    time_to_us,
)
from entrabr_tui.core.model import Change
from entrabr_tui.core.planner import QueuedChange, plan_restore
from entrabr_tui.core.recoverability import ExclusionReason, Recoverable
from entrabr_tui.core.recoverability import Verdict as Verdict_

BACKUP = datetime(2026, 3, 20, 22, 0, tzinfo=UTC)
CTX = JoinContext(time_to_us(BACKUP - timedelta(minutes=15)))
OID = "11111111-1111-1111-1111-111111111111"


def change(entity: str = "user", action: str = "update", delta: dict[str, Any] | None = None,
           current: dict[str, Any] | None = None, object_id: str = OID) -> Change:
    return Change.from_json({"id": object_id, "entityTypeName": entity, "recoveryAction": action,
                             "displayName": "Zoe", "deltaFromCurrent": delta or {},
                             "currentState": current or {}})


def attr(value: Any) -> str:
    return json.dumps(value if isinstance(value, list) else [value])


def event(minutes: int, actor: str = "alice", props: tuple[tuple[str, str | None, str | None], ...] = (),
          activity: str = "Update user", corr: str = "op-1", sync: bool = False, result: str = "success",
          peers: tuple[str, ...] = ()) -> TargetEvent:
    at = time_to_us(BACKUP + timedelta(minutes=minutes))
    return TargetEvent(at, f"rec-{minutes}-{activity}", activity, corr, actor, result, sync, props, peers)


def test_a_property_is_explained_by_the_last_record_setting_the_current_value() -> None:
    ch = change(delta={"jobTitle": "Engineer"}, current={"jobTitle": "Manager"})
    events = [event(10, "bob", (("JobTitle", attr("Engineer"), attr("Director")),)),
              event(20, "alice", (("JobTitle", attr("Director"), attr("Manager")),), corr="op-2")]
    result = explain_change(ch, events, CTX)
    assert result.verdict is Verdict.EXPLAINED
    (part,) = result.parts
    assert part.name == "jobTitle" and part.event is events[1] and len(part.events) == 2
    assert result.actor_key == "alice" and result.operation == "op-2" and part.logged == "Manager"


def test_a_mismatch_no_record_unlogged_and_expired_are_unexplained() -> None:
    ch = change(delta={"jobTitle": "Engineer"}, current={"jobTitle": "Manager"})
    mismatch = explain_change(ch, [event(5, props=(("JobTitle", attr("Engineer"), attr("Lead")),))], CTX)
    assert (mismatch.verdict, mismatch.reason) == (Verdict.UNEXPLAINED, Reason.MISMATCH)
    assert mismatch.actor_key == "alice"                # attributed, but not explained
    assert explain_change(ch, [], CTX).reason is Reason.NO_RECORD
    unlogged = change(delta={"usageLocation": "US"}, current={"usageLocation": "DE"})
    assert explain_change(unlogged, [], CTX).reason is Reason.UNLOGGED
    old = JoinContext(CTX.since_us, retention_start_us=CTX.since_us + 1)
    assert explain_change(ch, [], old).reason is Reason.EXPIRED


def test_records_before_the_window_and_failed_ones_explain_nothing() -> None:
    ch = change(delta={"department": "HR"}, current={"department": "IT"})
    before = event(-60, props=(("Department", attr("HR"), attr("IT")),))
    failed = event(30, props=(("Department", attr("HR"), attr("IT")),), result="failure")
    assert explain_change(ch, [before, failed], CTX).verdict is Verdict.UNEXPLAINED


def test_directory_names_values_and_collections() -> None:
    ch = change(delta={"mobilePhone": None, "businessPhones": [], "accountEnabled": True},
                current={"mobilePhone": "+1 206 555 0100", "businessPhones": ["+1 425 555 0100"],
                         "accountEnabled": False})
    props = (("Mobile", "[]", attr("+1 206 555 0100")), ("TelephoneNumber", "[]", attr(["+1 425 555 0100"])),
             ("AccountEnabled", "[true]", "[false]"), ("Included Updated Properties", None, '"Mobile"'),
             ("TargetId.UserType", None, '"Member"'))
    result = explain_change(ch, [event(3, props=props)], CTX)
    assert result.verdict is Verdict.EXPLAINED
    assert [p.name for p in result.parts] == ["accountEnabled", "businessPhones", "mobilePhone"]


def test_group_visibility_is_the_directory_is_public_flag() -> None:
    ch = change("group", delta={"visibility": "Private"}, current={"visibility": "Public"})
    assert explain_change(ch, [event(1, props=(("IsPublic", "[false]", "[true]"),),
                                     activity="Update group")], CTX).verdict is Verdict.EXPLAINED


def test_conditional_access_compares_the_whole_policy_by_path() -> None:
    ch = change("conditionalAccessPolicy", delta={"state": "enabled", "conditions": {"users": {"x": 1}}},
                current={"state": "disabled", "conditions": {"users": {"x": 2}}})
    policy = {"state": "disabled", "conditions": {"users": {"x": 2}}, "displayName": "Require MFA"}
    whole = (("ConditionalAccessPolicy", json.dumps({"state": "enabled"}), json.dumps(policy)),)
    result = explain_change(ch, [event(4, "mallory", whole, "Update conditional access policy")], CTX)
    assert result.verdict is Verdict.EXPLAINED and result.actor_key == "mallory"
    assert [p.name for p in result.parts] == ["conditions.users", "state"]
    stale = {**policy, "state": "enabledForReportingButNotEnforced"}
    partly = explain_change(ch, [event(4, "mallory", (("ConditionalAccessPolicy", None, json.dumps(stale)),),
                                       "Update conditional access policy")], CTX)
    assert partly.verdict is Verdict.PARTLY and partly.reason is Reason.MISMATCH


def test_nested_paths_and_collection_items() -> None:
    ch = change(delta={"onPremisesExtensionAttributes": {"extensionAttribute3": "A"}},
                current={"onPremisesExtensionAttributes": {"extensionAttribute3": "B"}})
    assert explain_change(ch, [event(2, props=(("ExtensionAttribute3", attr("A"), attr("B")),))],
                          CTX).verdict is Verdict.EXPLAINED
    fido = {"id": "Fido2", "state": "disabled"}
    methods = change("authenticationMethodPolicy",
                     delta={"authenticationMethodConfigurations": [{"id": "Fido2", "state": "enabled"}]},
                     current={"authenticationMethodConfigurations": [fido]})
    item = (("AuthenticationMethodConfigurations.Fido2", None, json.dumps(fido)),)
    update = event(2, props=item, activity="Authentication Methods Policy Update")
    result = explain_change(methods, [update], CTX)
    assert result.verdict is Verdict.EXPLAINED
    assert result.parts[0].name == "authenticationMethodConfigurations[Fido2]"


def test_links_need_the_record_naming_both_objects() -> None:
    member, guest = "22222222-2222-2222-2222-222222222222", "33333333-3333-3333-3333-333333333333"
    links = [{"id": member}, {"id": guest, "@removed": {"reason": "x"}}]
    ch = change("group", delta={"members@delta": links})
    removed = event(1, "mallory", activity="Remove member from group", peers=(member,))
    added = event(2, "mallory", activity="Add member to group", peers=(guest,), corr="op-2")
    other = event(3, "bob", activity="Add member to group", peers=("44444444-4444-4444-4444-444444444444",))
    result = explain_change(ch, [removed, added, other], CTX)
    assert result.verdict is Verdict.EXPLAINED and result.actor_key == "mallory"
    readded = event(5, "bob", activity="Add member to group", peers=(member,))
    assert explain_change(ch, [removed, added, readded], CTX).verdict is Verdict.PARTLY
    purge = event(9, "rogue", activity="Hard Delete user")
    purged = JoinContext(CTX.since_us, purged={member: purge})
    only_member = change("group", delta={"members@delta": [{"id": member}]})
    result = explain_change(only_member, [], purged)       # a purge drops the link with no record of its own
    assert result.verdict is Verdict.EXPLAINED and result.actor_key == "rogue"


def test_lifecycles_are_explained_by_the_last_delete_or_add() -> None:
    deleted = change(action="restore", delta={"deletedDateTime": None, "displayName": "Zoe"},
                     current={"deletedDateTime": "2026-03-21T01:00:00Z", "displayName": "Zoe"})
    assert [p.name for p in explain_change(deleted, [], CTX).parts] == ["deletedDateTime"]
    delete = event(30, "tom", activity="Delete user")
    assert explain_change(deleted, [delete], CTX).verdict is Verdict.EXPLAINED
    restore = event(40, "tom", activity="Restore user")
    assert explain_change(deleted, [delete, restore], CTX).reason is Reason.MISMATCH
    created = change(action="softDelete", delta={"@removed": {"reason": "changed"}, "deletedDateTime": "x"},
                     current={"deletedDateTime": None})
    assert explain_change(created, [event(1, "hr", activity="Add user")], CTX).actor_key == "hr"


def test_sync_writes_come_out_as_sync() -> None:
    ch = change(delta={"department": "HR"}, current={"department": "IT"})
    props = (("Department", attr("HR"), attr("IT")), ("Action Client Name", None, '"DirectorySync"'))
    assert explain_change(ch, [event(1, "sync", props, sync=True)], CTX).verdict is Verdict.SYNC
    both = change(delta={"department": "HR", "usageLocation": "US"}, current={"department": "IT",
                                                                        "usageLocation": "DE"})
    partial = explain_change(both, [event(1, "sync", props, sync=True)], CTX)
    assert (partial.verdict, partial.reason) == (Verdict.SYNC, Reason.UNLOGGED)
    result = explain_change(ch, [], CTX, synced=True)          # synchronised, and the write left no record
    assert (result.verdict, result.reason) == (Verdict.SYNC, Reason.SYNC)


def test_the_primary_actor_explains_the_most_parts() -> None:
    ch = change(delta={"a1": 1, "a2": 2, "a3": 3}, current={"a1": 10, "a2": 20, "a3": 30})
    events = [event(1, "alice", (("A1", None, "[10]"), ("A2", None, "[20]")), corr="op-a"),
              event(2, "bob", (("A3", None, "[30]"),), corr="op-b")]
    result = explain_change(ch, events, CTX)
    assert result.verdict is Verdict.EXPLAINED and result.actor_key == "alice" and result.operation == "op-a"


def test_same_edits_share_a_cluster_and_its_id_is_stable() -> None:
    def renamed(name: str) -> Change:
        return change(delta={"accountEnabled": True, "displayName": name},
                      current={"accountEnabled": False, "displayName": f"DISABLED - {name}"}, object_id=name)

    first, second = cluster_of(renamed("Zoe Evans")), cluster_of(renamed("Kai Chen"))
    assert first == second and first.entity_type == "user" and first.action == "update"
    assert first.id == "aee53be1a19a4d1b"                       # a hash of the edit: the same in every run
    assert f'"{OLD}" → "DISABLED - {OLD}"' in first.label
    other = change(delta={"accountEnabled": True}, current={"accountEnabled": False})
    assert cluster_of(other).id != first.id
    guest = "33333333-3333-3333-3333-333333333333"
    g1 = change("group", delta={"members@delta": [{"id": guest, "@removed": {}}]}, object_id="g1")
    g2 = change("group", delta={"members@delta": [{"id": guest.upper(), "@removed": {}}]}, object_id="g2")
    assert cluster_key(g1) == cluster_key(g2) and "members" in cluster_of(g1).label
    d1 = change(action="softDelete", delta={"deletedDateTime": "2026-03-21T01:00:00Z"}, object_id="d1")
    d2 = change(action="softDelete", delta={"deletedDateTime": "2026-03-21T02:00:00Z"}, object_id="d2")
    assert cluster_of(d1).id == cluster_of(d2).id              # deletion times differ for every object


def record(activity: str, targets: list[dict[str, Any]], *, result: str = "success") -> dict[str, Any]:
    return {"id": f"Directory_{activity}", "activityDateTime": "2026-03-21T09:30:00.2422920Z",
            "activityDisplayName": activity, "category": "UserManagement", "correlationId": "ABC",
            "result": result,
            "initiatedBy": {"user": None, "app": {"displayName": "HR Onboarding",
                                                  "servicePrincipalId": "SP-1", "appId": None}},
            "targetResources": targets}


def test_records_are_read_leniently() -> None:
    facts = record_facts(record("Add member to group", [
        {"id": "U-1", "type": "User", "modifiedProperties": [
            {"displayName": "Group.ObjectID", "oldValue": None, "newValue": '"G-1"'},
            {"displayName": "Action Client Name", "oldValue": None, "newValue": '"DirectorySync"'}]},
        {"id": "G-1", "Type": "Group", "displayName": "Sales"}, "junk"]))  # type: ignore[list-item]
    assert facts is not None
    assert facts.at == iso_to_us("2026-03-21T09:30:00.242292Z") and facts.correlation_id == "abc"
    assert facts.actor.key == "sp-1" and facts.actor.kind == "app" and facts.sync
    assert [t.id for t in facts.targets] == ["u-1", "g-1"] and facts.targets[1].type == "Group"
    events = dict(target_events(facts))
    assert events["g-1"].peers == ("u-1",) and events["u-1"].peers == ("g-1",)
    assert record_facts({"id": "x"}) is None and record_facts([1]) is None
    assert record_facts({"id": "x", "activityDateTime": "2026-03-21", "initiatedBy": 5}) is not None


def test_actors_and_attribution_text() -> None:
    alice = actor_of({"user": {"id": "A-1", "userPrincipalName": "alice@contoso.com"},
                      "app": {"displayName": "HR-Sync", "appId": "app-1"}})
    assert (alice.key, alice.kind, alice.via) == ("a-1", "user", "HR-Sync")
    when = datetime(2026, 3, 21, 14, 32, tzinfo=UTC)
    assert attribution_text(alice, when) == "by alice@contoso.com via HR-Sync at 2026-03-21 14:32Z"
    app = actor_of({"user": None, "app": {"displayName": "Azure AD Sync Helper", "servicePrincipalId": "S",
                                          "appId": None}})
    assert attribution_text(app, None) == "by Azure AD Sync Helper (app)"
    assert actor_of(None).key == "" and actor_of({"user": None, "app": None}).kind == "unknown"


def test_blind_spots_classify_what_no_report_shows() -> None:
    def kind(activity: str, props: list[dict[str, Any]] | None = None, targets: int = 1,
             result: str = "success") -> tuple[BlindSpotKind, int] | None:
        targets_json = [{"id": f"T-{i}", "modifiedProperties": props or []} for i in range(targets)]
        facts = record_facts(record(activity, targets_json, result=result))
        assert facts is not None
        return blind_spot(facts)

    assert kind("Hard Delete user") == (BlindSpotKind.HARD_DELETE, 0)
    assert kind("Hard delete service principal") == (BlindSpotKind.HARD_DELETE, 0)
    assert kind("Add owner to group", targets=2) == (BlindSpotKind.OWNER_LINK, 1)   # the owned group
    assert kind("Set user manager", targets=2) == (BlindSpotKind.MANAGER_LINK, 0)
    assert kind("Add user sponsor", targets=2) == (BlindSpotKind.SPONSOR_LINK, 0)
    assert kind("Update group", [{"displayName": "MembershipRule", "oldValue": "[]", "newValue": '["x"]'}]) \
        == (BlindSpotKind.DYNAMIC_RULE, 0)
    secrets = "Update application \u2013 Certificates and secrets management"
    assert kind(secrets) == (BlindSpotKind.CREDENTIALS, 0)
    assert kind("Add service principal credentials") == (BlindSpotKind.CREDENTIALS, 0)
    assert kind("Reset password (by admin)") == (BlindSpotKind.PASSWORD_RESET, 0)
    assert kind("Update user", [{"displayName": "Action Client Name", "oldValue": None,
                                 "newValue": '"DirectorySync"'}]) == (BlindSpotKind.SYNCED, 0)
    assert kind("Update user") is None and kind("Hard Delete user", result="failure") is None
    assert all(k.advice and k.heading for k in BlindSpotKind)


def test_purge_clock_most_urgent_first() -> None:
    now = datetime(2026, 3, 21, 9, 30, tzinfo=UTC)
    entries = purge_clock([("a", "user", "A", now - timedelta(days=2)),
                           ("b", "group", "B", now - timedelta(days=29)),
                           ("c", "user", "C", now - timedelta(days=31))], now)
    assert [e.object_id for e in entries] == ["c", "b", "a"]
    assert entries[0].purged and not entries[1].purged
    assert entries[1].remaining == timedelta(days=1) and entries[2].purge_at == now - timedelta(days=2) + \
        timedelta(days=PURGE_DAYS)


def test_a_plan_leaves_kept_changes_alone() -> None:
    queued = [QueuedChange(f"u{i}", "user", "update", Verdict_(Recoverable.YES)) for i in range(4)]
    plan = plan_restore(queued, {"user": 4}, kept={"u1", "u3"})
    assert plan.types[0].updates == ("u0", "u2") and not plan.types[0].whole_type
    (excluded,) = plan.exclusions
    assert excluded.reason is ExclusionReason.KEPT_BY_TRIAGE and excluded.ids == ("u1", "u3")
    assert plan.summary.excluded_by_reason == ((ExclusionReason.KEPT_BY_TRIAGE, 2),)
    assert plan_restore(queued, {"user": 4}).types[0].whole_type
