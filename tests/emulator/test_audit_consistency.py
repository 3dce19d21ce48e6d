"""The directory audit log tells the same story as the tenant: every change a difference report shows has
its record (same object, same new value), the cast did what the ground truth says, and what no report shows
(hard deletes, links, password resets, credentials) is in the log."""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from entrabr_tui.emulator import catalog as c
from entrabr_tui.emulator.audit_query import parse_list
from entrabr_tui.emulator.directory import Directory

from .conftest import AUDIT_NOW, PREFER, Api, audit_records

Record = dict[str, Any]
EN_DASH = "\u2013"
#: Graph name -> directory name where the audit log's names are documented (audit reference §4, §10).
DOCUMENTED = {"accountEnabled": "AccountEnabled", "displayName": "DisplayName", "mobilePhone": "Mobile",
              "businessPhones": "TelephoneNumber", "officeLocation": "PhysicalDeliveryOfficeName",
              "jobTitle": "JobTitle", "department": "Department"}
NOT_LOGGED = {"usageLocation"}


def when(record: Record) -> datetime:
    return datetime.fromisoformat(record["activityDateTime"].replace("Z", "+00:00"))


def directory_name(entity_type: str, key: str) -> str:
    names = {graph: pascal for pascal, graph in c.PROPERTY_NAMES[entity_type].items()}
    return DOCUMENTED[key] if entity_type == c.USER and key in DOCUMENTED else names[key]


def attribute(entity_type: str, key: str, value: Any) -> list[Any]:
    """A Graph value as the log's JSON array holds it (``visibility`` is the boolean ``IsPublic``)."""
    if key == "visibility" and entity_type == c.GROUP:
        value = None if value is None else value == "Public"
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def report(api: Api, snapshot_id: str) -> list[Record]:
    url = api.start("preview", snapshot_id=snapshot_id)
    api.wait(url)
    return [i for page in api.pages(f"{url}/getChanges", params={"$top": "999"}, headers=PREFER)
            for i in page["value"]]


def props_of(record: Record, object_id: str) -> dict[str, dict[str, Any]]:
    return {p["displayName"]: p for t in record["targetResources"] if t["id"] == object_id
            for p in t["modifiedProperties"]}


def index(records: list[Record]) -> dict[str, list[Record]]:
    out: dict[str, list[Record]] = {}
    for r in sorted(records, key=when):
        for t in r["targetResources"]:
            out.setdefault(t["id"], []).append(r)
    return out


def unexplained(changes: list[Record], records: list[Record]) -> list[str]:
    """Report rows the log does not explain: no record for the object, or a property whose last logged new
    value is not the current one, or a link change without its record."""
    by_target = index(records)
    problems: list[str] = []
    for ch in changes:
        etype, oid, action = ch["entityTypeName"], ch["id"], ch["recoveryAction"]
        mine = by_target.get(oid, [])
        names = [r["activityDisplayName"] for r in mine]
        if action == "restore" and not any(n.startswith("Delete ") or n == "Remove service principal"
                                           for n in names):
            problems.append(f"{etype} {oid}: deleted without a record")
        if action == "softDelete" and not any(n.startswith("Add ") for n in names):
            problems.append(f"{etype} {oid}: created without a record")
        for key, value in ch["currentState"].items():
            if key.startswith("@") or key in {"deletedDateTime", "onPremisesSyncEnabled"} | NOT_LOGGED:
                continue
            if ch["deltaFromCurrent"].get(key) == value:          # a restore names its unchanged displayName
                continue
            if etype in (c.CA_POLICY, c.NAMED_LOCATION):
                whole = [props_of(r, oid) for r in mine]
                last = [json.loads(p["newValue"]) for ps in whole for name, p in ps.items()
                        if name in ("ConditionalAccessPolicy", "NamedLocationPolicy")]
                if not last or last[-1].get(key) != value:
                    problems.append(f"{etype} {oid}: {key} not explained")
                continue
            if etype == c.AUTH_METHODS_POLICY:
                if not mine:
                    problems.append(f"{etype}: no record")
                continue
            name = directory_name(etype, key)
            logged = [props_of(r, oid)[name] for r in mine if name in props_of(r, oid)]
            if not logged or json.loads(logged[-1]["newValue"]) != attribute(etype, key, value):
                problems.append(f"{etype} {oid}: {name} -> {value!r} not explained")
        for link in ch["deltaFromCurrent"].get("members@delta", []):
            removed_now = "@removed" not in link             # recovery would add it back
            want = "Remove member from group" if removed_now else "Add member to group"
            member = by_target.get(link["id"], [])
            if not any((r["activityDisplayName"] == want and oid in {t["id"] for t in r["targetResources"]})
                       or (removed_now and r["activityDisplayName"] == "Hard Delete user") for r in member):
                problems.append(f"group {oid}: {want} {link['id']} not logged")
    return problems


