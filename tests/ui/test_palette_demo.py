"""Palette flows on the demo tenant, opened by the command line's own session factory: export a report,
offline and back, clear the cache; every step in the session history."""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from entrabr_tui.cli.app_sessions import AppSessions
from entrabr_tui.cli.args import parse
from entrabr_tui.engine.session import Session
from entrabr_tui.store import History, StorePaths
from entrabr_tui.store.config import AppConfig
from entrabr_tui.ui.app import EntrabrApp
from entrabr_tui.ui.screens.dialogs import ConfirmDialog

from .conftest import SIZE, settle
from .demo_app import create_report
from .palette import export_through_the_palette, run_command, wait_until
from .screen_text import screen_text


@asynccontextmanager
async def demo_app(tmp_path: Path) -> AsyncIterator[tuple[EntrabrApp, Pilot[Any], AppSessions]]:
    sessions = AppSessions(parse(["--demo", "--objects", "300", "--job-speed", "1000000"]), AppConfig())
    app = EntrabrApp(sessions, target=sessions.target, profiles=sessions.profiles,
                     sign_in_methods=sessions.sign_in_methods, export_dir=tmp_path)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.backend is not None, "the demo session")
            await settle(pilot)
            yield app, pilot, sessions
    finally:
        sessions.close()


def session_of(app: EntrabrApp) -> Session:
    assert isinstance(app.backend, Session)
    return app.backend


def logged(action: str) -> list[Any]:
    with History.open(paths=StorePaths.default()) as history:
        return history.query(actions=[action])


async def reopened(pilot: Pilot[Any], app: EntrabrApp, old: Session) -> Session:
    await wait_until(pilot, lambda: app.backend is not None and app.backend is not old, "the new session")
    await settle(pilot)
    return session_of(app)


async def test_export_then_offline_and_online_on_the_demo_tenant(tmp_path: Path) -> None:
    async with demo_app(tmp_path) as (app, pilot, sessions):
        await create_report(app, pilot)
        first = session_of(app)
        report = first.report(app.main.report_id or "")
        assert report is not None and report.complete and report.downloaded > 0
        await export_through_the_palette(pilot, "export difference report csv",
                                         "Export difference report as CSV")
        await settle(pilot)
        exported = next(tmp_path.glob("entrabr-report-*.csv"))
        with exported.open(encoding="utf-8", newline="") as handle:
            assert len({row["id"] for row in csv.DictReader(handle)}) == report.downloaded
        export = logged("export")[0]
        assert export.job_id == report.id and export.counts == {"rows": report.downloaded}

        server = sessions.demo_server
        await run_command(pilot, "go offline", "Go offline")
        offline = await reopened(pilot, app, first)
        assert first.closed and offline.offline and offline.tenant == first.tenant
        assert "OFFLINE" in screen_text(app)
        assert app.main.report_id == report.id  # the cached report opens offline too
        assert logged("offline")[0].tenant_id == first.tenant

        await run_command(pilot, "go online", "Go online")
        online = await reopened(pilot, app, offline)
        assert not online.offline and sessions.demo_server is server  # the same demo tenant
        assert "OFFLINE" not in screen_text(app)
        assert logged("online") and logged("sign-in")[0].outcome == "ok"


async def test_clear_cache_on_the_demo_tenant_sets_the_file_aside(tmp_path: Path) -> None:
    async with demo_app(tmp_path) as (app, pilot, _sessions):
        first = session_of(app)
        cache_file = first.cache.db.path
        assert first.cache.tenant.snapshots()
        await run_command(pilot, "clear cache", "Clear cache")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the confirm dialog")
        await pilot.press("y")
        fresh = await reopened(pilot, app, first)
        assert first.closed and fresh.cache.db.path == cache_file
        kept = [p for p in cache_file.parent.iterdir() if ".cleared-" in p.name]
        assert len(kept) == 1 and kept[0].name.startswith(cache_file.name)
        assert fresh.reports() == []
        assert app.main.backups.row_count == 7  # listed again from the service into the new cache
        cleared = logged("cache-cleared")[0]
        assert cleared.outcome == "ok" and kept[0].name in (cleared.detail or "")
