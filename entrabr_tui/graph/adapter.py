"""Building msgraph-sdk's ``GraphServiceClient`` and request adapter for any Graph base URL.

The pitfalls handled here (measured with msgraph-sdk 1.65 / kiota 1.16):

* A client passed to ``GraphRequestAdapter`` is used as-is, without middleware, so the httpx client is
  wrapped first with ``GraphClientFactory.create_with_default_middleware``.
* httpx normalises the base URL to end in ``/`` and the adapter copies it, which gives ``/v1.0//directory``;
  ``adapter.base_url`` is therefore set explicitly.
* Without explicit scopes the token scope is derived from the request host (``http://127.0.0.1/.default``
  against a local emulator); the Graph scope is always passed so a real credential asks for a Graph token.
* A bare httpx client times out after 5 s; explicit timeouts are set.
* kiota's retry handler is switched off: :mod:`entrabr_tui.graph.resilience` owns every retry.
* kiota's redirect handler follows a redirect to any host (it only drops the token on the way), and the
  answer then looks like the service's own: an empty page from elsewhere would end a walk over change pages
  as if it were the last one. A redirect to another scheme, host or port is refused before it is made
  (:func:`refuse_cross_origin_redirect`); redirects within the service's origin are still followed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx
from azure.core.credentials_async import AsyncTokenCredential
from kiota_authentication_azure.azure_identity_authentication_provider import (
    AzureIdentityAuthenticationProvider,
)
from kiota_http.middleware.options import RedirectHandlerOption, RetryHandlerOption
from msgraph.graph_request_adapter import GraphRequestAdapter
from msgraph.graph_request_adapter import options as graph_default_options
from msgraph.graph_service_client import GraphServiceClient
from msgraph_core import GraphClientFactory

from entrabr_tui.graph.resilience import RedirectRefused
from entrabr_tui.graph.tls import ssl_context_for

DEFAULT_BASE_URL = "https://graph.microsoft.com/v1.0"
GRAPH_SCOPES: tuple[str, ...] = ("https://graph.microsoft.com/.default",)
#: Evolvable enum members after ``unknownFutureValue`` (``loadingData``, ``organization``, ...) are only sent
#: to callers that ask for them.
PREFER_UNKNOWN_ENUMS = "include-unknown-enum-members"
#: A 999-item change page is about 800 kB; the service can be slow to produce it.
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=15.0)


def normalise_base_url(base_url: str) -> str:
    """Strip trailing slashes and check the URL has a scheme and host (``https://host/v1.0``)."""
    value = base_url.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"Not a usable Graph base URL: {base_url!r} (expected e.g. {DEFAULT_BASE_URL})")
    return value


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    default = {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host, url.port or default


def refuse_cross_origin_redirect(next_request: httpx.Request, previous_url: httpx.URL) -> None:
    """kiota's redirect hook (its ``scrub_sensitive_headers``), run before each hop is sent: a hop to
    another scheme, host or port raises :class:`~entrabr_tui.graph.resilience.RedirectRefused`."""
    if _origin(next_request.url) != _origin(previous_url):
        raise RedirectRefused(str(previous_url), str(next_request.url))


def build_graph_client(
    credential: AsyncTokenCredential,
    base_url: str = DEFAULT_BASE_URL,
    *,
    timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
    transport: httpx.AsyncBaseTransport | None = None,
    scopes: Sequence[str] = GRAPH_SCOPES,
) -> tuple[GraphServiceClient, httpx.AsyncClient]:
    """A ``GraphServiceClient`` on the default Graph middleware, plus the httpx client to close later."""
    base = normalise_base_url(base_url)
    http = httpx.AsyncClient(
        base_url=base,
        timeout=timeout,
        transport=transport,
        headers={"Prefer": PREFER_UNKNOWN_ENUMS},
        verify=ssl_context_for(base),
    )
    options: dict[str, Any] = dict(graph_default_options)
    options[RetryHandlerOption.get_key()] = RetryHandlerOption(delay=0, max_retries=0, should_retry=False)
    # kiota would raise a bare Exception for a scheme change; the hook refuses it (and any origin change)
    # as a typed error instead.
    options[RedirectHandlerOption.get_key()] = RedirectHandlerOption(
        allow_redirect_on_scheme_change=True, scrub_sensitive_headers=refuse_cross_origin_redirect
    )
    http = GraphClientFactory.create_with_default_middleware(client=http, options=options)
    auth = AzureIdentityAuthenticationProvider(credential, scopes=list(scopes))
    adapter = GraphRequestAdapter(auth, client=http)
    adapter.base_url = base
    return GraphServiceClient(request_adapter=adapter), http


_PATCH_MARK = "_entrabr_fast_entity_deserializers"


def patch_entity_field_deserializers() -> bool:
    """Replace ``Entity.get_field_deserializers`` with an equivalent that does no imports. Idempotent.

    The generated method runs about 2,400 function-local ``from .x import Y`` statements on every call,
    and kiota calls it once per deserialized Entity-derived object (about 4.5 ms each, so ~200 objects/s).
    ``Entity`` itself maps only ``id`` and ``@odata.type``, so this replacement is exact. Returns ``True``
    when the patch was applied by this call.
    """
    from msgraph.generated.models.entity import Entity

    if getattr(Entity.get_field_deserializers, _PATCH_MARK, False):
        return False

    def get_field_deserializers(self: Entity) -> dict[str, Callable[[Any], None]]:
        return {
            "id": lambda n: setattr(self, "id", n.get_str_value()),
            "@odata.type": lambda n: setattr(self, "odata_type", n.get_str_value()),
        }

    setattr(get_field_deserializers, _PATCH_MARK, True)
    Entity.get_field_deserializers = get_field_deserializers  # type: ignore[method-assign]  # patched on purpose
    return True
