"""The operations commands: ``prewarm``, ``watch``, ``compare``, ``evidence``, ``drill`` and ``status``.

They are made for unattended runs (cron, systemd timers) and for many tenants: every outcome is an exit code
(:mod:`entrabr_tui.cli.exits`), a line on stderr and, with ``--json``, one document on stdout (schemas in
``docs/cli.md``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from entrabr_tui.cli.common import age_text, check_types, pick_snapshot, short_time
from entrabr_tui.cli.connect import configured_profile
from entrabr_tui.cli.exits import CliError, ExitCode, UsageError
from entrabr_tui.cli.output import Output
from entrabr_tui.cli.progress import ProgressPrinter
from entrabr_tui.cli.timeparse import parse_duration
from entrabr_tui.core.model import EntityNamesFilter, FilteringCriteria
from entrabr_tui.core.text import format_duration
from entrabr_tui.engine.backup_compare import IncompleteReportError, gap_warning
from entrabr_tui.engine.export_records import dt_text, scope_json, scope_text

if TYPE_CHECKING:
    from entrabr_tui.cli.args import (
        CompareArgs,
        DrillArgs,
        EvidenceArgs,
        PrewarmArgs,
        StatusArgs,
        WatchArgs,
    )
    from entrabr_tui.core.compare import Comparison, ObjectDelta, PropertyDelta, ReportSide
    from entrabr_tui.core.watch_rules import RuleSet
    from entrabr_tui.engine.drill import DrillResult
    from entrabr_tui.engine.prewarm import PrewarmResult
    from entrabr_tui.engine.session import Session
    from entrabr_tui.engine.tenant_status import TenantStatus
    from entrabr_tui.engine.watch import WatchResult
    from entrabr_tui.store import AppConfig


# -- compare -------------------------------------------------------------------------------------------------

def _side_json(side: ReportSide) -> dict[str, Any]:
    return {"snapshotId": side.snapshot_id, "backupTime": dt_text(side.backup_time),
            "reportId": side.report_id, "reportTime": dt_text(side.report_time),
            "scope": scope_json(side.scope)}


def _property_json(prop: PropertyDelta) -> dict[str, Any]:
    from entrabr_tui.core.diff import ABSENT

    def value(v: Any) -> Any:
        return None if v is ABSENT else v

    if prop.member_id is not None:
        return {"member": prop.member_id, "a": bool(prop.a), "b": bool(prop.b)}
    return {"name": prop.name, "a": value(prop.a), "b": value(prop.b),
            "known": prop.a is not ABSENT and prop.b is not ABSENT}


def _delta_json(delta: ObjectDelta) -> dict[str, Any]:
    return {"id": delta.object_id, "entityType": delta.entity_type, "displayName": delta.display_name,
            "change": delta.kind.value,
            "properties": [_property_json(p) for p in delta.properties if p.member_id is None],
            "members": [_property_json(p) for p in delta.properties if p.member_id is not None]}


def comparison_json(tenant: str, comparison: Comparison, warnings: list[str]) -> dict[str, Any]:
    """The ``entrabr.compare/1`` document."""
    return {
        "schema": "entrabr.compare/1", "tenant": tenant,
        "a": _side_json(comparison.a), "b": _side_json(comparison.b),
        "gapSeconds": comparison.gap_seconds, "compared": comparison.compared,
        "counts": comparison.counts(),
        "objects": [_delta_json(d) for d in comparison.objects],
        "moved": [{"id": m.object_id, "entityType": m.entity_type, "displayName": m.display_name,
                   "properties": list(m.properties)} for m in comparison.moved],
        "uncovered": [{"entityType": u.entity_type, "coveredBy": u.covered_by, "objects": u.objects}
                      for u in comparison.uncovered],
        "unreadable": list(comparison.unreadable),
        "warnings": warnings,
    }


def _properties_text(delta: ObjectDelta) -> str:
    if delta.properties:
        return ", ".join(delta.property_names)
    return delta.kind.words


async def compare(session: Session, args: CompareArgs, out: Output) -> int:
    """What differs between two backups (``entrabr compare A B``)."""
    entry_a = await pick_snapshot(session, args.backup_a)
    entry_b = await pick_snapshot(session, args.backup_b)
    if entry_a.snapshot.id == entry_b.snapshot.id:
        raise CliError("A and B are the same backup: name two different backups.", ExitCode.USAGE)
    progress = ProgressPrinter(out.stderr, quiet=out.quiet)
    try:
        comparison = await session.compare_backups(entry_a.snapshot.id, entry_b.snapshot.id, progress.job,
                                                   fresh=args.fresh)
    except IncompleteReportError as exc:
        raise CliError(exc.message, ExitCode.PARTIAL,
                       hint=f"Download it again: '{out.command('report', online=True)}'.") from None
    finally:
        progress.done()
    warnings = [text for text in (gap_warning(comparison),) if text]
    if comparison.moved:
        warnings.append(f"{len(comparison.moved):,} object(s) changed in the live tenant between the two "
                        "reports; they are left out of the comparison (listed as moved).")
    for uncovered in comparison.uncovered:
        warnings.append(f"{uncovered.objects:,} {uncovered.entity_type} object(s) are in a type only report "
                        f"{uncovered.covered_by} covers; not compared.")
    if comparison.unreadable:
        warnings.append(f"{len(comparison.unreadable):,} object(s) have change objects that could not be "
                        "read; not compared.")
    types = set(check_types(args.types))
    shown = [d for d in comparison.objects if not types or d.entity_type in types]
    if out.json_mode:
        doc = comparison_json(session.tenant, comparison, warnings)
        if types:
            doc["objects"] = [_delta_json(d) for d in shown]
        out.json(doc)
        return 0
    for warning in warnings:
        out.warn(warning)
    a, b = comparison.a, comparison.b
    for label, side in (("A", a), ("B", b)):
        out.line(f"Backup {label} {short_time(side.backup_time)} (report {side.report_id}, taken "
                 f"{short_time(side.report_time)})")
    out.line(f"{len(comparison.objects):,} object(s) differ between A and B, of {comparison.compared:,} "
             f"either report lists; {len(comparison.moved):,} moved in the live tenant between the reports.")
    out.line()
    limit = args.limit or None
    rows = [(d.entity_type, f"{d.kind.glyph} {d.kind.value}", d.object_id, d.display_name,
             _properties_text(d)) for d in shown[:limit]]
    if rows:
        out.table(("TYPE", "CHANGE", "ID", "NAME", "WHAT DIFFERS"), rows, whole=(2,), flex=(3, 4))
    if limit is not None and len(shown) > limit:
        out.info(f"Showing {limit:,} of {len(shown):,}; --limit 0 shows all, --json gives every value.")
    if comparison.moved:
        out.line()
        out.line("Moved in the live tenant between the two reports (not compared):")
        out.table(("TYPE", "ID", "NAME", "MOVED"),
                  [(m.entity_type, m.object_id, m.display_name, ", ".join(m.properties))
                   for m in comparison.moved[:limit]], whole=(1,), flex=(2, 3))
    return 0



# -- prewarm -------------------------------------------------------------------------------------------------

def prewarm_scope(args: PrewarmArgs, config: AppConfig | None) -> FilteringCriteria | None:
    """``--type`` values, else the profile's ``prewarm_types``, else every object (``None``)."""
    types = check_types(args.types)
    if not types and config is not None and not args.demo:
        profile = configured_profile(config, args.profile)
        configured = profile.extra.get("prewarm_types") if profile is not None else None
        if configured is not None:
            if not isinstance(configured, list) or not all(isinstance(t, str) for t in configured):
                raise UsageError(f"Profile {profile.name if profile else ''}: prewarm_types must be a list "
                                 "of object type names.")
            types = check_types(configured)
    return EntityNamesFilter(tuple(types)) if types else None


