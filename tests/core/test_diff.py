"""Diff rows of one change: flattening, list and link items, summaries, coverage and value formatting."""

from __future__ import annotations

import copy
import json
import pickle
from typing import Any

import pytest

from entrabr_tui.core.diff import ABSENT, DiffKind, DiffRow, changed_rows, diff_change, format_value, raw_json
from entrabr_tui.core.model import Change, SyncStatus
from entrabr_tui.core.text import display_text

USER = "#microsoft.graph.user"


def make(entity: str, action: str, delta: dict[str, Any], current: dict[str, Any],
         sync: SyncStatus = SyncStatus.CLOUD, **extra: Any) -> Change:
    """A change; a user or group whose payload does not state its sync status gets ``sync``."""
    change = Change.from_json({"id": "obj-1", "entityTypeName": entity, "recoveryAction": action,
                               "displayName": "Name", "deltaFromCurrent": delta, "currentState": current,
                               **extra})
    return change.with_sync(sync) if change.sync is SyncStatus.UNKNOWN else change


def by_path(rows: list[DiffRow]) -> dict[str, DiffRow]:
    return {row.path: row for row in rows}


def test_user_update_rows_follow_the_reference_example() -> None:
    change = make(
        "user", "update",
        {"@odata.type": USER, "displayName": "Jane Smith", "jobTitle": "Engineer", "accountEnabled": True},
        {"@odata.type": USER, "displayName": "J. Smith", "jobTitle": "Manager", "accountEnabled": False})
    rows = diff_change(change)
    assert [r.path for r in rows] == ["displayName", "jobTitle", "accountEnabled"]
    first = rows[0]
    assert (first.kind, first.glyph, first.backup_text, first.current_text) == (
        DiffKind.CHANGED, "~", "Jane Smith", "J. Smith")
    assert rows[2].backup_text == "true" and rows[2].current_text == "false"
    assert all(r.recoverable and r.reason is None and r.depth == 0 for r in rows)


def test_added_removed_and_unrecoverable_properties() -> None:
    change = make(
        "user", "update",
        {"mobilePhone": "+1 555", "department": None,
         "passwordProfile": {"forceChangePasswordNextSignIn": True}, "employeeId": "42"},
        {"department": "Sales", "employeeId": "42", "signInSessionsValidFromDateTime": "x"})
    rows = by_path(diff_change(change))
    assert rows["mobilePhone"].kind is DiffKind.ADDED and rows["mobilePhone"].glyph == "+"
    assert rows["mobilePhone"].current is ABSENT and rows["mobilePhone"].current_text == ""
    assert rows["department"].kind is DiffKind.REMOVED and rows["department"].glyph == "−"
    assert rows["department"].backup_text == "null"
    assert rows["employeeId"].kind is DiffKind.UNCHANGED and rows["employeeId"].glyph == " "
    pwd = rows["passwordProfile.forceChangePasswordNextSignIn"]
    assert pwd.depth == 1 and pwd.label == "forceChangePasswordNextSignIn"
    assert not pwd.recoverable and pwd.reason is not None and "passwords" in pwd.reason
    assert rows["passwordProfile"].is_header
    only_current = rows["signInSessionsValidFromDateTime"]
    assert only_current.kind is DiffKind.UNCHANGED and only_current.note == "not written by restore"
    assert only_current.backup is ABSENT and not only_current.recoverable
    changed = diff_change(change, include_unchanged=False)
    assert "employeeId" not in by_path(changed)
    assert "signInSessionsValidFromDateTime" not in by_path(changed)
    everything = diff_change(change)
    assert changed_rows(everything) == [r for r in everything if r.kind is not DiffKind.UNCHANGED]


def test_restore_gets_a_summary_row_and_keeps_context() -> None:
    change = make(
        "user", "restore", {"@odata.type": USER, "displayName": "Old Name", "deletedDateTime": None},
        {"@odata.type": USER, "displayName": "Old Name", "deletedDateTime": "2026-03-21T07:00:00Z"})
    rows = diff_change(change)
    summary = rows[0]
    assert summary.kind is DiffKind.RESTORE and summary.glyph == "+"
    assert summary.note is not None and "restored" in summary.note
    assert summary.current_text == "deleted 2026-03-21T07:00:00Z" and summary.backup_text == "active"
    assert summary.recoverable
    assert [r.path for r in rows] == ["(object)", "displayName"]
    assert rows[1].kind is DiffKind.UNCHANGED


