"""Progress of reports and restores on stderr.

On a terminal one status line is redrawn in place (at most ten times a second): a bar while changes
download, the job's phase and elapsed time while the service works. Elsewhere (a log file, CI) a line is
written only when something meaningful changes: a new phase, a new batch, every tenth of a download.
``--quiet`` silences it all. Plain ASCII, so it reads the same in any terminal and in a screen reader.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

from entrabr_tui.cli.output import is_tty
from entrabr_tui.engine.events import PHASE_DOWNLOADING, JobProgress, RestoreProgress
from entrabr_tui.engine.export_records import visible
from entrabr_tui.engine.timing import format_duration

BAR_WIDTH = 24
REDRAW_INTERVAL = 0.1


def bar(fraction: float, width: int = BAR_WIDTH) -> str:
    """``[#########...............]`` for a fraction in 0–1."""
    filled = round(max(0.0, min(1.0, fraction)) * width)
    return "[" + "#" * filled + "." * (width - filled) + "]"


def job_line(event: JobProgress) -> str:
    """One line describing a report or recovery job's progress."""
    elapsed = format_duration(event.elapsed)
    if event.phase == PHASE_DOWNLOADING:
        done = f"{event.downloaded:,}"
        if event.total:
            fraction = event.fraction or 0.0
            return f"{bar(fraction)} {fraction:4.0%}  downloading {done}/{event.total:,} changes  {elapsed}"
        return f"downloading {done} changes  {elapsed}"
    parts = [event.phase, event.text]
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


def restore_line(event: RestoreProgress) -> str:
    """One line describing a restore batch."""
    head = f"batch {event.batch}/{event.batch_count}"
    if event.ids_in_batch:
        head += f" ({event.ids_in_batch} objects)"
    body = job_line(event.job) if event.job is not None else f"{event.phase}  {event.text}"
    return f"{head}  {body}"


class ProgressPrinter:
    """Receives engine progress events and prints them to ``stream`` (see the module documentation)."""

    def __init__(self, stream: TextIO, *, quiet: bool = False, clock: Callable[[], float] = time.monotonic):
        self.stream = stream
        self.quiet = quiet
        self.tty = is_tty(stream)
        self.clock = clock
        self._drawn = False
        self._last_draw = -1.0
        self._last_key: tuple[object, ...] | None = None
        self._last_tenth = -1

    def job(self, event: JobProgress) -> None:
        """Callback for :class:`JobProgress` events."""
        if event.phase == PHASE_DOWNLOADING:
            self._show(job_line(event), (event.job_id, event.phase), int((event.fraction or 0.0) * 10))
        else:
            self._show(job_line(event), (event.job_id, event.phase, event.text), -1)

    def restore(self, event: RestoreProgress) -> None:
        """Callback for :class:`RestoreProgress` events."""
        job = event.job
        phase = job.phase if job is not None else event.phase
        tenth = -1
        key: tuple[object, ...] = (event.batch, event.job_id, phase)
        if job is not None and job.phase == PHASE_DOWNLOADING:
            tenth = int((job.fraction or 0.0) * 10)
        else:
            key += (job.text if job is not None else event.text,)
        self._show(restore_line(event), key, tenth)

    def _show(self, text: str, key: tuple[object, ...], tenth: int) -> None:
        if self.quiet:
            return
        line = visible(text)
        if self.tty:
            now = self.clock()
            if key == self._last_key and now - self._last_draw < REDRAW_INTERVAL:
                return
            self._last_key, self._last_draw = key, now
            self.stream.write("\r\x1b[K" + line)
            self.stream.flush()
            self._drawn = True
            return
        if key == self._last_key and tenth <= self._last_tenth:
            return
        self._last_key, self._last_tenth = key, tenth
        self.stream.write(line + "\n")
        self.stream.flush()

    def done(self) -> None:
        """End the status line (call before printing anything else to the terminal)."""
        if self.tty and self._drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
        self._drawn = False
        self._last_key = None
        self._last_tenth = -1