def everything(api: Api) -> list[Record]:
    return audit_records(api, {"$top": "1000", "$orderby": "activityDateTime asc"})


def test_every_incident_change_in_the_report_has_its_record(audit: Api) -> None:
    changes = report(audit, audit.newest())
    assert len(changes) > 50
    assert unexplained(changes, everything(audit)) == []


def test_every_change_since_the_oldest_backup_has_its_record(audit: Api) -> None:
    changes = report(audit, str(audit.snapshots()[-1]["id"]))
    assert {ch["entityTypeName"] for ch in changes} >= {c.USER, c.GROUP, c.APPLICATION, c.CA_POLICY}
    assert unexplained(changes, everything(audit)) == []


def test_the_checker_notices_a_missing_record(audit: Api) -> None:
    changes = report(audit, audit.newest())
    records = everything(audit)
    victim = next(ch["id"] for ch in changes
                  if ch["entityTypeName"] == c.USER and ch["recoveryAction"] == "update")
    kept = [r for r in records if all(t["id"] != victim for t in r["targetResources"])]
    assert any(victim in problem for problem in unexplained(changes, kept))
    group = next(ch for ch in changes
                 if ch["recoveryAction"] == "restore" and ch["entityTypeName"] == c.GROUP)
    member = group["deltaFromCurrent"]["members@delta"][0]["id"]
    kept = [r for r in records if r["activityDisplayName"] != "Remove member from group"
            or all(t["id"] != member for t in r["targetResources"])]
    assert any(member in problem for problem in unexplained(changes, kept))


def test_the_incident_is_the_compromised_admin_and_the_rogue_app(audit: Api) -> None:
    newest = datetime.fromisoformat(audit.snapshots()[0]["createdDateTime"].replace("Z", "+00:00"))
    records = [r for r in everything(audit) if when(r) > newest]
    truth = audit.control("GET", "audit/truth")
    cast = {m["kind"]: m for m in truth["cast"]}
    admin, rogue = cast["compromisedAdmin"], cast["rogueApp"]
    assert admin["userPrincipalName"].startswith("it.ops.admin@")
    by_admin = [r for r in records if (r["initiatedBy"]["user"] or {}).get("id") == admin["id"]]
    by_rogue = [r for r in records if (r["initiatedBy"]["app"] or {}).get("servicePrincipalId") == rogue[
        "servicePrincipalId"]]
    admin_acts = {r["activityDisplayName"] for r in by_admin}
    assert {"Update conditional access policy", "Update named location", "Delete group", "Add application",
            "Add service principal", f"Update application {EN_DASH} Certificates and secrets management",
            "Add owner to application", "Add owner to group", "Add service principal credentials",
            "Add user sponsor", "Remove member from group"} <= admin_acts
    ca = next(r for r in by_admin if r["activityDisplayName"] == "Update conditional access policy")
    assert ca["category"] == "Policy" and ca["loggedByService"] == "Conditional Access"
    (prop,) = ca["targetResources"][0]["modifiedProperties"]
    assert prop["displayName"] == "ConditionalAccessPolicy"
    assert json.loads(prop["oldValue"])["state"] == "enabled"
    assert json.loads(prop["newValue"])["state"] == "enabledForReportingButNotEnforced"
    renames = [r for r in by_rogue if r["activityDisplayName"] == "Update user"]
    assert len(renames) > 30 and {"Hard Delete user", "Disable account"} <= {r["activityDisplayName"]
                                                                              for r in by_rogue}
    assert len({r["correlationId"] for r in renames}) <= math.ceil(len(renames) / 40) + 1
    app_ids = {r["initiatedBy"]["app"]["appId"] for r in by_rogue}
    assert None in app_ids and rogue["appId"] in app_ids                  # appId is null on some records
    assert all(r["initiatedBy"]["user"] is None for r in by_rogue)
    created = min(when(r) for r in by_admin if r["activityDisplayName"] == "Add service principal")
    assert all(when(r) > created for r in renames)
    assert all(r["additionalDetails"][0]["value"] == "python-requests/2.32.3" for r in by_rogue)


