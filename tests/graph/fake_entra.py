"""An offline fake of Microsoft Entra ID's OAuth endpoints, plugged into azure-identity as a transport.

``FakeEntra.transport()`` returns azure-core's ``RequestsTransport`` over a ``requests.Session`` whose
``request`` answers instance discovery, OpenID configuration, device code and token requests (device
code, refresh token and client credentials grants) without any network. Tokens are unsigned JWTs whose
claims the tests choose. Every request is recorded in ``requests`` as ``(kind, form)``.
"""

from __future__ import annotations

import base64
import io
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from azure.core.pipeline.transport import RequestsTransport
from requests.structures import CaseInsensitiveDict
from urllib3.response import HTTPResponse

HOST = "login.microsoftonline.com"
TENANT = "7c6f2a6e-0000-4000-8000-00000000e17a"
USER_OID = "0b5c3d2e-1111-4111-8111-000000000001"
APP_OID = "0b5c3d2e-2222-4222-8222-000000000002"
RESERVED = {"openid", "profile", "offline_access"}
ADMIN_WIDS = ["b6a27b2b-f905-4b2e-81b5-0d90e0ef1fdb"]
READER_WIDS = ["f42252d9-5400-4d7b-b9ef-cc582dbb8577"]
ALL_SCOPES = "EntraBackup.Read.All EntraBackup.ReadWrite.Preview EntraBackup.ReadWrite.Recovery"


def drop_cached_access_tokens(home: Path, name: str = "entrabr.cae") -> int:
    """Remove access tokens from a plaintext token cache (as if they had expired); returns how many."""
    path = home / ".IdentityService" / name
    data = json.loads(path.read_text())
    count = len(data.get("AccessToken", {}))
    data["AccessToken"] = {}
    path.write_text(json.dumps(data))
    return count


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_jwt(claims: dict[str, Any]) -> str:
    header = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{b64url(json.dumps(claims).encode())}."


