"""The Textual application: opens the tenant session (signing in inside the app), shows the main screen, and
runs the session-wide actions of the palette: exports, tenant profiles, clearing the cache, offline mode."""

from __future__ import annotations

import asyncio
import importlib
import os
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import App, SystemCommand
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.theme import Theme
from textual.worker import Worker, WorkerFailed, WorkerState

from entrabr_tui.core.sign_in import DeviceCodePrompt
from entrabr_tui.core.text import display_text
from entrabr_tui.core.time_input import moment_text
from entrabr_tui.engine.audit_types import AuditProgress
from entrabr_tui.engine.crash_report import crash_notice, write_crash_report
from entrabr_tui.engine.export import Export, ExportFormat
from entrabr_tui.engine.export_files import default_export_path, export_folder, write_export_file
from entrabr_tui.ui.backend import Backend, CachedReportView
from entrabr_tui.ui.commands import FORMATS, EntrabrCommands
from entrabr_tui.ui.connection import SIGN_IN_METHODS, ProfileChoice, SessionTarget, factory_keywords
from entrabr_tui.ui.exports import jobs_export, plan_export, report_export
from entrabr_tui.ui.screens.dialogs import ConfirmDialog, ExportPathDialog
from entrabr_tui.ui.screens.evidence_dialog import EvidencePackDialog
from entrabr_tui.ui.screens.help import HelpScreen
from entrabr_tui.ui.screens.interrupted import DROP, RESUME, REVIEW, InterruptedRestoreDialog
from entrabr_tui.ui.screens.main import MainScreen
from entrabr_tui.ui.screens.restore_dialogs import backup_label
from entrabr_tui.ui.screens.sign_in import CANCEL, OFFLINE, SignInScreen
from entrabr_tui.ui.text import clean, literal, plural, safe
from entrabr_tui.ui.workers import failure_title

#: Builds (and signs in) the session for the tenant; awaited inside the app so the UI shows progress. It is
#: called with the keywords it declares: ``prompt`` (shows a device code in the app) and ``target``.
SessionFactory = Callable[..., Awaitable[Backend]]


#: Days of recoveries the palette's evidence pack offers to cover when no backup is open (as ``entrabr
#: evidence`` by default).
EVIDENCE_DAYS = 7
#: Longest notification message shown (service messages can be long; the full text is in the history).
NOTIFY_CHARS = 600
_SCREENSHOT_SAVED = "Saved screenshot to [$text-success]"


def utc_now() -> datetime:
    return datetime.now(UTC)


def load_session_modules() -> None:
    """Import what opening a session needs (the engine, the store and the Graph SDK: the slowest part of
    starting). The app imports none of it to paint; the connect worker loads it in a thread."""
    importlib.import_module("entrabr_tui.engine.opening")


class _CrashNotice(Exception):
    """Stands in for the exception Textual would print with its locals; prints nothing (the notice is printed
    unwrapped by ``run_app``, so the report's path can be copied)."""

    def __rich__(self) -> Text:
        return Text("")


