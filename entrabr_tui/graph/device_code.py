"""The device-code credential whose polling can be stopped.

It lives apart from :mod:`entrabr_tui.graph.credentials` because it subclasses azure-identity's
``DeviceCodeCredential``: importing azure-identity takes about 0.1 s, which emulator sign-in (the demo
tenant, tests) does not need to pay.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

from azure.core.exceptions import ClientAuthenticationError
from azure.identity import DeviceCodeCredential


class CancellableDeviceCodeCredential(DeviceCodeCredential):
    """``DeviceCodeCredential`` whose polling stops when ``cancel_event`` is set.

    The flow is the same as azure-identity's (initiate, show the code through ``prompt_callback``, poll),
    with an extra exit condition on the event; a cancelled flow raises ``ClientAuthenticationError`` whose
    message starts with ``"Sign-in cancelled"``.
    """

    CANCELLED = "Sign-in cancelled"

    def __init__(self, *args: Any, cancel_event: threading.Event, **kwargs: Any) -> None:
        self.cancel_event = cancel_event
        super().__init__(*args, **kwargs)

    def _request_token(self, *scopes: str, **kwargs: Any) -> dict[str, Any]:
        try:
            return self._device_flow(list(scopes), **kwargs)
        except ClientAuthenticationError:
            raise
        except Exception as exc:
            raise ClientAuthenticationError(message=f"Authentication failed: {exc}") from exc

    def _device_flow(self, scopes: list[str], **kwargs: Any) -> dict[str, Any]:
        if self.cancel_event.is_set():
            raise ClientAuthenticationError(message=self.CANCELLED)
        app = self._get_app(**kwargs)
        flow = app.initiate_device_flow(scopes)
        if "error" in flow:
            detail = flow.get("error_description") or flow.get("error")
            raise ClientAuthenticationError(message=f"Couldn't begin authentication: {detail}")
        callback = self._prompt_callback
        if callback is None:  # never print over the terminal UI
            raise ClientAuthenticationError(message="Device-code sign-in needs a prompt callback")
        callback(flow["verification_uri"], flow["user_code"], datetime.fromtimestamp(flow["expires_at"], UTC))
        deadline = float(flow["expires_at"])
        if self._timeout is not None:
            deadline = min(deadline, time.time() + self._timeout)

        def finished(_flow: dict[str, Any]) -> bool:
            return self.cancel_event.is_set() or time.time() > deadline

        result: dict[str, Any] = app.acquire_token_by_device_flow(
            flow, exit_condition=finished, claims_challenge=kwargs.get("claims")
        )
        if "access_token" not in result and self.cancel_event.is_set():
            raise ClientAuthenticationError(message=self.CANCELLED)
        if "access_token" not in result and result.get("error") == "authorization_pending":
            raise ClientAuthenticationError(message="Timed out waiting for you to enter the code")
        return result
