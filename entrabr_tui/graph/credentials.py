"""Async token credentials for the Graph client.

- :class:`ThreadedCredential` wraps a blocking azure-identity credential (device code, browser, Azure CLI,
  client secret, certificate, environment) so every ``get_token`` runs in a worker thread, never on the
  event loop (``azure.identity.aio`` has no device-code or browser credential).
- :class:`EmulatorCredential` mints tokens for a chosen role from the built-in emulator's control plane
  (``GET {origin}/_emulator/token?role=…``). It talks HTTP only; it does not import the emulator package.
- :class:`~entrabr_tui.graph.device_code.CancellableDeviceCodeCredential` (in its own module, so that
  emulator sign-in never imports azure-identity) is the device-code credential whose polling can be
  stopped, so a cancelled sign-in (or the app quitting) does not leave a thread polling Entra ID for 15
  minutes; it is still importable from here.

All of them implement azure-core's async ``get_token(*scopes, claims=None, tenant_id=None, enable_cae=False,
**kwargs) -> AccessToken`` and ``close()``. None of them stores a token in its ``repr`` or logs one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from urllib.parse import urlsplit

import httpx
from azure.core.credentials import AccessToken, AccessTokenInfo, TokenRequestOptions
from azure.core.exceptions import ClientAuthenticationError

from entrabr_tui.core.sign_in import DeviceCodePrompt, PromptCallback
from entrabr_tui.graph.tls import ssl_context_for

if TYPE_CHECKING:  # re-exported (see __getattr__ at the end)
    from entrabr_tui.graph.device_code import (
        CancellableDeviceCodeCredential as CancellableDeviceCodeCredential,
    )

T = TypeVar("T")

EMULATOR_ROLES = ("reader", "admin", "global", "app")


class SyncTokenCredential(Protocol):
    """The blocking azure-core credential protocol (what azure-identity's sync credentials implement)."""

    def get_token(
        self, *scopes: str, claims: str | None = None, tenant_id: str | None = None,
        enable_cae: bool = False, **kwargs: Any,
    ) -> AccessToken: ...

    def close(self) -> None: ...


class ThreadedCredential:
    """Async credential that runs a blocking credential's calls in a worker thread."""

    def __init__(self, credential: SyncTokenCredential) -> None:
        self.sync_credential = credential

    def __repr__(self) -> str:
        return f"ThreadedCredential({type(self.sync_credential).__name__})"

    async def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        return await asyncio.to_thread(
            self.sync_credential.get_token,
            *scopes,
            claims=claims,
            tenant_id=tenant_id,
            enable_cae=enable_cae,
            **kwargs,
        )

    async def get_token_info(
        self, *scopes: str, options: TokenRequestOptions | None = None
    ) -> AccessTokenInfo:
        getter = getattr(self.sync_credential, "get_token_info", None)
        if getter is None:
            opts = options or {}
            token = await self.get_token(
                *scopes,
                claims=opts.get("claims"),
                tenant_id=opts.get("tenant_id"),
                enable_cae=bool(opts.get("enable_cae", False)),
            )
            return AccessTokenInfo(token.token, token.expires_on)
        info: AccessTokenInfo = await asyncio.to_thread(getter, *scopes, options=options)
        return info

    async def close(self) -> None:
        await asyncio.to_thread(self.sync_credential.close)

    async def __aenter__(self) -> ThreadedCredential:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        await self.close()


class EmulatorCredential:
    """Async credential minting tokens for one role from the emulator's ``/_emulator/token`` endpoint.

    ``origin`` is the emulator's base URL (``http://127.0.0.1:PORT``; a Graph URL such as
    ``http://127.0.0.1:PORT/v1.0`` is accepted and reduced to its origin). Tokens are reused until five
    minutes before they expire.
    """

    def __init__(
        self,
        origin: str,
        role: str = "admin",
        *,
        expires_in: int = 3600,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if role not in EMULATOR_ROLES:
            raise ValueError(f"Unknown emulator role {role!r}: choose one of {', '.join(EMULATOR_ROLES)}")
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"The emulator URL must look like http://127.0.0.1:PORT, not {origin!r}")
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.role = role
        self._expires_in = expires_in
        self._timeout = timeout
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._cached: AccessToken | None = None
        self._lock: asyncio.Lock | None = None

    def __repr__(self) -> str:
        return f"EmulatorCredential(origin={self.origin!r}, role={self.role!r})"

    async def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            cached = self._cached
            # A claims challenge means the service rejected the token: fetch a fresh one.
            if cached is not None and not claims and cached.expires_on - 300 > time.time():
                return cached
            self._cached = await self._fetch()
            return self._cached

    async def get_token_info(
        self, *scopes: str, options: TokenRequestOptions | None = None
    ) -> AccessTokenInfo:
        token = await self.get_token(*scopes, claims=(options or {}).get("claims"))
        return AccessTokenInfo(token.token, token.expires_on)

    async def _fetch(self) -> AccessToken:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout, transport=self._transport,
                                             verify=ssl_context_for(self.origin))
        url = f"{self.origin}/_emulator/token"
        try:
            response = await self._client.get(url, params={"role": self.role, "expires_in": self._expires_in})
        except httpx.HTTPError as exc:
            raise ClientAuthenticationError(
                message=f"Could not reach the emulator at {self.origin} ({type(exc).__name__}): "
                "is it running?"
            ) from exc
        if response.status_code != 200:
            raise ClientAuthenticationError(
                message=f"The emulator at {self.origin} refused a {self.role} token "
                f"(HTTP {response.status_code})"
            )
        try:
            body = response.json()
            token = body["access_token"]
            expires_on = int(body.get("expires_on") or time.time() + self._expires_in)
        except (ValueError, KeyError, TypeError) as exc:
            raise ClientAuthenticationError(
                message=f"The emulator at {self.origin} returned a malformed token response"
            ) from exc
        if not isinstance(token, str) or not token:
            raise ClientAuthenticationError(message=f"The emulator at {self.origin} returned an empty token")
        return AccessToken(token, expires_on)

    async def close(self) -> None:
        client, self._client = self._client, None
        self._cached = None
        if client is not None:
            await client.aclose()

    async def __aenter__(self) -> EmulatorCredential:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        await self.close()


