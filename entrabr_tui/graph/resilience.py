"""Our retry layer: throttling, server hiccups, dropped connections and truncated bodies.

kiota's own retry handler is switched off (see :mod:`entrabr_tui.graph.adapter`): it sleeps with
``asyncio.sleep`` (not injectable), honours ``Retry-After`` without a cap or jitter, refuses any
``Retry-After`` of 180 s or more, and never retries transport errors. Stacking it under this layer would
multiply the attempts, so every retry decision is made here, in one place:

* 429 / 503 / 504 wait for ``Retry-After`` (capped at ``max_retry_after``, plus jitter) or, without the
  header, an exponential backoff; then try again, up to ``max_attempts`` tries in all.
* Transport errors (reset, timeout, disconnect, protocol errors) and truncated or malformed bodies are
  retried with backoff for reads (GET). Writes (POST) are retried only when the request certainly did not
  reach the service (connection refused, throttled with 429, 503): otherwise a job may have been created,
  so :class:`~entrabr_tui.graph.errors.OutcomeUnknownError` is raised instead.
* A redirect to another host is never followed (:class:`RedirectRefused`, raised by the redirect hook in
  :mod:`entrabr_tui.graph.adapter`) and never retried: it becomes an
  :class:`~entrabr_tui.graph.errors.UnexpectedResponseError`.

Every wait is announced before it starts, as a :class:`RetryEvent` (why, which try, how long, until when),
to ``RetryPolicy.on_retry`` and to the listeners the caller registered, so a progress line can show a
countdown instead of freezing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TypeVar

import httpx
import orjson
from azure.core.exceptions import AzureError
from kiota_abstractions.api_error import APIError
from kiota_authentication_azure._exceptions import KiotaAuthenticationError

from entrabr_tui.graph.errors import (
    AuthError,
    GraphError,
    NetworkError,
    Operation,
    OutcomeUnknownError,
    ResponseInfo,
    UnexpectedResponseError,
    clean_text,
    for_status,
    header,
    parse_retry_after,
)

T = TypeVar("T")
log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 503, 504})
#: Statuses after which a POST certainly was not processed, so repeating it cannot create a second job.
POST_SAFE_STATUSES = frozenset({429, 503})


class MalformedBody(Exception):
    """A response body that is empty, truncated or not the JSON shape expected (retried for reads)."""


class RedirectRefused(Exception):
    """The service redirected a request to another scheme, host or port; the hop was not made."""

    def __init__(self, from_url: str, to_url: str) -> None:
        super().__init__(f"redirect from {from_url} to {to_url} refused")
        self.from_url = from_url
        self.to_url = to_url


class StatusError(Exception):
    """An error status read from a raw response (requests whose status and headers we read ourselves)."""

    def __init__(self, info: ResponseInfo) -> None:
        super().__init__(f"HTTP {info.status}")
        self.info = info


def status_error(response: httpx.Response) -> StatusError:
    """Parse Graph's error envelope (``{"error": {"code", "message", "innerError"}}``) leniently."""
    code = message = request_id = None
    try:
        doc = orjson.loads(response.content) if response.content else None
    except orjson.JSONDecodeError:
        doc = None
    error = doc.get("error") if isinstance(doc, dict) else None
    if isinstance(error, dict):
        code = error.get("code") if isinstance(error.get("code"), str) else None
        message = error.get("message") if isinstance(error.get("message"), str) else None
        inner = error.get("innerError")
        if isinstance(inner, dict) and isinstance(inner.get("request-id"), str):
            request_id = inner["request-id"]
    return StatusError(
        ResponseInfo(
            status=response.status_code,
            code=code,
            server_message=message,
            request_id=request_id or response.headers.get("request-id"),
            retry_after=parse_retry_after(response.headers.get("retry-after")),
        )
    )


async def _asyncio_sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class RetryCause(StrEnum):
    """Why a request is about to be tried again."""

    THROTTLED = "throttled"  # HTTP 429
    SERVER_ERROR = "server error"  # HTTP 503 / 504
    NETWORK = "network"  # connection refused, reset, timed out, cut off
    UNREADABLE_RESPONSE = "unreadable response"  # empty, truncated or malformed body


