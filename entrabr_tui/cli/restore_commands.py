"""``restore --plan`` / ``restore --apply`` and the restore targets (``--id``, ``--ids-from``, ``--all``,
``--queued``), reviewed plan files (``--plan --out PLAN.json``, ``--apply PLAN.json``), and the checks
around a restore: the recheck of what was reviewed, the lockout guard, the verification after it."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from entrabr_tui.cli.args import RestoreArgs, TargetArgs
from entrabr_tui.cli.common import check_sync, check_types, missing, pick_report, pick_snapshot
from entrabr_tui.cli.confirm import confirm_restore
from entrabr_tui.cli.exits import CliError, ExitCode
from entrabr_tui.cli.output import Output
from entrabr_tui.cli.progress import ProgressPrinter
from entrabr_tui.cli.targets import Target, gather_targets
from entrabr_tui.core.capabilities import Action
from entrabr_tui.core.planner import summary_lines
from entrabr_tui.engine.export import ExportFormat, PlanExport, write_plan
from entrabr_tui.engine.export_records import change_summary_json, job_json, plan_hash
from entrabr_tui.engine.restore_safety import reviewed_by

if TYPE_CHECKING:
    from entrabr_tui.core.model import Change
    from entrabr_tui.core.verification import Verification
    from entrabr_tui.engine.interrupted import InterruptedRestore
    from entrabr_tui.engine.plans import SessionPlan
    from entrabr_tui.engine.reports import ReportInfo
    from entrabr_tui.engine.restore import RestoreResult
    from entrabr_tui.engine.restore_checks import LockoutCheck, Recheck
    from entrabr_tui.engine.session import Session

def warn_restore_hint(session: Session, out: Output) -> None:
    """Say so when the token's claims suggest the signed-in identity may not restore. Only a warning: the
    claims are a hint (a token may omit roles, a role may have been granted since), so the restore is tried
    and the service decides, as in the terminal app; its refusal is reported with the role it needs."""
    caps = session.capabilities
    if caps.allows(Action.RESTORE):
        return
    reason = caps.reason(Action.RESTORE) or "the signed-in identity may not restore"
    out.warn(f"This sign-in may not be allowed to restore ({reason.rstrip('.')}). Trying anyway: the "
             "service decides.")


async def source_report(session: Session, snapshot: str, report: str | None, out: Output) -> ReportInfo:
    """The report the options name (``--report``, else the latest of ``--snapshot``); an unscoped report is
    run (or reused) when none is cached."""
    entry = None if report else await pick_snapshot(session, snapshot)
    if report or (entry is not None and entry.report is not None) or session.offline:
        return pick_report(session, entry, report, out)
    assert entry is not None
    out.info(f"No cached report of the backup of {entry.snapshot.created:%Y-%m-%d}; running one first.")
    progress = ProgressPrinter(out.stderr, quiet=out.quiet)
    try:
        return await session.ensure_report(entry.snapshot.id, None, progress.job)
    finally:
        progress.done()


def _plan_all(session: Session, info: ReportInfo, types: list[str], args: TargetArgs,
              extra: list[Change] | None = None) -> SessionPlan:
    """Every change of the report (of ``types`` when given), streamed once; the options compared (whole
    types where that reverts nothing unchosen and is faster)."""
    if info.snapshot_id is None:
        raise CliError(f"Report {info.id} names no backup, so nothing can be restored from it.",
                       ExitCode.ERROR)
    wanted = set(types)
    changes = (c for c in session.iter_changes(info.id) if not wanted or c.entity_type_raw in wanted)
    return session.plan_changes(info.id, itertools.chain(changes, extra or ()), strategy=args.strategy)


def read_targets(args: TargetArgs, out: Output) -> list[Target]:
    """The ``--id`` / ``--ids-from`` targets, read and checked before anything contacts the tenant."""
    types = check_types(args.types)
    # With several --type values, each ID's own TYPE: prefix (or the report) decides.
    targets = gather_targets(args.ids, args.ids_from, out.stdin,
                             default_type=types[0] if len(types) == 1 else None)
    if not targets:
        raise CliError("No object IDs were given (the list is empty).", ExitCode.USAGE)
    return targets


def _plan_ids(session: Session, info: ReportInfo, targets: list[Target], args: TargetArgs,
              out: Output) -> SessionPlan:
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
    # Whole-type jobs stay off unless asked for (--strategy): the IDs were chosen one by one.
    return session.plan_changes(info.id, chosen, allow_whole_type=False, strategy=args.strategy)


async def build_session_plan(session: Session, args: TargetArgs, out: Output,
                             targets: list[Target] | None = None) -> SessionPlan:
    """The plan for the targets the options select (``targets``: already read by :func:`read_targets`)."""
    from entrabr_tui.engine.errors import EngineError

    targets = targets if targets is not None else args.targets
    if targets is None and (args.ids or args.ids_from):
        targets = read_targets(args, out)
    if args.queued:
        try:
            await check_sync(session, out, args.report or None, queued=True)
            plan = session.plan(args.report or None, strategy=args.strategy)
            if args.with_dependencies and session.queue_dependencies(plan):
                out.info(f"Queued {len(session.dependency_fixes(plan))} object(s) the plan depends on.")
                plan = session.plan(args.report or None, strategy=args.strategy)
            return plan
        except EngineError as exc:
            raise CliError(exc.message, ExitCode.NOT_FOUND) from None
    info = await source_report(session, args.snapshot, args.report, out)
    if isinstance(args, RestoreArgs) and (args.actor or args.operation or args.cluster):
        from entrabr_tui.cli.audit_commands import group_from, plan_for_group

        if not session.offline:
            from entrabr_tui.cli.audit_commands import progress_printer

            await session.pull_audit(info.id, progress_printer(out, session.tenant))
        group = group_from(session, info, args)
        assert group is not None
        return plan_for_group(session, info, group)
    if args.all:
        await check_sync(session, out, info.id)
        plan = _plan_all(session, info, [*check_types(args.types)], args)
        if args.with_dependencies and plan.dependencies:
            plan = _plan_all(session, info, [*check_types(args.types)], args, _fixes(session, info, plan))
        return plan
    assert targets is not None
    await check_sync(session, out, info.id, [t.id for t in targets])
    plan = _plan_ids(session, info, targets, args, out)
    if args.with_dependencies and plan.dependencies:
        chosen = list(session.changes(info.id, plan.ids)) + _fixes(session, info, plan)
        plan = session.plan_changes(info.id, chosen, allow_whole_type=False, strategy=args.strategy)
    return plan


def _fixes(session: Session, info: ReportInfo, plan: SessionPlan) -> list[Change]:
    """The changes of the deleted objects the plan depends on (``--with-dependencies``)."""
    return [c for c in session.changes(info.id, [d.id for d in session.dependency_fixes(plan)])
            if c.readable]


def plan_export(session: Session, plan: SessionPlan) -> PlanExport:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    extra: dict[str, Any] = {**plan.options_json(now.astimezone()),
                             "dependencies": plan.to_json()["dependencies"]}
    return PlanExport(tenant=session.tenant, plan=plan.plan, generated=now, snapshot_id=plan.snapshot_id,
                      report_id=plan.tenant_report_id, extra=extra)


def result_json(plan: SessionPlan, result: RestoreResult | None,
                interrupted: InterruptedRestore | None = None,
                checks: Checks | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {"schema": "entrabr.restoreResult/1", "snapshotId": plan.snapshot_id,
                           "reportId": plan.tenant_report_id,
                           "planHash": plan_hash(plan.plan, plan.snapshot_id)}
    if plan.reviewed_plan is not None:
        doc["reviewedPlan"] = {"reviewer": plan.reviewed_plan.reviewer,
                               "reviewedAt": plan.reviewed_plan.reviewed_at.strftime("%Y-%m-%dT%H:%M:%SZ")}
    if interrupted is not None:  # a resumed restore: its plan is the one it started with
        doc.update({"snapshotId": interrupted.run.snapshot_id, "reportId": interrupted.report_job_id,
                    "planHash": interrupted.run.plan_hash, "resumed": True})
    if checks is not None:
        doc.update(checks.to_json())
    if result is None:
        return {**doc, "outcome": "nothing to restore", "complete": True, "cancelled": False, "error": None,
                "objectsModified": 0, "linksModified": 0, "failedCount": 0, "jobs": [], "failedChanges": []}
    return {**doc, "outcome": result.outcome, "complete": result.complete, "cancelled": result.cancelled,
            "error": result.error, "objectsModified": result.objects_modified,
            "linksModified": result.links_modified, "failedCount": result.failed_count,
            "jobs": [job_json(j) for j in result.jobs],
            "failedChanges": [change_summary_json(c) for c in result.failed]}


@dataclass
class Checks:
    """What the checks around one restore found (for the output and ``--json``)."""

    recheck: Recheck | None = None
    lockout: LockoutCheck | None = None
    lockout_after: LockoutCheck | None = None
    verification: Verification | None = None

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {}
        if self.recheck is not None:
            doc["recheck"] = self.recheck.to_json()
        if self.lockout is not None:
            doc["lockout"] = self.lockout.to_json()
        if self.lockout_after is not None:
            doc["lockoutAfter"] = self.lockout_after.to_json()
        if self.verification is not None:
            v = self.verification
            doc["verification"] = {
                "verdict": v.verdict.value, "summary": v.summary, "checked": v.checked, "error": v.error,
                "residue": [{"entityType": i.entity_type, "id": i.id, "displayName": i.display_name,
                             "residue": i.residue.value, "expected": i.residue.expected, "detail": i.detail}
                            for i in v.residue]}
        return doc


async def restore(session: Session, args: RestoreArgs, out: Output) -> int:
    """Dry run (``--plan``, ``--out`` writes it as a reviewed plan file), apply (``--apply``, of the
    targets or of a reviewed plan file), resume (``--resume``) or drop (``--discard-interrupted``) a restore.

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
        warn_restore_hint(session, out)
    interrupted = session.interrupted_restore() if (args.apply or args.resume) else None
    if args.resume:
        if interrupted is None:
            out.info("There is no interrupted restore to resume.")
            return 0
        return await _resume(session, interrupted, args, out, None)
    if isinstance(args.apply, str):
        if interrupted is not None:
            raise _interrupted_conflict(interrupted)
        plan = await session.open_plan(Path(args.apply).expanduser())
        assert plan.reviewed_plan is not None
        out.info(f"Reviewed plan {args.apply}: {reviewed_by(plan)}; applied by {session.identity}.")
        return await _apply(session, plan, args, out)
    if interrupted is not None and interrupted.report_job_id is not None and not args.report \
            and args.snapshot in (None, "latest"):
        # The same targets are planned against the report the interrupted restore came from (a newer
        # backup may exist by now): never a new report, and an equal plan is the one to resume.
        args = replace(args, report=interrupted.report_job_id)
    plan = await build_session_plan(session, args, out)
    if args.plan:
        if args.out:
            digest = session.export_plan(plan, Path(args.out).expanduser())
            out.info(f"Reviewed plan written to {args.out} (SHA-256 {digest}); apply it with "
                     f"'{out.command('restore --apply ' + args.out)}'.")
        if out.json_mode:
            write_plan(out.stdout, plan_export(session, plan), ExportFormat.JSON)
        else:
            for line in [*summary_lines(plan.plan), *plan.option_lines(_now_local())]:
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
        raise _interrupted_conflict(interrupted)
    if plan.is_empty:
        out.info("Nothing to restore: none of the selected changes can be recovered.")
        for line in summary_lines(plan.plan):
            out.info(f"  {line}")
        if out.json_mode:
            out.json(result_json(plan, None))
        return 0
    return await _apply(session, plan, args, out)


