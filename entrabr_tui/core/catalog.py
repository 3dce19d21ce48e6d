"""What Microsoft Entra Backup and Recovery can put back, per object type and per property.

Source: the service's scope page (Graph reference §9.4 and §9.5). The scope page prints directory-internal
names (``Mobile``, ``TelephoneNumber``, ``IsPublic`` …); difference reports use Graph JSON names
(``mobilePhone``, ``businessPhones``, ``visibility`` …). Every mapping is listed below with the reason for any
non-obvious choice. Lookups are case-insensitive and accept the documented names too, so a payload that uses
either spelling is classified the same way. Dotted names (``strongAuthenticationPolicy.enabled``) are split
into path segments.

Choices worth knowing: PublicClient → ``isFallbackPublicClient`` (Graph ``publicClient`` holds redirect URIs);
AppInformationalUrl → ``info``; ApplicationTag / ServicePrincipalTag → ``tags``; authentication-method
settings are only recoverable for the documented configurations. "All properties" types exclude
system-generated ones (``id``, ``createdDateTime``, ``modifiedDateTime``, ``templateId``).

Documented names that are no property of the Graph v1.0 type a change is typed as are left out, because no
difference report can carry them under a name anyone knows: the user's ``PerUserMfaState`` (Graph keeps
per-user MFA state on the beta ``strongAuthenticationRequirements``, not on ``user``), the organization's
``StrongAuthenticationDetails`` / ``StrongAuthenticationPolicy`` (tenant-wide per-user MFA settings of the
MSOnline era; ``organization`` has no such properties, so no organization property is recoverable) and the
service principal's ``PublisherName`` (``publisherName`` exists on the beta servicePrincipal only). A test
checks every listed property against the Graph v1.0 schema.

Links: only static group membership is recoverable — ``members`` on a group, and ``memberOf`` taken as the
same link seen from the member (users and service principals: an application is never a member); owners,
managers and sponsors are not, nor members of dynamic groups.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .model import Change, RecoveryAction, ResourceType


@dataclass(frozen=True, slots=True)
class Coverage:
    """Whether something is recoverable; ``reason`` says why not (``None`` when it is)."""

    recoverable: bool
    reason: str | None = None


RECOVERABLE = Coverage(True)


@dataclass(frozen=True, slots=True)
class PropertyMapping:
    """One recoverable property: the name the scope page prints and the Graph JSON name it maps to."""

    documented: str
    graph: str
    note: str = ""


def _m(documented: str, graph: str | None = None, note: str = "") -> PropertyMapping:
    return PropertyMapping(documented, graph or documented[:1].lower() + documented[1:], note)


@dataclass(frozen=True, slots=True)
class TypeCatalogue:
    """What the service recovers for one object type."""

    entity_type: ResourceType
    recoverable: bool = True
    reason: str | None = None
    all_properties: bool = False
    properties: tuple[PropertyMapping, ...] = ()
    links: frozenset[str] = frozenset()
    #: Graph property → the only sub-keys (case-folded) that are recoverable below it.
    nested: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: Case-folded property name → why that particular property is not recovered.
    not_recovered: Mapping[str, str] = field(default_factory=dict)


#: System-generated properties: never written by recovery, even for "all properties" types.
READ_ONLY_PROPERTIES = frozenset({
    "id", "createddatetime", "modifieddatetime", "templateid", "deleteddatetime"})

_USER = (
    _m("AccountEnabled"), _m("AgeGroup"), _m("City"), _m("CompanyName"), _m("ConsentProvidedForMinor"),
    _m("Country"), _m("Department"), _m("DisplayName"), _m("EmployeeHireDate"), _m("EmployeeId"),
    _m("EmployeeLeaveDate", "employeeLeaveDateTime", "Graph names the property employeeLeaveDateTime"),
    _m("EmployeeOrgData", note="complex: division and costCenter"), _m("EmployeeType"), _m("FaxNumber"),
    _m("GivenName"), _m("JobTitle"), _m("Mail"), _m("MailNickname"),
    _m("Mobile", "mobilePhone", "directory 'Mobile' is Graph mobilePhone"),
    _m("OtherMail", "otherMails", "directory 'OtherMail' is the Graph collection otherMails"),
    _m("PasswordPolicies"),
    _m("PhysicalDeliveryOfficeName", "officeLocation", "directory office name is Graph officeLocation"),
    _m("PostalCode"), _m("PreferredDataLocation"), _m("PreferredLanguage"), _m("State"), _m("StreetAddress"),
    _m("Surname"),
    _m("TelephoneNumber", "businessPhones", "TelephoneNumber is the Graph collection businessPhones"),
    _m("UsageLocation"), _m("UserPrincipalName"), _m("UserType"),
)
_GROUP = (
    _m("Classification"), _m("Description"), _m("DisplayName"),
    _m("GroupType", "groupTypes", "Graph collection groupTypes (Unified, DynamicMembership)"),
    _m("IsPublic", "visibility", "Graph models public/private as visibility (Public, Private, …)"),
    _m("Mail"), _m("MailEnabled"), _m("MailNickname"), _m("PreferredDataLocation"), _m("PreferredLanguage"),
    _m("SecurityEnabled"), _m("Theme"),
)
_APPLICATION = (
    _m("DisplayName"), _m("Description"), _m("Notes"),
    _m("ApplicationTag", "tags", "application tags are Graph tags"),
    _m("AppIdentifierUri", "identifierUris", "Graph collection identifierUris"),
    _m("AppCreatedDateTime", "createdDateTime", "listed by the scope page although Graph marks it read-only"),
    _m("PublicClient", "isFallbackPublicClient",
       "directory PublicClient flag; Graph publicClient (redirect URIs) is a different property"),
    _m("PublisherDomain"), _m("IsDeviceOnlyAuthSupported"), _m("ServiceManagementReference"),
    _m("RequiredResourceAccess"), _m("NativeAuthenticationApisEnabled"), _m("SignInAudience"),
    _m("GroupMembershipClaims"), _m("OptionalClaims"), _m("IsDisabled"), _m("AddIns"),
    _m("ServicePrincipalLockConfiguration"),
    _m("AppInformationalUrl", "info", "informational URLs live in Graph info (informationalUrl)"),
)
_SERVICE_PRINCIPAL = (
    _m("AccountEnabled"), _m("AlternativeNames"),
    _m("ExplicitAccessGrantRequired", "appRoleAssignmentRequired", "Graph name for 'assignment required'"),
    _m("Description"), _m("LoginUrl"), _m("Notes"), _m("NotificationEmailAddresses"),
    _m("PreferredTokenSigningKeyThumbprint"),
    _m("ServicePrincipalTag", "tags", "service principal tags are Graph tags"),
    _m("ServicePrincipalType"), _m("PreferredSingleSignOnMode"),
    _m("SamlSingleSignOnSettings"),
    _m("ServicePrincipalName", "servicePrincipalNames", "Graph collection servicePrincipalNames"),
)
_CONDITIONAL_ACCESS = (
    _m("DisplayName"), _m("Description"), _m("State"), _m("Conditions"), _m("GrantControls"),
    _m("SessionControls"),
)
_NAMED_LOCATION = (
    _m("DisplayName"), _m("IpRanges"), _m("IsTrusted"), _m("CountriesAndRegions"),
    _m("CountryLookupMethod"), _m("IncludeUnknownCountriesAndRegions"),
)
_AUTHORIZATION = (_m("BlockMsolPowerShell"), _m("GuestUserRoleId"))
#: Authentication method configurations the service recovers (Graph ``authenticationMethodConfiguration.id``).
AUTHENTICATION_METHOD_CONFIGURATIONS = frozenset({
    "Email", "Fido2", "MicrosoftAuthenticator", "Voice", "Sms", "SoftwareOath", "TemporaryAccessPass",
    "X509Certificate",
})
_AUTH_METHODS = (
    _m("AuthenticationMethodConfigurations", note="only AUTHENTICATION_METHOD_CONFIGURATIONS"),
)
_ORGANIZATION_REASON = ("the organization settings the service recovers (per-user MFA settings) are no "
                        "Graph properties; {prop} is not one of them")

_ANCHORED_ON_SP = "recovered only together with its service principal: queue the service principal instead"

_CATALOGUE: dict[ResourceType, TypeCatalogue] = {
    ResourceType.USER: TypeCatalogue(
        ResourceType.USER, properties=_USER, links=frozenset({"memberOf"}),
        not_recovered={
            "passwordprofile": "passwords are never restored; set a new one",
            "onpremisessyncenabled": "recovery does not move the source of authority back",
            "manager": "manager links are not recoverable",
        },
    ),
    ResourceType.GROUP: TypeCatalogue(
        ResourceType.GROUP, properties=_GROUP, links=frozenset({"members", "memberOf"}),
        not_recovered={
            "membershiprule": "rule changes of dynamic groups are not recovered",
            "membershipruleprocessingstate": "rule changes of dynamic groups are not recovered",
            "onpremisessyncenabled": "recovery does not move the source of authority back",
        },
    ),
    ResourceType.CONDITIONAL_ACCESS_POLICY: TypeCatalogue(
        ResourceType.CONDITIONAL_ACCESS_POLICY, all_properties=True, properties=_CONDITIONAL_ACCESS),
    ResourceType.NAMED_LOCATION_POLICY: TypeCatalogue(
        ResourceType.NAMED_LOCATION_POLICY, all_properties=True, properties=_NAMED_LOCATION),
    ResourceType.AUTHENTICATION_METHOD_POLICY: TypeCatalogue(
        ResourceType.AUTHENTICATION_METHOD_POLICY, properties=_AUTH_METHODS,
        nested={"authenticationMethodConfigurations": frozenset(
            c.casefold() for c in AUTHENTICATION_METHOD_CONFIGURATIONS)},
    ),
    ResourceType.AUTHORIZATION_POLICY: TypeCatalogue(
        ResourceType.AUTHORIZATION_POLICY, properties=_AUTHORIZATION),
    ResourceType.APPLICATION: TypeCatalogue(
        ResourceType.APPLICATION, properties=_APPLICATION,
        not_recovered={
            "onpremisespublishing": "Application Proxy settings are not restored",
            "passwordcredentials": "secrets come back only as they were at deletion, when restoring",
            "keycredentials": "secrets come back only as they were at deletion, when restoring",
        },
    ),
    ResourceType.SERVICE_PRINCIPAL: TypeCatalogue(
        ResourceType.SERVICE_PRINCIPAL, properties=_SERVICE_PRINCIPAL, links=frozenset({"memberOf"}),
        not_recovered={
            "claimsmappingpolicies": "claims-mapping policies are not restored",
            "homerealmdiscoverypolicies": "home-realm-discovery policies are not restored",
        },
    ),
    ResourceType.ORGANIZATION: TypeCatalogue(ResourceType.ORGANIZATION),
    ResourceType.OAUTH2_PERMISSION_GRANT: TypeCatalogue(
        ResourceType.OAUTH2_PERMISSION_GRANT, recoverable=False,
        reason=f"OAuth2 permission grant {_ANCHORED_ON_SP} (admin-consent grants for all users only)"),
    ResourceType.APP_ROLE_ASSIGNMENT: TypeCatalogue(
        ResourceType.APP_ROLE_ASSIGNMENT, recoverable=False, reason=f"app role assignment {_ANCHORED_ON_SP}"),
    ResourceType.AUTHENTICATION_STRENGTH_POLICY: TypeCatalogue(
        ResourceType.AUTHENTICATION_STRENGTH_POLICY, recoverable=False,
        reason="authentication strengths are not among the objects the service recovers"),
}

_LINK_REASONS = {
    "owners": "owner links are not recoverable",
    "manager": "manager links are not recoverable",
    "directreports": "manager links are not recoverable",
    "sponsors": "sponsor links are not recoverable",
}


def _lookup_table(entry: TypeCatalogue) -> dict[str, str]:
    table: dict[str, str] = {}
    for mapping in entry.properties:
        table[mapping.graph.casefold()] = mapping.graph
        table.setdefault(mapping.documented.casefold(), mapping.graph)
    return table


_LOOKUP = {t: _lookup_table(e) for t, e in _CATALOGUE.items()}
_NESTED = {t: {k.casefold(): v for k, v in e.nested.items()} for t, e in _CATALOGUE.items()}
_LINKS = {t: frozenset(link.casefold() for link in e.links) for t, e in _CATALOGUE.items()}


def _resolve(entity_type: ResourceType | str) -> tuple[ResourceType, str]:
    raw = entity_type.value if isinstance(entity_type, ResourceType) else str(entity_type)
    return ResourceType.parse(entity_type), raw


@lru_cache(maxsize=256)
def type_catalogue(entity_type: ResourceType | str) -> TypeCatalogue:
    """The catalogue entry of a type (an unknown type gets a non-recoverable entry naming the raw value)."""
    parsed, raw = _resolve(entity_type)
    entry = _CATALOGUE.get(parsed)
    if entry is None:
        return TypeCatalogue(ResourceType.UNKNOWN_FUTURE_VALUE, recoverable=False,
                             reason=f"unknown object type {raw!r}: not known to be recoverable")
    return entry


def type_coverage(entity_type: ResourceType | str) -> Coverage:
    """Whether objects of this type can be recovered on their own, with the reason when not."""
    entry = type_catalogue(entity_type)
    return RECOVERABLE if entry.recoverable else Coverage(False, entry.reason)


def is_type_recoverable(entity_type: ResourceType | str) -> bool:
    return type_catalogue(entity_type).recoverable


def type_unrecoverable_reason(entity_type: ResourceType | str) -> str | None:
    """Why a type cannot be recovered on its own, or ``None`` when it can."""
    return type_coverage(entity_type).reason


def all_properties_recoverable(entity_type: ResourceType | str) -> bool:
    """True for types whose every non-read-only property is recoverable (Conditional Access, locations)."""
    entry = type_catalogue(entity_type)
    return entry.recoverable and entry.all_properties


def recoverable_properties(entity_type: ResourceType | str) -> frozenset[str]:
    """Graph JSON names of the recoverable top-level properties.

    For "all properties" types this lists the known properties of the type; any other non-read-only
    property is recoverable too (see :func:`all_properties_recoverable`).
    """
    entry = type_catalogue(entity_type)
    if not entry.recoverable:
        return frozenset()
    return frozenset(m.graph for m in entry.properties)


def property_mappings(entity_type: ResourceType | str) -> tuple[PropertyMapping, ...]:
    """The documented-name → Graph-name table of a type (for help screens and exports)."""
    return type_catalogue(entity_type).properties


def _segments(parts: Sequence[str]) -> list[str]:
    return [seg for part in parts for seg in str(part).split(".") if seg]


def _config_name(odata_type: str | None) -> str | None:
    """``#microsoft.graph.fido2AuthenticationMethodConfiguration`` → ``fido2`` (case-folded)."""
    if not odata_type:
        return None
    name = odata_type.rsplit(".", 1)[-1]
    suffix = "AuthenticationMethodConfiguration"
    return name[: -len(suffix)].casefold() if name.endswith(suffix) and len(name) > len(suffix) else None


