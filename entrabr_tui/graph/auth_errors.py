"""Typed sign-in errors with messages a person can act on, and never a token or secret in them.

azure-identity raises, in order of specificity:

- ``AuthenticationRequiredError``: the user must sign in interactively (no cached account, refresh token
  expired or revoked). Becomes :class:`InteractionRequired`.
- ``CredentialUnavailableError``: the method cannot be used here (no browser, Azure CLI missing or not
  logged in, environment variables not set). Becomes :class:`SignInUnavailable`.
- ``ClientAuthenticationError``: Entra ID refused (``AADSTS…``) or could not be reached. Becomes
  :class:`SignInFailed` (``network=True`` when it could not be reached).
"""

from __future__ import annotations

import re
import sys

from azure.core.exceptions import (
    ClientAuthenticationError,
    ServiceRequestError,
    ServiceResponseError,
)

_JWT_RE = re.compile(r"eyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]*(?:\.[A-Za-z0-9_\-]*)?")
_LONG_SECRET_RE = re.compile(
    r"(?i)((?:access|refresh|id)_token|client_secret|password|assertion)([\"':= ]+)[^\s\"'&,}]+"
)
_AADSTS_RE = re.compile(r"AADSTS(\d+)")
# Transport errors of requests/urllib3/httpx, matched by name so this module imports none of them.
_NETWORK_ERROR_NAMES = frozenset({
    "ConnectionError", "ConnectTimeout", "ReadTimeout", "SSLError", "ProxyError", "ConnectError",
    "ReadError", "WriteError", "RemoteProtocolError", "PoolTimeout", "NewConnectionError", "MaxRetryError",
})

# AADSTS codes worth a specific hint.
_AADSTS_HINTS = {
    "50076": "Multi-factor authentication is required: sign in again interactively (device code or browser).",
    "50079": "Multi-factor authentication registration is required: complete it in a browser, then retry.",
    "65001": "The application has not been consented in this tenant: an administrator must grant consent "
    "for the EntraBackup permissions.",
    "700016": "The application (client ID) was not found in this tenant: check --client-id and --tenant.",
    "90002": "The tenant was not found: check --tenant.",
    "7000215": "The client secret is invalid or expired: create a new one for the app registration.",
    "700024": "The client assertion (certificate) is not valid: check the certificate uploaded to the app.",
    "70043": "The refresh token has expired or been revoked: sign in again.",
    "50173": "Your sign-in was revoked (password change or admin action): sign in again.",
    "53003": "Conditional Access blocked this sign-in: contact your administrator.",
    "530003": "Conditional Access requires a managed device: sign in from a compliant device.",
    "50158": "An external security challenge is required: sign in again interactively.",
    "9002313": "Entra ID rejected the request as malformed: check the tenant and client ID.",
}


def _identity_error(exc: BaseException, name: str) -> bool:
    """Whether ``exc`` is azure-identity's exception ``name``, without importing azure-identity (about
    0.1 s): when it is not loaded (emulator sign-in), no exception can be one of its classes."""
    module = sys.modules.get("azure.identity._exceptions")
    cls = getattr(module, name, None) if module is not None else None
    return isinstance(cls, type) and isinstance(exc, cls)


def is_interaction_required(exc: BaseException) -> bool:
    """Whether ``exc`` is azure-identity's ``AuthenticationRequiredError``: an interactive sign-in is
    needed."""
    return _identity_error(exc, "AuthenticationRequiredError")


class SignInError(Exception):
    """Base class of sign-in errors. ``message`` says what happened; ``hint`` what to do about it."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        self.message = redact(message)
        self.hint = redact(hint) if hint else None
        super().__init__(self.message if not self.hint else f"{self.message} {self.hint}")


class InteractionRequired(SignInError):
    """The user must sign in interactively; nothing is wrong otherwise."""


class SignInUnavailable(SignInError):
    """This sign-in method cannot be used here (missing tool, browser, variables, file)."""


class SignInFailed(SignInError):
    """Entra ID refused the sign-in, or could not be reached (``network``)."""

    def __init__(
        self, message: str, hint: str | None = None, *, network: bool = False, code: str | None = None
    ) -> None:
        super().__init__(message, hint)
        self.network = network
        self.code = code  # the AADSTS error number, when there is one


class SignInCancelled(SignInError):
    """The user (or the app shutting down) cancelled an interactive sign-in."""


class SignInConfigError(SignInError):
    """The sign-in settings are incomplete or invalid (missing tenant, client ID, secret, certificate)."""


def redact(text: str, *secrets: str | None) -> str:
    """Remove anything token-like (JWTs, ``access_token=…``) and the given secret values from ``text``."""
    out = _JWT_RE.sub("[redacted token]", text)
    out = _LONG_SECRET_RE.sub(r"\1\2[redacted]", out)
    for secret in secrets:
        if secret and len(secret) >= 4:
            out = out.replace(secret, "[redacted]")
    return out


def classify_auth_error(
    exc: BaseException, *, method: str = "", secrets: tuple[str | None, ...] = ()
) -> SignInError:
    """Turn any exception from a credential into one of the typed errors above (already redacted)."""
    if isinstance(exc, SignInError):
        return exc
    text = redact(_message(exc), *secrets)
    if is_interaction_required(exc):
        return InteractionRequired(
            "You need to sign in.", "Start an interactive sign-in (device code or browser)."
        )
    if _identity_error(exc, "CredentialUnavailableError"):
        return SignInUnavailable(text, _unavailable_hint(method, text))
    if _is_network(exc):
        return SignInFailed(
            f"Could not reach the sign-in service: {text}",
            "Check the network connection, proxy settings (HTTPS_PROXY) and the authority host, then retry.",
            network=True,
        )
    if isinstance(exc, ClientAuthenticationError):
        if "Cache encryption is impossible" in text:
            return SignInFailed(
                "The token cache cannot be encrypted on this machine.",
                "Install libsecret and PyGObject with an unlocked keyring, or opt in to a plaintext cache "
                "with --allow-unencrypted-token-cache.",
            )
        match = _AADSTS_RE.search(text)
        code = match.group(1) if match else None
        hint = _AADSTS_HINTS.get(code or "") or "Check the tenant, client ID and your account, then retry."
        return SignInFailed(f"Sign-in failed: {text}", hint, code=code)
    return SignInFailed(f"Sign-in failed unexpectedly ({type(exc).__name__}): {text}")


def _message(exc: BaseException) -> str:
    message = getattr(exc, "message", None)
    text = message if isinstance(message, str) and message else str(exc)
    text = " ".join(text.split())
    return text[:600] if text else type(exc).__name__


def _is_network(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ServiceRequestError | ServiceResponseError | ConnectionError | TimeoutError):
            return True
        name = type(current).__name__
        if name in _NETWORK_ERROR_NAMES:
            return True
        current = current.__cause__ or current.__context__
    return False


def _unavailable_hint(method: str, text: str) -> str:
    lowered = text.lower()
    if method == "azure-cli" or "azure cli" in lowered:
        if "not found" in lowered or "not installed" in lowered:
            return "Install the Azure CLI, or choose another sign-in method."
        return "Run 'az login' (with --tenant if needed), or choose another sign-in method."
    if method == "environment" or "environment variables" in lowered:
        return (
            "Set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (or "
            "AZURE_CLIENT_CERTIFICATE_PATH), or choose another sign-in method."
        )
    if method == "browser" or "browser" in lowered:
        return "No usable web browser here: use device-code sign-in instead (works over SSH)."
    return "Choose another sign-in method."
