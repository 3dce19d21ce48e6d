"""Command palette entries on the test double: exports, profiles, clear cache, theme, offline; all logged."""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textual.command import CommandList
from textual.pilot import Pilot

from entrabr_tui.core.sign_in import PromptCallback
from entrabr_tui.engine.export import ExportFormat
from entrabr_tui.ui.app import EntrabrApp
from entrabr_tui.ui.commands import EntrabrCommands, palette_commands
from entrabr_tui.ui.connection import ProfileChoice, SessionTarget
from entrabr_tui.ui.screens.dialogs import ConfirmDialog

from .conftest import SIZE, factory_for, settle
from .fake_backend import NOW, FakeBackend
from .palette import export_through_the_palette, palette_hits, run_command, wait_until
from .screen_text import screen_text

PROFILES = (ProfileChoice("work", "72f988bf-0000-4000-8000-000000000001"),
            ProfileChoice("[bold]lab[/bold]", "lab.onmicrosoft.com", "cli"))


@dataclass
class Tenants:
    """A session factory that can reopen: a fresh test double per call, every target recorded."""

    opened: list[FakeBackend] = field(default_factory=list)
    targets: list[SessionTarget] = field(default_factory=list)

    async def __call__(self, *, prompt: PromptCallback | None = None,
                       target: SessionTarget | None = None) -> FakeBackend:
        target = target or SessionTarget()
        self.targets.append(target)
        name = f"Tenant {target.profile}" if target.profile else "Contoso (demo)"
        backend = FakeBackend(tenant=name, offline=target.offline)
        self.opened.append(backend)
        return backend


@asynccontextmanager
async def app_on(factory: Any, tmp_path: Path,
                 **options: Any) -> AsyncIterator[tuple[EntrabrApp, Pilot[Any]]]:
    app = EntrabrApp(factory, clock=lambda: NOW, export_dir=tmp_path, **options)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        yield app, pilot


def actions(backend: FakeBackend) -> list[str]:
    return [entry.action for entry in backend.history()]


async def test_export_report_as_csv_json_and_markdown_through_the_palette(tmp_path: Path) -> None:
    backend = FakeBackend()
    async with app_on(factory_for(backend), tmp_path) as (app, pilot):
        for query, label, suffix in (("report csv", "CSV", "csv"), ("report json", "JSON", "json"),
                                     ("report markdown", "Markdown", "md")):
            title = f"Export difference report as {label}"
            await export_through_the_palette(pilot, f"export difference {query}", title)
            await settle(pilot)
            written = sorted(tmp_path.glob(f"entrabr-report-*.{suffix}"))
            assert len(written) == 1, written
        with next(tmp_path.glob("*.csv")).open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert len({row["id"] for row in rows}) == len(backend.tenant_changes)  # a row per changed property
        document = json.loads(next(tmp_path.glob("*.json")).read_text(encoding="utf-8"))
        assert document["report"]["id"] == "job-1" and len(document["changes"]) == len(backend.tenant_changes)
        assert document["report"]["snapshotCreated"].startswith("2026-07-27T22:00:00")
        markdown = next(tmp_path.glob("*.md")).read_text(encoding="utf-8")
        assert "\\[bold red\\]Injected" in markdown  # a hostile name, escaped for Markdown
        exports = [e for e in backend.history() if e.action == "export"]
        assert len(exports) == 3 and all(e.job_id == "job-1" and e.outcome == "ok" for e in exports)
        assert any("rows written" in n.message for n in app._notifications)


async def test_a_second_export_in_the_same_second_gets_a_new_name(tmp_path: Path) -> None:
    backend = FakeBackend()
    async with app_on(factory_for(backend), tmp_path) as (_app, pilot):
        for _ in range(2):
            await export_through_the_palette(pilot, "export job history json", "Export job history as JSON")
            await settle(pilot)
        names = sorted(p.name for p in tmp_path.iterdir())
        assert names == ["entrabr-jobs-20260728T093000Z-2.json", "entrabr-jobs-20260728T093000Z.json"]
        assert [e.action for e in backend.history()].count("export") == 2


async def test_export_needs_a_complete_open_report_and_failures_are_logged(tmp_path: Path) -> None:
    backend = FakeBackend()
    async with app_on(factory_for(backend), tmp_path) as (app, pilot):
        app.main.report_id = "job-elsewhere"  # a report still downloading: not exportable
        titles = [c.title for c in palette_commands(app)]
        assert "Export difference report as CSV" not in titles
        assert "Export restore plan as CSV" in titles
        app.export("report", ExportFormat.CSV)
        await settle(pilot)
        failed = [e for e in backend.history() if e.action == "export"]
        assert failed and (failed[0].outcome or "").startswith("error")
        assert any(n.title == "Export failed" for n in app._notifications)
        assert list(tmp_path.iterdir()) == []


