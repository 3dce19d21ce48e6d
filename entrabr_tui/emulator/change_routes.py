"""Graph handlers for job results: ``getChanges`` (preview) and ``getFailedChanges`` (recovery).

Page faults (``no-next-link``, ``short-page``, ``malformed-change``, ``redirect-foreign``; see
:mod:`entrabr_tui.emulator.faults`) are applied here, to successful result pages only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import Any

import orjson
from starlette.responses import Response

from .authz import Action, authorize
from .context import GraphContext
from .directory import ChangeRecord, FailedChange
from .enums import LATE_TYPES, NAMESPACE, RECOVERY_ACTION, RESOURCE_TYPES, UNKNOWN
from .faults import Fault, break_change
from .graph_errors import bad_request
from .job_routes import find_job
from .jobs import PREVIEW, RECOVERY, Job
from .odata import FieldSpec, QueryOptions, apply_order, compile_filter, parse_collection_options
from .paging import collection_response
from .service import EmulatorService
from .tokens import Claims
from .views import CHANGE_FIELDS, change_bytes

CHANGE_FILTERS = {
    "id": FieldSpec("text"),
    "entityTypeName": FieldSpec("enum", values=RESOURCE_TYPES, aliases={UNKNOWN: LATE_TYPES}),
    "recoveryAction": FieldSpec("enum", values=RECOVERY_ACTION),
    "displayName": FieldSpec("text", ops=frozenset({"eq", "ne", "startswith"})),
}
CHANGE_ORDER = ("id", "entityTypeName", "recoveryAction", "displayName")
CHANGES_CONTEXT = f"Collection({NAMESPACE}.recoveryChangeObjectBase)"
_ATTRS = {"id": "id", "entityTypeName": "entity_type", "recoveryAction": "action",
          "displayName": "display_name"}
RECORD_GETTERS: dict[str, Callable[[Any], Any]] = {k: attrgetter(v) for k, v in _ATTRS.items()}
FAILED_GETTERS: dict[str, Callable[[Any], Any]] = {k: attrgetter(f"record.{v}") for k, v in _ATTRS.items()}


def _not_completed(job_id: str, what: str) -> Exception:
    return bad_request(f"Job with identifier {job_id} must have completed successfully prior to "
                       f"enumerating {what}.")


def _job_and_options(service: EmulatorService, ctx: GraphContext, claims: Claims, snapshot_id: str,
                     job_id: str, kind: str) -> tuple[Job, QueryOptions]:
    """Checks shared by both result lists, in Graph's order: access, snapshot, job, query options."""
    authorize(claims, Action.READ)
    service.snapshot_time(snapshot_id, for_job=True)
    job = find_job(service, job_id, kind, snapshot_id)
    opts = parse_collection_options(ctx.params, select_fields=CHANGE_FIELDS, filter_fields=CHANGE_FILTERS,
                                    order_fields=CHANGE_ORDER)
    return job, opts


async def _view(service: EmulatorService, key: tuple[Any, ...], items: Sequence[Any], opts: QueryOptions,
                getters: dict[str, Callable[[Any], Any]]) -> Sequence[Any]:
    if not opts.clauses and not opts.orderby:
        return items

    def build() -> list[Any]:
        pred = compile_filter(opts.clauses, CHANGE_FILTERS, getters)
        out = [i for i in items if pred(i)] if pred else list(items)
        return apply_order(out, opts.orderby, getters) if opts.orderby else out

    return await service.view((*key, opts.filter_text, opts.orderby_text), build, len(items))


async def _redirect_foreign(service: EmulatorService, ctx: GraphContext, fault: Fault) -> Response:
    """Send the page request to the fault's second listener (same path and query, another port)."""
    server = ctx.request.scope.get("server")
    host = str(server[0]) if server else "127.0.0.1"
    base = await service.faults.foreign.base_url(host)
    query = ctx.request.url.query
    return ctx.empty(fault.status, headers={"Location": f"{base}{ctx.path}" + (f"?{query}" if query else "")})


def _with_page_faults(service: EmulatorService, ctx: GraphContext, response: Response) -> Response:
    """The page, altered as the page faults that fire say (unchanged when none fires)."""
    doc = orjson.loads(bytes(response.body))
    items = doc["value"]
    plan = service.faults.plan_page(ctx.path, len(items), "@odata.nextLink" in doc)
    if not plan.changes_page:
        return response
    for position, variant in plan.mangle:
        items[position] = break_change(items[position], variant)
    if plan.lose:
        del items[len(items) - plan.lose:]
    if plan.drop_next_link:
        del doc["@odata.nextLink"]
    return ctx.json(orjson.dumps(doc))


async def _serve(service: EmulatorService, ctx: GraphContext, page: Callable[[], Response]) -> Response:
    """A result page, through the page faults registered for this path."""
    faults = service.faults
    if not faults.has_page_faults(ctx.path):
        return page()
    redirect = faults.pick_redirect(ctx.path)
    if redirect is not None:
        return await _redirect_foreign(service, ctx, redirect)
    return _with_page_faults(service, ctx, page())


async def get_changes(service: EmulatorService, ctx: GraphContext, claims: Claims,
                      snapshot_id: str, job_id: str) -> Response:
    """#7: the difference report of a successful preview job, paged."""
    job, opts = _job_and_options(service, ctx, claims, snapshot_id, job_id, PREVIEW)
    if job.status != "successful" or job.records is None:
        raise _not_completed(job.id, "changes")
    records: list[ChangeRecord] = job.records
    items = await _view(service, ("changes", job.id, id(records)), records, opts, RECORD_GETTERS)
    include, select = ctx.include_unknown, opts.select
    return await _serve(service, ctx, lambda: collection_response(
        ctx, items, opts, CHANGES_CONTEXT, lambda r: change_bytes(r.body, r.entity_type, include, select)))


async def get_failed_changes(service: EmulatorService, ctx: GraphContext, claims: Claims,
                             snapshot_id: str, job_id: str) -> Response:
    """#11: the changes a finished recovery job could not apply, each with ``failureMessage``."""
    job, opts = _job_and_options(service, ctx, claims, snapshot_id, job_id, RECOVERY)
    if job.status not in {"successful", "failed"} or job.outcome is None:
        raise _not_completed(job.id, "failed changes")
    failed: tuple[FailedChange, ...] = job.outcome.failed
    items = await _view(service, ("failed", job.id, id(failed)), failed, opts, FAILED_GETTERS)
    include, select = ctx.include_unknown, opts.select
    return await _serve(service, ctx, lambda: collection_response(
        ctx, items, opts, CHANGES_CONTEXT,
        lambda f: change_bytes(f.body, f.record.entity_type, include, select)))
