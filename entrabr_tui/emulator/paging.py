"""Collection responses: one page of items plus ``@odata.count`` / ``@odata.nextLink``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from starlette.responses import Response

from .context import GraphContext
from .odata import QueryOptions, next_link
from .views import page_bytes

T = TypeVar("T")


def collection_response(ctx: GraphContext, items: Sequence[T], opts: QueryOptions, context: str,
                        render: Callable[[T], bytes]) -> Response:
    """Serve the page of ``items`` selected by ``opts`` (items are already filtered and ordered)."""
    total = len(items)
    start = min(opts.offset, total)
    end = min(start + opts.top, total)
    link = next_link(ctx.url, opts, end) if end < total else None
    if opts.select is not None:
        context = f"{context}({','.join(opts.select)})"
    body = page_bytes(ctx.context_url(context), [render(item) for item in items[start:end]], link,
                      total if opts.count else None)
    return ctx.json(body)
