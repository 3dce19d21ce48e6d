"""Session housekeeping against the emulator: streaming a report's changes, app actions and exports in the
history, clearing the cache (and when it is refused), and sign-ins that fail or are cancelled."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable

import pytest
from graph.fake_entra import FakeEntra

from entrabr_tui import engine
from entrabr_tui.core.model import JobKind
from entrabr_tui.core.sign_in import DeviceCodePrompt
from entrabr_tui.emulator import EmulatorServer
from entrabr_tui.engine import Session
from entrabr_tui.engine.cache_reader import UnknownReportError
from entrabr_tui.engine.errors import EngineError
from entrabr_tui.engine.session_log import AppAction
from entrabr_tui.engine.settings import SessionSettings
from entrabr_tui.graph.auth import AuthMethod, AuthSettings, SignInConfigError
from entrabr_tui.store import History, StorePaths

from .conftest import Sleeper, settings_for

OpenSession = Callable[..., Awaitable[Session]]


async def test_iter_changes_streams_a_report_without_the_query_lock(open_session: OpenSession) -> None:
    session = await open_session()
    report = await session.ensure_report(await session.resolve_snapshot("latest"))
    total = sum(c.count for c in session.counts(report.id))
    changes = session.iter_changes(report.id)  # resolved now; the rows stream later
    holding, release = threading.Event(), threading.Event()

    def hold_the_lock() -> None:
        with session.cache_reader.locked():
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    try:
        assert holding.wait(10)
        streamed = await asyncio.wait_for(asyncio.to_thread(list, changes), 30)
    finally:
        release.set()
        holder.join()
    assert len(streamed) == total == report.downloaded > 0
    assert {c.id for c in streamed} == {r.object_id for r in session.page(report.id, limit=total + 1)}
    assert all(c.delta is not None for c in streamed)
    with pytest.raises(UnknownReportError):
        session.iter_changes("no-such-report")


async def test_app_actions_and_exports_go_to_the_history(open_session: OpenSession) -> None:
    session = await open_session()
    report = await session.ensure_report(await session.resolve_snapshot("latest"))
    session.record(AppAction.THEME_CHANGED, detail="theme ansi-dark")
    session.log_export("report", "/tmp/out.csv", count=12, fmt="csv", report=report)
    theme, export = (session.history(actions=[a])[0] for a in (AppAction.THEME_CHANGED, "export"))
    assert theme.detail == "theme ansi-dark" and theme.identity == session.identity
    assert theme.tenant_id == session.tenant and theme.outcome == "ok"
    assert export.job_id == report.id and export.snapshot_id == report.snapshot_id
    assert export.counts == {"rows": 12} and export.detail == "report as csv to /tmp/out.csv"


async def test_clearing_the_cache_sets_the_file_aside_and_logs_it(
        open_session: OpenSession, emulator: EmulatorServer, paths: StorePaths, sleeper: Sleeper) -> None:
    session = await open_session()
    report = await session.ensure_report(await session.resolve_snapshot("latest"))
    session.mark(report.id, [session.page(report.id, limit=1)[0].object_id])
    path = session.cache.db.path
    assert session.clear_cache_blocker() is None

    kept = await session.close_and_clear_cache()

    assert session.closed and kept is not None and kept.exists() and not path.exists()
    assert kept.name.startswith(f"{path.name}.cleared-")
    fresh = await engine.open_session(settings_for(emulator), paths=paths, sleep=sleeper)
    try:
        assert fresh.cache.db.path == path and fresh.reports() == [] and fresh.queue() == []
        entry = fresh.history(actions=[AppAction.CACHE_CLEARED])[0]
        assert entry.outcome == "ok" and kept.name in (entry.detail or "")
        with pytest.raises(EngineError, match="closed"):
            await session.close_and_clear_cache()
    finally:
        await fresh.aclose()


async def test_clearing_is_refused_while_job_outcomes_are_not_collected(open_session: OpenSession) -> None:
    session = await open_session()
    snapshot = await session.resolve_snapshot("latest")
    intent = session.journal.intend(JobKind.RECOVERY, snapshot, None)
    reason = session.clear_cache_blocker()
    assert reason is not None and "1 job request" in reason
    with pytest.raises(EngineError, match="not collected"):
        await session.close_and_clear_cache()
    assert not session.closed and session.cache.db.path.exists()
    session.journal.unconfirmed(intent)  # checked with the service, no job found: no longer blocks
    assert session.clear_cache_blocker() is None


def _sign_ins(paths: StorePaths) -> list[str | None]:
    with History.open(paths=paths) as history:
        return [e.outcome for e in history.query(actions=["sign-in"])]


async def test_a_sign_in_that_cannot_start_is_recorded(paths: StorePaths) -> None:
    settings = SessionSettings(auth=AuthMethod.DEVICE_CODE,
                               auth_settings=AuthSettings(persistent_cache=False))
    with pytest.raises(SignInConfigError):
        await engine.open_session(settings, paths=paths)  # device code, but nowhere to show it
    assert _sign_ins(paths) == ["error"]


async def test_a_cancelled_device_code_sign_in_is_recorded(paths: StorePaths) -> None:
    fake = FakeEntra()
    release = threading.Event()

    def answer_when_released() -> None:
        release.wait(10)

    fake.on_poll = answer_when_released
    prompted = asyncio.Event()

    def prompt(_code: DeviceCodePrompt) -> None:
        prompted.set()

    settings = SessionSettings(auth=AuthMethod.DEVICE_CODE,
                               auth_settings=AuthSettings(persistent_cache=False))
    opening = asyncio.create_task(engine.open_session(settings, paths=paths, prompt=prompt,
                                               sign_in_options={"transport": fake.transport()}))
    await asyncio.wait_for(prompted.wait(), 10)
    opening.cancel()
    with pytest.raises(asyncio.CancelledError):
        await opening
    release.set()
    assert _sign_ins(paths) == ["cancelled"]