@dataclass(frozen=True, slots=True)
class RetryEvent:
    """Announced before each wait between two tries of one request (for a countdown on a progress line).

    ``attempt`` is the try that just failed (1-based) out of at most ``max_attempts``; the next try starts
    ``delay`` seconds from now, at ``until`` (UTC). ``retry_after`` is what the service asked for, before
    capping and jitter.
    """

    operation: Operation
    cause: RetryCause
    attempt: int
    max_attempts: int
    delay: float
    until: datetime
    reason: str  # "HTTP 429", "ReadTimeout", "malformed body", ...
    retry_after: float | None = None


#: Receives a :class:`RetryEvent` before each wait. It must not block; an exception it raises is logged and
#: the retry goes on.
RetryListener = Callable[[RetryEvent], object]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try. All delays go through ``sleep`` so tests can make them instant."""

    max_attempts: int = 6
    max_retry_after: float = 300.0  # longest honoured Retry-After; longer values are clamped to this
    backoff_base: float = 0.5  # first backoff without Retry-After; doubles per try
    backoff_max: float = 30.0
    jitter: float = 0.1  # up to this fraction of each delay is added at random
    retry_statuses: frozenset[int] = RETRY_STATUSES
    sleep: Callable[[float], Awaitable[None]] = _asyncio_sleep
    rng: Callable[[], float] = field(default=random.random)
    on_retry: RetryListener | None = None
    now: Callable[[], datetime] = _utc_now  # wall clock for ``RetryEvent.until``

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait after failed try number ``attempt`` (1-based)."""
        if retry_after is not None and retry_after > 0:
            base = min(retry_after, self.max_retry_after)
        else:
            base = min(self.backoff_base * 2 ** (attempt - 1), self.backoff_max)
        return base + base * self.jitter * self.rng()


def response_info(exc: APIError) -> ResponseInfo:
    """Status, Graph error code/message, request id and Retry-After of an SDK error."""
    headers = exc.response_headers
    code = message = request_id = None
    main = getattr(exc, "error", None)  # ODataError.error: MainError
    if main is not None:
        code = getattr(main, "code", None)
        message = getattr(main, "message", None)
        inner = getattr(main, "inner_error", None)
        if inner is not None:
            request_id = getattr(inner, "request_id", None)
    if message is None and exc.message and "could not be parsed" not in exc.message:
        message = exc.message
    return ResponseInfo(
        status=exc.response_status_code,
        code=code,
        server_message=message,
        request_id=request_id or header(headers, "request-id"),
        retry_after=parse_retry_after(header(headers, "retry-after")),
    )


def _never_sent(exc: httpx.TransportError) -> bool:
    """True when the request cannot have reached the service."""
    return isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)


def _describe(exc: BaseException) -> str:
    text = clean_text(exc, 160)
    return type(exc).__name__ + (f": {text}" if text else "")


def _status_cause(status: int) -> RetryCause:
    return RetryCause.THROTTLED if status == 429 else RetryCause.SERVER_ERROR


