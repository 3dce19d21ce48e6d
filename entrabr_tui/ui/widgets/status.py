"""Header line (tenant, identity, role, job slot), read-only banner and the job progress strip."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import ProgressBar, Static

from entrabr_tui.core.capabilities import Capabilities
from entrabr_tui.engine.events import JobProgress, RestoreProgress, RetryWait
from entrabr_tui.ui.backend import CachedReportView
from entrabr_tui.ui.text import clean, format_duration, safe


class StatusLine(Static):
    """``entrabr · tenant · identity · role · job slot · offline`` — one line, every part literal."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("entrabr · connecting…", id=id)
        self.tenant = ""
        self.capabilities: Capabilities | None = None
        self.offline = False
        self.slot = "job slot free"

    def set_session(self, tenant: str, capabilities: Capabilities, offline: bool) -> None:
        self.tenant, self.capabilities, self.offline = tenant, capabilities, offline
        self._redraw()

    def set_slot(self, text: str | None) -> None:
        self.slot = text or "job slot free"
        self._redraw()

    def on_resize(self) -> None:
        self._redraw()

    def _redraw(self) -> None:
        """Who and where on the left, the job slot on the right; the left side is cut first."""
        right = safe(self.slot, 70)
        if self.offline:
            right.append(" · OFFLINE (cache only)", style="bold")
        left = Text("entrabr", style="bold", end="")
        if self.tenant:
            left.append(" · ")
            left.append_text(safe(self.tenant, 24))
        if self.capabilities is not None:
            left.append(" · ")
            left.append_text(safe(self.capabilities.identity.display, 40))
            left.append(" · ")
            left.append_text(safe(self.capabilities.role.value, 30))
        width = max(20, (self.size.width or 100) - 2)
        room = max(8, width - right.cell_len - 3)
        if left.cell_len > room:
            left = safe(left.plain, room, style="")
            left.stylize("bold", 0, min(7, len(left.plain)))
        gap = max(3, width - left.cell_len - right.cell_len)
        self.update(Text.assemble(left, " " * gap, right))


class ReadOnlyBanner(Static):
    """What this sign-in cannot do, and why: offline, read-only (app-only), or no restores (Entra Backup
    Reader). From the token's claims, a hint: nothing is blocked on it, the service decides."""

    def show_limits(self, capabilities: Capabilities, offline: bool) -> None:
        if offline:
            text = Text.assemble(("OFFLINE ", "bold"),
                                 "· the cache is shown as it is; reports and restores need Microsoft Graph")
        elif not capabilities.can_create_report and not capabilities.can_restore:
            reason = capabilities.report_reason or capabilities.restore_reason or "this sign-in may only read"
            text = Text.assemble(("READ-ONLY ", "bold"), "· ", clean(reason)[:200])
        elif not capabilities.can_restore:
            reason = capabilities.restore_reason or "this sign-in may not restore"
            text = Text.assemble(("NO RESTORE ", "bold"), "· ", clean(reason)[:200],
                                 ". Difference reports work.")
        else:
            self.display = False
            return
        self.display = True
        self.update(text)


def report_state(report: CachedReportView | None) -> str | None:
    """What the Changes title adds about the open report: ``incomplete: 1,998 of 5,005 (…)`` until it is
    proven complete, and how many change objects could not be read (``None``: nothing to add)."""
    if report is None:
        return None
    if not report.complete:
        return report.state_text or "incomplete"
    return f"{report.unreadable:,} unreadable" if report.unreadable else None


def job_progress_text(progress: JobProgress) -> str:
    """``difference report · 12m 03s of up to 1h 45m · Calculating differences`` (or, while a request waits
    to be tried again, ``… · throttled (HTTP 429): trying again in 42 s (try 2 of 6)``)."""
    kind = "difference report" if progress.kind.value == "recoveryPreviewJob" else "restore"
    text = f"{kind} · {format_duration(progress.elapsed)}"
    if progress.expected:
        text += f" of up to {format_duration(progress.expected)}"
    if progress.phase == "downloading":
        total = f"{progress.total:,}" if progress.total is not None else "?"
        text += f" · {progress.downloaded:,}/{total} changes"
    return f"{text} · {_retry_text(progress.retry) or progress.text or progress.phase}"


def slot_text(progress: JobProgress) -> str:
    """Short form for the status line: ``report: calculating 12m 03s``."""
    kind = "report" if progress.kind.value == "recoveryPreviewJob" else "restore"
    return f"{kind}: {progress.phase} {format_duration(progress.elapsed)}"


def restore_progress_text(progress: RestoreProgress) -> str:
    return (f"restore · batch {progress.batch}/{progress.batch_count} · {format_duration(progress.elapsed)}"
            f" · {_retry_text(progress.retry) or progress.text or progress.phase}")


def _retry_text(wait: RetryWait | None) -> str:
    return "" if wait is None else wait.text(datetime.now(UTC))


class JobStrip(Horizontal):
    """What the running job is doing, with a progress bar; hidden while no job runs. While a request waits
    to be tried again, ``countdown`` renders the text anew every second."""

    def compose(self) -> ComposeResult:
        yield Static("", id="job-text")
        yield ProgressBar(total=None, show_eta=False, id="job-bar")

    def on_mount(self) -> None:
        self.display = False
        self._countdown: Callable[[], str] | None = None
        self._ticker = self.set_interval(1.0, self._tick, pause=True)

    def show_text(self, text: str, done: float | None, total: float | None, *,
                  countdown: Callable[[], str] | None = None) -> None:
        self.display = True
        self.query_one("#job-text", Static).update(safe(text, 200))
        bar = self.query_one("#job-bar", ProgressBar)
        bar.update(total=total, progress=done if done is not None else 0)
        self._countdown = countdown
        if countdown is None:
            self._ticker.pause()
        else:
            self._ticker.resume()

    def _tick(self) -> None:
        if self._countdown is not None:
            self.query_one("#job-text", Static).update(safe(self._countdown(), 200))

    def hide(self) -> None:
        self.display = False
        self._countdown = None
        self._ticker.pause()
