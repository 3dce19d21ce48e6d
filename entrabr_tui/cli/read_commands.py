"""The reading commands: ``snapshots``, ``report``, ``changes``, ``jobs`` and ``history``."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from entrabr_tui.cli.args import ChangesArgs, CommonArgs, HistoryArgs, JobsArgs, ReportArgs
from entrabr_tui.cli.common import (
    cached_report_sync,
    change_row_json,
    check_types,
    counts_json,
    pick_report,
    pick_snapshot,
    report_json,
    short_time,
)
from entrabr_tui.cli.exits import ExitCode, UsageError
from entrabr_tui.cli.history_table import history_table
from entrabr_tui.cli.job_table import job_table
from entrabr_tui.cli.output import Output
from entrabr_tui.cli.progress import ProgressPrinter
from entrabr_tui.cli.snapshot_table import snapshot_table
from entrabr_tui.cli.targets import gather_targets
from entrabr_tui.cli.timeparse import parse_since
from entrabr_tui.core.model import EntityNameAndIdsFilter, EntityNamesFilter, FilteringCriteria, JobKind
from entrabr_tui.core.recoverability import Recoverable
from entrabr_tui.engine.export_records import (
    answer_text,
    dt_text,
    job_json,
    scope_json,
    scope_text,
)
from entrabr_tui.engine.timing import format_duration

if TYPE_CHECKING:
    from collections.abc import Sequence

    from entrabr_tui.engine.session import Session
    from entrabr_tui.store import ChangeRow, JobRecord


async def snapshots(session: Session, args: CommonArgs, out: Output) -> int:
    """List backups newest first with expiry and cached reports."""
    entries = await session.snapshots(refresh=not session.offline)
    now = datetime.now(UTC)
    if out.json_mode:
        out.json({"schema": "entrabr.snapshots/1", "tenant": session.tenant, "offline": session.offline,
                  "snapshots": [{
                      "id": e.snapshot.id, "created": dt_text(e.snapshot.created),
                      "expires": dt_text(e.expires),
                      "expired": e.expired, "totalChangedObjects": e.snapshot.total_changed_objects,
                      "reports": [report_json(r) for r in e.reports]} for e in entries]})
        return 0
    if not entries:
        out.info("No backups are known yet." if not session.offline else "No backups are in the cache.")
        return 0
    known = _known_job_ids(session, await session.job_records(refresh=False))
    snapshot_table(entries, out.width, known_ids=known, now=now).show(out)
    return 0


def _known_job_ids(session: Session, records: Sequence[JobRecord]) -> list[str]:
    """Every job ID a command could be given (the jobs ``records`` lists, the reports cached), which a
    shortened one must not share."""
    return [r.job.id for r in records] + [r.id for r in session.reports()]


def _report_scope(session: Session, args: ReportArgs, snapshot_reports: Any,
                  out: Output) -> FilteringCriteria | None:
    types = check_types(args.types)
    if not args.ids:
        return EntityNamesFilter(tuple(types)) if types else None
    targets = gather_targets(args.ids, None, out.stdin, default_type=types[0] if len(types) == 1 else None)
    grouped: dict[str, list[str]] = {}
    for target in targets:
        entity_type = target.entity_type
        if entity_type is None:
            change = None
            for info in snapshot_reports:
                found = session.resolve_ids(info.id, [target.id]).get(target.id)  # typed: case may differ
                change = session.change(info.id, found) if found is not None else None
                if change is not None:
                    break
            if change is None:
                raise UsageError(f"--id {target.id}: which object type is it?",
                                 hint="Write TYPE:ID (e.g. user:ID), or give a single --type.")
            entity_type = change.entity_type_raw
        else:
            entity_type = check_types([entity_type])[0]
        grouped.setdefault(entity_type, []).append(target.id)
    return EntityNameAndIdsFilter(tuple((t, tuple(ids)) for t, ids in grouped.items()))


async def report(session: Session, args: ReportArgs, out: Output) -> int:
    """Create or reuse a difference report, download it, print counts by type and action."""
    entry = await pick_snapshot(session, args.snapshot)
    scope = _report_scope(session, args, [r for r in entry.reports if r.complete], out)
    progress = ProgressPrinter(out.stderr, quiet=out.quiet)
    began = time.perf_counter()
    try:
        info = await session.ensure_report(entry.snapshot.id, scope, progress.job, fresh=args.fresh)
    finally:
        progress.done()
    elapsed = time.perf_counter() - began
    counts = session.counts(info.id)
    summary = counts_json(counts)
    code = ExitCode.OK if info.complete else ExitCode.PARTIAL
    if not info.complete:
        out.warn(f"Difference report {info.id} is {info.state_text}. What arrived is kept and shown; "
                 "run 'entrabr report' again to download it again.")
    if info.unreadable:
        out.warn(f"{info.unreadable:,} change object(s) could not be read; they are kept as sent and "
                 "listed as '(unreadable)' by 'entrabr changes'.")
    if out.json_mode:
        out.json({"schema": "entrabr.reportSummary/1", "tenant": session.tenant,
                  "snapshot": {"id": entry.snapshot.id, "created": dt_text(entry.snapshot.created)},
                  "report": report_json(info), **summary, "elapsedSeconds": round(elapsed, 4)})
        return code
    how = "reused from the cache" if info.reused else "created and downloaded"
    out.info(f"Report {info.id} {how} in {format_duration(elapsed)}.")
    out.line(f"Difference report {info.id} of the backup of {short_time(entry.snapshot.created)} "
             f"({scope_text(info.scope)}): {summary['totalChanges']:,} changed objects")
    out.line()
    out.table(("TYPE", "ACTION", "COUNT"), [(c.entity_type_raw, c.action_raw, c.count) for c in counts],
              right=(2,))
    out.line()
    out.table(("ACTION", "TOTAL"), sorted(summary["byAction"].items()), right=(1,))
    return code


def _recoverable(args: ChangesArgs) -> Recoverable | None:
    return None if args.recoverable is None else Recoverable(args.recoverable)


def _rows(session: Session, report_id: str, args: ChangesArgs) -> tuple[list[ChangeRow], bool]:
    """Matching rows in type/action/name order, at most ``--limit`` (0 = all); and whether more exist."""
    limit = args.limit or None
    types: list[str | None] = [*check_types(args.types)] or [None]
    actions: list[str | None] = [*dict.fromkeys(args.actions)] or [None]
    rows: list[ChangeRow] = []
    for entity_type in types:
        for action in actions:
            after: Any = None
            while True:
                room = None if limit is None else limit + 1 - len(rows)
                if room is not None and room <= 0:
                    return rows[:limit], True
                page = session.page(report_id, entity_type, action, after, min(room or 1000, 1000),
                                    text=args.filter, recoverable=_recoverable(args))
                rows.extend(page)
                if len(page) < min(room or 1000, 1000):
                    break
                after = page[-1].key
    if limit is not None and len(rows) > limit:
        return rows[:limit], True
    return rows, False


async def changes(session: Session, args: ChangesArgs, out: Output) -> int:
    """List changed objects of a cached report, filtered by type, action and text."""
    from entrabr_tui.cli import audit_commands

    entry = None if args.report else await pick_snapshot(session, args.snapshot)
    info = pick_report(session, entry, args.report, out)
    group = None
    if args.actor or args.operation or args.cluster or args.since or args.until:
        info = await audit_commands.joined_report(session, args.snapshot, args.report, out)
        group = audit_commands.group_from(session, info, args)
    await cached_report_sync(session, info, out)  # before the recoverable answers are read
    if group is not None:
        rows, total, more = audit_commands.group_rows(session, info, group, args)
    else:
        rows, more = _rows(session, info.id, args)
        types, actions = set(check_types(args.types)), set(args.actions)
        total = sum(c.count for c in session.counts(info.id, text=args.filter, recoverable=_recoverable(args))
                    if (not types or c.entity_type_raw in types) and (not actions or c.action_raw in actions))
    who = audit_commands.audit_fields(session, info, rows)
    if out.json_mode:
        out.json({"schema": "entrabr.changes/1", "reportId": info.id, "snapshotId": info.snapshot_id,
                  "complete": info.complete, "state": info.state_text, "unreadableCount": info.unreadable,
                  "total": total, "returned": len(rows), "truncated": more,
                  "changes": [{**change_row_json(r), **({"audit": who[r.position]} if r.position in who
                                                        else {})} for r in rows]})
        return 0
    if who:
        out.table(("TYPE", "ACTION", "ID", "NAME", "UPN OR MAIL", "SYNC", "RECOVERABLE", "BY", "VERDICT"),
                  [(r.entity_type_raw, r.action_raw, r.object_id, r.display_name, r.principal_name,
                    r.sync.value, answer_text(r.recoverable), _who(who.get(r.position)),
                    (who.get(r.position) or {}).get("verdict")) for r in rows], whole=(2,), flex=(3, 4))
    else:
        out.table(("TYPE", "ACTION", "ID", "NAME", "UPN OR MAIL", "SYNC", "RECOVERABLE"),
                  [(r.entity_type_raw, r.action_raw, r.object_id, r.display_name, r.principal_name,
                    r.sync.value, answer_text(r.recoverable)) for r in rows], whole=(2,), flex=(3, 4))
    if more:
        out.info(f"Showing {len(rows):,} of {total:,}; --limit 0 shows all.")
    shown = [r for r in rows if r.unreadable is not None]
    if shown:
        out.info(f"{info.unreadable:,} change object(s) could not be read (action '(unreadable)'):")
        for r in shown:
            out.info(f"  #{r.position} {r.entity_type_raw} {r.object_id or '(no id)'}: {r.unreadable}")
    return 0


def _who(fields: dict[str, Any] | None) -> str | None:
    actor = (fields or {}).get("actor")
    return actor["label"] if actor else None


async def jobs(session: Session, args: JobsArgs, out: Output) -> int:
    """Jobs of both kinds, newest first (archived ones are those the service no longer lists)."""
    every = await session.job_records(refresh=not session.offline)
    records = every
    if args.kind:
        kind = JobKind.PREVIEW if args.kind == "report" else JobKind.RECOVERY
        records = [r for r in records if r.job.kind is kind]
    if args.limit:
        records = records[: args.limit]
    if out.json_mode:
        out.json({"schema": "entrabr.jobList/1", "tenant": session.tenant, "offline": session.offline,
                  "jobs": [{**job_json(r.job), "archived": r.archived} for r in records]})
        return 0
    if not records:
        out.info("No jobs.")
        return 0
    job_table(records, out.width, known_ids=_known_job_ids(session, every), now=datetime.now(UTC)).show(out)
    return 0


def history_actions() -> list[str]:
    """Every action the session history records."""
    from entrabr_tui.engine.session_log import AppAction, OpsAction
    from entrabr_tui.store import HistoryAction

    return [a.value for a in HistoryAction] + [a.value for a in AppAction] + [a.value for a in OpsAction]


def history(args: HistoryArgs, out: Output) -> int:
    """The local session log (no sign-in needed): every action taken, newest first."""
    from entrabr_tui.store import History

    if args.action is not None and args.action not in history_actions():
        raise UsageError(f"Unknown history action {args.action!r}.",
                         hint="Actions: " + ", ".join(history_actions()) + ".")
    since = parse_since(args.since, datetime.now(UTC)) if args.since else None
    with History.open() as log:
        for warning in log.warnings:
            out.warn(warning)
        entries = log.query(since=since, actions=[args.action] if args.action else None,
                            object_id=args.object, tenant_id=args.tenant, limit=args.limit or None)
        known = [] if out.json_mode else [  # a shortened job ID is shared by no other job of the history
            e.job_id for e in log.query(limit=None, include_object_ids=False) if e.job_id]
    if out.json_mode:
        out.json({"schema": "entrabr.history/1", "entries": [{
            "id": e.id, "at": dt_text(e.at), "action": e.action, "tenant": e.tenant_id,
            "identity": e.identity,
            "snapshotId": e.snapshot_id, "scope": e.scope, "counts": e.counts, "outcome": e.outcome,
            "detail": e.detail, "jobId": e.job_id, "objectCount": e.object_count,
            "objectIds": list(e.object_ids)} for e in entries]})
        return 0
    if not entries:
        out.info("No matching history entries.")
        return 0
    history_table(entries, out.width, known_ids=known, now=datetime.now(UTC)).show(out)
    return 0


__all__ = ["changes", "history", "jobs", "report", "scope_json", "snapshots"]
