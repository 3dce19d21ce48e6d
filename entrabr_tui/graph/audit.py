"""``AuditClient``: the directory audit log (``/auditLogs/directoryAudits``) on the recovery client's session.

Requests are built as ``RequestInformation`` and sent through the same request adapter as every other call
(authentication, redirects and the other middleware apply); bodies are read as bytes and decoded with orjson.
The audit-log reference (``audit-log-api.md``) sets the rules followed here:

* a window is read with ``$filter=activityDateTime ge {t0} and activityDateTime le {t1}`` (unquoted
  DateTime literals), ``$orderby=activityDateTime asc``, ``$top=1000`` and a ``$select`` of the fields the
  join with difference reports needs; ``@odata.nextLink`` is followed verbatim (same host only);
* every attempt takes a token of the shared :class:`~entrabr_tui.graph.audit_budget.RequestBudget`
  (5 requests per 10 s per app), so retries never exceed the throttle; a 429 is retried after its
  ``Retry-After`` (which also holds the budget for every other audit call), or with exponential backoff and
  jitter when the header is missing, as it sometimes is on this tier;
* retries are announced as :class:`~entrabr_tui.graph.resilience.RetryEvent` to the same listeners as the
  recovery client's;
* a 403 becomes :class:`AuditForbiddenError`, which names what is missing: the ``AuditLog.Read.All``
  permission, or a role that may read audit logs (Reports Reader …), or both.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kiota_abstractions.api_error import APIError
from kiota_abstractions.method import Method
from kiota_abstractions.request_information import RequestInformation

from entrabr_tui.graph import errors as ops
from entrabr_tui.graph.audit_budget import BudgetListener, RequestBudget
from entrabr_tui.graph.errors import ForbiddenError, UnexpectedResponseError, clean_text
from entrabr_tui.graph.paging import decode_collection, decode_json_object
from entrabr_tui.graph.requests import get_url
from entrabr_tui.graph.resilience import Retrier, RetryListener, RetryPolicy, StatusError, response_info
from entrabr_tui.graph.session import GraphSession

#: Largest page the service is known to accept for this endpoint (its maximum is not documented).
MAX_AUDIT_PAGE = 1000
#: The fields the join with difference reports reads (``$select``; Graph suggests selecting).
AUDIT_SELECT: tuple[str, ...] = (
    "id", "activityDateTime", "activityDisplayName", "category", "correlationId", "loggedByService",
    "operationType", "result", "resultReason", "initiatedBy", "targetResources",
)
_LIST_TEMPLATE = "{+baseurl}/auditLogs/directoryAudits{?%24filter,%24orderby,%24top,%24select}"
_GET_TEMPLATE = "{+baseurl}/auditLogs/directoryAudits/{directoryAudit%2Did}{?%24select}"
#: The roles named when a signed-in user lacks one that may read the audit log (least privileged first).
AUDIT_READER_ROLES = ("Reports Reader", "Security Reader", "Global Reader")
AUDIT_PERMISSION = "AuditLog.Read.All"


def audit_policy(base: RetryPolicy) -> RetryPolicy:
    """The retry policy of audit calls: the session's (its sleep, clock and listener) with a longer, jittered
    backoff and more tries, because this tier throttles hard and often omits ``Retry-After``."""
    return dataclasses.replace(base, max_attempts=max(base.max_attempts, 12), backoff_base=2.0,
                               backoff_max=60.0, jitter=0.25)


def odata_time(value: datetime) -> str:
    """An unquoted OData DateTime literal with seven fraction digits (``2026-03-21T09:30:00.0000000Z``)."""
    value = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond:06d}0Z"


def window_filter(since: datetime, until: datetime) -> str:
    """``$filter`` of the records in ``[since, until]`` (both ends included, as ``ge``/``le`` are)."""
    return f"activityDateTime ge {odata_time(since)} and activityDateTime le {odata_time(until)}"


class AuditForbiddenError(ForbiddenError):
    """The signed-in identity may not read the directory audit log (403); ``missing`` names what it lacks:
    ``"permission"`` (``AuditLog.Read.All``), ``"role"`` (a role that may read audit logs), or both."""

    def __init__(self, message: str, *, missing: tuple[str, ...], needs: str, **kwargs: Any) -> None:
        super().__init__(message, needs=needs, **kwargs)
        self.missing = missing


def _missing_of(code: str | None, server_message: str | None) -> tuple[str, ...]:
    text = f"{code or ''} {server_message or ''}".lower()
    missing: list[str] = []
    if "permission" in text or "scope" in text:
        missing.append("permission")
    if "role" in text:
        missing.append("role")
    return tuple(missing) or ("permission", "role")


def _needs_text(missing: tuple[str, ...]) -> str:
    parts = []
    if "permission" in missing:
        parts.append(f"the {AUDIT_PERMISSION} permission (admin consent, with Directory.Read.All)")
    if "role" in missing:
        parts.append("a role that may read audit logs, such as " + ", ".join(AUDIT_READER_ROLES)
                     + " (the Entra Backup roles alone cannot)")
    return " and ".join(parts)


def forbidden(exc: ForbiddenError) -> AuditForbiddenError:
    """The 403 of an audit call, saying exactly what the identity lacks."""
    server = None
    if exc.message and "Graph said:" in exc.message:
        server = exc.message.split("Graph said:", 1)[1].strip()
    missing = _missing_of(exc.code, server)
    needs = _needs_text(missing)
    said = f" Graph said: {clean_text(server)}" if server else ""
    return AuditForbiddenError(
        f"Reading the directory audit log was refused: the signed-in identity lacks {needs}.{said}",
        missing=missing, needs=needs, status=exc.status, code=exc.code, request_id=exc.request_id,
        operation=ops.READ_AUDIT,
    )


@dataclass(frozen=True, slots=True)
class AuditPage:
    """One page of ``directoryAudit`` records as raw dicts, the URL it came from and the next link."""

    records: list[dict[str, Any]]
    next_link: str | None
    url: str


class AuditClient:
    """Reads the directory audit log on a :class:`~entrabr_tui.graph.session.GraphSession`.

    ``budget`` is the request budget every call of this client takes from (one per app and tenant);
    ``retry`` the retry policy (default: :func:`audit_policy` of the session's). Retry events go to the
    session's listeners and to each call's ``on_retry``.
    """

    def __init__(self, session: GraphSession, *, budget: RequestBudget | None = None,
                 retry: RetryPolicy | None = None) -> None:
        self._session = session
        self.budget = budget or RequestBudget()
        self._retrier = Retrier(retry or audit_policy(session.retrier.policy))
        # The same list object: a listener added to the recovery client hears audit retries too.
        self._retrier.listeners = session.retrier.listeners

    @property
    def base_url(self) -> str:
        return self._session.base_url

    def list_url(self, filter_text: str | None = None, *, top: int = MAX_AUDIT_PAGE,
                 orderby: str | None = "activityDateTime asc",
                 select: Sequence[str] | None = AUDIT_SELECT) -> str:
        """The absolute URL of the first page of a listing."""
        if not 1 <= top <= MAX_AUDIT_PAGE:
            raise ValueError(f"top must be between 1 and {MAX_AUDIT_PAGE}, not {top}")
        info = RequestInformation(Method.GET, _LIST_TEMPLATE, {"baseurl": self.base_url})
        if filter_text:
            info.query_parameters["%24filter"] = filter_text
        if orderby:
            info.query_parameters["%24orderby"] = orderby
        info.query_parameters["%24top"] = top
        if select:
            info.query_parameters["%24select"] = ",".join(select)
        return str(info.url)

    def window_url(self, since: datetime, until: datetime, *, top: int = MAX_AUDIT_PAGE) -> str:
        """The first page of the records in ``[since, until]``, oldest first."""
        return self.list_url(window_filter(since, until), top=top)

    async def _send(self, info: RequestInformation, on_wait: BudgetListener | None) -> bytes | None:
        await self.budget.acquire(on_wait)
        try:
            return await self._session.get_bytes(info)
        except (APIError, StatusError) as exc:
            status_info = exc.info if isinstance(exc, StatusError) else response_info(exc)
            if status_info.status == 429 and status_info.retry_after:
                self.budget.hold(status_info.retry_after)
            raise

    async def _call(self, make: Any, on_retry: RetryListener | None,
                    on_wait: BudgetListener | None) -> Any:
        try:
            return await self._retrier.call(lambda: make(on_wait), ops.READ_AUDIT, idempotent=True,
                                            on_retry=on_retry)
        except AuditForbiddenError:
            raise
        except ForbiddenError as exc:
            raise forbidden(exc) from exc

    async def page(self, url: str, *, on_retry: RetryListener | None = None,
                   on_wait: BudgetListener | None = None) -> AuditPage:
        """One page from ``url`` (a first-page URL or a stored next link), retried as a whole."""

        async def attempt(wait: BudgetListener | None) -> AuditPage:
            records, next_link, _ = decode_collection(await self._send(get_url(url), wait))
            return AuditPage(records, next_link, url)

        page: AuditPage = await self._call(attempt, on_retry, on_wait)
        return page

    async def pages(self, first_url: str, *, on_retry: RetryListener | None = None,
                    on_wait: BudgetListener | None = None) -> AsyncIterator[AuditPage]:
        """Pages from ``first_url`` on, following ``@odata.nextLink`` verbatim (same host, no loops)."""
        seen = {first_url}
        url: str | None = first_url
        self._session.check_link(first_url, ops.READ_AUDIT)
        while url is not None:
            page = await self.page(url, on_retry=on_retry, on_wait=on_wait)
            yield page
            url = page.next_link
            if url is not None:
                self._session.check_link(url, ops.READ_AUDIT)
                if url in seen:
                    loop = f"{ops.READ_AUDIT.doing}: the next-page links loop; stopped."
                    raise UnexpectedResponseError(loop, operation=ops.READ_AUDIT)
                seen.add(url)

    async def records(self, filter_text: str | None = None, *, top: int = MAX_AUDIT_PAGE,
                      orderby: str | None = "activityDateTime asc",
                      select: Sequence[str] | None = AUDIT_SELECT,
                      on_retry: RetryListener | None = None) -> list[dict[str, Any]]:
        """Every record of a (small) listing, e.g. ``targetResources/any(t: t/id eq '…')``."""
        out: list[dict[str, Any]] = []
        async for page in self.pages(self.list_url(filter_text, top=top, orderby=orderby, select=select),
                                     on_retry=on_retry):
            out.extend(page.records)
        return out

    async def get(self, record_id: str, *, select: Sequence[str] | None = None) -> dict[str, Any]:
        """One record by id."""
        info = RequestInformation(Method.GET, _GET_TEMPLATE,
                                  {"baseurl": self.base_url, "directoryAudit%2Did": record_id})
        if select:
            info.query_parameters["%24select"] = ",".join(select)
        info.headers.try_add("Accept", "application/json")

        async def attempt(wait: BudgetListener | None) -> dict[str, Any]:
            return decode_json_object(await self._send(info, wait))

        record: dict[str, Any] = await self._call(attempt, None, None)
        return record