class Retrier:
    """Runs one request (an ``attempt`` coroutine factory) under a :class:`RetryPolicy`.

    ``listeners`` receive every :class:`RetryEvent` (after ``policy.on_retry``); a call can add its own.
    """

    def __init__(self, policy: RetryPolicy, listeners: Iterable[RetryListener] = ()) -> None:
        self.policy = policy
        self.listeners: list[RetryListener] = list(listeners)

    def _announce(self, event: RetryEvent, extra: RetryListener | None) -> None:
        targets = [self.policy.on_retry, *self.listeners, extra]
        for listener in targets:
            if listener is None:
                continue
            try:
                listener(event)
            except Exception:  # a broken progress display must not abort the request
                log.exception("a retry listener failed")

    async def _wait(
        self,
        operation: Operation,
        cause: RetryCause,
        attempt: int,
        reason: str,
        retry_after: float | None,
        listener: RetryListener | None,
    ) -> None:
        policy = self.policy
        delay = policy.delay(attempt, retry_after)
        until = policy.now() + timedelta(seconds=delay)
        event = RetryEvent(
            operation=operation,
            cause=cause,
            attempt=attempt,
            max_attempts=max(1, policy.max_attempts),
            delay=delay,
            until=until,
            reason=reason,
            retry_after=retry_after,
        )
        self._announce(event, listener)
        await policy.sleep(delay)

    async def call(
        self,
        attempt: Callable[[], Awaitable[T]],
        operation: Operation,
        *,
        idempotent: bool,
        on_retry: RetryListener | None = None,
    ) -> T:
        """Run ``attempt`` until it succeeds, retrying what is safe to retry; raise a ``GraphError``.

        ``on_retry`` hears about this call's waits, besides the policy's and the retrier's listeners.
        """
        max_attempts = max(1, self.policy.max_attempts)
        for n in range(1, max_attempts + 1):
            last = n == max_attempts
            try:
                return await attempt()
            except GraphError:
                raise
            except RedirectRefused as exc:
                raise UnexpectedResponseError(
                    f"{operation.doing} failed: Microsoft Graph redirected the request to another host "
                    f"({clean_text(exc.to_url, 200)}). An answer from there is not the service's answer, "
                    "so it was not requested.",
                    operation=operation,
                ) from exc
            except (APIError, StatusError) as exc:
                info = exc.info if isinstance(exc, StatusError) else response_info(exc)
                status = info.status or 0
                retryable = status in self.policy.retry_statuses and (
                    idempotent or status in POST_SAFE_STATUSES
                )
                if retryable and not last:
                    await self._wait(
                        operation, _status_cause(status), n, f"HTTP {status}", info.retry_after, on_retry
                    )
                    continue
                if not idempotent and status in self.policy.retry_statuses and not retryable:
                    raise OutcomeUnknownError(
                        f"{operation.doing} timed out at a gateway (HTTP {status}); the service may or may "
                        "not have done it. Check the job list before trying again.",
                        status=status,
                        code=info.code,
                        request_id=info.request_id,
                        operation=operation,
                    ) from exc
                raise for_status(info, operation, attempts=n) from exc
            except httpx.UnsupportedProtocol as exc:
                raise NetworkError(
                    f"{operation.doing} failed: the Graph URL is not usable ({_describe(exc)}).",
                    operation=operation,
                ) from exc
            except httpx.TransportError as exc:
                if not idempotent and not _never_sent(exc):
                    raise OutcomeUnknownError(
                        f"{operation.doing} lost its connection ({_describe(exc)}); the service may or may "
                        "not have done it. Check the job list before trying again.",
                        operation=operation,
                    ) from exc
                if not last:
                    await self._wait(operation, RetryCause.NETWORK, n, type(exc).__name__, None, on_retry)
                    continue
                raise NetworkError(
                    f"{operation.doing} failed: could not reach Microsoft Graph after {n} tries "
                    f"({_describe(exc)}). Check the network connection and try again.",
                    operation=operation,
                ) from exc
            except (MalformedBody, json.JSONDecodeError) as exc:
                if idempotent and not last:
                    await self._wait(
                        operation, RetryCause.UNREADABLE_RESPONSE, n, "malformed body", None, on_retry
                    )
                    continue
                raise UnexpectedResponseError(
                    f"{operation.doing} failed: Microsoft Graph sent a response that could not be read "
                    f"after {n} tries ({_describe(exc)}).",
                    operation=operation,
                ) from exc
            except KiotaAuthenticationError as exc:
                raise GraphError(
                    f"{operation.doing} failed: {_describe(exc)}. Use an https Graph URL "
                    "(plain http is accepted only for localhost).",
                    operation=operation,
                ) from exc
            except AzureError as exc:
                raise AuthError(
                    f"{operation.doing} failed: no access token could be obtained ({_describe(exc)}). "
                    "Sign in again.",
                    operation=operation,
                ) from exc
        raise AssertionError("unreachable")  # pragma: no cover