def prewarm_json(tenant: str, result: PrewarmResult) -> dict[str, Any]:
    """The ``entrabr.prewarm/1`` document."""
    from entrabr_tui.engine.prewarm import PrewarmOutcome

    return {
        "schema": "entrabr.prewarm/1", "tenant": tenant, "scope": scope_json(result.scope),
        **{o.value: result.count(o) for o in PrewarmOutcome},
        "waitedSeconds": round(result.waited_seconds, 3), "skippedBecause": result.skipped_because,
        "backups": [{"snapshotId": i.snapshot_id, "created": dt_text(i.created),
                     "outcome": i.outcome.value, "reportId": i.report_id, "changes": i.changes,
                     "detail": i.detail} for i in result.items],
    }


async def prewarm(session: Session, args: PrewarmArgs, out: Output) -> int:
    """A difference report on every backup that has none; never takes the job slot from a running restore."""
    from entrabr_tui.cli.connect import load_app_config
    from entrabr_tui.engine.prewarm import Prewarmer, PrewarmOutcome

    quiet = Output(out.stdout, out.stderr, out.stdin, quiet=True)  # the config was read (and said) already
    scope = prewarm_scope(args, None if args.demo else load_app_config(quiet))
    wait = parse_duration(args.wait, "--wait")
    progress = ProgressPrinter(out.stderr, quiet=out.quiet)
    prewarmer = Prewarmer(session, scope=scope, wait=wait, limit=args.limit or None)
    try:
        result = await prewarmer.run(progress.job, on_wait=out.info)
    finally:
        progress.done()
    code = ExitCode.OK
    if result.count(PrewarmOutcome.FAILED):
        code = ExitCode.ERROR
    elif result.skipped_because is not None:
        code = ExitCode.CONFLICT
    if out.json_mode:
        out.json(prewarm_json(session.tenant, result))
        return code
    if result.skipped_because is not None:
        out.warn(f"Skipped {result.count(PrewarmOutcome.SKIPPED)} backup(s): {result.skipped_because}. "
                 f"Run '{out.command('prewarm', online=True)}' again later (or give --wait).")
    for item in result.items:
        if item.outcome is PrewarmOutcome.FAILED:
            out.warn(f"The report of the backup of {short_time(item.created)} failed: {item.detail}")
    out.table(("BACKUP (UTC)", "OUTCOME", "REPORT", "CHANGES", "DETAIL"),
              [(short_time(i.created), i.outcome.value, i.report_id, i.changes, i.detail)
               for i in result.items],
              right=(3,), whole=(2,), flex=(4,))
    made = result.count(PrewarmOutcome.CREATED) + result.count(PrewarmOutcome.REUSED)
    out.info(f"{made} report(s) made, {result.count(PrewarmOutcome.PRESENT)} already cached "
             f"({scope_text(scope)}).")
    return code


