"""A sign-in session: the async credential for the Graph client plus silent and interactive sign-in.

Interactive credentials run with ``disable_automatic_authentication=True``: a Graph call never pops a prompt
by itself; ``AuthenticationRequiredError`` surfaces instead and the UI calls :meth:`SignIn.sign_in`.
Interactive sign-in uses ``authenticate(..., enable_cae=True)`` because the Graph SDK asks for CAE tokens,
so the user is prompted once. Build instances with :func:`entrabr_tui.graph.auth.build_credential`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from azure.core.credentials import AccessToken
from azure.core.credentials_async import AsyncTokenCredential
from azure.core.exceptions import ClientAuthenticationError

from entrabr_tui.core.capabilities import Capabilities, capabilities_from_claims, unknown_capabilities
from entrabr_tui.core.sign_in import DeviceCodePrompt, PromptCallback
from entrabr_tui.graph.auth_errors import (
    SignInCancelled,
    SignInError,
    SignInUnavailable,
    classify_auth_error,
    is_interaction_required,
)
from entrabr_tui.graph.auth_settings import AuthMethod, AuthSettings, decode_jwt_claims
from entrabr_tui.graph.credentials import (
    SyncTokenCredential,
    on_loop,
    run_in_daemon_thread,
)
from entrabr_tui.graph.token_cache import AuthRecordStore, CacheMode, CacheStatus, plaintext_cache_files

if TYPE_CHECKING:  # azure-identity is imported only by the sign-in methods that use it
    from azure.identity import AuthenticationRecord

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class SignedIn:
    """The outcome of a successful sign-in (no token in it)."""

    method: AuthMethod
    capabilities: Capabilities
    silent: bool  # True when no prompt was needed
    expires_on: int  # epoch seconds
    cache: CacheStatus
    record_saved: bool = False
    warnings: tuple[str, ...] = ()


def capabilities_of(token: AccessToken) -> Capabilities:
    """Capabilities from a token; an unreadable token gives "unknown" (nothing blocked)."""
    try:
        return capabilities_from_claims(decode_jwt_claims(token.token))
    except ValueError:
        return unknown_capabilities()


class SignIn:
    """One sign-in: the async :attr:`credential` for the Graph client, plus silent/interactive sign-in.

    Build it with :func:`build_credential`. ``credential`` implements azure-core's async token credential
    protocol; hand it to ``RecoveryClient``. The object is safe to ``repr`` (no secret, no token).
    """

    def __init__(
        self,
        settings: AuthSettings,
        *,
        scopes: tuple[str, ...],
        cache: CacheStatus,
        prompt: PromptCallback | None,
        records: AuthRecordStore | None = None,
        secrets: tuple[str | None, ...] = (),
    ) -> None:
        self.settings = settings
        self.method = settings.method
        self.scopes = scopes
        self.cache = cache
        self.records = records
        self._prompt = prompt
        self._secrets = secrets
        self.cancel_event = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sync: Any = None  # the blocking azure-identity credential, when there is one
        self._credential: AsyncTokenCredential | None = None

    def __repr__(self) -> str:
        return f"SignIn(method={self.method.value!r}, cache={self.cache.mode.value!r})"

    @property
    def credential(self) -> AsyncTokenCredential:
        """The async token credential (``get_token``/``close``) for the Graph client."""
        if self._credential is None:
            raise RuntimeError("SignIn has no credential: build it with build_credential()")
        return self._credential

    @property
    def record_path(self) -> Path | None:
        return self.records.path if self.records else None

    @property
    def warnings(self) -> tuple[str, ...]:
        return (self.cache.warning,) if self.cache.warning else ()

    def attach(self, sync: SyncTokenCredential | None, credential: AsyncTokenCredential) -> None:
        """Set the blocking credential (for interactive ``authenticate``) and the async one for Graph."""
        self._sync = sync
        self._credential = credential

    def device_code_prompt(self, verification_uri: str, user_code: str, expires_on: Any) -> None:
        """azure-identity's ``prompt_callback``: forwarded to the caller's callback on the event loop."""
        if self._prompt is None:
            return
        if self._loop is not None:
            on_loop(self._loop, self._prompt)(verification_uri, user_code, expires_on)
        else:
            self._prompt(DeviceCodePrompt(verification_uri, user_code, expires_on))

    async def sign_in(self, *, allow_interaction: bool = True) -> SignedIn:
        """Sign in: silently when possible, else (if allowed and the method is interactive) with one prompt.

        Raises :class:`InteractionRequired` when a prompt is needed but not allowed, :class:`SignInCancelled`
        after :meth:`cancel`, and other :class:`SignInError` subclasses for unavailable methods, bad
        settings, refusals and network failures.
        """
        self._loop = asyncio.get_running_loop()
        self.cancel_event.clear()
        try:
            token = await self.credential.get_token(*self.scopes, enable_cae=True)
            return self._signed_in(token, silent=True)
        except Exception as exc:
            if not (is_interaction_required(exc) and allow_interaction and self.method.interactive):
                raise self._classify(exc) from None
        return await self._interactive()

    async def _interactive(self) -> SignedIn:
        if self.method is AuthMethod.BROWSER and not _browser_possible():
            raise SignInUnavailable(
                "No graphical web browser is available here (no DISPLAY).",
                "Use device-code sign-in instead (--auth device-code), which works over SSH.",
            )
        if self.cancel_event.is_set():
            raise SignInCancelled("Sign-in cancelled.")
        sync = self._sync
        scopes = list(self.scopes)
        try:
            record: AuthenticationRecord = await run_in_daemon_thread(
                lambda: sync.authenticate(scopes=scopes, enable_cae=True)
            )
        except ClientAuthenticationError as exc:
            from entrabr_tui.graph.device_code import CancellableDeviceCodeCredential

            cancelled = str(exc.message).startswith(CancellableDeviceCodeCredential.CANCELLED)
            if cancelled or self.cancel_event.is_set():
                raise SignInCancelled("Sign-in cancelled.") from None
            raise self._classify(exc) from None
        except Exception as exc:
            raise self._classify(exc) from None
        warnings: list[str] = []
        saved = False
        if self.records is not None:
            try:
                self.records.save(record)
                saved = True
            except OSError as exc:
                warnings.append(
                    f"Could not save the sign-in record to {self.records.path} ({exc.strerror}): "
                    "you will be asked to sign in again next time."
                )
        try:
            token = await self.credential.get_token(*self.scopes, enable_cae=True)
        except Exception as exc:
            raise self._classify(exc) from None
        return self._signed_in(token, silent=False, record_saved=saved, extra=tuple(warnings))

    def _signed_in(
        self, token: AccessToken, *, silent: bool, record_saved: bool = False, extra: tuple[str, ...] = ()
    ) -> SignedIn:
        caps = capabilities_of(token)
        _LOG.info("Signed in as %s with %s (%s)", caps.identity.display, self.method.value,
                  "silent" if silent else "interactive")
        return SignedIn(
            method=self.method,
            capabilities=caps,
            silent=silent,
            expires_on=int(token.expires_on),
            cache=self.cache,
            record_saved=record_saved,
            warnings=self.warnings + extra,
        )

    def _classify(self, exc: BaseException) -> SignInError:
        return classify_auth_error(exc, method=self.method.value, secrets=self._secrets)

    def cancel(self) -> None:
        """Stop a device-code sign-in in progress (its :meth:`sign_in` raises :class:`SignInCancelled`)."""
        self.cancel_event.set()

    async def sign_out(self) -> None:
        """Forget the saved record (no more silent sign-in) and delete a plaintext token cache.

        Tokens already held in memory stay valid until :meth:`close`; build a new :class:`SignIn` to sign
        in again. An encrypted cache keeps its entries, but without the record they are never used.
        """
        if self.records is not None:
            self.records.delete()
        if self.cache.mode is CacheMode.PLAINTEXT:
            for path in plaintext_cache_files():
                path.unlink(missing_ok=True)

    async def close(self) -> None:
        """Cancel any interactive sign-in and release the credential's connections."""
        self.cancel_event.set()
        if self._credential is not None:
            await self._credential.close()


def _browser_possible() -> bool:
    if sys.platform.startswith("linux"):
        if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
            return True
        return "microsoft" in os.uname().release.lower()  # WSL opens the Windows browser
    return True