def test_soft_delete_gets_a_summary_row_and_no_annotation_rows() -> None:
    change = make(
        "user", "softDelete",
        {"@odata.type": USER, "@removed": {"reason": "changed"}, "deletedDateTime": "2026-03-21T10:00:00Z"},
        {"@odata.type": USER, "deletedDateTime": None})
    rows = diff_change(change)
    assert len(rows) == 1
    assert rows[0].kind is DiffKind.SOFT_DELETE and rows[0].glyph == "−"
    assert rows[0].note is not None and "soft-deletes" in rows[0].note and "created since" in rows[0].note
    assert rows[0].backup_text == "absent from the backup (created since)"
    assert rows[0].current_text == "exists now"


def test_an_application_created_since_the_backup_shows_what_to_check() -> None:
    change = make(
        "application", "softDelete",
        {"@odata.type": "#microsoft.graph.application", "@removed": {"reason": "changed"},
         "owners@delta": [{"@odata.type": USER, "id": "o1"}]},
        {"@odata.type": "#microsoft.graph.application", "appId": "app-1",
         "createdDateTime": "2026-12-05T01:00:00Z",
         "passwordCredentials": [{"keyId": "k1", "displayName": "rogue secret"}]})
    rows = diff_change(change)
    summary = rows[0]
    assert summary.note is not None and "appId, owners@delta, passwordCredentials" in summary.note
    assert summary.current_text == "exists now (created 2026-12-05T01:00:00Z)"
    table = by_path(rows)
    assert table["appId"].current_text == "app-1"
    assert table["passwordCredentials"].current_text == "keyId: k1; displayName: rogue secret"
    assert table["owners[o1]"].kind is DiffKind.ADDED
    bare = diff_change(make("servicePrincipal", "softDelete", {"@removed": {"reason": "changed"}}, {}))
    assert bare[0].note is not None and "sent no appId" in bare[0].note


def test_unknown_action_is_shown_not_hidden() -> None:
    rows = diff_change(make("user", "archive", {"displayName": "a"}, {"displayName": "b"}))
    assert rows[0].kind is DiffKind.UNKNOWN and rows[0].glyph == "?"
    assert rows[0].note is not None and "'archive'" in rows[0].note
    assert rows[1].path == "displayName"


def test_member_links_become_named_rows() -> None:
    change = make("group", "update", {
        "@odata.type": "#microsoft.graph.group", "description": "Finance team",
        "members@delta": [
            {"@odata.type": USER, "id": "eeee", "@removed": {"reason": "changed"}},
            {"@odata.type": USER, "id": "ffff"},
            {"@odata.type": "user", "id": "gggg", "displayName": "Carried Name"},
        ],
        "owners@delta": [{"@odata.type": USER, "id": "hhhh"}],
    }, {"@odata.type": "#microsoft.graph.group", "description": "Fin"})
    names = {"ffff": "Fiona [bold]"}
    rows = diff_change(change, resolve_name=names.get)
    paths = [r.path for r in rows]
    assert paths == ["description", "members", "members[eeee]", "members[ffff]", "members[gggg]", "owners",
                     "owners[hhhh]"]
    table = by_path(rows)
    assert table["members"].is_header and table["members"].note == "2 added by restore, 1 removed by restore"
    removed = table["members[eeee]"]
    assert removed.kind is DiffKind.REMOVED and removed.label == "user" and removed.current_text == "eeee"
    assert removed.backup_text == "" and removed.note == "removed by restore" and removed.member_id == "eeee"
    added = table["members[ffff]"]
    assert added.kind is DiffKind.ADDED and added.label == "user"
    assert added.backup_text == "Fiona [bold] (ffff)"
    assert added.member_type == "user" and added.depth == 1 and added.recoverable
    assert table["members[gggg]"].backup_text == "Carried Name (gggg)"
    assert not table["owners[hhhh]"].recoverable
    assert table["owners[hhhh]"].reason == "owner links are not recoverable"
    assert not any("@odata" in p or "@delta" in p for p in paths)


def test_dynamic_group_members_are_not_recoverable() -> None:
    change = make("group", "update", {"members@delta": [{"id": "u1"}]}, {"groupTypes": ["DynamicMembership"]})
    row = by_path(diff_change(change))["members[u1]"]
    assert not row.recoverable and row.reason is not None and "dynamic" in row.reason


