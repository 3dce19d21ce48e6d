"""Authorization of Graph requests from bearer-token claims, as the recovery API documents it.

Delegated calls need both a permission scope (``scp``) and an Entra role (``wids``); app-only calls
(``roles``) can only read. Entra Backup Reader may create and cancel difference reports, as the live role
definition grants it ``microsoft.directory/backup/preview/create`` and ``…/preview/cancel`` (the Graph v1.0
create page names the Administrator instead; the role definition is what the service enforces); only
Entra Backup Administrator and Global Administrator may create or cancel recoveries.

Directory reads (user, group and directory-object lookups) need one of the endpoint's Graph permissions,
delegated or application; no Entra role is needed (members can read the directory by default).
"""

from __future__ import annotations

from enum import Enum

from .graph_errors import GraphError, forbidden
from .tokens import (
    ROLE_BACKUP_ADMIN,
    ROLE_BACKUP_READER,
    ROLE_GLOBAL_ADMIN,
    SCOPE_PREVIEW,
    SCOPE_READ,
    SCOPE_RECOVERY,
    Claims,
    TokenError,
    parse_authorization,
)

READ_ROLES = frozenset({ROLE_BACKUP_READER, ROLE_BACKUP_ADMIN, ROLE_GLOBAL_ADMIN})
PREVIEW_ROLES = READ_ROLES
RECOVERY_ROLES = frozenset({ROLE_BACKUP_ADMIN, ROLE_GLOBAL_ADMIN})

WWW_AUTHENTICATE = (
    'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
    'client_id="00000003-0000-0000-c000-000000000000"'
)


class Action(Enum):
    """What a request wants to do."""

    READ = "read"
    PREVIEW = "preview"       # create or cancel a difference report (recoveryPreviewJob)
    RECOVERY = "recovery"     # create or cancel a recovery (recoveryJob)


def authenticate(header: str | None) -> Claims:
    """Parse the ``Authorization`` header or raise a 401 `GraphError`."""
    try:
        return parse_authorization(header)
    except TokenError as exc:
        raise GraphError(401, "InvalidAuthenticationToken", str(exc),
                         {"WWW-Authenticate": WWW_AUTHENTICATE}) from exc


def authorize(claims: Claims, action: Action) -> None:
    """Raise a 403 `GraphError` unless ``claims`` allow ``action``."""
    if action is Action.READ:
        if claims.app_only:
            if SCOPE_READ not in claims.app_roles:
                raise forbidden(f"Requires the application permission {SCOPE_READ}.")
            return
        if SCOPE_READ not in claims.scopes:
            raise forbidden(f"Requires the delegated permission {SCOPE_READ}.")
        if not claims.wids & READ_ROLES:
            raise forbidden("Requires the Entra Backup Reader, Entra Backup Administrator or "
                            "Global Administrator role.")
        return
    what = "difference reports" if action is Action.PREVIEW else "recovery jobs"
    if claims.app_only:
        raise forbidden(f"Application permissions cannot create or cancel {what}; "
                        "sign in as a user (delegated permissions).")
    if action is Action.PREVIEW:
        if not claims.scopes & {SCOPE_PREVIEW, SCOPE_RECOVERY}:
            raise forbidden(f"Requires the delegated permission {SCOPE_PREVIEW}.")
        if not claims.wids & PREVIEW_ROLES:
            raise forbidden("Creating or cancelling difference reports requires the Entra Backup Reader, "
                            "Entra Backup Administrator or Global Administrator role.")
        return
    if SCOPE_RECOVERY not in claims.scopes:
        raise forbidden(f"Requires the delegated permission {SCOPE_RECOVERY}.")
    if not claims.wids & RECOVERY_ROLES:
        raise forbidden(f"Creating or cancelling {what} requires the Entra Backup Administrator or "
                        "Global Administrator role.")


def authorize_directory(claims: Claims, permissions: tuple[str, ...]) -> None:
    """Raise a 403 `GraphError` unless ``claims`` hold one of ``permissions`` (least privileged first) as a
    delegated scope or as an application permission."""
    held = claims.app_roles if claims.app_only else claims.scopes
    if held & set(permissions):
        return
    kind = "application" if claims.app_only else "delegated"
    others = f" (or one of {', '.join(permissions[1:])})" if len(permissions) > 1 else ""
    raise forbidden(f"Requires the {kind} permission {permissions[0]}{others}.")
