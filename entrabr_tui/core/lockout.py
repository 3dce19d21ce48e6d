"""Lockout guard: would restoring Conditional Access lock out the break-glass accounts or the admin?

The state a restore produces is the current policy with the backup's values written over it (recovery sets
the changed properties back: ``deltaFromCurrent`` over the live policy). :func:`restored_policies` builds
that state for every policy a plan restores; :func:`evaluate` compares it with the state before and lists
every *enforced* policy that would **newly** apply to a protected identity:

* an identity is a break-glass account (a user: Microsoft's guidance is to exclude them from every policy),
  a break-glass group (its members), or the signed-in admin;
* a policy is enforced when its ``state`` is ``enabled`` (report-only and disabled policies are not);
* it applies to a user when ``conditions.users`` includes ``All``, the user's id, one of its groups or one
  of its directory roles, and excludes none of them (``GuestsOrExternalUsers`` and ``None`` never match a
  member account); to a group when it includes ``All`` or the group and does not exclude the group;
* it must cover admin sign-in: ``includeApplications`` holds ``All``, ``MicrosoftAdminPortals``, Azure
  management, the Azure portal or Microsoft Graph, and its client app types (if any) are not legacy only;
* it must do something: grant controls (``block``, ``mfa``, compliant device, authentication strength …)
  or session controls;
* "newly": it did not apply before, or now blocks where it did not, or now requires controls it did not.
  Location, platform, risk and device-filter conditions are not evaluated (whether a sign-in matches them
  is not known here): such a policy counts as applying and the finding names the conditions.

A finding for a break-glass identity, or one that would block the signed-in admin, needs a typed
confirmation naming the policy; other findings about the admin (e.g. MFA newly required) are warnings.

Limits: group membership is only known where the restore itself changes it (a ``members@delta`` that adds a
break-glass account to, or removes it from, a group) and for the configured break-glass groups (break-glass
accounts are taken to be members of them); break-glass accounts are taken to hold Global Administrator
(policies that include that role apply to them); the signed-in admin's roles are the ones its token names.
Nested groups, dynamic groups, guests, authentication contexts and user actions are not evaluated.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .model import Change, RecoveryAction, ResourceType

GLOBAL_ADMINISTRATOR_ROLE = "62e90394-69f5-4237-9190-012177145e10"
#: Application ids (and keywords) whose policies cover signing in to administer the tenant.
ADMIN_APPLICATIONS = frozenset({
    "all", "microsoftadminportals",
    "797f4846-ba00-4fd7-ba43-dac1f8f63013",  # Windows Azure Service Management API (Azure management)
    "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",  # Azure portal
    "00000003-0000-0000-c000-000000000000",  # Microsoft Graph
})
MODERN_CLIENTS = frozenset({"all", "browser", "mobileappsanddesktopclients"})
_RISK_KEYS = ("userRiskLevels", "signInRiskLevels", "servicePrincipalRiskLevels", "insiderRiskLevels")

Policy = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Principal:
    """An identity the guard protects: a user or a group, what it is (``label``) and what is known of it."""

    kind: str  # "user" or "group"
    id: str
    label: str
    break_glass: bool = True
    role_ids: frozenset[str] = frozenset()
    group_ids: frozenset[str] = frozenset()
    name: str = ""

    @property
    def shown(self) -> str:
        """``break-glass account bg1@contoso (id)`` …"""
        return f"{self.label} {self.name} ({self.id})" if self.name else f"{self.label} {self.id}"


def break_glass_principals(users: Iterable[str], groups: Iterable[str],
                           names: Mapping[str, str] | None = None) -> list[Principal]:
    """The configured break-glass accounts and groups (accounts are taken to be members of the groups and
    Global Administrators: see the module docstring)."""
    names = names or {}
    group_ids = frozenset(g.lower() for g in groups)
    found = [Principal("user", u.lower(), "break-glass account", True, frozenset({GLOBAL_ADMINISTRATOR_ROLE}),
                       group_ids, names.get(u, "")) for u in users]
    found += [Principal("group", g.lower(), "break-glass group", True, name=names.get(g, "")) for g in groups]
    return found


def admin_principal(object_id: str, role_ids: Iterable[str], name: str = "") -> Principal:
    """The signed-in admin (its object id and the directory roles its token names)."""
    return Principal("user", object_id.lower(), "you (the signed-in admin)", False,
                     frozenset(r.lower() for r in role_ids), name=name)


@dataclass(frozen=True, slots=True)
class Coverage:
    """What an enforced policy does to a principal it applies to."""

    controls: tuple[str, ...]
    conditions: tuple[str, ...] = ()

    @property
    def blocks(self) -> bool:
        return "block" in self.controls

    @property
    def text(self) -> str:
        what = "blocks sign-in" if self.blocks else "requires " + ", ".join(self.controls)
        if self.conditions:
            what += f" (when its {', '.join(self.conditions)} conditions match)"
        return what


def _list(value: object) -> list[str]:
    return [str(v).lower() for v in value] if isinstance(value, list) else []


def _section(policy: Policy, *path: str) -> Mapping[str, Any] | None:
    value: Any = policy
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value if isinstance(value, Mapping) else None


def coverage(policy: Policy | None, principal: Principal, group_ids: Collection[str] = ()) -> Coverage | None:
    """How ``policy`` applies to ``principal`` (``None``: it does not; see the module docstring for the
    rules). ``group_ids`` are groups the principal is a member of beyond ``principal.group_ids``."""
    if policy is None or str(policy.get("state", "")).lower() != "enabled":
        return None
    conditions = _section(policy, "conditions") or {}
    apps = _section(policy, "conditions", "applications")
    include_apps = _list(apps.get("includeApplications")) if apps is not None else ["all"]
    if not ADMIN_APPLICATIONS.intersection(include_apps):
        return None
    clients = _list(conditions.get("clientAppTypes"))
    if clients and not MODERN_CLIENTS.intersection(clients):
        return None
    users = _section(policy, "conditions", "users")
    if users is None:
        users = {"includeUsers": ["All"]}
    include_users, exclude_users = _list(users.get("includeUsers")), _list(users.get("excludeUsers"))
    include_groups, exclude_groups = _list(users.get("includeGroups")), _list(users.get("excludeGroups"))
    if principal.kind == "group":
        included = "all" in include_users or principal.id in include_groups
        excluded = principal.id in exclude_groups
    else:
        groups = set(principal.group_ids) | {g.lower() for g in group_ids}
        roles = principal.role_ids
        included = ("all" in include_users or principal.id in include_users
                    or bool(groups.intersection(include_groups))
                    or bool(roles.intersection(_list(users.get("includeRoles")))))
        excluded = (principal.id in exclude_users or bool(groups.intersection(exclude_groups))
                    or bool(roles.intersection(_list(users.get("excludeRoles")))))
    if not included or excluded:
        return None
    controls = _controls(policy)
    if not controls:
        return None
    return Coverage(controls, _narrowing(conditions))


def _controls(policy: Policy) -> tuple[str, ...]:
    grant = _section(policy, "grantControls")
    found: list[str] = []
    if grant is not None:
        found += [str(c) for c in grant.get("builtInControls") or () if c]
        if grant.get("authenticationStrength"):
            found.append("authenticationStrength")
        if grant.get("termsOfUse"):
            found.append("termsOfUse")
        found += [str(c) for c in grant.get("customAuthenticationFactors") or () if c]
    session = _section(policy, "sessionControls")
    if not found and session is not None and any(v for v in session.values()):
        found.append("session controls")
    return tuple(dict.fromkeys(found))


def _narrowing(conditions: Mapping[str, Any]) -> tuple[str, ...]:
    found = []
    locations = conditions.get("locations")
    if isinstance(locations, Mapping) and (_list(locations.get("includeLocations")) not in ([], ["all"])
                                           or _list(locations.get("excludeLocations"))):
        found.append("location")
    if conditions.get("platforms"):
        found.append("device platform")
    if any(conditions.get(key) for key in _RISK_KEYS):
        found.append("risk")
    if conditions.get("devices"):
        found.append("device filter")
    return tuple(found)


@dataclass(frozen=True, slots=True)
class LockoutFinding:
    """An enforced policy that would newly apply to a protected identity."""

    policy_id: str
    policy_name: str
    principal: Principal
    after: Coverage
    before: Coverage | None = None

    @property
    def needs_confirmation(self) -> bool:
        """A break-glass identity is covered, or the signed-in admin is blocked: type the policy's name."""
        return self.principal.break_glass or self.after.blocks

    @property
    def text(self) -> str:
        """``'Require MFA for all users' would newly apply to break-glass group … : requires mfa``."""
        name = self.policy_name or self.policy_id
        verb = "newly block" if self.after.blocks and not self.principal.break_glass else "newly apply to"
        return f"'{name}' would {verb} {self.principal.shown}: {self.after.text}"


