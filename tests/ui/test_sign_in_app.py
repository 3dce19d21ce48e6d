"""Signing in inside the app: a device code from a fake Entra ID (the emulator serves Graph), other sign-in
methods chosen on the sign-in screen, cancelling, and failures in the history."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msal_extensions  # type: ignore[import-untyped]  # the package ships no type hints
import pytest
from graph.fake_entra import FakeEntra

from entrabr_tui.cli.app_sessions import AppSessions
from entrabr_tui.cli.args import parse
from entrabr_tui.core.sign_in import DeviceCodePrompt, PromptCallback
from entrabr_tui.emulator import EmulatorServer
from entrabr_tui.store import History, StorePaths
from entrabr_tui.store.config import AppConfig
from entrabr_tui.ui.app import EntrabrApp
from entrabr_tui.ui.connection import SessionTarget
from entrabr_tui.ui.screens.sign_in import SignInScreen

from .conftest import SIZE, settle
from .fake_backend import NOW, FakeBackend
from .palette import run_command, wait_until
from .screen_text import screen_text


@pytest.fixture(autouse=True)
def private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A private HOME and no usable keyring, so the token cache never touches the user's."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("AZURE_AUTHORITY_HOST", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)

    def no_keyring(*args: object, **kwargs: object) -> None:
        raise RuntimeError("libsecret is not usable here")

    monkeypatch.setattr(msal_extensions, "LibsecretPersistence", no_keyring)


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    server = EmulatorServer(seed=5, objects=150, job_speed=1e6)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def sessions_for(emulator: EmulatorServer, fake: FakeEntra) -> AppSessions:
    """The CLI's factory for ``entrabr --graph-url <emulator> --auth device-code``, Entra ID faked."""
    args = parse(["--graph-url", emulator.graph_url(), "--auth", "device-code"])
    options = {"sign_in_options": {"transport": fake.transport(), "http_options": {"retry_total": 0}}}
    return AppSessions(args, AppConfig(), open_options=options)


def sign_ins() -> list[Any]:
    with History.open(paths=StorePaths.default()) as history:
        return history.query(actions=["sign-in"])


async def test_device_code_is_shown_in_the_app_and_the_main_screen_follows(emulator: EmulatorServer) -> None:
    fake = FakeEntra()
    release = threading.Event()

    def answer_when_released() -> None:  # Entra ID answers once the test has seen the code
        release.wait(10)

    fake.on_poll = answer_when_released
    sessions = sessions_for(emulator, fake)
    app = EntrabrApp(sessions, target=sessions.target, sign_in_methods=sessions.sign_in_methods)
    async with app.run_test(size=(140, 30)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, SignInScreen), "the sign-in screen")
        await pilot.pause()
        text = screen_text(app)
        assert "https://microsoft.com/devicelogin" in text and "ABCD-EFGH" in text
        assert "Browser (b)" in text and "Azure CLI (a)" in text
        await pilot.press("c")
        assert app.clipboard == "ABCD-EFGH"
        await pilot.press("u")
        assert app.clipboard == "https://microsoft.com/devicelogin"
        release.set()
        await wait_until(pilot, lambda: app.backend is not None, "the signed-in session")
        await settle(pilot)
        assert app.screen is app.main
        status = screen_text(app).splitlines()[0]
        assert "alice@contoso.example" in status and "Entra Backup Administrator" in status
        assert app.main.backups.row_count == 7
        assert "devicecode" in fake.kinds()
    entry = sign_ins()[0]
    assert entry.outcome == "ok" and "device-code, interactive" in (entry.detail or "")