def path_coverage(
    entity_type: ResourceType | str, parts: Sequence[str], odata_type: str | None = None
) -> Coverage:
    """Whether the property at ``parts`` (top-level name first; list items by id or index) is recoverable.

    ``odata_type`` is the change's ``@odata.type``; it matters for authentication-method changes reported
    as single configurations (``#microsoft.graph.fido2AuthenticationMethodConfiguration``).
    """
    segs = _segments(parts)
    raw = entity_type.value if isinstance(entity_type, ResourceType) else str(entity_type)
    odata = odata_type if isinstance(odata_type, str) and odata_type.endswith("Configuration") else None
    return _coverage(raw, segs[0] if segs else None, segs[1] if len(segs) > 1 else None, odata)


@lru_cache(maxsize=8192)
def _coverage(raw_type: str, first: str | None, second: str | None, odata_type: str | None) -> Coverage:
    """Coverage from the first two path segments (all the catalogue distinguishes), memoised."""
    entry = type_catalogue(raw_type)
    if not entry.recoverable:
        return Coverage(False, entry.reason)
    if first is None:
        return RECOVERABLE
    parsed = entry.entity_type
    head = first.casefold()
    graph = _LOOKUP[parsed].get(head)
    if graph is None and head in READ_ONLY_PROPERTIES:
        return Coverage(False, f"{first} is read-only")
    config = _config_name(odata_type) if parsed is ResourceType.AUTHENTICATION_METHOD_POLICY else None
    if config is not None:
        allowed = _NESTED[parsed]["authenticationmethodconfigurations"]
        return RECOVERABLE if config in allowed else Coverage(
            False, f"the {config} authentication method configuration is not recoverable")
    if entry.all_properties:
        return RECOVERABLE
    if graph is None:
        reason = entry.not_recovered.get(head) or (
            _ORGANIZATION_REASON.format(prop=first) if parsed is ResourceType.ORGANIZATION
            else f"{first} is not a recoverable {parsed.value} property")
        return Coverage(False, reason)
    allowed_sub = _NESTED[parsed].get(graph.casefold())
    if allowed_sub is not None and second is not None and second.casefold() not in allowed_sub:
        return Coverage(False, f"{graph}.{second} is not a recoverable setting")
    return RECOVERABLE


