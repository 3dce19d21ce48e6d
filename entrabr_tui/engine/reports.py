"""Difference reports: reuse a finished one, or run one, then download its changes into the cache.

Reuse comes first, in this order: a successful report of the same backup and scope already in the cache
(complete: nothing to do; partial: the download resumes), a successful one the service still lists, and a
running one of the same backup and scope (it is watched instead of starting another). Only then is a new
preview job queued. Downloads go page by page: each page and the link to the next one are stored in one
transaction, so a download stopped at any point resumes where it stopped, with no gap and no duplicate.

A report is complete only when it is proven so: the last page was reached and exactly the number of change
objects the service announced arrived (see :mod:`entrabr_tui.store.report_writer`). A walk that ends short
(a page without a next link before the end, a page missing items) is walked again once from the first
page; if it is still not proven, the report is returned incomplete (``ReportInfo.complete`` false, with
:attr:`ReportInfo.state_text` saying how far it got) and the next download starts over.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from entrabr_tui.core.model import FilteringCriteria, Job, JobKind, RecoveryStatus
from entrabr_tui.engine.errors import JobEndedError
from entrabr_tui.engine.events import (
    PHASE_DONE,
    PHASE_DOWNLOADING,
    PHASE_WAITING,
    JobProgress,
    JobProgressCallback,
    emit,
)
from entrabr_tui.engine.jobs import JobRequest, SlotMode
from entrabr_tui.engine.runner import JobRunner
from entrabr_tui.engine.scopes import describe_scope, same_scope
from entrabr_tui.engine.tenant_writer import TenantWriter
from entrabr_tui.graph.errors import BadRequestError, NotFoundError
from entrabr_tui.graph.paging import ChangePage
from entrabr_tui.graph.requests import GET_CHANGES_TEMPLATE, MAX_PAGE_SIZE, function_url
from entrabr_tui.store import Cache, IngestError, Report, scope_key

_CLOCK_ALLOWANCE = timedelta(minutes=5)
_RUNNING = (RecoveryStatus.INITIALIZED, RecoveryStatus.LOADING_DATA, RecoveryStatus.CALCULATING,
            RecoveryStatus.RUNNING, RecoveryStatus.UNKNOWN_FUTURE_VALUE)


@dataclass(frozen=True, slots=True)
class ReportInfo:
    """A difference report in the cache, as the UI and CLI see it.

    ``id`` is the preview job id (accepted by every session query); ``report_id`` is the cache's own key.
    """

    id: str
    report_id: int
    snapshot_id: str | None
    scope: FilteringCriteria | None
    status: RecoveryStatus
    downloaded: int
    total: int | None
    complete: bool
    """Proven complete: the last page was reached and exactly ``total`` change objects arrived."""
    archived: bool = False
    reused: bool = False
    unreadable: int = 0
    """Change objects that could not be read (kept raw and listed; counted in ``downloaded``)."""
    state_text: str = ""
    """``complete: 5,005 changes`` or ``incomplete: 1,998 of 5,005 (…)``, for people."""

    @classmethod
    def of(cls, report: Report, *, reused: bool = False) -> ReportInfo:
        status = RecoveryStatus.parse(report.job_status) if report.job_status else RecoveryStatus.SUCCESSFUL
        return cls(
            id=report.job_id, report_id=report.id, snapshot_id=report.snapshot_id, scope=report.scope,
            status=status, downloaded=report.item_count, total=report.expected,
            complete=report.complete, archived=report.archived, reused=reused,
            unreadable=report.unreadable_items, state_text=report.state_text,
        )


ReportEvent = Callable[[str, ReportInfo], None]


def _finalize_on_own_connection(cache: Cache, report_id: int) -> None:
    """Build a finished report's indexes on a second connection (run in a worker thread)."""
    other = cache.reader()
    try:
        other.report_writer.finalize_report(report_id)
    finally:
        other.close()