def _now_local() -> datetime:
    return datetime.now(UTC).astimezone()


def _interrupted_conflict(interrupted: InterruptedRestore) -> CliError:
    return CliError(
        f"{interrupted.text} (started {interrupted.created:%Y-%m-%d %H:%MZ}); it must be finished or "
        "dropped before another restore runs. Nothing was sent.", ExitCode.CONFLICT,
        hint="'entrabr restore --resume' runs its remaining batches; 'entrabr restore "
             "--discard-interrupted' drops them.")


async def _apply(session: Session, plan: SessionPlan, args: RestoreArgs, out: Output) -> int:
    """Confirm, recheck what was reviewed, check for lockouts, restore, verify, check again."""
    for line in plan.option_lines(_now_local()):
        out.info(line)
    confirm_restore(plan.plan, out, yes=args.yes)
    checks = Checks()
    progress = ProgressPrinter(out.stderr, quiet=out.quiet)
    try:
        checked = await _recheck(session, plan, args, out, progress, checks)
    finally:
        progress.done()
    if checked is None or checked.is_empty:
        out.info("Nothing left to restore after the recheck; nothing was changed.")
        if out.json_mode:
            out.json(result_json(plan, None, checks=checks))
        return 0
    plan = checked
    checks.lockout = await session.lockout_check(plan)
    _confirm_lockout(session, checks.lockout, args, out)
    progress = ProgressPrinter(out.stderr, quiet=out.quiet)
    try:
        result = await session.restore(plan, progress.restore)
        if args.no_verify:
            checks.verification = session.skip_verify(result)
        elif not result.cancelled:
            out.info("Verifying: a preview of the restored objects on the same backup…")
            checks.verification = await session.verify_restore(plan, result, progress.job)
    finally:
        progress.done()
    if checks.lockout.policies:
        checks.lockout_after = await session.lockout_after(checks.lockout)
    return _report_result(plan, result, out, checks=checks)


