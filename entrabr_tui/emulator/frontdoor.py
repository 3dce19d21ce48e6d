"""ASGI front door: path normalisation, request IDs, latency and fault injection for Graph paths.

Faults and latency never apply to the control plane (``/_emulator/``).
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .context import ERROR_TYPE, SCOPE_KEY, error_bytes
from .faults import Fault
from .service import EmulatorService

CONTROL_PREFIX = "/_emulator"
_SLASHES = re.compile(r"/{2,}")
_RAW_SLASHES = re.compile(rb"/{2,}")
_FAULT_ERRORS = {
    "429": (429, "TooManyRequests", "Too many requests. Please retry after the time in Retry-After."),
    "503": (503, "ServiceUnavailable", "The service is temporarily unavailable. Retry later."),
    "504": (504, "GatewayTimeout", "The gateway did not receive a response in time."),
}


class ConnectionDropped(Exception):
    """Raised after a partial response to make the server abort the connection (a 'drop' fault)."""


class _QuietDrops(logging.Filter):
    """Keep deliberate connection drops, and requests cancelled when the emulator stops (their client is
    gone), out of the server's error log."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, ConnectionDropped | asyncio.CancelledError)


def install_log_filter() -> None:
    """Silence the server's traceback for deliberately dropped connections."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _QuietDrops) for f in logger.filters):
        logger.addFilter(_QuietDrops())


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


class FrontDoor:
    """Wraps the Starlette app; see the module docstring."""

    def __init__(self, app: ASGIApp, service: EmulatorService) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = _SLASHES.sub("/", scope["path"])
        raw = scope.get("raw_path")
        scope = dict(scope, path=path, raw_path=_RAW_SLASHES.sub(b"/", raw) if raw else path.encode())
        request_id = str(uuid.uuid4())
        client_request_id = _header(scope, b"client-request-id") or request_id
        scope[SCOPE_KEY] = {"request_id": request_id, "client_request_id": client_request_id}
        ids = [(b"request-id", request_id.encode()),
               (b"client-request-id", client_request_id.encode("latin-1"))]

        async def send_with_ids(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = dict(message, headers=[*message.get("headers", []), *ids])
            await send(message)

        if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
            await self.app(scope, receive, send_with_ids)
            return
        if self.service.latency_ms > 0:
            await asyncio.sleep(self.service.latency_ms / 1000)
        fault = self.service.faults.pick(path)
        if fault is None:
            await self.app(scope, receive, send_with_ids)
        elif fault.kind in _FAULT_ERRORS:
            await self._error(fault, request_id, client_request_id, send_with_ids)
        elif fault.kind == "slow":
            await asyncio.sleep(fault.delay_ms / 1000)
            await self.app(scope, receive, send_with_ids)
        else:
            await self._mangle(fault, scope, receive, send_with_ids)

    async def _error(self, fault: Fault, request_id: str, client_request_id: str, send: Send) -> None:
        status, code, message = _FAULT_ERRORS[fault.kind]
        body = error_bytes(code, message, request_id, client_request_id, self.service.clock)
        headers = [(b"content-type", ERROR_TYPE.encode()), (b"content-length", str(len(body)).encode())]
        if fault.kind in {"429", "503"}:
            headers.append((b"retry-after", str(fault.retry_after).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    async def _mangle(self, fault: Fault, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request, then drop the connection mid-body or send a truncated body."""
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        body = b"".join(chunks)
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        if fault.kind == "drop":
            # An empty response still announces a body, so the client sees it cut off either way.
            headers.append((b"content-length", str(max(len(body), 1)).encode()))
            status = start.get("status", 200)
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
            raise ConnectionDropped(f"fault {fault.id}: connection dropped")
        cut = body[: len(body) // 2] if body else body
        headers.append((b"content-length", str(len(cut)).encode()))
        await send({"type": "http.response.start", "status": start.get("status", 200), "headers": headers})
        await send({"type": "http.response.body", "body": cut, "more_body": False})