# -- watch ---------------------------------------------------------------------------------------------------

def read_rules(path_text: str) -> RuleSet:
    """The rules file (a usage error names what is wrong and where)."""
    from pathlib import Path

    from entrabr_tui.core.watch_rules import RulesError, parse_rules

    path = Path(path_text)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise UsageError(f"No rules file {path}.",
                         hint="docs/rules.example.toml is a documented example.") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not UTF-8 text.") from None
    except OSError as exc:
        raise UsageError(f"Cannot read {path}: {exc.strerror or type(exc).__name__}.") from None
    try:
        return parse_rules(text, str(path))
    except RulesError as exc:
        raise UsageError(str(exc), hint="docs/rules.example.toml documents every key.") from None


async def watch(session: Session, args: WatchArgs, out: Output) -> int:
    """One watch run: findings, alerts raised and resolved, and the outputs (webhook, Prometheus file)."""
    import os
    from pathlib import Path

    from entrabr_tui.engine.watch_outputs import (
        WebhookError,
        alerts_document,
        post_webhook,
        prometheus_text,
        teams_message,
        write_prometheus,
    )

    rules = read_rules(args.rules)
    outputs = rules.outputs
    webhook = args.webhook or outputs.webhook
    if webhook is None and outputs.webhook_env:
        webhook = os.environ.get(outputs.webhook_env) or None
        if webhook is None:
            out.warn(f"[outputs] webhook_env names {outputs.webhook_env}, which is not set: no webhook is "
                     "sent.")
    teams = args.teams or outputs.teams
    metrics = args.prometheus or outputs.prometheus
    result = await session.watch(rules, use_audit=not args.no_audit)
    profile = getattr(args, "profile", None)
    document = alerts_document(result, tenant=session.tenant, profile=profile)
    for alert in document["alerts"]:
        if alert["state"] != "resolved" and alert.get("reportId"):
            alert["openCommand"] = open_command(out, alert["id"])
    problems: list[str] = []
    if webhook is not None and (result.raised or result.resolved):
        payload = teams_message(document) if teams else document
        try:
            await post_webhook(webhook, payload)
        except WebhookError as exc:
            problems.append(str(exc))
    if metrics is not None:
        counts = [(c.entity_type_raw, c.action_raw, c.count) for c in
                  (session.counts(result.report.job_id) if result.report is not None else [])]
        write_prometheus(Path(metrics), prometheus_text(result, tenant=session.tenant, profile=profile,
                                                        report_counts=counts))
    code = ExitCode.ALERTING if result.open else ExitCode.OK
    if out.json_mode:
        document["problems"] = problems
        out.json(document)
        return code
    _print_watch(out, result)
    for problem in problems:
        out.warn(problem)
    return code


