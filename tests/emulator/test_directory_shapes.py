"""JSON shape of change objects (reference §3.6/§5.6), scopes, names and hostile display names."""

from __future__ import annotations

from typing import Any

import orjson

from entrabr_tui.emulator.directory import Directory, Scope

from .tenant_helpers import NOW, ODATA_BY_ENTITY, newest, oldest, parsed, tenant

TOP_KEYS = ["entityTypeName", "id", "displayName", "recoveryAction", "deltaFromCurrent", "currentState"]
REMOVED = {"reason": "changed"}


def all_docs(d: Directory) -> list[dict[str, Any]]:
    return [doc for sid, _ in d.snapshots() for doc in parsed(d.diff(sid))]


def test_top_level_keys_odata_types_and_record_fields() -> None:
    d = tenant()
    for sid, _ in d.snapshots():
        for record in d.diff(sid):
            doc = orjson.loads(record.body)
            assert list(doc) == TOP_KEYS
            assert (doc["id"], doc["entityTypeName"], doc["recoveryAction"], doc["displayName"]) == (
                record.id, record.entity_type, record.action, record.display_name)
            odata = doc["deltaFromCurrent"]["@odata.type"]
            assert odata in ODATA_BY_ENTITY[record.entity_type]
            assert doc["currentState"]["@odata.type"] == odata
            assert next(iter(doc["deltaFromCurrent"])) == "@odata.type"
            assert record.link_count == len(doc["deltaFromCurrent"].get("members@delta", []))


def test_restore_shape() -> None:
    docs = [x for x in all_docs(tenant()) if x["recoveryAction"] == "restore"]
    assert docs
    for doc in docs:
        delta, current = doc["deltaFromCurrent"], doc["currentState"]
        assert delta["deletedDateTime"] is None
        assert current["deletedDateTime"].endswith("Z")
        assert "@removed" not in delta
        if doc["entityTypeName"] in ("user", "group", "application"):  # as in the reference example
            assert "displayName" in delta and "displayName" in current
        assert list(delta)[-1] in ("deletedDateTime", "members@delta")


def test_soft_delete_shape() -> None:
    docs = [x for x in all_docs(tenant()) if x["recoveryAction"] == "softDelete"]
    assert docs
    for doc in docs:
        odata = doc["deltaFromCurrent"]["@odata.type"]
        assert doc["deltaFromCurrent"] == {"@odata.type": odata, "@removed": REMOVED,
                                           "deletedDateTime": "2026-03-21T09:30:00Z"}
        assert doc["currentState"] == {"@odata.type": odata, "deletedDateTime": None}


def test_members_delta_entries() -> None:
    entries = [e for x in all_docs(tenant()) if x["entityTypeName"] == "group"
               for e in x["deltaFromCurrent"].get("members@delta", [])]
    adds = [e for e in entries if "@removed" not in e]
    removes = [e for e in entries if "@removed" in e]
    assert adds and removes
    for e in adds:
        assert list(e) == ["@odata.type", "id"] and e["@odata.type"] == "#microsoft.graph.user"
    for e in removes:
        assert list(e) == ["@odata.type", "id", "@removed"] and e["@removed"] == REMOVED
    assert not any("members@delta" in x["deltaFromCurrent"] for x in all_docs(tenant())
                   if x["entityTypeName"] != "group")


def test_conditional_access_changes_carry_whole_sub_objects() -> None:
    docs = [x for seed in range(1, 6) for x in all_docs(tenant(seed=seed))
            if x["entityTypeName"] == "conditionalAccessPolicy"]
    with_conditions = [x for x in docs if "conditions" in x["deltaFromCurrent"]]
    assert with_conditions
    for doc in with_conditions:
        for side in ("deltaFromCurrent", "currentState"):
            cond = doc[side]["conditions"]
            assert {"users", "applications", "clientAppTypes", "locations", "platforms"} <= set(cond)
            assert {"includeUsers", "excludeUsers", "includeGroups", "excludeGroups",
                    "includeRoles", "excludeRoles"} <= set(cond["users"])
    assert not any("." in k for x in docs for k in x["deltaFromCurrent"] if not k.startswith("@"))


def test_policy_singletons_and_organization_shapes() -> None:
    docs = [x for seed in range(1, 6) for x in all_docs(tenant(seed=seed))]
    methods = [x for x in docs if x["entityTypeName"] == "authenticationMethodPolicy"]
    assert methods and all(x["id"] == "authenticationMethodsPolicy" for x in methods)
    for x in methods:
        configs = x["deltaFromCurrent"]["authenticationMethodConfigurations"]
        assert {cfg["id"] for cfg in configs} == {"Email", "Fido2", "MicrosoftAuthenticator", "Voice", "Sms",
                                                  "SoftwareOath", "TemporaryAccessPass", "X509Certificate"}
    authz = [x for x in docs if x["entityTypeName"] == "authorizationPolicy"]
    assert authz and all(x["id"] == "authorizationPolicy" for x in authz)
    # The organization's documented per-user MFA settings have no Graph property: it never shows up.
    assert not [x for x in docs if x["entityTypeName"] == "organization"]


