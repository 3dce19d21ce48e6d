"""Sign-in settings and small helpers shared by the sign-in modules (no I/O)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from entrabr_tui.graph.auth_errors import SignInConfigError

#: Microsoft Graph Command Line Tools, a first-party public client available in every tenant.
GRAPH_CLI_CLIENT_ID = "14d82eec-204b-4c2f-b7e8-296a70dab67e"
DEFAULT_GRAPH_URL = "https://graph.microsoft.com/v1.0"
DEFAULT_TENANT = "organizations"
DEFAULT_AUTHORITY = "login.microsoftonline.com"
MULTI_TENANT = ("organizations", "common")


class AuthMethod(StrEnum):
    """How to sign in (values are the command-line spellings)."""

    DEVICE_CODE = "device-code"
    BROWSER = "browser"
    AZURE_CLI = "azure-cli"
    ENVIRONMENT = "environment"
    CLIENT_SECRET = "client-secret"
    CERTIFICATE = "certificate"
    EMULATOR = "emulator"

    @property
    def interactive(self) -> bool:
        return self in (AuthMethod.DEVICE_CODE, AuthMethod.BROWSER)

    @property
    def app_only(self) -> bool:
        return self in (AuthMethod.CLIENT_SECRET, AuthMethod.CERTIFICATE)


@dataclass(frozen=True)
class AuthSettings:
    """Sign-in settings. ``None`` means the method's default; secrets never appear in ``repr``.

    - ``tenant_id``: ``"organizations"`` for user sign-in; ``AZURE_TENANT_ID`` for app-only methods.
    - ``client_id``: Microsoft Graph Command Line Tools for user sign-in; ``AZURE_CLIENT_ID`` for app-only.
    - ``client_secret`` / ``certificate_password``: from arguments, else ``AZURE_CLIENT_SECRET`` /
      ``AZURE_CLIENT_CERTIFICATE_PASSWORD``; ``certificate_path`` else ``AZURE_CLIENT_CERTIFICATE_PATH``.
    - ``allow_unencrypted_cache``: the explicit opt-in to a plaintext 0600 token cache when encryption is
      impossible; without it such machines keep tokens in memory only.
    - ``emulator_url``: the emulator's origin; defaults to the origin of ``graph_url``.
    """

    method: AuthMethod = AuthMethod.DEVICE_CODE
    tenant_id: str | None = None
    client_id: str | None = None
    graph_url: str = DEFAULT_GRAPH_URL
    authority: str | None = None
    certificate_path: Path | None = None
    certificate_password: str | None = field(default=None, repr=False)
    client_secret: str | None = field(default=None, repr=False)
    allow_unencrypted_cache: bool = False
    persistent_cache: bool = True
    login_hint: str | None = None
    timeout: int | None = None
    emulator_role: str = "admin"
    emulator_url: str | None = None


def graph_scope(graph_url: str) -> str:
    """The ``.default`` scope for a Graph base URL (``https://graph.microsoft.com/.default``)."""
    parts = urlsplit(graph_url)
    if not parts.scheme or not parts.hostname:
        raise SignInConfigError(f"Not a Graph URL: {graph_url!r}", "Use e.g. https://graph.microsoft.com/v1.0")
    return f"{parts.scheme}://{parts.hostname}/.default"


def decode_jwt_claims(token: str) -> dict[str, Any]:
    """Base64url-decode a JWT's payload WITHOUT verifying it (a hint for the UI, never a security check).

    Raises ``ValueError`` (whose message never contains the token) when the token is not a readable JWT.
    """
    parts = token.split(".")
    if len(parts) < 2 or not parts[1]:
        raise ValueError("The access token is not a JWT (it may be encrypted)")
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = orjson.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (ValueError, UnicodeEncodeError, orjson.JSONDecodeError):
        raise ValueError("The access token's payload is not readable JSON") from None
    if not isinstance(claims, dict):
        raise ValueError("The access token's payload is not a JSON object")
    return claims