def open_command(out: Output, alert_id: str) -> str:
    """The command that opens the terminal app on an alert (with this run's tenant options)."""
    return out.command(f"--open {alert_id}", online=False)


def _print_watch(out: Output, result: WatchResult) -> None:
    for warning in result.warnings:
        out.warn(warning)
    for note in result.notes:
        out.info(note)
    report = result.report
    if report is not None and result.backup is not None:
        out.info(f"Watched the report {report.job_id} of the backup of {short_time(result.backup.created)} "
                 f"against a baseline of {result.baseline_reports} earlier report(s).")
    new_ids = {a.id for a in result.raised}
    rows = [(a.id, "new" if a.id in new_ids else "open", a.severity, a.title) for a in result.open]
    rows += [(a.id, "resolved", a.severity, a.title) for a in result.resolved]
    if rows:
        out.table(("ALERT", "STATE", "SEVERITY", "WHAT"), rows, whole=(0,), flex=(3,))
        shown = [a for a in result.open if a.detail.get("reportId")]
        if shown:
            out.line()
            out.line("Open an alert in the terminal app (its report, filtered to what the rule matched):")
            for alert in shown:
                out.line(f"  {open_command(out, alert.id)}")
    pending = [f for f in result.findings if f.state.value == "pending"]
    if pending:
        out.info(f"{len(pending)} finding(s) seen once; they alert if the next run sees them again:")
        for tracked in pending:
            out.info(f"  {tracked.finding.severity.value}: {tracked.finding.title}")
    if not rows and not pending:
        out.info("Nothing to report.")


# -- evidence ------------------------------------------------------------------------------------------------

async def evidence(session: Session, args: EvidenceArgs, out: Output) -> int:
    """An evidence pack of the recoveries since ``--since`` in a new folder."""
    from pathlib import Path

    from entrabr_tui.cli.audit_commands import progress_printer
    from entrabr_tui.cli.timeparse import parse_since
    from entrabr_tui.engine.evidence import EvidenceBuilder, EvidenceTargetError, write_pack

    since = parse_since(args.since, datetime.now(UTC))
    folder = Path(args.out)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise UsageError(f"{folder} exists and is not an empty folder.", hint="Give a new folder with --out.")
    pack = await EvidenceBuilder(session).build(since, progress_printer(out, session.tenant, steps=False))
    try:
        paths = write_pack(pack, folder)
    except EvidenceTargetError as exc:
        raise UsageError(str(exc)) from None
    if out.json_mode:
        out.json({"schema": "entrabr.evidenceWritten/1", "folder": str(folder.resolve()),
                  "files": [p.name for p in paths], "timeline": len(pack.timeline),
                  "rpoSeconds": pack.to_json()["rpoSeconds"], "rtoSeconds": pack.to_json()["rtoSeconds"]})
        return 0
    for note in pack.notes:
        out.info(note)
    rpo = "not measured" if pack.rpo_seconds is None else format_duration(pack.rpo_seconds)
    rto = "not measured" if pack.rto_seconds is None else format_duration(pack.rto_seconds)
    out.line(f"Evidence pack written to {folder}: {', '.join(p.name for p in paths)}.")
    out.line(f"{len(pack.timeline)} timeline event(s); RPO {rpo}; RTO {rto}.")
    first = pack.incident.first if pack.incident is not None else None
    if first is not None:
        out.line(f"First bad change: {short_time(first.at)} by {first.actor.label}: {first.activity} on "
                 f"{first.object_type} '{first.object_name or first.object_id}'.")
    return 0