def property_coverage(entity_type: ResourceType | str, prop: str) -> Coverage:
    """Coverage of one top-level property (Graph JSON name or documented name)."""
    return path_coverage(entity_type, (prop,))


def is_property_recoverable(entity_type: ResourceType | str, prop: str) -> bool:
    return path_coverage(entity_type, (prop,)).recoverable


def recoverable_links(entity_type: ResourceType | str) -> frozenset[str]:
    """Relationships whose link changes are recoverable (group ``members``; ``memberOf`` is its mirror)."""
    entry = type_catalogue(entity_type)
    return entry.links if entry.recoverable else frozenset()


def link_coverage(entity_type: ResourceType | str, relationship: str) -> Coverage:
    """Whether link changes of ``relationship`` (``members`` for ``members@delta``) are recoverable."""
    parsed, _ = _resolve(entity_type)
    entry = type_catalogue(entity_type)
    if not entry.recoverable:
        return Coverage(False, entry.reason)
    rel = relationship.casefold()
    if rel in _LINKS.get(parsed, frozenset()):
        return RECOVERABLE
    return Coverage(False, _LINK_REASONS.get(rel, "only static group membership links are recoverable"))


def is_dynamic_group(change: Change) -> bool:
    """True when the group is rule-based (its membership follows the rule, not static links)."""
    for source in (change.current, change.delta):
        types = source.get("groupTypes")
        if isinstance(types, list) and any(isinstance(t, str) and t.casefold() == "dynamicmembership"
                                           for t in types):
            return True
    return False


