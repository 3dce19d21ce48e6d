"""With no command, the terminal app opens (the only path that imports Textual); sign-in is in the app."""

from __future__ import annotations

import asyncio
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from entrabr_tui.cli.app_sessions import AppSessions
from entrabr_tui.cli.args import parse
from entrabr_tui.cli.exits import UsageError
from entrabr_tui.store import StorePaths
from entrabr_tui.store.config import AppConfig, TenantProfile, load_config, save_config
from entrabr_tui.ui.connection import ProfileChoice, SessionTarget

from .helpers import cli


def _config() -> AppConfig:
    return AppConfig(profiles=[
        TenantProfile("work", "72f988bf-86f1-41af-91ab-2d7cd011db47", "client-1", "device-code"),
        TenantProfile("lab", "lab.onmicrosoft.com", None, "cli", "https://graph.microsoft.com/beta"),
    ], default_profile="work")


def test_demo_without_command_opens_the_app_on_a_demo_session(monkeypatch: pytest.MonkeyPatch) -> None:
    import entrabr_tui.ui as ui

    seen: dict[str, Any] = {}

    def fake_run_app(factory: Any, **options: Any) -> int:
        seen["options"] = options

        async def open_and_close() -> None:
            session = await factory()
            seen["tenant"] = session.tenant
            seen["can_restore"] = session.capabilities.can_restore
            seen["snapshots"] = len(await session.snapshots())
            await session.aclose()

        asyncio.run(open_and_close())
        return 0

    monkeypatch.setattr(ui, "run_app", fake_run_app)
    result = cli("--demo", "--role", "reader", "--objects", "100")
    assert result.code == 0, result.stderr
    assert seen["tenant"] and seen["snapshots"] == 7
    assert seen["can_restore"] is False  # --role reader reaches the app's session
    options = seen["options"]
    assert set(options) == {"keymap", "theme", "on_theme_change", "target", "profiles", "sign_in_methods",
                            "notices", "open_alert"}
    assert options["target"] == SessionTarget() and options["sign_in_methods"] == ()
    assert options["notices"] == [] and options["open_alert"] is None


