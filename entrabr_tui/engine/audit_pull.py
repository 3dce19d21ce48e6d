"""Pulling the directory audit log into the cache: one window per backup, in slices, resumable, refreshed.

The window of a report is ``[backup time − margin, now]`` (margin 15 min): records older than the backup
cannot explain a difference from it, and the margin absorbs clock skew. It is read in slices (one filtered
listing each, oldest first, ``$top`` 1,000), slice after slice, each page stored with its next link (see
:class:`~entrabr_tui.store.audit_store.AuditStore`): a pull stopped at any point resumes exactly where it
stopped. Slices adapt: a slice that fits one page doubles the next one; a slice that took more pages than the
throttle allows in one window (5) halves it, so one slice stays within the budget and the service's time
limit per request.

The cache remembers what it covers. A later pull reads only what is missing: the part of an older backup's
window before what is covered (a backfill), and the new records since the watermark minus a 2-hour overlap
(a refresh), because records arrive late (ingestion latency): the watermark stays ``latency`` (15 min)
behind the time a window was read up to.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from entrabr_tui.core.text import format_duration
from entrabr_tui.engine.audit_types import AuditProgress, AuditProgressCallback, AuditPullResult
from entrabr_tui.engine.events import emit
from entrabr_tui.engine.progress_watch import retry_wait
from entrabr_tui.engine.timing import Clock, utc_now
from entrabr_tui.graph.audit import MAX_AUDIT_PAGE, AuditClient
from entrabr_tui.graph.resilience import RetryEvent
from entrabr_tui.store.audit_store import AuditPullRecord, AuditStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AuditSettings:
    """How the audit log is pulled (the defaults follow the audit-log reference's recipe)."""

    margin: timedelta = timedelta(minutes=15)  # before the backup time
    latency: timedelta = timedelta(minutes=15)  # the watermark stays this far behind "now"
    overlap: timedelta = timedelta(hours=2)  # a refresh re-reads this much before the watermark
    refresh_after: timedelta = timedelta(minutes=1)  # a covered end younger than this is not refreshed
    span: timedelta = timedelta(hours=1)  # first slice length
    min_span: timedelta = timedelta(minutes=1)
    max_span: timedelta = timedelta(days=7)
    pages_per_slice: int = 5  # one throttle window's worth of requests
    page_size: int = MAX_AUDIT_PAGE
    retention: timedelta = timedelta(days=30)  # P1/P2 retention: what the service still holds


def _text(when: datetime | None) -> str:
    return "-" if when is None else f"{when:%Y-%m-%d %H:%M}Z"


class AuditPuller:
    """Runs pulls of the audit log into an :class:`AuditStore` with an :class:`AuditClient`."""

    def __init__(self, client: AuditClient, store: AuditStore, *, clock: Clock = utc_now,
                 settings: AuditSettings | None = None) -> None:
        self.client = client
        self.store = store
        self.clock = clock
        self.settings = settings or AuditSettings()

    async def sync(self, since: datetime, progress: AuditProgressCallback | None = None) -> AuditPullResult:
        """Make the cache cover ``[since, now]``: finish a pull a previous run left open, read what is missing
        before the covered range, then refresh from the watermark (minus the overlap)."""
        pulls: list[AuditPullRecord] = []
        waited_before = self.client.budget.waited
        open_pull = self.store.open_pull()
        if open_pull is not None:
            pulls.append(await self.run(open_pull, progress))
        now = self.clock()
        settings = self.settings
        state = self.store.state()
        if state.covered_from is None or state.covered_until is None:
            pulls.append(await self.pull("window", since, now, now - settings.latency, progress))
        elif since < state.covered_from:
            pulls.append(await self.pull("backfill", since, state.covered_from, state.covered_from, progress))
        state = self.store.state()
        if state.covered_until is not None and now - state.covered_until > settings.refresh_after:
            start = (state.watermark or state.covered_until) - settings.overlap
            pulls.append(await self.pull("refresh", start, now, now - settings.latency, progress))
        state = self.store.state()
        return AuditPullResult(tuple(pulls), state, sum(p.received for p in pulls),
                               sum(p.stored for p in pulls), sum(p.requests for p in pulls),
                               self.client.budget.waited - waited_before)

    async def pull(self, kind: str, since: datetime, until: datetime, watermark: datetime,
                   progress: AuditProgressCallback | None = None) -> AuditPullRecord:
        """Read ``[since, until]`` as a new pull."""
        until = max(until, since)
        span = self.settings.span.total_seconds()
        pull = self.store.begin_pull(kind, since, until, min(watermark, until), span, now=self.clock())
        return await self.run(pull, progress)

    async def run(self, pull: AuditPullRecord,
                  progress: AuditProgressCallback | None = None) -> AuditPullRecord:
        """Run (or resume) a pull to its end and close it."""
        settings = self.settings
        base = AuditProgress("reading", "", pull.kind, pull.since, pull.until)

        def waiting(seconds: float) -> None:
            _notify(progress, AuditProgress(
                "waiting",
                f"Waiting {format_duration(seconds)} for the audit log's request budget (5 per 10 s)",
                pull.kind, pull.since, pull.until, wait=seconds))

        def retrying(event: RetryEvent) -> None:
            _notify(progress, AuditProgress(
                "waiting", f"Audit log: {retry_wait(event).text(self.clock())}", pull.kind, pull.since,
                pull.until,
                wait=event.delay, retry=event))

        while True:
            current = self.store.current_slice(pull.id)
            if current is None:
                pull = self.store.pull(pull.id)
                if self.store.slice_count(pull.id) and pull.cursor_us >= pull.until_us:
                    break
                start = pull.cursor
                end = min(start + timedelta(seconds=pull.span_s), pull.until)
                current = self.store.begin_slice(pull.id, start, end,
                                                 self.client.window_url(start, end, top=settings.page_size))
            url = current.next_url
            while url is not None:
                page = await self.client.page(url, on_retry=retrying, on_wait=waiting)
                stored = self.store.ingest_page(pull.id, current.seq, page.records, page.next_link)
                pull = self.store.pull(pull.id)
                current = stored.slice
                await emit(progress, AuditProgress(
                    "reading", f"Reading the audit log {_text(current.since)} – {_text(current.until)}: "
                    f"{pull.received:,} records ({pull.stored:,} new), {pull.requests:,} requests",
                    base.kind, base.since, base.until, current.seq, current.since, current.until,
                    current.pages, pull.requests, pull.received, pull.stored))
                url = page.next_link
            self.store.set_span(pull.id, self._next_span(pull.span_s, current.pages))
            if current.until >= pull.until:
                break
        self.store.finish_pull(pull.id, now=self.clock())
        return self.store.pull(pull.id)

    def _next_span(self, span_s: float, pages: int) -> float:
        settings = self.settings
        if pages <= 1:
            span_s *= 2
        elif pages > settings.pages_per_slice:
            span_s /= 2
        return min(max(span_s, settings.min_span.total_seconds()), settings.max_span.total_seconds())


def _notify(progress: AuditProgressCallback | None, event: AuditProgress) -> None:
    """Deliver an event from a synchronous listener (budget waits, retry announcements)."""
    if progress is None:
        return
    try:
        progress(event)
    except Exception:  # a broken progress display never stops a pull
        log.exception("an audit progress callback failed")
