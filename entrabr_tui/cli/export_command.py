"""``entrabr export``: a report, a restore plan or job results as JSON, CSV or Markdown, to a file or stdout.

Without ``--out`` the export goes to a new file in ``exports/`` of the data folder (never silently into the
current directory), and the command says where; ``--out -`` writes to stdout. Files are written by
:mod:`entrabr_tui.engine.export_files` (private, complete or not at all, never over anything but a regular
file, and over one only with ``--force``). Every format is safe to print on a terminal: its writer escapes
control characters (see :mod:`entrabr_tui.engine.export`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from entrabr_tui.cli.args import ExportArgs
from entrabr_tui.cli.common import cached_report_sync, pick_report, pick_snapshot
from entrabr_tui.cli.exits import UsageError
from entrabr_tui.cli.output import Output
from entrabr_tui.cli.restore_commands import build_session_plan, plan_export
from entrabr_tui.engine.export import (
    Export,
    ExportFormat,
    ExportKind,
    JobResult,
    JobsExport,
    ReportExport,
    TypeActionTotal,
    write_export,
)
from entrabr_tui.engine.export_files import ExportTargetError, default_export_path, write_export_file

if TYPE_CHECKING:
    from entrabr_tui.engine.reports import ReportInfo
    from entrabr_tui.engine.session import Session

_TARGET_HINT = "Give the name of a new file (or of an earlier export, with --force)."


async def _report_data(session: Session, args: ExportArgs, out: Output) -> tuple[Export, ReportInfo]:
    entry = None if args.report else await pick_snapshot(session, args.snapshot)
    info = pick_report(session, entry, args.report, out)
    await cached_report_sync(session, info, out)  # before the recoverable answers are read
    counts = [TypeActionTotal(c.entity_type_raw, c.action_raw, c.count) for c in session.counts(info.id)]
    created = entry.snapshot.created if entry is not None else None
    data = ReportExport(tenant=session.tenant, report_id=info.id, snapshot_id=info.snapshot_id or "",
                        generated=datetime.now(UTC), counts=counts,
                        changes=session.iter_changes(info.report_id), status=info.status.value,
                        snapshot_created=created, scope=info.scope, total=info.total)
    return data, info


async def _jobs_data(session: Session) -> Export:
    from entrabr_tui.core.model import JobKind

    records = await session.job_records(refresh=not session.offline)
    results = [JobResult(r.job, session.failed_changes(r.job.id) if r.job.kind is JobKind.RECOVERY else ())
               for r in records]
    return JobsExport(tenant=session.tenant, generated=datetime.now(UTC), results=results)


async def export(session: Session, args: ExportArgs, out: Output) -> int:
    """Write the export the options describe."""
    fmt = ExportFormat(args.format)
    what = ExportKind(args.what)
    info: ReportInfo | None = None
    if what is ExportKind.REPORT:
        data, info = await _report_data(session, args, out)
    elif what is ExportKind.PLAN:
        plan = await build_session_plan(session, args, out)
        info = plan.report
        data = plan_export(session, plan)
    else:
        data = await _jobs_data(session)
    if args.out == "-":
        count = write_export(out.stdout, data, fmt)  # every format is safe on a terminal
        out.stdout.flush()
        session.log_export(what.value, "stdout", count=count, fmt=fmt.value, report=info)
        return 0
    try:
        path = Path(args.out).expanduser() if args.out else default_export_path(data, fmt)
        count = write_export_file(path, data, fmt, replace=args.force)
    except ExportTargetError as exc:  # refused before anything was written
        raise UsageError(str(exc), hint=_TARGET_HINT) from None
    except Exception as exc:
        session.log_export(what.value, str(path), count=0, fmt=fmt.value, report=info,
                           outcome=f"error: {type(exc).__name__}: {exc}"[:300])
        raise
    session.log_export(what.value, str(path), count=count, fmt=fmt.value, report=info)
    if out.json_mode:
        out.json({"schema": "entrabr.exported/1", "what": what.value, "format": fmt.value,
                  "path": str(path.resolve()), "records": count})
    else:
        out.say(f"Wrote {count:,} {_noun(what, count)} to {path}.")  # even with --quiet: where it went
    return 0


def _noun(what: ExportKind, count: int) -> str:
    noun = {"report": "change", "plan": "object", "jobs": "job"}[what.value]
    return noun if count == 1 else noun + "s"
