"""Per-request context of a Graph call and the JSON responses built from it."""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from .clock import EmulatedClock
from .enums import PREFER_UNKNOWN
from .graph_errors import GraphError

JSON_TYPE = ("application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;"
             "charset=utf-8")
ERROR_TYPE = "application/json"
SCOPE_KEY = "entrabr.emulator"      # per-request values the front door puts in the ASGI scope


def request_ids(scope: MutableMapping[str, Any]) -> tuple[str, str]:
    """(request-id, client-request-id) assigned to this request by the front door."""
    info = scope.get(SCOPE_KEY) or {}
    request_id = str(info.get("request_id", ""))
    return request_id, str(info.get("client_request_id", request_id))


def error_bytes(code: str, message: str, request_id: str, client_request_id: str,
                clock: EmulatedClock) -> bytes:
    """Graph's error envelope."""
    date = clock.now().strftime("%Y-%m-%dT%H:%M:%S")
    return orjson.dumps({"error": {"code": code, "message": message, "innerError": {
        "date": date, "request-id": request_id, "client-request-id": client_request_id}}})


@dataclass
class GraphContext:
    """What a Graph handler needs to know about its request."""

    request: Request
    version: str                 # "v1.0" or "beta"
    root: str                    # scheme://host[:port]
    path: str                    # normalised request path, no query
    params: dict[str, list[str]]
    include_unknown: bool

    @property
    def graph_root(self) -> str:
        """``http://host:port/v1.0``."""
        return f"{self.root}/{self.version}"

    def context_url(self, fragment: str) -> str:
        """An ``@odata.context`` value."""
        return f"{self.graph_root}/$metadata#{fragment}"

    @property
    def url(self) -> str:
        """The absolute request URL without its query string."""
        return f"{self.root}{self.path}"

    def json(self, body: bytes | dict[str, Any], status: int = 200,
             headers: dict[str, str] | None = None) -> Response:
        """A JSON response (bytes are sent as they are)."""
        content = body if isinstance(body, bytes) else orjson.dumps(body)
        return self.decorate(Response(content, status_code=status, media_type=JSON_TYPE, headers=headers))

    def empty(self, status: int, headers: dict[str, str] | None = None) -> Response:
        """A response without a body (202 Accepted)."""
        response = Response(b"", status_code=status, headers=headers)
        return self.decorate(response)

    def text(self, body: str) -> Response:
        """A text/plain response (``$count`` segments)."""
        return self.decorate(Response(body, media_type="text/plain"))

    def decorate(self, response: Response) -> Response:
        """Add the headers every Graph response carries."""
        response.headers["OData-Version"] = "4.0"
        if self.include_unknown:
            response.headers["Preference-Applied"] = PREFER_UNKNOWN
        return response


def error_response(request: Request, error: GraphError, clock: EmulatedClock,
                   include_unknown: bool = False) -> Response:
    """Render a `GraphError` as Graph's error envelope."""
    request_id, client_request_id = request_ids(request.scope)
    body = error_bytes(error.code, error.message, request_id, client_request_id, clock)
    response = Response(body, status_code=error.status, media_type=ERROR_TYPE, headers=error.headers)
    if include_unknown:
        response.headers["Preference-Applied"] = PREFER_UNKNOWN
    return response
