"""Who changed it, on the command line: ``audit`` (actors and operations), ``blindspots`` (what the report
cannot show), and the audit options of ``changes`` and ``restore`` (``--actor``, ``--operation``,
``--cluster``, ``--since``, ``--until``).

Online, each of them first reads what the cache lacks of the audit log of the report's backup window
(progress on stderr); offline they use what the cache holds. A sign-in that may not read the audit log exits
with 4 and a message naming what is missing.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from entrabr_tui.cli.common import missing, short_time
from entrabr_tui.cli.exits import UsageError
from entrabr_tui.cli.output import Output
from entrabr_tui.cli.timeparse import parse_since
from entrabr_tui.core.audit_blindspots import BlindSpotKind
from entrabr_tui.core.audit_triage import TriageNote
from entrabr_tui.core.text import format_duration
from entrabr_tui.engine.audit_types import (
    ActorSummary,
    AuditNotReadyError,
    AuditProgress,
    BlindSpot,
    ChangeGroup,
)
from entrabr_tui.engine.export_files import ExportTargetError, write_text_file
from entrabr_tui.engine.export_records import csv_cell, dt_text, json_text, md_cell

if TYPE_CHECKING:
    from entrabr_tui.cli.args import AuditArgs, BlindspotsArgs, ChangesArgs, RestoreArgs
    from entrabr_tui.engine.plans import SessionPlan
    from entrabr_tui.engine.reports import ReportInfo
    from entrabr_tui.engine.session import Session
    from entrabr_tui.store import ChangeRow

FORMATS = ("json", "csv", "md")


def parse_time(text: str | None, option: str) -> datetime | None:
    """``--since``/``--until``: a UTC date/time, or an age (``30m``, ``12h``, ``7d``)."""
    if text is None:
        return None
    try:
        return parse_since(text, datetime.now(UTC))
    except UsageError as err:
        raise UsageError(err.message.replace("--since", option, 1), hint=err.hint) from None


def progress_printer(out: Output, tenant: str, *, steps: bool = True) -> Callable[[AuditProgress], None]:
    """An audit progress callback that says on stderr, once, that the pull waits for the tenant another
    entrabr process holds for writing (which tenant, who holds it, that ctrl+c stops waiting; every such
    wait lasts a poll of the lock at least), and with ``steps`` the long waits for the request budget and
    the end of the pull. ``--quiet`` silences it."""
    said_held = False

    def show(event: AuditProgress) -> None:
        nonlocal said_held
        if event.tenant_held:
            if not said_held:
                said_held = True
                out.info(f"{event.told(tenant)} Press ctrl+c to stop waiting.")
            return
        if steps and event.announced:
            out.info(event.told(tenant))

    return show


async def joined_report(session: Session, snapshot: str, report: str | None, out: Output, *,
                        pull: bool = True) -> ReportInfo:
    """The report the options name (run first when none is cached, online), with the audit log of its
    window read (online, unless not ``pull``) and joined."""
    from entrabr_tui.cli.restore_commands import source_report

    info = await source_report(session, snapshot, report, out)
    if not session.offline and pull:
        await session.pull_audit(info.id, progress_printer(out, session.tenant))
    try:
        session.audit.join_info(info.id)
    except AuditNotReadyError as exc:
        raise missing(session, exc.message, "Run it once online: the audit log is read then.") from None
    return info


def actor_json(actor: ActorSummary) -> dict[str, Any]:
    return {"key": actor.key, "kind": actor.kind, "label": actor.label, "name": actor.name,
            "displayName": actor.display_name, "via": actor.via or None, "appId": actor.app_id or None,
            "servicePrincipalId": actor.service_principal_id or None}


def tag_json(note: TriageNote | None) -> dict[str, Any] | None:
    if note is None:
        return None
    return {"tag": note.tag.value, "note": note.note, "updated": dt_text(note.updated)}


def group_from(session: Session, info: ReportInfo, args: ChangesArgs | RestoreArgs) -> ChangeGroup | None:
    """The group the audit options select (``None`` when none is given)."""
    actor, operation, cluster = args.actor, args.operation, args.cluster
    since = parse_time(args.since, "--since")
    until = parse_time(args.until, "--until")
    if not (actor or operation or cluster or since or until):
        return None
    key = session.audit.find_actor(info.id, actor).key if actor else None
    return ChangeGroup(actor=key, operation=operation.strip().lower() if operation else None,
                       cluster=cluster.strip().lower() if cluster else None, since=since, until=until)


# -- entrabr audit ---------------------------------------------------------------------------------------

async def audit(session: Session, args: AuditArgs, out: Output) -> int:
    """Who changed what in a report: its actors ranked by changes, each with its operations."""
    info = await joined_report(session, args.snapshot, args.report, out, pull=not args.no_pull)
    since, until = parse_time(args.since, "--since"), parse_time(args.until, "--until")
    window = ChangeGroup(since=since, until=until)
    actors = session.audit_actors(info.id)
    if args.actor:
        chosen = session.audit.find_actor(info.id, args.actor)
        actors = [a for a in actors if a.key == chosen.key]
    if since is not None or until is not None:
        sizes = dict(session.group_counts(info.id, "actor", window))
        actors = [a for a in actors if sizes.get(a.key)]
    else:
        sizes = {a.key: a.changes for a in actors}
    limit = args.operations or None
    document = {
        "schema": "entrabr.audit/1", "tenant": session.tenant, "reportId": info.id,
        "snapshotId": info.snapshot_id, "since": dt_text(since), "until": dt_text(until),
        "audit": _status_json(session), "join": _join_json(session, info),
        "blindSpots": session.blind_spot_count(info.id),
        "actors": [_actor_entry(session, info, a, sizes.get(a.key, 0), window, limit) for a in actors],
    }
    if args.out or args.format != "json":
        return _export(session, args, out, document, info)
    if out.json_mode:
        out.json(document)
        return 0
    _print_audit(out, document)
    return 0


def _status_json(session: Session) -> dict[str, Any]:
    status = session.audit_status()
    return {"available": status.available, "message": status.message,
            "coveredFrom": dt_text(status.covered_from), "coveredUntil": dt_text(status.covered_until),
            "records": status.records, "lastPull": dt_text(status.last_pull)}


def _join_json(session: Session, info: ReportInfo) -> dict[str, Any]:
    joined = session.audit.join_info(info.id)
    return {"changes": joined.changes, "explained": joined.explained, "partly": joined.partly,
            "sync": joined.sync, "unexplained": joined.unexplained, "since": dt_text(joined.since)}


def _actor_entry(session: Session, info: ReportInfo, actor: ActorSummary, changes: int, window: ChangeGroup,
                 limit: int | None) -> dict[str, Any]:
    ops = session.audit_operations(info.id, actor.key, None, 100_000)
    if window.since is not None or window.until is not None:
        sizes = dict(session.group_counts(info.id, "operation", ChangeGroup(
            actor=actor.key, since=window.since, until=window.until)))
        ops = [o for o in ops if sizes.get(o.correlation_id)]
    else:
        sizes = {o.correlation_id: o.changes for o in ops}
    return {**actor_json(actor), "changes": changes, "first": dt_text(actor.first),
            "last": dt_text(actor.last), "operationCount": len(ops),
            "operations": [{"correlationId": o.correlation_id or None,
                            "changes": sizes.get(o.correlation_id, 0),
                            "first": dt_text(o.first), "last": dt_text(o.last),
                            "activities": dict(o.activities), "tag": tag_json(o.tag)}
                           for o in ops[:limit]]}


def _activities_text(activities: dict[str, int]) -> str:
    return ", ".join(f"{name} x{n}" for name, n in list(activities.items())[:4]) + (
        " …" if len(activities) > 4 else "")


def _print_audit(out: Output, doc: dict[str, Any]) -> None:
    join = doc["join"]
    out.line(f"Report {doc['reportId']}: {join['changes']:,} changes; {join['explained']:,} explained, "
             f"{join['partly']:,} partly, {join['sync']:,} by directory sync, {join['unexplained']:,} "
             f"unexplained. {doc['blindSpots']:,} blind spot(s): see 'entrabr blindspots'.")
    out.line()
    out.table(("ACTOR", "KIND", "KEY", "CHANGES", "OPERATIONS", "FIRST (UTC)", "LAST (UTC)"),
              [(a["label"], a["kind"], a["key"] or "-", a["changes"], a["operationCount"],
                _short(a["first"]), _short(a["last"])) for a in doc["actors"]], right=(3, 4))
    for actor in doc["actors"]:
        if not actor["operations"]:
            continue
        out.line()
        out.line(f"{actor['label']}: operations")
        out.table(("  OPERATION", "CHANGES", "FIRST (UTC)", "LAST (UTC)", "ACTIVITIES", "TAG"),
                  [("  " + (o["correlationId"] or "-"), o["changes"], _short(o["first"]), _short(o["last"]),
                    _activities_text(o["activities"]), o["tag"]["tag"] if o["tag"] else "-")
                   for o in actor["operations"]], right=(1,))


def _short(text: str | None) -> str:
    return "-" if text is None else text.replace("T", " ")[:16] + "Z"


def _export(session: Session, args: AuditArgs, out: Output, doc: dict[str, Any],
            info: ReportInfo) -> int:
    fmt = args.format
    rows = [(a["label"], a["kind"], a["key"], a["changes"], o["correlationId"] or "", o["changes"],
             o["first"] or "", o["last"] or "", _activities_text(o["activities"]))
            for a in doc["actors"] for o in (a["operations"] or [{"correlationId": None, "changes": 0,
                                                                  "first": None, "last": None,
                                                                  "activities": {}}])]
    header = ("actor", "kind", "actorKey", "actorChanges", "operation", "operationChanges", "first", "last",
              "activities")

    def write(stream: TextIO) -> int:
        if fmt == "json":
            stream.write(json_text(doc, indent=True) + "\n")
        elif fmt == "csv":
            writer = csv.writer(stream, lineterminator="\r\n")
            writer.writerow(header)
            writer.writerows([csv_cell(str(c)) for c in row] for row in rows)
        else:
            stream.write(f"# Who changed it: report {md_cell(doc['reportId'])}\n\n")
            stream.write("| " + " | ".join(header) + " |\n|" + "---|" * len(header) + "\n")
            for row in rows:
                stream.write("| " + " | ".join(md_cell(c) for c in row) + " |\n")
        return len(rows)

    if not args.out or args.out == "-":
        count = write(out.stdout)
        session.log_export("audit", "stdout", count=count, fmt=fmt, report=info)
        return 0
    path = Path(args.out).expanduser()
    try:
        count = write_text_file(path, write, replace=args.force)
    except ExportTargetError as exc:  # refused before anything was written
        raise UsageError(str(exc), hint="Give the name of a new file (or of an earlier one, with --force).") \
            from None
    session.log_export("audit", str(path), count=count, fmt=fmt, report=info)
    if out.json_mode:
        out.json({"schema": "entrabr.exported/1", "what": "audit", "format": fmt, "path": str(path.resolve()),
                  "records": count})
    else:
        out.info(f"Wrote {count:,} actor operations to {path}.")
    return 0


# -- entrabr blindspots ----------------------------------------------------------------------------------

def blind_spot_json(spot: BlindSpot) -> dict[str, Any]:
    return {"kind": spot.kind.value, "heading": spot.heading, "objectId": spot.object_id,
            "objectType": spot.object_type, "displayName": spot.display_name, "events": spot.events,
            "first": dt_text(spot.first), "last": dt_text(spot.last), "activity": spot.activity,
            "actor": None if spot.actor is None else {"key": spot.actor.key, "kind": spot.actor.kind,
                                                      "label": spot.actor.label},
            "correlationId": spot.correlation_id, "recordId": spot.record_id, "advice": spot.advice}


async def blindspots(session: Session, args: BlindspotsArgs, out: Output) -> int:
    """What the report cannot show or a restore will not fix, with what to do instead; the purge clock."""
    info = await joined_report(session, args.snapshot, args.report, out, pull=not args.no_pull)
    kinds = [BlindSpotKind(k) for k in args.kinds] if args.kinds else None
    spots = session.audit.blind_spots(info.id, kinds)
    clock = session.purge_clock(info.id)
    if out.json_mode:
        out.json({"schema": "entrabr.blindspots/1", "tenant": session.tenant, "reportId": info.id,
                  "snapshotId": info.snapshot_id, "since": dt_text(session.audit.join_info(info.id).since),
                  "count": len(spots), "blindSpots": [blind_spot_json(s) for s in spots],
                  "purgeClock": [{"objectId": e.object_id, "entityType": e.entity_type,
                                  "displayName": e.display_name, "deletedDateTime": dt_text(e.deleted),
                                  "purgeDateTime": dt_text(e.purge_at),
                                  "remainingSeconds": int(e.remaining.total_seconds())} for e in clock]})
        return 0
    if not spots:
        out.info("Nothing in the audit log since the backup that this report cannot show.")
    else:
        out.table(("KIND", "OBJECT", "TYPE", "NAME", "EVENTS", "LAST (UTC)", "BY"),
                  [(s.heading, s.object_id, s.object_type, s.display_name, s.events, short_time(s.last),
                    s.actor.label if s.actor else "-") for s in spots], right=(4,))
        out.line()
        for kind in dict.fromkeys(s.kind for s in spots):
            out.line(f"{kind.heading}: {kind.advice}")
    if clock:
        out.line()
        out.table(("PURGED FOR GOOD (UTC)", "IN", "TYPE", "ID", "NAME"),
                  [(short_time(e.purge_at),
                    "purged" if e.purged else format_duration(e.remaining.total_seconds()),
                    e.entity_type, e.object_id, e.display_name) for e in clock])
    return 0


# -- the audit options of changes and restore --------------------------------------------------------------

def audit_fields(session: Session, info: ReportInfo, rows: list[ChangeRow]) -> dict[int, dict[str, Any]]:
    """``actor``, ``operation``, ``cluster``, ``verdict`` and ``at`` of each row, by its position in the
    report (empty when the cache holds no join of the report and cannot make one)."""
    found = session.audit.who(info.id, [r.position for r in rows])
    return {position: {
        "actor": None if who.actor is None else {"key": who.actor.key, "kind": who.actor.kind,
                                                 "label": who.actor.label},
        "operation": who.operation, "cluster": who.cluster_id, "verdict": who.verdict, "reason": who.reason,
        "at": dt_text(who.at)} for position, who in found.items()}


def group_rows(session: Session, info: ReportInfo, group: ChangeGroup, args: ChangesArgs
               ) -> tuple[list[ChangeRow], int, bool]:
    """The rows of ``changes`` with audit options: the group, narrowed by type, action and text."""
    types: list[str | None] = [*dict.fromkeys(args.types)] or [None]
    actions: list[str | None] = [*dict.fromkeys(args.actions)] or [None]
    limit = args.limit or None
    rows: list[ChangeRow] = []
    total = 0
    for entity_type in types:
        for action in actions:
            narrowed = ChangeGroup(group.actor, group.operation, group.cluster, group.since, group.until,
                                   entity_type, action, args.filter)
            total += session.group_count(info.id, narrowed)
            after = None
            while limit is None or len(rows) < limit:
                page = session.group_page(info.id, narrowed, after, 1000)
                rows.extend(page)
                if len(page) < 1000:
                    break
                after = (page[-1].display_name, page[-1].object_id, page[-1].position)
    more = limit is not None and (len(rows) > limit or total > limit)
    return rows[:limit] if limit is not None else rows, total, more


def plan_for_group(session: Session, info: ReportInfo, group: ChangeGroup) -> SessionPlan:
    """A restore plan of every change of a group (kept changes excluded), scoped by ID."""
    from entrabr_tui.engine.plans import build_plan

    ids = session.audit.group_object_ids(info.id, group)
    kept, kept_count = session.audit.kept(info.id)
    return build_plan(info, session.changes(info.report_id, ids), None, allow_whole_type=False, kept=kept,
                      kept_by_tags=kept_count)


def check_audit_options(args: RestoreArgs) -> None:
    """``--since``/``--until`` of ``restore`` narrow an audit selection (``--actor`` …), never stand alone."""
    if (args.since or args.until) and not (args.actor or args.operation or args.cluster):
        raise UsageError("--since and --until narrow --actor, --operation or --cluster; give one of those.")