async def run_in_daemon_thread(fn: Callable[[], T], *, name: str = "entrabr-sign-in") -> T:
    """Run a blocking call in a daemon thread and await its result.

    Unlike ``asyncio.to_thread``, a call that outlives the app (a browser sign-in nobody finishes) cannot
    keep the process alive at exit. Cancelling the awaiting task abandons the result, not the thread.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def deliver(ok: bool, value: Any) -> None:
        if future.done():
            return
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)

    def runner() -> None:
        try:
            value: Any = fn()
            ok = True
        except BaseException as exc:
            value, ok = exc, False
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
            loop.call_soon_threadsafe(deliver, ok, value)

    threading.Thread(target=runner, name=name, daemon=True).start()
    return await future


def on_loop(
    loop: asyncio.AbstractEventLoop, callback: PromptCallback
) -> Callable[[str, str, datetime], None]:
    """Adapt a :data:`PromptCallback` into azure-identity's ``prompt_callback`` that runs on ``loop``.

    The device-code flow runs in a worker thread; the UI callback is scheduled on the event loop so it may
    touch widgets directly. Errors raised by the callback never break the sign-in.
    """

    def safe(prompt: DeviceCodePrompt) -> None:
        try:
            callback(prompt)
        except Exception:  # a broken UI callback must not stop the sign-in
            logging.getLogger(__name__).exception("The device-code prompt callback failed")

    def prompt_callback(verification_uri: str, user_code: str, expires_on: datetime) -> None:
        prompt = DeviceCodePrompt(verification_uri, user_code, expires_on)
        try:
            loop.call_soon_threadsafe(safe, prompt)
        except RuntimeError:
            safe(prompt)

    return prompt_callback


def __getattr__(name: str) -> Any:
    if name == "CancellableDeviceCodeCredential":  # imports azure-identity, so only when asked for
        from entrabr_tui.graph.device_code import CancellableDeviceCodeCredential

        return CancellableDeviceCodeCredential
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