class EntrabrApp(App[int]):
    """entrabr: backups, difference reports, side-by-side diffs and restores of a Microsoft Entra tenant.

    ``target`` is the session opened first; ``profiles`` are the tenant profiles the palette can switch to;
    ``sign_in_methods`` are the methods offered for ``target`` (all interactive ones unless given: none for
    the demo tenant); ``export_dir`` is the folder an export is first offered in (by default ``exports/`` in
    the data folder; the user may type any path), ``evidence_dir`` the one an evidence pack's new folder is
    offered in (by default ``evidence/`` in the data folder); ``open_alert`` is an ``entrabr watch`` alert id
    the first session opens on (its report, filtered to the alert's objects; an alert that cannot be shown is
    said in a notification and the session starts as usual).
    """

    CSS_PATH = "app.tcss"
    TITLE = "entrabr"
    ENABLE_COMMAND_PALETTE = True
    COMMANDS = App.COMMANDS | {EntrabrCommands}

    def __init__(
        self,
        session_factory: SessionFactory,
        *,
        keymap: Mapping[str, str] | None = None,
        theme: str | None = None,
        on_theme_change: Callable[[str], None] | None = None,
        clock: Callable[[], datetime] = utc_now,
        target: SessionTarget | None = None,
        profiles: Sequence[ProfileChoice] = (),
        sign_in_methods: Sequence[str] | None = None,
        export_dir: Path | None = None,
        notices: Sequence[str] = (),
        open_alert: str | None = None,
        evidence_dir: Path | None = None,
    ) -> None:
        super().__init__()
        self.session_factory = session_factory
        self._keywords = factory_keywords(session_factory)
        self.initial_keymap = dict(keymap or {})
        self.initial_theme = theme
        self._saved_theme = theme
        self.on_theme_change = on_theme_change
        self.clock = clock
        self.target = target or SessionTarget()
        self.profiles = tuple(profiles)
        all_methods = tuple(method for method, _, _ in SIGN_IN_METHODS)
        self._start_methods = all_methods if sign_in_methods is None else tuple(sign_in_methods)
        self.export_dir = export_dir
        self.evidence_dir = evidence_dir
        self.notices = tuple(notices)
        self.open_alert = open_alert
        self.crash_report: Path | None = None
        self.crash_notice: str | None = None
        self.backend: Backend | None = None
        self._attempt = 0
        self.main = MainScreen(clock)

    async def on_mount(self) -> None:
        if self.initial_keymap:
            self.set_keymap(self.initial_keymap)
        if self.initial_theme and self.initial_theme in self.available_themes:
            self.theme = self.initial_theme
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        await self.push_screen(self.main)
        for notice in self.notices:
            self.notify(notice, title="Configuration", severity="warning", timeout=20)
        # Paint first: the session (and the Graph SDK it loads) comes after the screen is on the terminal.
        self.call_after_refresh(self.open_session, self.target)

    # -- state the palette reads -----------------------------------------------------------------------------
    @property
    def can_reopen(self) -> bool:
        """The session factory can open other targets (profiles, offline, other sign-in methods)."""
        return "target" in self._keywords

    @property
    def sign_in_methods(self) -> tuple[str, ...]:
        """Sign-in methods that apply to the current target."""
        if not self.can_reopen or self.target.offline:
            return ()
        if self.target.profile is not None:
            return tuple(method for method, _, _ in SIGN_IN_METHODS)
        return self._start_methods

    @property
    def export_directory(self) -> Path:
        """Where exports are offered first: ``export_dir``, else ``exports/`` in the data folder."""
        return self.export_dir or export_folder()

    @property
    def open_report(self) -> CachedReportView | None:
        """The report shown in pane 2, when it is complete in the cache."""
        report = self.main.report
        if report is None or report.id != self.main.report_id or not report.complete:
            return None
        return report

    # -- opening the session, signing in ---------------------------------------------------------------------
    def open_session(self, target: SessionTarget) -> None:
        """Open ``target`` in the background; a sign-in still in progress is abandoned."""
        self._attempt += 1
        self.target = target
        self.connect(target, self._attempt)

    @work(exclusive=True, exit_on_error=False, group="connect", description="Connecting")
    async def connect(self, target: SessionTarget, attempt: int) -> None:
        options: dict[str, object] = {}
        if "prompt" in self._keywords:
            options["prompt"] = partial(self.show_device_code, attempt)
        if "target" in self._keywords:
            options["target"] = target
        await asyncio.to_thread(load_session_modules)  # in a thread: the screen stays live meanwhile
        backend = await self.session_factory(**options)
        self._finish_sign_in()
        self.backend = backend
        self.main.set_backend(backend)
        if self.open_alert is not None:  # the first session only
            self.main.open_alert(self.open_alert)
            self.open_alert = None
        for warning in backend.warnings:
            self.notify(warning, title="Opening the tenant", severity="warning", timeout=15)
        if not backend.offline:
            self.offer_interrupted_restore(backend)

    @work(exclusive=True, exit_on_error=False, group="interrupted-restore", description="Interrupted restore")
    async def offer_interrupted_restore(self, backend: Backend) -> None:
        """Offer a restore that stopped part-way: resume, review (then ask again) or drop."""
        interrupted = await asyncio.to_thread(backend.interrupted_restore)
        review = False
        while interrupted is not None and self.backend is backend:
            choice = await self.push_screen_wait(InterruptedRestoreDialog(
                interrupted, review=review, can_resume=backend.capabilities.can_restore))
            if choice == REVIEW:
                review = True
                continue
            if choice == DROP:
                confirmed = await self.push_screen_wait(ConfirmDialog(
                    "Drop the interrupted restore?",
                    "Its remaining batches will not be sent. A batch already at the service runs on and is "
                    "recorded when it ends.", "Drop", danger=True))
                if not confirmed:
                    continue
                await asyncio.to_thread(backend.discard_interrupted_restore)
                self.notify("The interrupted restore was dropped.", title="Interrupted restore")
            elif choice == RESUME and self.main.restores is not None:
                self.main.restores.resume()
            return

    def show_device_code(self, attempt: int, prompt: DeviceCodePrompt) -> None:
        """Show the sign-in screen (safe to call from any thread, or from a loop callback outside the app's
        context); a prompt of an abandoned sign-in is ignored."""
        if threading.get_ident() != self._thread_id:
            self.call_from_thread(self.show_device_code, attempt, prompt)
        else:
            self.call_later(self._show_device_code, attempt, prompt)

    def _show_device_code(self, attempt: int, prompt: DeviceCodePrompt) -> None:
        if attempt != self._attempt:
            return
        self._finish_sign_in()
        methods = [m for m in SIGN_IN_METHODS if m[0] in self.sign_in_methods]
        self.push_screen(SignInScreen(prompt, methods), self._sign_in_chosen)

    def _finish_sign_in(self) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, SignInScreen):
                screen.finish()

    def _sign_in_chosen(self, choice: str | None) -> None:
        if choice == CANCEL:
            self._attempt += 1
            self.workers.cancel_group(self, "connect")
            hint = " (ctrl+p: sign in)" if self.can_reopen else ""
            self.main.changes.show_message(f"Sign-in cancelled{hint}")
        else:
            self._failure_chosen(choice)

    def _failure_chosen(self, choice: str | None) -> None:
        if choice == OFFLINE:
            self.set_offline(True)
        elif choice is not None and choice != CANCEL:
            self.sign_in_with(choice)

    def sign_in_with(self, method: str) -> None:
        """Sign in again with ``method`` (the open session, if any, is closed first)."""
        self.reopen(replace(self.target, auth=method, offline=False))

    # -- reopening -------------------------------------------------------------------------------------------
    def switch_profile(self, name: str) -> None:
        """Close the session and sign in to the tenant profile ``name``."""
        from entrabr_tui.engine.session_log import AppAction

        self.reopen(SessionTarget(profile=name), (AppAction.PROFILE_SWITCHED, f"to profile {name}"))

    def set_offline(self, offline: bool) -> None:
        """Reopen the tenant offline (the cache only) or online."""
        from entrabr_tui.engine.session_log import AppAction

        tenant = self.backend.tenant if self.backend is not None else self.target.tenant
        detail = "serving the cache only" if offline else "signing in to Microsoft Graph again"
        self.reopen(replace(self.target, offline=offline, tenant=tenant),
                    (AppAction.OFFLINE if offline else AppAction.ONLINE, detail))

    @work(exit_on_error=False, group="reopen", description="Reopening the tenant")
    async def reopen(self, target: SessionTarget, note: tuple[str, str] | None = None) -> None:
        """Close the open session (after recording ``note`` in its history) and open ``target``."""
        if not self._idle("Reopening the tenant"):
            return
        old, self.backend = self.backend, None
        if old is not None and note is not None:
            await asyncio.to_thread(partial(old.record, note[0], detail=note[1]))
        await self._fresh_main()
        if old is not None:
            await old.aclose()
        self.open_session(target)

    def _idle(self, doing: str) -> bool:
        if self.main.job_running:
            self.notify("A job is running: wait for it to finish or cancel it (C) first.", title=doing,
                        severity="warning")
            return False
        return True

    async def _fresh_main(self) -> None:
        """A new main screen (dialogs above the old one close): nothing of the old session stays on screen."""
        while len(self.screen_stack) > 1 and self.screen is not self.main:
            await self.pop_screen()
        main = MainScreen(self.clock)
        await self.switch_screen(main)
        self.main = main

    @work(exclusive=True, exit_on_error=False, group="clear-cache", description="Clearing the cache")
    async def clear_cache(self) -> None:
        """Ask, then set the tenant's cache aside and open the tenant again with an empty cache."""
        backend = self.backend
        if backend is None or not self._idle("Clear cache"):
            return
        blocker = await asyncio.to_thread(backend.clear_cache_blocker)
        if blocker is not None:
            self.notify(blocker, title="Cache not cleared", severity="warning", timeout=15)
            return
        queued = len(await asyncio.to_thread(backend.queue))
        body = Text.assemble(
            "The cached backup list, difference reports and job results of this tenant are set aside "
            "(kept as a file you may delete) and the tenant opens again with an empty cache. Reports the "
            "service still keeps can be downloaded again; the session history is kept.",
            (f"\n\n{plural(queued, 'object')} queued for restore will leave the queue." if queued else "",
             "bold"))
        title = literal("Clear the cache of ", safe(backend.tenant, 60), "?")
        confirmed = await self.push_screen_wait(ConfirmDialog(title, body, "Clear cache", danger=True))
        if not confirmed or self.backend is not backend:
            return
        self.backend = None
        await self._fresh_main()
        try:
            kept = await backend.close_and_clear_cache()
        except Exception as exc:
            await backend.aclose()
            self.notify(str(exc), title="Cache not cleared", severity="error", timeout=15)
        else:
            where = f" The old cache is kept as {kept}; delete it to free the space."
            self.notify("The tenant opens again with an empty cache." + (where if kept else ""),
                        title="Cache cleared", timeout=15)
        self.open_session(replace(self.target, tenant=backend.tenant))

    # -- exports ---------------------------------------------------------------------------------------------
    @work(exit_on_error=False, group="export", description="Export")
    async def export(self, what: str, fmt: ExportFormat) -> None:
        """Ask where, then write the open report, the restore plan or the job history to a new file; logged
        in the history."""
        backend = self.backend
        if backend is None:
            return
        report: CachedReportView | None = None
        target = "(not chosen)"
        try:
            data, report = await self._gather_export(backend, what)
            default = await asyncio.to_thread(default_export_path, data, fmt, self.export_dir)
            label = {"report": "the difference report", "plan": "the restore plan", "jobs": "the job history"}
            chosen = await self.push_screen_wait(
                ExportPathDialog(f"Export {label.get(what, what)} as {dict(FORMATS)[fmt]}", default))
            if chosen is None:
                return
            target = str(chosen)
            rows = await asyncio.to_thread(write_export_file, chosen, data, fmt)
        except Exception as exc:
            await asyncio.to_thread(partial(backend.log_export, what, target, count=0, fmt=fmt.value,
                                            report=report, outcome=f"error: {exc}"[:300]))
            raise
        await asyncio.to_thread(partial(backend.log_export, what, str(chosen), count=rows, fmt=fmt.value,
                                        report=report))
        self.notify(f"{rows:,} rows written to {chosen}", title="Exported")

    async def _gather_export(self, backend: Backend, what: str) -> tuple[Export, CachedReportView | None]:
        now = self.clock()
        if what == "plan":
            return await asyncio.to_thread(plan_export, backend, now)
        if what == "jobs":
            return await jobs_export(backend, now), None
        report = self.open_report
        if report is None:
            raise ValueError("No complete difference report is open: open one in pane 1 first.")
        entry = self.main.snapshot
        same = entry is not None and entry.snapshot.id == report.snapshot_id
        created = entry.snapshot.created if entry is not None and same else None
        return await asyncio.to_thread(report_export, backend, report, now, created), report

    # -- evidence pack ---------------------------------------------------------------------------------------
    @work(exit_on_error=False, group="evidence", description="Evidence pack")
    async def write_evidence_pack(self) -> None:
        """Ask since when and to which folder (the time of the backup restored from, else
        :data:`EVIDENCE_DAYS` days ago; a new folder in the data folder's ``evidence/``), then write the
        evidence pack of that window there, with its steps and the read of the audit log (waits for another
        entrabr process on the tenant, for the request budget) on the job strip; the folder written, or why
        not, is said in a notification."""
        from entrabr_tui.engine.evidence import EVIDENCE_STEPS, default_evidence_folder

        backend = self.backend
        if backend is None:
            return
        now = self.clock()
        default = await asyncio.to_thread(default_evidence_folder, backend.tenant, now, self.evidence_dir)
        since, offered = self._evidence_since(now)
        chosen = await self.push_screen_wait(EvidencePackDialog(since, offered, default, self.clock))
        if chosen is None or self.backend is not backend:
            return
        folder = Path(os.path.abspath(chosen.folder))
        strip = None if self.main.job_running else self.main.job_strip
        at = [0, len(EVIDENCE_STEPS) - 1]

        def progress(step: int, steps: int, text: str) -> None:
            at[:] = [step, steps - 1]
            if strip is not None:
                strip.show_text(f"Evidence pack: {text}", step, steps - 1)

        def audit_progress(event: AuditProgress) -> None:
            if strip is not None and (event.announced or event.phase == "reading"):
                strip.show_text(f"Evidence pack: {event.told(backend.tenant)}", at[0], at[1])

        try:
            paths = await backend.write_evidence(folder, chosen.since, progress, audit_progress)
        except Exception as exc:
            await asyncio.to_thread(partial(backend.log_export, "evidence", str(folder), count=0, fmt="pack",
                                            outcome=f"error: {exc}"[:300]))
            self.notify(f"The evidence pack was not written: {exc}", title="Evidence pack not written",
                        severity="error", timeout=30)
            return
        finally:
            if strip is not None:
                strip.hide()
        await asyncio.to_thread(partial(backend.log_export, "evidence", str(folder), count=len(paths),
                                        fmt="pack"))
        self.notify(f"{len(paths)} files (with manifest.sha256) written to {folder}, the recoveries since "
                    f"{moment_text(chosen.since)}", title="Evidence pack written", timeout=30)

    def _evidence_since(self, now: datetime) -> tuple[datetime, str]:
        """Where the evidence pack's window starts by default, and what that is: the time of the backup the
        open report compares the tenant with (the one restored from), else of the backup selected in pane
        1, else :data:`EVIDENCE_DAYS` days ago."""
        main = self.main
        report = main.report
        if report is not None:
            created = main.backup_time(report.snapshot_id)
            whose, unknown = "the open report's backup", "the open report's backup is not listed"
        else:
            created = main.snapshot.snapshot.created if main.snapshot is not None else None
            whose, unknown = "the backup selected in pane 1", "no backup is open"
        if created is not None and created <= now:
            return created, f"the time of {backup_label(created)}, {whose}"
        return now - timedelta(days=EVIDENCE_DAYS), f"{EVIDENCE_DAYS} days ago ({unknown})"

    # -- theme -----------------------------------------------------------------------------------------------
    def _theme_changed(self, theme: Theme) -> None:
        if theme.name != self._saved_theme:
            self._saved_theme = theme.name
            self._save_theme(theme.name)

    @work(thread=True, exit_on_error=False, group="theme", description="Saving the theme")
    def _save_theme(self, name: str) -> None:
        if self.on_theme_change is not None:
            try:
                self.on_theme_change(name)
            except Exception as exc:
                self.notify(f"The theme is used now but was not saved: {exc}",
                            title="Theme", severity="warning", timeout=10)
        backend = self.backend
        if backend is not None:
            from entrabr_tui.engine.session_log import AppAction

            backend.record(AppAction.THEME_CHANGED, detail=f"theme {name}")

    # -- notifications, errors, exit, palette ----------------------------------------------------------------
    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """A toast, always literal: messages and titles hold names, filters, paths and service messages, so
        they follow the display rule and are never parsed as markup (whatever a caller passes as
        ``markup``)."""
        if message.startswith(_SCREENSHOT_SAVED):  # Textual's own toast, written in its markup
            message = "Saved screenshot to " + message[len(_SCREENSHOT_SAVED):]
        text = display_text(message, multiline=True, limit=NOTIFY_CHARS)
        heading = display_text(title, limit=120)
        if timeout is None:
            super().notify(text, title=heading, severity=severity, markup=False)
        else:
            super().notify(text, title=heading, severity=severity, timeout=timeout, markup=False)

    def _handle_exception(self, error: Exception) -> None:
        """An exception nothing handled (in a message handler, or a worker that exits on error): write a crash
        report without tokens, then let Textual restore the terminal and end the app with return code 1.

        Textual's own report is a traceback with local variables (a credential's among them, possibly); it
        is replaced by :attr:`crash_notice`, naming the report file, which :func:`~entrabr_tui.ui.run_app`
        prints on stderr once the terminal is back."""
        cause: BaseException = error.error if isinstance(error, WorkerFailed) else error
        self.crash_report = write_crash_report(cause, where="terminal app")
        self.crash_notice = crash_notice(cause, self.crash_report)
        if self._exception is None:  # kept for run_test, which raises it in the test
            self._exception = error
            self._exception_event.set()
        super()._handle_exception(_CrashNotice())

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        error = event.worker.error
        if event.state is not WorkerState.ERROR or error is None:
            return
        text = clean(str(error) or type(error).__name__, limit=500)
        if event.worker.group == "connect":
            self._finish_sign_in()
            self.main.changes.show_message(f"Could not open the tenant: {text}")
            if self.can_reopen:
                methods = [m for m in SIGN_IN_METHODS if m[0] in self.sign_in_methods]
                failed = SignInScreen(None, methods, error=text, offline=not self.target.offline)
                self.push_screen(failed, self._failure_chosen)
            else:
                self.notify(text, title=failure_title(event.worker), severity="error", timeout=30)
        else:
            self.notify(text, title=failure_title(event.worker), severity="error", timeout=10)

    async def action_quit(self) -> None:
        """Quit from anywhere (the palette's Quit, ctrl+q over a dialog) as ``q`` does: asks while a job
        runs."""
        self.main.action_quit()

    async def on_unmount(self) -> None:
        if self.backend is not None:
            await self.backend.aclose()

    def action_help_quit(self) -> None:
        """ctrl+c where no binding of the screen took it (a dialog): say how to leave (literally)."""
        self.notify("Close the dialog first (esc), then press q or ctrl+c to quit.", title="Quit")

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        # Textual's "Keys" panel is left out: the key reference below is the one list of keys.
        yield from (c for c in super().get_system_commands(screen) if c.title != "Keys")
        main = self.main
        yield SystemCommand("New difference report", "Compare the highlighted backup with the tenant (n)",
                            main.action_new_report)
        yield SystemCommand("Restore queued objects", "Review the plan and restore (r)", main.action_restore)
        yield SystemCommand("History", "Jobs on the service and actions taken in this app (H)",
                            main.action_history)
        yield SystemCommand("Refresh", "Reload backups, the report and the queue (ctrl+r)",
                            main.action_refresh)
        yield SystemCommand("Cancel running job", "Ask the service to stop the running job (C)",
                            main.action_cancel_job)
        yield SystemCommand("Soft-delete lens", "Show only what a restore would soft-delete (D)",
                            main.changes.action_destructive_lens)
        yield SystemCommand("Key reference", "Every key, with your keymap applied (? or F1)",
                            lambda: self.push_screen(HelpScreen()))