class ReportManager:
    """Creates, reuses and downloads difference reports through a :class:`JobRunner`.

    ``on_event(kind, report)`` hears ``"created"``, ``"reused"`` and ``"downloaded"`` (for the session
    history).
    """

    def __init__(self, runner: JobRunner, *, page_size: int = MAX_PAGE_SIZE,
                 on_event: ReportEvent | None = None, writer: TenantWriter | None = None) -> None:
        self.runner = runner
        self.page_size = page_size
        self.on_event = on_event
        self.writer = writer or TenantWriter(None, clock=runner.clock, sleep=runner.sleep)
        #: Called before a new report job is created; raises to refuse (e.g. a read-only sign-in).
        self.guard: Callable[[], None] | None = None

    def _note(self, kind: str, report: ReportInfo) -> None:
        if self.on_event is not None:
            self.on_event(kind, report)

    @staticmethod
    def listed_report(jobs: list[Job], snapshot_time: datetime | None, snapshot_id: str,
                      scope: FilteringCriteria | None) -> Job | None:
        """The newest successful, else running, preview job of this backup and scope in a job listing."""
        epoch = datetime.fromtimestamp(0, tz=UTC)
        matching = [
            job for job in jobs
            if job.kind is JobKind.PREVIEW
            and (job.target_state == snapshot_time if snapshot_time else job.snapshot_id == snapshot_id)
            and same_scope(job.filtering, scope)
            and job.status in (RecoveryStatus.SUCCESSFUL, *_RUNNING)
        ]
        if not matching:
            return None
        return max(matching, key=lambda j: (j.status is RecoveryStatus.SUCCESSFUL, j.started or epoch))

    async def ensure_report(
        self,
        snapshot_id: str,
        scope: FilteringCriteria | None = None,
        progress: JobProgressCallback | None = None,
        *,
        fresh: bool = False,
        mode: SlotMode | None = None,
    ) -> ReportInfo:
        """A downloaded, successful report of ``snapshot_id`` and ``scope``, reused when possible.

        ``fresh`` skips reuse and always runs a new report (the live tenant may have moved on since the
        last one). Raises :class:`JobEndedError` when the report job fails or is cancelled.

        A complete cached report is reused without further ado; anything else holds the tenant's writer
        lock, waiting (with a message, and how far the other download has got) while another entrabr
        process holds it: once it is done, the report it downloaded is usually the one wanted.
        """
        if not fresh:
            cached = self.runner.cache.reports.find_reusable(snapshot_id, scope)
            if cached is not None and cached.complete:
                return await self._reuse(cached, progress)
        began = self.runner.clock()

        def waiting(text: str) -> object:
            return emit(progress, JobProgress(
                job_id=None, kind=JobKind.PREVIEW, phase=PHASE_WAITING, text=text,
                elapsed=(self.runner.clock() - began).total_seconds()))

        def follow() -> str | None:
            other = self.runner.cache.reports.find_reusable(snapshot_id, scope)
            if other is None:
                return None
            of = f" of {other.expected:,}" if other.expected is not None else ""
            return f"{other.item_count:,}{of} changes in the cache so far"

        async with self.writer.hold("report", "downloading a report of this tenant", waiting, follow):
            return await self._ensure(snapshot_id, scope, progress, fresh=fresh, mode=mode)

    async def _reuse(self, cached: Report, progress: JobProgressCallback | None) -> ReportInfo:
        cached = await finish_indexes(self.runner.cache, cached)
        info = ReportInfo.of(cached, reused=True)
        self._note("reused", info)
        await emit(progress, self._done_event(info))
        return info

    async def _ensure(self, snapshot_id: str, scope: FilteringCriteria | None,
                      progress: JobProgressCallback | None, *, fresh: bool, mode: SlotMode | None
                      ) -> ReportInfo:
        cache = self.runner.cache
        if not fresh:
            cached = cache.reports.find_reusable(snapshot_id, scope)
            if cached is not None and cached.complete:
                return await self._reuse(cached, progress)  # another process finished it meanwhile
        # A report job of ours whose results were not collected (a run stopped before its download, even
        # before its id was written down) is adopted, fresh or not: never left behind, never doubled.
        own = await self._own_report(snapshot_id, scope)
        if own is not None:
            adopted = await self._adopt(own, snapshot_id, scope, progress)
            if adopted is not None:
                return adopted
        if not fresh:
            cached = cache.reports.find_reusable(snapshot_id, scope)
            if cached is not None:
                record = cache.jobs.get(cached.job_id)
                if record is not None and not record.archived:
                    try:
                        info = await self.download(record.job, snapshot_id, progress, scope=scope,
                                                   reused=True)
                    except (NotFoundError, BadRequestError):
                        pass  # expired at the service meanwhile: look further
                    else:
                        self.runner.journal.done(record.job, f"report downloaded: {info.state_text}")
                        self._note("reused", info)
                        return info
            jobs = self.runner.last_listing
            listed = self.listed_report(jobs, await self.runner.backup_time(snapshot_id), snapshot_id, scope)
            if listed is not None:
                if not listed.is_terminal:
                    listed = await self.runner.watch(listed, progress, snapshot_id=snapshot_id)
                if listed.status is RecoveryStatus.SUCCESSFUL:
                    info = await self.download(listed, snapshot_id, progress, scope=scope, reused=True)
                    self.runner.journal.done(listed, f"reused; {info.state_text}")
                    self._note("reused", info)
                    return info
        if self.guard is not None:
            self.guard()
        request = JobRequest(JobKind.PREVIEW, snapshot_id, scope,
                             changes_hint=self._changes_hint(snapshot_id))
        job = await self.runner.run(request, progress, mode=mode)
        if job.status is not RecoveryStatus.SUCCESSFUL:
            self.runner.journal.done(job)
            raise JobEndedError(job)
        report = self._begin(job, snapshot_id, scope)
        self._note("created", ReportInfo.of(report))
        info = await self.download(job, snapshot_id, progress, scope=scope)
        self.runner.journal.done(job, f"report downloaded: {info.state_text}")
        return info

    async def _own_report(self, snapshot_id: str, scope: FilteringCriteria | None) -> Job | None:
        """The running or successful report job of this backup and scope that entrabr started and whose
        results were not collected, after reconciling the journal with a fresh job list."""
        found = self.runner.journal.reconcile(await self.runner.list_jobs())
        for intent, job in found.resumable:
            if intent.kind is not JobKind.PREVIEW or intent.snapshot_id != snapshot_id \
                    or not same_scope(intent.scope, scope) or job is None:
                continue
            if job.status is RecoveryStatus.SUCCESSFUL or not job.is_terminal:
                return job
            self.runner.journal.done(job)  # failed or cancelled: nothing to collect
        return None

    async def _adopt(self, job: Job, snapshot_id: str, scope: FilteringCriteria | None,
                     progress: JobProgressCallback | None) -> ReportInfo | None:
        """Follow our own report job to its end and download it (``None`` when it did not succeed)."""
        if not job.is_terminal:
            job = await self.runner.watch(job, progress, snapshot_id=snapshot_id)
        if job.status is not RecoveryStatus.SUCCESSFUL:
            self.runner.journal.done(job)
            return None
        info = await self.download(job, snapshot_id, progress, scope=scope, reused=True)
        self.runner.journal.done(job, f"adopted after a restart; {info.state_text}")
        self._note("reused", info)
        return info

    def _changes_hint(self, snapshot_id: str) -> int | None:
        """Changes in the largest cached report of this backup (a new one will be of similar size)."""
        sizes = [r.item_count for r in self.runner.cache.reports.all(snapshot_id=snapshot_id) if r.complete]
        return max(sizes) if sizes else None

    def first_url(self, snapshot_id: str, job_id: str) -> str:
        """The first ``getChanges`` URL of a report (stored so a download can start again from it)."""
        return function_url(self.runner.client.base_url, GET_CHANGES_TEMPLATE, snapshot_id, job_id,
                            top=self.page_size)

    def _begin(self, job: Job, snapshot_id: str, scope: FilteringCriteria | None) -> Report:
        return self.runner.cache.report_writer.begin_report(
            job.id, snapshot_id, scope, self.first_url(snapshot_id, job.id),
            total_expected=job.total_changed_objects, now=self.runner.clock(),
        )

    def _report_for(self, job: Job, snapshot_id: str, scope: FilteringCriteria | None) -> Report:
        """The cached report of ``job``, begun if new. A cached report under the same job id that cannot be
        this job's (another backup or scope, or begun before the job started) is dropped first: job ids
        are only unique within one service, and a new service (an emulator restarted) may reuse them."""
        cache = self.runner.cache
        existing = cache.reports.for_job(job.id)
        if existing is not None:
            begun_before = job.started is not None and existing.created < job.started - _CLOCK_ALLOWANCE
            if (existing.snapshot_id not in (None, snapshot_id) or existing.scope_key != scope_key(scope)
                    or begun_before):
                cache.report_writer.delete_report(existing.id)
                existing = None
        return existing or self._begin(job, snapshot_id, scope)

    def _done_event(self, info: ReportInfo, elapsed: float = 0.0) -> JobProgress:
        how = "Reused the cached" if info.reused else "Downloaded the"
        state = f"{info.downloaded:,} changes" if info.complete else info.state_text
        return JobProgress(
            job_id=info.id, kind=JobKind.PREVIEW, phase=PHASE_DONE,
            text=f"{how} difference report of {describe_scope(info.scope)}: {state}",
            elapsed=elapsed, status=info.status, snapshot_id=info.snapshot_id, changed_objects=info.total,
            downloaded=info.downloaded, total=info.total, reused=info.reused,
        )

    async def download(
        self,
        job: Job,
        snapshot_id: str,
        progress: JobProgressCallback | None = None,
        *,
        scope: FilteringCriteria | None = None,
        reused: bool = False,
    ) -> ReportInfo:
        """Download a successful report's changes into the cache, resuming a partial download."""
        report = self._report_for(job, snapshot_id, scope)
        begun = self.runner.clock()
        total = report.total_expected if report.total_expected is not None else job.total_changed_objects

        def event(downloaded: int, pages: int) -> JobProgress:
            return JobProgress(
                job_id=job.id, kind=JobKind.PREVIEW, phase=PHASE_DOWNLOADING,
                text=f"Downloading changes: {downloaded:,}" + (f" of {total:,}" if total is not None else ""),
                elapsed=(self.runner.clock() - begun).total_seconds(), status=job.status,
                snapshot_id=snapshot_id, changed_objects=job.total_changed_objects,
                changed_links=job.total_changed_links, downloaded=downloaded, total=total, pages=pages,
                reused=reused,
            )

        if not report.complete:
            report = await download_pages(
                self.runner.cache, report,
                lambda url: self.runner.client.iter_change_pages(
                    snapshot_id, job.id, top=self.page_size, start_url=url),
                lambda r: emit(progress, event(r.received_items, r.pages)),
            )
            info = ReportInfo.of(report, reused=reused)
            self._note("downloaded", info)
        else:
            info = ReportInfo.of(report, reused=reused)
        await emit(progress, self._done_event(info, (self.runner.clock() - begun).total_seconds()))
        return info


