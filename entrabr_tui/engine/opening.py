"""Opening a :class:`~entrabr_tui.engine.session.Session`: sign in, open the tenant's cache and history.

Online, the sign-in decides the tenant (the token's ``tid``) unless ``settings.tenant`` names it, and the
job journal is reconciled at once when it holds unfinished entries (a previous run stopped mid-job).
Offline, nothing touches the network: the tenant comes from ``settings.tenant`` (or the only cached
tenant), and the identity shown is the one last signed in for it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from azure.core.credentials_async import AsyncTokenCredential

from entrabr_tui.core.capabilities import Capabilities, Identity, unknown_capabilities
from entrabr_tui.core.model import Change
from entrabr_tui.core.recoverability import recoverability
from entrabr_tui.core.sign_in import PromptCallback
from entrabr_tui.engine.errors import EngineError
from entrabr_tui.engine.session import CloseHook, Session
from entrabr_tui.engine.settings import SessionSettings
from entrabr_tui.engine.timing import Clock, Sleep, real_sleep, utc_now
from entrabr_tui.graph.auth import (
    SignIn,
    SignInCancelled,
    build_credential,
    capabilities_of,
    graph_scope,
)
from entrabr_tui.graph.client import RecoveryClient
from entrabr_tui.graph.errors import GraphError
from entrabr_tui.graph.resilience import RetryPolicy
from entrabr_tui.store import Cache, History, HistoryAction, StorePaths
from entrabr_tui.store.paths import secure_dir

log = logging.getLogger(__name__)


def recoverable_flag(item: Mapping[str, Any]) -> bool | None:
    """Whether recovery would write anything for a raw change (the cache stores it per row; ``None``:
    unknown, the payload does not say whether the user or group is synced from on-premises)."""
    try:
        return recoverability(Change.from_json(item)).flag
    except (TypeError, ValueError, KeyError, AttributeError):
        return None


def cached_tenants(paths: StorePaths) -> list[str]:
    """Tenant keys that have a cache file (for choosing one offline)."""
    if not paths.cache_dir.is_dir():
        return []
    return sorted(p.name[len("tenant-"):-len(".sqlite3")] for p in paths.cache_dir.glob("tenant-*.sqlite3"))


def _offline_tenant(settings: SessionSettings, paths: StorePaths) -> str:
    if settings.tenant:
        return settings.tenant
    known = cached_tenants(paths)
    if len(known) == 1:
        return known[0]
    if not known:
        raise EngineError("Offline mode needs a cache, and there is none yet: run once online first.")
    raise EngineError("Several tenants are cached; choose one with --tenant: " + ", ".join(known))


def _log_failed_sign_in(settings: SessionSettings, paths: StorePaths, error: BaseException,
                        clock: Clock) -> None:
    """Record a sign-in that did not succeed (never hides the error itself)."""
    cancelled = isinstance(error, asyncio.CancelledError | SignInCancelled)
    detail = "cancelled" if cancelled else (str(error) or type(error).__name__)
    try:
        auth = settings.sign_in_settings()
        with History.open(paths=paths) as history:
            history.append(HistoryAction.SIGN_IN, tenant_id=settings.tenant or auth.tenant_id,
                           outcome="cancelled" if cancelled else "error", at=clock(),
                           detail=f"{auth.method.value} at {settings.graph_url}: {detail}"[:1000])
    except Exception as exc:  # the history is secondary here: the sign-in error is what the user must see
        log.warning("Could not record the failed sign-in: %s", exc)


async def open_session(
    settings: SessionSettings,
    *,
    credential: AsyncTokenCredential | None = None,
    prompt: PromptCallback | None = None,
    paths: StorePaths | None = None,
    clock: Clock = utc_now,
    sleep: Sleep = real_sleep,
    retry: RetryPolicy | None = None,
    on_close: list[CloseHook] | None = None,
    sign_in_options: Mapping[str, Any] | None = None,
) -> Session:
    """Build a session.

    ``credential`` skips the sign-in flow (the caller owns and closes it); otherwise the method in
    ``settings`` signs in (``prompt`` shows a device code) and the session closes the credential; a sign-in
    that fails or is cancelled is recorded in the session history too. ``sign_in_options`` go to
    :func:`~entrabr_tui.graph.auth.build_credential` (``transport``, ``http_options``: proxies, tests).
    ``clock`` and ``sleep`` drive the job polling (tests make it instant); ``retry`` the Graph retries.
    """
    paths = paths or StorePaths.default()
    hooks: list[CloseHook] = list(on_close or [])
    if settings.offline:
        tenant = _offline_tenant(settings, paths)
        cache = Cache.open(tenant, paths=paths, recoverable=recoverable_flag)
        history = History.open(paths=paths)
        last = history.query(actions=[HistoryAction.SIGN_IN], tenant_id=cache.tenant_id, limit=1)
        identity = Identity(upn=last[0].identity) if last and last[0].identity else Identity()
        return Session(settings, cache=cache, history=history, capabilities=unknown_capabilities(identity),
                       clock=clock, sleep=sleep, on_close=hooks)

    how = "given credential"
    if credential is None:
        try:
            sign_in: SignIn = build_credential(
                settings.sign_in_settings(), prompt=prompt, state_dir=secure_dir(paths.data_dir / "sign-in"),
                **dict(sign_in_options or {}),
            )
        except BaseException as exc:
            _log_failed_sign_in(settings, paths, exc, clock)
            raise
        try:
            signed = await sign_in.sign_in(allow_interaction=settings.allow_interaction)
        except BaseException as exc:
            await sign_in.close()
            _log_failed_sign_in(settings, paths, exc, clock)
            raise
        credential = sign_in.credential
        capabilities: Capabilities = signed.capabilities
        hooks.append(sign_in.close)
        how = f"{signed.method.value}, {'silent' if signed.silent else 'interactive'}"
    else:
        token = await credential.get_token(graph_scope(settings.graph_url))
        capabilities = capabilities_of(token)
    tenant = settings.tenant or capabilities.identity.tenant_id or "default"
    client = RecoveryClient(credential, settings.graph_url, retry=retry or RetryPolicy(sleep=sleep))
    try:
        cache = Cache.open(tenant, paths=paths, recoverable=recoverable_flag)
        if not cache.read_only:
            cache.tenant.set_info(graph_url=client.base_url)
        history = History.open(paths=paths)
    except BaseException:
        await client.aclose()
        for hook in reversed(hooks):
            await hook()
        raise
    session = Session(settings, cache=cache, history=history, capabilities=capabilities, client=client,
                      clock=clock, sleep=sleep, on_close=hooks)
    session.log.write(HistoryAction.SIGN_IN, detail=f"{capabilities.summary} ({how}) at {client.base_url}")
    if cache.journal.open_intents() and not cache.read_only:
        try:
            await session.reconcile()
        except GraphError as exc:
            session.open_warnings.append(f"The job journal could not be checked against the service: {exc}")
    return session