# -- drill ---------------------------------------------------------------------------------------------------

def drill_json(result: DrillResult) -> dict[str, Any]:
    """The ``entrabr.drill/1`` document."""
    return {
        "schema": "entrabr.drill/1", "kind": result.kind, "tenant": result.tenant,
        "started": dt_text(result.started), "outcome": result.outcome, "detail": result.detail,
        "snapshotId": result.snapshot_id, "reportId": result.report_id, "changes": result.changes,
        "queued": result.queued, "restored": result.restored, "failed": result.failed,
        "recoverySeconds": round(result.recovery_seconds, 3),
        "steps": [{"step": s.step.value, "seconds": round(s.seconds, 3), "detail": s.detail}
                  for s in result.steps],
    }


#: Drill outcomes that are a pass (anything else exits with 7, partial).
_PASSED = ("verified", "verified with expected differences", "measured")


async def drill(session: Session, args: DrillArgs, out: Output) -> int:
    """A timed recovery of a scripted incident on the built-in emulator, or (``--read-only``) the time one
    full report of the tenant takes now."""
    from entrabr_tui.engine.drill import INCIDENT_OBJECTS, DrillRefusedError, EmulatorDrill, ReadOnlyDrill

    if args.read_only and args.incident is not None:
        raise UsageError("--incident is for a drill on the built-in emulator, not with --read-only.")
    if args.incident is not None and args.incident < 1:
        raise UsageError("--incident: the incident touches at least 1 object.")
    progress = ProgressPrinter(out.stderr, quiet=out.quiet)
    try:
        if args.read_only:
            result = await ReadOnlyDrill(session).run(progress.job)
        else:
            result = await EmulatorDrill(session, incident_objects=args.incident or INCIDENT_OBJECTS).run(
                progress.job, progress.restore)
    except DrillRefusedError as exc:
        raise CliError(exc.message, ExitCode.CONFLICT,
                       hint=f"Run '{out.command('drill --read-only', online=True)}' when the slot is free."
                       ) from None
    finally:
        progress.done()
    code = ExitCode.OK if result.outcome in _PASSED else ExitCode.PARTIAL
    if out.json_mode:
        out.json(drill_json(result))
        return code
    out.table(("STEP", "TIME", "WHAT"),
              [(s.step.value, format_duration(s.seconds), s.detail) for s in result.steps],
              right=(1,), flex=(2,))
    out.line()
    out.line(f"Recovery time (report to verification): {format_duration(result.recovery_seconds)}; "
             f"outcome: {result.outcome}.")
    if result.kind == "emulator":
        out.line(result.detail)
    return code


# -- status --------------------------------------------------------------------------------------------------

