"""Graph request dispatch under ``/v1.0`` and ``/beta``: route table, authentication, errors.

Bound functions and actions are accepted short (``getChanges``) or namespace-qualified
(``microsoft.graph.entraRecoveryServices.getChanges``), with or without ``()``. Besides the recovery API,
the directory lookups of :mod:`directory_routes` are served (``/directoryObjects/getByIds``, ``/users``,
``/groups``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import partial

import orjson
from starlette.requests import Request
from starlette.responses import Response

from . import audit_routes, change_routes, directory_routes, job_routes
from .authz import Action, authenticate, authorize
from .context import GraphContext, error_response
from .enums import NAMESPACE, wants_unknown_members
from .graph_errors import GraphError, bad_request, method_not_allowed
from .jobs import PREVIEW, RECOVERY
from .odata import check_allowed, normalise_params, parse_collection_options, parse_select
from .paging import collection_response
from .service import EmulatorService
from .tokens import Claims
from .views import SNAPSHOT_FIELDS, snapshot_json

VERSIONS = ("v1.0", "beta")
Handler = Callable[..., Awaitable[Response]]
log = logging.getLogger("entrabr.emulator")


def _fn(name: str) -> frozenset[str]:
    return frozenset({name, f"{name}()", f"{NAMESPACE}.{name}", f"{NAMESPACE}.{name}()"})


SID, JID, AID = "{snapshot_id}", "{job_id}", "{audit_id}"
GET_CHANGES, GET_FAILED, CANCEL = _fn("getChanges"), _fn("getFailedChanges"), _fn("cancel")
GET_BY_IDS = frozenset({"getByIds", "microsoft.graph.getByIds"})
Segment = str | frozenset[str]


async def get_root(service: EmulatorService, ctx: GraphContext, claims: Claims) -> Response:
    """#1: the recovery singleton."""
    authorize(claims, Action.READ)
    check_allowed(ctx.params, ("$select", "$expand"))
    if "$expand" in ctx.params:
        raise bad_request("Query option '$expand' is not supported on this resource.")
    return ctx.json({"@odata.context": ctx.context_url("directory/recovery/$entity"),
                     "@odata.type": f"#{NAMESPACE}.recovery", "id": service.tenant_id})


async def list_snapshots(service: EmulatorService, ctx: GraphContext, claims: Claims) -> Response:
    """#2: snapshots, newest first."""
    authorize(claims, Action.READ)
    opts = parse_collection_options(ctx.params, select_fields=SNAPSHOT_FIELDS, filter_fields={},
                                    order_fields=("id", "createdDateTime"))
    items = list(service.snapshots)
    for name, desc in reversed(opts.orderby):
        items.sort(key=lambda s: s[1] if name == "createdDateTime" else s[0], reverse=desc)
    return collection_response(ctx, items, opts, "directory/recovery/snapshots",
                               lambda s: orjson.dumps(snapshot_json(s[0], s[1], opts.select)))


async def count_snapshots(service: EmulatorService, ctx: GraphContext, claims: Claims) -> Response:
    """``/directory/recovery/snapshots/$count`` (SDK template)."""
    authorize(claims, Action.READ)
    return ctx.text(str(len(service.snapshots)))


async def get_snapshot(service: EmulatorService, ctx: GraphContext, claims: Claims,
                       snapshot_id: str) -> Response:
    """#3: one snapshot."""
    authorize(claims, Action.READ)
    check_allowed(ctx.params, ("$select",))
    created = service.snapshot_time(snapshot_id, for_job=False)
    select = parse_select(ctx.params.get("$select", [None])[0], SNAPSHOT_FIELDS)
    return ctx.json({"@odata.context": ctx.context_url("directory/recovery/snapshots/$entity"),
                     **snapshot_json(snapshot_id, created, select)})


