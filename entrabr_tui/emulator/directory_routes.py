"""Graph handlers for the directory lookups a client makes to learn which objects are synchronised from
on-premises: ``POST /directoryObjects/getByIds`` and ``GET /users`` / ``GET /groups`` filtered by id; and
the live Conditional Access policies (``GET /identity/conditionalAccess/policies``, ``Policy.Read.All``),
which a restore's lockout check reads.

As documented (Graph reference, directoryObject: getByIds; filter query parameter; known issues):

* ``getByIds`` takes up to 1,000 ids and optional ``types`` (case-insensitive), needs
  ``Directory.Read.All`` (delegated or application), returns the existing objects with ``@odata.type``;
  ids of deleted or unknown objects are left out. On v1.0, users come back with a limited default set of
  properties unless ``$select`` names the ones wanted (the documented known-issue workaround).
* ``/users`` (``User.Read.All``) and ``/groups`` (``GroupMember.Read.All``) accept ``$filter`` on ``id``
  (``eq``, or ``in`` with at most 15 values, Graph's default limit; with ``ConsistencyLevel: eventual`` the
  limit is a 2,048-character URL instead), ``$select`` and ``$top``, and page with ``@odata.nextLink``.
  Listed properties the emulator does not model are simply absent.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from starlette.responses import Response

from . import catalog as c
from .authz import authorize_directory
from .context import GraphContext
from .graph_errors import MSG_BAD_JSON, GraphError
from .odata import MAX_PAGE, FieldSpec, check_allowed, decode_skiptoken, encode_skiptoken, parse_filter
from .service import EmulatorService
from .tokens import Claims
from .views import page_bytes

MAX_IDS = 1000
MAX_IN_VALUES = 15
MAX_ADVANCED_URL = 2048
DIRECTORY_READ = ("Directory.Read.All", "Directory.ReadWrite.All", "Directory.AccessAsUser.All")
USER_READ = ("User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All")
POLICY_READ = ("Policy.Read.All", "Policy.ReadWrite.ConditionalAccess")
GROUP_READ = ("GroupMember.Read.All", "Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All",
              "Directory.ReadWrite.All")
#: The directoryObject types the emulated tenant holds, by their lower-cased Graph name.
DIRECTORY_TYPES = {t.lower(): t
                   for t in (c.USER, c.GROUP, c.APPLICATION, c.SERVICE_PRINCIPAL, c.ORGANIZATION)}
#: Other directoryObject types a caller may name in ``types`` (none exist in the emulated tenant).
OTHER_TYPES = frozenset({"device", "orgcontact", "administrativeunit", "directoryrole", "approleassignment",
                         "contract", "directoryroletemplate", "directoryobjectpartnerreference"})
#: Properties v1.0 returns for a user when ``$select`` is absent.
V1_USER_DEFAULT = ("businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
                   "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id")
ID_FILTER = {"id": FieldSpec("text", ops=frozenset({"eq", "in"}))}


def _error(status: int, code: str, message: str) -> GraphError:
    return GraphError(status, code, message)


def _guid(value: object) -> str:
    if not isinstance(value, str):
        raise _error(400, "Request_BadRequest", "Each id must be a string.")
    try:
        uuid.UUID(value)
    except ValueError:
        raise _error(400, "Request_BadRequest", f"Invalid object identifier '{value}'.") from None
    return value


def _select(ctx: GraphContext) -> tuple[str, ...] | None:
    values = ctx.params.get("$select")
    if not values:
        return None
    names = tuple(n.strip() for n in values[0].split(","))
    if not all(names):
        raise _error(400, "BadRequest", "Invalid $select: empty property name.")
    return None if "*" in names else names


def _project(obj: dict[str, Any], select: tuple[str, ...] | None, version: str) -> dict[str, Any]:
    """An object as returned: ``$select``ed properties, or the version's default set."""
    if select is None:
        if version == "v1.0" and obj["@odata.type"] == c.ODATA_TYPES[c.USER]:
            select = V1_USER_DEFAULT
        else:
            return obj
    out = {"@odata.type": obj["@odata.type"], "id": obj["id"]}
    out.update((name, obj[name]) for name in select if name in obj)
    return out


def _types(raw: object) -> frozenset[str]:
    if raw is None:
        return frozenset(DIRECTORY_TYPES.values())
    if not isinstance(raw, list) or not all(isinstance(t, str) for t in raw):
        raise _error(400, "Request_BadRequest", "'types' must be an array of type names.")
    wanted: set[str] = set()
    for name in raw:
        folded = name.lower().removeprefix("microsoft.graph.")
        if folded == "directoryobject":
            wanted.update(DIRECTORY_TYPES.values())
        elif folded in DIRECTORY_TYPES:
            wanted.add(DIRECTORY_TYPES[folded])
        elif folded not in OTHER_TYPES:
            raise _error(400, "Request_BadRequest", f"Invalid type '{name}' in 'types': it is not a "
                         "directory object type.")
    return frozenset(wanted)