#: Walks of a report from its first page, in one download, before it is left incomplete.
WALKS = 2


async def download_pages(
    cache: Cache,
    report: Report,
    pages: Callable[[str], AsyncIterator[ChangePage]],
    on_page: Callable[[Report], object] | None = None,
    *,
    walks: int = WALKS,
) -> Report:
    """Fetch a report's pages from its resume point into the cache; returns the report as it ends.

    Each page is stored together with its next link (one transaction), with the ``@odata.count`` it states.
    A report whose walk ended without being proven complete (see :mod:`entrabr_tui.store.report_writer`) is
    downloaded again from its first page, up to ``walks`` walks in all; it is returned incomplete when no
    walk proved it. The indexes are built on a second connection in a worker thread, so a large report
    does not stall the event loop.
    """
    for _ in range(max(1, walks)):
        if report.ended and not report.complete:
            report = cache.report_writer.reset_download(report.id)
        start = cache.report_writer.resume_point(report.id)
        if start is not None:
            async for page in pages(start):
                try:
                    result = cache.report_writer.ingest_page(
                        report.id, page.items, page.next_link, page.url, stated_count=page.count,
                        finalize=False,
                    )
                except IngestError:
                    # The stored state moved on (another process downloaded the same report): re-read it.
                    current = cache.reports.get(report.id)
                    if current is None or current.ended:
                        break
                    raise
                report = result.report
                if on_page is not None:
                    awaited = on_page(report)
                    if asyncio.iscoroutine(awaited):
                        await awaited
        report = cache.reports.get(report.id) or report
        if report.complete or not report.ended:
            break
    return await finish_indexes(cache, report)


async def finish_indexes(cache: Cache, report: Report) -> Report:
    """Build a complete report's lookup and search indexes if an earlier run stopped before doing so."""
    if report.needs_finalize:
        await asyncio.to_thread(_finalize_on_own_connection, cache, report.id)
        return cache.reports.get(report.id) or report
    return report
