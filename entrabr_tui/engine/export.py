"""Evidence exports: a difference report, a restore plan and job results as JSON, CSV or Markdown.

Pure functions over data: the caller gathers the records (from the cache or the service) and passes a text
stream to write to; nothing here opens files or talks to the network. Changes are consumed from an iterable
one at a time, so a report of 500,000 changes is written without being held in memory twice.

Formats:

A report export holds, for every change, each changed property's value in the backup and its current value
(lists and objects as one-line JSON), not only the property names: evidence a ticket can use.

* **JSON** is lossless (``properties`` with ``backup`` / ``current`` values, and the raw
  ``deltaFromCurrent`` / ``currentState``). Control, C1 and bidi-override characters are written as
  ``\\uXXXX`` escapes, so the file is safe to ``cat`` and decodes to the exact text.
* **CSV** (RFC 4180, header row) is for spreadsheets, one row per changed property (a change without any
  has one row): a cell of tenant text that starts with ``=``, ``+``, ``-``, ``@``, tab or carriage return is
  prefixed with ``'`` so it cannot run as a formula, and controls (ESC, OSC, C0/C1, NUL, bidi overrides)
  follow the display rule (``␛``, ``␀``, ``<U+202E>``) so the file cannot drive a terminal.
* **Markdown** tables for incident tickets: every Markdown character (``[ ] ( ) < > | ` * _ # ~ ! &``) is
  escaped, so tenant text is never a link or markup; line breaks become spaces and controls follow the
  display rule; values longer than 300 characters are cut with ``…``.

Every document names its schema (``entrabr.report/1``, ``entrabr.plan/1``, ``entrabr.jobs/1``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TextIO

from entrabr_tui.core.model import (
    Change,
    EntityNameAndIdsFilter,
    EntityNamesFilter,
    FilteringCriteria,
    Job,
    JobKind,
)
from entrabr_tui.core.planner import RestorePlan, plan_to_json, summary_lines
from entrabr_tui.core.recoverability import SYNC_UNKNOWN_REASON
from entrabr_tui.engine.export_records import (
    answer_text,
    change_json,
    change_summary_json,
    csv_cell,
    dt_text,
    is_recoverable,
    job_duration,
    job_json,
    json_text,
    md_cell,
    plan_hash,
    property_values,
    scope_json,
    scope_text,
    value_text,
)

REPORT_SCHEMA = "entrabr.report/1"
PLAN_SCHEMA = "entrabr.plan/1"
JOBS_SCHEMA = "entrabr.jobs/1"


class ExportFormat(StrEnum):
    """Output formats (values are the command-line spellings)."""

    JSON = "json"
    CSV = "csv"
    MARKDOWN = "md"

    @property
    def extension(self) -> str:
        return self.value


class ExportKind(StrEnum):
    """What is exported (values are the command-line spellings)."""

    REPORT = "report"
    PLAN = "plan"
    JOBS = "jobs"


@dataclass(frozen=True, slots=True)
class TypeActionTotal:
    """Number of changes of one type and action in a report."""

    entity_type: str
    action: str
    count: int


@dataclass(frozen=True)
class ReportExport:
    """A difference report to export: its identity, its counts and (streamed) its changes."""

    tenant: str
    report_id: str
    snapshot_id: str
    generated: datetime
    counts: Sequence[TypeActionTotal]
    changes: Iterable[Change] = ()
    status: str = "successful"
    snapshot_created: datetime | None = None
    scope: FilteringCriteria | None = None
    total: int | None = None


@dataclass(frozen=True)
class PlanExport:
    """A restore plan to export, with the backup and report it was made from."""

    tenant: str
    plan: RestorePlan
    generated: datetime
    snapshot_id: str | None = None
    report_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    """More members of the JSON document (the options compared, missing dependencies …)."""


@dataclass(frozen=True)
class JobResult:
    """A job and, for a restore, the changes it failed to apply (``failure_message`` set)."""

    job: Job
    failed: Sequence[Change] = ()


@dataclass(frozen=True)
class JobsExport:
    """Job results to export (both kinds)."""

    tenant: str
    generated: datetime
    results: Sequence[JobResult] = field(default_factory=tuple)


Export = ReportExport | PlanExport | JobsExport

# -------------------------------------------------------------------------------------------- writers
def _md_table(out: TextIO, header: Sequence[str], rows: Iterable[Sequence[object]],
              numeric: Sequence[int] = ()) -> int:
    out.write("| " + " | ".join(md_cell(h) for h in header) + " |\n")
    out.write("|" + "|".join("---:" if i in numeric else "---" for i in range(len(header))) + "|\n")
    count = 0
    for row in rows:
        out.write("| " + " | ".join(md_cell(c) for c in row) + " |\n")
        count += 1
    return count


class _SafeCsvWriter:
    """A CSV writer whose every cell goes through :func:`csv_cell` (formulas and controls defused)."""

    def __init__(self, out: TextIO) -> None:
        self.writer = csv.writer(out, lineterminator="\r\n")

    def writerow(self, row: Iterable[object]) -> None:
        self.writer.writerow([csv_cell(cell) if isinstance(cell, str) else cell for cell in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)


def _csv_writer(out: TextIO) -> _SafeCsvWriter:
    return _SafeCsvWriter(out)


# ------------------------------------------------------------------------------------------------ report
REPORT_CSV_HEADER = ("entityType", "action", "id", "displayName", "principalName", "onPremisesSynced",
                     "recoverable", "property", "backupValue", "currentValue")
#: Longest value a Markdown cell shows (the JSON and CSV exports keep every value whole).
MD_VALUE_WIDTH = 300


def _report_head(data: ReportExport) -> dict[str, Any]:
    return {
        "id": data.report_id, "snapshotId": data.snapshot_id,
        "snapshotCreated": dt_text(data.snapshot_created), "status": data.status,
        "scope": scope_json(data.scope), "totalChanges": data.total,
    }


def _counts_json(counts: Sequence[TypeActionTotal]) -> list[dict[str, Any]]:
    return [{"entityType": c.entity_type, "action": c.action, "count": c.count} for c in counts]


def write_report(out: TextIO, data: ReportExport, fmt: ExportFormat) -> int:
    """Write a report; returns the number of changes written."""
    if fmt is ExportFormat.JSON:
        head = {"schema": REPORT_SCHEMA, "tenant": data.tenant, "generated": dt_text(data.generated),
                "report": _report_head(data), "counts": _counts_json(data.counts)}
        text = json_text(head)
        out.write(text[:-1] + ',"changes":[')
        count = 0
        for change in data.changes:
            out.write(("," if count else "") + "\n" + json_text(change_json(change)))
            count += 1
        out.write("\n]}\n")
        return count
    if fmt is ExportFormat.CSV:
        writer = _csv_writer(out)
        writer.writerow(REPORT_CSV_HEADER)
        count = 0
        for c in data.changes:
            about = [c.entity_type_raw, c.action_raw, c.id, c.display_name, c.principal_name or "",
                     answer_text(c.sync.flag, csv=True),
                     answer_text(is_recoverable(c), csv=True)]
            for values in _value_rows(c):
                writer.writerow([*about, *values])
            count += 1
        return count
    out.write(f"# Difference report {md_cell(data.report_id)}\n\n")
    for label, value in (("Tenant", data.tenant), ("Backup", data.snapshot_id),
                         ("Backup taken", dt_text(data.snapshot_created)), ("Status", data.status),
                         ("Scope", scope_text(data.scope)), ("Changes", data.total),
                         ("Generated", dt_text(data.generated))):
        if value is not None:
            out.write(f"- {label}: {md_cell(value)}\n")
    out.write("\n## Changes by type and action\n\n")
    _md_table(out, ("Type", "Action", "Count"),
              ((c.entity_type, c.action, c.count) for c in data.counts), numeric=(2,))
    out.write("\n## Changed objects\n\n")
    out.write("Each changed property with its value in the backup and its current value (a restore writes "
              "the backup value back).\n\n")
    header = ("Type", "Action", "ID", "Name", "UPN or mail", "Synced", "Recoverable", "Property", "Backup",
              "Current")
    out.write("| " + " | ".join(header) + " |\n|" + "|".join("---" for _ in header) + "|\n")
    count = 0
    for c in data.changes:
        about = [md_cell(v) for v in (c.entity_type_raw, c.action_raw, c.id, c.display_name,
                                      c.principal_name or "", answer_text(c.sync.flag),
                                      answer_text(is_recoverable(c)))]
        for n, (name, backup, current) in enumerate(_value_rows(c)):
            cells = [*(about if n == 0 else [""] * len(about)), md_cell(name),
                     md_cell(backup, MD_VALUE_WIDTH), md_cell(current, MD_VALUE_WIDTH)]
            out.write("| " + " | ".join(cells) + " |\n")
        count += 1
    return count


def _value_rows(change: Change) -> list[tuple[str, str, str]]:
    """(property, backup value, current value) per changed property; one empty row when there is none."""
    rows = [(item.name, value_text(item.backup), value_text(item.current))
            for item in property_values(change)]
    return rows or [("", "", "")]


# -------------------------------------------------------------------------------------------------- plan
PLAN_CSV_HEADER = ("entityType", "id", "outcome", "job", "wholeType", "reason", "detail")


def plan_rows(plan: RestorePlan) -> list[tuple[str, str, str, str, str, str, str]]:
    """One row per queued object: type, id, outcome, 1-based job number, whole type, exclusion reason (or
    ``syncUnknown`` for an included object whose sync status is unknown)."""
    job_of_type: dict[str, int] = {}
    job_of_id: dict[tuple[str, str], int] = {}
    for number, batch in enumerate(plan.batches, start=1):
        if isinstance(batch, EntityNamesFilter):
            for entity_type in batch.entity_types:
                job_of_type[entity_type] = number
        elif isinstance(batch, EntityNameAndIdsFilter):
            for entity_type, ids in batch.values:
                for object_id in ids:
                    job_of_id[(entity_type, object_id)] = number
    rows: list[tuple[str, str, str, str, str, str, str]] = []
    unknown = {(entity_type, i) for entity_type, ids in plan.sync_unknown for i in ids}
    for t in plan.types:
        whole = "true" if t.whole_type else "false"
        for outcome, ids in (("restore", t.restores), ("update", t.updates), ("other", t.others),
                             ("softDelete", t.soft_deletes)):
            for object_id in ids:
                job = job_of_id.get((t.entity_type, object_id), job_of_type.get(t.entity_type))
                known = (t.entity_type, object_id) not in unknown
                reason, detail = ("", "") if known else ("syncUnknown", SYNC_UNKNOWN_REASON)
                rows.append((t.entity_type, object_id, outcome, "" if job is None else str(job), whole,
                             reason, detail))
    for e in plan.exclusions:
        for object_id in e.ids:
            rows.append((e.entity_type, object_id, "excluded", "", "false", str(e.reason), e.detail))
    return rows


def write_plan(out: TextIO, data: PlanExport, fmt: ExportFormat) -> int:
    """Write a restore plan; returns the number of object rows (JSON: included plus excluded objects)."""
    rows = plan_rows(data.plan)
    if fmt is ExportFormat.JSON:
        doc = {"schema": PLAN_SCHEMA, "tenant": data.tenant, "generated": dt_text(data.generated),
               "snapshotId": data.snapshot_id, "reportId": data.report_id,
               "planHash": plan_hash(data.plan, data.snapshot_id), **plan_to_json(data.plan), **data.extra}
        out.write(json_text(doc, indent=True) + "\n")
        return len(rows)
    if fmt is ExportFormat.CSV:
        writer = _csv_writer(out)
        writer.writerow(PLAN_CSV_HEADER)
        writer.writerows(rows)
        return len(rows)
    out.write("# Restore plan\n\n")
    for label, value in (("Tenant", data.tenant), ("Backup", data.snapshot_id), ("Report", data.report_id),
                         ("Generated", dt_text(data.generated)),
                         ("Plan hash (SHA-256)", plan_hash(data.plan, data.snapshot_id))):
        if value is not None:
            out.write(f"- {label}: {md_cell(value)}\n")
    out.write("\n## Summary\n\n")
    for line in summary_lines(data.plan):
        out.write(f"- {md_cell(line.strip())}\n")
    out.write("\n## Objects\n\n")
    _md_table(out, ("Type", "ID", "Outcome", "Job", "Whole type", "Reason", "Detail"), rows)
    out.write("\n## Recovery jobs\n\n")
    _md_table(out, ("Job", "Scope"),
              ((n, scope_text(b)) for n, b in enumerate(data.plan.batches, start=1)), numeric=(0,))
    return len(rows)


# -------------------------------------------------------------------------------------------------- jobs
JOBS_CSV_HEADER = ("record", "jobKind", "jobId", "status", "snapshotId", "started", "completed",
                   "durationSeconds", "scope", "totalChangedObjects", "totalChangedLinks",
                   "totalObjectsModified", "totalLinksModified", "totalFailedChanges", "entityType",
                   "objectId", "displayName", "action", "failureMessage")


def _num(value: float | int | None) -> str:
    if value is None:
        return ""
    return f"{value:g}" if isinstance(value, float) else str(value)


def write_jobs(out: TextIO, data: JobsExport, fmt: ExportFormat) -> int:
    """Write job results; returns the number of jobs written."""
    if fmt is ExportFormat.JSON:
        jobs = []
        for result in data.results:
            item = job_json(result.job)
            item["failedChanges"] = [change_summary_json(c) for c in result.failed]
            jobs.append(item)
        doc = {"schema": JOBS_SCHEMA, "tenant": data.tenant, "generated": dt_text(data.generated),
               "jobs": jobs}
        out.write(json_text(doc, indent=True) + "\n")
        return len(jobs)
    if fmt is ExportFormat.CSV:
        writer = _csv_writer(out)
        writer.writerow(JOBS_CSV_HEADER)
        for result in data.results:
            j = result.job
            writer.writerow(["job", j.kind.value, j.id, j.status_raw, j.snapshot_id or "",
                             dt_text(j.started) or "", dt_text(j.completed) or "", _num(job_duration(j)),
                             scope_text(j.filtering),
                             _num(j.total_changed_objects), _num(j.total_changed_links),
                             _num(j.total_objects_modified), _num(j.total_links_modified),
                             _num(j.total_failed_changes), "", "", "", "", ""])
            for c in result.failed:
                writer.writerow(["failedChange", j.kind.value, j.id, *([""] * 11), c.entity_type_raw, c.id,
                                 c.display_name, c.action_raw, c.failure_message or ""])
        return len(data.results)
    out.write("# Job results\n\n")
    out.write(f"- Tenant: {md_cell(data.tenant)}\n- Generated: {md_cell(dt_text(data.generated))}\n\n")

    def kind(job: Job) -> str:
        return "difference report" if job.kind is JobKind.PREVIEW else "restore"

    rows = ((kind(r.job), r.job.id, r.job.status_raw, r.job.snapshot_id or "", dt_text(r.job.started) or "",
             dt_text(r.job.completed) or "", _num(job_duration(r.job)), scope_text(r.job.filtering),
             _num(r.job.total_changed_objects), _num(r.job.total_objects_modified),
             _num(r.job.total_links_modified), _num(r.job.total_failed_changes)) for r in data.results)
    count = _md_table(out, ("Kind", "Job", "Status", "Backup", "Started", "Completed", "Seconds", "Scope",
                            "Changed objects", "Objects modified", "Links modified", "Failed changes"),
                      rows, numeric=(6, 8, 9, 10, 11))
    for result in data.results:
        if not result.failed:
            continue
        out.write(f"\n## Failed changes of {kind(result.job)} {md_cell(result.job.id)}\n\n")
        _md_table(out, ("Type", "ID", "Name", "Action", "Message"),
                  ((c.entity_type_raw, c.id, c.display_name, c.action_raw, c.failure_message or "")
                   for c in result.failed))
    return count


# ------------------------------------------------------------------------------------------------ common
def write_export(out: TextIO, data: Export, fmt: ExportFormat | str) -> int:
    """Write any export in ``fmt``; returns the number of records (changes, plan objects or jobs)."""
    fmt = ExportFormat(fmt)
    if isinstance(data, ReportExport):
        return write_report(out, data, fmt)
    if isinstance(data, PlanExport):
        return write_plan(out, data, fmt)
    return write_jobs(out, data, fmt)


def render(data: Export, fmt: ExportFormat | str) -> str:
    """The whole export as one string (small exports, the UI's preview)."""
    buffer = io.StringIO(newline="")
    write_export(buffer, data, fmt)
    return buffer.getvalue()


def export_kind(data: Export) -> ExportKind:
    if isinstance(data, ReportExport):
        return ExportKind.REPORT
    return ExportKind.PLAN if isinstance(data, PlanExport) else ExportKind.JOBS


def suggested_filename(data: Export, fmt: ExportFormat | str) -> str:
    """``entrabr-report-20260728T081500Z.md`` — a file name that sorts by time."""
    stamp = data.generated.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"entrabr-{export_kind(data).value}-{stamp}.{ExportFormat(fmt).extension}"
