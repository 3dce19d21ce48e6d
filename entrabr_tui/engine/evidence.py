"""Evidence pack of a recovery: what happened, when, who decided and what remains, for auditors.

:class:`EvidenceBuilder` reads the session history of the tenant since a moment, the cache (reports, restore
runs with their plan hashes, jobs and failed changes) and the restore queue, and makes an
:class:`EvidencePack`:

* the timeline: the backup restored from, the first bad change (from the directory audit log), detection
  (the first watch alert), the report, the plan and its approvals (reviewed plan written, opened, applied),
  the recovery (first job sent, last job ended) and the verification;
* the incident as the audit log tells it, for the changes the recovery put back
  (:mod:`entrabr_tui.engine.audit_incident` defines the terms): the incident's actors (who, the app, the
  changes put back each explains, operations, the time span of their records) and the first bad change (the
  earliest record one of them made, since the backup, on an object put back). Online the log of the
  report's window is read first (the audit cache's incremental pull); when it cannot be read (no permission
  or role, offline without it in the cache, no restore in the window) the pack says so and why, in every
  format, rather than leave the fields out;
* RPO, the age of the data put back (first recovery job sent minus the backup's time), and RTO, from
  detection (else the first report of the window) to the verification (else the last job's end);
* the difference (changes per type and action of the report restored from), who did what in entrabr, the
  plan hashes and approvers, job results with their failed changes, and the residual work: failed changes,
  objects the verification found drifted, objects still queued.

:func:`write_pack` writes it to a new folder as ``evidence.json``, ``evidence.md`` and a self-contained
``evidence.html`` (no script, no external resource), then ``manifest.sha256`` (``sha256sum -c`` format)
over the three. Tenant text is escaped for each format (Markdown and HTML). :func:`default_evidence_folder`
is where the terminal app offers to write one (a new folder under ``evidence/`` in the data folder);
:func:`write_evidence` builds and writes a pack, saying each step to a progress callback and the read of
the audit log to another.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from entrabr_tui.core.model import JobKind
from entrabr_tui.core.text import display_text, format_duration
from entrabr_tui.engine.audit_incident import IncidentSummary
from entrabr_tui.engine.audit_types import AuditProgressCallback
from entrabr_tui.engine.cache_reader import UnknownReportError
from entrabr_tui.engine.errors import EngineError
from entrabr_tui.engine.export_files import replace_text_file
from entrabr_tui.engine.export_records import dt_text, md_cell
from entrabr_tui.engine.session_log import OpsAction
from entrabr_tui.graph.errors import GraphError
from entrabr_tui.store import HistoryAction, HistoryEntry
from entrabr_tui.store.paths import StorePaths, secure_dir

if TYPE_CHECKING:
    from entrabr_tui.engine.session import Session

SCHEMA = "entrabr.evidence/1"
FILES = ("evidence.json", "evidence.md", "evidence.html")
MANIFEST = "manifest.sha256"
#: Failed changes listed per job (the rest are counted).
FAILED_LISTED = 500
#: Actions shown in the timeline, with the step each stands for.
_STEPS = {
    OpsAction.ALERT_RAISED.value: "detection",
    HistoryAction.REPORT_CREATED.value: "report",
    HistoryAction.REPORT_REUSED.value: "report",
    HistoryAction.REPORT_DOWNLOADED.value: "report",
    HistoryAction.RESTORE_PLANNED.value: "plan",
    HistoryAction.PLAN_EXPORTED.value: "approval",
    HistoryAction.PLAN_APPLIED.value: "approval",
    HistoryAction.RESTORE_SUBMITTED.value: "recovery",
    HistoryAction.RESTORE_FINISHED.value: "recovery",
    HistoryAction.RESTORE_VERIFIED.value: "verification",
}
FIRST_BAD_CHANGE = "first bad change"


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    """One moment of the recovery (``step``: backup, detection, report, plan, approval, recovery,
    verification)."""

    at: datetime
    step: str
    text: str
    actor: str | None = None
    history_id: int | None = None


@dataclass(frozen=True, slots=True)
class EvidencePack:
    """Everything the pack holds (see the module docstring)."""

    tenant: str
    generated: datetime
    since: datetime
    timeline: tuple[TimelineEvent, ...]
    rpo_seconds: float | None
    rto_seconds: float | None
    rto_start: str | None
    diff: tuple[dict[str, Any], ...]
    actors: tuple[dict[str, Any], ...]
    plans: tuple[dict[str, Any], ...]
    jobs: tuple[dict[str, Any], ...]
    residual: tuple[dict[str, Any], ...]
    notes: tuple[str, ...] = field(default_factory=tuple)
    incident: IncidentSummary | None = None
    """The audit log's account of the changes put back; ``None`` when it could not be read."""
    audit_message: str | None = None
    """Why ``incident`` is missing."""

    def audit_json(self) -> dict[str, Any]:
        incident = self.incident
        return {"available": incident is not None, "message": self.audit_message,
                "changesPutBack": incident.restored if incident else None,
                "unexplained": incident.unexplained if incident else None}

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA, "tenant": self.tenant, "generated": dt_text(self.generated),
            "since": dt_text(self.since),
            "timeline": [{"at": dt_text(e.at), "step": e.step, "text": e.text, "actor": e.actor,
                          "historyId": e.history_id} for e in self.timeline],
            "rpoSeconds": _round(self.rpo_seconds), "rtoSeconds": _round(self.rto_seconds),
            "rtoStart": self.rto_start, "diff": list(self.diff), "actors": list(self.actors),
            "plans": list(self.plans), "jobs": list(self.jobs), "residual": list(self.residual),
            "audit": self.audit_json(),
            "firstBadChange": (self.incident.first.to_json() if self.incident and self.incident.first
                               else None),
            "incidentActors": [a.to_json() for a in self.incident.actors] if self.incident else [],
            "notes": list(self.notes),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _entry_text(entry: HistoryEntry) -> str:
    parts = [entry.action]
    if entry.outcome:
        parts.append(entry.outcome)
    if entry.detail:
        parts.append(entry.detail)
    if entry.job_id:
        parts.append(f"job {entry.job_id}")
    return ": ".join(parts[:2]) + ("; " + "; ".join(parts[2:]) if len(parts) > 2 else "")