def _newly(before: Coverage | None, after: Coverage | None) -> bool:
    if after is None:
        return False
    if before is None:
        return True
    return (after.blocks and not before.blocks) or bool(set(after.controls) - set(before.controls))


@dataclass(frozen=True, slots=True)
class Memberships:
    """Group memberships of principals that a restore changes: principal id → groups added and removed."""

    added: Mapping[str, frozenset[str]] = field(default_factory=dict)
    removed: Mapping[str, frozenset[str]] = field(default_factory=dict)


def evaluate(before: Mapping[str, Policy | None], after: Mapping[str, Policy | None],
             principals: Iterable[Principal], memberships: Memberships | None = None) -> list[LockoutFinding]:
    """Every enforced policy of ``after`` that newly applies to one of ``principals`` (compared with
    ``before``; a policy missing there did not exist), by policy name then principal."""
    memberships = memberships or Memberships()
    findings: list[LockoutFinding] = []
    people = list(principals)
    for policy_id, policy in after.items():
        if policy is None:
            continue
        old = before.get(policy_id)
        for principal in people:
            now_groups = memberships.added.get(principal.id, frozenset())
            then_groups = memberships.removed.get(principal.id, frozenset())
            was = coverage(old, principal, then_groups)
            will = coverage(policy, principal, now_groups)
            if _newly(was, will):
                assert will is not None
                findings.append(LockoutFinding(policy_id, str(policy.get("displayName") or ""), principal,
                                               will, was))
    findings.sort(key=lambda f: (f.policy_name.casefold(), f.policy_id, f.principal.label, f.principal.id))
    return findings


