"""Evolvable enumerations of the recovery API, and hiding members that sit after the sentinel."""

from __future__ import annotations

NAMESPACE = "microsoft.graph.entraRecoveryServices"
UNKNOWN = "unknownFutureValue"
PREFER_UNKNOWN = "include-unknown-enum-members"

RECOVERY_STATUS = frozenset({"initialized", "running", "successful", "failed", "abandoned", UNKNOWN,
                             "calculating", "loadingData"})
LATE_STATUSES = frozenset({"calculating", "loadingData"})

RECOVERY_ACTION = frozenset({"softDelete", "update", "restore", UNKNOWN})

RESOURCE_TYPES = frozenset({
    "user", "group", "conditionalAccessPolicy", "namedLocationPolicy", "authenticationMethodPolicy",
    "authorizationPolicy", "authenticationStrengthPolicy", "application", "servicePrincipal", UNKNOWN,
    "oAuth2PermissionGrant", "appRoleAssignment", "organization",
})
LATE_TYPES = frozenset({"oAuth2PermissionGrant", "appRoleAssignment", "organization"})
SCOPABLE_TYPES = RESOURCE_TYPES - {UNKNOWN}


def status_out(status: str, include_unknown: bool) -> str:
    """The status a caller sees (late members become unknownFutureValue without the Prefer header)."""
    return UNKNOWN if status in LATE_STATUSES and not include_unknown else status


def type_out(entity_type: str, include_unknown: bool) -> str:
    """The entity type name a caller sees."""
    return UNKNOWN if entity_type in LATE_TYPES and not include_unknown else entity_type


def wants_unknown_members(prefer_headers: list[str]) -> bool:
    """True when a ``Prefer`` header asks for ``include-unknown-enum-members``."""
    for header in prefer_headers:
        for part in header.split(","):
            if part.strip().split(";")[0].strip().lower() == PREFER_UNKNOWN:
                return True
    return False
