"""Launching the terminal app from the command line, and the app's sessions: the tenant the command line
names first, then whatever the app asks for.

:func:`open_app` is the only place the command line reaches into the terminal UI (the import-linter
contracts in ``pyproject.toml`` allow exactly this module).

:class:`AppSessions` is the app's session factory. Sign-in happens inside the app: the device code goes to
the app's ``prompt`` (its sign-in screen), never to the terminal. A :class:`~entrabr_tui.ui.connection.
SessionTarget` from the app's palette picks another tenant profile, offline or online, or another sign-in
method. The demo tenant's emulator is started once and shared by every session of the app, so the demo
tenant keeps its state when the app reopens it (offline and back, after clearing the cache); :meth:`close`
stops it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from entrabr_tui.cli.args import CommonArgs
from entrabr_tui.cli.connect import (
    Target,
    config_problems,
    configured_profile,
    demo_poll,
    resolve_target,
    session_settings,
)
from entrabr_tui.cli.exits import ExitCode
from entrabr_tui.cli.output import Output
from entrabr_tui.ui.connection import SIGN_IN_METHODS, ProfileChoice, SessionTarget

if TYPE_CHECKING:
    from entrabr_tui.core.sign_in import PromptCallback
    from entrabr_tui.engine.session import Session
    from entrabr_tui.store import AppConfig


SHORT_HELP = """\
usage: entrabr [--demo | --profile NAME | --tenant ID] [options] [COMMAND]

No tenant is configured. Try the built-in demo tenant:
  entrabr --demo                 the terminal app
  entrabr --demo report          a difference report, headless
or sign in to your tenant:
  entrabr --tenant contoso.onmicrosoft.com
'entrabr --help' lists the commands and options.
"""


def open_app(args: CommonArgs, out: Output) -> int:
    """No command: open the terminal app (the only path that imports Textual). Sign-in happens in the app.

    Problems with the config file are printed before the app starts (they stay on the terminal after it
    ends) and shown in the app as it opens."""
    from entrabr_tui.store import load_config

    loaded = load_config()
    config = loaded.config
    problems = config_problems(loaded) + keymap_problems(loaded.path, config.keys)
    for problem in problems:
        out.warn(problem)
    profile = None if args.demo else configured_profile(config, args.profile)
    if not (args.demo or profile or args.offline or args.tenant or args.graph_url):
        out.say(SHORT_HELP.rstrip())
        return int(ExitCode.USAGE)
    sessions = AppSessions(args, config)
    from entrabr_tui.ui import run_app

    def save_theme(name: str) -> None:
        from entrabr_tui.store.config import update_config

        def set_theme(current: AppConfig) -> None:
            current.theme = name

        update_config(set_theme)

    try:
        # The engine's Session is the app's backend: run_app takes a factory of the UI's Backend protocol,
        # so the type checker proves here that Session satisfies it.
        return run_app(sessions, keymap=config.keys, theme=config.theme,
                       on_theme_change=save_theme, target=sessions.target, profiles=sessions.profiles,
                       sign_in_methods=sessions.sign_in_methods, notices=problems,
                       open_alert=args.open_alert)
    finally:
        sessions.close()


def keymap_problems(path: Path, keys: Mapping[str, str]) -> list[str]:
    """A message naming the ``[keys]`` entries that are no binding ID (the app ignores them)."""
    from entrabr_tui.ui.bindings import binding_ids

    known = set(binding_ids())
    unknown = [name for name in keys if name not in known]
    if not unknown:
        return []
    return [f"{path}: [keys] names no key binding {', '.join(repr(n) for n in unknown)}; ignored. "
            "The help screen (? in the app) lists every binding ID."]


class AppSessions:
    """Opens the app's sessions (see the module docstring).

    ``open_options`` go to :func:`~entrabr_tui.engine.opening.open_session` for tenants and offline sessions
    (``paths``, ``sign_in_options`` …; tests inject a fake Entra ID this way). Bad options raise
    ``UsageError`` here, before the app opens.
    """

    def __init__(self, args: CommonArgs, config: AppConfig,
                 open_options: Mapping[str, Any] | None = None) -> None:
        self.args = args
        self.config = config
        self.open_options = dict(open_options or {})
        first = resolve_target(args, config)  # refuses unknown profiles and sign-in methods now
        self.target = SessionTarget(profile=first.profile, offline=bool(args.offline))
        self.demo_server: Any = None

    @property
    def profiles(self) -> list[ProfileChoice]:
        """The configured tenant profiles."""
        return [ProfileChoice(p.name, p.tenant_id, p.auth_method) for p in self.config.profiles]

    @property
    def sign_in_methods(self) -> tuple[str, ...]:
        """Sign-in methods the app may offer for the first target (none for the demo tenant)."""
        return () if self.args.demo else tuple(method for method, _, _ in SIGN_IN_METHODS)

    def resolve(self, target: SessionTarget) -> Target:
        """The command-line target for a target of the app: a profile replaces the tenant options."""
        args = self.args
        if target.profile is not None and target.profile != self.target.profile:
            args = replace(args, demo=False, profile=target.profile, tenant=None, client_id=None,
                           graph_url=None, auth=None)
        if target.auth is not None:
            args = replace(args, auth=target.auth)
        args = replace(args, offline=target.offline)
        resolved = replace(resolve_target(args, self.config), offline=target.offline)
        if target.offline and target.tenant:
            resolved = replace(resolved, tenant=target.tenant)
        return resolved

    async def __call__(self, *, prompt: PromptCallback | None = None,
                       target: SessionTarget | None = None) -> Session:
        from entrabr_tui.engine import open_session

        resolved = self.resolve(target or self.target)
        if resolved.demo and not resolved.offline:
            return await self._demo(resolved)
        if resolved.demo:  # the demo tenant offline: its cache, by the tenant just used
            resolved = replace(resolved, demo=False, auth="emulator")
        settings = session_settings(resolved, allow_interaction=True)
        return await open_session(settings, prompt=prompt, **self.open_options)

    async def _demo(self, target: Target) -> Session:
        from entrabr_tui.engine.demo import DEMO_JOB_SPEED, open_demo, start_demo_server

        objects = self.args.objects if self.args.objects is not None else 2000
        speed = self.args.job_speed if self.args.job_speed is not None else DEMO_JOB_SPEED
        if self.demo_server is None:
            self.demo_server = await start_demo_server(objects=objects, job_speed=speed)
        return await open_demo(role=target.role, objects=objects, job_speed=speed,
                               poll=demo_poll(self.args.job_speed), server=self.demo_server)

    def close(self) -> None:
        """Stop the demo tenant's emulator, if one was started."""
        if self.demo_server is not None:
            self.demo_server.stop()
            self.demo_server = None