def _properties(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if "@" not in k and k != "deletedDateTime"}


def restored_policies(changes: Iterable[Change], live: Mapping[str, Policy] | None
                      ) -> tuple[dict[str, Policy | None], dict[str, Policy | None]]:
    """(before, after) of every Conditional Access policy among ``changes``: before is the live policy
    (``live``, by lower-cased id; ``None`` when it could not be read: then only the properties the change
    carries are known), after is the live policy with the backup's values written over it (``None`` for a
    policy the restore soft-deletes)."""
    before: dict[str, Policy | None] = {}
    after: dict[str, Policy | None] = {}
    for change in changes:
        if change.entity_type_raw != ResourceType.CONDITIONAL_ACCESS_POLICY or not change.readable:
            continue
        key = change.id.lower()
        current = dict(live[key]) if live is not None and key in live else None
        if current is None and change.action is not RecoveryAction.RESTORE:
            current = {"displayName": change.display_name, **_properties(change.current)}
        if current is not None and "displayName" not in current:
            current["displayName"] = change.display_name
        before[key] = current
        if change.action is RecoveryAction.SOFT_DELETE:
            after[key] = None
        else:
            after[key] = {"displayName": change.display_name, **(current or {}), **_properties(change.delta)}
    return before, after


def membership_changes(changes: Iterable[Change], principal_ids: Collection[str]) -> Memberships:
    """Groups a restore adds the principals to, or removes them from (their ``members@delta`` links)."""
    wanted = {p.lower() for p in principal_ids}
    added: dict[str, set[str]] = {}
    removed: dict[str, set[str]] = {}
    for change in changes:
        if change.entity_type_raw != ResourceType.GROUP or not change.readable:
            continue
        for link in change.delta.get("members@delta") or ():
            if not isinstance(link, Mapping) or not isinstance(link.get("id"), str):
                continue
            member = link["id"].lower()
            if member in wanted:
                target = removed if "@removed" in link else added
                target.setdefault(member, set()).add(change.id.lower())
    return Memberships({k: frozenset(v) for k, v in added.items()},
                       {k: frozenset(v) for k, v in removed.items()})
