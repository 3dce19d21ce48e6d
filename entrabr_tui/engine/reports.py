"""Difference reports: reuse a finished one, or run one, then download its changes into the cache.

Reuse comes first, in this order: a successful report of the same backup and scope already in the cache
(complete: nothing to do; partial: the download resumes), a successful one the service still lists, and a
running one of the same backup and scope (it is watched instead of starting another). Only then is a new
preview job queued. Downloads go page by page: each page and the link to the next one are stored in one
transaction, so a download stopped at any point resumes where it stopped, with no gap and no duplicate.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from entrabr_tui.core.model import FilteringCriteria, Job, JobKind, RecoveryStatus
from entrabr_tui.engine.errors import JobEndedError
from entrabr_tui.engine.events import PHASE_DONE, PHASE_DOWNLOADING, JobProgress, JobProgressCallback, emit
from entrabr_tui.engine.jobs import JobRequest, SlotMode
from entrabr_tui.engine.runner import JobRunner
from entrabr_tui.engine.scopes import describe_scope, same_scope
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
    archived: bool = False
    reused: bool = False

    @classmethod
    def of(cls, report: Report, *, reused: bool = False) -> ReportInfo:
        status = RecoveryStatus.parse(report.job_status) if report.job_status else RecoveryStatus.SUCCESSFUL
        return cls(
            id=report.job_id, report_id=report.id, snapshot_id=report.snapshot_id, scope=report.scope,
            status=status, downloaded=report.item_count, total=report.total_expected,
            complete=report.complete, archived=report.archived, reused=reused,
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
                 on_event: ReportEvent | None = None) -> None:
        self.runner = runner
        self.page_size = page_size
        self.on_event = on_event
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
        """
        cache = self.runner.cache
        if not fresh:
            cached = cache.reports.find_reusable(snapshot_id, scope)
            if cached is not None and cached.complete:
                cached = await finish_indexes(cache, cached)
                info = ReportInfo.of(cached, reused=True)
                self._note("reused", info)
                await emit(progress, self._done_event(info))
                return info
            if cached is not None:
                record = cache.jobs.get(cached.job_id)
                if record is not None and not record.archived:
                    try:
                        info = await self.download(record.job, snapshot_id, progress, scope=scope,
                                                   reused=True)
                    except (NotFoundError, BadRequestError):
                        pass  # expired at the service meanwhile: look further
                    else:
                        self._note("reused", info)
                        return info
            jobs = await self.runner.list_jobs()
            listed = self.listed_report(jobs, self.runner.snapshot_time(snapshot_id), snapshot_id, scope)
            if listed is not None:
                if not listed.is_terminal:
                    listed = await self.runner.watch(listed, progress, snapshot_id=snapshot_id)
                if listed.status is RecoveryStatus.SUCCESSFUL:
                    self.runner.journal.done(listed, "reused")
                    info = await self.download(listed, snapshot_id, progress, scope=scope, reused=True)
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
        self.runner.journal.done(job, f"report downloaded: {info.downloaded:,} changes")
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
        return JobProgress(
            job_id=info.id, kind=JobKind.PREVIEW, phase=PHASE_DONE,
            text=f"{how} difference report of {describe_scope(info.scope)}: {info.downloaded:,} changes",
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


async def download_pages(
    cache: Cache,
    report: Report,
    pages: Callable[[str], AsyncIterator[ChangePage]],
    on_page: Callable[[Report], object] | None = None,
) -> Report:
    """Fetch a report's pages from its resume point into the cache; returns the finished report.

    Each page is stored together with its next link (one transaction). The finished report's indexes are
    built on a second connection in a worker thread, so a large report does not stall the event loop.
    """
    start = cache.report_writer.resume_point(report.id)
    if start is not None:
        async for page in pages(start):
            try:
                result = cache.report_writer.ingest_page(
                    report.id, page.items, page.next_link, page.url, finalize=False
                )
            except IngestError:
                # The stored state moved on (another process downloaded the same report): re-read it.
                current = cache.reports.get(report.id)
                if current is None or current.complete:
                    break
                raise
            report = result.report
            if on_page is not None:
                awaited = on_page(report)
                if asyncio.iscoroutine(awaited):
                    await awaited
    return await finish_indexes(cache, cache.reports.get(report.id) or report)


async def finish_indexes(cache: Cache, report: Report) -> Report:
    """Build a complete report's lookup and search indexes if an earlier run stopped before doing so."""
    if report.needs_finalize:
        await asyncio.to_thread(_finalize_on_own_connection, cache, report.id)
        return cache.reports.get(report.id) or report
    return report
