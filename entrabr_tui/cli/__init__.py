"""The command line: ``entrabr [options] [command]``.

``entrabr emulator ...`` serves the Graph emulator; the commands (``snapshots``, ``report``, ``changes``,
``jobs``, ``restore``, ``history``, ``export``, ``audit``, ``blindspots``) run headless on the engine and
never import the terminal UI; with no command the terminal app opens (``--demo``, a configured tenant, or
``--offline``). Exit codes are listed in :mod:`entrabr_tui.cli.exits`; the ``--json`` schemas in
``docs/cli.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import sys
import traceback
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TextIO, cast

from entrabr_tui.cli.exits import CliError, ExitCode, UsageError, classify
from entrabr_tui.cli.output import Output

if TYPE_CHECKING:
    from entrabr_tui.engine.session import Session
    from entrabr_tui.store import AppConfig

Command = Callable[["Session", argparse.Namespace, Output], Awaitable[int]]

SHORT_HELP = """\
usage: entrabr [--demo | --profile NAME | --tenant ID] [options] [COMMAND]

No tenant is configured. Try the built-in demo tenant:
  entrabr --demo                 the terminal app
  entrabr --demo report          a difference report, headless
or sign in to your tenant:
  entrabr --tenant contoso.onmicrosoft.com
'entrabr --help' lists the commands and options.
"""


#: The session commands: the module under ``entrabr_tui.cli`` and the function that runs each. Only the
#: module of the command given is imported.
_COMMANDS = {
    "snapshots": ("read_commands", "snapshots"),
    "report": ("read_commands", "report"),
    "changes": ("read_commands", "changes"),
    "jobs": ("read_commands", "jobs"),
    "restore": ("restore_commands", "restore"),
    "export": ("export_command", "export"),
    "audit": ("audit_commands", "audit"),
    "blindspots": ("audit_commands", "blindspots"),
}


def _command(name: str) -> Command:
    module, function = _COMMANDS[name]
    return cast(Command, getattr(importlib.import_module(f"entrabr_tui.cli.{module}"), function))


def run(argv: list[str], *, stdin: TextIO | None = None, stdout: TextIO | None = None,
        stderr: TextIO | None = None) -> int:
    """Run ``entrabr`` with ``argv`` (without the program name); returns the process exit code."""
    if argv and argv[0] == "emulator":
        from entrabr_tui.emulator.cli import main as emulator_main

        return emulator_main(argv[1:])
    out = Output(stdout or sys.stdout, stderr or sys.stderr, stdin or sys.stdin, json_mode="--json" in argv)
    from entrabr_tui.cli.args import parse

    try:
        args = parse(argv)
    except UsageError as err:
        out.error(err)
        return int(err.code)
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    out.json_mode, out.quiet = args.json, args.quiet
    if args.version:
        from entrabr_tui import __version__

        out.line(f"entrabr {__version__}")
        return 0
    if args.command is None:
        return _guarded(out, lambda: _open_app(args, out))
    if args.command == "history":
        from entrabr_tui.cli.read_commands import history

        return _guarded(out, lambda: history(args, out))
    return _guarded(out, lambda: asyncio.run(_with_session(args, out)))


def _guarded(out: Output, body: Callable[[], int]) -> int:
    try:
        return int(body())
    except (Exception, KeyboardInterrupt) as exc:
        err = classify(exc)
        if err.code is ExitCode.INTERRUPTED:
            err = CliError("Interrupted. Jobs already started keep running on the service "
                           "('entrabr jobs' shows them; the next run picks them up).", ExitCode.INTERRUPTED)
        if err.code is ExitCode.ERROR and not isinstance(exc, CliError) and os.environ.get("ENTRABR_DEBUG"):
            traceback.print_exception(exc, file=out.stderr)
        out.error(err)
        return int(err.code)


async def _with_session(args: argparse.Namespace, out: Output) -> int:
    from entrabr_tui.cli.connect import load_app_config, open_session

    config = None if args.demo else load_app_config(out)
    command = _command(args.command)
    if args.command in ("restore", "export") and (args.ids or args.ids_from):
        from entrabr_tui.cli.restore_commands import read_targets

        args.targets = read_targets(args, out)  # bad input is refused before signing in
    session = await open_session(args, out, config)
    try:
        return await command(session, args, out)
    finally:
        await session.aclose()


def _open_app(args: argparse.Namespace, out: Output) -> int:
    """No command: open the terminal app (the only path that imports Textual). Sign-in happens in the app."""
    from entrabr_tui.cli.connect import configured_profile, load_app_config

    config = load_app_config(out)
    profile = None if args.demo else configured_profile(config, args.profile)
    if not (args.demo or profile or args.offline or args.tenant or args.graph_url):
        out.say(SHORT_HELP.rstrip())
        return int(ExitCode.USAGE)
    from entrabr_tui.cli.app_sessions import AppSessions

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
                       sign_in_methods=sessions.sign_in_methods)
    finally:
        sessions.close()


__all__ = ["ExitCode", "run"]