def test_legitimate_admins_work_in_the_same_hours_and_their_edits_show_in_the_report(audit: Api) -> None:
    newest = datetime.fromisoformat(audit.snapshots()[0]["createdDateTime"].replace("Z", "+00:00"))
    truth = audit.control("GET", "audit/truth")
    legit = {m["id"] for m in truth["cast"] if m["kind"] == "legitAdmin"}
    assert len(legit) == 2
    records = [r for r in everything(audit) if when(r) > newest
               and (r["initiatedBy"]["user"] or {}).get("id") in legit]
    assert {(r["initiatedBy"]["user"]["id"]) for r in records} == legit
    in_report = {ch["id"] for ch in report(audit, audit.newest())}
    kept = [r for r in records if r["targetResources"][0]["id"] in in_report]
    assert len(kept) >= 2
    assert {"Reset password (by admin)", "Update group"} <= {r["activityDisplayName"] for r in records}
    assert all(r["initiatedBy"]["user"]["ipAddress"].startswith("203.0.113.") for r in records)


def synchronised(api: Api, ids: list[str]) -> set[str]:
    """The ids among ``ids`` a directory lookup says are synchronised from on-premises (change objects do not
    say, as in Microsoft's examples)."""
    out: set[str] = set()
    for start in range(0, len(ids), 1000):
        response = api.post("/v1.0/directoryObjects/getByIds", params={"$select": "id,onPremisesSyncEnabled"},
                            json={"ids": ids[start:start + 1000], "types": ["user", "group"]})
        assert response.status_code == 200, response.text
        out |= {o["id"] for o in response.json()["value"] if o.get("onPremisesSyncEnabled")}
    return out


def test_sync_changes_come_from_the_sync_account(audit: Api) -> None:
    newest = datetime.fromisoformat(audit.snapshots()[0]["createdDateTime"].replace("Z", "+00:00"))
    records = everything(audit)
    by_target = index(records)
    changes = report(audit, str(audit.snapshots()[-1]["id"]))
    assert not any("onPremisesSyncEnabled" in ch["currentState"] for ch in changes)
    onprem_ids = synchronised(audit, [ch["id"] for ch in changes
                                      if ch["entityTypeName"] in (c.USER, c.GROUP)])
    onprem = [ch for ch in changes if ch["id"] in onprem_ids]
    drifted = [r for ch in onprem for r in by_target.get(ch["id"], []) if when(r) < newest
               and r["targetResources"][0]["id"] == ch["id"] and "member" not in r["activityDisplayName"]]
    assert drifted
    for r in drifted:
        assert r["initiatedBy"]["user"]["userPrincipalName"].startswith("Sync_"), r
        assert r["initiatedBy"]["user"]["userPrincipalName"].endswith(".onmicrosoft.com")
    by_sync = [r for r in records
               if (r["initiatedBy"]["user"] or {}).get("userPrincipalName", "").startswith("Sync_")]
    assert by_sync
    for r in by_sync:
        props = {p["displayName"]: p for t in r["targetResources"] for p in t["modifiedProperties"]}
        assert json.loads(props["Action Client Name"]["newValue"]) == "DirectorySync", r
    # and the other way: what directory synchronization changed is synchronised, as a lookup says
    changed = {r["targetResources"][-1]["id"] if r["activityDisplayName"].endswith("group") and
               len(r["targetResources"]) == 2 else r["targetResources"][0]["id"] for r in by_sync}
    existing = {o["id"] for o in audit.post("/v1.0/directoryObjects/getByIds",
                                            json={"ids": sorted(changed)}).json()["value"]}
    assert existing and synchronised(audit, sorted(changed)) == existing