def status_json(rows: list[TenantStatus], now: datetime) -> dict[str, Any]:
    """The ``entrabr.status/1`` document."""
    def row_json(row: TenantStatus) -> dict[str, Any]:
        report = row.last_report
        slot = row.slot
        return {
            "profile": row.profile, "tenant": row.tenant, "problem": row.problem,
            "backups": row.backups, "newestBackup": dt_text(row.newest_backup),
            "newestBackupAgeSeconds": None if row.newest_backup is None
            else round((now - row.newest_backup).total_seconds()),
            "lastReport": None if report is None else {
                "id": report.job_id, "snapshotId": report.snapshot_id,
                "backupTime": dt_text(report.backup_time),
                "created": dt_text(report.created), "complete": report.complete, "changes": report.changes,
                "archived": report.archived},
            "lastDrill": None if row.last_drill is None else {
                "at": dt_text(row.last_drill.at), "outcome": row.last_drill.outcome,
                "detail": row.last_drill.detail},
            "lastWatch": dt_text(row.last_watch),
            "openAlerts": [{"id": a.id, "severity": a.severity, "rule": a.rule, "title": a.title,
                            "opened": dt_text(a.opened)} for a in row.open_alerts],
            "slot": None if slot is None else {
                "text": slot.text, "holder": slot.holder, "holderKind": slot.holder_kind,
                "seen": dt_text(slot.seen), "process": slot.process,
                "interruptedRestore": slot.interrupted_restore},
        }

    return {"schema": "entrabr.status/1", "at": dt_text(now), "tenants": [row_json(r) for r in rows]}


def _alerts_text(row: TenantStatus) -> str:
    counts = row.alerts_by_severity()
    if not counts:
        return "none"
    return ", ".join(f"{n} {s}" for s, n in sorted(counts.items(), key=lambda kv: kv[0]))


def _ago(when: datetime | None, now: datetime) -> str:
    return "-" if when is None else f"{age_text(when, now)} ago"


def _print_status(out: Output, rows: list[TenantStatus], now: datetime) -> None:
    table = []
    for row in rows:
        if row.problem is not None:
            table.append((row.profile or "-", row.tenant or "-", "-", "-", "-", "-", "-", row.problem))
            continue
        report = row.last_report
        report_text = "-" if report is None else (
            _ago(report.created, now) + ("" if report.complete else " (incomplete)"))
        drill = "-" if row.last_drill is None else (
            f"{_ago(row.last_drill.at, now)} {row.last_drill.outcome or ''}".strip())
        table.append((row.profile or "-", row.tenant or "-", _ago(row.newest_backup, now), report_text, drill,
                      _ago(row.last_watch, now), _alerts_text(row), row.slot.text if row.slot else "-"))
    out.table(("PROFILE", "TENANT", "NEWEST BACKUP", "LAST REPORT", "LAST DRILL", "WATCH", "ALERTS",
               "JOB SLOT"), table, flex=(0, 1, 7))


def status(args: StatusArgs, out: Output, config: AppConfig) -> int:
    """Per tenant profile: backups, reports, drill, watch, alerts and the job slot, from the caches."""
    import asyncio

    from entrabr_tui.engine.fleet import fleet_status
    from entrabr_tui.store import StorePaths

    now = datetime.now(UTC)
    if args.all_profiles or not (args.demo or args.tenant or args.graph_url):
        if args.all_profiles:
            profiles = list(config.profiles)
            if not profiles:
                raise UsageError("No tenant profiles in config.toml.",
                                 hint="Add [[profiles]] entries (name, tenant_id, …) to list them here.")
        else:
            chosen = configured_profile(config, args.profile)
            if chosen is None:
                raise UsageError("Which tenant? No profile is configured or chosen.",
                                 hint="Give --profile NAME, --all-profiles, or --demo / --tenant ID.")
            profiles = [chosen]
        rows = fleet_status(profiles, StorePaths.default())
    else:
        rows = [asyncio.run(_session_status(args, out, config))]
    if out.json_mode:
        out.json(status_json(rows, now))
    else:
        _print_status(out, rows, now)
    return 0


async def _session_status(args: StatusArgs, out: Output, config: AppConfig) -> TenantStatus:
    """The status of the tenant the options name (the demo tenant, ``--tenant``): its session's cache, with
    the backups and the job list read fresh unless offline."""
    from entrabr_tui.cli.connect import open_session

    session = await open_session(args, out, None if args.demo else config)
    try:
        if not session.offline:
            await session.snapshots(refresh=True)
            await session.jobs(refresh=True)
        return session.status()
    finally:
        await session.aclose()


__all__ = ["compare", "comparison_json", "drill", "drill_json", "evidence", "prewarm", "prewarm_json",
           "status", "status_json", "watch"]