_R = ("directory", "recovery")
_PJ = (*_R, "snapshots", SID, "recoveryPreviewJobs")
_RJ = (*_R, "snapshots", SID, "recoveryJobs")
ROUTES: list[tuple[tuple[Segment, ...], dict[str, Handler]]] = [
    (_R, {"GET": get_root}),
    ((*_R, "snapshots"), {"GET": list_snapshots}),
    ((*_R, "snapshots", "$count"), {"GET": count_snapshots}),
    ((*_R, "snapshots", SID), {"GET": get_snapshot}),
    (_PJ, {"GET": partial(job_routes.list_snapshot_jobs, kind=PREVIEW),
           "POST": partial(job_routes.create_job, kind=PREVIEW)}),
    ((*_PJ, "$count"), {"GET": partial(job_routes.count_snapshot_jobs, kind=PREVIEW)}),
    ((*_PJ, JID), {"GET": partial(job_routes.get_snapshot_job, kind=PREVIEW)}),
    ((*_PJ, JID, GET_CHANGES), {"GET": change_routes.get_changes}),
    (_RJ, {"GET": partial(job_routes.list_snapshot_jobs, kind=RECOVERY),
           "POST": partial(job_routes.create_job, kind=RECOVERY)}),
    ((*_RJ, "$count"), {"GET": partial(job_routes.count_snapshot_jobs, kind=RECOVERY)}),
    ((*_RJ, JID), {"GET": partial(job_routes.get_snapshot_job, kind=RECOVERY)}),
    ((*_RJ, JID, GET_FAILED), {"GET": change_routes.get_failed_changes}),
    ((*_R, "jobs"), {"GET": job_routes.list_all_jobs}),
    ((*_R, "jobs", "$count"), {"GET": job_routes.count_all_jobs}),
    ((*_R, "jobs", JID), {"GET": job_routes.get_any_job}),
    ((*_R, "jobs", JID, CANCEL), {"POST": job_routes.cancel_job}),
    (("directoryObjects", GET_BY_IDS), {"POST": directory_routes.get_by_ids}),
    (("users",), {"GET": directory_routes.list_users}),
    (("groups",), {"GET": directory_routes.list_groups}),
    (("identity", "conditionalAccess", "policies"), {"GET": directory_routes.list_ca_policies}),
    (("auditLogs", "directoryAudits"), {"GET": audit_routes.list_audits}),
    (("auditLogs", "directoryAudits", AID), {"GET": audit_routes.get_audit}),
]


def _segment_matches(pattern: Segment, segment: str) -> bool:
    if isinstance(pattern, frozenset):
        return segment in pattern
    if pattern.startswith("{"):
        return bool(segment) and not segment.startswith("$")
    return pattern == segment


def resolve(segments: list[str]) -> tuple[dict[str, Handler], dict[str, str]]:
    """Find the route for path ``segments``; 400 naming the first segment no route knows."""
    for pattern, handlers in ROUTES:
        if len(pattern) == len(segments) and all(map(_segment_matches, pattern, segments)):
            params = {p[1:-1]: s for p, s in zip(pattern, segments, strict=True)
                      if isinstance(p, str) and p.startswith("{")}
            return handlers, params
    for depth in range(len(segments)):
        prefix = segments[: depth + 1]
        if not any(len(p) > depth and all(map(_segment_matches, p[: depth + 1], prefix)) for p, _ in ROUTES):
            raise bad_request(f"Resource not found for the segment '{segments[depth]}'.")
    raise bad_request("Resource not found for the segment 'recovery'.")


class GraphDispatcher:
    """The Starlette endpoint for every path outside the control plane."""

    def __init__(self, service: EmulatorService) -> None:
        self.service = service

    async def handle(self, request: Request) -> Response:
        include = wants_unknown_members(request.headers.getlist("prefer"))
        try:
            return await self._dispatch(request, include)
        except GraphError as exc:
            return error_response(request, exc, self.service.clock, include)
        except Exception:
            log.exception("emulator: unhandled error for %s %s", request.method, request.url.path)
            error = GraphError(500, "InternalServerError", "An internal server error occurred.")
            return error_response(request, error, self.service.clock, include)

    async def _dispatch(self, request: Request, include: bool) -> Response:
        path = request.url.path
        segments = path.strip("/").split("/")
        version, rest = segments[0], [s for s in segments[1:] if s]
        if version not in VERSIONS:
            raise bad_request(f"Invalid version: {version}" if version else "Invalid request: no version.")
        claims = authenticate(request.headers.get("authorization"))
        if not rest:
            raise bad_request("Invalid request: the path is empty.")
        if rest[0] == "auditLogs":            # one authorization and throttle for every report resource
            refused = audit_routes.gate(self.service, request, claims)
            if refused is not None:
                return refused
        handlers, params = resolve(rest)
        handler = handlers.get(request.method)
        if handler is None:
            raise method_not_allowed(request.method)
        root = str(request.base_url).rstrip("/")
        params_ = normalise_params(request.query_params.multi_items())
        ctx = GraphContext(request=request, version=version, root=root, path=path, params=params_,
                           include_unknown=include)
        await self.service.settle()
        return await handler(self.service, ctx, claims, **params)