def test_hard_deletes_appear_only_in_the_log(audit: Api) -> None:
    records = everything(audit)
    hard = [r for r in records if r["activityDisplayName"] == "Hard Delete user"]
    assert len(hard) >= 2
    gone = {r["targetResources"][0]["id"] for r in hard}
    for snap in audit.snapshots()[::3]:
        assert not gone & {ch["id"] for ch in report(audit, str(snap["id"]))}
    by_target = index(records)
    for r in hard:
        target = r["targetResources"][0]
        assert target["userPrincipalName"].startswith(target["id"].replace("-", ""))
        assert props_of(r, target["id"])["Is Hard Deleted"]["newValue"] == '"True"'
        soft = [x for x in by_target[target["id"]] if x["activityDisplayName"] == "Delete user"]
        assert soft and when(soft[-1]) < when(r)
        assert props_of(soft[-1], target["id"])["Is Hard Deleted"] == {
            "displayName": "Is Hard Deleted", "oldValue": None, "newValue": '"False"'}
    truth = audit.control("GET", "audit/truth")["objects"]
    assert all(any(e["activity"] == "Hard Delete user" for e in truth[oid]) for oid in gone)


def test_what_no_report_shows_is_in_the_log(audit: Api) -> None:
    records = everything(audit)
    names = {r["activityDisplayName"] for r in records}
    assert {"Set user manager", "Add user sponsor", "Add owner to group", "Add owner to application",
            "Reset password (by admin)", "Update PasswordProfile", "Add service principal credentials",
            f"Update application {EN_DASH} Certificates and secrets management"} <= names
    reset = next(r for r in records if r["activityDisplayName"] == "Reset password (by admin)")
    assert reset["loggedByService"] == "Self-service Password Management"
    profile = next(r for r in records if r["activityDisplayName"] == "Update PasswordProfile"
                   and r["correlationId"] == reset["correlationId"])
    props = props_of(profile, reset["targetResources"][0]["id"])
    assert props["Password"] == {"displayName": "Password", "oldValue": None, "newValue": None}
    rule = [r for r in records if r["activityDisplayName"] == "Update group"
            and "MembershipRule" in props_of(r, r["targetResources"][0]["id"])]
    assert rule
    rule_props = props_of(rule[0], rule[0]["targetResources"][0]["id"])
    new_rule = json.loads(rule_props["MembershipRule"]["newValue"])
    assert new_rule[0].startswith("(user.department -eq")
    manager = next(r for r in records if r["activityDisplayName"] == "Set user manager")
    assert manager["initiatedBy"]["app"]["displayName"] == "HR Onboarding"
    assert [t["type"] for t in manager["targetResources"]] == ["User", "User"]
    user_update = next(r for r in records if r["activityDisplayName"] == "Update user")
    update_props = props_of(user_update, user_update["targetResources"][0]["id"])
    listed = json.loads(update_props["Included Updated Properties"]["newValue"]).split(", ")
    assert set(listed) <= set(update_props) and json.loads(update_props["TargetId.UserType"]["newValue"]) in \
        {"Member", "Guest"}
    assert all(r["id"].startswith(("Directory_", "PIM_")) and r["correlationId"] in r["id"] for r in records)


