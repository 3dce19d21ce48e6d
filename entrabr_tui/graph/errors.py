"""Typed errors raised by the Graph client, and the operations they are raised for.

Every failure that leaves :class:`~entrabr_tui.graph.client.RecoveryClient` is a :class:`GraphError`
subclass with the HTTP ``status`` (when there was a response), Graph's error ``code``, the ``request_id``
Microsoft support asks for, and a ``message`` a person can act on. Messages never contain tokens.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from entrabr_tui.core.text import display_text

if TYPE_CHECKING:
    from entrabr_tui.core.model import Job

_READ_NEEDS = (
    "Reading backups, difference reports and job history needs the Entra Backup Reader or Entra Backup "
    "Administrator role (or Global Administrator) and the EntraBackup.Read.All permission."
)
_PREVIEW_NEEDS = (
    "Creating a difference report needs the Entra Backup Reader or Entra Backup Administrator role (or "
    "Global Administrator) and the EntraBackup.ReadWrite.Preview permission, signed in as a user; an "
    "app-only sign-in can only read."
)
_RECOVERY_NEEDS = (
    "Creating a restore needs the Entra Backup Administrator role (or Global Administrator) and the "
    "EntraBackup.ReadWrite.Recovery permission, signed in as a user; an app-only sign-in can only read."
)
_CANCEL_PREVIEW_NEEDS = (
    "Cancelling a difference report needs the Entra Backup Reader or Entra Backup Administrator role (or "
    "Global Administrator) and the EntraBackup.ReadWrite.Preview permission, signed in as a user."
)
_DIRECTORY_NEEDS = (
    "Looking up which objects are synchronised from on-premises needs the Directory.Read.All permission "
    "(or both User.Read.All and GroupMember.Read.All)."
)
_AUDIT_NEEDS = (
    "Reading the directory audit log needs the AuditLog.Read.All permission (with Directory.Read.All) and, "
    "signed in as a user, a role that may read audit logs such as Reports Reader, Security Reader or Global "
    "Reader; the Entra Backup roles alone cannot."
)
_CANCEL_RECOVERY_NEEDS = (
    "Cancelling a restore needs the Entra Backup Administrator role (or Global Administrator) and the "
    "EntraBackup.ReadWrite.Recovery permission, signed in as a user."
)


@dataclass(frozen=True, slots=True)
class Operation:
    """What the client was doing, in words, and what a 403 for it means."""

    doing: str  # "Listing backups" — starts a sentence
    needs: str  # the role and permission the operation needs
    writes: bool = False


LIST_SNAPSHOTS = Operation("Listing backups", _READ_NEEDS)
GET_SNAPSHOT = Operation("Reading a backup", _READ_NEEDS)
LIST_JOBS = Operation("Listing jobs", _READ_NEEDS)
GET_JOB = Operation("Reading a job", _READ_NEEDS)
GET_CHANGES = Operation("Reading the changes of a difference report", _READ_NEEDS)
GET_FAILED_CHANGES = Operation("Reading the failed changes of a restore", _READ_NEEDS)
CREATE_PREVIEW = Operation("Creating a difference report", _PREVIEW_NEEDS, writes=True)
CREATE_RECOVERY = Operation("Creating a restore", _RECOVERY_NEEDS, writes=True)
CANCEL_PREVIEW = Operation("Cancelling a difference report", _CANCEL_PREVIEW_NEEDS, writes=True)
CANCEL_RECOVERY = Operation("Cancelling a restore", _CANCEL_RECOVERY_NEEDS, writes=True)
LOOKUP_SYNC_STATUS = Operation("Looking up which objects are synchronised from on-premises", _DIRECTORY_NEEDS)
READ_AUDIT = Operation("Reading the directory audit log", _AUDIT_NEEDS)
READ_CA_POLICIES = Operation("Reading the Conditional Access policies",
                             "the delegated permission Policy.Read.All (and a role that may read Conditional "
                             "Access policies, such as Security Reader or Global Reader)")
CANCEL_JOB = Operation(
    "Cancelling a job", f"{_CANCEL_PREVIEW_NEEDS} {_CANCEL_RECOVERY_NEEDS}", writes=True
)

_BEARER = re.compile(r"(?i)bearer\s+[A-Za-z0-9._~+/=-]+")
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
MAX_SERVER_MESSAGE = 400


def clean_text(text: object, limit: int = MAX_SERVER_MESSAGE) -> str:
    """Make server-supplied text safe to show: the display rule for tenant text (controls and bidi characters
    made visible, line breaks as spaces), no tokens, bounded length."""
    value = display_text(str(text), multiline=True, limit=None).replace("\n", " ").strip()
    value = _JWT.sub("[token removed]", _BEARER.sub("Bearer [token removed]", value))
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    return value


class GraphError(Exception):
    """Base of every error the Graph client raises."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        operation: Operation | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id
        self.operation = operation

    def __str__(self) -> str:
        details = []
        if self.status is not None:
            details.append(f"HTTP {self.status}")
        if self.code:
            details.append(f"code {self.code}")
        if self.request_id:
            details.append(f"request-id {self.request_id}")
        return f"{self.message} [{', '.join(details)}]" if details else self.message


class AuthError(GraphError):
    """The sign-in is missing, expired or was rejected (401), or no token could be obtained."""


