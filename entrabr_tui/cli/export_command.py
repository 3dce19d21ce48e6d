"""``entrabr export``: a report, a restore plan or job results as JSON, CSV or Markdown, to a file or stdout.

Without ``--out`` the export goes to a new file in ``exports/`` of the data folder (never silently into the
current directory), and the command says where; ``--out -`` writes to stdout. A file is written to a
temporary file in the same folder, synced to disk and renamed into place only when complete (an interrupted
or failed export never leaves half a file under the real name, and is never reported as written), with mode
0600: exports hold tenant data. An existing file is only replaced with ``--force``, and only when it is a
regular file: a symbolic link, a folder, a device or a FIFO is never replaced. Every format is safe to print
on a terminal: its writer escapes control characters (see :mod:`entrabr_tui.engine.export`).
"""

from __future__ import annotations

import argparse
import os
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from entrabr_tui.cli.common import pick_report, pick_snapshot
from entrabr_tui.cli.exits import CliError, ExitCode, UsageError
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
    suggested_filename,
    write_export,
)

if TYPE_CHECKING:
    from entrabr_tui.engine.reports import ReportInfo
    from entrabr_tui.engine.session import Session

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


_KINDS = ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"),
          (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"))


def _check_target(path: Path, force: bool) -> None:
    """Refuse to write over anything but a regular file, and over a regular file without ``--force``."""
    try:
        mode = os.lstat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return
    for test, kind in _KINDS:
        if test(mode):
            raise UsageError(f"{path} is {kind}; an export only ever replaces a regular file.",
                             hint="Give the name of a new file (or of an earlier export, with --force).")
    if not force:
        raise UsageError(f"{path} exists; pass --force to replace it.")


def _open_temporary(path: Path) -> tuple[Path, TextIO]:
    """A new private file beside ``path`` (never an existing one, never through a link)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    for attempt in range(100):
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{attempt}.partial")
        try:
            fd = os.open(temporary, flags, 0o600)
        except FileExistsError:
            continue
        except (FileNotFoundError, NotADirectoryError):
            raise UsageError(f"Cannot write {path}: there is no folder {path.parent}.") from None
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o600)
        return temporary, open(fd, "w", encoding="utf-8", newline="")
    raise CliError(f"Cannot create a temporary file beside {path}.", ExitCode.ERROR)


def default_path(data: Export, fmt: ExportFormat) -> Path:
    """Where an export goes when no ``--out`` is given: a new file in the data folder's ``exports/``."""
    from entrabr_tui.store.paths import StorePaths, secure_dir

    folder = secure_dir(StorePaths.default().data_dir / "exports")
    name = Path(suggested_filename(data, fmt))
    for attempt in range(1, 100):
        path = folder / (name.name if attempt == 1 else f"{name.stem}-{attempt}{name.suffix}")
        if not os.path.lexists(path):
            return path
    raise CliError(f"No free file name for {name} in {folder}.", ExitCode.ERROR)


def write_file(path: Path, data: Export, fmt: ExportFormat, force: bool) -> int:
    """Write the export to ``path`` (see the module documentation); returns the record count."""
    _check_target(path, force)
    temporary, handle = _open_temporary(path)
    try:
        with handle:
            count = write_export(handle, data, fmt)
            handle.flush()
            os.fsync(handle.fileno())
        _check_target(path, force)  # nothing slipped in meanwhile
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return count


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
    if args.out == "-":
        count = write_export(out.stdout, data, fmt)  # every format is safe on a terminal
        out.stdout.flush()
        session.log_export(what.value, "stdout", count=count, fmt=fmt.value, report=info)
        return 0
    path = Path(args.out).expanduser() if args.out else default_path(data, fmt)
    try:
        count = write_file(path, data, fmt, args.force)
    except UsageError:
        raise  # refused before anything was written
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