def test_recovery_writes_records_naming_the_restoring_user(audit: Api) -> None:
    response = audit.create("recovery", role="global")
    assert response.status_code == 202
    job = audit.wait(response.headers["location"])
    records = [r for r in everything(audit) if r["category"] == "Backup and Recovery"]
    assert records
    for r in records:
        assert r["initiatedBy"]["user"]["userPrincipalName"] == "global.admin@contoso.example"
        assert r["initiatedBy"]["user"]["id"] == "0d6a8f1e-6c1b-4f7e-8d55-1a2b3c4d5e03"
    created = [r for r in records if r["activityDisplayName"] == "Create recovery job"]
    assert len(created) == 1 and created[0]["targetResources"][0]["id"] == job["id"]
    changes = [r for r in records if r is not created[0]]
    assert {"Update user", "Enable account", "Restore group", "Delete application",
            "Remove service principal", "Update conditional access policy",
            "Add member to group"} <= {r["activityDisplayName"] for r in changes}
    failed = [r for r in changes if r["result"] == "failure"]
    assert all(r["resultReason"] for r in failed)
    assert any("on-premises" in r["resultReason"] and r["activityDisplayName"] == "Update user"
               for r in failed)
    assert len({r["correlationId"] for r in changes}) == 1
    assert changes[0]["activityDateTime"] >= job["jobStartDateTime"].replace("Z", "")
    restored = {r["targetResources"][0]["id"] for r in changes if r["result"] == "success"
                and "member" not in r["activityDisplayName"]}
    assert restored & {ch["id"] for ch in report(audit, audit.newest())} == set()


def test_recovery_activity_names_are_a_knob(audit: Api) -> None:
    audit.control("POST", "config", json={"audit_recovery_activity": "Restore object"})
    audit.run("preview")
    audit.run("recovery")
    records = [r for r in everything(audit) if r["category"] == "Backup and Recovery"]
    names = {r["activityDisplayName"] for r in records}
    assert names == {"Restore object", "Create recovery job", "Create recovery preview job"}
    initiators = {r["initiatedBy"]["user"]["userPrincipalName"] for r in records}
    assert initiators == {"backup.admin@contoso.example"}


def test_each_new_day_of_drift_lands_in_the_log(audit: Api) -> None:
    before = {r["id"] for r in everything(audit)}
    audit.control("POST", "advance", json={"days": 2})
    snaps = audit.snapshots()
    day_start = datetime.fromisoformat(snaps[0]["createdDateTime"].replace("Z", "+00:00"))
    records = everything(audit)
    new = [r for r in records if r["id"] not in before]
    assert new and all(when(r) > datetime.fromisoformat(snaps[2]["createdDateTime"].replace("Z", "+00:00"))
                       for r in new)
    assert any(when(r) > day_start for r in new)
    assert unexplained(report(audit, str(snaps[0]["id"])), records) == []


def test_the_log_is_a_function_of_the_seed() -> None:
    def dump(seed: int) -> list[bytes]:
        d = Directory(seed=seed, objects=1500, now=datetime(2026, 3, 21, 9, 30, tzinfo=UTC))
        d.audit.settings.latency_s = (0, 0)
        events, more = d.audit.page(parse_list({"$top": ["1000"]}, "beta", 100), AUDIT_NOW)
        assert not more
        return [json.dumps(d.audit.render(ev, beta=True), sort_keys=True).encode() for ev in events]

    first = dump(9)
    assert len(first) > 100 and first == dump(9)
    assert not set(first) & set(dump(10))


def test_ground_truth_names_every_actor(audit: Api) -> None:
    truth = audit.control("GET", "audit/truth")
    kinds = {m["kind"] for m in truth["cast"]}
    assert kinds == {"compromisedAdmin", "rogueApp", "legitAdmin", "hrProvisioning", "directorySync"}
    seen = {e["actor"] for changes in truth["objects"].values() for e in changes}
    assert {"compromisedAdmin", "rogueApp", "legitAdmin", "hrProvisioning", "directorySync"} <= seen
    oid = next(iter(truth["objects"]))
    one = audit.control("GET", "audit/truth", params={"objectId": oid})
    assert list(one["objects"]) == [oid] and one["objects"][oid] == truth["objects"][oid]
    assert audit.server.audit_truth(oid)["objects"] == one["objects"]
    records = {r["id"]: r for r in everything(audit)}
    for entry in truth["objects"][oid]:
        assert entry["logged"] and entry["id"] in records
        assert records[entry["id"]]["activityDisplayName"] == entry["activity"]


# ---- one owner model: the report's owners@delta and the log's owner records ---------------------------
OWNER_ACTIVITIES = {"Add owner to group": True, "Remove owner from group": False}


