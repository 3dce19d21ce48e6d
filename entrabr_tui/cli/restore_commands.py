"""``restore --plan`` / ``restore --apply`` and the restore targets (``--id``, ``--ids-from``, ``--all``,
``--queued``)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from entrabr_tui.cli.common import check_types, missing, pick_report, pick_snapshot
from entrabr_tui.cli.confirm import confirm_restore
from entrabr_tui.cli.exits import CliError, ExitCode, forbidden
from entrabr_tui.cli.output import Output
from entrabr_tui.cli.progress import ProgressPrinter
from entrabr_tui.cli.targets import Target, gather_targets
from entrabr_tui.core.capabilities import Action
from entrabr_tui.core.planner import QueuedChange, object_records, plan_restore, summary_lines
from entrabr_tui.engine.export import ExportFormat, PlanExport, write_plan
from entrabr_tui.engine.export_records import change_summary_json, job_json, plan_hash

if TYPE_CHECKING:
    from entrabr_tui.core.model import Change
    from entrabr_tui.engine.interrupted import InterruptedRestore
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
    raise forbidden(f"Restoring is not allowed for {caps.identity.display} ({caps.role.value}).", reason,
                    "Sign in as an Entra Backup Administrator (or Global Administrator) to restore.")


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
    from entrabr_tui.core.recoverability import stored_verdict
    from entrabr_tui.engine.plans import SessionPlan

    queued: list[tuple[int, QueuedChange]] = []
    names: dict[str, str] = {}
    for entity_type in [*types] or [None]:
        after: Any = None
        while True:
            page = session.page(info.id, entity_type, None, after, PAGE)
            for row in page:
                if row.unreadable is not None:
                    continue  # an unreadable change object is never restored
                verdict = stored_verdict(row.entity_type_raw, row.action_raw, row.sync, row.recoverable)
                queued.append((row.position, QueuedChange(row.object_id, row.entity_type_raw, row.action_raw,
                                                          verdict)))
                names.setdefault(row.object_id, row.display_name)
            if len(page) < PAGE:
                break
            after = page[-1].key
    # An object may have several changes: one record per object, its changes taken in report order.
    records = object_records(record for _, record in sorted(queued, key=lambda pair: pair[0]))
    kept, kept_count = session.audit.kept(info.id)        # changes a triage tag keeps stay out
    plan = plan_restore(records, _type_totals(session, info), kept=kept, kept_by_tags=kept_count)
    if info.snapshot_id is None:
        raise CliError(f"Report {info.id} names no backup, so nothing can be restored from it.",
                       ExitCode.ERROR)
    return SessionPlan(plan, info, info.snapshot_id, names=names, actions={r.id: r.action for r in records})


async def check_sync(session: Session, out: Output, ref: str | None, ids: list[str] | None = None, *,
                     queued: bool = False) -> None:
    """Ask the directory about the sync status still unknown among the objects about to be planned, and
    say how it went (a refusal is a warning: the plan then warns about what stays unknown)."""
    from entrabr_tui.engine.sync_status import LookupOutcome

    progress = ProgressPrinter(out.stderr, quiet=out.quiet)
    try:
        check = await session.check_sync_status(ref, ids, queued=queued, progress=progress.job)
    finally:
        progress.done()
    if check.outcome in (LookupOutcome.FORBIDDEN, LookupOutcome.FAILED, LookupOutcome.READ_ONLY):
        out.warn(check.summary)
    elif check.outcome is LookupOutcome.DONE:
        out.info(check.summary)


def _type_totals(session: Session, info: ReportInfo) -> dict[str, int]:
    """Objects per type in the report (objects, not changes: the planner scopes by object id)."""
    return session.cache_reader.object_counts(info.id)


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

    # Typed ids are matched to the report's ids here, at the input edge (exactly, else ignoring case);
    # from then on ids compare exactly. An object may have several changes: all go to the planner.
    resolved = session.resolve_ids(info.report_id, [t.id for t in targets])
    by_id: dict[str, list[Change]] = {}
    for change in session.changes(info.report_id, list(dict.fromkeys(resolved.values()))):
        if change.readable:
            by_id.setdefault(change.id, []).append(change)
    chosen: list[Change] = []
    absent = []
    for target in targets:
        changes = by_id.get(resolved.get(target.id, ""), [])
        if target.entity_type is not None:
            changes = [c for c in changes if c.entity_type_raw.lower() == target.entity_type.lower()]
        if not changes:
            absent.append(target.text)
        else:
            chosen.extend(changes)
    if absent:
        shown = ", ".join(absent[:5]) + (f" and {len(absent) - 5} more" if len(absent) > 5 else "")
        text = f"{len(absent)} of {len(targets)} IDs are not changes in report {info.id}: {shown}"
        if not args.ignore_missing:
            raise missing(session, text + ".", "Check the IDs, or pass --ignore-missing to skip them.")
        out.warn(text + " (skipped).")
    # The report's totals per type say how much of each type the plan covers (reportTotal); whole-type jobs
    # stay off: the IDs were chosen one by one.
    return build_plan(info, chosen, _type_totals(session, info), allow_whole_type=False)


async def build_session_plan(session: Session, args: argparse.Namespace, out: Output,
                             targets: list[Target] | None = None) -> SessionPlan:
    """The plan for the targets the options select (``targets``: already read by :func:`read_targets`)."""
    from entrabr_tui.engine.errors import EngineError

    targets = targets if targets is not None else getattr(args, "targets", None)
    if targets is None and (args.ids or args.ids_from):
        targets = read_targets(args, out)
    if args.queued:
        try:
            await check_sync(session, out, args.report or None, queued=True)
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
        await check_sync(session, out, info.id)
        return _plan_all(session, info, [*check_types(args.types)])
    assert targets is not None
    await check_sync(session, out, info.id, [t.id for t in targets])
    return _plan_ids(session, info, targets, args, out)


def plan_export(session: Session, plan: SessionPlan) -> PlanExport:
    from datetime import UTC, datetime

    return PlanExport(tenant=session.tenant, plan=plan.plan, generated=datetime.now(UTC),
                      snapshot_id=plan.snapshot_id, report_id=plan.report.id if plan.report else None)


def result_json(plan: SessionPlan, result: RestoreResult | None,
                interrupted: InterruptedRestore | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {"schema": "entrabr.restoreResult/1", "snapshotId": plan.snapshot_id,
                           "reportId": plan.report.id if plan.report else None,
                           "planHash": plan_hash(plan.plan, plan.snapshot_id)}
    if interrupted is not None:  # a resumed restore: its plan is the one it started with
        doc.update({"snapshotId": interrupted.run.snapshot_id, "reportId": interrupted.report_job_id,
                    "planHash": interrupted.run.plan_hash, "resumed": True})
    if result is None:
        return {**doc, "outcome": "nothing to restore", "complete": True, "cancelled": False, "error": None,
                "objectsModified": 0, "linksModified": 0, "failedCount": 0, "jobs": [], "failedChanges": []}
    return {**doc, "outcome": result.outcome, "complete": result.complete, "cancelled": result.cancelled,
            "error": result.error, "objectsModified": result.objects_modified,
            "linksModified": result.links_modified, "failedCount": result.failed_count,
            "jobs": [job_json(j) for j in result.jobs],
            "failedChanges": [change_summary_json(c) for c in result.failed]}


async def restore(session: Session, args: argparse.Namespace, out: Output) -> int:
    """Dry run (``--plan``), apply (``--apply``), resume (``--resume``) or drop (``--discard-interrupted``)
    a restore.

    An interrupted restore (a run stopped part-way: killed, crashed, a service error) is finished before
    any other restore runs: ``--apply`` with the same targets resumes it (the batch it was running is
    followed, never sent again; the batches it had not sent are sent) instead of planning from scratch.
    """
    if args.discard_interrupted:
        dropped = session.discard_interrupted_restore()
        out.info("The interrupted restore was dropped; its remaining batches will not be sent."
                 if dropped else "There is no interrupted restore.")
        return 0
    if args.apply or args.resume:
        if session.offline:
            from entrabr_tui.engine.errors import OfflineError

            raise OfflineError("Restoring")
        require_restore(session)
    interrupted = session.interrupted_restore() if (args.apply or args.resume) else None
    if args.resume:
        if interrupted is None:
            out.info("There is no interrupted restore to resume.")
            return 0
        return await _resume(session, interrupted, args, out, None)
    if interrupted is not None and interrupted.report_job_id is not None and not args.report \
            and args.snapshot in (None, "latest"):
        # The same targets are planned against the report the interrupted restore came from (a newer
        # backup may exist by now): never a new report, and an equal plan is the one to resume.
        args.report = interrupted.report_job_id
    plan = await build_session_plan(session, args, out)
    if args.plan:
        if out.json_mode:
            write_plan(out.stdout, plan_export(session, plan), ExportFormat.JSON)
        else:
            for line in summary_lines(plan.plan):
                out.line(line)
            out.info("Dry run: nothing was changed. Apply with --apply (same targets).")
        return 0
    if interrupted is not None:
        same = interrupted.run.plan_hash == plan_hash(plan.plan, plan.snapshot_id)
        if args.queued and plan.report is not None and interrupted.run.report_id == plan.report.report_id:
            if not same:
                out.info("Objects queued since the restore was interrupted are not part of it: run the "
                         "command again for them once it is finished.")
            return await _resume(session, interrupted, args, out, None)
        if same:
            return await _resume(session, interrupted, args, out, plan)
        raise CliError(
            f"{interrupted.text} (started {interrupted.created:%Y-%m-%d %H:%MZ}); it must be finished or "
            "dropped before another restore runs. Nothing was sent.", ExitCode.CONFLICT,
            hint="'entrabr restore --resume' runs its remaining batches; 'entrabr restore "
                 "--discard-interrupted' drops them.")
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
    return _report_result(plan, result, out)


async def _resume(session: Session, interrupted: InterruptedRestore, args: argparse.Namespace, out: Output,
                  plan: SessionPlan | None) -> int:
    """Finish an interrupted restore (after asking, as for a new one)."""
    out.info(f"{interrupted.text} (started {interrupted.created:%Y-%m-%d %H:%MZ}); resuming it instead of "
             "planning again:")
    for line in interrupted.lines():
        out.info(f"  {line}")
    if plan is not None:
        confirm_restore(plan.plan, out, yes=args.yes)
    elif not args.yes:
        _confirm_resume(interrupted, out)
    progress = ProgressPrinter(out.stderr, quiet=out.quiet)
    try:
        result = await session.resume_restore(progress.restore)
    finally:
        progress.done()
    if plan is None:
        from entrabr_tui.engine.plans import SessionPlan

        plan = SessionPlan.empty()
    return _report_result(plan, result, out, interrupted)


def _confirm_resume(interrupted: InterruptedRestore, out: Output) -> None:
    if not out.stdin_tty:
        raise CliError("Refusing to resume a restore without confirmation: stdin is not a terminal.",
                       ExitCode.USAGE, hint="Re-run with --yes.")
    left = interrupted.batch_count - interrupted.done
    out.prompt(f"Finish it ({left} batch(es) left) against the live tenant? [y/N] ")
    answer = out.stdin.readline() if out.stdin is not None else ""
    if answer.strip().lower() not in ("y", "yes"):
        raise CliError("Not confirmed; nothing was changed.", ExitCode.ERROR)


def _report_result(plan: SessionPlan, result: RestoreResult, out: Output,
                   interrupted: InterruptedRestore | None = None) -> int:
    if out.json_mode:
        out.json(result_json(plan, result, interrupted))
    else:
        out.line(result.summary)
        for change in result.failed:
            out.line(f"  failed {change.entity_type_raw} {change.id} {change.display_name}: "
                     f"{change.failure_message or 'no message'}")
    if result.cancelled:
        return ExitCode.INTERRUPTED
    clean = result.complete and not result.failed and not result.failed_count
    return ExitCode.OK if clean else ExitCode.PARTIAL