async def test_switch_tenant_profile_reopens_the_session(tmp_path: Path) -> None:
    tenants = Tenants()
    async with app_on(tenants, tmp_path, profiles=PROFILES) as (app, pilot):
        first = tenants.opened[0]
        hits = await palette_hits(pilot, "switch")
        assert hits[:2] == ["Switch to tenant profile work", "Switch to tenant profile [bold]lab[/bold]"]
        await pilot.press("escape")
        await run_command(pilot, "switch work", "Switch to tenant profile work")
        await settle(pilot)
        assert tenants.targets[-1] == SessionTarget(profile="work")
        assert first.closed and "profile-switched" in actions(first)
        assert app.backend is tenants.opened[-1] and app.target.profile == "work"
        assert "Tenant work" in screen_text(app).splitlines()[0]
        assert "Switch to tenant profile work (current)" in [c.title for c in palette_commands(app)]
        # A hostile profile name is shown literally in the palette.
        await pilot.press("ctrl+p")
        hits = await palette_hits(pilot, "lab")
        assert "Switch to tenant profile [bold]lab[/bold]" in hits
        await pilot.press("escape")


async def test_offline_toggle_reopens_offline_and_back(tmp_path: Path) -> None:
    tenants = Tenants()
    async with app_on(tenants, tmp_path) as (app, pilot):
        await run_command(pilot, "go offline", "Go offline")
        await settle(pilot)
        assert tenants.targets[-1] == SessionTarget(offline=True, tenant="Contoso (demo)")
        assert "offline" in actions(tenants.opened[0]) and tenants.opened[0].closed
        assert app.backend is not None and app.backend.offline
        assert "OFFLINE" in screen_text(app)
        await run_command(pilot, "go online", "Go online")
        await settle(pilot)
        assert tenants.targets[-1].offline is False
        assert "online" in actions(tenants.opened[1])
        assert app.backend is tenants.opened[2] and not app.backend.offline
        assert "OFFLINE" not in screen_text(app)


async def test_clear_cache_asks_first_then_reopens(tmp_path: Path) -> None:
    tenants = Tenants()
    async with app_on(tenants, tmp_path) as (app, pilot):
        first = tenants.opened[0]
        first.mark("job-1", ["u-00001", "u-00002"])
        await run_command(pilot, "clear cache", "Clear cache")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the confirm dialog")
        assert "2 objects queued for restore will leave the queue" in screen_text(app)
        await pilot.press("n")
        await settle(pilot)
        assert first.cleared == 0 and app.backend is first
        await run_command(pilot, "clear cache", "Clear cache")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the confirm dialog")
        await pilot.press("y")
        await wait_until(pilot, lambda: len(tenants.opened) == 2 and app.backend is tenants.opened[1],
                         "the reopened session")
        await settle(pilot)
        assert first.cleared == 1 and first.closed and "cache-cleared" in actions(first)
        assert tenants.targets[-1] == SessionTarget(tenant="Contoso (demo)")
        assert app.screen is app.main and app.main.backend is tenants.opened[1]


async def test_clear_cache_refused_while_the_session_says_no(tmp_path: Path) -> None:
    backend = FakeBackend(clear_blocker="A job started in this session is still running.")
    async with app_on(factory_for(backend), tmp_path) as (app, pilot):
        await run_command(pilot, "clear cache", "Clear cache")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmDialog)
        assert any(n.title == "Cache not cleared" for n in app._notifications)
        assert backend.cleared == 0 and not backend.closed


async def test_theme_from_the_palette_is_saved_and_logged(tmp_path: Path) -> None:
    backend = FakeBackend()
    saved: list[str] = []
    async with app_on(factory_for(backend), tmp_path, on_theme_change=saved.append) as (app, pilot):
        await run_command(pilot, "theme", "Theme")
        await run_command(pilot, "ansi-dark", "ansi-dark")
        await settle(pilot)
        assert app.theme == "ansi-dark"
        assert saved == ["ansi-dark"]
        themes = [e for e in backend.history() if e.action == "theme-changed"]
        assert len(themes) == 1 and themes[0].detail == "theme ansi-dark"


async def test_a_theme_that_cannot_be_saved_says_so(tmp_path: Path) -> None:
    def refuse(name: str) -> None:
        raise ValueError("config.toml is not valid TOML")

    async with app_on(factory_for(FakeBackend()), tmp_path, on_theme_change=refuse) as (app, pilot):
        app.theme = "ansi-light"
        await settle(pilot)
        assert any("not saved" in n.message and "not valid TOML" in n.message for n in app._notifications)


