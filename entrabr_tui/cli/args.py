"""The command-line grammar: global options, the commands and their options.

Global options may be given before or after the command (``entrabr --demo report`` and ``entrabr report
--demo`` mean the same). A parse error raises :class:`~entrabr_tui.cli.exits.UsageError` (exit code 2)
instead of exiting, so the caller reports it like any other error.

:func:`parse` builds one frozen options object per run from what argparse parsed: :class:`CommonArgs` (the
tenant of the run and how output looks) for ``snapshots`` and the app, and a subclass with its own options
for every other command. Nothing after parsing sees argparse's ``Namespace``.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

from entrabr_tui.cli.exits import UsageError
from entrabr_tui.cli.ops_args import add_ops_commands

if TYPE_CHECKING:
    from entrabr_tui.cli.targets import Target

COMMANDS = ("snapshots", "report", "changes", "jobs", "restore", "history", "export", "audit", "blindspots",
            "prewarm", "watch", "compare", "evidence", "drill", "status", "emulator")
AUTH_CHOICES = ("device-code", "browser", "cli", "env", "emulator")
ROLE_CHOICES = ("reader", "admin", "global")
FORMAT_CHOICES = ("json", "csv", "md")
WHAT_CHOICES = ("report", "plan", "jobs")
ACTION_CHOICES = ("update", "restore", "softDelete")
BLIND_SPOT_KINDS = ("hardDelete", "ownerLink", "managerLink", "sponsorLink", "dynamicRule", "credentials",
                    "passwordReset", "synced")
DEMO_OBJECTS = 2000
DEMO_OBJECTS_RANGE = (100, 1_000_000)
DEMO_JOB_SPEED = 600.0

DESCRIPTION = """\
entrabr: Microsoft Entra Backup and Recovery from the terminal.

Without a command, opens the terminal app (with --demo, or when a tenant is configured).
Data goes to stdout, progress and messages to stderr; --json prints one JSON document.
"""

EPILOG = """\
exit codes: 0 ok, 1 unexpected error (a crash report is written), 2 usage, 3 sign-in, 4 forbidden
(missing role), 5 conflict (job slot busy), 6 network, 7 partial failure (some changes failed), 8 not
found, 9 offline without cache, 10 read-only folder or file system, 11 disk full, 12 timeout (job stuck
in an unknown status), 13-19 a restore guard refused (see docs/cli.md), 20 alerting (watch: an alert
is open), 130 interrupted, 141 output pipe closed (| head).

examples:
  entrabr --demo report                      difference report of the latest backup (demo tenant)
  entrabr report --type user --json          report scoped to users, summary as JSON
  entrabr changes --action softDelete        what a restore would soft-delete
  entrabr restore --plan --ids-from ids.txt  dry run for the IDs in a file ('#' comments allowed)
  entrabr restore --apply --all --yes        restore everything in the latest report
  entrabr export --format md --out report.md evidence for an incident ticket (default: data folder)
  entrabr prewarm --wait 30m                 a report on every new backup (cron); never takes the slot
                                             from a running restore
  entrabr watch --rules rules.toml           alerts on critical objects and mass changes
  entrabr compare 2026-07-25 2026-07-27      what differs between two backups
  entrabr evidence --since 2d --out pack/     timeline, RPO/RTO, plans, jobs and a SHA-256 manifest
  entrabr drill                              a scripted incident recovered on the built-in emulator, timed
  entrabr drill --read-only                  how long a full report of the tenant takes now
  entrabr status --all-profiles              every tenant profile: backups, reports, alerts, job slot
  entrabr audit                              who changed what since the backup, by actor and operation
  entrabr restore --plan --actor it.ops.admin@contoso.com   undo one actor's changes (dry run)
  entrabr blindspots                         what the report cannot show or a restore will not fix
  entrabr --open AL-0123456789               the terminal app on a watch alert's objects and diff