DYNAMIC_MEMBERS_REASON = "dynamic group: membership follows its rule and is not recovered"


def _nested_changed(allowed: frozenset[str], backup: Any, current: Any) -> bool:
    """Whether a recoverable sub-key / configuration differs (``True`` when the shape is not understood)."""
    if isinstance(backup, Mapping) and isinstance(current, Mapping | None):
        cur = current or {}
        return any(k.casefold() in allowed and v != cur.get(k) for k, v in backup.items())
    if isinstance(backup, list) and isinstance(current, list | None):
        def by_id(items: list[Any]) -> dict[str, Any] | None:
            out = {}
            for item in items:
                if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
                    return None
                out[item["id"]] = item
            return out
        b_map, c_map = by_id(backup), by_id(current or [])
        if b_map is None or c_map is None:
            return True
        keys = b_map.keys() | c_map.keys()
        return any(k.casefold() in allowed and b_map.get(k) != c_map.get(k) for k in keys)
    return True


def has_recoverable_change(change: Change) -> bool:
    """Whether recovery would write anything for this change (rule 4 of
    :mod:`~entrabr_tui.core.recoverability`: the type's gate, not its action or sync status).

    Restore and soft-delete act on the whole object; updates need at least one recoverable property whose
    backup value differs from the current one, or a non-empty recoverable link delta. Fast enough to run on
    every change while a report is stored.
    """
    entry = type_catalogue(change.entity_type_raw)
    if not entry.recoverable:
        return False
    if change.action in (RecoveryAction.RESTORE, RecoveryAction.SOFT_DELETE):
        return True
    parsed = entry.entity_type
    odata_type = change.delta.get("@odata.type")
    odata = odata_type if isinstance(odata_type, str) and odata_type.endswith("Configuration") else None
    nested = _NESTED.get(parsed, {})
    for key, value in change.delta.items():
        if key.startswith("@"):
            continue
        if key.endswith("@delta"):
            rel = key[: -len("@delta")]
            if not value or not link_coverage(parsed, rel).recoverable:
                continue
            if rel.casefold() == "members" and is_dynamic_group(change):
                continue
            return True
        if "@" in key:
            continue
        current = change.current.get(key)
        if value == current:
            continue
        if "." in key:
            if not path_coverage(parsed, (key,), odata).recoverable:
                continue
        elif not _coverage(parsed.value, key, None, odata).recoverable:
            continue
        allowed = nested.get(key.casefold())
        if allowed is None or _config_name(odata) is not None:
            return True
        if _nested_changed(allowed, value, current):
            return True
    return False