async def _recheck(session: Session, plan: SessionPlan, args: RestoreArgs, out: Output,
                   progress: ProgressPrinter, checks: Checks) -> SessionPlan | None:
    """The staleness guard: the plan to restore (``None``: nothing left), or :class:`CliError` (exit 17)
    when objects moved and nobody said what to do."""
    if args.no_recheck:
        checks.recheck = session.skip_recheck(plan)
        out.warn("The recheck before the restore was skipped (--no-recheck); the history records it.")
        return plan
    out.info("Rechecking: a preview of the plan's objects on the same backup, compared with what was "
             "reviewed…")
    recheck = await session.recheck(plan, progress.job)
    checks.recheck = recheck
    if recheck.clean:
        out.info(recheck.summary)
        return session.settle_recheck(plan, recheck, "accept")
    out.warn(recheck.summary)
    for line in recheck.lines():
        out.warn(f"  {line}")
    choice = args.if_moved
    if choice is None:
        if not out.stdin_tty:
            session.settle_recheck(plan, recheck, "back")
            raise CliError("Objects moved since the review; nothing was restored.", ExitCode.STALE,
                           hint="Review again, or re-run with --if-moved accept (restore them anyway) or "
                                "--if-moved drop (leave them out).")
        out.prompt("Restore them anyway [a], leave them out [d], or go back [b]? ")
        answer = out.stdin.readline().strip().lower() if out.stdin is not None else ""
        choice = {"a": "accept", "accept": "accept", "d": "drop", "drop": "drop"}.get(answer, "back")
    settled = session.settle_recheck(plan, recheck, choice)
    if settled is None:
        raise CliError("Went back: nothing was restored.", ExitCode.STALE)
    return settled


