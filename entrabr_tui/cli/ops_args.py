"""The grammar of the operations commands: ``prewarm``, ``watch``, ``compare``, ``evidence``, ``drill`` and
``status``.

They run unattended (cron, systemd timers) or across tenants; their options are added to the main parser by
:func:`add_ops_commands`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

OPS_COMMANDS = ("prewarm", "watch", "compare", "evidence", "drill", "status")


def add_ops_commands(command: Callable[[str, str], argparse.ArgumentParser],
                     whole: Callable[[str], int]) -> None:
    """Add the operations commands; ``command(name, help)`` makes a subparser with the global options,
    ``whole`` reads a count that may not be negative."""
    p = command("prewarm", "run a difference report on every backup that has none (for cron or a timer), "
                           "so the first report of an incident is already paid for")
    p.add_argument("--type", dest="types", action="append", default=[], metavar="TYPE",
                   help="scope the reports to an object type (repeatable; default: the profile's "
                        "prewarm_types, else every object)")
    p.add_argument("--wait", default="0", metavar="TIME",
                   help="how long to wait for a running restore (or another job) to free the job slot before "
                        "skipping (90s, 30m, 2h; default 0: skip at once)")
    p.add_argument("--limit", type=whole, default=0, metavar="N",
                   help="create at most N reports in this run, newest backups first (default 0: all)")

    p = command("watch", "compare the newest report with a baseline of earlier ones, read the audit log "
                         "since the newest backup, and raise alerts the rules ask for")
    p.add_argument("--rules", required=True, metavar="FILE",
                   help="the rules file (TOML; see docs/rules.example.toml)")
    p.add_argument("--webhook", metavar="URL",
                   help="POST new and resolved alerts to URL as JSON (overrides the rules file)")
    p.add_argument("--teams", action="store_true",
                   help="send the webhook as a Microsoft Teams message with an Adaptive Card")
    p.add_argument("--prometheus", metavar="FILE",
                   help="write metrics in the Prometheus text format to FILE (atomically; for the node "
                        "exporter's textfile collector)")
    p.add_argument("--no-audit", action="store_true",
                   help="do not read the directory audit log (report rules only)")

    p = command("compare", "what differs between two backups, from a difference report of each against the "
                           "live tenant")
    p.add_argument("backup_a", metavar="A",
                   help="the first backup: an ID, a date (YYYY-MM-DD, UTC) or latest")
    p.add_argument("backup_b", metavar="B", help="the second backup")
    p.add_argument("--fresh", action="store_true",
                   help="run two new reports, one right after the other (the live tenant has least time to "
                        "move between them)")
    p.add_argument("--type", dest="types", action="append", default=[], metavar="TYPE",
                   help="show only objects of this type (repeatable)")
    p.add_argument("--limit", type=whole, default=100, metavar="N",
                   help="objects listed in the table (default 100; 0 = all; --json lists all)")

    p = command("evidence", "write an evidence pack of a recovery to a new folder: timeline, RPO and RTO, "
                            "the difference, plan hashes and approvers, job results, residual work "
                            "(Markdown, HTML, JSON and a SHA-256 manifest)")
    p.add_argument("--out", required=True, metavar="DIR", help="a new (or empty) folder for the pack")
    p.add_argument("--since", default="7d", metavar="WHEN",
                   help="start of the window: a UTC date/time or an age (12h, 7d; default 7d)")

    p = command("drill", "practise a recovery: play a scripted incident on the built-in emulator and time "
                         "the report, triage, restore and verification; with --read-only, time one full "
                         "report of a real tenant")
    p.add_argument("--read-only", action="store_true",
                   help="time one full difference report of the newest backup of the tenant the options "
                        "name (changes nothing; never takes the job slot from a running job)")
    p.add_argument("--incident", type=whole, default=None, metavar="N",
                   help="objects the scripted incident touches (default 300; not with --read-only)")

    p = command("status", "per tenant profile: the newest backup and its age, the last report, drill, watch "
                          "and open alerts, and the job slot (from the caches; no sign-in)")
    p.add_argument("--all-profiles", action="store_true",
                   help="every profile in config.toml (one row each), not only the chosen one")
