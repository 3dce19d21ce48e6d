"""Dependency stages of a restore, in the order Microsoft's recoverability guidance gives.

Accounts first, then what refers to them: users → groups (so membership links find their members) →
applications → service principals (with the OAuth2 grants and app role assignments that come back with
them) → named locations → Conditional Access and the other policies (which refer to users, groups and
named locations). Every stage runs in recovery jobs of its own: a job never mixes two stages, so a job of a
later stage starts only once everything of the earlier stages has been restored.
"""

from __future__ import annotations

from enum import IntEnum

from .model import ResourceType


class Stage(IntEnum):
    """One stage of a restore; the value orders them."""

    USERS = 1
    GROUPS = 2
    APPLICATIONS = 3
    SERVICE_PRINCIPALS = 4
    NAMED_LOCATIONS = 5
    POLICIES = 6
    OTHER = 7

    @property
    def title(self) -> str:
        """``users``, ``Conditional Access and other policies`` …"""
        return _TITLES[self]


_TITLES = {
    Stage.USERS: "users",
    Stage.GROUPS: "groups",
    Stage.APPLICATIONS: "applications",
    Stage.SERVICE_PRINCIPALS: "service principals",
    Stage.NAMED_LOCATIONS: "named locations",
    Stage.POLICIES: "Conditional Access and other policies",
    Stage.OTHER: "other types",
}

_STAGE_OF: dict[str, Stage] = {
    ResourceType.USER: Stage.USERS,
    ResourceType.GROUP: Stage.GROUPS,
    ResourceType.APPLICATION: Stage.APPLICATIONS,
    ResourceType.SERVICE_PRINCIPAL: Stage.SERVICE_PRINCIPALS,
    ResourceType.OAUTH2_PERMISSION_GRANT: Stage.SERVICE_PRINCIPALS,
    ResourceType.APP_ROLE_ASSIGNMENT: Stage.SERVICE_PRINCIPALS,
    ResourceType.NAMED_LOCATION_POLICY: Stage.NAMED_LOCATIONS,
    ResourceType.CONDITIONAL_ACCESS_POLICY: Stage.POLICIES,
    ResourceType.AUTHENTICATION_METHOD_POLICY: Stage.POLICIES,
    ResourceType.AUTHENTICATION_STRENGTH_POLICY: Stage.POLICIES,
    ResourceType.AUTHORIZATION_POLICY: Stage.POLICIES,
    ResourceType.ORGANIZATION: Stage.POLICIES,
}

#: Types whose restore can lock people out (the lockout guard looks at plans that touch them).
POLICY_TYPES = frozenset({ResourceType.CONDITIONAL_ACCESS_POLICY.value,
                          ResourceType.NAMED_LOCATION_POLICY.value})


def stage_of(entity_type: str) -> Stage:
    """The stage a type is restored in (a type this version does not know: last)."""
    return _STAGE_OF.get(entity_type, Stage.OTHER)
