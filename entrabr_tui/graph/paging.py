"""Pages of ``getChanges`` / ``getFailedChanges`` results, decoded from bytes with orjson.

A page is decoded whole before it is yielded, so a page that fails mid-download (dropped connection,
truncated JSON) is fetched again from the same URL by the retry layer: pages are never skipped and never
yielded twice. The next page is prefetched while the caller handles the current one. Each page carries
the URL it came from and its ``@odata.nextLink``, so a cache can store the next link and resume from it.

A walk cannot prove by itself that it saw every change object: a page without a next link ends it, and a
page may hold fewer items than it should. :class:`ChangeWalk` therefore reports the facts of the walk as a
:class:`WalkOutcome` (pages, change objects received, unreadable ones, link changes, whether a page without
a next link arrived, the ``@odata.count`` the service stated), and completeness is decided by comparing
the count with what the service announced (:mod:`entrabr_tui.core.completeness`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson

from entrabr_tui.core.completeness import Completeness, completeness, link_changes
from entrabr_tui.core.model import Change, change_problem
from entrabr_tui.graph.errors import UnexpectedResponseError
from entrabr_tui.graph.resilience import MalformedBody


@dataclass(frozen=True, slots=True)
class ChangePage:
    """One page of change objects as raw JSON dicts (converting them is the caller's choice).

    Items are kept exactly as sent, in order, unreadable ones and repeated ids included.
    """

    items: list[dict[str, Any]]
    next_link: str | None  # absolute URL of the next page, opaque; None when the service sent none
    url: str  # the URL this page was fetched from (fetch it again to repeat this page)
    number: int  # 1-based position in this walk (a resumed walk starts at 1 again)
    count: int | None = None  # "@odata.count" when the service sent one

    @property
    def is_last(self) -> bool:
        """The service sent no next link: its signal that this is the last page. Only a count comparison
        proves that nothing was lost (see :class:`WalkOutcome`)."""
        return self.next_link is None

    def changes(self) -> list[Change]:
        """The items as :class:`~entrabr_tui.core.model.Change` objects, one per item, unreadable ones
        flagged (never dropped, never merged by id)."""
        return [Change.from_json(item) for item in self.items]

    def problems(self) -> list[tuple[int, str]]:
        """``(position on the page, reason)`` of each item that is not a readable change object."""
        found = []
        for position, item in enumerate(self.items):
            problem = change_problem(item)
            if problem is not None:
                found.append((position, problem))
        return found


@dataclass(frozen=True, slots=True)
class WalkOutcome:
    """The facts of one walk over change pages, to prove a download complete (or not).

    * ``pages``, ``received``: pages and change objects received by this walk (a resumed walk counts only
      its own; pass what was stored before as ``before`` to :meth:`completeness`);
    * ``unreadable``: how many of them are not readable change objects (they are counted in ``received``);
    * ``links``: link changes inside them (``<relationship>@delta`` entries), to compare with a preview
      job's ``totalChangedLinksCalculated``;
    * ``reached_end``: the last page received had no ``@odata.nextLink``;
    * ``stated_count``: the last ``@odata.count`` the service sent, if it sent one;
    * ``resumed``: the walk started from a stored link rather than from the first page.
    """

    pages: int = 0
    received: int = 0
    unreadable: int = 0
    links: int = 0
    reached_end: bool = False
    stated_count: int | None = None
    resumed: bool = False

    def completeness(self, expected: int | None, *, before: int = 0) -> Completeness:
        """The verdict for ``before + received`` change objects against ``expected`` (see
        :func:`~entrabr_tui.core.completeness.expected_change_objects`)."""
        return completeness(before + self.received, expected, self.reached_end)


class ChangeWalk:
    """The pages of one walk, as an async iterator; :attr:`outcome` holds the facts seen so far.

    Use ``async for page in walk`` and read ``walk.outcome`` afterwards (or at any point in between).
    """

    def __init__(self, pages: AsyncIterator[ChangePage], *, resumed: bool = False) -> None:
        self._pages = pages
        self._outcome = WalkOutcome(resumed=resumed)

    @property
    def outcome(self) -> WalkOutcome:
        return self._outcome

    def __aiter__(self) -> ChangeWalk:
        return self

    async def __anext__(self) -> ChangePage:
        page = await anext(self._pages)
        seen = self._outcome
        self._outcome = WalkOutcome(
            pages=seen.pages + 1,
            received=seen.received + len(page.items),
            unreadable=seen.unreadable + len(page.problems()),
            links=seen.links + sum(link_changes(item) for item in page.items),
            reached_end=page.is_last,
            stated_count=page.count if page.count is not None else seen.stated_count,
            resumed=seen.resumed,
        )
        return page

    async def aclose(self) -> None:
        """Stop the walk (a prefetched page is dropped)."""
        closer = getattr(self._pages, "aclose", None)
        if closer is not None:
            await closer()


def decode_json_object(body: bytes | None) -> dict[str, Any]:
    """Decode a JSON object body; empty, truncated or non-object bodies raise ``MalformedBody``."""
    if not body:
        raise MalformedBody("empty body")
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedBody(f"invalid JSON ({len(body)} bytes): {exc}") from exc
    if not isinstance(doc, dict):
        raise MalformedBody(f"expected a JSON object, got {type(doc).__name__}")
    return doc


def decode_collection(body: bytes | None) -> tuple[list[dict[str, Any]], str | None, int | None]:
    """``value``, ``@odata.nextLink`` and ``@odata.count`` of a collection body."""
    doc = decode_json_object(body)
    items = doc.get("value")
    if not isinstance(items, list):
        raise MalformedBody("the response has no 'value' list")
    for item in items:
        if type(item) is not dict:
            raise MalformedBody(f"a 'value' entry is a {type(item).__name__}, not an object")
    next_link = doc.get("@odata.nextLink")
    if next_link is not None and (not isinstance(next_link, str) or not next_link):
        raise MalformedBody("'@odata.nextLink' is not a URL")
    count = doc.get("@odata.count")
    return items, next_link, count if isinstance(count, int) and not isinstance(count, bool) else None


def decode_page(body: bytes | None, url: str, number: int) -> ChangePage:
    """Decode one page of change objects."""
    items, next_link, count = decode_collection(body)
    return ChangePage(items=items, next_link=next_link, url=url, number=number, count=count)


def same_origin(url: str, base_url: str) -> bool:
    """True when ``url`` has the scheme, host and port of ``base_url`` (so the token may be sent there)."""
    a, b = urlsplit(url), urlsplit(base_url)
    return a.scheme.lower() == b.scheme.lower() and a.netloc.lower() == b.netloc.lower()


def _check_link(url: str, base_url: str, seen: set[str], number: int) -> UnexpectedResponseError | None:
    if not same_origin(url, base_url):
        return UnexpectedResponseError(
            f"Refusing to follow a next-page link to another host ({urlsplit(url).netloc!r}); "
            f"expected {urlsplit(base_url).netloc!r}."
        )
    if url in seen:
        return UnexpectedResponseError(
            f"Microsoft Graph returned a next-page link that loops back to page {number}; stopped."
        )
    return None


def _forget(task: asyncio.Future[ChangePage]) -> None:
    """Drop a prefetch nobody will read, without 'exception was never retrieved' noise."""
    if task.done():
        if not task.cancelled():
            task.exception()
    else:
        task.cancel()
        task.add_done_callback(lambda t: t.cancelled() or t.exception())


async def walk_pages(
    fetch: Callable[[str, int], Awaitable[ChangePage]],
    first_url: str,
    *,
    base_url: str,
    prefetch: bool = True,
) -> AsyncIterator[ChangePage]:
    """Yield pages from ``first_url`` on, following ``@odata.nextLink`` as opaque URLs.

    ``fetch(url, number)`` must retry a failed download itself. With ``prefetch`` the next page is
    requested as soon as a page is decoded, so it downloads while the caller works on the current one
    (at most two pages are held). A next link to another host is refused (the bearer token would be sent
    there), and so is a link back to a page already read (a loop); the page holding such a link is still
    yielded first.
    """
    seen: set[str] = set()
    problem = _check_link(first_url, base_url, seen, 0)
    if problem is not None:
        raise problem
    seen.add(first_url)
    number = 1
    pending: asyncio.Future[ChangePage] | None = asyncio.ensure_future(fetch(first_url, number))
    try:
        while pending is not None:
            page = await pending
            pending = None
            link = page.next_link
            if link is not None:
                problem = _check_link(link, base_url, seen, number)
                if problem is None:
                    seen.add(link)
                    number += 1
                    if prefetch:
                        pending = asyncio.ensure_future(fetch(link, number))
            yield page
            if problem is not None:
                raise problem
            if link is not None and pending is None:
                pending = asyncio.ensure_future(fetch(link, number))
    finally:
        if pending is not None:
            _forget(pending)
