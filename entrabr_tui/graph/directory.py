"""``DirectoryClient``: which users and groups are synchronised from on-premises, looked up in bulk.

Difference reports do not say whether an object's source of authority is on-premises (Microsoft's
``getChanges`` examples carry no ``onPremisesSyncEnabled``), yet recovery leaves such objects alone. So the
client asks the directory, the way the Graph reference documents it:

* ``POST /directoryObjects/getByIds?$select=id,onPremisesSyncEnabled`` with ``types`` user and group: up to
  1,000 ids a request; needs ``Directory.Read.All`` (delegated or application). On v1.0, users come back with
  a limited default set of properties unless ``$select`` names the wanted ones (a documented known issue
  and its workaround).
* when that is refused (403): ``GET /users`` and ``GET /groups`` with ``$filter=id in (…)`` and the same
  ``$select``: 15 ids a request (the default limit of the ``in`` operator); needs ``User.Read.All`` and
  ``GroupMember.Read.All``.

Objects that are deleted, unknown, or neither users nor groups are not returned by either call: their status
is ``None`` (unknown). Ids that are not GUIDs are never sent (Graph rejects the whole request for one).

The client also reads the live Conditional Access policies (``GET /identity/conditionalAccess/policies``,
``Policy.Read.All``): a restore's lockout check needs the state a restore writes over.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_abstractions.request_information import RequestInformation
from msgraph.generated.groups.groups_request_builder import GroupsRequestBuilder
from msgraph.generated.users.users_request_builder import UsersRequestBuilder

from entrabr_tui.graph import errors as ops
from entrabr_tui.graph.errors import ForbiddenError
from entrabr_tui.graph.paging import decode_collection
from entrabr_tui.graph.requests import get_by_ids
from entrabr_tui.graph.session import GraphSession

#: Most ids one getByIds request takes (Graph reference).
GET_BY_IDS_BATCH = 1000
#: Most values of one ``in`` filter without advanced query parameters (Graph known issues).
IN_FILTER_BATCH = 15
SYNC_PROPERTY = "onPremisesSyncEnabled"
_SELECT = ["id", SYNC_PROPERTY]
_TYPES = ["user", "group"]


def _is_guid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _batches(items: Sequence[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start:start + size])


def _status(item: dict[str, Any]) -> bool | None:
    """True: synchronised from on-premises; False: cloud object (null or false); None: not said."""
    if SYNC_PROPERTY not in item:
        return None
    return item[SYNC_PROPERTY] is True


class DirectoryClient:
    """Bulk directory lookups on the Graph session of a :class:`~entrabr_tui.graph.client.RecoveryClient`
    (same request adapter, middleware and retry layer)."""

    def __init__(self, session: GraphSession) -> None:
        self._session = session
        self._get_by_ids_refused = False

    async def lookup_sync_status(self, ids: Iterable[str]) -> dict[str, bool | None]:
        """Whether each object is synchronised from on-premises: True, False (cloud object), or None when
        the directory does not return it (deleted, unknown, not a user or group, not a GUID).

        Keys are the ids as given. Raises :class:`~entrabr_tui.graph.errors.ForbiddenError` (naming the
        permissions) when neither way of looking up is allowed, and the client's other typed errors.
        """
        result: dict[str, bool | None] = {}
        wanted: dict[str, str] = {}  # lower-cased id -> id as given
        for object_id in ids:
            result[object_id] = None
            if _is_guid(object_id):
                wanted.setdefault(object_id.lower(), object_id)
        if not wanted:
            return result
        unique = list(wanted)
        if not self._get_by_ids_refused:
            try:
                found = await self._by_ids(unique)
            except ForbiddenError:
                self._get_by_ids_refused = True
            else:
                return self._merge(result, found)
        return self._merge(result, await self._by_lists(unique))

    @staticmethod
    def _merge(result: dict[str, bool | None], found: list[dict[str, Any]]) -> dict[str, bool | None]:
        statuses = {item["id"].lower(): _status(item) for item in found if isinstance(item.get("id"), str)}
        for object_id in result:
            result[object_id] = statuses.get(object_id.lower())
        return result

    async def conditional_access_policies(self) -> list[dict[str, Any]]:
        """Every Conditional Access policy as it is now (raises
        :class:`~entrabr_tui.graph.errors.ForbiddenError` without ``Policy.Read.All``)."""
        graph = self._session.graph

        def first() -> RequestInformation:
            return graph.identity.conditional_access.policies.to_get_request_information()

        return await self._session.read_collection(first, ops.READ_CA_POLICIES)

    async def _by_ids(self, ids: list[str]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for batch in _batches(ids, GET_BY_IDS_BATCH):

            async def attempt(batch: list[str] = batch) -> list[dict[str, Any]]:
                body = await self._session.get_bytes(get_by_ids(batch, _TYPES, _SELECT))
                items, _, _ = decode_collection(body)
                return items

            found.extend(await self._session.call(attempt, ops.LOOKUP_SYNC_STATUS, idempotent=True))
        return found

    async def _by_lists(self, ids: list[str]) -> list[dict[str, Any]]:
        graph = self._session.graph
        found: list[dict[str, Any]] = []
        for batch in _batches(ids, IN_FILTER_BATCH):
            text = "id in ({})".format(",".join(f"'{i}'" for i in batch))

            def users(text: str = text) -> RequestInformation:
                query = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(
                    filter=text, select=_SELECT)
                return graph.users.to_get_request_information(RequestConfiguration(query_parameters=query))

            def groups(text: str = text) -> RequestInformation:
                query = GroupsRequestBuilder.GroupsRequestBuilderGetQueryParameters(
                    filter=text, select=_SELECT)
                return graph.groups.to_get_request_information(RequestConfiguration(query_parameters=query))

            found.extend(await self._session.read_collection(users, ops.LOOKUP_SYNC_STATUS))
            found.extend(await self._session.read_collection(groups, ops.LOOKUP_SYNC_STATUS))
        return found
