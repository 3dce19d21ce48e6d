"""``GraphSession``: one request adapter plus our retry layer, and the primitives the client builds on.

It owns the ``GraphServiceClient`` (typed builders), its kiota request adapter (default Graph middleware)
and the httpx client underneath. Every request goes through :meth:`GraphSession.call`, which retries what
is safe to retry and turns every failure into a typed :class:`~entrabr_tui.graph.errors.GraphError`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar, cast

import httpx
from azure.core.credentials_async import AsyncTokenCredential
from kiota_abstractions.request_information import RequestInformation
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.graph_service_client import GraphServiceClient

from entrabr_tui.graph.adapter import (
    DEFAULT_BASE_URL,
    DEFAULT_TIMEOUT,
    GRAPH_SCOPES,
    build_graph_client,
    normalise_base_url,
    patch_entity_field_deserializers,
)
from entrabr_tui.graph.errors import Operation, UnexpectedResponseError
from entrabr_tui.graph.paging import (
    ChangePage,
    ChangeWalk,
    decode_collection,
    decode_page,
    same_origin,
    walk_pages,
)
from entrabr_tui.graph.requests import get_url, native_response
from entrabr_tui.graph.resilience import (
    MalformedBody,
    Retrier,
    RetryListener,
    RetryPolicy,
    status_error,
)

T = TypeVar("T")
ERROR_MAPPING: dict[str, Any] = {"XXX": ODataError}


class GraphSession:
    """The SDK client, its adapter and the retry layer for one Graph base URL and credential."""

    def __init__(
        self,
        credential: AsyncTokenCredential,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        scopes: Sequence[str] = GRAPH_SCOPES,
        on_retry: RetryListener | None = None,
    ) -> None:
        patch_entity_field_deserializers()
        self.base_url = normalise_base_url(base_url)
        self.graph: GraphServiceClient
        self.graph, self._http = build_graph_client(
            credential, self.base_url, timeout=timeout, transport=transport, scopes=scopes
        )
        # Typed loosely: kiota declares send_primitive_async as returning a primitive, but with a response
        # handler option it returns the handler's result (the raw httpx.Response).
        self._adapter: Any = self.graph.request_adapter
        self.retrier = Retrier(retry or RetryPolicy(), [] if on_retry is None else [on_retry])

    async def aclose(self) -> None:
        await self._http.aclose()

    async def call(
        self,
        attempt: Callable[[], Awaitable[T]],
        operation: Operation,
        *,
        idempotent: bool,
        on_retry: RetryListener | None = None,
    ) -> T:
        """Run one request under the retry policy (see :class:`~entrabr_tui.graph.resilience.Retrier`)."""
        return await self.retrier.call(attempt, operation, idempotent=idempotent, on_retry=on_retry)

    async def get_bytes(self, info: RequestInformation) -> bytes | None:
        """The 2xx body as bytes (``None`` when empty); error statuses raise the SDK's ``ODataError``."""
        return cast("bytes | None", await self._adapter.send_primitive_async(info, "bytes", ERROR_MAPPING))

    async def send_native(self, info: RequestInformation) -> httpx.Response:
        """The raw response, for status and headers such as ``Location``; error statuses raise."""
        response = await self._adapter.send_primitive_async(native_response(info), "bytes", ERROR_MAPPING)
        if not isinstance(response, httpx.Response):  # pragma: no cover - the handler always returns it
            raise MalformedBody("no response")
        if not response.is_success:
            raise status_error(response)
        return response

    def check_link(self, url: str, operation: Operation) -> None:
        """Refuse next links to another host: the bearer token would be sent there."""
        if not same_origin(url, self.base_url):
            raise UnexpectedResponseError(
                f"{operation.doing}: refusing to follow a next-page link to another host.",
                operation=operation,
            )

    async def read_collection(
        self, make_first: Callable[[], RequestInformation], operation: Operation
    ) -> list[dict[str, Any]]:
        """Every item of a (small) collection, following next links; each page retried as a whole."""
        items: list[dict[str, Any]] = []
        link: str | None = None
        seen: set[str] = set()
        while True:

            async def attempt(link: str | None = link) -> tuple[list[dict[str, Any]], str | None]:
                info = make_first() if link is None else get_url(link)
                page_items, next_link, _ = decode_collection(await self.get_bytes(info))
                return page_items, next_link

            page, link = await self.call(attempt, operation, idempotent=True)
            items.extend(page)
            if link is None:
                return items
            self.check_link(link, operation)
            if link in seen:
                raise UnexpectedResponseError(f"{operation.doing}: the next-page links loop; stopped.")
            seen.add(link)

    def walk(
        self,
        first_url: str,
        operation: Operation,
        *,
        prefetch: bool,
        resumed: bool = False,
        on_retry: RetryListener | None = None,
    ) -> ChangeWalk:
        """Change pages from ``first_url`` on (see :func:`~entrabr_tui.graph.paging.walk_pages`)."""

        async def fetch(url: str, number: int) -> ChangePage:
            async def attempt() -> ChangePage:
                return decode_page(await self.get_bytes(get_url(url)), url, number)

            return await self.call(attempt, operation, idempotent=True, on_retry=on_retry)

        pages = walk_pages(fetch, first_url, base_url=self.base_url, prefetch=prefetch)
        return ChangeWalk(pages, resumed=resumed)
