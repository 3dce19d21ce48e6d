"""The map from audit-log property names to Graph names, value decoding and comparison."""

from __future__ import annotations

from typing import Any

import pytest

from entrabr_tui.core.audit_names import (
    AuditName,
    NameKind,
    activity_key,
    audit_property,
    audit_value,
    is_sync_marker,
    name_table,
    same_value,
)
from entrabr_tui.core.catalog import property_mappings
from entrabr_tui.core.model import ResourceType
from entrabr_tui.emulator import catalog as emulated
from entrabr_tui.emulator.audit_records import PASCAL

TYPES = [t for t in ResourceType if t is not ResourceType.UNKNOWN_FUTURE_VALUE]


@pytest.mark.parametrize("entity_type", TYPES, ids=str)
def test_every_catalogue_property_maps_to_its_graph_name(entity_type: ResourceType) -> None:
    for mapping in property_mappings(entity_type):
        found = audit_property(entity_type.value, mapping.documented)
        assert found.kind is NameKind.PROPERTY, mapping
        assert found.graph == mapping.graph, mapping
        assert audit_property(entity_type.value, mapping.documented.upper()).graph == mapping.graph


def test_documented_renames() -> None:
    assert audit_property("user", "Mobile").graph == "mobilePhone"
    assert audit_property("user", "TelephoneNumber").graph == "businessPhones"
    assert audit_property("user", "PhysicalDeliveryOfficeName").graph == "officeLocation"
    assert audit_property("user", "OtherMail").graph == "otherMails"
    assert audit_property("group", "IsPublic") == AuditName(NameKind.PROPERTY, "visibility",
                                                            transform="visibility")
    required = audit_property("servicePrincipal", "ExplicitAccessGrantRequired")
    assert required.graph == "appRoleAssignmentRequired"
    assert audit_property("user", "ExtensionAttribute7") == AuditName(
        NameKind.PATH, "onPremisesExtensionAttributes", "extensionAttribute7")
    assert audit_property("conditionalAccessPolicy", "ConditionalAccessPolicy").kind is NameKind.WHOLE
    assert audit_property("authenticationMethodPolicy", "AuthenticationMethodConfigurations.Fido2") == \
        AuditName(NameKind.ITEM, "authenticationMethodConfigurations", "Fido2")
    assert audit_property("application", "KeyDescription").kind is NameKind.CREDENTIALS
    assert audit_property("user", "SomethingNew").graph == "somethingNew"      # the rule for the rest


EMULATED = [(t, graph, pascal) for t, names in PASCAL.items() for graph, pascal in names.items()]


@pytest.mark.parametrize(("entity_type", "graph", "pascal"), EMULATED, ids=lambda v: str(v))
def test_every_name_the_emulator_writes_maps_back(entity_type: str, graph: str, pascal: str) -> None:
    found = audit_property(entity_type, pascal)
    assert found.graph == graph, (entity_type, pascal, found)


def test_the_emulator_and_the_catalogue_agree_on_names() -> None:
    for entity_type, names in emulated.PROPERTY_NAMES.items():
        table = name_table(entity_type)
        for pascal, graph in names.items():
            assert table[pascal.casefold()].graph == graph


@pytest.mark.parametrize("name", ["Included Updated Properties", "TargetId.UserType", "TargetId.DeviceId",
                                  "Action Client Name", "Is Hard Deleted", "Group.ObjectID",
                                  "Group.DisplayName", "Password", "  included updated properties "])
def test_helper_entries_are_ignored(name: str) -> None:
    assert audit_property("user", name).kind is NameKind.HELPER


def test_action_client_name_directory_sync_marks_sync() -> None:
    assert is_sync_marker("Action Client Name", '"DirectorySync"')
    assert is_sync_marker("Action Client Name", "DirectorySync")          # the docs' un-encoded example
    assert not is_sync_marker("Action Client Name", '"AdminPortal"')
    assert not is_sync_marker("Included Updated Properties", '"DirectorySync"')


@pytest.mark.parametrize(("text", "value"), [
    (None, None), ("[]", None), ("[true]", True), ('["Sales"]', "Sales"), ('"False"', False),
    ('"True"', True),
    ('["a","b"]', ["a", "b"]), ('"AccountEnabled, DisplayName"', "AccountEnabled, DisplayName"),
    ('{"state":"enabled"}', {"state": "enabled"}), ("[\"True\"]", "True"), ("not json", "not json"),
    ("[5]", 5),
])
def test_values_are_json_inside_strings(text: str | None, value: Any) -> None:
    assert audit_value(text) == value


@pytest.mark.parametrize(("audit", "current", "transform", "same"), [
    ("+1 206 555 0100", ["+1 206 555 0100"], "", True),                 # a collection against [x]
    (None, [], "", True),
    (["a", "b"], ["b", "a"], "", True),
    ("x", ["x", "y"], "", False),
    (True, "Public", "visibility", True),
    (False, "Private", "visibility", True),
    (False, "Public", "visibility", False),
    (None, None, "", True), ("", None, "", True), (None, "", "", True),
    (True, True, "", True), (True, 1, "", False), ("True", True, "", False),
    (3, 3.0, "", True),
    ("2026-01-05T00:00:00Z", "2026-01-05T00:00:00.0000000Z", "", True),
    ("2026-01-05", "2026-01-05T00:00:00Z", "", True),
    ("Manager", "Engineer", "", False),
    ({"b": 1, "a": [1]}, {"a": [1], "b": 1}, "", True),
])
def test_same_value(audit: Any, current: Any, transform: str, same: bool) -> None:
    assert same_value(audit, current, transform) is same


def test_activity_names_compare_loosely() -> None:
    assert activity_key("Update application \u2013 Certificates and secrets management ") == \
        "update application - certificates and secrets management"
    assert activity_key("Update  Conditional Access policy") == \
        activity_key("update conditional access policy")