def test_on_premises_synced_objects_are_not_recoverable() -> None:
    change = make("user", "update", {"displayName": "A", "members@delta": []},
                  {"displayName": "B", "onPremisesSyncEnabled": True})
    rows = diff_change(change)
    assert rows and all(not r.recoverable for r in rows)
    assert by_path(rows)["displayName"].reason is not None
    assert "on-premises" in str(by_path(rows)["displayName"].reason)


def test_unknown_sync_status_makes_recoverable_rows_unknown() -> None:
    change = make("group", "update", {"description": "A", "members@delta": [{"id": "u1"}],
                                      "owners@delta": [{"id": "u2"}], "membershipRule": "x"},
                  {"description": "B", "membershipRule": "y"}, sync=SyncStatus.UNKNOWN)
    rows = by_path(diff_change(change))
    for path in ("description", "members", "members[u1]"):
        assert rows[path].recoverable is None, path
        reason = rows[path].reason
        assert reason is not None and "sync status unknown" in reason
    for path in ("owners[u2]", "membershipRule"):
        assert rows[path].recoverable is False, path
    restore = by_path(diff_change(make("user", "restore", {"deletedDateTime": None},
                                       {"deletedDateTime": "2026-03-21T07:00:00Z"}, sync=SyncStatus.UNKNOWN)))
    assert restore["(object)"].recoverable is None
    synced = diff_change(change.with_sync(SyncStatus.SYNCED))
    assert all(r.recoverable is False for r in synced)
    cloud = by_path(diff_change(change.with_sync(SyncStatus.CLOUD)))
    assert cloud["description"].recoverable is True and cloud["members[u1]"].recoverable is True


def test_unknown_action_marks_every_row() -> None:
    rows = diff_change(make("user", "somethingNew", {"displayName": "A"}, {"displayName": "B"}))
    assert rows and all(r.recoverable is False for r in rows)
    assert "'somethingNew'" in str(rows[0].reason)


def test_unrecoverable_type_marks_every_row() -> None:
    grant = make("oAuth2PermissionGrant", "update", {"scope": "User.Read"}, {"scope": "Mail.Read"})
    rows = diff_change(grant)
    assert len(rows) == 1 and not rows[0].recoverable
    assert rows[0].reason is not None and "service principal" in rows[0].reason


CA_DELTA = {
    "@odata.type": "#microsoft.graph.conditionalAccessPolicy",
    "state": "enabled",
    "conditions": {
        "@odata.type": "#microsoft.graph.conditionalAccessConditionSet",
        "users": {"includeUsers": ["All"], "excludeUsers": ["u1", "u2"], "includeGroups": []},
        "clientAppTypes": ["exchangeActiveSync", "other"],
        "locations": None,
    },
    "sessionControls": {"signInFrequency": {"value": 4, "type": "hours"}},
}
CA_CURRENT = {
    "@odata.type": "#microsoft.graph.conditionalAccessPolicy",
    "state": "disabled",
    "conditions": {
        "users": {"includeUsers": ["g1"], "excludeUsers": ["u2"], "includeGroups": []},
        "clientAppTypes": ["other", "exchangeActiveSync"],
        "locations": {"includeLocations": ["AllTrusted"]},
    },
    "sessionControls": None,
}