class ForbiddenError(GraphError):
    """The signed-in identity lacks the role or permission for the operation (403)."""

    def __init__(self, message: str, *, needs: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.needs = needs


class ConflictError(GraphError):
    """Another job is still running (409); ``running_job`` names it when it could be looked up."""

    def __init__(self, message: str, *, running_job: Job | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.running_job = running_job


class NotFoundError(GraphError):
    """The backup or job does not exist (or no longer exists) (404)."""


class BadRequestError(GraphError):
    """The service rejected the request as invalid (400), e.g. changes of an unfinished report."""


class ThrottledError(GraphError):
    """Still throttled (429) after every retry; ``retry_after`` is the last wait Graph asked for."""

    def __init__(self, message: str, *, retry_after: float | None = None, attempts: int = 1, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
        self.attempts = attempts


class ServerError(GraphError):
    """The service failed (5xx), after retries where a retry was safe."""


class NetworkError(GraphError):
    """The service could not be reached, or the connection failed, after retries."""


class OutcomeUnknownError(GraphError):
    """A write (job creation or cancel) failed in a way that leaves its outcome unknown.

    The request may have reached the service, so it is not repeated automatically. ``running_job`` holds
    the job that is running now, if one could be looked up.
    """

    def __init__(self, message: str, *, running_job: Job | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.running_job = running_job


class UnexpectedResponseError(GraphError):
    """The service answered with something the client cannot use (malformed JSON, missing header, an answer
    redirected to another host, ...)."""


class IncompleteChangesError(UnexpectedResponseError):
    """A walk over change pages ended (a page came without a next link) with fewer change objects than the
    service announced: some were lost on the way. ``received`` and ``expected`` say how many."""

    def __init__(self, message: str, *, received: int, expected: int, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.received = received
        self.expected = expected


class JobWaitTimeoutError(GraphError):
    """Waiting for a job to finish took longer than allowed; ``job`` is the last state read.

    ``unknown_status`` is True when the job sat in a status this client does not know (it cannot tell
    whether that status will ever end) for longer than the limit for unknown statuses.
    """

    def __init__(self, message: str, *, job: Job, waited: float, unknown_status: bool, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.job = job
        self.waited = waited
        self.unknown_status = unknown_status


@dataclass(frozen=True, slots=True)
class ResponseInfo:
    """What an error response told us, extracted once from the SDK's exception."""

    status: int | None
    code: str | None = None
    server_message: str | None = None
    request_id: str | None = None
    retry_after: float | None = None


def header(headers: object, name: str) -> str | None:
    """Read one header from an httpx ``Headers``, a dict, or kiota's ``HeadersCollection``-like mapping."""
    if headers is None:
        return None
    getter = getattr(headers, "get", None)
    if getter is None:
        return None
    value = getter(name)
    if value is None and isinstance(headers, Mapping):
        for key, item in headers.items():
            if str(key).lower() == name.lower():
                value = item
                break
    if isinstance(value, list | tuple | set):
        value = next(iter(value), None)
    return None if value is None else str(value)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Parse ``Retry-After`` given in seconds or as an HTTP date; ``None`` when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def for_status(
    info: ResponseInfo, operation: Operation, *, attempts: int = 1, running_job: Job | None = None
) -> GraphError:
    """The typed error for an HTTP error response."""
    status = info.status
    said = f" Graph said: {clean_text(info.server_message)}" if info.server_message else ""
    common: dict[str, Any] = {
        "status": status,
        "code": clean_text(info.code, 80) if info.code else None,
        "request_id": clean_text(info.request_id, 80) if info.request_id else None,
        "operation": operation,
    }
    doing = operation.doing
    if status == 400:
        return BadRequestError(f"{doing} was rejected as invalid.{said}", **common)
    if status == 401:
        return AuthError(
            f"{doing} failed: the sign-in is missing, expired or was rejected. Sign in again.{said}", **common
        )
    if status == 403:
        return ForbiddenError(
            f"{doing} was refused: {operation.needs}{said}", needs=operation.needs, **common
        )
    if status == 404:
        return NotFoundError(
            f"{doing} failed: not found. Backups are kept for a few days and finished jobs are cleaned up "
            f"after a while; refresh the list.{said}",
            **common,
        )
    if status == 409:
        return ConflictError(conflict_message(doing, running_job, said), running_job=running_job, **common)
    if status == 429:
        wait = "" if info.retry_after is None else f" Graph asked to wait {info.retry_after:g} s."
        return ThrottledError(
            f"{doing} was throttled by Microsoft Graph and still was after {attempts} tries.{wait} "
            "Try again later.",
            retry_after=info.retry_after,
            attempts=attempts,
            **common,
        )
    if status is not None and status >= 500:
        tries = f" after {attempts} tries" if attempts > 1 else ""
        return ServerError(
            f"{doing} failed: Microsoft Graph had a server error{tries}. Try again later.{said}", **common
        )
    return GraphError(f"{doing} failed with an unexpected HTTP status.{said}", **common)


def conflict_message(doing: str, running_job: Job | None, said: str = "") -> str:
    """The message for a 409: which job is still running, and what to do."""
    if running_job is None:
        return (
            f"{doing} is not possible while another difference report or restore is running. "
            f"Wait for it to finish or cancel it.{said}"
        )
    kind = "difference report" if running_job.kind.value == "recoveryPreviewJob" else "restore"
    return (
        f"{doing} is not possible while {kind} {running_job.id} is running "
        f"(status {running_job.status_raw}). "
        "Only one job can run at a time: wait for it to finish or cancel it."
    )