def owner_changes(records: list[Record], since: datetime) -> tuple[dict[tuple[str, str], bool], set[str]]:
    """From the records after ``since``: each (group id, owner id) whose ownership differs now from then
    (True: added since, False: removed since), and the users purged since (a purge drops owner links with
    only a ``Hard Delete user`` record)."""
    history: dict[tuple[str, str], list[bool]] = {}
    purged: set[str] = set()
    for r in sorted(records, key=when):
        if when(r) <= since:
            continue
        name = r["activityDisplayName"]
        if name == "Hard Delete user":
            purged.add(r["targetResources"][0]["id"])
        elif name in OWNER_ACTIVITIES:
            owner, group = (t["id"] for t in r["targetResources"])
            history.setdefault((group, owner), []).append(OWNER_ACTIVITIES[name])
    # a pair's first record says what it was at ``since`` (an add: not an owner), its last what it is now
    return {pair: steps[-1] for pair, steps in history.items() if steps[0] == steps[-1]}, purged


def owner_mismatches(changes: list[Record], records: list[Record], since: datetime) -> list[str]:
    """Where the report's ``owners@delta`` and the owner records since the snapshot disagree, both ways, for
    every group the report shows as changed (owner links alone never make a change object)."""
    changed, purged = owner_changes(records, since)
    problems: list[str] = []
    for ch in changes:
        if ch["entityTypeName"] != c.GROUP or ch["recoveryAction"] == "softDelete":
            continue
        shown = {(ch["id"], e["id"]): "@removed" in e for e in ch["deltaFromCurrent"].get("owners@delta", [])}
        for (group, owner), added in shown.items():
            if changed.get((group, owner)) != added and (added or owner not in purged):
                problems.append(f"group {group}: owner {owner} {'added' if added else 'removed'} without "
                                "its record")
        for (group, owner), added in changed.items():
            if group == ch["id"] and shown.get((group, owner)) != added:
                problems.append(f"group {group}: owner {owner} {'added' if added else 'removed'} in the log, "
                                "not in the report")
    return problems


def owner_records(records: list[Record]) -> list[Record]:
    return [r for r in records if r["activityDisplayName"] in OWNER_ACTIVITIES]


def test_report_owner_links_and_the_logs_owner_records_are_the_same_changes(audit: Api) -> None:
    records = everything(audit)
    for snap in audit.snapshots():
        since = datetime.fromisoformat(snap["createdDateTime"].replace("Z", "+00:00"))
        assert owner_mismatches(report(audit, str(snap["id"])), records, since) == [], snap
    changes = report(audit, audit.newest())
    owned = [ch for ch in changes if ch["deltaFromCurrent"].get("owners@delta")]
    assert len(owned) >= 3 and {ch["entityTypeName"] for ch in owned} == {c.GROUP}
    # the rogue guest replaced every owner of the groups it took over, as the compromised admin
    guest = next(r["targetResources"][0]["id"] for r in everything(audit)
                 if r["activityDisplayName"] == "Add user sponsor")
    truth = {m["kind"]: m for m in audit.control("GET", "audit/truth")["cast"]}
    taken = [ch for ch in owned if any(e["id"] == guest and "@removed" in e
                                       for e in ch["deltaFromCurrent"]["owners@delta"])]
    assert len(taken) == 2
    for ch in taken:
        entries = ch["deltaFromCurrent"]["owners@delta"]
        assert [e for e in entries if "@removed" not in e], "the previous owners are shown removed"
        mine = [r for r in owner_records(records) if r["targetResources"][1]["id"] == ch["id"]]
        assert {r["initiatedBy"]["user"]["id"] for r in mine} == {truth["compromisedAdmin"]["id"]}
        invited = min(when(r) for r in records if r["activityDisplayName"] == "Add user"
                      and r["targetResources"][0]["id"] == guest)
        assert all(when(r) > invited for r in mine)
        assert {m["id"] for m in ch["deltaFromCurrent"]["members@delta"]} >= {guest}
    # the compromised admin's own group: owner and member, both in the report and in the log
    admin = truth["compromisedAdmin"]["id"]
    (own,) = [ch for ch in owned if any(e["id"] == admin for e in ch["deltaFromCurrent"]["owners@delta"])]
    assert [m["id"] for m in own["deltaFromCurrent"]["members@delta"]] == [admin]


