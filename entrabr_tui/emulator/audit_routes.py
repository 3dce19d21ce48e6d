"""Graph handlers for ``/auditLogs/directoryAudits`` (v1.0 and beta), and the gate every ``/auditLogs``
request passes first: authorization (audit-log reference §2) and the shared report throttle (§7).

Delegated tokens need ``AuditLog.Read.All`` and ``Directory.Read.All`` plus a role that may read audit logs
(Reports Reader, Security Reader/Operator/Administrator, Global Reader/Administrator, …); the Entra Backup
roles may not. App-only tokens need the ``AuditLog.Read.All`` application permission.
"""

from __future__ import annotations

import asyncio

import orjson
from starlette.requests import Request
from starlette.responses import Response

from .audit_actors import Identity, recovery_initiator
from .audit_query import next_link, parse_list, select_fields
from .context import ERROR_TYPE, GraphContext, request_ids
from .graph_errors import GraphError
from .odata import check_allowed, parse_select
from .service import EmulatorService
from .tokens import SCOPE_AUDIT, SCOPE_DIRECTORY_READ, Claims
from .views import page_bytes

#: Role template ids whose role definitions grant ``microsoft.directory/auditLogs/allProperties/read``.
AUDIT_READ_ROLES = frozenset({
    "4a5d8f65-41da-4de4-8968-e035b65339cf",   # Reports Reader
    "5d6b6bb7-de71-4623-b4af-96380a352509",   # Security Reader
    "5f2222b1-57c3-48ba-8ad5-d4759f1fde6f",   # Security Operator
    "194ae4cb-b126-40b2-bd5b-6091b380977d",   # Security Administrator
    "f2ef992c-3afb-46b9-b7cf-a126ee74c451",   # Global Reader
    "62e90394-69f5-4237-9190-012177145e10",   # Global Administrator
    "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",   # Application Administrator
    "158c047a-c907-4556-b7ef-446551a6b5f7",   # Cloud Application Administrator
    "7698a772-787b-4ac8-901f-60d6b08affd2",   # Cloud Device Administrator
    "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2",   # Hybrid Identity Administrator
    "ac434307-12b9-4fa1-a708-88bf58caabc1",   # Global Secure Access Administrator
})
MSG_NOT_IN_ROLES = "User is not in the allowed roles"
CONTEXT = "auditLogs/directoryAudits"


def _missing(permission: str) -> GraphError:
    return GraphError(403, "Authentication_MSGraphPermissionMissing",
                      f"Calling principal does not have required MSGraph permissions {permission}")


def authorize_audit(claims: Claims) -> None:
    """Raise a 403 `GraphError` unless ``claims`` may read the directory audit log."""
    if claims.app_only:
        if SCOPE_AUDIT not in claims.app_roles:
            raise _missing(SCOPE_AUDIT)
        return
    for scope in (SCOPE_AUDIT, SCOPE_DIRECTORY_READ):
        if scope not in claims.scopes:
            raise _missing(scope)
    if not claims.wids & AUDIT_READ_ROLES:
        raise GraphError(403, "Authentication_RequestFromUnsupportedUserRole", MSG_NOT_IN_ROLES)


def job_initiator(claims: Claims, request: Request) -> Identity:
    """Who is creating a job, for the audit records it will write (the token's user, the caller's address)."""
    host = request.client.host if request.client is not None else ""
    return recovery_initiator(claims.oid, claims.upn, claims.name, host, request.headers.get("user-agent"))


def _throttled(request: Request, service: EmulatorService, retry_after: float | None) -> Response:
    request_id, client_request_id = request_ids(request.scope)
    date = service.clock.now().strftime("%Y-%m-%dT%H:%M:%S")
    body = orjson.dumps({"error": {"code": "TooManyRequests", "innerError": {
        "code": "429", "date": date, "message": "Please retry after", "request-id": request_id,
        "client-request-id": client_request_id, "status": "429"}, "message": "Please retry again later."}})
    headers = {} if retry_after is None else {"Retry-After": f"{retry_after:.3f}"}
    return Response(body, status_code=429, media_type=ERROR_TYPE, headers=headers)


def gate(service: EmulatorService, request: Request, claims: Claims) -> Response | None:
    """Authorize a request under ``/auditLogs`` and spend its throttle budget; a 429 response, or None."""
    authorize_audit(claims)
    settings = service.audit.settings
    refused = service.audit_throttle.take(claims.tenant, claims.app_id or claims.oid,
                                          settings.throttle_window_s, settings.throttle_no_retry_after)
    return None if refused is None else _throttled(request, service, refused.retry_after)


async def list_audits(service: EmulatorService, ctx: GraphContext, claims: Claims) -> Response:
    """``GET /auditLogs/directoryAudits``."""
    audit = service.audit
    query = parse_list(ctx.params, ctx.version, audit.settings.page_size)
    beta = ctx.version == "beta"

    def build() -> bytes:
        events, more = audit.page(query, service.clock.now())
        items = [orjson.dumps(audit.render(ev, beta=beta, select=query.select)) for ev in events]
        link = next_link(ctx.url, query, events[-1].key) if more and events else None
        context = CONTEXT if query.select is None else f"{CONTEXT}({','.join(query.select)})"
        return page_bytes(ctx.context_url(context), items, link, None)

    return ctx.json(await asyncio.to_thread(build))


async def get_audit(service: EmulatorService, ctx: GraphContext, claims: Claims, audit_id: str) -> Response:
    """``GET /auditLogs/directoryAudits/{id}``."""
    check_allowed(ctx.params, ("$select",))
    select = parse_select(ctx.params.get("$select", [None])[0], select_fields(ctx.version))
    audit = service.audit

    def find() -> dict[str, object] | None:
        ev = audit.get(audit_id, service.clock.now())
        return None if ev is None else audit.render(ev, beta=ctx.version == "beta", select=select)

    doc = await asyncio.to_thread(find)
    if doc is None:
        raise GraphError(404, "Request_ResourceNotFound", f"Resource '{audit_id}' does not exist or one of "
                         "its queried reference-property objects are not present.")
    return ctx.json({"@odata.context": ctx.context_url(f"{CONTEXT}/$entity"), **doc})
