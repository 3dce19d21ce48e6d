"""The property catalogue: which types, properties and links the service can recover."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from entrabr_tui.core.catalog import (
    AUTHENTICATION_METHOD_CONFIGURATIONS,
    all_properties_recoverable,
    has_recoverable_change,
    is_property_recoverable,
    is_type_recoverable,
    link_coverage,
    path_coverage,
    property_coverage,
    property_mappings,
    recoverable_links,
    recoverable_properties,
    type_coverage,
    type_unrecoverable_reason,
)
from entrabr_tui.core.model import Change, ResourceType

FIDELITY = Path(__file__).resolve().parents[1] / "fixtures" / "fidelity" / "v1.0_directory_object_types.json"


def change(entity: str, action: str, delta: dict[str, Any], current: dict[str, Any] | None = None) -> Change:
    return Change.from_json({"id": "obj-1", "entityTypeName": entity, "recoveryAction": action,
                             "displayName": "x", "deltaFromCurrent": delta, "currentState": current or {}})


@pytest.mark.parametrize(("entity", "prop"), [
    ("user", "accountEnabled"), ("user", "mobilePhone"), ("user", "businessPhones"),
    ("user", "officeLocation"), ("user", "otherMails"), ("user", "employeeOrgData"),
    ("user", "employeeLeaveDateTime"), ("user", "userPrincipalName"), ("user", "usageLocation"),
    ("group", "groupTypes"), ("group", "visibility"), ("group", "theme"), ("group", "securityEnabled"),
    ("application", "identifierUris"), ("application", "tags"), ("application", "info"),
    ("application", "isFallbackPublicClient"), ("application", "requiredResourceAccess"),
    ("servicePrincipal", "appRoleAssignmentRequired"), ("servicePrincipal", "servicePrincipalNames"),
    ("servicePrincipal", "tags"), ("authorizationPolicy", "blockMsolPowerShell"),
    ("authorizationPolicy", "guestUserRoleId"),
])
def test_documented_properties_map_to_graph_names(entity: str, prop: str) -> None:
    assert is_property_recoverable(entity, prop)
    assert prop in recoverable_properties(entity)


@pytest.mark.parametrize(("entity", "documented", "graph"), [
    ("user", "Mobile", "mobilePhone"), ("user", "TelephoneNumber", "businessPhones"),
    ("user", "PhysicalDeliveryOfficeName", "officeLocation"), ("user", "OtherMail", "otherMails"),
    ("group", "IsPublic", "visibility"), ("group", "GroupType", "groupTypes"),
    ("application", "AppIdentifierUri", "identifierUris"),
    ("servicePrincipal", "ExplicitAccessGrantRequired", "appRoleAssignmentRequired"),
])
def test_documented_names_are_accepted_as_aliases(entity: str, documented: str, graph: str) -> None:
    assert is_property_recoverable(entity, documented)
    assert is_property_recoverable(entity, documented.upper())
    mapping = {m.documented: m.graph for m in property_mappings(entity)}
    assert mapping[documented] == graph


# The scope page lists 33 user and 14 service principal properties; PerUserMfaState and PublisherName are no
# Graph v1.0 properties of those types.
@pytest.mark.parametrize(("entity", "count"), [
    ("user", 32), ("group", 12), ("application", 19), ("servicePrincipal", 13), ("authorizationPolicy", 2),
])
def test_every_documented_graph_property_is_listed_once(entity: str, count: int) -> None:
    mappings = property_mappings(entity)
    assert len(mappings) == count
    assert len({m.documented for m in mappings}) == count
    assert all(m.graph and m.graph[0].islower() for m in mappings)


@pytest.mark.parametrize(("entity", "prop", "reason_part"), [
    ("user", "passwordProfile", "passwords"),
    ("user", "manager", "manager"),
    ("user", "onPremisesSyncEnabled", "source of authority"),
    ("user", "signInActivity", "not a recoverable user property"),
    ("group", "membershipRule", "dynamic"),
    ("application", "onPremisesPublishing", "Application Proxy"),
    ("servicePrincipal", "appId", "not a recoverable"),
    ("authorizationPolicy", "allowedToSignUpEmailBasedSubscriptions", "not a recoverable"),
])
def test_unlisted_properties_say_why(entity: str, prop: str, reason_part: str) -> None:
    coverage = property_coverage(entity, prop)
    assert not coverage.recoverable
    assert coverage.reason is not None and reason_part in coverage.reason


@pytest.mark.parametrize("entity", ["conditionalAccessPolicy", "namedLocationPolicy"])
def test_all_property_types_accept_any_property_except_read_only(entity: str) -> None:
    assert all_properties_recoverable(entity)
    for prop in ("displayName", "state", "conditions", "ipRanges", "somethingNew"):
        assert is_property_recoverable(entity, prop)
    for prop in ("id", "createdDateTime", "modifiedDateTime"):
        coverage = property_coverage(entity, prop)
        assert not coverage.recoverable and coverage.reason == f"{prop} is read-only"
    assert path_coverage(entity, ("conditions", "users", "includeUsers", "0")).recoverable
    assert not all_properties_recoverable("user")


def test_application_created_date_is_listed_although_read_only_elsewhere() -> None:
    assert is_property_recoverable("application", "createdDateTime")
    assert not is_property_recoverable("servicePrincipal", "createdDateTime")


@pytest.mark.parametrize(("entity", "reason_part"), [
    ("oAuth2PermissionGrant", "service principal"),
    ("appRoleAssignment", "service principal"),
    ("authenticationStrengthPolicy", "authentication strengths"),
    ("unknownFutureValue", "unknown object type"),
    ("printerShare", "'printerShare'"),
])
def test_types_that_cannot_be_recovered_say_why(entity: str, reason_part: str) -> None:
    assert not is_type_recoverable(entity)
    reason = type_unrecoverable_reason(entity)
    assert reason is not None and reason_part in reason
    assert recoverable_properties(entity) == frozenset()
    assert recoverable_links(entity) == frozenset()
    assert not is_property_recoverable(entity, "displayName")
    assert path_coverage(entity, ("displayName",)).reason == reason


def test_every_known_type_is_classified() -> None:
    recoverable = {t for t in ResourceType if is_type_recoverable(t)}
    assert recoverable == {
        ResourceType.USER, ResourceType.GROUP, ResourceType.CONDITIONAL_ACCESS_POLICY,
        ResourceType.NAMED_LOCATION_POLICY, ResourceType.AUTHENTICATION_METHOD_POLICY,
        ResourceType.AUTHORIZATION_POLICY, ResourceType.APPLICATION, ResourceType.SERVICE_PRINCIPAL,
        ResourceType.ORGANIZATION,
    }
    for t in ResourceType:
        coverage = type_coverage(t)
        assert (coverage.reason is None) == coverage.recoverable
        assert type_coverage(t.value) == coverage


def test_links_only_group_membership() -> None:
    assert link_coverage("group", "members").recoverable
    assert link_coverage("group", "Members").recoverable
    for entity, rel, part in [("group", "owners", "owner"), ("user", "manager", "manager"),
                              ("user", "sponsors", "sponsor"), ("application", "owners", "owner"),
                              ("user", "members", "static group membership"),
                              ("group", "acceptedSenders", "static group membership")]:
        coverage = link_coverage(entity, rel)
        assert not coverage.recoverable
        assert coverage.reason is not None and part in coverage.reason
    assert "members" in recoverable_links("group") and "owners" not in recoverable_links("group")
    assert not link_coverage("oAuth2PermissionGrant", "members").recoverable


@pytest.mark.parametrize(("entity", "prop"), [
    ("user", "perUserMfaState"), ("user", "PerUserMfaState"), ("servicePrincipal", "publisherName"),
    ("organization", "strongAuthenticationPolicy"), ("organization", "StrongAuthenticationDetails"),
])
def test_documented_names_that_are_no_graph_property_are_not_listed(entity: str, prop: str) -> None:
    assert not is_property_recoverable(entity, prop)
    assert prop not in recoverable_properties(entity)


def test_organization_changes_name_no_recoverable_property() -> None:
    assert is_type_recoverable("organization") and recoverable_properties("organization") == frozenset()
    for parts in (("strongAuthenticationPolicy", "enabled"), ("displayName",)):
        coverage = path_coverage("organization", parts)
        assert not coverage.recoverable and coverage.reason is not None
        assert "no Graph properties" in coverage.reason and parts[0] in coverage.reason


#: resourceTypeName → the Graph v1.0 types its changes are typed as (named locations: both derived types).
GRAPH_TYPES = {
    "user": ("user",), "group": ("group",), "application": ("application",),
    "servicePrincipal": ("servicePrincipal",), "conditionalAccessPolicy": ("conditionalAccessPolicy",),
    "namedLocationPolicy": ("ipNamedLocation", "countryNamedLocation"),
    "authenticationMethodPolicy": ("authenticationMethodsPolicy",),
    "authorizationPolicy": ("authorizationPolicy",), "organization": ("organization",),
}


def graph_properties(types: dict[str, Any], name: str) -> set[str]:
    """Own and inherited property names of a Graph type in the schema digest."""
    names: set[str] = set()
    current: str | None = name
    while current is not None and current in types:
        names.update(types[current].get("props", {}))
        base = types[current].get("base")
        current = base.rsplit(".", 1)[-1] if base else None
    return names


def test_every_catalogue_property_is_a_property_of_its_graph_type() -> None:
    digest = json.loads(FIDELITY.read_text(encoding="utf-8"))["types"]
    assert set(GRAPH_TYPES) == {t.value for t in ResourceType if is_type_recoverable(t)}
    for entity, graph_types in GRAPH_TYPES.items():
        known = set().union(*(graph_properties(digest, t) for t in graph_types))
        assert known, entity
        listed = {m.graph for m in property_mappings(entity)}
        assert listed <= known, (entity, sorted(listed - known))
        for rel in recoverable_links(entity):
            assert rel in known, (entity, rel)


def test_authentication_methods_policy_only_listed_configurations() -> None:
    assert len(AUTHENTICATION_METHOD_CONFIGURATIONS) == 8
    key = "authenticationMethodConfigurations"
    for config in AUTHENTICATION_METHOD_CONFIGURATIONS:
        assert path_coverage("authenticationMethodPolicy", (key, config, "state")).recoverable
    assert not path_coverage("authenticationMethodPolicy", (key, "HardwareOath", "state")).recoverable
    assert not is_property_recoverable("authenticationMethodPolicy", "registrationEnforcement")
    fido = "#microsoft.graph.fido2AuthenticationMethodConfiguration"
    hardware = "#microsoft.graph.hardwareOathAuthenticationMethodConfiguration"
    assert path_coverage("authenticationMethodPolicy", ("state",), fido).recoverable
    assert not path_coverage("authenticationMethodPolicy", ("state",), hardware).recoverable
    assert not path_coverage("authenticationMethodPolicy", ("id",), fido).recoverable


def test_has_recoverable_change_for_updates() -> None:
    assert has_recoverable_change(change("user", "update", {"jobTitle": "A"}, {"jobTitle": "B"}))
    assert has_recoverable_change(change("user", "update", {"mobilePhone": "1"}, {}))
    assert not has_recoverable_change(change("user", "update", {"jobTitle": "A"}, {"jobTitle": "A"}))
    assert not has_recoverable_change(change("user", "update", {"passwordProfile": {"x": 1}}, {}))
    assert not has_recoverable_change(change("user", "update", {"@odata.type": "#microsoft.graph.user"}, {}))
    members = {"members@delta": [{"id": "u1"}]}
    assert has_recoverable_change(change("group", "update", members))
    assert not has_recoverable_change(change("group", "update", {"members@delta": []}))
    assert not has_recoverable_change(change("group", "update", {"owners@delta": [{"id": "u1"}]}))
    dynamic = {"groupTypes": ["DynamicMembership"]}
    assert not has_recoverable_change(change("group", "update", members, dynamic))
    assert has_recoverable_change(change("conditionalAccessPolicy", "update", {"state": "enabled"},
                                         {"state": "disabled"}))


def test_has_recoverable_change_for_object_actions_and_types() -> None:
    assert has_recoverable_change(change("user", "restore", {"deletedDateTime": None}))
    assert has_recoverable_change(change("user", "softDelete", {"@removed": {"reason": "changed"}}))
    assert not has_recoverable_change(change("oAuth2PermissionGrant", "restore", {}))
    assert not has_recoverable_change(change("authenticationStrengthPolicy", "update", {"a": 1}))
    assert not has_recoverable_change(change("mystery", "update", {"displayName": "x"}))


def test_has_recoverable_change_looks_inside_restricted_settings() -> None:
    org_delta = {"strongAuthenticationPolicy": {"enabled": True}}
    assert not has_recoverable_change(change("organization", "update", org_delta, {}))
    key = "authenticationMethodConfigurations"
    hw_b = {key: [{"id": "HardwareOath", "state": "enabled"}, {"id": "Sms", "state": "enabled"}]}
    hw_c = {key: [{"id": "HardwareOath", "state": "disabled"}, {"id": "Sms", "state": "enabled"}]}
    assert not has_recoverable_change(change("authenticationMethodPolicy", "update", hw_b, hw_c))
    hw_c[key][1]["state"] = "disabled"
    assert has_recoverable_change(change("authenticationMethodPolicy", "update", hw_b, hw_c))
