"""Progress of reports and restores on stderr.

On a terminal one status line is redrawn in place (at most ten times a second): a bar while changes
download, the job's phase and elapsed time while the service works. The line is cut to the terminal's width
(``COLUMNS`` when it cannot be read, else 80 columns), wide characters counted as the two cells they take,
so ``\\r`` always returns to its start and it never wraps into a new line on every redraw. While a request
waits to be tried again (throttled, a service or network hiccup) the line says so and counts the wait down,
once a second. Elsewhere (a log file, CI) a line is written only when something meaningful changes: a new
phase, a new batch, a retry, every tenth of a download. ``--quiet`` silences it all. Plain ASCII, so it
reads the same in any terminal and in a screen reader.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TextIO

from entrabr_tui.cli.output import columns_setting, is_tty, terminal_width
from entrabr_tui.core.text import truncate
from entrabr_tui.engine.events import PHASE_DOWNLOADING, JobProgress, RestoreProgress, RetryWait
from entrabr_tui.engine.export_records import visible
from entrabr_tui.engine.timing import format_duration

BAR_WIDTH = 24
REDRAW_INTERVAL = 0.1
#: Width assumed for a terminal whose size cannot be read and when ``COLUMNS`` is not set.
DEFAULT_WIDTH = 80


def bar(fraction: float, width: int = BAR_WIDTH) -> str:
    """``[#########...............]`` for a fraction in 0–1."""
    filled = round(max(0.0, min(1.0, fraction)) * width)
    return "[" + "#" * filled + "." * (width - filled) + "]"


def _utc_now() -> datetime:
    return datetime.now(UTC)


def job_line(event: JobProgress, now: datetime | None = None) -> str:
    """One line describing a report or recovery job's progress (and a retry's countdown at ``now``)."""
    retry = _retry(event.retry, now)
    elapsed = format_duration(event.elapsed)
    if event.phase == PHASE_DOWNLOADING:
        done = f"{event.downloaded:,}"
        if event.total:
            fraction = event.fraction or 0.0
            line = f"{bar(fraction)} {fraction:4.0%}  downloading {done}/{event.total:,} changes  {elapsed}"
        else:
            line = f"downloading {done} changes  {elapsed}"
        return f"{line}  {retry}" if retry else line
    parts = [event.phase, retry or event.text]
    if event.job_id:
        parts.append(f"job {event.job_id}")
    if event.changed_objects is not None:
        parts.append(f"{event.changed_objects:,} changed objects")
    if event.objects_modified is not None:
        parts.append(f"{event.objects_modified:,} modified")
    if event.failed_changes:
        parts.append(f"{event.failed_changes:,} failed")
    if event.holder is not None:
        parts.append(f"slot held by job {event.holder.id}")
    timing = elapsed if event.expected is None else f"{elapsed} (expected {format_duration(event.expected)})"
    parts.append(timing)
    return "  ".join(p for p in parts if p)


def restore_line(event: RestoreProgress, now: datetime | None = None) -> str:
    """One line describing a restore batch."""
    head = f"batch {event.batch}/{event.batch_count}"
    if event.ids_in_batch:
        head += f" ({event.ids_in_batch} objects)"
    if event.job is not None:
        body = job_line(event.job, now)
    else:
        body = f"{event.phase}  {_retry(event.retry, now) or event.text}"
    return f"{head}  {body}"


def _retry(wait: RetryWait | None, now: datetime | None) -> str:
    return "" if wait is None else wait.text(now or _utc_now())


class ProgressPrinter:
    """Receives engine progress events and prints them to ``stream`` (see the module documentation).

    ``clock`` paces the redraws (monotonic seconds); ``now`` is the wall clock a retry counts down against;
    ``sleep`` paces the countdown (tests pass instant ones).
    """

    def __init__(self, stream: TextIO, *, quiet: bool = False, clock: Callable[[], float] = time.monotonic,
                 now: Callable[[], datetime] = _utc_now,
                 sleep: Callable[[float], Awaitable[object]] = asyncio.sleep) -> None:
        self.stream = stream
        self.quiet = quiet
        self.tty = is_tty(stream)
        self.clock = clock
        self.now = now
        self.sleep = sleep
        self._drawn = False
        self._last_draw = -1.0
        self._last_key: tuple[object, ...] | None = None
        self._last_tenth = -1
        self._render: Callable[[], str] | None = None  # the line shown now, redrawn by the countdown
        self._waiting: RetryWait | None = None
        self._ticker: asyncio.Task[None] | None = None

    @property
    def width(self) -> int:
        """Columns the line may take: the terminal's (``COLUMNS`` when its size cannot be read, as over some
        ssh sessions and multiplexers; else 80), less one (writing the last column wraps some)."""
        return max(20, (terminal_width(self.stream) or columns_setting() or DEFAULT_WIDTH) - 1)

    def job(self, event: JobProgress) -> None:
        """Callback for :class:`JobProgress` events."""
        retry = _retry_key(event.retry)
        if event.phase == PHASE_DOWNLOADING:
            key: tuple[object, ...] = (event.job_id, event.phase, retry)
            tenth = int((event.fraction or 0.0) * 10)
        else:
            key, tenth = (event.job_id, event.phase, event.text, retry), -1
        self._show(lambda: job_line(event, self.now()), key, tenth, event.retry)

    def restore(self, event: RestoreProgress) -> None:
        """Callback for :class:`RestoreProgress` events."""
        job = event.job
        phase = job.phase if job is not None else event.phase
        tenth = -1
        key: tuple[object, ...] = (event.batch, event.job_id, phase, _retry_key(event.retry))
        if job is not None and job.phase == PHASE_DOWNLOADING:
            tenth = int((job.fraction or 0.0) * 10)
        else:
            key += (job.text if job is not None else event.text,)
        self._show(lambda: restore_line(event, self.now()), key, tenth, event.retry)

    def _show(self, render: Callable[[], str], key: tuple[object, ...], tenth: int,
              retry: RetryWait | None) -> None:
        if self.quiet:
            return
        if self.tty:
            self._render, self._waiting = render, retry
            now = self.clock()
            if key == self._last_key and now - self._last_draw < REDRAW_INTERVAL:
                return
            self._last_key, self._last_draw = key, now
            self._draw()
            if retry is not None:
                self._count_down()
            return
        if key == self._last_key and tenth <= self._last_tenth:
            return
        self._last_key, self._last_tenth = key, tenth
        self.stream.write(visible(render()) + "\n")
        self.stream.flush()

    def _draw(self) -> None:
        if self._render is None:
            return
        self.stream.write("\r\x1b[K" + truncate(visible(self._render()), self.width, "..."))
        self.stream.flush()
        self._drawn = True

    def _count_down(self) -> None:
        """Redraw the line every second until the retry's wait is over (or the next event replaces it)."""
        if self._ticker is not None and not self._ticker.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop: the next event redraws
            return
        self._ticker = loop.create_task(self._tick())

    async def _tick(self) -> None:
        while self._waiting is not None and self._waiting.remaining(self.now()) > 0:
            await self.sleep(1.0)
            if self._waiting is None:
                return
            self._draw()

    def done(self) -> None:
        """End the status line (call before printing anything else to the terminal)."""
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        self._waiting = self._render = None
        if self.tty and self._drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
        self._drawn = False
        self._last_key = None
        self._last_tenth = -1


def _retry_key(wait: RetryWait | None) -> object:
    return None if wait is None else (wait.attempt, wait.until)