def _confirm_lockout(session: Session, check: LockoutCheck, args: RestoreArgs, out: Output) -> None:
    """Say what the lockout guard found; a finding that needs it must be confirmed by typing each policy's
    name (``--confirm-policy NAME`` in scripts), else :class:`CliError` (exit 18)."""
    out.info(check.summary)
    for finding in check.findings:
        (out.warn if finding.needs_confirmation else out.info)(f"  {finding.text}")
    names = check.policy_names
    if not names:
        return
    typed = list(args.confirm_policies)
    if not all(name in [t.strip() for t in typed] for name in names) and out.stdin_tty:
        for name in names:
            out.prompt(f"Type the policy's name to restore it anyway ({name}): ")
            typed.append(out.stdin.readline() if out.stdin is not None else "")
    if not session.confirm_lockout(check, typed):
        raise CliError("The restore would lock out a protected identity and was not confirmed; nothing was "
                       "restored.", ExitCode.LOCKOUT,
                       hint="Check the policy first; to restore it anyway, type its exact name, or pass "
                            "--confirm-policy NAME for each policy listed.")


async def _resume(session: Session, interrupted: InterruptedRestore, args: RestoreArgs, out: Output,
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
                   interrupted: InterruptedRestore | None = None, checks: Checks | None = None) -> int:
    if out.json_mode:
        out.json(result_json(plan, result, interrupted, checks))
    else:
        out.line(result.summary)
        for change in result.failed:
            out.line(f"  failed {change.entity_type_raw} {change.id} {change.display_name}: "
                     f"{change.failure_message or 'no message'}")
        if checks is not None and checks.verification is not None:
            out.line(checks.verification.summary)
            for item in checks.verification.drifted:
                out.line(f"  drifted during recovery: {item.entity_type} {item.id} {item.display_name} "
                         f"({item.detail})")
        if checks is not None and checks.lockout_after is not None:
            out.line(checks.lockout_after.summary)
            for finding in checks.lockout_after.findings:
                out.line(f"  {finding.text}")
    if result.cancelled:
        return ExitCode.INTERRUPTED
    clean = result.complete and not result.failed and not result.failed_count
    if checks is not None and checks.verification is not None and checks.verification.drifted:
        return ExitCode.DRIFTED
    return ExitCode.OK if clean else ExitCode.PARTIAL
