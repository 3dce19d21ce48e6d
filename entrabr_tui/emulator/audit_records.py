"""What the directory writes to its audit log for each kind of change (audit-log reference §3, §4, §8, §9).

Activity names and categories follow the activity reference; property names are the directory-internal
PascalCase ones (``AccountEnabled``, ``Mobile``, ``TelephoneNumber``, ``PhysicalDeliveryOfficeName``…), values
are JSON text inside strings (attributes as JSON arrays, pseudo-properties as JSON strings), with the
pseudo-properties ``Included Updated Properties``, ``TargetId.UserType``, ``Is Hard Deleted`` and
``Action Client Name``. A Conditional Access policy is one ``ConditionalAccessPolicy`` property holding the
whole policy; a named location likewise (``NamedLocationPolicy``, inferred). ``UsageLocation`` changes are
not logged, as on the real service. Passwords and secrets are never logged (``Password`` is null/null).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import orjson

from entrabr_tui.emulator import catalog as c
from entrabr_tui.emulator import people
from entrabr_tui.emulator.audit_events import (
    FAILURE,
    SUCCESS,
    UPN_MANGLED,
    UPN_NONE,
    UPN_PLAIN,
    Activity,
    Prop,
    Target,
)
from entrabr_tui.emulator.audit_journal import CREATE, HARD_DELETE, LINK, MEMBER, SOFT_DELETE, WRITE, RawOp
from entrabr_tui.emulator.generate import Created
from entrabr_tui.emulator.history import DELETED, MANAGER, SPONSORS, History
from entrabr_tui.emulator.layout import Layout

UM, GM, AM = "UserManagement", "GroupManagement", "ApplicationManagement"
CORE, SSPR, CAS, AUTHN = ("Core Directory", "Self-service Password Management", "Conditional Access",
                          "Authentication Methods")
BACKUP_AND_RECOVERY = "Backup and Recovery"
EN_DASH = "\u2013"

USER_ADD = Activity("Add user", UM, CORE, "Add")
USER_UPDATE = Activity("Update user", UM, CORE, "Update")
USER_DELETE = Activity("Delete user", UM, CORE, "Delete")
USER_HARD_DELETE = Activity("Hard Delete user", UM, CORE, "Delete")
USER_RESTORE = Activity("Restore user", UM, CORE, "Restore")
USER_DISABLE = Activity("Disable account", UM, CORE, "Update")
USER_ENABLE = Activity("Enable account", UM, CORE, "Update")
PASSWORD_PROFILE = Activity("Update PasswordProfile", UM, CORE, "Update")
RESET_BY_ADMIN = Activity("Reset password (by admin)", UM, SSPR, "Update")
SET_MANAGER = Activity("Set user manager", UM, CORE, "Assign")
ADD_SPONSOR = Activity("Add user sponsor", UM, CORE, "Assign")
REMOVE_SPONSOR = Activity("Remove user sponsor", UM, CORE, "Unassign")
GROUP_ADD = Activity("Add group", GM, CORE, "Add")
GROUP_UPDATE = Activity("Update group", GM, CORE, "Update")
GROUP_DELETE = Activity("Delete group", GM, CORE, "Delete")
GROUP_RESTORE = Activity("Restore group", GM, CORE, "Restore")
MEMBER_ADD = Activity("Add member to group", GM, CORE, "Assign")
MEMBER_REMOVE = Activity("Remove member from group", GM, CORE, "Unassign")
APP_ADD = Activity("Add application", AM, CORE, "Add")
APP_UPDATE = Activity("Update application", AM, CORE, "Update")
APP_DELETE = Activity("Delete application", AM, CORE, "Delete")
APP_RESTORE = Activity("Restore application", AM, CORE, "Restore")
APP_SECRETS = Activity(f"Update application {EN_DASH} Certificates and secrets management", AM, CORE,
                       "Update")
SP_ADD = Activity("Add service principal", AM, CORE, "Add")
SP_UPDATE = Activity("Update service principal", AM, CORE, "Update")
SP_REMOVE = Activity("Remove service principal", AM, CORE, "Delete")
SP_RESTORE = Activity("Restore service principal", AM, CORE, "Restore")
SP_CREDENTIALS = Activity("Add service principal credentials", AM, CORE, "Update")
CA_UPDATE = Activity("Update conditional access policy", "Policy", CAS, "Update")
NL_UPDATE = Activity("Update named location", "Policy", CAS, "Update")
AMP_UPDATE = Activity("Authentication Methods Policy Update", AM, AUTHN, "Update")
AUTHZ_UPDATE = Activity("Update authorization policy", "AuthorizationPolicy", CORE, "Update")
ORG_UPDATE = Activity("Update company", "DirectoryManagement", CORE, "Update")
JOB_PREVIEW = Activity("Create recovery preview job", BACKUP_AND_RECOVERY, CORE, "Add")
JOB_RECOVERY = Activity("Create recovery job", BACKUP_AND_RECOVERY, CORE, "Add")

_OWNER = {c.GROUP: ("Add owner to group", "Remove owner from group", GM),
          c.APPLICATION: ("Add owner to application", "Remove owner from application", AM),
          c.SERVICE_PRINCIPAL: ("Add owner to service principal", "Remove owner from service principal", AM)}
ACTIVITIES_BY_TYPE: dict[str, dict[str, Activity]] = {
    c.USER: {"add": USER_ADD, "update": USER_UPDATE, "delete": USER_DELETE, "restore": USER_RESTORE},
    c.GROUP: {"add": GROUP_ADD, "update": GROUP_UPDATE, "delete": GROUP_DELETE, "restore": GROUP_RESTORE},
    c.APPLICATION: {"add": APP_ADD, "update": APP_UPDATE, "delete": APP_DELETE, "restore": APP_RESTORE},
    c.SERVICE_PRINCIPAL: {"add": SP_ADD, "update": SP_UPDATE, "delete": SP_REMOVE, "restore": SP_RESTORE},
    c.CA_POLICY: {"update": CA_UPDATE},
    c.NAMED_LOCATION: {"update": NL_UPDATE},
    c.AUTH_METHODS_POLICY: {"update": AMP_UPDATE},
    c.AUTHORIZATION_POLICY: {"update": AUTHZ_UPDATE},
    c.ORGANIZATION: {"update": ORG_UPDATE},
}
TARGET_TYPES = {c.USER: "User", c.GROUP: "Group", c.APPLICATION: "Application",
                c.SERVICE_PRINCIPAL: "ServicePrincipal", c.CA_POLICY: "Policy", c.NAMED_LOCATION: "Policy",
                c.AUTH_METHODS_POLICY: "Policy", c.AUTHORIZATION_POLICY: "Policy",
                c.ORGANIZATION: "Directory"}

#: Graph JSON name -> directory name, per entity type (the recoverable ones from the catalog, plus others).
PASCAL: dict[str, dict[str, str]] = {t: {graph: pascal for pascal, graph in names.items()}
                                     for t, names in c.PROPERTY_NAMES.items()}
PASCAL[c.USER].update(lastPasswordChangeDateTime="LastPasswordChangeDateTime", aboutMe="AboutMe")
PASCAL[c.GROUP].update(membershipRule="MembershipRule", expirationDateTime="ExpirationDateTime",
                       membershipRuleProcessingState="MembershipRuleProcessingState")
PASCAL[c.SERVICE_PRINCIPAL].update(displayName="DisplayName")
UNLOGGED = frozenset({"usageLocation"})          # "not logged by design"
CREDENTIAL_KEYS = frozenset({"passwordCredentials", "keyCredentials"})
WHOLE_POLICY_NAMES = {c.CA_POLICY: "ConditionalAccessPolicy", c.NAMED_LOCATION: "NamedLocationPolicy"}


def dumps(value: Any) -> str:
    """Compact JSON text."""
    return orjson.dumps(value).decode()


def attr(value: Any) -> str:
    """A directory attribute value: a JSON array (``"[]"`` when empty)."""
    if value is None:
        return "[]"
    if isinstance(value, list | tuple):
        return dumps(list(value))
    return dumps([value])


def text(value: str) -> str:
    """A pseudo-property value: a JSON string."""
    return dumps(value)


def prop_value(key: str, value: Any) -> Any:
    """A Graph property value as the directory attribute holds it (``visibility`` is ``IsPublic``)."""
    if key == "visibility":
        return None if value is None else value == "Public"
    return value


def pascal(etype: str, key: str) -> str:
    """The directory name of a Graph property."""
    return PASCAL.get(etype, {}).get(key) or key[:1].upper() + key[1:]


def user_type(layout: Layout, created: dict[int, Created], idx: int) -> str:
    """``Member`` or ``Guest`` (fixed for a user's lifetime)."""
    info = created.get(idx)
    if info is not None and info.flavor == "rogue":
        return "Guest"
    if idx == layout.index(c.USER, 0):
        return "Member"
    return "Guest" if people.user_kind(layout.hash(idx)) == "guest" else "Member"


def group_type(layout: Layout, idx: int) -> str:
    """``unifiedGroups`` or ``azureAD``."""
    o = idx - layout.starts[c.GROUP]
    if idx < layout.objects and layout.group_kind(o) == "unified":
        return "unifiedGroups"
    return "azureAD"


def key_description(cred: dict[str, Any], idx: int, kind: str) -> str:
    """How the log describes a credential (never the secret itself)."""
    key_id = cred.get("keyId") or f"{idx:08x}-0000-4000-8000-000000000000"
    name = cred.get("displayName") or ""
    return f"[KeyIdentifier={key_id}, KeyType={kind}, KeyUsage=Verify, DisplayName={name}]"


@dataclass(frozen=True, slots=True)
class Draft:
    """A record before it has an initiator, a time and a correlation id (``offset``: seconds into the op)."""

    activity: Activity
    targets: tuple[Target, ...]
    offset: float = 0.0
    result: str = SUCCESS
    reason: str = ""


class RecordWriter:
    """Turns journal entries into record drafts for one tenant history."""

    def __init__(self, hist: History) -> None:
        self.hist = hist
        self.layout = hist.layout

    def target(self, etype: str, idx: int, name: str | None = None, props: tuple[Prop, ...] = (),
               upn: int = UPN_PLAIN) -> Target:
        """A target resource for a tenant object."""
        oid = self.layout.id_of(idx)
        if etype == c.USER:
            return Target(oid, "User", None, idx, upn, None, props)
        gtype = group_type(self.layout, idx) if etype == c.GROUP else None
        return Target(oid, TARGET_TYPES.get(etype, "Other"), name, idx, UPN_NONE, gtype, props)

    def _user_tail(self, idx: int, names: list[str], sync: bool) -> list[Prop]:
        tail = [Prop("Included Updated Properties", None, text(", ".join(names)))]
        tail.append(Prop("TargetId.UserType", None, text(user_type(self.layout, self.hist.created, idx))))
        if sync:
            tail.append(Prop("Action Client Name", None, text("DirectorySync")))
        return tail

    def drafts(self, op: RawOp, *, sync: bool = False) -> list[Draft]:
        """The records Microsoft writes for one journal entry (empty when it writes none)."""
        if op.kind == WRITE:
            return self._write(op, sync)
        if op.kind == CREATE:
            return self._create(op, sync)
        if op.kind == MEMBER:
            return [self.member_draft(op, sync)]
        if op.kind == LINK:
            return [self.link_draft(op)]
        if op.kind == SOFT_DELETE:
            return [self.delete_draft(op.etype, op.idx, op.name, hard=False, sync=sync)]
        if op.kind == HARD_DELETE:
            return [self.delete_draft(c.USER, op.idx, None, hard=True, sync=sync)]
        return []

    def delete_draft(self, etype: str, idx: int, name: str | None, *, hard: bool, sync: bool) -> Draft:
        """``Delete user`` / ``Hard Delete user`` (mangled UPN, ``Is Hard Deleted``), or another delete."""
        flag = Prop("Is Hard Deleted", None, text("True" if hard else "False"))
        props = (flag, Prop("Action Client Name", None, text("DirectorySync"))) if sync else (flag,)
        if etype == c.USER:
            return Draft(USER_HARD_DELETE if hard else USER_DELETE,
                         (self.target(c.USER, idx, props=props, upn=UPN_MANGLED),))
        return Draft(ACTIVITIES_BY_TYPE[etype]["delete"], (self.target(etype, idx, name, props=(flag,)),))

    def member_draft(self, op: RawOp, sync: bool) -> Draft:
        """``Add member to group`` / ``Remove member from group``: the member first, then the group."""
        gid = self.layout.id_of(op.idx)
        group_props = [Prop("Group.ObjectID", None, text(gid)),
                       Prop("Group.DisplayName", None, text(op.name or ""))]
        if sync:
            group_props.append(Prop("Action Client Name", None, text("DirectorySync")))
        props = tuple(group_props)
        if not op.add:
            props = tuple(Prop(p.name, p.new, None) if p.name.startswith("Group.") else p for p in props)
        member = self.target(c.USER, op.user, props=props)
        return Draft(MEMBER_ADD if op.add else MEMBER_REMOVE, (member, self.target(c.GROUP, op.idx, op.name)))

    def _create(self, op: RawOp, sync: bool) -> list[Draft]:
        activity = ACTIVITIES_BY_TYPE.get(op.etype, {}).get("add")
        if activity is None:
            return []
        if op.etype != c.USER:
            props = (Prop("DisplayName", None, attr(op.name)),
                     Prop("Included Updated Properties", None, text("DisplayName")))
            return [Draft(activity, (self.target(op.etype, op.idx, op.name, props=props),))]
        utype = user_type(self.layout, self.hist.created, op.idx)
        props_l = [Prop("AccountEnabled", None, attr(True)), Prop("DisplayName", None, attr(op.name)),
                   Prop("UserType", None, attr(utype))]
        props_l += self._user_tail(op.idx, ["AccountEnabled", "DisplayName", "UserType"], sync)
        add = Draft(USER_ADD, (self.target(c.USER, op.idx, props=tuple(props_l)),), offset=0.4)
        if utype == "Guest" or sync:
            return [replace(add, offset=0.0)]
        profile = (Prop("PasswordPolicies", None, attr(None)), Prop("Password", None, None))
        return [Draft(PASSWORD_PROFILE, (self.target(c.USER, op.idx, props=profile),)), add]

    def _manager(self, op: RawOp) -> list[Draft]:
        assert op.patch is not None
        new = op.patch[MANAGER]
        if new is None:
            return []
        return [Draft(SET_MANAGER, (self.target(c.USER, op.idx), self.target(c.USER, int(new))))]

    def link_draft(self, op: RawOp) -> Draft:
        """``Add user sponsor`` / ``Remove user sponsor`` (the user, then the sponsor), or ``Add owner to
        group`` / ``Remove owner from group`` (or application, service principal): the owner, then the
        owned object."""
        if op.link == SPONSORS:
            activity = ADD_SPONSOR if op.add else REMOVE_SPONSOR
            return Draft(activity, (self.target(c.USER, op.idx), self.target(c.USER, op.user)))
        add_name, remove_name, category = _OWNER[op.etype]
        owner_type = c.SERVICE_PRINCIPAL if self._etype(op.user) == c.SERVICE_PRINCIPAL else c.USER
        owner = self.target(owner_type, op.user, None if owner_type == c.USER else self._name(op.user))
        activity = Activity(add_name if op.add else remove_name, category, CORE,
                            "Assign" if op.add else "Unassign")
        return Draft(activity, (owner, self.target(op.etype, op.idx, op.name)))

    def _etype(self, idx: int) -> str:
        info = self.hist.created.get(idx)
        return info.entity_type if info is not None else self.layout.type_of(idx)

    def _name(self, idx: int) -> str:
        return str(self.hist.value(idx, "displayName") or "")

    def _write(self, op: RawOp, sync: bool) -> list[Draft]:
        patch, old = op.patch, op.old
        assert patch is not None and old is not None
        out: list[Draft] = []
        etype = op.etype
        if DELETED in patch and patch[DELETED] is None and old.get(DELETED) is not None:
            restore = ACTIVITIES_BY_TYPE.get(etype, {}).get("restore")
            if restore is not None:
                out.append(Draft(restore, (self.target(etype, op.idx, op.name),)))
        if MANAGER in patch:
            out += self._manager(op)
        if etype == c.USER and "lastPasswordChangeDateTime" in patch and not sync:   # hash sync writes none
            profile = (Prop("ForceChangePassword", text("False"), text("True")), Prop("Password", None, None))
            out.append(Draft(RESET_BY_ADMIN, (self.target(c.USER, op.idx),)))
            out.append(Draft(PASSWORD_PROFILE, (self.target(c.USER, op.idx, props=profile),), offset=0.3))
        creds = [k for k in patch if k in CREDENTIAL_KEYS]
        if creds:
            out.append(self._credentials(op, creds))
        if etype in WHOLE_POLICY_NAMES and op.policy is not None:
            before, after = op.policy
            prop = Prop(WHOLE_POLICY_NAMES[etype], dumps(before), dumps(after))
            target = self.target(etype, op.idx, op.name, props=(prop,))
            out.append(Draft(ACTIVITIES_BY_TYPE[etype]["update"], (target,)))
            return out
        if etype == c.AUTH_METHODS_POLICY:
            return out + self._methods(op)
        keys = [k for k in patch if not k.startswith("_") and k != DELETED and k not in CREDENTIAL_KEYS
                and k != "lastPasswordChangeDateTime" and k not in UNLOGGED and old.get(k) != patch[k]]
        if not keys:
            return out
        update = ACTIVITIES_BY_TYPE.get(etype, {}).get("update")
        if update is None:
            return out
        props: list[Prop] = []
        names: list[str] = []
        for k in keys:
            if k == "onPremisesExtensionAttributes" and isinstance(patch[k], dict):
                for sub, value in patch[k].items():
                    was = (old.get(k) or {}).get(sub)
                    name = sub[:1].upper() + sub[1:]
                    props.append(Prop(name, attr(was), attr(value)))
                    names.append(name)
                continue
            name = pascal(etype, k)
            props.append(Prop(name, attr(prop_value(k, old.get(k))), attr(prop_value(k, patch[k]))))
            names.append(name)
        if etype == c.USER:
            props += self._user_tail(op.idx, names, sync)
        else:
            props.append(Prop("Included Updated Properties", None, text(", ".join(names))))
            if sync:
                props.append(Prop("Action Client Name", None, text("DirectorySync")))
        out.append(Draft(update, (self.target(etype, op.idx, op.name, props=tuple(props)),)))
        if etype == c.USER and "accountEnabled" in keys:
            flip = USER_DISABLE if patch["accountEnabled"] is False else USER_ENABLE
            client = (Prop("Action Client Name", None, text("DirectorySync")),) if sync else ()
            out.append(Draft(flip, (self.target(c.USER, op.idx, props=client),), offset=0.1))
        return out

    def _credentials(self, op: RawOp, keys: list[str]) -> Draft:
        assert op.patch is not None and op.old is not None
        changes = [(key, op.old.get(key), op.patch[key]) for key in keys]
        return self.credentials_draft(op.etype, op.idx, op.name, changes)

    def credentials_draft(self, etype: str, idx: int, name: str | None,
                          changes: list[tuple[str, Any, Any]]) -> Draft:
        """``Update application – Certificates and secrets management`` or ``Add service principal
        credentials``: ``KeyDescription`` before and after, for each (credential key, old, new)."""
        props: list[Prop] = []
        for key, old, new in changes:
            kind = "Password" if key == "passwordCredentials" else "AsymmetricX509Cert"
            before = [key_description(cr, idx + i, kind) for i, cr in enumerate(old or ())]
            after = [key_description(cr, idx + i, kind) for i, cr in enumerate(new or ())]
            props.append(Prop("KeyDescription", dumps(before), dumps(after)))
        props.append(Prop("Included Updated Properties", None, text("KeyDescription")))
        activity = APP_SECRETS if etype == c.APPLICATION else SP_CREDENTIALS
        return Draft(activity, (self.target(etype, idx, name, props=tuple(props)),))

    def _methods(self, op: RawOp) -> list[Draft]:
        assert op.patch is not None and op.old is not None
        key = "authenticationMethodConfigurations"
        if key not in op.patch:
            return []
        before = {m.get("id"): m for m in (op.old.get(key) or ())}
        props = [Prop(f"AuthenticationMethodConfigurations.{m.get('id')}", dumps(before.get(m.get("id"))),
                      dumps(m))
                 for m in op.patch[key] if before.get(m.get("id")) != m]
        if not props:
            return []
        return [Draft(AMP_UPDATE, (self.target(op.etype, op.idx, op.name, props=tuple(props)),))]


def for_recovery(draft: Draft, name: Callable[[Draft], str] | None) -> Draft:
    """The same record written by Backup and Recovery (category ``Backup and Recovery``, maybe renamed)."""
    act = draft.activity
    new_name = name(draft) if name is not None else act.name
    activity = Activity(new_name, BACKUP_AND_RECOVERY, act.service, act.operation, act.prefix)
    return replace(draft, activity=activity)


def failure(draft: Draft, reason: str) -> Draft:
    """The same record, failed."""
    return replace(draft, result=FAILURE, reason=reason)
