"""Unsigned bearer tokens for the emulator: minting per role and parsing claims.

Tokens are JWTs with ``{"alg": "none"}`` and an empty signature, shaped like Entra ID access tokens for
Microsoft Graph: ``tid``, ``oid``, ``upn``, ``appid``, ``iat``, ``exp`` and either delegated ``scp``
(space-separated scopes) with ``wids`` (directory role template IDs), or app-only ``roles``.

Every token carries ``Directory.Read.All`` and ``AuditLog.Read.All`` (delegated, or as application
permissions for ``app``): in a real tenant the delegated scopes come from the app's admin consent, not from
the signed-in user's role, so a Backup Reader signed in to the same app holds the same directory and audit
scopes as an administrator. The Entra role (``wids``) is what limits each: ``reader`` (Entra Backup Reader)
reads backups and may create or cancel difference reports, but holds no role that may read the directory
audit log; ``admin`` (Entra Backup Administrator, also a Reports Reader) may restore and read the audit log;
``global`` (Global Administrator) may do everything; ``app`` reads backups, the directory and the audit log.
``tid`` is the emulated tenant's id (it depends on the seed and the tenant size); the emulator does not
check it.
"""

from __future__ import annotations

import base64
import binascii
import time
from dataclasses import dataclass
from typing import Any

import orjson

from .layout import tenant_id

#: The tenant id of the emulator's default tenant (seed 1, 2,000 objects).
DEFAULT_TENANT_ID = tenant_id(1, 2000)
GRAPH_AUDIENCE = "https://graph.microsoft.com"
CLIENT_ID = "14d82eec-204b-4c2f-b7e8-296a70dab67e"

SCOPE_READ = "EntraBackup.Read.All"
SCOPE_PREVIEW = "EntraBackup.ReadWrite.Preview"
SCOPE_RECOVERY = "EntraBackup.ReadWrite.Recovery"
SCOPE_AUDIT = "AuditLog.Read.All"
SCOPE_DIRECTORY_READ = "Directory.Read.All"
SCOPE_POLICY_READ = "Policy.Read.All"

ROLE_BACKUP_READER = "f42252d9-5400-4d7b-b9ef-cc582dbb8577"
ROLE_BACKUP_ADMIN = "b6a27b2b-f905-4b2e-81b5-0d90e0ef1fdb"
ROLE_GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"
ROLE_REPORTS_READER = "4a5d8f65-41da-4de4-8968-e035b65339cf"

ROLES: tuple[str, ...] = ("reader", "admin", "global", "app")

_READ_SCP = f"{SCOPE_DIRECTORY_READ} {SCOPE_AUDIT}"
_DELEGATED_WRITE_SCP = f"{SCOPE_READ} {SCOPE_PREVIEW} {SCOPE_RECOVERY} {_READ_SCP} {SCOPE_POLICY_READ}"
_ROLE_CLAIMS: dict[str, dict[str, Any]] = {
    "reader": {         # consented for the audit log too, but no role that may read it
        "scp": f"{SCOPE_READ} {SCOPE_PREVIEW} {_READ_SCP}",
        "wids": [ROLE_BACKUP_READER],
        "oid": "0d6a8f1e-6c1b-4f7e-8d55-1a2b3c4d5e01",
        "upn": "backup.reader@contoso.example",
        "name": "Backup Reader",
    },
    "admin": {           # also a Reports Reader, so it can read the directory audit log
        "scp": _DELEGATED_WRITE_SCP,
        "wids": [ROLE_BACKUP_ADMIN, ROLE_REPORTS_READER],
        "oid": "0d6a8f1e-6c1b-4f7e-8d55-1a2b3c4d5e02",
        "upn": "backup.admin@contoso.example",
        "name": "Backup Administrator",
    },
    "global": {
        "scp": _DELEGATED_WRITE_SCP,
        "wids": [ROLE_GLOBAL_ADMIN],
        "oid": "0d6a8f1e-6c1b-4f7e-8d55-1a2b3c4d5e03",
        "upn": "global.admin@contoso.example",
        "name": "Global Administrator",
    },
    "app": {
        "roles": [SCOPE_READ, SCOPE_DIRECTORY_READ, SCOPE_AUDIT],
        "oid": "0d6a8f1e-6c1b-4f7e-8d55-1a2b3c4d5e04",
        "app_displayname": "entrabr reader app",
    },
}