def test_open_hands_the_alert_to_the_app_and_refuses_what_is_no_alert_id(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import entrabr_tui.ui as ui

    seen: dict[str, Any] = {}

    def fake_run_app(factory: Any, **options: Any) -> int:
        seen.update(options)
        return 0

    monkeypatch.setattr(ui, "run_app", fake_run_app)
    result = cli("--demo", "--open", " AL-3f09c1d2aa ")
    assert result.code == 0, result.stderr
    assert seen["open_alert"] == "AL-3f09c1d2aa"
    for argv, says in ((("--demo", "--open", "AL-[red]x"), "alert id like AL-0123456789"),
                       (("--demo", "--open", "AL-3f09c1d2aa", "status"), "leave out the command")):
        seen.clear()
        refused = cli(*argv)
        assert refused.code == 2 and says in refused.stderr and seen == {}, refused.stderr


def test_a_real_tenant_signs_in_inside_the_app_and_nothing_is_printed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Before the app starts nothing signs in (no device code on the terminal); the factory takes the app's
    prompt and target."""
    import entrabr_tui.ui as ui

    seen: dict[str, Any] = {}

    def fake_run_app(factory: Any, **options: Any) -> int:
        seen["factory"], seen["options"] = factory, options
        return 0

    monkeypatch.setattr(ui, "run_app", fake_run_app)
    result = cli("--tenant", "contoso.onmicrosoft.com", "--auth", "browser")
    assert result.code == 0
    assert result.stdout == "" and result.stderr == ""
    factory = seen["factory"]
    assert isinstance(factory, AppSessions)
    from entrabr_tui.ui.connection import factory_keywords

    assert factory_keywords(factory) == {"prompt", "target"}
    assert seen["options"]["sign_in_methods"] == ("device-code", "browser", "cli")
    target = factory.resolve(seen["options"]["target"])
    assert (target.tenant, target.auth, target.offline) == ("contoso.onmicrosoft.com", "browser", False)


def _sessions(*argv: str, config: AppConfig | None = None) -> AppSessions:
    return AppSessions(parse(list(argv)), config or _config())


def test_targets_from_the_palette_resolve_against_the_profiles() -> None:
    sessions = _sessions("--profile", "work")
    assert sessions.target == SessionTarget(profile="work")
    assert sessions.profiles == [ProfileChoice("work", "72f988bf-86f1-41af-91ab-2d7cd011db47", "device-code"),
                                 ProfileChoice("lab", "lab.onmicrosoft.com", "cli")]
    lab = sessions.resolve(SessionTarget(profile="lab"))
    assert (lab.profile, lab.tenant, lab.auth, lab.graph_url) == (
        "lab", "lab.onmicrosoft.com", "cli", "https://graph.microsoft.com/beta")
    other_method = sessions.resolve(SessionTarget(profile="work", auth="browser"))
    assert (other_method.tenant, other_method.auth) == ("72f988bf-86f1-41af-91ab-2d7cd011db47", "browser")
    offline = sessions.resolve(SessionTarget(profile="work", offline=True, tenant="tid-from-token"))
    assert offline.offline and offline.tenant == "tid-from-token"


def test_command_line_options_apply_to_the_first_tenant_only() -> None:
    sessions = _sessions("--tenant", "contoso.onmicrosoft.com", "--client-id", "app-1")
    first = sessions.resolve(sessions.target)
    assert (first.tenant, first.client_id) == ("contoso.onmicrosoft.com", "app-1")
    switched = sessions.resolve(SessionTarget(profile="lab"))
    assert (switched.tenant, switched.client_id) == ("lab.onmicrosoft.com", None)


def test_demo_targets_stay_on_the_demo_until_a_profile_is_chosen() -> None:
    sessions = _sessions("--demo")
    assert sessions.sign_in_methods == ()
    assert sessions.resolve(SessionTarget()).demo
    offline = sessions.resolve(SessionTarget(offline=True, tenant="demo-tid"))
    assert offline.demo and offline.offline and offline.tenant == "demo-tid"
    assert not sessions.resolve(SessionTarget(profile="work")).demo


def test_bad_sign_in_method_is_refused_before_the_app_opens() -> None:
    with pytest.raises(UsageError):
        _sessions("--tenant", "contoso.onmicrosoft.com", config=AppConfig(profiles=[
            TenantProfile("x", "t", auth_method="carrier-pigeon")], default_profile="x"))


async def test_demo_sessions_share_one_emulator_and_close_stops_it() -> None:
    sessions = AppSessions(replace(parse(["--demo", "--objects", "100"]), job_speed=1e6), AppConfig())
    first = await sessions()
    server = sessions.demo_server
    await first.aclose()
    assert server is not None and sessions.demo_server is server  # closing a session leaves it running
    offline = await sessions(target=SessionTarget(offline=True, tenant=first.tenant))
    assert offline.offline and offline.tenant == first.tenant
    await offline.aclose()
    again = await sessions()
    assert sessions.demo_server is server and len(await again.snapshots()) == 7
    await again.aclose()
    sessions.close()
    assert sessions.demo_server is None


def test_theme_is_saved_into_the_config_as_it_is_on_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    import entrabr_tui.ui as ui

    path = StorePaths.default().config_file
    save_config(_config(), path)
    seen: dict[str, Any] = {}

    def fake_run_app(factory: Any, **options: Any) -> int:
        config = load_config(path).config  # edited while the app runs: the edit is kept
        config.keys["quit"] = "ctrl+q"
        save_config(config, path)
        options["on_theme_change"]("ansi-dark")
        seen["ok"] = True
        return 0

    monkeypatch.setattr(ui, "run_app", fake_run_app)
    assert cli("--demo").code == 0 and seen["ok"]
    saved = tomllib.loads(Path(path).read_text())
    assert saved["theme"] == "ansi-dark" and saved["keys"] == {"quit": "ctrl+q"}
    assert [p["name"] for p in saved["profiles"]] == ["work", "lab"]


def test_theme_is_not_saved_over_a_malformed_config(monkeypatch: pytest.MonkeyPatch) -> None:
    import entrabr_tui.ui as ui
    from entrabr_tui.store.config import ConfigError

    path = StorePaths.default().config_file
    errors: list[str] = []

    def fake_run_app(factory: Any, **options: Any) -> int:
        path.write_text("theme = [unclosed\n")
        try:
            options["on_theme_change"]("ansi-dark")
        except ConfigError as exc:
            errors.append(str(exc))
        return 0

    monkeypatch.setattr(ui, "run_app", fake_run_app)
    assert cli("--demo").code == 0
    assert errors and "not valid TOML" in errors[0]
    assert path.read_text() == "theme = [unclosed\n"


BROKEN = 'theme = "ansi-dark"\n[keys\nquit = "ctrl+q"\n'


def test_a_broken_config_is_said_at_start_by_the_app_launcher(monkeypatch: pytest.MonkeyPatch) -> None:
    import entrabr_tui.ui as ui

    path = StorePaths.default().config_file
    path.write_text(BROKEN, encoding="utf-8")
    seen: dict[str, Any] = {}

    def fake_run_app(factory: Any, **options: Any) -> int:
        seen.update(options)
        return 0

    monkeypatch.setattr(ui, "run_app", fake_run_app)
    result = cli("--demo", "--objects", "100")
    assert result.code == 0
    assert f"{path} line 2, column" in result.stderr and "Using the defaults" in result.stderr
    [notice] = seen["notices"]
    assert "line 2, column" in notice
    assert seen["theme"] == "textual-dark"  # carried on with the defaults
    assert path.read_text(encoding="utf-8") == BROKEN  # never overwritten


def test_unknown_keymap_ids_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    import entrabr_tui.ui as ui

    path = StorePaths.default().config_file
    path.write_text('[keys]\nbogus-id = "z"\nrestore = "ctrl+r"\n"tree-mrak" = "m"\n', encoding="utf-8")
    seen: dict[str, Any] = {}
    monkeypatch.setattr(ui, "run_app", lambda factory, **options: seen.update(options) or 0)
    result = cli("--demo", "--objects", "100")
    assert result.code == 0
    assert "'bogus-id', 'tree-mrak'" in result.stderr and "'restore'" not in result.stderr
    assert any("bogus-id" in notice for notice in seen["notices"])


def test_a_broken_config_is_said_by_headless_commands_which_carry_on() -> None:
    path = StorePaths.default().config_file
    path.write_text(BROKEN, encoding="utf-8")
    result = cli("history")
    assert result.code == 0
    assert "line 2, column" in result.stderr
    result = cli("--demo", "--objects", "100", "snapshots", "--json")
    assert result.code == 0 and "line 2, column" in result.stderr
    assert path.read_text(encoding="utf-8") == BROKEN
