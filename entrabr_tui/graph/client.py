"""``RecoveryClient``: the async client for Microsoft Entra Backup and Recovery on msgraph-sdk.

Typed SDK request builders are used wherever the SDK has them. Snapshots are parsed into the SDK's typed
models. Job reads use the typed builders to build the request but read bytes and decode with orjson: the
typed ``RecoveryStatus`` turns any status the SDK does not know into ``None`` (losing the raw value), while
``core.model`` keeps it and maps it to ``unknownFutureValue``. Change pages are always bytes + orjson (the
typed models parse ~200 objects/s; orjson over 100,000/s). Everything goes through one request adapter,
so authentication, CAE challenges and the default middleware apply to every call.

Completeness: a walk over change pages (:class:`~entrabr_tui.graph.paging.ChangeWalk`) reports what it saw
as a :class:`~entrabr_tui.graph.paging.WalkOutcome`; :meth:`RecoveryClient.read_changes` adds the number of
change objects the service announced (:func:`~entrabr_tui.core.completeness.expected_change_objects`) and
:meth:`RecoveryClient.get_changes` refuses a list that came out short.

Retries are announced: every wait before another try is passed as a
:class:`~entrabr_tui.graph.resilience.RetryEvent` to the client's listeners (``on_retry`` or
:meth:`RecoveryClient.add_retry_listener`) and to the ``on_retry`` of the call that waits.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import httpx
from azure.core.credentials_async import AsyncTokenCredential
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_abstractions.request_information import RequestInformation
from msgraph.generated.directory.recovery.jobs.jobs_request_builder import JobsRequestBuilder
from msgraph.generated.directory.recovery.recovery_request_builder import RecoveryRequestBuilder
from msgraph.graph_service_client import GraphServiceClient

from entrabr_tui.core.completeness import Completeness, expected_change_objects
from entrabr_tui.core.model import (
    Change,
    FilteringCriteria,
    Job,
    JobKind,
    RecoveryStatus,
    Snapshot,
)
from entrabr_tui.core.text import format_duration
from entrabr_tui.graph import errors as ops
from entrabr_tui.graph.adapter import DEFAULT_BASE_URL, DEFAULT_TIMEOUT, GRAPH_SCOPES
from entrabr_tui.graph.audit import AuditClient
from entrabr_tui.graph.directory import DirectoryClient
from entrabr_tui.graph.errors import (
    ConflictError,
    GraphError,
    IncompleteChangesError,
    JobWaitTimeoutError,
    Operation,
    OutcomeUnknownError,
    UnexpectedResponseError,
    conflict_message,
)
from entrabr_tui.graph.paging import ChangeWalk, WalkOutcome, decode_json_object
from entrabr_tui.graph.requests import (
    GET_CHANGES_TEMPLATE,
    GET_FAILED_CHANGES_TEMPLATE,
    MAX_PAGE_SIZE,
    create_job,
    function_url,
    job_id_from_location,
)
from entrabr_tui.graph.resilience import MalformedBody, RetryListener, RetryPolicy
from entrabr_tui.graph.session import GraphSession

_CREATE_OPS = {JobKind.PREVIEW: ops.CREATE_PREVIEW, JobKind.RECOVERY: ops.CREATE_RECOVERY}
_CANCEL_OPS = {JobKind.PREVIEW: ops.CANCEL_PREVIEW, JobKind.RECOVERY: ops.CANCEL_RECOVERY}
#: How long ``wait_for_job`` waits on a job whose status this client does not know before giving up.
UNKNOWN_STATUS_TIMEOUT = 3600.0


@dataclass(frozen=True, slots=True)
class CreatedJob:
    """A job the service accepted (202): its id from the ``Location`` header, and that URL."""

    kind: JobKind
    id: str
    snapshot_id: str
    location: str


@dataclass(frozen=True, slots=True)
class ChangeList:
    """Every change object of one full walk, plus what proves the list complete (or not).

    ``changes`` holds one :class:`~entrabr_tui.core.model.Change` per change object sent, in order:
    unreadable ones flagged, several changes of one object all kept. ``expected`` is the number of change
    objects the service announced (``None`` when it announced none), ``outcome`` the facts of the walk.
    """

    changes: list[Change]
    outcome: WalkOutcome
    expected: int | None

    @property
    def completeness(self) -> Completeness:
        return self.outcome.completeness(self.expected)

    @property
    def complete(self) -> bool:
        """True only when exactly the announced number of change objects arrived."""
        return self.completeness is Completeness.COMPLETE

    @property
    def unreadable(self) -> list[Change]:
        """The change objects that could not be read (each with its reason and raw object)."""
        return [change for change in self.changes if not change.readable]


def _require_all(result: ChangeList, operation: Operation) -> list[Change]:
    """The changes, unless fewer arrived than the service announced."""
    if result.completeness is Completeness.SHORT and result.expected is not None:
        received = result.outcome.received
        raise IncompleteChangesError(
            f"{operation.doing} ended after {received} of {result.expected} changes: the service ended the "
            "list early or left changes out. The list is incomplete and was not used; try again.",
            received=received,
            expected=result.expected,
            operation=operation,
        )
    return result.changes


def _snapshot_from_sdk(model: Any) -> Snapshot:
    snapshot_id = str(model.id or "")
    created = model.created_date_time
    if isinstance(created, datetime):
        created = (created if created.tzinfo else created.replace(tzinfo=UTC)).astimezone(UTC)
    else:  # the service did not say when: unknown (the id is opaque, never decoded)
        created = datetime.fromtimestamp(0, tz=UTC)
    total = model.total_changed_objects
    return Snapshot(
        id=snapshot_id, created=created, total_changed_objects=total if isinstance(total, int) else None
    )


def _job_from_json(item: dict[str, Any], kind: JobKind | None, snapshot_id: str | None = None) -> Job:
    """A job read from the service; ``snapshot_id`` is the snapshot path it was read under (if any)."""
    if not isinstance(item.get("id"), str) or not item["id"]:
        raise MalformedBody("a job without an id")
    try:
        return Job.from_json(item, kind, snapshot_id=snapshot_id)
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedBody(f"unreadable job: {exc}") from exc


class RecoveryClient:
    """Async client for ``/directory/recovery`` (snapshots, difference reports, restores, job history).

    ``credential`` is any azure-core async token credential (it is not closed by this client).
    ``base_url`` is the Graph root including the version, e.g. ``https://graph.microsoft.com/beta`` or
    ``http://127.0.0.1:8000/v1.0``. Every failure is raised as a
    :class:`~entrabr_tui.graph.errors.GraphError`. ``on_retry`` hears about every wait before a retry
    (see :class:`~entrabr_tui.graph.resilience.RetryEvent`).
    """

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
        self._session = GraphSession(
            credential,
            base_url,
            timeout=timeout,
            retry=retry,
            transport=transport,
            scopes=scopes,
            on_retry=on_retry,
        )
        self.base_url = self._session.base_url
        #: Directory lookups (which objects are synchronised from on-premises) on the same session.
        self.directory = DirectoryClient(self._session)
        #: The directory audit log (its own request budget and retry policy) on the same session.
        self.audit = AuditClient(self._session)

    # -- lifecycle -------------------------------------------------------------------------------------

    @property
    def graph(self) -> GraphServiceClient:
        """The underlying ``GraphServiceClient`` (same adapter, middleware and credential)."""
        return self._session.graph

    @property
    def retry_policy(self) -> RetryPolicy:
        return self._session.retrier.policy

    def add_retry_listener(self, listener: RetryListener) -> Callable[[], None]:
        """Hear about every wait before a retry of any call; returns a function that stops it."""
        listeners = self._session.retrier.listeners
        listeners.append(listener)

        def remove() -> None:
            if listener in listeners:
                listeners.remove(listener)

        return remove

    @property
    def api_version(self) -> str:
        """The last path segment of the base URL: ``v1.0`` or ``beta``."""
        return self.base_url.rsplit("/", 1)[-1]

    async def aclose(self) -> None:
        """Close the HTTP connections (the credential belongs to the caller)."""
        await self._session.aclose()

    async def __aenter__(self) -> RecoveryClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    @property
    def _recovery(self) -> RecoveryRequestBuilder:
        return self._session.graph.directory.recovery

    # -- snapshots (typed SDK models) --------------------------------------------------------------------

    async def list_snapshots(self) -> list[Snapshot]:
        """All available backups, newest first."""
        builder = self._recovery.snapshots
        snapshots: list[Snapshot] = []
        next_link: str | None = None
        while True:
            link = next_link

            async def attempt(link: str | None = link) -> Any:
                response = await (builder if link is None else builder.with_url(link)).get()
                if response is None or response.value is None:  # kiota yields None for a non-list
                    raise MalformedBody("the snapshot list has no 'value' list")
                return response

            response = await self._session.call(attempt, ops.LIST_SNAPSHOTS, idempotent=True)
            # An entry without a string id cannot be used in any request; it is left out.
            snapshots.extend(_snapshot_from_sdk(item) for item in response.value if item.id)
            next_link = response.odata_next_link
            if not next_link:
                break
            self._session.check_link(next_link, ops.LIST_SNAPSHOTS)
        return sorted(snapshots, key=lambda s: s.created, reverse=True)

    async def get_snapshot(self, snapshot_id: str) -> Snapshot:
        """One backup by id."""
        builder = self._recovery.snapshots.by_snapshot_id(snapshot_id)

        async def attempt() -> Any:
            response = await builder.get()
            if response is None or not response.id:
                raise MalformedBody("empty snapshot")
            return response

        return _snapshot_from_sdk(await self._session.call(attempt, ops.GET_SNAPSHOT, idempotent=True))

    # -- jobs (typed builders, bytes + orjson so unknown statuses survive) ------------------------------

    async def list_jobs(self) -> list[Job]:
        """Every job of both kinds on every backup (``/directory/recovery/jobs``); their ``snapshot_id`` is
        unknown here (the list is not under a snapshot path)."""
        query = JobsRequestBuilder.JobsRequestBuilderGetQueryParameters(top=MAX_PAGE_SIZE)
        config = RequestConfiguration(query_parameters=query)
        items = await self._session.read_collection(
            lambda: self._recovery.jobs.to_get_request_information(config), ops.LIST_JOBS
        )
        return self._jobs(items, None, ops.LIST_JOBS)

    async def list_preview_jobs(self, snapshot_id: str) -> list[Job]:
        """The difference reports of one backup."""
        builder = self._recovery.snapshots.by_snapshot_id(snapshot_id).recovery_preview_jobs
        items = await self._session.read_collection(builder.to_get_request_information, ops.LIST_JOBS)
        return self._jobs(items, JobKind.PREVIEW, ops.LIST_JOBS, snapshot_id)

    async def list_recovery_jobs(self, snapshot_id: str) -> list[Job]:
        """The restores of one backup."""
        builder = self._recovery.snapshots.by_snapshot_id(snapshot_id).recovery_jobs
        items = await self._session.read_collection(builder.to_get_request_information, ops.LIST_JOBS)
        return self._jobs(items, JobKind.RECOVERY, ops.LIST_JOBS, snapshot_id)

    @staticmethod
    def _jobs(items: list[dict[str, Any]], kind: JobKind | None, operation: Operation,
              snapshot_id: str | None = None) -> list[Job]:
        try:
            return [_job_from_json(item, kind, snapshot_id) for item in items]
        except MalformedBody as exc:
            raise UnexpectedResponseError(f"{operation.doing} failed: {exc}.", operation=operation) from exc

    async def get_job(
        self, kind: JobKind, snapshot_id: str, job_id: str, *, on_retry: RetryListener | None = None
    ) -> Job:
        """One job by kind, backup and id (the snapshot-scoped path the API documents)."""
        snapshot = self._recovery.snapshots.by_snapshot_id(snapshot_id)

        def make() -> RequestInformation:
            if kind is JobKind.PREVIEW:
                preview = snapshot.recovery_preview_jobs.by_recovery_preview_job_id(job_id)
                return preview.to_get_request_information()
            return snapshot.recovery_jobs.by_recovery_job_id(job_id).to_get_request_information()

        async def attempt() -> Job:
            body = decode_json_object(await self._session.get_bytes(make()))
            return _job_from_json(body, kind, snapshot_id)

        return await self._session.call(attempt, ops.GET_JOB, idempotent=True, on_retry=on_retry)

    async def get_preview_job(self, snapshot_id: str, job_id: str) -> Job:
        return await self.get_job(JobKind.PREVIEW, snapshot_id, job_id)

    async def get_recovery_job(self, snapshot_id: str, job_id: str) -> Job:
        return await self.get_job(JobKind.RECOVERY, snapshot_id, job_id)

    async def find_running_job(self) -> Job | None:
        """The job that is not finished yet, if any (only one may run per tenant)."""
        running = [job for job in await self.list_jobs() if not job.is_terminal]
        if not running:
            return None
        epoch = datetime.fromtimestamp(0, tz=UTC)
        return max(running, key=lambda job: job.started or epoch)

    async def _running_job_or_none(self) -> Job | None:
        try:
            return await self.find_running_job()
        except GraphError:
            return None

    async def wait_for_job(
        self,
        kind: JobKind,
        snapshot_id: str,
        job_id: str,
        *,
        interval: float = 10.0,
        max_polls: int | None = None,
        timeout: float | None = None,
        unknown_status_timeout: float | None = UNKNOWN_STATUS_TIMEOUT,
        on_update: Callable[[Job], None] | None = None,
        on_retry: RetryListener | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> Job:
        """Poll a job every ``interval`` seconds until it is terminal; returns the terminal job.

        With ``max_polls`` the last read is returned after that many reads, finished or not. Raises
        :class:`~entrabr_tui.graph.errors.JobWaitTimeoutError` when ``timeout`` seconds pass without the
        job finishing, or when it shows a status this client does not know (``unknownFutureValue`` or a
        value newer than this code) for ``unknown_status_timeout`` seconds in a row; ``None`` means no
        limit. ``clock`` (monotonic seconds) and ``sleep`` are injectable for tests.
        """
        started = clock()
        unknown_since: float | None = None
        polls = 0
        while True:
            job = await self.get_job(kind, snapshot_id, job_id, on_retry=on_retry)
            polls += 1
            now = clock()
            if on_update is not None:
                on_update(job)
            if job.is_terminal or (max_polls is not None and polls >= max_polls):
                return job
            if job.status is RecoveryStatus.UNKNOWN_FUTURE_VALUE:
                unknown_since = now if unknown_since is None else unknown_since
                stuck = now - unknown_since
                if unknown_status_timeout is not None and stuck >= unknown_status_timeout:
                    raise JobWaitTimeoutError(
                        f"Job {job.id} has been in status {job.status_raw!r}, which this version of the app "
                        f"does not know, for {format_duration(stuck)}; stopped waiting for it. It may still "
                        "be running: check the job list.",
                        job=job,
                        waited=now - started,
                        unknown_status=True,
                        operation=ops.GET_JOB,
                    )
            else:
                unknown_since = None
            if timeout is not None and now - started >= timeout:
                raise JobWaitTimeoutError(
                    f"Job {job.id} is still {job.status_raw} after {format_duration(now - started)}; stopped "
                    "waiting for it. It goes on at the service: check the job list later.",
                    job=job,
                    waited=now - started,
                    unknown_status=False,
                    operation=ops.GET_JOB,
                )
            await sleep(interval)

    # -- job creation and cancel (202 + Location) -------------------------------------------------------

    async def create_preview_job(
        self, snapshot_id: str, criteria: FilteringCriteria | None = None
    ) -> CreatedJob:
        """Start a difference report (backup vs. the live tenant), optionally scoped."""
        return await self._create(JobKind.PREVIEW, snapshot_id, criteria)

    async def create_recovery_job(
        self, snapshot_id: str, criteria: FilteringCriteria | None = None
    ) -> CreatedJob:
        """Start a restore toward the backup, optionally scoped."""
        return await self._create(JobKind.RECOVERY, snapshot_id, criteria)

    async def _create(
        self, kind: JobKind, snapshot_id: str, criteria: FilteringCriteria | None
    ) -> CreatedJob:
        operation = _CREATE_OPS[kind]

        async def attempt() -> httpx.Response:
            return await self._session.send_native(create_job(kind, snapshot_id, criteria))

        try:
            response = await self._session.call(attempt, operation, idempotent=False)
        except ConflictError as exc:
            running = await self._running_job_or_none()
            raise ConflictError(
                conflict_message(operation.doing, running),
                running_job=running,
                status=exc.status,
                code=exc.code,
                request_id=exc.request_id,
                operation=operation,
            ) from exc
        except OutcomeUnknownError as exc:
            running = await self._running_job_or_none()
            if running is not None:
                exc.running_job = running
                state = f"{running.kind.value}, {running.status_raw}"
                exc.message += f" Job {running.id} ({state}) is running now."
                exc.args = (exc.message,)
            raise
        location = response.headers.get("location") or ""
        job_id = job_id_from_location(location) if location else None
        if job_id is None and response.content:
            try:
                body = decode_json_object(response.content)
            except MalformedBody:
                body = {}
            job_id = body.get("id") if isinstance(body.get("id"), str) else None
        if not job_id:
            raise UnexpectedResponseError(
                f"{operation.doing}: the service accepted the request (HTTP {response.status_code}) but did "
                "not say where the new job is (no Location header). Check the job list.",
                status=response.status_code,
                request_id=response.headers.get("request-id"),
                operation=operation,
            )
        return CreatedJob(kind=kind, id=job_id, snapshot_id=snapshot_id, location=location)

    async def cancel_job(self, job_id: str, *, kind: JobKind | None = None) -> str:
        """Ask the service to cancel a job (best effort; it becomes ``abandoned``). Returns the Location URL.

        ``kind`` only sharpens the message of a 403 (which role and permission are needed).
        """
        operation = _CANCEL_OPS[kind] if kind is not None else ops.CANCEL_JOB
        item = self._recovery.jobs.by_recovery_job_base_id(job_id)
        builder = item.microsoft_graph_entra_recovery_services_cancel

        async def attempt() -> httpx.Response:
            return await self._session.send_native(builder.to_post_request_information())

        response = await self._session.call(attempt, operation, idempotent=False)
        return response.headers.get("location") or ""

    # -- change pages (bytes + orjson) ------------------------------------------------------------------

    def iter_change_pages(
        self,
        snapshot_id: str,
        job_id: str,
        *,
        top: int = MAX_PAGE_SIZE,
        start_url: str | None = None,
        prefetch: bool = True,
        on_retry: RetryListener | None = None,
    ) -> ChangeWalk:
        """Pages of a finished difference report's changes, as they arrive (``async for``).

        ``start_url`` resumes from a stored ``ChangePage.next_link`` (or repeats a stored ``ChangePage.url``).
        With ``prefetch`` the next page downloads while the caller handles the current one. The returned
        walk's ``outcome`` says what it saw (see :class:`~entrabr_tui.graph.paging.WalkOutcome`).
        """
        first = start_url or function_url(self.base_url, GET_CHANGES_TEMPLATE, snapshot_id, job_id, top=top)
        return self._walk(first, ops.GET_CHANGES, prefetch, start_url is not None, on_retry)

    def iter_failed_change_pages(
        self,
        snapshot_id: str,
        job_id: str,
        *,
        top: int = MAX_PAGE_SIZE,
        start_url: str | None = None,
        prefetch: bool = True,
        on_retry: RetryListener | None = None,
    ) -> ChangeWalk:
        """Pages of a restore's failed changes (each with ``failureMessage``), as they arrive."""
        first = start_url or function_url(
            self.base_url, GET_FAILED_CHANGES_TEMPLATE, snapshot_id, job_id, top=top
        )
        return self._walk(first, ops.GET_FAILED_CHANGES, prefetch, start_url is not None, on_retry)

    def _walk(
        self,
        first_url: str,
        operation: Operation,
        prefetch: bool,
        resumed: bool,
        on_retry: RetryListener | None,
    ) -> ChangeWalk:
        return self._session.walk(first_url, operation, prefetch=prefetch, resumed=resumed, on_retry=on_retry)

    @staticmethod
    async def _collect(walk: ChangeWalk) -> list[Change]:
        return [change async for page in walk for change in page.changes()]

    async def read_changes(
        self,
        snapshot_id: str,
        job_id: str,
        *,
        job: Job | None = None,
        top: int = MAX_PAGE_SIZE,
        on_retry: RetryListener | None = None,
    ) -> ChangeList:
        """Every change of a finished difference report, with the facts that prove the list complete.

        ``job`` is the preview job as last read (read again when not given): its
        ``totalChangedObjectsCalculated`` is the number of change objects expected, unless the pages state
        an ``@odata.count``. Nothing is dropped or merged: check ``ChangeList.completeness``.
        """
        if job is None:
            job = await self.get_job(JobKind.PREVIEW, snapshot_id, job_id, on_retry=on_retry)
        walk = self.iter_change_pages(snapshot_id, job_id, top=top, on_retry=on_retry)
        changes = await self._collect(walk)
        outcome = walk.outcome
        return ChangeList(changes, outcome, expected_change_objects(job, outcome.stated_count))

    async def read_failed_changes(
        self,
        snapshot_id: str,
        job_id: str,
        *,
        top: int = MAX_PAGE_SIZE,
        on_retry: RetryListener | None = None,
    ) -> ChangeList:
        """Every failed change of a restore, with the facts of the walk. The number expected is known only
        when the service states ``@odata.count`` (``totalFailedChanges`` also counts failed links)."""
        walk = self.iter_failed_change_pages(snapshot_id, job_id, top=top, on_retry=on_retry)
        changes = await self._collect(walk)
        outcome = walk.outcome
        return ChangeList(changes, outcome, expected_change_objects(None, outcome.stated_count))

    async def get_changes(self, snapshot_id: str, job_id: str) -> list[Change]:
        """Every change of a finished difference report, as ``Change`` objects (small reports only).

        Raises :class:`~entrabr_tui.graph.errors.IncompleteChangesError` when fewer change objects arrived
        than the job announced (see :meth:`read_changes` for the facts rather than an error).
        """
        return _require_all(await self.read_changes(snapshot_id, job_id), ops.GET_CHANGES)

    async def get_failed_changes(self, snapshot_id: str, job_id: str) -> list[Change]:
        """Every failed change of a restore, as ``Change`` objects with ``failure_message``."""
        return _require_all(await self.read_failed_changes(snapshot_id, job_id), ops.GET_FAILED_CHANGES)