async def get_by_ids(service: EmulatorService, ctx: GraphContext, claims: Claims) -> Response:
    """``POST /directoryObjects/getByIds``: up to 1,000 ids, optionally restricted to ``types``."""
    authorize_directory(claims, DIRECTORY_READ)
    check_allowed(ctx.params, ("$select",))
    try:
        body = orjson.loads(await ctx.request.body() or b"null")
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        raise _error(400, "BadRequest", MSG_BAD_JSON)
    extra = set(body) - {"ids", "types"}
    if extra:
        raise _error(400, "BadRequest", f"The parameter '{sorted(extra)[0]}' is not in scope of getByIds.")
    ids = body.get("ids")
    if not isinstance(ids, list) or not ids:
        raise _error(400, "Request_BadRequest", "'ids' must be a non-empty array of object ids.")
    if len(ids) > MAX_IDS:
        raise _error(400, "Request_BadRequest",
                     f"Too many ids: {len(ids)}. getByIds accepts at most {MAX_IDS} ids per request.")
    wanted = [_guid(i) for i in ids]
    types = _types(body.get("types"))
    select = _select(ctx)
    objects = await service.in_directory(service.directory.live_objects, wanted, types)
    items = [orjson.dumps(_project(o, select, ctx.version)) for o in objects]
    return ctx.json(page_bytes(ctx.context_url("directoryObjects"), items, None, None))


async def list_users(service: EmulatorService, ctx: GraphContext, claims: Claims) -> Response:
    """``GET /users`` (``$filter`` on id, ``$select``, ``$top``)."""
    authorize_directory(claims, USER_READ)
    return await _list(service, ctx, c.USER, "users")


async def list_groups(service: EmulatorService, ctx: GraphContext, claims: Claims) -> Response:
    """``GET /groups`` (``$filter`` on id, ``$select``, ``$top``)."""
    authorize_directory(claims, GROUP_READ)
    return await _list(service, ctx, c.GROUP, "groups")


async def list_ca_policies(service: EmulatorService, ctx: GraphContext, claims: Claims) -> Response:
    """``GET /identity/conditionalAccess/policies`` (``$select``, ``$top``; live state, paged)."""
    authorize_directory(claims, POLICY_READ)
    return await _list(service, ctx, c.CA_POLICY, "identity/conditionalAccess/policies")


def _ids_from_filter(ctx: GraphContext) -> list[str] | None:
    values = ctx.params.get("$filter")
    if not values:
        return None
    clauses = parse_filter(values[0], ID_FILTER)
    if len(clauses) != 1:
        raise _error(400, "Request_UnsupportedQuery", "Only one id clause is supported in this filter.")
    clause = clauses[0]
    ids = list(clause.value) if clause.op == "in" else [clause.value]
    eventual = ctx.request.headers.get("consistencylevel", "").strip().lower() == "eventual"
    if not eventual and len(ids) > MAX_IN_VALUES:
        raise _error(400, "Request_UnsupportedQuery", "Too many child clauses specified in search filter "
                     f"expression containing 'OR' operators: {len(ids)}. Max allowed: {MAX_IN_VALUES}.")
    if eventual and len(str(ctx.request.url)) > MAX_ADVANCED_URL:
        raise _error(400, "Request_UnsupportedQuery", f"The request URL is longer than {MAX_ADVANCED_URL} "
                     "characters, the limit of an 'in' filter in an advanced query.")
    return [i for i in ids if _is_guid(i)]


def _is_guid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


async def _list(service: EmulatorService, ctx: GraphContext, entity_type: str, segment: str) -> Response:
    check_allowed(ctx.params, ("$select", "$filter", "$top", "$skiptoken"))
    select = _select(ctx)
    top_values = ctx.params.get("$top")
    top = 100
    if top_values:
        text = top_values[0].strip()
        if not text.isdigit() or not 1 <= int(text) <= MAX_PAGE:
            raise _error(400, "BadRequest", f"Invalid page size specified: '{text}'. Must be between 1 and "
                         f"{MAX_PAGE} inclusive.")
        top = int(text)
    context = ctx.context_url(segment if select is None else f"{segment}({','.join(select)})")
    ids = _ids_from_filter(ctx)
    if ids is not None:
        objects = await service.in_directory(service.directory.live_objects, ids, frozenset({entity_type}))
        next_link = None
    else:
        tokens = ctx.params.get("$skiptoken")
        start = decode_skiptoken(tokens[0], segment, "")[0] if tokens else 0
        objects, resume = await service.in_directory(service.directory.list_live, entity_type, start, top)
        next_link = None
        if resume is not None:
            token = encode_skiptoken(resume, top, segment, "")
            query = "&".join(f"{k}={v[0]}" for k, v in (("$select", ctx.params.get("$select")),
                                                          ("$top", top_values)) if v)
            next_link = f"{ctx.url}?{query + '&' if query else ''}$skiptoken={token}"
    items = [orjson.dumps(_project(o, select, ctx.version)) for o in objects]
    return ctx.json(page_bytes(context, items, next_link, None))