class EvidenceBuilder:
    """Makes the evidence pack of one session's tenant (see the module docstring)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    async def build(self, since: datetime,
                    audit_progress: AuditProgressCallback | None = None) -> EvidencePack:
        """The pack of the recoveries since ``since``; ``audit_progress`` hears the read of the audit log
        (online), waits for the tenant included."""
        session = self.session
        jobs = {job.id: job for job in await session.jobs(refresh=not session.offline)}
        entries = sorted(session.history(since=since, limit=None), key=lambda e: (e.at, e.id))
        entries = [e for e in entries if e.action in _STEPS]
        notes: list[str] = []
        timeline = [TimelineEvent(e.at, _STEPS[e.action], _entry_text(e), e.identity, e.id) for e in entries]
        submitted = [e for e in entries if e.action == HistoryAction.RESTORE_SUBMITTED.value]
        backup_time = None
        if submitted:
            snapshot_id = submitted[0].snapshot_id
            snapshot = session.cache.tenant.snapshot(snapshot_id) if snapshot_id else None
            if snapshot is not None:
                backup_time = snapshot.created
                timeline.insert(0, TimelineEvent(snapshot.created, "backup",
                                                 f"backup {snapshot.id} (the data put back)"))
        else:
            notes.append("No restore was sent in this window: there is no recovery to measure.")
        rpo = (submitted[0].at - backup_time).total_seconds() if submitted and backup_time else None
        rto, rto_start = self._rto(entries)
        incident, why = await self._incident(entries, submitted, audit_progress)
        if incident is None:
            notes.append(f"The first bad change and the incident's actors are not in this pack: {why}")
        elif incident.first is not None:
            first = incident.first
            timeline.append(TimelineEvent(
                first.at, FIRST_BAD_CHANGE,
                f"{first.activity} on {first.object_type} '{first.object_name or first.object_id}' "
                f"({first.object_id}); audit record {first.record_id}", first.actor.label))
        else:
            notes.append("The audit log names no actor for the changes put back (no record, synchronised, or "
                         "a gap in the log): there is no first bad change to show.")
        timeline.sort(key=lambda e: e.at)
        return EvidencePack(session.tenant, session.clock(), since, tuple(timeline), rpo, rto, rto_start,
                            tuple(self._diff(entries)), tuple(self._actors(entries)),
                            tuple(self._plans(entries)), tuple(self._jobs(submitted, jobs)),
                            tuple(self._residual(entries, submitted)), tuple(notes), incident, why)

    async def _incident(self, entries: list[HistoryEntry], submitted: list[HistoryEntry],
                        progress: AuditProgressCallback | None) -> tuple[IncidentSummary | None, str | None]:
        """The audit log's account of the changes put back, or why there is none."""
        session = self.session
        if not submitted:
            return None, "No restore was sent in this window, so no change was put back."
        planned = [e for e in entries if e.action == HistoryAction.RESTORE_PLANNED.value and e.job_id]
        if not planned or planned[-1].job_id is None:
            return None, "The report the recovery restored from is not in this window's history."
        report_job = planned[-1].job_id
        object_ids = {i for entry in submitted for i in entry.object_ids}
        try:
            if not session.offline:
                await session.pull_audit(report_job, progress)
            return await asyncio.to_thread(session.audit.incident, report_job, object_ids), None
        except EngineError as exc:  # no permission or role, not in the cache offline, report gone …
            return None, exc.message
        except GraphError as exc:
            return None, f"Reading the directory audit log failed: {exc}"

    @staticmethod
    def _rto(entries: list[HistoryEntry]) -> tuple[float | None, str | None]:
        def first(*actions: str) -> HistoryEntry | None:
            return next((e for e in entries if e.action in actions), None)

        def last(*actions: str) -> HistoryEntry | None:
            return next((e for e in reversed(entries) if e.action in actions), None)

        start = first(OpsAction.ALERT_RAISED.value)
        label = "detection"
        if start is None:
            start = first(HistoryAction.REPORT_CREATED.value, HistoryAction.REPORT_REUSED.value,
                          HistoryAction.REPORT_DOWNLOADED.value)
            label = "first report"
        end = last(HistoryAction.RESTORE_VERIFIED.value) or last(HistoryAction.RESTORE_FINISHED.value)
        if start is None or end is None or end.at < start.at:
            return None, None
        return (end.at - start.at).total_seconds(), label

    def _diff(self, entries: list[HistoryEntry]) -> list[dict[str, Any]]:
        planned = [e for e in entries if e.action == HistoryAction.RESTORE_PLANNED.value and e.job_id]
        if not planned:
            return []
        report_job = planned[-1].job_id
        assert report_job is not None
        try:
            counts = self.session.counts(report_job)
        except UnknownReportError:  # the cache no longer holds it: the pack says so
            return [{"reportId": report_job, "missing": True}]
        return [{"reportId": report_job, "entityType": c.entity_type_raw, "action": c.action_raw,
                 "count": c.count} for c in counts]

    @staticmethod
    def _actors(entries: list[HistoryEntry]) -> list[dict[str, Any]]:
        by_actor: dict[str, Counter[str]] = {}
        for entry in entries:
            by_actor.setdefault(entry.identity or "(unknown)", Counter())[entry.action] += 1
        return [{"actor": actor, "actions": dict(sorted(counts.items()))}
                for actor, counts in sorted(by_actor.items())]

    def _plans(self, entries: list[HistoryEntry]) -> list[dict[str, Any]]:
        plans: list[dict[str, Any]] = []
        with self.session.cache_reader.locked() as cache:
            runs = cache.runs.since(entries[0].at) if entries else []
        for run in runs:
            plans.append({"run": run.id, "planHash": run.plan_hash, "snapshotId": run.snapshot_id,
                          "created": dt_text(run.created), "status": run.status,
                          "batches": run.batch_count})
        approvals = [e for e in entries if e.action in (HistoryAction.PLAN_EXPORTED.value,
                                                        HistoryAction.PLAN_APPLIED.value)]
        for entry in approvals:
            plans.append({"approval": entry.action, "at": dt_text(entry.at), "by": entry.identity,
                          "outcome": entry.outcome, "detail": entry.detail})
        return plans

    def _jobs(self, submitted: list[HistoryEntry], jobs: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for entry in submitted:
            job = jobs.get(entry.job_id or "")
            failed = self.session.failed_changes(entry.job_id) if entry.job_id else []
            out.append({
                "jobId": entry.job_id, "submitted": dt_text(entry.at),
                "status": job.status_raw if job is not None else None,
                "kind": JobKind.RECOVERY.value,
                "objects": entry.object_count,
                "failedChanges": [{"id": c.id, "entityType": c.entity_type_raw, "displayName": c.display_name,
                                   "message": c.failure_message} for c in failed[:FAILED_LISTED]],
                "failedCount": len(failed),
            })
        return out

    def _residual(self, entries: list[HistoryEntry], submitted: list[HistoryEntry]) -> list[dict[str, Any]]:
        residual: list[dict[str, Any]] = []
        for entry in submitted:
            for change in self.session.failed_changes(entry.job_id) if entry.job_id else []:
                residual.append({"id": change.id, "entityType": change.entity_type_raw,
                                 "displayName": change.display_name, "why": "the change failed",
                                 "detail": change.failure_message})
        verified = [e for e in entries if e.action == HistoryAction.RESTORE_VERIFIED.value]
        if verified:
            for object_id in verified[-1].object_ids:
                residual.append({"id": object_id, "entityType": None, "displayName": None,
                                 "why": "changed again during the recovery (verification)", "detail": None})
        for queued in self.session.queue():
            residual.append({"id": queued.id, "entityType": queued.entity_type,
                             "displayName": queued.display_name, "why": "still queued, not restored",
                             "detail": None})
        return residual


# -- writing ---------------------------------------------------------------------------------------------

def _seconds(value: float | None) -> str:
    return "not measured" if value is None else format_duration(value)


FIRST_DEFINITION = ("The earliest audit record, at or after the time of the backup restored from, that one "
                    "of the incident's actors made on an object the recovery put back.")
ACTORS_DEFINITION = ("The actors the audit log names for the changes the recovery put back: who, the app, "
                     "the changes put back each explains, operations (correlation ids) and the time span of "
                     "their records on those objects.")
_ACTOR_KEYS = ("actor", "kind", "app", "changes", "operations", "first", "last")


def _first_row(pack: EvidencePack) -> dict[str, Any] | None:
    first = pack.incident.first if pack.incident is not None else None
    if first is None:
        return None
    return {"At (UTC)": dt_text(first.at), "Who": first.actor.label, "What": first.activity,
            "Object": f"{first.object_type} '{first.object_name or first.object_id}' ({first.object_id})",
            "Audit record": f"{first.record_id} (operation {first.correlation_id})"}


def _missing(pack: EvidencePack) -> str:
    """What the incident sections say when there is nothing to show."""
    if pack.incident is None:
        return f"Not available: {pack.audit_message}"
    return "None: the audit log names no actor for the changes put back."


def _markdown(pack: EvidencePack) -> str:
    lines = [f"# Recovery evidence: tenant {md_cell(pack.tenant)}", "",
             f"Generated {dt_text(pack.generated)}; window from {dt_text(pack.since)}.", "",
             f"- **RPO** (backup to recovery): {_seconds(pack.rpo_seconds)}",
             f"- **RTO** ({md_cell(pack.rto_start or 'start')} to verification): "
             f"{_seconds(pack.rto_seconds)}",
             "", "## Timeline", "", "| At (UTC) | Step | What | Who |", "|---|---|---|---|"]
    lines += [f"| {dt_text(e.at)} | {e.step} | {md_cell(e.text, 300)} | {md_cell(e.actor or '')} |"
              for e in pack.timeline]
    lines += ["", "## First bad change", "", md_cell(FIRST_DEFINITION), ""]
    first = _first_row(pack)
    if first is None:
        lines.append(md_cell(_missing(pack)))
    else:
        lines += ["| " + " | ".join(first) + " |", "|" + "---|" * len(first),
                  "| " + " | ".join(md_cell(v, 300) for v in first.values()) + " |"]
    lines += ["", "## The incident's actors", "", md_cell(ACTORS_DEFINITION), ""]
    actors = [a.to_json() for a in pack.incident.actors] if pack.incident is not None else []
    if not actors:
        lines.append(md_cell(_missing(pack)))
    else:
        lines += ["| " + " | ".join(_ACTOR_KEYS) + " |", "|" + "---|" * len(_ACTOR_KEYS)]
        lines += ["| " + " | ".join(md_cell(_flat(a[k]), 300) for k in _ACTOR_KEYS) + " |" for a in actors]
    for title, rows in (("Difference restored from", pack.diff), ("Who did what", pack.actors),
                        ("Plans and approvals", pack.plans), ("Jobs", pack.jobs),
                        ("Residual work", pack.residual)):
        lines += ["", f"## {title}", ""]
        if not rows:
            lines.append("None.")
            continue
        keys = [k for k in rows[0] if k != "failedChanges"]
        lines.append("| " + " | ".join(keys) + " |")
        lines.append("|" + "---|" * len(keys))
        lines += ["| " + " | ".join(md_cell(_flat(row.get(k)), 300) for k in keys) + " |" for row in rows]
    lines += ["", "## Notes", ""] + [f"- {md_cell(n)}" for n in pack.notes]
    return "\n".join(lines) + "\n"


def _flat(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return str(value)


def _h(value: Any) -> str:
    return html.escape(display_text(_flat(value), limit=2000), quote=True)


_CSS = ("body{font-family:system-ui,sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse;"
        "margin:.5em 0 1.5em}td,th{border:1px solid #999;padding:.2em .5em;text-align:left;"
        "vertical-align:top}th{background:#eee}")


def _html(pack: EvidencePack) -> str:
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>Recovery evidence: {_h(pack.tenant)}</title><style>{_CSS}</style></head><body>",
             f"<h1>Recovery evidence: tenant {_h(pack.tenant)}</h1>",
             f"<p>Generated {_h(dt_text(pack.generated))}; window from {_h(dt_text(pack.since))}.</p>",
             f"<ul><li><b>RPO</b> (backup to recovery): {_h(_seconds(pack.rpo_seconds))}</li>",
             f"<li><b>RTO</b> ({_h(pack.rto_start or 'start')} to verification): "
             f"{_h(_seconds(pack.rto_seconds))}</li></ul>",
             "<h2>Timeline</h2><table><tr><th>At (UTC)</th><th>Step</th><th>What</th><th>Who</th></tr>"]
    parts += [f"<tr><td>{_h(dt_text(e.at))}</td><td>{_h(e.step)}</td><td>{_h(e.text)}</td>"
              f"<td>{_h(e.actor)}</td></tr>" for e in pack.timeline]
    parts.append("</table>")
    parts.append(f"<h2>First bad change</h2><p>{_h(FIRST_DEFINITION)}</p>")
    first = _first_row(pack)
    if first is None:
        parts.append(f"<p>{_h(_missing(pack))}</p>")
    else:
        parts.append("<table><tr>" + "".join(f"<th>{_h(k)}</th>" for k in first) + "</tr><tr>"
                     + "".join(f"<td>{_h(v)}</td>" for v in first.values()) + "</tr></table>")
    parts.append(f"<h2>The incident&#x27;s actors</h2><p>{_h(ACTORS_DEFINITION)}</p>")
    actors = [a.to_json() for a in pack.incident.actors] if pack.incident is not None else []
    if not actors:
        parts.append(f"<p>{_h(_missing(pack))}</p>")
    else:
        parts.append("<table><tr>" + "".join(f"<th>{_h(k)}</th>" for k in _ACTOR_KEYS) + "</tr>")
        parts += ["<tr>" + "".join(f"<td>{_h(a[k])}</td>" for k in _ACTOR_KEYS) + "</tr>" for a in actors]
        parts.append("</table>")
    for title, rows in (("Difference restored from", pack.diff), ("Who did what", pack.actors),
                        ("Plans and approvals", pack.plans), ("Jobs", pack.jobs),
                        ("Residual work", pack.residual)):
        parts.append(f"<h2>{_h(title)}</h2>")
        if not rows:
            parts.append("<p>None.</p>")
            continue
        keys = list(rows[0])
        parts.append("<table><tr>" + "".join(f"<th>{_h(k)}</th>" for k in keys) + "</tr>")
        parts += ["<tr>" + "".join(f"<td>{_h(row.get(k))}</td>" for k in keys) + "</tr>" for row in rows]
        parts.append("</table>")
    parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{_h(n)}</li>" for n in pack.notes) + "</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


class EvidenceTargetError(Exception):
    """The folder cannot take the pack (it exists and is not empty, or cannot be made)."""


def write_pack(pack: EvidencePack, folder: Path) -> list[Path]:
    """Write the pack's files and the manifest to ``folder`` (new, or empty); returns the paths."""
    _check_target(folder)
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise EvidenceTargetError(f"Cannot make the folder {folder}: {exc.strerror}.") from None
    if hasattr(os, "chmod"):
        os.chmod(folder, 0o700)
    texts = {"evidence.json": orjson.dumps(pack.to_json(), option=orjson.OPT_INDENT_2).decode() + "\n",
             "evidence.md": _markdown(pack), "evidence.html": _html(pack)}
    written: list[Path] = []
    lines: list[str] = []
    try:
        for name in FILES:
            path = folder / name
            replace_text_file(path, texts[name])
            lines.append(f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {name}")
            written.append(path)
        manifest = folder / MANIFEST
        replace_text_file(manifest, "\n".join(lines) + "\n")
    except OSError as exc:
        raise EvidenceTargetError(f"Cannot write the pack in {folder}: {exc.strerror or exc}.") from None
    return [*written, manifest]


#: Tries at a free folder name (``evidence-…-2``, ``-3`` …) before giving up.
_MAX_NAME_TRIES = 1000
#: The steps :func:`write_evidence` reports, in order.
EVIDENCE_STEPS = ("Reading the jobs and the history", "Writing the pack", "Written")


def default_evidence_folder(tenant: str, now: datetime, base: Path | None = None) -> Path:
    """A new folder for a pack (not created): ``evidence-<tenant>-<UTC time>`` under ``base`` (default
    ``evidence/`` in the data folder, created 0700), with ``-2``, ``-3`` … when the name is taken."""
    parent = base if base is not None else secure_dir(StorePaths.default().data_dir / "evidence")
    key = "".join(c if c.isalnum() or c in ".-" else "-" for c in display_text(tenant, limit=40)).strip("-.")
    name = f"evidence-{key or 'tenant'}-{now:%Y%m%d-%H%M%S}"
    for attempt in range(1, _MAX_NAME_TRIES + 1):
        path = parent / (name if attempt == 1 else f"{name}-{attempt}")
        if not os.path.lexists(path):
            return path
    raise EvidenceTargetError(f"No free folder name for {name} in {parent}.")


async def write_evidence(session: Session, folder: Path, since: datetime,
                         progress: Callable[[int, int, str], object] | None = None,
                         audit_progress: AuditProgressCallback | None = None) -> list[Path]:
    """Build the pack of the recoveries since ``since`` and write it to ``folder`` (new, or empty); returns
    the files written. ``progress(step, steps, text)`` hears each of :data:`EVIDENCE_STEPS`;
    ``audit_progress`` the read of the audit log during the first (waits for another entrabr process that
    holds the tenant, for the request budget or a retry, pages read).
    :class:`EvidenceTargetError` when the folder cannot take it (checked before anything is read)."""
    steps = len(EVIDENCE_STEPS)

    def say(step: int) -> None:
        if progress is not None:
            progress(step, steps, EVIDENCE_STEPS[step])

    await asyncio.to_thread(_check_target, folder)
    say(0)
    pack = await EvidenceBuilder(session).build(since, audit_progress)
    say(1)
    paths = await asyncio.to_thread(write_pack, pack, folder)
    say(2)
    return paths


def _check_target(folder: Path) -> None:
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise EvidenceTargetError(f"{folder} exists and is not an empty folder: give a new one.")


def verify_manifest(folder: Path) -> list[str]:
    """Files whose SHA-256 does not match the manifest (empty: the pack is intact)."""
    bad: list[str] = []
    for line in (folder / MANIFEST).read_text(encoding="utf-8").splitlines():
        digest, _, name = line.partition("  ")
        path = folder / name
        if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            bad.append(name)
    return bad