"""


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` that raises ``UsageError`` instead of exiting on bad arguments."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message, hint=f"See '{self.prog} --help'.")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {value}")
    return value


def _demo_size(text: str) -> int:
    low, high = DEMO_OBJECTS_RANGE
    value = _positive_int(text)
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"the demo tenant has {low:,} to {high:,} objects, not {value:,}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text}")
    return value


def _add_globals(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """The global options; ``suppress`` keeps a subcommand from resetting values given before it."""

    def d(value: Any) -> Any:
        return argparse.SUPPRESS if suppress else value

    g = parser.add_argument_group("global options")
    g.add_argument("--demo", action="store_true", default=d(False),
                   help="use the built-in demo tenant (an emulator started in this process)")
    g.add_argument("--role", choices=ROLE_CHOICES, default=d(None),
                   help="demo or emulator sign-in role: reader (read only), admin (default), or global "
                        "(a second administrator, e.g. to apply a plan another one reviewed)")
    g.add_argument("--objects", type=_demo_size, default=d(None), metavar="N",
                   help="demo tenant size in objects, {:,} to {:,} (default {:,})".format(
                       *DEMO_OBJECTS_RANGE, DEMO_OBJECTS))
    g.add_argument("--job-speed", type=_positive_float, default=d(None), metavar="X",
                   help=f"demo: divide the documented job durations by X (default {DEMO_JOB_SPEED:g})")
    g.add_argument("--graph-url", default=d(None), metavar="URL",
                   help="Microsoft Graph base URL (default https://graph.microsoft.com/v1.0)")
    g.add_argument("--profile", default=d(None), metavar="NAME",
                   help="a tenant profile from config.toml (default: the default profile)")
    g.add_argument("--tenant", default=d(None), metavar="ID", help="tenant ID or domain to sign in to")
    g.add_argument("--client-id", default=d(None), metavar="ID", help="application (client) ID to use")
    g.add_argument("--auth", choices=AUTH_CHOICES, default=d(None),
                   help="sign-in method (default device-code; 'cli' uses the Azure CLI, 'env' the AZURE_* "
                        "variables)")
    g.add_argument("--allow-unencrypted-token-cache", action="store_true", default=d(False),
                   help="where the OS keyring cannot encrypt the token cache, keep it in a plaintext file "
                        "(mode 0600) instead of in memory only")
    g.add_argument("--offline", action="store_true", default=d(False),
                   help="use the local cache only; never contact Microsoft Graph")
    g.add_argument("--json", action="store_true", default=d(False),
                   help="print machine-readable JSON on stdout (schema in docs/cli.md)")
    g.add_argument("-q", "--quiet", action="store_true", default=d(False),
                   help="no progress or informational messages on stderr")


def _add_snapshot(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--snapshot", default="latest", metavar="ID|latest",
                        help="the backup (snapshot ID, or 'latest', the default)")


def _add_targets(parser: argparse.ArgumentParser) -> None:
    t = parser.add_argument_group("objects to restore (one of --id/--ids-from, --all or --queued)")
    t.add_argument("--id", dest="ids", action="append", default=[], metavar="[TYPE:]ID",
                   help="an object ID from the report (repeatable)")
    t.add_argument("--ids-from", metavar="FILE|-",
                   help="read IDs from a file or stdin ('-'), one per line, '#' starts a comment")
    t.add_argument("--all", action="store_true", help="every change in the report (or of --type types)")
    t.add_argument("--queued", action="store_true", help="the restore queue marked in the terminal app")
    t.add_argument("--type", dest="types", action="append", default=[], metavar="TYPE",
                   help="limit --all to these object types; the type of IDs given without one")
    t.add_argument("--ignore-missing", action="store_true",
                   help="skip IDs that are not in the report instead of stopping")
    t.add_argument("--report", metavar="ID", help="the difference report (default: the backup's latest)")


def _add_audit_selection(parser: argparse.ArgumentParser, heading: str) -> None:
    a = parser.add_argument_group(heading)
    a.add_argument("--actor", metavar="A",
                   help="changes made by this actor (UPN, app name, user or service principal ID)")
    a.add_argument("--operation", metavar="CORRELATION_ID", help="changes made by this operation")
    a.add_argument("--cluster", metavar="ID", help="changes of this cluster (see 'entrabr audit --json')")
    a.add_argument("--since", metavar="WHEN", help="changes made since WHEN: a UTC date/time, or 7d, 12h")
    a.add_argument("--until", metavar="WHEN", help="changes made until WHEN")


def build_parser() -> argparse.ArgumentParser:
    """The full parser (``entrabr --help`` and every command's ``--help``)."""
    parser = _Parser(prog="entrabr", description=DESCRIPTION, epilog=EPILOG,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.add_argument("--open", dest="open_alert", default=None, metavar="ALERT_ID",
                        help="open the terminal app on an alert of 'entrabr watch' (AL-…): its report, "
                             "filtered to the objects the rule matched")
    _add_globals(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        _add_globals(p, suppress=True)
        return p

    command("snapshots", "list the backups, newest first, with their cached reports")

    p = command("report", "create or reuse a difference report, download it, print counts by type and action")
    _add_snapshot(p)
    p.add_argument("--type", dest="types", action="append", default=[], metavar="TYPE",
                   help="scope the report to an object type (repeatable)")
    p.add_argument("--id", dest="ids", action="append", default=[], metavar="[TYPE:]ID",
                   help="scope the report to objects (repeatable; needs a type: TYPE:ID or one --type)")
    p.add_argument("--fresh", action="store_true",
                   help="always run a new report (the live tenant may have changed since the cached one)")

    p = command("changes", "list changed objects of a cached report")
    _add_snapshot(p)
    p.add_argument("--report", metavar="ID", help="the difference report (default: the backup's latest)")
    p.add_argument("--type", dest="types", action="append", default=[], metavar="TYPE",
                   help="only these object types (repeatable)")
    p.add_argument("--action", dest="actions", action="append", default=[], choices=ACTION_CHOICES,
                   help="only these recovery actions (repeatable)")
    p.add_argument("--filter", metavar="TEXT", help="name, UPN/mail or ID contains TEXT (case-insensitive)")
    p.add_argument("--recoverable", choices=("yes", "no", "unknown"),
                   help="only changes a restore would (yes) or would not (no) write anything for, or those "
                        "whose answer waits for the sync status of the user or group (unknown)")
    p.add_argument("--limit", type=_positive_int, default=100, metavar="N",
                   help="at most N objects (default 100; 0 = all)")
    _add_audit_selection(p, "who made the changes (reads the directory audit log)")

    p = command("jobs", "list difference reports and restores the service knows (newest first)")
    p.add_argument("--kind", choices=("report", "restore"), help="only this kind of job")
    p.add_argument("--limit", type=_positive_int, default=0, metavar="N", help="at most N jobs (0 = all)")

    p = command("restore", "plan (dry run) or apply a restore of objects from a difference report")
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--plan", action="store_true", help="show what would happen; change nothing")
    mode.add_argument("--apply", nargs="?", const=True, default=False, metavar="PLAN.json",
                      help="run the recovery jobs (of the objects selected, or of a reviewed plan file)")
    mode.add_argument("--resume", action="store_true",
                      help="finish an interrupted restore: follow the batch it was running, send the rest")
    mode.add_argument("--discard-interrupted", action="store_true",
                      help="forget an interrupted restore: its remaining batches are not sent")
    p.add_argument("--yes", action="store_true",
                   help="do not ask for confirmation (needed when stdin is not a terminal)")
    g = p.add_argument_group("planning and the checks around a restore")
    g.add_argument("--strategy", choices=("ids", "types", "mix"),
                   help="how to scope the jobs: by object ID, whole types, or the best mix (default: the "
                        "fastest that reverts nothing unmarked)")
    g.add_argument("--with-dependencies", action="store_true",
                   help="also restore the deleted objects the plan depends on (members, policy references, "
                        "applications)")
    g.add_argument("--out", metavar="PLAN.json",
                   help="with --plan: write the reviewed plan to this file for a second person to apply")
    g.add_argument("--no-recheck", action="store_true",
                   help="skip the preview that checks the tenant against what was reviewed (recorded)")
    g.add_argument("--if-moved", choices=("accept", "drop"),
                   help="when objects moved since the review: restore them anyway (accept) or leave them "
                        "out (drop); without it a terminal asks and a script stops (exit 17)")
    g.add_argument("--break-glass-user", dest="break_glass_users", action="append", default=[],
                   metavar="ID", help="a break-glass account's object id (repeatable; adds to the config's)")
    g.add_argument("--break-glass-group", dest="break_glass_groups", action="append", default=[],
                   metavar="ID", help="a break-glass group's object id (repeatable; adds to the config's)")
    g.add_argument("--confirm-policy", dest="confirm_policies", action="append", default=[], metavar="NAME",
                   help="confirm a lockout finding by the policy's exact name (repeatable; for scripts)")
    g.add_argument("--no-verify", action="store_true",
                   help="skip the preview that verifies the restore after its last batch (recorded)")
    _add_snapshot(p)
    _add_targets(p)
    _add_audit_selection(p, "objects to restore by who changed them (reads the directory audit log)")

    p = command("history", "the local log of every action taken with entrabr (newest first)")
    p.add_argument("--action", metavar="ACTION",
                   help="only this action (e.g. restore-submitted; a wrong name lists them all)")
    p.add_argument("--object", metavar="ID", help="only entries about this object ID")
    p.add_argument("--since", metavar="WHEN", help="entries since WHEN: a UTC date/time, or 7d, 12h, 30m")
    p.add_argument("--limit", type=_positive_int, default=0, metavar="N", help="at most N entries (0 = all)")

    p = command("export", "write a report, a restore plan or job results as JSON, CSV or Markdown")
    p.add_argument("--format", choices=FORMAT_CHOICES, default="json", help="output format (default json)")
    p.add_argument("--out", metavar="FILE",
                   help="write to FILE ('-' is stdout; default: a new file in the data folder's exports/)")
    p.add_argument("--what", choices=WHAT_CHOICES, default="report", help="what to export (default report)")
    p.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    _add_snapshot(p)
    _add_targets(p)

    p = command("audit", "who changed what since a report's backup: its actors and their operations")
    _add_snapshot(p)
    p.add_argument("--report", metavar="ID", help="the difference report (default: the backup's latest)")
    p.add_argument("--since", metavar="WHEN", help="only changes made since WHEN (UTC date/time, or 7d, 12h)")
    p.add_argument("--until", metavar="WHEN", help="only changes made until WHEN")
    p.add_argument("--actor", metavar="A", help="only this actor (UPN, app name, user or app ID)")
    p.add_argument("--operations", type=_positive_int, default=10, metavar="N",
                   help="at most N operations per actor (default 10; 0 = all)")
    p.add_argument("--no-pull", action="store_true", help="use the cached audit log; do not read new records")
    p.add_argument("--format", choices=FORMAT_CHOICES, default="json", help="export format with --out")
    p.add_argument("--out", metavar="FILE", help="write the summary to FILE ('-' is stdout)")
    p.add_argument("--force", action="store_true", help="overwrite FILE if it exists")

    p = command("blindspots", "what the audit log shows since a report's backup that the report cannot show "
                              "or a restore will not fix, with what to do instead; and the purge clock")
    _add_snapshot(p)
    p.add_argument("--report", metavar="ID", help="the difference report (default: the backup's latest)")
    p.add_argument("--kind", dest="kinds", action="append", default=[], choices=BLIND_SPOT_KINDS,
                   help="only this kind (repeatable)")
    p.add_argument("--no-pull", action="store_true", help="use the cached audit log; do not read new records")

    add_ops_commands(command, _positive_int)

    # Run before this parser sees it (see entrabr_tui.cli.run); listed so that --help and a mistyped
    # command name it. Its own options: 'entrabr emulator --help'.
    p = sub.add_parser("emulator", add_help=False, help="serve the built-in Graph emulator on loopback "
                                                        "('entrabr emulator --help' for its options)")
    p.add_argument("emulator_args", nargs=argparse.REMAINDER)
    return parser


@dataclass(frozen=True, kw_only=True)
class CommonArgs:
    """The options of every run: the command, the tenant and how output looks (``snapshots`` and the app
    take no others)."""

    command: str | None = None
    version: bool = False
    #: ``--open ALERT_ID``: the watch alert the terminal app opens on (no command only).
    open_alert: str | None = None
    demo: bool = False
    role: str | None = None
    objects: int | None = None
    job_speed: float | None = None
    graph_url: str | None = None
    profile: str | None = None
    tenant: str | None = None
    client_id: str | None = None
    auth: str | None = None
    allow_unencrypted_token_cache: bool = False
    offline: bool = False
    json: bool = False
    quiet: bool = False


@dataclass(frozen=True, kw_only=True)
class EmulatorArgs(CommonArgs):
    """``entrabr [global options] emulator …``: the emulator's own arguments, passed on as given."""

    emulator_args: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class ReportArgs(CommonArgs):
    """``entrabr report``."""

    snapshot: str = "latest"
    types: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    fresh: bool = False


@dataclass(frozen=True, kw_only=True)
class ChangesArgs(CommonArgs):
    """``entrabr changes``."""

    snapshot: str = "latest"
    report: str | None = None
    types: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    filter: str | None = None
    recoverable: str | None = None
    limit: int = 100
    #: Who made the changes: ``--actor``, ``--operation``, ``--cluster``, narrowed by ``--since``/``--until``.
    actor: str | None = None
    operation: str | None = None
    cluster: str | None = None
    since: str | None = None
    until: str | None = None


@dataclass(frozen=True, kw_only=True)
class JobsArgs(CommonArgs):
    """``entrabr jobs``."""

    kind: str | None = None
    limit: int = 0


@dataclass(frozen=True, kw_only=True)
class HistoryArgs(CommonArgs):
    """``entrabr history``."""

    action: str | None = None
    object: str | None = None
    since: str | None = None
    limit: int = 0


@dataclass(frozen=True, kw_only=True)
class TargetArgs(CommonArgs):
    """The objects a restore or a plan export selects from a report (``_add_targets``)."""

    snapshot: str = "latest"
    ids: list[str] = field(default_factory=list)
    ids_from: str | None = None
    all: bool = False
    queued: bool = False
    types: list[str] = field(default_factory=list)
    ignore_missing: bool = False
    report: str | None = None
    #: How to scope the jobs (``restore --strategy``; an exported plan uses the default).
    strategy: str | None = None
    #: Also plan the deleted objects the plan depends on (``restore --with-dependencies``).
    with_dependencies: bool = False
    #: The IDs of ``--id`` and ``--ids-from``, read once before signing in (``None``: not read yet).
    targets: list[Target] | None = None


@dataclass(frozen=True, kw_only=True)
class RestoreArgs(TargetArgs):
    """``entrabr restore``."""

    plan: bool = False
    apply: bool | str = False
    resume: bool = False
    discard_interrupted: bool = False
    yes: bool = False
    out: str | None = None
    no_recheck: bool = False
    if_moved: str | None = None
    break_glass_users: list[str] = field(default_factory=list)
    break_glass_groups: list[str] = field(default_factory=list)
    confirm_policies: list[str] = field(default_factory=list)
    no_verify: bool = False
    #: Who made the changes: ``--actor``, ``--operation``, ``--cluster``, narrowed by ``--since``/``--until``.
    actor: str | None = None
    operation: str | None = None
    cluster: str | None = None
    since: str | None = None
    until: str | None = None


@dataclass(frozen=True, kw_only=True)
class ExportArgs(TargetArgs):
    """``entrabr export``."""

    format: str = "json"
    out: str | None = None
    what: str = "report"
    force: bool = False


@dataclass(frozen=True, kw_only=True)
class PrewarmArgs(CommonArgs):
    """``entrabr prewarm``."""

    types: list[str] = field(default_factory=list)
    wait: str = "0"
    limit: int = 0


@dataclass(frozen=True, kw_only=True)
class WatchArgs(CommonArgs):
    """``entrabr watch``."""

    rules: str = ""
    webhook: str | None = None
    teams: bool = False
    prometheus: str | None = None
    no_audit: bool = False


@dataclass(frozen=True, kw_only=True)
class CompareArgs(CommonArgs):
    """``entrabr compare A B``."""

    backup_a: str = "latest"
    backup_b: str = "latest"
    fresh: bool = False
    types: list[str] = field(default_factory=list)
    limit: int = 100


@dataclass(frozen=True, kw_only=True)
class EvidenceArgs(CommonArgs):
    """``entrabr evidence``."""

    out: str = ""
    since: str = "7d"


@dataclass(frozen=True, kw_only=True)
class DrillArgs(CommonArgs):
    """``entrabr drill`` (a full drill runs on the demo tenant: :func:`check` turns ``demo`` on)."""

    read_only: bool = False
    incident: int | None = None


@dataclass(frozen=True, kw_only=True)
class StatusArgs(CommonArgs):
    """``entrabr status``."""

    all_profiles: bool = False


@dataclass(frozen=True, kw_only=True)
class AuditArgs(CommonArgs):
    """``entrabr audit``."""

    snapshot: str = "latest"
    report: str | None = None
    since: str | None = None
    until: str | None = None
    actor: str | None = None
    operations: int = 10
    no_pull: bool = False
    format: str = "json"
    out: str | None = None
    force: bool = False


@dataclass(frozen=True, kw_only=True)
class BlindspotsArgs(CommonArgs):
    """``entrabr blindspots``."""

    snapshot: str = "latest"
    report: str | None = None
    kinds: list[str] = field(default_factory=list)
    no_pull: bool = False


_ARGS_OF: dict[str | None, type[CommonArgs]] = {
    None: CommonArgs, "snapshots": CommonArgs, "report": ReportArgs, "changes": ChangesArgs, "jobs": JobsArgs,
    "restore": RestoreArgs, "history": HistoryArgs, "export": ExportArgs, "emulator": EmulatorArgs,
    "prewarm": PrewarmArgs, "watch": WatchArgs, "compare": CompareArgs, "evidence": EvidenceArgs,
    "drill": DrillArgs, "status": StatusArgs, "audit": AuditArgs, "blindspots": BlindspotsArgs,
}


def parse(argv: list[str]) -> CommonArgs:
    """Parse ``argv`` into the options object of its command (every global option filled in)."""
    parsed = build_parser().parse_args(argv)
    for name, default in (("demo", False), ("role", None), ("objects", None), ("job_speed", None),
                          ("graph_url", None), ("profile", None), ("tenant", None), ("client_id", None),
                          ("auth", None), ("allow_unencrypted_token_cache", False), ("offline", False),
                          ("json", False), ("quiet", False)):
        if not hasattr(parsed, name):
            setattr(parsed, name, default)
    check(parsed)
    options = _ARGS_OF[parsed.command](**vars(parsed))  # a TypeError names an option its class lacks
    if isinstance(options, RestoreArgs):
        from entrabr_tui.cli.audit_commands import check_audit_options

        check_audit_options(options)
    return options


def target_flags(args: CommonArgs) -> list[str]:
    """The options that name the tenant of this run, as typed again in a suggested command."""
    import shlex

    flags: list[str] = []
    if args.demo:
        flags.append("--demo")
        if args.objects is not None:
            flags += ["--objects", str(args.objects)]
    for option, value in (("--profile", args.profile), ("--tenant", args.tenant),
                          ("--graph-url", args.graph_url), ("--auth", args.auth)):
        if value:
            flags += [option, shlex.quote(str(value))]
    if args.offline:
        flags.append("--offline")
    return flags


def check(args: argparse.Namespace) -> None:
    """Combinations argparse cannot express."""
    alert = getattr(args, "open_alert", None)
    if alert is not None:
        from entrabr_tui.engine.alert_view import is_alert_id

        if getattr(args, "command", None) is not None:
            raise UsageError("--open opens the terminal app on an alert: leave out the command.")
        if not is_alert_id(alert.strip()):
            raise UsageError(f"--open takes an alert id like AL-0123456789, not {alert!r}.",
                             hint="'entrabr watch' and 'entrabr status' list the open alerts.")
        args.open_alert = alert.strip()
    if getattr(args, "command", None) == "drill" and not args.read_only:
        if args.graph_url or args.tenant or args.client_id or args.profile or args.offline or \
                args.auth not in (None, "emulator"):
            raise UsageError("A full drill plays an incident on the built-in emulator: leave out the tenant "
                             "options, or add --read-only to time a report of that tenant.")
        args.demo = True
    if not args.demo:
        for option, value in (("--objects", args.objects), ("--job-speed", args.job_speed)):
            if value is not None:
                raise UsageError(f"{option} only applies to the demo tenant; add --demo.")
    if args.demo:
        if args.graph_url or args.tenant or args.client_id or args.profile:
            raise UsageError("--demo uses the built-in tenant: leave out --graph-url, --tenant, --profile...")
        if args.auth not in (None, "emulator"):
            raise UsageError("--demo signs in to the built-in tenant; leave out --auth.")
        if args.offline:
            raise UsageError("--demo starts a live demo tenant; --offline reads a cache without one.")
    if args.role is not None and not args.demo and args.auth != "emulator":
        raise UsageError("--role applies to --demo or --auth emulator only.")
    command = getattr(args, "command", None)
    if getattr(args, "types", None):
        from entrabr_tui.cli.common import check_types

        args.types = check_types(args.types)
    if getattr(args, "ids", None):
        from entrabr_tui.cli.targets import parse_target

        for value in args.ids:
            parse_target(value, "--id")
    if command == "restore" and isinstance(args.apply, str):
        if args.ids or args.ids_from or args.all or args.queued or args.types or args.report:
            raise UsageError("--apply PLAN.json applies the objects of the reviewed plan: leave out --id, "
                             "--ids-from, --all, --queued, --type and --report.")
        if args.strategy or args.with_dependencies:
            raise UsageError("--strategy and --with-dependencies change a plan: a reviewed plan is applied "
                             "as it was reviewed.")
        return
    if command == "restore" and args.out and not args.plan:
        raise UsageError("--out writes a reviewed plan: use it with --plan.")
    if command in ("restore", "export"):
        interrupted = command == "restore" and (args.resume or args.discard_interrupted)
        if interrupted and (args.ids or args.ids_from or args.all or args.queued):
            raise UsageError("--resume and --discard-interrupted act on the interrupted restore: leave out "
                             "the objects.")
        _check_targets(args, required=(command == "restore" and not interrupted) or
                       (command == "export" and args.what == "plan"))
    if command == "export" and args.what != "plan" and (args.ids or args.ids_from or args.all or args.queued):
        raise UsageError("--id, --ids-from, --all and --queued select a plan's objects: add --what plan.")


def _check_targets(args: argparse.Namespace, *, required: bool) -> None:
    by_audit = any(getattr(args, name, None) for name in ("actor", "operation", "cluster"))
    given = [name for name, on in (("--id/--ids-from", bool(args.ids or args.ids_from)), ("--all", args.all),
                                   ("--queued", args.queued), ("--actor/--operation/--cluster", by_audit))
             if on]
    if len(given) > 1:
        raise UsageError(f"Choose one of {', '.join(given)}: they select the objects in different ways.")
    if required and not given:
        raise UsageError("Say which objects: --id ID (repeatable), --ids-from FILE|-, --all, --queued, or "
                         "--actor/--operation/--cluster.")
    if args.types and not (args.all or args.ids or args.ids_from):
        raise UsageError("--type goes with --all (which types) or with --id/--ids-from (the IDs' type).")