def test_conditional_access_is_flattened_into_dotted_paths() -> None:
    rows = diff_change(make("conditionalAccessPolicy", "update", CA_DELTA, CA_CURRENT))
    table = by_path(rows)
    assert table["state"].kind is DiffKind.CHANGED
    assert (table["state"].backup_text, table["state"].current_text) == ("On (enabled)", "Off (disabled)")
    assert table["conditions"].is_header and table["conditions"].kind is DiffKind.CHANGED
    assert table["conditions.users"].depth == 1
    include = table["conditions.users.includeUsers"]
    assert include.is_header and include.depth == 2 and include.backup_text == "1 item"
    items = [r for r in rows if r.path.startswith("conditions.users.includeUsers[")]
    assert [(r.kind, r.backup_text, r.current_text) for r in items] == [
        (DiffKind.ADDED, "All", ""), (DiffKind.REMOVED, "", "g1")]
    assert all(r.depth == 3 and r.recoverable for r in items)
    exclude = [r for r in rows if r.path.startswith("conditions.users.excludeUsers[")]
    assert [(r.kind, r.label) for r in exclude] == [(DiffKind.ADDED, "[0]"), (DiffKind.UNCHANGED, "[1]")]
    assert table["conditions.users.includeGroups"].kind is DiffKind.UNCHANGED
    reordered = table["conditions.clientAppTypes"]
    assert reordered.kind is DiffKind.UNCHANGED and reordered.note == "same items in a different order"
    assert table["conditions.locations"].kind is DiffKind.REMOVED
    assert table["conditions.locations.includeLocations[0]"].current_text == "AllTrusted"
    assert table["sessionControls"].kind is DiffKind.ADDED
    assert table["sessionControls.signInFrequency.value"].backup_text == "4"
    assert table["sessionControls.signInFrequency.value"].depth == 2
    assert not any("odata" in r.path for r in rows)


