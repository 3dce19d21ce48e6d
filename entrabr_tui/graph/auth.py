"""Sign-in for the Graph client: pick a method, build an async credential, sign in silently or interactively.

Typical use (UI worker)::

    sign_in = build_credential(settings, prompt=show_device_code, state_dir=paths.state)
    try:
        who = await sign_in.sign_in(allow_interaction=False)     # silent: saved record + token cache
    except InteractionRequired:
        who = await sign_in.sign_in()                             # device code / browser, one prompt
    client = RecoveryClient(sign_in.credential, base_url=settings.graph_url)
    ... who.capabilities.can_restore, who.capabilities.restore_reason ...
    await sign_in.close()

Methods: device code (prompt routed to a callback, never printed), interactive browser, Azure CLI,
environment / client secret / certificate (app-only, therefore read-only) and ``emulator`` (tokens minted
by the built-in emulator for a chosen role). Interactive credentials run with
``disable_automatic_authentication=True``: a Graph call never pops a prompt by itself; instead
``AuthenticationRequiredError`` surfaces and the UI calls :meth:`SignIn.sign_in`. Interactive sign-in uses
``authenticate(..., enable_cae=True)`` because the Graph SDK asks for CAE tokens: the user is prompted once.
Secrets come only from arguments or the environment and are never written, logged or shown.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from entrabr_tui.core.sign_in import DeviceCodePrompt, PromptCallback
from entrabr_tui.graph.auth_errors import (
    InteractionRequired,
    SignInCancelled,
    SignInConfigError,
    SignInError,
    SignInFailed,
    SignInUnavailable,
    redact,
)
from entrabr_tui.graph.auth_settings import (
    DEFAULT_AUTHORITY,
    DEFAULT_GRAPH_URL,
    DEFAULT_TENANT,
    GRAPH_CLI_CLIENT_ID,
    MULTI_TENANT,
    AuthMethod,
    AuthSettings,
    decode_jwt_claims,
    graph_scope,
)
from entrabr_tui.graph.credentials import EmulatorCredential, ThreadedCredential
from entrabr_tui.graph.sign_in import SignedIn, SignIn, capabilities_of
from entrabr_tui.graph.token_cache import AuthRecordStore, CacheMode, CacheStatus, probe_token_cache

if TYPE_CHECKING:
    from azure.core.pipeline.transport import HttpTransport
    from azure.identity import CertificateCredential, ClientSecretCredential, InteractiveBrowserCredential

    from entrabr_tui.graph.device_code import CancellableDeviceCodeCredential

__all__ = [
    "DEFAULT_GRAPH_URL",
    "GRAPH_CLI_CLIENT_ID",
    "AuthMethod",
    "AuthSettings",
    "DeviceCodePrompt",
    "InteractionRequired",
    "PromptCallback",
    "SignIn",
    "SignInCancelled",
    "SignInConfigError",
    "SignInError",
    "SignInFailed",
    "SignInUnavailable",
    "SignedIn",
    "build_credential",
    "capabilities_of",
    "decode_jwt_claims",
    "graph_scope",
]

# azure-identity logs expected silent-sign-in misses at WARNING. When the app has configured no logging,
# Python's last-resort handler would print them on stderr, over the terminal UI; a NullHandler stops that
# and still lets records propagate to handlers the app installs.
logging.getLogger("azure.identity").addHandler(logging.NullHandler())


def build_credential(
    settings: AuthSettings,
    *,
    prompt: PromptCallback | None,
    state_dir: Path,
    transport: HttpTransport[Any, Any] | None = None,  # azure-core types its transports this loosely
    http_options: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> SignIn:
    """Build a :class:`SignIn` for ``settings``.

    ``prompt`` receives the device code (on the event loop thread); ``state_dir`` is where the
    ``AuthenticationRecord`` is saved; ``transport`` is an azure-core HTTP transport for Entra ID (proxies,
    tests); ``http_options`` are azure-core pipeline options for Entra ID requests (``retry_total``,
    ``connection_timeout``, ``proxies``…); ``environ`` (default ``os.environ``) supplies the app-only
    ``AZURE_*`` fallbacks (the ``environment`` method itself always reads ``os.environ``). Raises
    :class:`SignInConfigError` for incomplete settings. Does small local I/O (cache probe, record file,
    certificate file) but no network.
    """
    env = os.environ if environ is None else environ
    try:
        method = AuthMethod(settings.method)
    except ValueError:
        choices = ", ".join(m.value for m in AuthMethod)
        raise SignInConfigError(
            f"Unknown sign-in method {settings.method!r}.", f"Choose one of: {choices}."
        ) from None
    scope = graph_scope(settings.graph_url)
    extra: dict[str, Any] = dict(http_options or {})
    if transport is not None:
        extra["transport"] = transport
    if settings.authority:
        extra["authority"] = settings.authority

    if method is AuthMethod.EMULATOR:
        sign_in = SignIn(settings, scopes=(scope,), cache=CacheStatus(CacheMode.NONE), prompt=None)
        origin = settings.emulator_url or settings.graph_url
        try:
            emulator = EmulatorCredential(origin, settings.emulator_role)
        except ValueError as exc:
            raise SignInConfigError(str(exc)) from None
        sign_in.attach(None, emulator)
        return sign_in

    if method.interactive:
        return _interactive(settings, method, scope, prompt, Path(state_dir), env, extra)

    # azure-identity (about 0.1 s to import) is imported by the methods that use it, never for the emulator.
    if method is AuthMethod.AZURE_CLI:
        from azure.identity import AzureCliCredential

        sign_in = SignIn(settings, scopes=(scope,), cache=CacheStatus(CacheMode.EXTERNAL), prompt=None)
        tenant = settings.tenant_id or ""
        tenant = "" if tenant.lower() in MULTI_TENANT else tenant
        cli = AzureCliCredential(tenant_id=tenant, process_timeout=30)
        sign_in.attach(cli, ThreadedCredential(cli))
        return sign_in

    memory = CacheStatus(CacheMode.MEMORY)
    if method is AuthMethod.ENVIRONMENT:
        from azure.identity import EnvironmentCredential

        sign_in = SignIn(settings, scopes=(scope,), cache=memory, prompt=None)
        env_cred = EnvironmentCredential(**extra)
        sign_in.attach(env_cred, ThreadedCredential(env_cred))
        return sign_in

    return _app_only(settings, method, scope, env, extra)


def _interactive(
    settings: AuthSettings,
    method: AuthMethod,
    scope: str,
    prompt: PromptCallback | None,
    state_dir: Path,
    env: Mapping[str, str],
    extra: dict[str, Any],
) -> SignIn:
    from azure.identity import InteractiveBrowserCredential

    from entrabr_tui.graph.device_code import CancellableDeviceCodeCredential

    if method is AuthMethod.DEVICE_CODE and prompt is None:
        raise SignInConfigError("Device-code sign-in needs somewhere to show the code (a prompt callback).")
    client_id = settings.client_id or GRAPH_CLI_CLIENT_ID
    tenant = settings.tenant_id or DEFAULT_TENANT
    authority = settings.authority or env.get("AZURE_AUTHORITY_HOST") or DEFAULT_AUTHORITY
    if settings.persistent_cache:
        cache = probe_token_cache(allow_unencrypted=settings.allow_unencrypted_cache)
    else:
        cache = CacheStatus(CacheMode.MEMORY)
    records = AuthRecordStore(state_dir, authority=_host(authority), client_id=client_id, tenant_id=tenant)
    record = records.load()
    sign_in = SignIn(settings, scopes=(scope,), cache=cache, prompt=prompt, records=records)

    kwargs: dict[str, Any] = dict(extra)
    kwargs["client_id"] = client_id
    kwargs["disable_automatic_authentication"] = True
    if cache.options is not None:
        kwargs["cache_persistence_options"] = cache.options
    if record is not None:
        kwargs["authentication_record"] = record
    if record is None or tenant.lower() not in MULTI_TENANT:
        kwargs["tenant_id"] = tenant  # else the record's own tenant is used

    sync: CancellableDeviceCodeCredential | InteractiveBrowserCredential
    if method is AuthMethod.DEVICE_CODE:
        sync = CancellableDeviceCodeCredential(
            timeout=settings.timeout,
            prompt_callback=sign_in.device_code_prompt,
            cancel_event=sign_in.cancel_event,
            **kwargs,
        )
    else:
        browser_kwargs: dict[str, Any] = {"timeout": settings.timeout or 300}
        if settings.login_hint:
            browser_kwargs["login_hint"] = settings.login_hint
        sync = InteractiveBrowserCredential(**browser_kwargs, **kwargs)
    sign_in.attach(sync, ThreadedCredential(sync))
    return sign_in


def _app_only(
    settings: AuthSettings, method: AuthMethod, scope: str, env: Mapping[str, str], extra: dict[str, Any]
) -> SignIn:
    from azure.identity import CertificateCredential, ClientSecretCredential

    tenant = settings.tenant_id or env.get("AZURE_TENANT_ID")
    client_id = settings.client_id or env.get("AZURE_CLIENT_ID")
    if not tenant or tenant.lower() in MULTI_TENANT:
        raise SignInConfigError(
            "App-only sign-in needs your tenant ID.", "Pass --tenant or set AZURE_TENANT_ID."
        )
    if not client_id or client_id == GRAPH_CLI_CLIENT_ID:
        raise SignInConfigError(
            "App-only sign-in needs your own app registration's client ID.",
            "Pass --client-id or set AZURE_CLIENT_ID.",
        )
    memory = CacheStatus(CacheMode.MEMORY)
    if method is AuthMethod.CLIENT_SECRET:
        secret = settings.client_secret or env.get("AZURE_CLIENT_SECRET")
        if not secret:
            raise SignInConfigError(
                "Client-secret sign-in needs a secret.", "Set AZURE_CLIENT_SECRET (never put it in a file)."
            )
        sign_in = SignIn(settings, scopes=(scope,), cache=memory, prompt=None, secrets=(secret,))
        cred: ClientSecretCredential | CertificateCredential = ClientSecretCredential(
            tenant, client_id, secret, **extra
        )
        sign_in.attach(cred, ThreadedCredential(cred))
        return sign_in

    path = settings.certificate_path or env.get("AZURE_CLIENT_CERTIFICATE_PATH")
    password = settings.certificate_password or env.get("AZURE_CLIENT_CERTIFICATE_PASSWORD")
    if not path:
        raise SignInConfigError(
            "Certificate sign-in needs a certificate file (PEM or PKCS12 with its private key).",
            "Pass --certificate or set AZURE_CLIENT_CERTIFICATE_PATH.",
        )
    sign_in = SignIn(settings, scopes=(scope,), cache=memory, prompt=None, secrets=(password,))
    try:
        cred = CertificateCredential(tenant, client_id, str(path), password=password, **extra)
    except OSError as exc:
        raise SignInConfigError(
            f"Cannot read the certificate {path}: {exc.strerror or type(exc).__name__}",
            "Check the path (--certificate or AZURE_CLIENT_CERTIFICATE_PATH).",
        ) from None
    except (ValueError, TypeError) as exc:
        raise SignInConfigError(
            f"Cannot use the certificate {path}: {redact(str(exc), password)}",
            "Check the password (AZURE_CLIENT_CERTIFICATE_PASSWORD) and that the file holds the private key.",
        ) from None
    sign_in.attach(cred, ThreadedCredential(cred))
    return sign_in


def _host(authority: str) -> str:
    parts = urlsplit(authority if "://" in authority else f"https://{authority}")
    return (parts.hostname or authority).lower()