def test_sync_flag_only_when_asked_and_then_in_current_state_only() -> None:
    plain = all_docs(tenant())
    assert not any("onPremisesSyncEnabled" in x[side] for x in plain
                   for side in ("deltaFromCurrent", "currentState"))
    d = Directory(seed=3, objects=2000, now=NOW, sync_flag_in_changes=True)
    docs = all_docs(d)
    synced = [x for x in docs if x["currentState"].get("onPremisesSyncEnabled") is True]
    assert synced
    assert {x["entityTypeName"] for x in synced} <= {"user", "group"}
    assert not any("onPremisesSyncEnabled" in x["deltaFromCurrent"] for x in docs)
    assert any(x["currentState"].get("onPremisesSyncEnabled") for x in parsed(d.diff(newest(d))))
    unflagged = [dict(x, currentState={k: v for k, v in x["currentState"].items()
                                       if k != "onPremisesSyncEnabled"}) for x in docs]
    assert unflagged == plain
    d.sync_flag_in_changes = False
    assert all_docs(d) == plain


def test_owner_links_are_shown_on_groups_that_change_otherwise() -> None:
    docs = [x for seed in (1, 2, 3) for x in all_docs(tenant(seed=seed))]
    owned = [x for x in docs if "owners@delta" in x["deltaFromCurrent"]]
    assert owned and {x["entityTypeName"] for x in owned} == {"group"}
    for x in owned:
        delta = x["deltaFromCurrent"]
        assert set(delta) - {"@odata.type", "owners@delta"}, "owner links alone never make a change"
        for e in delta["owners@delta"]:
            assert e["@odata.type"] == "#microsoft.graph.user"
            assert list(e) in (["@odata.type", "id"], ["@odata.type", "id", "@removed"])
        assert "owners@delta" not in x["currentState"]


def test_hostile_display_names_survive_as_json() -> None:
    d = tenant()
    names = {r.display_name for r in d.diff(newest(d))}
    assert any("[bold]" in n for n in names)
    assert any("\x1b[31m" in n for n in names)
    assert any("مريم" in n for n in names)
    assert any(len(n) >= 300 for n in names)
    assert "DISABLED - " in names  # the user whose name was empty
    for record in d.diff(newest(d)):
        assert orjson.loads(record.body)["displayName"] == record.display_name


def test_scope_by_type_is_a_filter_of_the_full_report() -> None:
    d = tenant()
    for sid in (newest(d), oldest(d)):
        full = d.diff(sid)
        for types in ({"user"}, {"group", "conditionalAccessPolicy"}, {"organization"}, set()):
            scoped = d.diff(sid, Scope(types=frozenset(types)))
            assert scoped == [r for r in full if r.entity_type in types]
        assert d.diff(sid, Scope()) == full
        assert d.diff(sid, None) == full


def test_scope_by_ids_is_a_filter_of_the_full_report() -> None:
    d = tenant()
    full = d.diff(oldest(d))
    users = [r.id for r in full if r.entity_type == "user"][:5]
    groups = [r.id for r in full if r.entity_type == "group"][:3]
    scope = Scope(ids={"user": frozenset([*users, "11111111-1111-1111-1111-111111111111"]),
                       "group": frozenset([*groups, users[0]])})  # a user id under "group" matches nothing
    scoped = d.diff(oldest(d), scope)
    assert [r.id for r in scoped] == sorted(groups) + sorted(users)
    assert d.diff(oldest(d), Scope(ids={"user": frozenset()})) == []
    both = Scope(types=frozenset({"group"}), ids={"user": frozenset(users), "group": frozenset(groups)})
    assert [r.id for r in d.diff(oldest(d), both)] == sorted(groups)


def test_scope_by_ids_finds_objects_created_after_the_backup() -> None:
    d = tenant()
    rogue = [r for r in d.diff(newest(d)) if r.display_name == "Azure AD Sync Helper"]
    assert len(rogue) == 2
    scope = Scope(ids={r.entity_type: frozenset([r.id]) for r in rogue})
    assert d.diff(newest(d), scope) == rogue
    assert d.names("servicePrincipal", [r.id for r in rogue]) == {
        r.id: "Azure AD Sync Helper" for r in rogue if r.entity_type == "servicePrincipal"}


def test_unchanged_object_in_id_scope_yields_nothing() -> None:
    d = tenant()
    changed = {r.id for r in d.diff(oldest(d))}
    layout = d._layout
    quiet = next(layout.id_of(i) for i in range(layout.starts["user"], layout.objects)
                 if layout.id_of(i) not in changed)
    assert d.diff(oldest(d), Scope(ids={"user": frozenset([quiet])})) == []


def test_names_resolve_current_display_names() -> None:
    d = tenant()
    docs = parsed(d.diff(newest(d)))
    disabled = [x for x in docs if x["currentState"].get("displayName", "").startswith("DISABLED - ")]
    ids = [x["id"] for x in disabled[:10]]
    names = d.names("user", [*ids, "11111111-1111-1111-1111-111111111111", "garbage"])
    assert names == {x["id"]: x["currentState"]["displayName"] for x in disabled[:10]}
    assert d.names("group", ids) == {}
    group = next(x for x in docs if x["entityTypeName"] == "group")
    members = [e["id"] for e in group["deltaFromCurrent"]["members@delta"]]
    assert set(d.names("user", members)) <= set(members)
    assert len(d.names("user", members)) >= len(members) - 1
    assert d.names("authorizationPolicy", ["authorizationPolicy"]) == {
        "authorizationPolicy": "Authorization Policy"}


def test_hard_deleted_users_are_not_reported_but_their_links_are() -> None:
    d = Directory(seed=3, objects=2000, drift=2000, now=NOW)
    docs = parsed(d.diff(newest(d)))
    reported = {x["id"] for x in docs}
    adds = {e["id"] for x in docs if x["entityTypeName"] == "group"
            for e in x["deltaFromCurrent"].get("members@delta", []) if "@removed" not in e}
    gone = {i for i in adds if not d.names("user", [i])}
    assert gone
    assert not gone & reported