def test_the_owner_checker_notices_a_missing_record_and_a_missing_link(audit: Api) -> None:
    snap = audit.snapshots()[0]
    since = datetime.fromisoformat(snap["createdDateTime"].replace("Z", "+00:00"))
    changes, records = report(audit, str(snap["id"])), everything(audit)
    assert owner_mismatches(changes, records, since) == []
    removal = next(r for r in owner_records(records) if not OWNER_ACTIVITIES[r["activityDisplayName"]])
    group = removal["targetResources"][1]["id"]
    kept = [r for r in records if r is not removal]
    assert any(group in p and "without its record" in p for p in owner_mismatches(changes, kept, since))
    def without_owners(ch: Record) -> Record:
        return {**ch, "deltaFromCurrent": {k: v for k, v in ch["deltaFromCurrent"].items()
                                           if k != "owners@delta"}}

    trimmed = [without_owners(ch) if ch["id"] == group else ch for ch in changes]
    assert any(group in p and "not in the report" in p for p in owner_mismatches(trimmed, records, since))


def test_owner_changes_missing_from_the_log_are_the_log_gap(audit: Api) -> None:
    audit.control("POST", "config", json={"audit_gap_fraction": 0.5})
    snap = audit.snapshots()[-1]
    since = datetime.fromisoformat(snap["createdDateTime"].replace("Z", "+00:00"))
    changes, records = report(audit, str(snap["id"])), everything(audit)
    truth = audit.control("GET", "audit/truth")["objects"]
    problems = owner_mismatches(changes, records, since)
    unlogged = {e["id"] for entries in truth.values() for e in entries
                if e["activity"] in OWNER_ACTIVITIES and not e["logged"]}
    logged = {e["id"] for entries in truth.values() for e in entries
              if e["activity"] in OWNER_ACTIVITIES and e["logged"]}
    assert unlogged and logged                                   # the gap takes some, not all
    assert {r["id"] for r in owner_records(records)} == logged
    for problem in problems:                 # each disagreement is a change whose record fell in the gap
        group, owner = problem.split()[1].rstrip(":"), problem.split()[3]
        pair = {e["id"] for e in truth.get(group, []) if e["activity"] in OWNER_ACTIVITIES} & \
            {e["id"] for e in truth.get(owner, []) if e["activity"] in OWNER_ACTIVITIES}
        assert pair & unlogged, problem
    audit.control("POST", "config", json={"audit_gap_fraction": 0.0})
    assert owner_mismatches(changes, everything(audit), since) == []


def all_records(d: Directory) -> list[Record]:
    """Every record of a directory's audit log, read page by page."""
    query = parse_list({"$top": ["1000"]}, "v1.0", 100)
    out: list[Record] = []
    while True:
        events, more = d.audit.page(query, d._hist.now)
        out += [d.audit.render(ev, beta=False) for ev in events]
        if not more:
            return out
        query = dataclasses.replace(query, cursor=events[-1].key)


@pytest.mark.parametrize(("seed", "objects"), [(2, 300), (5, 20_000), (7, 3000)])
def test_owner_links_agree_with_the_log_for_other_tenants_and_later_days(seed: int, objects: int) -> None:
    d = Directory(seed=seed, objects=objects, now=AUDIT_NOW)
    d.audit.settings.latency_s = (0, 0)
    d.audit.settings.gap_fraction = 0.0
    for _ in range(3):
        d.advance_day()
    records = all_records(d)
    assert owner_records(records)
    shown = 0
    for sid, since in d.snapshots():
        changes = [orjson.loads(r.body) for r in d.diff(sid)]
        shown += sum(len(ch["deltaFromCurrent"].get("owners@delta", [])) for ch in changes)
        assert owner_mismatches(changes, records, since) == [], since
    assert shown
