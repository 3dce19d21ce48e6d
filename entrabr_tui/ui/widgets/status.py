"""Header line (tenant, identity, role, job slot), read-only banner and the job progress strip."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import ProgressBar, Static

from entrabr_tui.core.capabilities import BackupRole, Capabilities
from entrabr_tui.engine.events import JobProgress, RestoreProgress, RetryWait
from entrabr_tui.ui.backend import CachedReportView
from entrabr_tui.ui.text import clean, format_count, format_duration, safe, truncate

#: Short names of the roles, for narrow terminals.
_SHORT_ROLE = {
    BackupRole.GLOBAL_ADMINISTRATOR: "Global Admin",
    BackupRole.ADMINISTRATOR: "Backup Admin",
    BackupRole.READER: "Backup Reader",
    BackupRole.NONE: "no backup role",
    BackupRole.UNKNOWN: "role unknown",
}


def short_identity(identity: str) -> str:
    """``backup.admin@contoso.example`` → ``backup.admin@…`` (who, without the domain)."""
    local, at, _domain = identity.rpartition("@")
    return f"{local}@…" if at and local else identity


class StatusLine(Static):
    """``entrabr · tenant · identity · role · not in report · job slot · offline`` — one line, every part
    literal.

    When the line is too narrow, parts get shorter in turn (the role's short name, the app's name left out,
    the identity without its domain, the tenant cut) before anything is cut, so the role and who is signed in
    stay readable at 80 columns, and the audit part (how much the open report cannot show) is never cut.
    Offline, the role and the job slot are not known, and the line says so.
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("entrabr · connecting…", id=id)
        self.tenant = ""
        self.capabilities: Capabilities | None = None
        self.offline = False
        self.slot: str | None = None
        #: What the audit log says about the open report (``not in report: 12 (L)``), when known.
        self.audit: str | None = None

    def set_session(self, tenant: str, capabilities: Capabilities, offline: bool) -> None:
        self.tenant, self.capabilities, self.offline = tenant, capabilities, offline
        self._redraw()

    def set_slot(self, text: str | None) -> None:
        self.slot = text
        self._redraw()

    def set_audit(self, text: str | None) -> None:
        """The audit part of the line: how much the open report cannot show (or why that is not known)."""
        self.audit = text
        self._redraw()

    def on_resize(self) -> None:
        self._redraw()

    def _parts(self, level: int) -> tuple[list[tuple[str, str]], str]:
        """Left parts (``(name, text)``) and the job slot's part at shortening ``level`` (0: everything in
        full; then the role's short name, the app's name left out, the identity without its domain, the
        tenant cut, the identity cut). The audit part is never shortened."""
        caps = self.capabilities
        left = [("app", "entrabr")] if level < 2 else []
        if self.tenant:
            left.append(("tenant", truncate(clean(self.tenant), 24 if level < 4 else 12)))
        if caps is not None:
            who = clean(caps.identity.display)
            shown = who if level < 3 else short_identity(who)
            left.append(("identity", truncate(shown, 40 if level < 5 else 16)))
            if self.offline:
                left.append(("role", "role not known offline" if level < 1 else "role ?"))
            else:
                left.append(("role", caps.role.value if level < 1 else
                             _SHORT_ROLE.get(caps.role, caps.role.value)))
        if self.offline:
            right = "job slot not known · OFFLINE (cache only)" if level < 1 else "OFFLINE"
        else:
            right = clean(self.slot) if self.slot else ("job slot free" if level < 1 else "slot free")
        return left, right

    def _redraw(self) -> None:
        """Who and where on the left; the audit part and the job slot on the right. Parts shorten before
        anything is cut. When even the shortest parts do not fit, the job slot's text is cut, then the
        identity and the tenant; the audit part (``not in report: 12 (L)``) and the role never are."""
        width = max(20, (self.size.width or 100) - 2)
        audit = f"{clean(self.audit)} · " if self.audit else ""
        for level in range(6):
            left_parts, slot = self._parts(level)
            if _width(left_parts) + 3 + cell_len(audit) + cell_len(slot) <= width:
                break
        slot_room = min(max(min(cell_len(slot), _SLOT_MIN), width - 3 - cell_len(audit) - _width(left_parts)),
                        width - 3 - _PART_MIN - cell_len(audit))
        fits = slot_room >= _PART_MIN  # else (far below 80 columns) the slot's part is left out
        right_plain = audit + truncate(slot, slot_room) if fits else audit.removesuffix(" · ")
        right = Text(right_plain, style="bold" if self.offline else "")
        left_plain = " · ".join(text for _, text in _fit(left_parts, max(8, width - right.cell_len - 3)))
        left = Text(truncate(left_plain, max(8, width - right.cell_len - 3)), end="")
        if left_parts and left_parts[0][0] == "app":
            left.stylize("bold", 0, min(7, len(left.plain)))
        gap = max(3, width - left.cell_len - right.cell_len)
        self.update(Text.assemble(left, " " * gap, right))


#: The job slot's text keeps at least this many cells (``slot free``) when the line is short of room.
_SLOT_MIN = 9
#: What the identity and the tenant are cut down to, at least, before the line is cut at its end.
_PART_MIN = 8


def _width(parts: list[tuple[str, str]]) -> int:
    return cell_len(" · ".join(text for _, text in parts))


def _fit(parts: list[tuple[str, str]], room: int) -> list[tuple[str, str]]:
    """The left parts cut to ``room`` cells: the identity first, then the tenant (never below
    :data:`_PART_MIN`); the role stays whole."""
    out = list(parts)
    for name in ("identity", "tenant"):
        over = _width(out) - room
        if over <= 0:
            break
        out = [(n, truncate(text, max(_PART_MIN, cell_len(text) - over)) if n == name else text)
               for n, text in out]
    return out


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


def elapsed_text(elapsed: float, expected: float | None) -> str:
    """``12m 03s of up to 1h 45m``, or ``2h 10m: over the usual time (up to 1h 45m)`` past the estimate."""
    text = format_duration(elapsed)
    if expected:
        if elapsed > expected:
            return f"{text}: over the usual time (up to {format_duration(expected)})"
        text += f" of up to {format_duration(expected)}"
    return text


def job_progress_text(progress: JobProgress) -> str:
    """``difference report · 12m 03s of up to 1h 45m · Calculating differences`` (or, while a request waits
    to be tried again, ``… · throttled (HTTP 429): trying again in 42s (try 2 of 6)``)."""
    kind = "difference report" if progress.kind.value == "recoveryPreviewJob" else "restore"
    text = f"{kind} · {elapsed_text(progress.elapsed, progress.expected)}"
    if progress.phase == "downloading":
        total = format_count(progress.total) if progress.total is not None else "?"
        text += f" · {format_count(progress.downloaded)}/{total} changes"
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