async def test_a_failed_sign_in_is_explained_recorded_and_offers_other_ways(emulator: EmulatorServer) -> None:
    fake = FakeEntra(network_down=True)
    sessions = sessions_for(emulator, fake)
    app = EntrabrApp(sessions, target=sessions.target, sign_in_methods=sessions.sign_in_methods)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, SignInScreen) and app.screen.error is not None,
                         "the failure screen")
        await pilot.pause()
        text = screen_text(app)
        assert "Could not open the tenant" in text and "refused" in text
        assert "Browser (b)" in text and "Offline (o)" in text and "ABCD" not in text
        assert app.backend is None
        entry = sign_ins()[0]
        assert entry.outcome == "error" and "device-code" in (entry.detail or "")
        await pilot.press("o")  # offline: there is no cache for this tenant yet, so that fails too
        await wait_until(pilot, lambda: isinstance(app.screen, SignInScreen) and "needs a cache"
                         in (app.screen.error or ""), "the offline failure")
        failed = app.screen
        assert isinstance(failed, SignInScreen) and app.target.offline
        assert not failed.offline  # no offline choice when opening offline failed
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.main and "Could not open the tenant" in screen_text(app)


class Attempts:
    """A factory whose device-code sign-in waits until cancelled; other methods sign in at once."""

    def __init__(self) -> None:
        self.targets: list[SessionTarget] = []
        self.prompts: list[PromptCallback] = []
        self.cancelled = 0
        self.backend = FakeBackend()

    async def __call__(self, *, prompt: PromptCallback, target: SessionTarget) -> FakeBackend:
        self.targets.append(target)
        if target.auth in (None, "device-code"):
            self.prompts.append(prompt)
            prompt(DeviceCodePrompt("https://microsoft.com/devicelogin", f"CODE-{len(self.targets)}",
                                    datetime(2026, 7, 28, 10, tzinfo=UTC)))
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.cancelled += 1
                raise
        return self.backend


async def test_another_method_can_be_chosen_on_the_sign_in_screen() -> None:
    attempts = Attempts()
    app = EntrabrApp(attempts, clock=lambda: NOW)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, SignInScreen), "the sign-in screen")
        await pilot.press("d")  # a new code: the first sign-in is abandoned
        await wait_until(pilot, lambda: "CODE-2" in screen_text(app), "the second code")
        assert attempts.cancelled == 1 and attempts.targets[-1].auth == "device-code"
        attempts.prompts[0](DeviceCodePrompt("https://example.invalid", "STALE", NOW))
        await pilot.pause()
        assert "STALE" not in screen_text(app)  # a prompt of an abandoned sign-in is ignored
        await pilot.click("#method-browser")
        await wait_until(pilot, lambda: app.backend is attempts.backend, "the browser sign-in")
        await settle(pilot)
        assert attempts.cancelled == 2 and attempts.targets[-1] == SessionTarget(auth="browser")
        assert app.screen is app.main and "Contoso (demo)" in screen_text(app)


async def test_escape_cancels_the_sign_in_and_the_palette_retries() -> None:
    attempts = Attempts()
    app = EntrabrApp(attempts, clock=lambda: NOW)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, SignInScreen), "the sign-in screen")
        await pilot.press("escape")
        await wait_until(pilot, lambda: attempts.cancelled == 1, "the cancelled sign-in")
        await pilot.pause()
        assert app.backend is None and "Sign-in cancelled" in screen_text(app)
        await run_command(pilot, "sign in azure cli", "Sign in: Azure CLI")
        await wait_until(pilot, lambda: app.backend is attempts.backend, "the Azure CLI sign-in")
        assert attempts.targets[-1] == SessionTarget(auth="cli")


async def test_the_demo_offers_no_sign_in_methods() -> None:
    attempts = Attempts()
    app = EntrabrApp(attempts, clock=lambda: NOW, sign_in_methods=())
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, SignInScreen), "the sign-in screen")
        await pilot.pause()
        assert "another way" not in screen_text(app)
        await pilot.press("b")
        await pilot.pause()
        assert len(attempts.targets) == 1  # b does nothing here
        await pilot.press("escape")
        await wait_until(pilot, lambda: attempts.cancelled == 1, "the cancelled sign-in")
