"""The control plane under ``/_emulator/``: tokens, clock, configuration, faults, a fixture of change objects
for the next preview job, edits of live objects, reset, state and the audit log's ground truth.

JSON in and out, no authentication, never affected by latency or faults.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .audit_log import AuditSettings
from .clock import iso
from .faults import FaultError
from .overrides import OverrideError
from .service import EmulatorService
from .tokens import ROLES, mint_token

MAX_ADVANCE_DAYS = 60


class ControlError(Exception):
    """A bad control-plane request (400 unless told otherwise)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _json(doc: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(doc), status_code=status, media_type="application/json")


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ControlError(f"the body is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise ControlError("the body must be a JSON object")
    return doc


def _int(value: object, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ControlError(f"'{name}' must be an integer in {low}..{high}")
    return value


class ControlPlane:
    """Handlers of the control plane, bound to one emulator service."""

    def __init__(self, service: EmulatorService) -> None:
        self.service = service

    def routes(self) -> list[Route]:
        """Starlette routes, mounted at ``/_emulator``."""
        table: dict[str, dict[str, Callable[[Request], Awaitable[Any]]]] = {
            "/token": {"GET": self.token},
            "/advance": {"POST": self.advance},
            "/config": {"GET": self.get_config, "POST": self.set_config},
            "/faults": {"GET": self.list_faults, "POST": self.add_fault, "DELETE": self.clear_faults},
            "/changes-override": {"GET": self.get_override, "POST": self.set_override,
                                  "DELETE": self.clear_override},
            "/tenant/objects/{object_id}": {"POST": self.edit_object},
            "/reset": {"POST": self.reset},
            "/state": {"GET": self.state},
            "/audit/truth": {"GET": self.audit_truth},
        }
        return [Route(path, self._endpoint(handlers), methods=["GET", "POST", "DELETE", "PUT", "PATCH"])
                for path, handlers in table.items()]

    def _endpoint(self, handlers: dict[str, Callable[[Request], Awaitable[Any]]]
                  ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            handler = handlers.get(request.method)
            if handler is None:
                return _json({"error": {"code": "MethodNotAllowed",
                                        "message": f"{request.method} is not supported here"}}, 405)
            try:
                return _json(await handler(request))
            except ControlError as exc:
                return _json({"error": {"code": "BadRequest", "message": str(exc)}}, exc.status)
        return endpoint

    async def token(self, request: Request) -> dict[str, Any]:
        """``GET /_emulator/token?role=admin&expires_in=3600``."""
        role = request.query_params.get("role", "admin")
        if role not in ROLES:
            raise ControlError(f"'role' must be one of {', '.join(ROLES)}")
        text = request.query_params.get("expires_in", "3600")
        try:
            expires_in = int(text)
        except ValueError as exc:
            raise ControlError("'expires_in' must be an integer number of seconds") from exc
        now = int(time.time())
        token = mint_token(role, expires_in=expires_in, now=now, tenant=self.service.tenant_id)
        return {"access_token": token, "token_type": "Bearer",
                "expires_on": now + expires_in}

    async def advance(self, request: Request) -> dict[str, Any]:
        """``POST /_emulator/advance {"days": 1}``: new snapshots, drift, clock forward."""
        body = await _body(request)
        days = _int(body.get("days", 1), "days", 1, MAX_ADVANCE_DAYS)
        await self.service.advance(days)
        return {"snapshots": [{"id": sid, "createdDateTime": iso(t)} for sid, t in self.service.snapshots]}

    async def get_config(self, request: Request) -> dict[str, Any]:
        """``GET /_emulator/config``."""
        return self.service.config()

    async def set_config(self, request: Request) -> dict[str, Any]:
        """``POST /_emulator/config {"latency_ms": N, "job_speed": X, "sync_flag_in_changes": B,
        "audit_…": …}`` (every key optional)."""
        body = await _body(request)
        unknown = set(body) - {"latency_ms", "job_speed", "sync_flag_in_changes"} - AuditSettings.keys()
        if unknown:
            raise ControlError(f"unknown config key(s): {', '.join(sorted(unknown))}")
        latency = _int(body["latency_ms"], "latency_ms", 0, 600_000) if "latency_ms" in body else None
        speed = body.get("job_speed")
        if speed is not None and (isinstance(speed, bool) or not isinstance(speed, (int, float))
                                  or not math.isfinite(speed) or speed <= 0):
            raise ControlError("'job_speed' must be a positive number")
        sync_flag = body.get("sync_flag_in_changes")
        if sync_flag is not None and not isinstance(sync_flag, bool):
            raise ControlError("'sync_flag_in_changes' must be true or false")
        try:
            self.service.audit.settings.update({k: v for k, v in body.items() if k.startswith("audit_")})
        except ValueError as exc:
            raise ControlError(str(exc)) from exc
        await self.service.settle()          # jobs so far ran at the old speed
        if latency is not None:
            self.service.latency_ms = latency
        if speed is not None:
            self.service.job_speed = float(speed)
        if sync_flag is not None:
            self.service.sync_flag_in_changes = sync_flag
        return self.service.config()

    async def list_faults(self, request: Request) -> dict[str, Any]:
        """``GET /_emulator/faults``."""
        return {"faults": self.service.faults.describe()}

    async def add_fault(self, request: Request) -> dict[str, Any]:
        """``POST /_emulator/faults {"kind": "429", "count": 2, ...}`` → ``{"id": ...}``."""
        try:
            fault = self.service.faults.add(await _body(request))
        except FaultError as exc:
            raise ControlError(str(exc)) from exc
        return {"id": fault.id}

    async def clear_faults(self, request: Request) -> dict[str, Any]:
        """``DELETE /_emulator/faults``."""
        self.service.faults.clear()
        return {"faults": []}

    async def get_override(self, request: Request) -> dict[str, Any]:
        """``GET /_emulator/changes-override``: the pending fixture's size and the jobs given one."""
        return self.service.faults.changes_override.describe()

    async def set_override(self, request: Request) -> dict[str, Any]:
        """``POST /_emulator/changes-override {"changes": [...]}``: the next preview job to compute its
        difference serves exactly these change objects (and its totals count them)."""
        body = await _body(request)
        unknown = set(body) - {"changes"}
        if unknown or "changes" not in body:
            raise ControlError("the body must be {\"changes\": [change objects]}")
        try:
            self.service.faults.changes_override.set(body["changes"])
        except OverrideError as exc:
            raise ControlError(str(exc)) from exc
        return self.service.faults.changes_override.describe()

    async def clear_override(self, request: Request) -> dict[str, Any]:
        """``DELETE /_emulator/changes-override``: forget the fixture (jobs already given it keep it until
        a reset)."""
        self.service.faults.changes_override.discard()
        return self.service.faults.changes_override.describe()

    async def edit_object(self, request: Request) -> dict[str, Any]:
        """``POST /_emulator/tenant/objects/{id} {"properties": {...}, "softDelete": false}``: change a live
        object now, as an administrator would (reports computed afterwards and the audit log see it)."""
        body = await _body(request)
        unknown = set(body) - {"properties", "softDelete"}
        if unknown:
            raise ControlError(f"unknown key(s): {', '.join(sorted(unknown))}")
        properties = body.get("properties", {})
        soft_delete = body.get("softDelete", False)
        if not isinstance(properties, dict) or not isinstance(soft_delete, bool):
            raise ControlError("'properties' must be an object and 'softDelete' true or false")
        if not properties and not soft_delete:
            raise ControlError("give 'properties' to set, or 'softDelete': true")
        object_id = request.path_params["object_id"]
        try:
            return await self.service.edit_object(object_id, properties, soft_delete)
        except KeyError:
            raise ControlError(f"no live object has id {object_id!r}", 404) from None
        except ValueError as exc:
            raise ControlError(str(exc)) from exc

    async def reset(self, request: Request) -> dict[str, Any]:
        """``POST /_emulator/reset``: the initial tenant, no jobs, no faults."""
        await self.service.reset()
        return await self.service.describe()

    async def audit_truth(self, request: Request) -> dict[str, Any]:
        """``GET /_emulator/audit/truth[?objectId=…]``: the cast, and each object's changes and actors."""
        object_id = request.query_params.get("objectId")
        return await asyncio.to_thread(self.service.audit.truth, self.service.clock.now(), object_id)

    async def state(self, request: Request) -> dict[str, Any]:
        """``GET /_emulator/state``."""
        await self.service.settle()
        return await self.service.describe()
