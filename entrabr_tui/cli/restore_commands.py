"""``restore --plan`` / ``restore --apply`` and the restore targets (``--id``, ``--ids-from``, ``--all``,
``--queued``)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from entrabr_tui.cli.common import check_types, missing, pick_report, pick_snapshot
from entrabr_tui.cli.confirm import confirm_restore
from entrabr_tui.cli.exits import CliError, ExitCode
from entrabr_tui.cli.output import Output
from entrabr_tui.cli.progress import ProgressPrinter
from entrabr_tui.cli.targets import Target, gather_targets
from entrabr_tui.core.capabilities import Action
from entrabr_tui.core.planner import QueuedChange, plan_restore, summary_lines
from entrabr_tui.engine.export import ExportFormat, PlanExport, write_plan
from entrabr_tui.engine.export_records import change_summary_json, job_json, plan_hash

if TYPE_CHECKING:
    from entrabr_tui.engine.plans import SessionPlan
    from entrabr_tui.engine.reports import ReportInfo
    from entrabr_tui.engine.restore import RestoreResult
    from entrabr_tui.engine.session import Session

PAGE = 5000


def require_restore(session: Session) -> None:
    """Refuse ``--apply`` up front when the signed-in identity may not restore (exit code 4)."""
    caps = session.capabilities
    if caps.allows(Action.RESTORE):
        return
    reason = caps.reason(Action.RESTORE) or "the signed-in identity may not restore"
    raise CliError(f"Restoring is not allowed for {caps.identity.display} ({caps.role.value}): {reason}",
                   ExitCode.FORBIDDEN, needs=reason,
                   hint="Sign in as an Entra Backup Administrator (or Global Administrator) to restore.")


async def source_report(session: Session, args: argparse.Namespace, out: Output) -> ReportInfo:
    """The report the targets come from; an unscoped report is run (or reused) when none is cached."""
    entry = None if args.report else await pick_snapshot(session, args.snapshot)
    if args.report or (entry is not None and entry.report is not None) or session.offline:
        return pick_report(session, entry, args.report, out)
    assert entry is not None
    out.info(f"No cached report of the backup of {entry.snapshot.created:%Y-%m-%d}; running one first.")
    progress = ProgressPrinter(out.stderr, quiet=out.quiet)
    try:
        return await session.ensure_report(entry.snapshot.id, None, progress.job)
    finally:
        progress.done()


def _plan_all(session: Session, info: ReportInfo, types: list[str | None]) -> SessionPlan:
    """Every change of the report (of ``types`` when given); whole types where everything is included."""
    from entrabr_tui.engine.plans import SessionPlan

    queued: list[QueuedChange] = []
    names: dict[str, str] = {}
    actions: dict[str, str] = {}
    for entity_type in [*types] or [None]:
        after: Any = None
        while True:
            page = session.page(info.id, entity_type, None, after, PAGE)
            for row in page:
                recoverable = row.recoverable
                if recoverable is None:  # not decided at ingest: decide from the full change
                    from entrabr_tui.core.catalog import has_recoverable_change

                    change = session.change(info.id, row.object_id)
                    recoverable = change is not None and has_recoverable_change(change)
                queued.append(QueuedChange(row.object_id, row.entity_type_raw, row.action_raw,
                                           row.on_premises_synced, recoverable))
                names[row.object_id] = row.display_name
                actions[row.object_id] = row.action_raw
            if len(page) < PAGE:
                break
            after = page[-1].key
    totals: dict[str, int] = {}
    for node in session.counts(info.id):
        totals[node.entity_type_raw] = totals.get(node.entity_type_raw, 0) + node.count
    kept, kept_count = session.audit.kept(info.id)        # changes a triage tag keeps stay out
    plan = plan_restore(queued, totals, kept=kept, kept_by_tags=kept_count)
    if info.snapshot_id is None:
        raise CliError(f"Report {info.id} names no backup, so nothing can be restored from it.",
                       ExitCode.ERROR)
    return SessionPlan(plan, info, info.snapshot_id, names=names, actions=actions)


def read_targets(args: argparse.Namespace, out: Output) -> list[Target]:
    """The ``--id`` / ``--ids-from`` targets, read and checked before anything contacts the tenant."""
    types = check_types(args.types)
    # With several --type values, each ID's own TYPE: prefix (or the report) decides.
    targets = gather_targets(args.ids, args.ids_from, out.stdin,
                             default_type=types[0] if len(types) == 1 else None)
    if not targets:
        raise CliError("No object IDs were given (the list is empty).", ExitCode.USAGE)
    return targets


def _plan_ids(session: Session, info: ReportInfo, targets: list[Target], args: argparse.Namespace,
              out: Output) -> SessionPlan:
    from entrabr_tui.engine.plans import build_plan

    found = {c.id.lower(): c for c in session.changes(info.report_id, [t.id for t in targets])}
    chosen, absent = [], []
    for target in targets:
        change = found.get(target.id.lower())
        if change is None or (target.entity_type is not None
                              and change.entity_type_raw.lower() != target.entity_type.lower()):
            absent.append(target.text)
        else:
            chosen.append(change)
    if absent:
        shown = ", ".join(absent[:5]) + (f" and {len(absent) - 5} more" if len(absent) > 5 else "")
        text = f"{len(absent)} of {len(targets)} IDs are not changes in report {info.id}: {shown}"
        if not args.ignore_missing:
            raise missing(session, text + ".", "Check the IDs, or pass --ignore-missing to skip them.")
        out.warn(text + " (skipped).")
    chosen = list({c.id: c for c in chosen}.values())
    return build_plan(info, chosen, None, allow_whole_type=False)


async def build_session_plan(session: Session, args: argparse.Namespace, out: Output,
                             targets: list[Target] | None = None) -> SessionPlan:
    """The plan for the targets the options select (``targets``: already read by :func:`read_targets`)."""
    from entrabr_tui.engine.errors import EngineError

    targets = targets if targets is not None else getattr(args, "targets", None)
    if targets is None and (args.ids or args.ids_from):
        targets = read_targets(args, out)
    if args.queued:
        try:
            return session.plan(args.report or None)
        except EngineError as exc:
            raise CliError(exc.message, ExitCode.NOT_FOUND) from None
    info = await source_report(session, args, out)
    if any(getattr(args, name, None) for name in ("actor", "operation", "cluster")):
        from entrabr_tui.cli.audit_commands import group_from, plan_for_group

        if not session.offline:
            from entrabr_tui.cli.audit_commands import progress_printer

            await session.pull_audit(info.id, progress_printer(out))
        group = group_from(session, info, args)
        assert group is not None
        return plan_for_group(session, info, group)
    if args.all:
        return _plan_all(session, info, [*check_types(args.types)])
    assert targets is not None
    return _plan_ids(session, info, targets, args, out)


def plan_export(session: Session, plan: SessionPlan) -> PlanExport:
    from datetime import UTC, datetime

    return PlanExport(tenant=session.tenant, plan=plan.plan, generated=datetime.now(UTC),
                      snapshot_id=plan.snapshot_id, report_id=plan.report.id if plan.report else None)


def result_json(plan: SessionPlan, result: RestoreResult | None) -> dict[str, Any]:
    doc: dict[str, Any] = {"schema": "entrabr.restoreResult/1", "snapshotId": plan.snapshot_id,
                           "reportId": plan.report.id if plan.report else None,
                           "planHash": plan_hash(plan.plan, plan.snapshot_id)}
    if result is None:
        return {**doc, "outcome": "nothing to restore", "complete": True, "cancelled": False, "error": None,
                "objectsModified": 0, "linksModified": 0, "failedCount": 0, "jobs": [], "failedChanges": []}
    return {**doc, "outcome": result.outcome, "complete": result.complete, "cancelled": result.cancelled,
            "error": result.error, "objectsModified": result.objects_modified,
            "linksModified": result.links_modified, "failedCount": result.failed_count,
            "jobs": [job_json(j) for j in result.jobs],
            "failedChanges": [change_summary_json(c) for c in result.failed]}


async def restore(session: Session, args: argparse.Namespace, out: Output) -> int:
    """Dry run (``--plan``) or apply (``--apply``) a restore."""
    if args.apply:
        if session.offline:
            from entrabr_tui.engine.errors import OfflineError

            raise OfflineError("Restoring")
        require_restore(session)
    plan = await build_session_plan(session, args, out)
    if args.plan:
        if out.json_mode:
            write_plan(out.stdout, plan_export(session, plan), ExportFormat.JSON)
        else:
            for line in summary_lines(plan.plan):
                out.line(line)
            out.info("Dry run: nothing was changed. Apply with --apply (same targets).")
        return 0
    if plan.is_empty:
        out.info("Nothing to restore: none of the selected changes can be recovered.")
        for line in summary_lines(plan.plan):
            out.info(f"  {line}")
        if out.json_mode:
            out.json(result_json(plan, None))
        return 0
    confirm_restore(plan.plan, out, yes=args.yes)
    progress = ProgressPrinter(out.stderr, quiet=out.quiet)
    try:
        result = await session.restore(plan, progress.restore)
    finally:
        progress.done()
    if out.json_mode:
        out.json(result_json(plan, result))
    else:
        out.line(result.summary)
        for change in result.failed:
            out.line(f"  failed {change.entity_type_raw} {change.id} {change.display_name}: "
                     f"{change.failure_message or 'no message'}")
    if result.cancelled:
        return ExitCode.INTERRUPTED
    clean = result.complete and not result.failed and not result.failed_count
    return ExitCode.OK if clean else ExitCode.PARTIAL

