"""The command line: ``entrabr [options] [command]``.

``entrabr emulator ...`` serves the Graph emulator; the commands (``snapshots``, ``report``, ``changes``,
``jobs``, ``restore``, ``history``, ``export``, ``audit``, ``blindspots``, and the operations commands
``prewarm``, ``watch``, ``compare``, ``evidence``, ``drill``, ``status``) run headless on the engine and never
import the terminal UI; with no command the terminal app opens (``--demo``, a configured tenant, or
``--offline``). Exit codes are listed in :mod:`entrabr_tui.cli.exits`; the ``--json`` schemas in
``docs/cli.md``.
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TextIO

from entrabr_tui.cli.exits import CliError, ExitCode, UsageError, classify
from entrabr_tui.cli.output import Output

if TYPE_CHECKING:
    from entrabr_tui.cli.args import CommonArgs, HistoryArgs, StatusArgs
    from entrabr_tui.engine.session import Session


async def _run_command(session: Session, args: CommonArgs, out: Output) -> int:
    """Run the session command ``args`` are the options of; only the module of that command is imported."""
    from entrabr_tui.cli.args import (
        AuditArgs,
        BlindspotsArgs,
        ChangesArgs,
        CompareArgs,
        DrillArgs,
        EvidenceArgs,
        ExportArgs,
        JobsArgs,
        PrewarmArgs,
        ReportArgs,
        RestoreArgs,
        WatchArgs,
    )

    if isinstance(args, RestoreArgs):
        from entrabr_tui.cli.restore_commands import restore

        return await restore(session, args, out)
    if isinstance(args, ExportArgs):
        from entrabr_tui.cli.export_command import export

        return await export(session, args, out)
    if isinstance(args, AuditArgs | BlindspotsArgs):
        from entrabr_tui.cli import audit_commands

        if isinstance(args, AuditArgs):
            return await audit_commands.audit(session, args, out)
        return await audit_commands.blindspots(session, args, out)
    if isinstance(args, PrewarmArgs | WatchArgs | CompareArgs | DrillArgs | EvidenceArgs):
        from entrabr_tui.cli import ops_commands

        if isinstance(args, PrewarmArgs):
            return await ops_commands.prewarm(session, args, out)
        if isinstance(args, WatchArgs):
            return await ops_commands.watch(session, args, out)
        if isinstance(args, CompareArgs):
            return await ops_commands.compare(session, args, out)
        if isinstance(args, DrillArgs):
            return await ops_commands.drill(session, args, out)
        return await ops_commands.evidence(session, args, out)
    from entrabr_tui.cli import read_commands

    if isinstance(args, ReportArgs):
        return await read_commands.report(session, args, out)
    if isinstance(args, ChangesArgs):
        return await read_commands.changes(session, args, out)
    if isinstance(args, JobsArgs):
        return await read_commands.jobs(session, args, out)
    return await read_commands.snapshots(session, args, out)


def run(argv: list[str], *, stdin: TextIO | None = None, stdout: TextIO | None = None,
        stderr: TextIO | None = None) -> int:
    """Run ``entrabr`` with ``argv`` (without the program name); returns the process exit code."""
    if argv and argv[0] == "emulator":
        from entrabr_tui.emulator.cli import main as emulator_main

        return emulator_main(argv[1:])
    out = Output(stdout or sys.stdout, stderr or sys.stderr, stdin or sys.stdin, json_mode="--json" in argv)
    from entrabr_tui.cli.args import EmulatorArgs, HistoryArgs, StatusArgs, parse, target_flags

    try:
        args = parse(argv)
    except UsageError as err:
        out.error(err)
        return int(err.code)
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    if isinstance(args, EmulatorArgs):  # after global options: 'entrabr -q emulator --port 0'
        from entrabr_tui.emulator.cli import main as emulator_main

        return emulator_main(args.emulator_args)
    out.json_mode, out.quiet = args.json, args.quiet
    out.target_flags = target_flags(args)
    if args.version:
        from entrabr_tui import __version__

        out.line(f"entrabr {__version__}")
        return 0
    if args.command is None:
        # The app's start-up makes a few hundred thousand objects that live as long as the process (modules,
        # classes, widgets); the collector would walk them again and again, a tenth of the time to the first
        # screen. It is paused until a tenant opens (``settle_memory`` resumes it) or a while has passed.
        gc.disable()
        try:
            from entrabr_tui.cli.app_sessions import open_app

            return _guarded(out, lambda: open_app(args, out), argv)
        finally:
            gc.enable()
    if isinstance(args, HistoryArgs):
        history_args = args
        return _guarded(out, lambda: _history(history_args, out), argv)
    if isinstance(args, StatusArgs):
        status_args = args
        return _guarded(out, lambda: _status(status_args, out), argv)
    return _guarded(out, lambda: asyncio.run(_with_session(args, out)), argv)


def _guarded(out: Output, body: Callable[[], int], argv: list[str]) -> int:
    try:
        code = int(body())
        out.stdout.flush()  # a closed pipe shows here, not later in the interpreter's exit
        return code
    except BrokenPipeError:
        return _pipe_closed(out)
    except (Exception, KeyboardInterrupt) as exc:
        err = classify(exc)
        if err.code is ExitCode.INTERRUPTED:
            err = CliError("Interrupted. Jobs already started keep running on the service "
                           f"('{out.command('jobs', online=True)}' shows them; the next run picks them up).",
                           ExitCode.INTERRUPTED)
        if err.unexpected:
            return _crashed(out, exc, err, argv)
        out.error(err)
        return int(err.code)


def _pipe_closed(out: Output) -> int:
    """The reader of our output went away (``entrabr changes | head -1``): stop quietly with 141, the status a
    shell gives a program a closed pipe stops. Nothing more is written (stderr may be the same pipe); the
    process's stdout is pointed at the null device so the interpreter's last flush cannot complain."""
    for stream in (out.stdout, out.stderr):
        try:
            fd = stream.fileno()
        except (AttributeError, ValueError, OSError):
            continue
        if fd in (1, 2):
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, fd)
            os.close(null)
    return int(ExitCode.PIPE_CLOSED)


def _crashed(out: Output, exc: BaseException, err: CliError, argv: list[str]) -> int:
    """An error no rule knows: write a crash report (no tokens), say where it is, exit 1."""
    from entrabr_tui.engine.crash_report import crash_notice, crash_text, write_crash_report

    path = write_crash_report(exc, where="command line", argv=argv)
    if os.environ.get("ENTRABR_DEBUG"):
        out.say(crash_text(exc, where="command line", argv=argv, now=datetime.now(UTC)))
    message, _, hint = crash_notice(exc, path).partition("\n")
    out.error(CliError(message, err.code, hint=hint or None, unexpected=True))
    return int(err.code)


def _history(args: HistoryArgs, out: Output) -> int:
    from entrabr_tui.cli.connect import load_app_config
    from entrabr_tui.cli.read_commands import history

    load_app_config(out)  # not needed here, but every command says when the file is broken
    return history(args, out)


def _status(args: StatusArgs, out: Output) -> int:
    from entrabr_tui.cli.connect import load_app_config
    from entrabr_tui.cli.ops_commands import status

    return status(args, out, load_app_config(out))


async def _with_job_ids(session: Session, args: CommonArgs) -> CommonArgs:
    """``args`` with a job ID given by its start (``--report 5ad8e7de``) written out in full."""
    from entrabr_tui.cli.args import AuditArgs, BlindspotsArgs, ChangesArgs, TargetArgs
    from entrabr_tui.cli.common import full_job_id

    if isinstance(args, ChangesArgs | TargetArgs | AuditArgs | BlindspotsArgs) and args.report:
        return replace(args, report=await full_job_id(session, args.report))
    return args


async def _with_session(args: CommonArgs, out: Output) -> int:
    from entrabr_tui.cli.args import TargetArgs
    from entrabr_tui.cli.connect import load_app_config, open_session

    config = load_app_config(out)  # read even for the demo tenant: a broken file is said at once
    if isinstance(args, TargetArgs) and (args.ids or args.ids_from):
        from entrabr_tui.cli.restore_commands import read_targets

        args = replace(args, targets=read_targets(args, out))  # bad input is refused before signing in
    session = await open_session(args, out, config)
    try:
        return await _run_command(session, await _with_job_ids(session, args), out)
    finally:
        await session.aclose()


__all__ = ["ExitCode", "run"]