class TokenError(ValueError):
    """A bearer token that is missing, malformed or expired; ``str()`` is the 401 message."""


@dataclass(frozen=True, slots=True)
class Claims:
    """The claims of a parsed access token that authorization looks at."""

    scopes: frozenset[str]       # delegated `scp`, empty for app-only tokens
    wids: frozenset[str]         # directory role template IDs (lower-case)
    app_roles: frozenset[str]    # app-only `roles`
    expires: int
    oid: str = ""                # the signed-in user (delegated) or the app's service principal
    upn: str | None = None
    name: str | None = None
    app_id: str = ""             # `appid` (v1 tokens) or `azp` (v2 tokens): the calling client
    tenant: str = ""

    @property
    def app_only(self) -> bool:
        """True for a client-credentials token (no delegated scopes)."""
        return not self.scopes


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def role_claims(role: str, *, expires_in: int = 3600, now: float | None = None,
                tenant: str = DEFAULT_TENANT_ID) -> dict[str, Any]:
    """Return the claim set of a token for ``role`` (reader, admin, global or app) in ``tenant``."""
    if role not in _ROLE_CLAIMS:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    issued = int(time.time() if now is None else now)
    claims: dict[str, Any] = {
        "aud": GRAPH_AUDIENCE,
        "iss": f"https://sts.windows.net/{tenant}/",
        "iat": issued,
        "nbf": issued,
        "exp": issued + int(expires_in),
        "tid": tenant,
        "appid": CLIENT_ID,
    }
    claims.update(_ROLE_CLAIMS[role])
    if role == "app":
        claims["upn"] = None
    return claims


def mint_token(role: str = "admin", *, expires_in: int = 3600, now: float | None = None,
               tenant: str = DEFAULT_TENANT_ID) -> str:
    """Mint an unsigned JWT for ``role`` in ``tenant``; ``expires_in`` may be negative to get an expired
    token."""
    header = _b64url(orjson.dumps({"alg": "none", "typ": "JWT"}))
    payload = _b64url(orjson.dumps(role_claims(role, expires_in=expires_in, now=now, tenant=tenant)))
    return f"{header}.{payload}."


def _string_set(value: object, *, split: bool) -> frozenset[str]:
    if value is None:
        return frozenset()
    if split and isinstance(value, str):
        return frozenset(value.split())
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return frozenset(value)
    raise TokenError("Access token validation failure. Invalid claims.")


def parse_authorization(header: str | None, *, now: float | None = None) -> Claims:
    """Parse an ``Authorization`` header value into claims, or raise `TokenError` (401)."""
    if header is None or not header.strip():
        raise TokenError("Access token is empty.")
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise TokenError("Access token is empty.")
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError("IDX14100: JWT is not well formed, there are no dots (.) or too many.")
    try:
        header_doc = orjson.loads(_b64url_decode(parts[0]))
        claims = orjson.loads(_b64url_decode(parts[1]))
    except (binascii.Error, ValueError, orjson.JSONDecodeError) as exc:
        raise TokenError("Access token validation failure. Invalid token encoding.") from exc
    if not isinstance(header_doc, dict) or not isinstance(claims, dict):
        raise TokenError("Access token validation failure. Invalid token encoding.")
    exp = claims.get("exp")
    if not isinstance(exp, int) or isinstance(exp, bool):
        raise TokenError("Access token validation failure. The token has no expiry.")
    current = time.time() if now is None else now
    if exp <= current:
        raise TokenError("Lifetime validation failed, the token is expired.")
    wids = _string_set(claims.get("wids"), split=False)
    return Claims(
        scopes=_string_set(claims.get("scp"), split=True),
        wids=frozenset(w.lower() for w in wids),
        app_roles=_string_set(claims.get("roles"), split=False),
        expires=exp,
        oid=_text(claims.get("oid")) or "",
        upn=_text(claims.get("upn")) or _text(claims.get("preferred_username")),
        name=_text(claims.get("name")) or _text(claims.get("app_displayname")),
        app_id=_text(claims.get("appid")) or _text(claims.get("azp")) or "",
        tenant=_text(claims.get("tid")) or "",
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
