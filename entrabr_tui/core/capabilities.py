"""What the signed-in identity may do, guessed from its access token's claims.

This is a *hint* for the interface (grey out actions, explain why up front). The service is the truth: a
403 from Graph always wins over what is computed here. The module is pure: the caller decodes the token
(``entrabr_tui.graph.auth.decode_jwt_claims``) and passes the claims mapping.

Rules (Graph reference §8):

- Delegated sign-in needs both a delegated permission in ``scp`` and an Entra role in ``wids``:
  reads need ``EntraBackup.Read.All`` plus Entra Backup Reader, Entra Backup Administrator or Global
  Administrator; difference reports need ``EntraBackup.ReadWrite.Preview`` (or ``.Recovery``) plus one of
  the same three roles (the live role definition grants Entra Backup Reader ``backup/preview/create`` and
  ``backup/preview/cancel``; some pages of the documentation name only the Administrator); restores need
  ``EntraBackup.ReadWrite.Recovery`` plus Administrator or Global Administrator.
- App-only sign-in (application permissions in ``roles``) can only read, with ``EntraBackup.Read.All``.
- Real tokens may omit ``wids`` (for example for users in very many groups). The role is then *unknown*, not
  *none*, and nothing is blocked: the service decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

READER_ROLE_ID = "f42252d9-5400-4d7b-b9ef-cc582dbb8577"
ADMINISTRATOR_ROLE_ID = "b6a27b2b-f905-4b2e-81b5-0d90e0ef1fdb"
GLOBAL_ADMINISTRATOR_ROLE_ID = "62e90394-69f5-4237-9190-012177145e10"

SCOPE_READ = "EntraBackup.Read.All"
SCOPE_PREVIEW = "EntraBackup.ReadWrite.Preview"
SCOPE_RECOVERY = "EntraBackup.ReadWrite.Recovery"


class AccessKind(StrEnum):
    """Whether the token acts for a user (delegated) or for an application alone."""

    DELEGATED = "delegated"
    APP_ONLY = "app-only"
    UNKNOWN = "unknown"


class BackupRole(StrEnum):
    """The strongest Entra Backup-relevant directory role found in the token."""

    GLOBAL_ADMINISTRATOR = "Global Administrator"
    ADMINISTRATOR = "Entra Backup Administrator"
    READER = "Entra Backup Reader"
    NONE = "none"
    UNKNOWN = "unknown"

    @property
    def can_write(self) -> bool:
        return self in (BackupRole.GLOBAL_ADMINISTRATOR, BackupRole.ADMINISTRATOR)


_ROLE_BY_ID = {
    GLOBAL_ADMINISTRATOR_ROLE_ID: BackupRole.GLOBAL_ADMINISTRATOR,
    ADMINISTRATOR_ROLE_ID: BackupRole.ADMINISTRATOR,
    READER_ROLE_ID: BackupRole.READER,
}
_ROLE_RANK = (BackupRole.GLOBAL_ADMINISTRATOR, BackupRole.ADMINISTRATOR, BackupRole.READER)


class Action(StrEnum):
    """Things a user can ask the service to do."""

    READ = "read"
    CREATE_REPORT = "create-report"
    RESTORE = "restore"


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the token was issued to (claims are unverified; for display only)."""

    upn: str | None = None
    name: str | None = None
    object_id: str | None = None
    app_id: str | None = None
    app_name: str | None = None
    tenant_id: str | None = None

    @property
    def display(self) -> str:
        """A short label: the UPN for users, the app name or ID for applications."""
        for value in (self.upn, self.name, self.app_name, self.app_id, self.object_id):
            if value:
                return value
        return "unknown identity"


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What the signed-in identity may do, with a human reason for every action it may not do."""

    identity: Identity
    kind: AccessKind
    role: BackupRole
    scopes: frozenset[str]
    app_roles: frozenset[str]
    can_read: bool
    can_create_report: bool
    can_restore: bool
    read_reason: str | None = None
    report_reason: str | None = None
    restore_reason: str | None = None
    expires_at: int | None = None  # the token's ``exp`` (epoch seconds), if present

    def allows(self, action: Action) -> bool:
        return {
            Action.READ: self.can_read,
            Action.CREATE_REPORT: self.can_create_report,
            Action.RESTORE: self.can_restore,
        }[action]

    def reason(self, action: Action) -> str | None:
        """Why ``action`` is not allowed, or ``None`` when it is (or when we cannot tell)."""
        return {
            Action.READ: self.read_reason,
            Action.CREATE_REPORT: self.report_reason,
            Action.RESTORE: self.restore_reason,
        }[action]

    @property
    def read_only(self) -> bool:
        return self.can_read and not self.can_create_report and not self.can_restore

    @property
    def summary(self) -> str:
        """One line for a status bar, e.g. ``alice@contoso.com · Entra Backup Administrator (delegated)``."""
        if self.kind is AccessKind.APP_ONLY:
            label = "app-only, read-only" if self.can_read else "app-only, no read permission"
        elif self.role is BackupRole.UNKNOWN:
            label = "role unknown"
        elif self.role is BackupRole.NONE:
            label = "no Entra Backup role"
        else:
            label = str(self.role)
        if self.kind is AccessKind.DELEGATED and self.read_only:
            label += ", read-only"
        return f"{self.identity.display} · {label}"


def unknown_capabilities(identity: Identity | None = None) -> Capabilities:
    """Capabilities when the token cannot be read (opaque token): allow everything, let the service decide."""
    return Capabilities(
        identity=identity or Identity(),
        kind=AccessKind.UNKNOWN,
        role=BackupRole.UNKNOWN,
        scopes=frozenset(),
        app_roles=frozenset(),
        can_read=True,
        can_create_report=True,
        can_restore=True,
    )


def capabilities_from_claims(claims: Mapping[str, Any]) -> Capabilities:
    """Derive :class:`Capabilities` from decoded (unverified) access-token claims.

    Malformed claim values are ignored rather than raising: a hint must never stop the app.
    """
    identity = _identity(claims)
    scopes = frozenset(_strings(claims.get("scp"), split=True))
    app_roles = frozenset(_strings(claims.get("roles")))
    kind = _kind(claims, scopes, app_roles)
    expires_at = _int_or_none(claims.get("exp"))
    if kind is AccessKind.APP_ONLY:
        return _app_only(identity, app_roles, scopes, expires_at)
    if kind is AccessKind.UNKNOWN:
        return replace(unknown_capabilities(identity), expires_at=expires_at)
    return _delegated(identity, scopes, app_roles, _role(claims), expires_at)


def _delegated(
    identity: Identity,
    scopes: frozenset[str],
    app_roles: frozenset[str],
    role: BackupRole,
    expires_at: int | None,
) -> Capabilities:
    app = f" (app {identity.app_id})" if identity.app_id else ""
    consent = f": an administrator must grant it to the application{app}"

    def missing_scope(*needed: str) -> str | None:
        if scopes & set(needed):
            return None
        return f"The sign-in lacks the delegated permission {needed[0]}{consent}"

    # The role is the harder blocker (an assignment by a privileged admin), so it is named first.
    read_reason = None
    if role is BackupRole.NONE:
        read_reason = (
            "Signed in without an Entra Backup role: viewing backups needs Entra Backup Reader "
            "or Entra Backup Administrator"
        )
    read_reason = read_reason or missing_scope(SCOPE_READ)
    report_reason = None
    if role is BackupRole.NONE:
        report_reason = ("Signed in without an Entra Backup role: difference reports need Entra Backup "
                         "Reader or Entra Backup Administrator")
    report_reason = report_reason or missing_scope(SCOPE_PREVIEW, SCOPE_RECOVERY)
    restore_reason = _role_reason(role, "restores") or missing_scope(SCOPE_RECOVERY)

    return Capabilities(
        identity=identity,
        kind=AccessKind.DELEGATED,
        role=role,
        scopes=scopes,
        app_roles=app_roles,
        can_read=read_reason is None,
        can_create_report=report_reason is None,
        can_restore=restore_reason is None,
        read_reason=read_reason,
        report_reason=report_reason,
        restore_reason=restore_reason,
        expires_at=expires_at,
    )


def _role_reason(role: BackupRole, what: str) -> str | None:
    if role.can_write or role is BackupRole.UNKNOWN:
        return None
    if role is BackupRole.READER:
        return f"Signed in as Entra Backup Reader: {what} need the Entra Backup Administrator role"
    return f"Signed in without an Entra Backup role: {what} need the Entra Backup Administrator role"


def _app_only(
    identity: Identity, app_roles: frozenset[str], scopes: frozenset[str], expires_at: int | None
) -> Capabilities:
    write_reason = "App-only sign-in: Microsoft allows only reads"
    read_reason = None
    if SCOPE_READ not in app_roles:
        read_reason = (
            f"App-only sign-in without the {SCOPE_READ} application permission: "
            "an administrator must grant it to the application"
        )
    return Capabilities(
        identity=identity,
        kind=AccessKind.APP_ONLY,
        role=BackupRole.NONE,
        scopes=scopes,
        app_roles=app_roles,
        can_read=read_reason is None,
        can_create_report=False,
        can_restore=False,
        read_reason=read_reason,
        report_reason=write_reason,
        restore_reason=write_reason,
        expires_at=expires_at,
    )


def _kind(claims: Mapping[str, Any], scopes: frozenset[str], app_roles: frozenset[str]) -> AccessKind:
    if scopes:
        return AccessKind.DELEGATED
    if claims.get("idtyp") == "app" or app_roles:
        return AccessKind.APP_ONLY
    if claims.get("idtyp") == "user" or _first_str(claims, "upn", "preferred_username", "unique_name"):
        return AccessKind.DELEGATED
    return AccessKind.UNKNOWN


def _role(claims: Mapping[str, Any]) -> BackupRole:
    wids = claims.get("wids")
    if not isinstance(wids, list):
        return BackupRole.UNKNOWN
    found = {_ROLE_BY_ID[w.lower()] for w in wids if isinstance(w, str) and w.lower() in _ROLE_BY_ID}
    for role in _ROLE_RANK:
        if role in found:
            return role
    return BackupRole.NONE


def _identity(claims: Mapping[str, Any]) -> Identity:
    return Identity(
        upn=_first_str(claims, "upn", "preferred_username", "unique_name", "email"),
        name=_first_str(claims, "name"),
        object_id=_first_str(claims, "oid"),
        app_id=_first_str(claims, "appid", "azp"),
        app_name=_first_str(claims, "app_displayname"),
        tenant_id=_first_str(claims, "tid"),
    )


def _first_str(claims: Mapping[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = claims.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _strings(value: object, *, split: bool = False) -> list[str]:
    if isinstance(value, str):
        return value.split() if split else [value]
    if isinstance(value, list | tuple):
        return [v for v in value if isinstance(v, str) and v]
    return []


def _int_or_none(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    return None
