"""``entrabr export``: a report, a restore plan or job results as JSON, CSV or Markdown, to a file or stdout.

A file is written next to its final name and renamed into place when complete (an interrupted export never
leaves half a file under the real name), with mode 0600: exports hold tenant data. An existing file is only
replaced with ``--force``. On a terminal, CSV output has control characters made visible like every other
text output (JSON and Markdown are escaped by their writers).
"""

from __future__ import annotations

import argparse
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from entrabr_tui.cli.common import pick_report, pick_snapshot
from entrabr_tui.cli.exits import CliError, ExitCode, UsageError
from entrabr_tui.cli.output import Output, is_tty
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
from entrabr_tui.engine.export_records import visible

if TYPE_CHECKING:
    from entrabr_tui.engine.reports import ReportInfo
    from entrabr_tui.engine.session import Session

_CONTROL_EXCEPT_NEWLINES = re.compile(r"[^\r\n]+")


class _TerminalSafe:
    """A write-only text stream that makes control characters visible (line breaks kept)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        self.stream.write(_CONTROL_EXCEPT_NEWLINES.sub(lambda m: visible(m.group()), text))
        return len(text)


async def _report_data(session: Session, args: argparse.Namespace, out: Output) -> tuple[Export, ReportInfo]:
    entry = None if args.report else await pick_snapshot(session, args.snapshot)
    info = pick_report(session, entry, args.report, out)
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


def _open_target(path: Path, force: bool) -> tuple[Path, TextIO]:
    if path.exists() and not force:
        raise UsageError(f"{path} exists; pass --force to replace it.")
    if path.is_dir():
        raise UsageError(f"{path} is a folder; give a file name.")
    temporary = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise CliError(f"Cannot write {path}: {reason}.", ExitCode.ERROR) from None
    return temporary, open(fd, "w", encoding="utf-8", newline="")


async def export(session: Session, args: argparse.Namespace, out: Output) -> int:
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
    if not args.out or args.out == "-":
        stream: TextIO = out.stdout
        if is_tty(out.stdout) and fmt is ExportFormat.CSV:
            stream = _TerminalSafe(out.stdout)  # type: ignore[assignment]
        count = write_export(stream, data, fmt)
        out.stdout.flush()
        session.log_export(what.value, "stdout", count=count, fmt=fmt.value, report=info)
        return 0
    path = Path(args.out).expanduser()
    temporary, handle = _open_target(path, args.force)
    try:
        with handle:
            count = write_export(handle, data, fmt)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    session.log_export(what.value, str(path), count=count, fmt=fmt.value, report=info)
    if out.json_mode:
        out.json({"schema": "entrabr.exported/1", "what": what.value, "format": fmt.value,
                  "path": str(path.resolve()), "records": count})
    else:
        out.info(f"Wrote {count:,} {_noun(what, count)} to {path}.")
    return 0


def _noun(what: ExportKind, count: int) -> str:
    noun = {"report": "change", "plan": "object", "jobs": "job"}[what.value]
    return noun if count == 1 else noun + "s"
