"""Helpers the commands share: choosing the backup and the report, JSON shapes of cached records."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from entrabr_tui.cli.exits import CliError, ExitCode, UsageError
from entrabr_tui.cli.output import Output
from entrabr_tui.cli.progress import ProgressPrinter
from entrabr_tui.core.backup_choice import BackupNotChosen, Unmatched, choose_backup
from entrabr_tui.core.model import ResourceType
from entrabr_tui.core.text import format_duration
from entrabr_tui.engine.export_records import dt_text, scope_json, scope_text

if TYPE_CHECKING:
    from entrabr_tui.engine.reports import ReportInfo
    from entrabr_tui.engine.session import Session, SnapshotEntry
    from entrabr_tui.store import ChangeRow, NodeCount

KNOWN_TYPES = tuple(t.value for t in ResourceType if t is not ResourceType.UNKNOWN_FUTURE_VALUE)


def missing(session: Session, message: str, hint: str | None = None) -> CliError:
    """"Not there" is exit code 9 for an offline session (the cache lacks it), else 8 (not found)."""
    code = ExitCode.OFFLINE if session.offline else ExitCode.NOT_FOUND
    return CliError(message, code, hint=hint)


def check_types(types: Sequence[str]) -> list[str]:
    """Object type names, checked against the known ones (case-insensitive, the service's spelling kept)."""
    by_lower = {t.lower(): t for t in KNOWN_TYPES}
    out: list[str] = []
    for name in types:
        known = by_lower.get(name.strip().lower())
        if known is None:
            raise UsageError(f"Unknown object type {name!r}.", hint="Known types: " + ", ".join(KNOWN_TYPES))
        if known not in out:
            out.append(known)
    return out


async def pick_snapshot(session: Session, spec: str | None) -> SnapshotEntry:
    """The backup named by ``spec``: ``latest`` (default), an ID, or a date ``YYYY-MM-DD`` (UTC); see
    :func:`~entrabr_tui.core.backup_choice.choose_backup`."""
    entries = await session.snapshots(refresh=not session.offline)
    try:
        return choose_backup(entries, spec, offline=session.offline)
    except BackupNotChosen as error:
        hint: str | None = None
        if error.reason is Unmatched.NONE_KNOWN and session.offline:
            hint = "Run once without --offline first."
        elif error.reason is Unmatched.NO_MATCH:
            listed = ", ".join(f"{s.created:%Y-%m-%d} ({s.id})" for s in error.known[:8])
            hint = f"Known backups: {listed}; or use 'latest'."
        raise missing(session, error.message, hint) from None


def pick_report(session: Session, entry: SnapshotEntry | None, report_ref: str | None,
                out: Output) -> ReportInfo:
    """The cached report to read: ``--report``, else the backup's best (complete and unscoped first)."""
    if report_ref:
        info = session.report(report_ref)
        if info is None:
            raise missing(session, f"No difference report {report_ref!r} is in the cache.",
                          f"See '{out.command('snapshots')}' for the cached reports.")
    else:
        info = entry.report if entry is not None else None
        if info is None:
            when = f" of the backup of {entry.snapshot.created:%Y-%m-%d}" if entry is not None else ""
            online = " (online)" if session.offline else ""
            raise missing(session, f"No difference report{when} is in the cache.",
                          f"Run '{out.command('report', online=True)}'{online} first.")
    if not info.complete:
        out.warn(f"Report {info.id} is {info.state_text or 'incomplete'}; "
                 f"'{out.command('report', online=True)}' downloads it again.")
    return info


#: A job ID prefix shorter than this is never expanded (it would name too many jobs to be meant).
MIN_JOB_PREFIX = 4


async def full_job_id(session: Session, text: str) -> str:
    """The job ID ``text`` names: the ID of the one known job (listed or cached) it is the start of, ignoring
    case (``entrabr jobs`` shows such prefixes at narrow widths); ``text`` itself when it names no job (the
    command then says it is not there). A prefix of several jobs is a :class:`UsageError` naming them."""
    typed = text.strip()
    wanted = typed.casefold()
    known = {r.job.id for r in await session.job_records(refresh=False)} | {r.id for r in session.reports()}
    if any(job_id.casefold() == wanted for job_id in known) or len(wanted) < MIN_JOB_PREFIX:
        return next((job_id for job_id in known if job_id.casefold() == wanted), typed)
    matches = sorted(job_id for job_id in known if job_id.casefold().startswith(wanted))
    if len(matches) > 1:
        shown = ", ".join(matches[:5]) + (f" and {len(matches) - 5} more" if len(matches) > 5 else "")
        raise UsageError(f"The job ID {typed!r} is ambiguous: {len(matches)} jobs start with it ({shown}).",
                         hint="Give more of the ID.")
    return matches[0] if matches else typed


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


async def cached_report_sync(session: Session, info: ReportInfo, out: Output) -> None:
    """What the terminal app does when it opens a cached report online: look up the users and groups whose
    sync status is unknown and was never asked about (once per report: the answers are kept in the cache, so
    the next command asks nothing). Offline, say how many stay unknown."""
    if not session.offline:
        await check_sync(session, out, info.id)
        return
    unchecked = session.sync_unchecked(info.id)
    if unchecked:
        out.warn(f"Offline: the sync status of {unchecked:,} users and groups of report {info.id} is unknown "
                 "(never looked up), so their changes answer recoverable 'unknown'; an online run looks it "
                 "up.")


def report_json(info: ReportInfo) -> dict[str, Any]:
    return {"id": info.id, "snapshotId": info.snapshot_id, "status": info.status.value,
            "scope": scope_json(info.scope), "downloaded": info.downloaded, "total": info.total,
            "complete": info.complete, "state": info.state_text, "unreadable": info.unreadable,
            "archived": info.archived, "reused": info.reused}


def report_detail(info: ReportInfo) -> str:
    """``all, 21 changes`` (``, incomplete``, ``, archived``): a cached report's scope, size and state."""
    size = f"{info.downloaded:,}"
    if not info.complete and info.total is not None:
        size += f"/{info.total:,}"
    flags = "" if info.complete else ", incomplete"
    flags += ", archived" if info.archived else ""
    return f"{scope_text(info.scope)}, {size} changes{flags}"


def counts_json(counts: Sequence[NodeCount]) -> dict[str, Any]:
    """``counts`` rows plus totals by type and by action (what ``report --json`` prints)."""
    by_type: dict[str, int] = {}
    by_action: dict[str, int] = {}
    for c in counts:
        by_type[c.entity_type_raw] = by_type.get(c.entity_type_raw, 0) + c.count
        by_action[c.action_raw] = by_action.get(c.action_raw, 0) + c.count
    return {
        "counts": [{"entityType": c.entity_type_raw, "action": c.action_raw, "count": c.count}
                   for c in counts],
        "byType": by_type,
        "byAction": by_action,
        "totalChanges": sum(by_type.values()),
    }


def change_row_json(row: ChangeRow) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": row.object_id, "entityType": row.entity_type_raw, "action": row.action_raw,
        "displayName": row.display_name, "principalName": row.principal_name,
        "onPremisesSynced": row.sync.flag, "syncStatus": row.sync.value, "recoverable": row.recoverable,
        "marked": row.marked, "position": row.position,
    }
    if row.failure_message is not None:
        data["failureMessage"] = row.failure_message
    if row.unreadable is not None:
        data["unreadable"] = row.unreadable
    return data


def age_text(when: datetime, now: datetime) -> str:
    """``3d 04h`` / ``5h 12m`` / ``12m 05s`` between ``when`` and ``now`` (negative ages read ``in …``)."""
    seconds = (now - when).total_seconds()
    return ("in " if seconds < 0 else "") + format_duration(abs(seconds))


def short_time(value: datetime | None) -> str:
    """``2026-07-27 22:00Z``."""
    return "-" if value is None else value.strftime("%Y-%m-%d %H:%MZ")


__all__ = ["KNOWN_TYPES", "MIN_JOB_PREFIX", "age_text", "cached_report_sync", "change_row_json",
           "check_sync", "check_types", "counts_json",
           "dt_text", "full_job_id", "missing", "pick_report", "pick_snapshot", "report_detail",
           "report_json", "short_time"]
