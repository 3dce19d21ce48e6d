"""The Textual application: connects a tenant session, shows the main screen, wires palette and keymap."""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from textual import work
from textual.app import App, SystemCommand
from textual.screen import Screen
from textual.theme import Theme
from textual.worker import Worker, WorkerState

from entrabr_tui.engine.export import Export, ExportFormat
from entrabr_tui.graph.credentials import DeviceCodePrompt
from entrabr_tui.ui.backend import Backend
from entrabr_tui.ui.exports import jobs_export, plan_export, write_file
from entrabr_tui.ui.screens.help import HelpScreen
from entrabr_tui.ui.screens.main import MainScreen
from entrabr_tui.ui.screens.sign_in import SignInScreen
from entrabr_tui.ui.text import clean

#: Builds (and signs in) the session for the tenant; awaited inside the app so the UI shows progress. A
#: factory with a ``prompt`` parameter is given a callback that shows a device code in the app.
SessionFactory = Callable[..., Awaitable[Backend]]


def utc_now() -> datetime:
    return datetime.now(UTC)


class EntrabrApp(App[int]):
    """entrabr: backups, difference reports, side-by-side diffs and restores of a Microsoft Entra tenant."""

    CSS_PATH = "app.tcss"
    TITLE = "entrabr"
    ENABLE_COMMAND_PALETTE = True

    def __init__(
        self,
        session_factory: SessionFactory,
        *,
        keymap: Mapping[str, str] | None = None,
        theme: str | None = None,
        on_theme_change: Callable[[str], None] | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        super().__init__()
        self.session_factory = session_factory
        self.initial_keymap = dict(keymap or {})
        self.initial_theme = theme
        self.on_theme_change = on_theme_change
        self.clock = clock
        self.backend: Backend | None = None
        self.main = MainScreen(clock)

    async def on_mount(self) -> None:
        if self.initial_keymap:
            self.set_keymap(self.initial_keymap)
        if self.initial_theme and self.initial_theme in self.available_themes:
            self.theme = self.initial_theme
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        await self.push_screen(self.main)
        self.connect()

    def _theme_changed(self, theme: Theme) -> None:
        if self.on_theme_change is not None:
            self.on_theme_change(theme.name)

    @work(exit_on_error=False, group="connect", description="Connecting")
    async def connect(self) -> None:
        if "prompt" in inspect.signature(self.session_factory).parameters:
            backend = await self.session_factory(prompt=self.show_device_code)
        else:
            backend = await self.session_factory()
        if isinstance(self.screen, SignInScreen):
            self.screen.dismiss(None)
        self.backend = backend
        self.main.set_backend(backend)

    def show_device_code(self, prompt: DeviceCodePrompt) -> None:
        """Show the sign-in screen (safe to call from any thread)."""
        if threading.get_ident() == self._thread_id:
            self.push_screen(SignInScreen(prompt))
        else:
            self.call_from_thread(self.push_screen, SignInScreen(prompt))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        error = event.worker.error
        if event.worker.group == "export" and event.state is WorkerState.ERROR and error is not None:
            self.notify(clean(str(error))[:300], title="Export failed", severity="error", timeout=10)
        if event.worker.group == "connect" and event.state is WorkerState.ERROR and error is not None:
            if isinstance(self.screen, SignInScreen):
                self.screen.dismiss(None)
            text = clean(str(error) or type(error).__name__)[:500]
            self.main.changes.show_message(f"Could not open the tenant: {text}")
            self.notify(text, title="Sign-in or connection failed", severity="error", timeout=30)

    async def on_unmount(self) -> None:
        if self.backend is not None:
            await self.backend.aclose()

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
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
        formats = ((ExportFormat.JSON, "JSON"), (ExportFormat.CSV, "CSV"),
                   (ExportFormat.MARKDOWN, "Markdown"))
        for fmt, label in formats:
            yield SystemCommand(f"Export restore plan as {label}", "Write the queue's plan to a file here",
                                partial(self.export, "plan", fmt))
            yield SystemCommand(f"Export job history as {label}", "Write the service's jobs to a file here",
                                partial(self.export, "jobs", fmt))

    @work(exit_on_error=False, group="export", description="Export")
    async def export(self, what: str, fmt: ExportFormat) -> None:
        """Write an export file in the working directory and say where it went."""
        backend = self.backend
        if backend is None:
            return
        now = self.clock()
        data: Export
        if what == "plan":
            data = await asyncio.to_thread(plan_export, backend, now)
        else:
            data = await jobs_export(backend, now)
        path, rows = await asyncio.to_thread(write_file, data, fmt, Path.cwd())
        self.notify(f"{rows:,} rows written to {clean(str(path))}", title="Exported")