@dataclass
class FakeEntra:
    """The fake identity provider's state; tweak fields to change its answers."""

    client_id: str = "14d82eec-204b-4c2f-b7e8-296a70dab67e"
    upn: str = "alice@contoso.example"
    scp: str = ALL_SCOPES
    wids: list[str] | None = field(default_factory=lambda: list(ADMIN_WIDS))
    app_client_id: str = "5a1e0c9d-3333-4333-8333-000000000003"
    app_secret: str = "s3cr3t-Value~for.tests"
    app_roles: list[str] = field(default_factory=lambda: ["EntraBackup.Read.All"])
    user_code: str = "ABCD-EFGH"
    verification_uri: str = "https://microsoft.com/devicelogin"
    pending_polls: int = 0
    refresh_error: str | None = None  # e.g. "invalid_grant": refresh fails
    network_down: bool = False
    on_poll: Callable[[], None] | None = None
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    issued_access_tokens: list[str] = field(default_factory=list)
    issued_refresh_tokens: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        self._refresh_tokens: set[str] = set()

    # -- public helpers ----------------------------------------------------------------------------------

    def transport(self) -> RequestsTransport:
        return RequestsTransport(session=_FakeSession(self), session_owner=True)

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.requests]

    def secrets(self) -> list[str]:
        """Every secret value this fake handed out or knows (for leak checks)."""
        return [*self.issued_access_tokens, *self.issued_refresh_tokens, self.app_secret]

    # -- request handling --------------------------------------------------------------------------------

    def handle(self, method: str, url: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        parts = urlsplit(url)
        path = parts.path
        if parts.hostname != HOST:
            return self._record("unknown-host", form, 404, {"error": "not_found"})
        if path.endswith("/discovery/instance"):
            return self._record("instance-discovery", form, 200, self._instance_discovery())
        if path.endswith("/.well-known/openid-configuration"):
            tenant = path.strip("/").split("/")[0]
            return self._record("openid-configuration", form, 200, self._openid(tenant))
        if path.endswith("/oauth2/v2.0/devicecode") and method == "POST":
            return self._record("devicecode", form, 200, self._device_code())
        if path.endswith("/oauth2/v2.0/token") and method == "POST":
            return self._token(form)
        return self._record("unknown", form, 404, {"error": "not_found", "error_description": path})

    def _record(self, kind: str, form: dict[str, str], status: int,
                body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.requests.append((kind, form))
        return status, body

    def _instance_discovery(self) -> dict[str, Any]:
        return {
            "tenant_discovery_endpoint": f"https://{HOST}/common/v2.0/.well-known/openid-configuration",
            "api-version": "1.1",
            "metadata": [{"preferred_network": HOST, "preferred_cache": HOST, "aliases": [HOST]}],
        }

    def _openid(self, tenant: str) -> dict[str, Any]:
        base = f"https://{HOST}/{tenant}"
        return {
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "issuer": f"https://{HOST}/{{tenantid}}/v2.0",
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
            "tenant_region_scope": "EU",
        }

    def _device_code(self) -> dict[str, Any]:
        return {
            "user_code": self.user_code,
            "device_code": "device-code-opaque",
            "verification_uri": self.verification_uri,
            "expires_in": 900,
            "interval": 1,
            "message": f"To sign in, use a web browser to open the page {self.verification_uri} "
            f"and enter the code {self.user_code} to authenticate.",
        }

    def _token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        grant = form.get("grant_type", "")
        scopes = [s for s in form.get("scope", "").split() if s not in RESERVED]
        if grant == "urn:ietf:params:oauth:grant-type:device_code":
            if self.on_poll is not None:
                self.on_poll()
            if self.pending_polls > 0:
                self.pending_polls -= 1
                pending = _error("authorization_pending", "AADSTS70016: pending")
                return self._record("token-device-code", form, 400, pending)
            return self._record("token-device-code", form, 200, self._user_tokens(scopes))
        if grant == "refresh_token":
            if self.refresh_error or form.get("refresh_token") not in self._refresh_tokens:
                error = self.refresh_error or "invalid_grant"
                return self._record(
                    "token-refresh", form, 400,
                    _error(error, "AADSTS70043: The refresh token has expired or is invalid."),
                )
            return self._record("token-refresh", form, 200, self._user_tokens(scopes))
        if grant == "client_credentials":
            if form.get("client_id") != self.app_client_id or form.get("client_secret") != self.app_secret:
                return self._record(
                    "token-client-credentials", form, 401,
                    _error("invalid_client", "AADSTS7000215: Invalid client secret provided."),
                )
            return self._record("token-client-credentials", form, 200, self._app_token(scopes))
        return self._record("token-unknown", form, 400, _error("unsupported_grant_type", grant))

    def _user_tokens(self, scopes: list[str]) -> dict[str, Any]:
        n = next(self._counter)
        now = int(time.time())
        claims: dict[str, Any] = {
            "aud": "https://graph.microsoft.com", "iss": f"https://sts.windows.net/{TENANT}/",
            "iat": now, "nbf": now, "exp": now + 3600, "tid": TENANT, "oid": USER_OID,
            "upn": self.upn, "name": "Alice", "appid": self.client_id, "idtyp": "user",
            "scp": self.scp, "uti": f"token-{n}",
        }
        if self.wids is not None:
            claims["wids"] = self.wids
        access = unsigned_jwt(claims)
        refresh = f"refresh-secret-{n}-0.AXEAx7"
        id_token = unsigned_jwt({
            "aud": self.client_id, "iss": f"https://{HOST}/{TENANT}/v2.0", "iat": now, "nbf": now,
            "exp": now + 3600, "tid": TENANT, "oid": USER_OID, "sub": f"sub-{USER_OID}",
            "preferred_username": self.upn, "name": "Alice", "ver": "2.0",
        })
        with self._lock:
            self._refresh_tokens.add(refresh)
            self.issued_access_tokens.append(access)
            self.issued_refresh_tokens.append(refresh)
        return {
            "token_type": "Bearer", "scope": " ".join(scopes), "expires_in": 3600, "ext_expires_in": 3600,
            "access_token": access, "refresh_token": refresh, "id_token": id_token,
            "client_info": b64url(json.dumps({"uid": USER_OID, "utid": TENANT}).encode()),
        }

    def _app_token(self, scopes: list[str]) -> dict[str, Any]:
        n = next(self._counter)
        now = int(time.time())
        access = unsigned_jwt({
            "aud": "https://graph.microsoft.com", "iat": now, "nbf": now, "exp": now + 3600, "tid": TENANT,
            "oid": APP_OID, "appid": self.app_client_id, "app_displayname": "entrabr-ci", "idtyp": "app",
            "roles": self.app_roles, "uti": f"token-{n}",
        })
        with self._lock:
            self.issued_access_tokens.append(access)
        return {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": access}


def _error(code: str, description: str) -> dict[str, Any]:
    return {"error": code, "error_description": description, "error_codes": [70043], "trace_id": "t"}


class _FakeSession(requests.Session):
    def __init__(self, fake: FakeEntra) -> None:
        super().__init__()
        self._fake = fake

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        method_s = method.decode() if isinstance(method, bytes) else method
        url_s = url.decode() if isinstance(url, bytes) else url
        if self._fake.network_down:
            raise requests.ConnectionError("Failed to establish a new connection: [Errno 111] refused")
        status, body = self._fake.handle(method_s.upper(), url_s, _form(kwargs.get("data")))
        response = requests.Response()
        response.status_code = status
        content = json.dumps(body).encode()
        response._content = content
        response.raw = HTTPResponse(body=io.BytesIO(content), preload_content=False)
        response.headers = CaseInsensitiveDict({"Content-Type": "application/json; charset=utf-8"})
        response.url = url_s
        response.encoding = "utf-8"
        response.reason = "OK" if status < 400 else "Bad Request"
        return response


def _form(data: Any) -> dict[str, str]:
    if isinstance(data, dict):
        return {str(k): str(v) for k, v in data.items()}
    if isinstance(data, bytes):
        data = data.decode()
    if isinstance(data, str):
        return {k: v[0] for k, v in parse_qs(data).items()}
    return {}