def test_lists_of_objects_are_matched_by_id_then_by_value() -> None:
    key = "authenticationMethodConfigurations"
    delta = {key: [{"id": "Fido2", "state": "enabled"}, {"id": "HardwareOath", "state": "enabled"},
                   {"id": "Sms", "state": "enabled"}]}
    current = {key: [{"id": "Fido2", "state": "disabled"}, {"id": "HardwareOath", "state": "disabled"},
                     {"id": "Voice", "state": "enabled"}]}
    table = by_path(diff_change(make("authenticationMethodPolicy", "update", delta, current)))
    assert table[f"{key}[Fido2].state"].kind is DiffKind.CHANGED and table[f"{key}[Fido2].state"].recoverable
    assert not table[f"{key}[HardwareOath].state"].recoverable
    assert table[f"{key}[Sms]"].kind is DiffKind.ADDED
    assert table[f"{key}[Sms]"].backup_text == "id: Sms; state: enabled"
    assert table[f"{key}[Voice]"].kind is DiffKind.REMOVED
    ranges_b = [{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "10.0.0.0/8"},
                {"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "192.168.0.0/16"}]
    ranges_c = [{"cidrAddress": "10.0.0.0/8"}]
    rows = diff_change(make("namedLocationPolicy", "update", {"ipRanges": ranges_b}, {"ipRanges": ranges_c}))
    items = [r for r in rows if r.path.startswith("ipRanges[")]
    assert [r.kind for r in items] == [DiffKind.UNCHANGED, DiffKind.ADDED]
    assert items[1].backup_text == "192.168.0.0/16"


def test_duplicates_in_scalar_lists_are_counted() -> None:
    rows = diff_change(make("user", "update", {"otherMails": ["a", "a", "b"]}, {"otherMails": ["a", "c"]}))
    items = [(r.kind, r.backup_text, r.current_text) for r in rows if r.path.startswith("otherMails[")]
    assert items == [(DiffKind.UNCHANGED, "a", "a"), (DiffKind.ADDED, "a", ""), (DiffKind.ADDED, "b", ""),
                     (DiffKind.REMOVED, "", "c")]


def test_null_list_items_are_items_too() -> None:
    rows = diff_change(make("user", "update", {"otherMails": [None, "a"]}, {"otherMails": ["a", False]}))
    items = [(r.kind, r.backup_text, r.current_text) for r in rows if r.path.startswith("otherMails[")]
    assert items == [(DiffKind.ADDED, "null", ""), (DiffKind.UNCHANGED, "a", "a"),
                     (DiffKind.REMOVED, "", "false")]


def test_type_mismatch_and_empty_values_are_leaf_rows() -> None:
    change = make("conditionalAccessPolicy", "update",
                  {"grantControls": {}, "sessionControls": "x", "conditions": []},
                  {"grantControls": None, "sessionControls": {"a": 1}, "conditions": None})
    table = by_path(diff_change(change))
    assert table["grantControls"].backup_text == "{}" and not table["grantControls"].is_header
    assert table["sessionControls"].kind is DiffKind.CHANGED
    assert table["sessionControls"].current_text == "1"
    assert table["conditions"].is_header and table["conditions"].backup_text == "0 items"
    assert table["conditions"].current_text == "null"


def test_true_and_one_are_different_values() -> None:
    rows = diff_change(make("user", "update", {"accountEnabled": True}, {"accountEnabled": 1}))
    assert rows[0].kind is DiffKind.CHANGED


HOSTILE = [
    "[bold red]markup[/]", "\x1b[31mred\x1b[0m", "\u202eevil\u202c", "عربي עברית", "x" * 10_000, "",
    "tab\there\nnewline", "emoji 👩‍💻", "nul\x00byte",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_format_value_follows_the_display_rule(text: str) -> None:
    shown = format_value(text)
    assert shown == (display_text(text, limit=None) if text else '""')
    assert "\x1b" not in shown and "\u202e" not in shown and "\x00" not in shown and "\n" not in shown
    if text.isprintable() and text:
        assert shown == text


def test_format_value_shows_what_was_hidden() -> None:
    assert format_value("\x1b[31mred") == "␛red"
    assert format_value("a\u202eb") == "a<U+202E>b"
    assert format_value("line1\nline2") == "line1␤line2"
    assert format_value("nul\x00") == "nul␀"
    assert format_value("x" * 10_000) == "x" * 10_000
    assert format_value(None) == "null" and format_value(False) == "false" and format_value(3) == "3"
    assert format_value(1.5) == "1.5" and format_value(ABSENT) == ""
    assert format_value(["All", "é"]) == '["All", "é"]'
    assert format_value({"k": "\x1b"}) == '{"k": "\\u001b"}'
    assert format_value({"k": "\u202e"}) == '{"k": "<U+202E>"}'


def test_hostile_values_and_member_names_stay_literal_in_rows() -> None:
    change = make("group", "update", {"displayName": "[b]x[/b]\x1b[2J", "members@delta": [{"id": "m1"}]},
                  {"displayName": "ok"})
    rows = diff_change(change, resolve_name=lambda _id: "\x1b]52;c;evil\x07 [i]name")
    table = by_path(rows)
    assert table["displayName"].backup_text == "[b]x[/b]␛"
    assert table["displayName"].backup == "[b]x[/b]\x1b[2J"  # the raw value is kept for copying
    assert table["members[m1]"].backup_text == "␛ [i]name (m1)"


def test_hostile_keys_are_made_visible_in_paths() -> None:
    rows = diff_change(make("conditionalAccessPolicy", "update", {"x\x1b[2J": {"k\u202e": 1}}, {}))
    assert [r.path for r in rows] == ["x␛", "x␛.k<U+202E>"]
    assert rows[1].label == "k<U+202E>"


def test_absent_survives_copies() -> None:
    row = diff_change(make("user", "update", {"jobTitle": "a"}, {}))[0]
    assert copy.deepcopy(row).current is ABSENT
    assert pickle.loads(pickle.dumps(row)).current is ABSENT


def test_resolver_returning_nothing_falls_back_to_id() -> None:
    change = make("group", "update", {"members@delta": [{"id": "m1"}, {"@odata.type": USER}]}, {})
    rows = diff_change(change, resolve_name=lambda _id: None)
    assert [(r.label, r.backup_text) for r in rows[1:]] == [("member", "m1"), ("user", "(no id)")]


def test_malformed_payloads_do_not_raise() -> None:
    change = Change.from_json({"id": "x", "entityTypeName": "user", "recoveryAction": "update",
                               "deltaFromCurrent": "not an object", "currentState": [1, 2]})
    assert diff_change(change) == []
    weird = make("group", "update", {"members@delta": "nonsense", "manager@delta": {"id": "boss"},
                                     "a@odata.bind": "x", "@odata.context": "y"}, {})
    table = by_path(diff_change(weird))
    assert set(table) == {"members", "manager", "manager[boss]"}
    assert not table["manager[boss]"].recoverable


def test_raw_json_is_sorted_indented_and_complete() -> None:
    change = make("user", "update", {"z": 1, "a": "\u202e"}, {"m": None}, failureMessage="Update failed")
    text = raw_json(change)
    data = json.loads(text)
    assert data["deltaFromCurrent"] == {"z": 1, "a": "\u202e"}
    assert data["failureMessage"] == "Update failed" and data["recoveryAction"] == "update"
    assert text.index('"currentState"') < text.index('"deltaFromCurrent"') < text.index('"id"')
    assert '\n  "entityTypeName": "user"' in text
    assert "failureMessage" not in raw_json(make("user", "update", {}, {}))