async def test_palette_offers_only_what_the_factory_supports(tmp_path: Path) -> None:
    async with app_on(factory_for(FakeBackend()), tmp_path, profiles=PROFILES) as (app, _pilot):
        titles = [c.title for c in palette_commands(app)]
        assert "Clear cache" in titles and "Export job history as Markdown" in titles
        assert not any(t.startswith(("Switch to", "Go offline", "Sign in")) for t in titles)
        provider = EntrabrCommands(app.screen)
        found = [hit.text async for hit in provider.search("export plan md")]
        assert found and found[0] == "Export restore plan as Markdown"
        discovered = [hit.text async for hit in provider.discover()]
        assert discovered == titles


async def test_the_export_asks_where_offering_the_data_folder(monkeypatch: Any, tmp_path: Path) -> None:
    from textual.widgets import Input

    from entrabr_tui.store import StorePaths
    from entrabr_tui.ui.screens.dialogs import ExportPathDialog

    monkeypatch.chdir(tmp_path)
    backend = FakeBackend()
    app = EntrabrApp(factory_for(backend), clock=lambda: NOW)  # no export_dir: the data folder
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await run_command(pilot, "export job history csv", "Export job history as CSV")
        await wait_until(pilot, lambda: isinstance(app.screen, ExportPathDialog), "the path question")
        offered = Path(app.screen.query_one("#export-path", Input).value)
        exports = StorePaths.default().data_dir / "exports"
        assert offered == exports / "entrabr-jobs-20260728T093000Z.csv"
        await pilot.press("escape")  # cancelled: nothing written, nothing logged
        await settle(pilot)
        assert not offered.exists() and "export" not in actions(backend)
        chosen = tmp_path / "ticket-4711.csv"
        await export_through_the_palette(pilot, "export job history csv", "Export job history as CSV",
                                         str(chosen))
        await settle(pilot)
        assert chosen.read_text(encoding="utf-8").startswith("record,jobKind")
        assert oct(chosen.stat().st_mode & 0o777) == oct(0o600)
        [logged] = [e for e in backend.history() if e.action == "export"]
        assert logged.outcome == "ok" and str(chosen) in (logged.detail or "")
        assert [p.name for p in tmp_path.iterdir()] == ["ticket-4711.csv"]  # nothing else in the cwd


async def test_the_export_never_replaces_a_file(tmp_path: Path) -> None:
    backend = FakeBackend()
    existing = tmp_path / "keep.json"
    existing.write_text("precious", encoding="utf-8")
    async with app_on(factory_for(backend), tmp_path) as (app, pilot):
        await export_through_the_palette(pilot, "export job history json", "Export job history as JSON",
                                         str(existing))
        await settle(pilot)
        assert existing.read_text(encoding="utf-8") == "precious"
        assert any(n.title == "Export failed" and "exists" in n.message for n in app._notifications)
        [logged] = [e for e in backend.history() if e.action == "export"]
        assert (logged.outcome or "").startswith("error")
        assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.json"]


async def test_a_path_that_looks_like_markup_is_shown_literally(tmp_path: Path) -> None:
    backend = FakeBackend()
    async with app_on(factory_for(backend), tmp_path) as (app, pilot):
        bad = tmp_path / "no [/] such [red]folder" / "x.csv"
        await export_through_the_palette(pilot, "export job history csv", "Export job history as CSV",
                                         str(bad))
        await settle(pilot)
        [failed] = [n for n in app._notifications if n.title == "Export failed"]
        assert "no [/] such [red]folder" in failed.message
        assert failed.markup is False  # shown literally: "[/]" would be a MarkupError, "[red]" a style
        assert app.return_code is None


async def test_palette_help_built_from_a_profile_is_shown_literally(tmp_path: Path) -> None:
    hostile = (ProfileChoice("ops", "[$accent]lab\\[b]x[/b]\\", "cli"),)
    async with app_on(Tenants(), tmp_path, profiles=hostile) as (app, pilot):
        await palette_hits(pilot, "switch ops")
        commands = app.screen.query_one(CommandList)
        prompts = [str(commands.get_option_at_index(i).prompt) for i in range(commands.option_count)]
        entry = next(p for p in prompts if p.startswith("Switch to tenant profile ops"))
        assert entry.split("\n")[1] == "Tenant [$accent]lab\\[b]x[/b]\\, sign-in by cli"
        await pilot.press("escape")
