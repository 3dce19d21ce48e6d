"""``entrabr watch``: one run of the rules over the newest report, a baseline and the audit log, and the
alerts that come of it (the rules and their evaluation are in :mod:`entrabr_tui.core.watch_rules` and
:mod:`entrabr_tui.core.watch_eval`).

A run:

1. takes the newest backup that has a complete report, and that backup's best report (unscoped first);
2. reads that report once (:class:`~entrabr_tui.core.watch_eval.ReportScan`, in a worker thread on a
   connection of its own) and keeps its profile for later baselines;
3. builds the baseline from the profiles of up to ``baseline_reports`` earlier complete reports of the same
   scope, archived ones included (a report with no profile yet is read once to make it);
4. asks the audit log what happened since the newest backup (hard deletes, Conditional Access changes),
   through :class:`AuditSource` (:class:`~entrabr_tui.engine.watch_audit.AuditLogSource` online), when the
   rules ask for it; when it cannot be read (offline, or a sign-in without the permission or role) the audit
   rules are skipped, everything else is evaluated, and the run says so once (a warning naming what is
   missing);
5. evaluates the rules and moves every finding's state along (:func:`~entrabr_tui.core.watch_eval.step`):
   alerts are raised for findings seen in ``confirm`` runs in a row and resolved after ``resolve`` runs
   without them, each with an id (``AL-`` and 10 hex digits) the history and the webhook name;
6. stores the states, the alerts and the run in the cache (one transaction).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from entrabr_tui.core.watch_eval import (
    AuditWindow,
    Baseline,
    Finding,
    FindingState,
    Profile,
    ReportScan,
    Tracked,
    Transition,
    evaluate,
    scan_items,
    step,
)
from entrabr_tui.core.watch_rules import CaScope, RuleSet
from entrabr_tui.engine.timing import Clock
from entrabr_tui.store import Cache, Report, ReportKind, SnapshotRecord
from entrabr_tui.store.watch_store import StoredAlert, WatchRun

#: Finding states a run carries forward (the others need a sighting to matter again).
_LIVE = (FindingState.PENDING, FindingState.OPEN)
_NO_RULES = RuleSet()


class AuditSource(Protocol):
    """What the directory audit log says since a moment (the newest backup): hard deletes and Conditional
    Access changes. An implementation never raises for a refusal or an outage: it returns an
    :class:`~entrabr_tui.core.watch_eval.AuditWindow` with ``available`` false and the reason."""

    async def window(self, since: datetime) -> AuditWindow: ...


@dataclass(frozen=True, slots=True)
class TrackedFinding:
    """A finding of this run with its state after the run (and its alert, when it has one)."""

    finding: Finding
    state: FindingState
    seen: int
    alert_id: str | None


@dataclass(frozen=True, slots=True)
class WatchResult:
    """What one run found and did."""

    at: datetime
    report: Report | None
    backup: SnapshotRecord | None
    newest_backup: SnapshotRecord | None
    baseline_reports: int
    findings: tuple[TrackedFinding, ...]
    raised: tuple[StoredAlert, ...]
    resolved: tuple[StoredAlert, ...]
    open: tuple[StoredAlert, ...]
    audit: AuditWindow | None
    notes: tuple[str, ...]
    run: WatchRun
    warnings: tuple[str, ...] = ()
    """Said even with ``--quiet``: the audit log could not be read (once per run, naming what is missing)."""


def alert_id(tenant: str, finding: str, when: datetime) -> str:
    """A new alert's id: ``AL-`` and 10 hex digits (from the tenant, the finding and the time it opened)."""
    digest = hashlib.sha256(f"{tenant}\x1f{finding}\x1f{when.isoformat()}".encode()).hexdigest()
    return f"AL-{digest[:10]}"


def _newest_first(snapshots: Sequence[SnapshotRecord]) -> list[SnapshotRecord]:
    return sorted(snapshots, key=lambda s: s.created, reverse=True)


@dataclass(frozen=True, slots=True)
class _ReportPart:
    report: Report | None
    backup: SnapshotRecord | None
    newest: SnapshotRecord | None
    scan: ReportScan | None
    baseline: Baseline
    notes: tuple[str, ...]


class Watcher:
    """Runs the watch over one tenant's cache (see the module docstring); ``audit`` is where the audit log is
    read (``None``: the audit rules are skipped)."""

    def __init__(self, cache: Cache, *, tenant: str, clock: Clock, audit: AuditSource | None = None) -> None:
        self.cache = cache
        self.tenant = tenant
        self.clock = clock
        self.audit = audit

    async def run(self, rules: RuleSet, *, use_audit: bool = True) -> WatchResult:
        now = self.clock()
        part = await asyncio.to_thread(self._report_part, rules, now)
        notes = list(part.notes)
        audit: AuditWindow | None = None
        wants_audit = rules.audit.hard_deletes or rules.audit.conditional_access is not CaScope.OFF
        warnings: list[str] = []
        if wants_audit and use_audit:
            if self.audit is None:
                notes.append("The audit log was not read (the session is offline): the audit rules were "
                             "skipped.")
            elif part.newest is None:
                notes.append("No backup is known yet: the audit log has no window to read.")
            else:
                audit = await self.audit.window(part.newest.created)
                if audit.available and audit.message:
                    notes.append(audit.message)
                if not audit.available:
                    said = (audit.message or "the audit log could not be read").rstrip(".")
                    warnings.append(f"{said}. The audit rules (hard deletes, Conditional Access changes) "
                                    "were skipped; every other rule was evaluated.")
        report_id = part.report.job_id if part.report else None
        findings = evaluate(rules, part.scan, report_id, part.baseline, audit)
        return self._track(rules, now, part, findings, audit, notes, warnings)

    # -- the report and its baseline (blocking: in a worker thread, on a connection of its own) ------------
    def _report_part(self, rules: RuleSet, now: datetime) -> _ReportPart:
        reader = self.cache.reader()
        try:
            snapshots = _newest_first(reader.tenant.snapshots())
            newest = snapshots[0] if snapshots else None
            report, backup = self._current(reader, snapshots)
            notes: list[str] = []
            if report is None:
                notes.append("No backup has a complete difference report yet ('entrabr prewarm' makes them): "
                             "the report rules were skipped.")
                return _ReportPart(None, None, newest, None, Baseline(), tuple(notes))
            if newest is not None and backup is not None and backup.id != newest.id:
                notes.append(f"The newest backup ({newest.created:%Y-%m-%d %H:%MZ}) has no complete report "
                             f"yet; the report of the backup of {backup.created:%Y-%m-%d %H:%MZ} was used "
                             "('entrabr prewarm' makes one).")
            scan = scan_items(rules, reader.queries.iter_positioned_raw(report.id))
            if reader.watch.profiles.get(report.id) is None and not reader.read_only:
                reader.watch.profiles.put(report.id, scan.profile(), now=now)
            baseline = self._baseline(reader, report, rules.settings.baseline_reports, now)
            if not baseline.reports:
                notes.append("No earlier report makes a baseline yet: rules that compare with it wait.")
            return _ReportPart(report, backup, newest, scan, baseline, tuple(notes))
        finally:
            reader.close()

    @staticmethod
    def _current(cache: Cache, snapshots: Sequence[SnapshotRecord]
                 ) -> tuple[Report | None, SnapshotRecord | None]:
        for snapshot in snapshots:
            reports = [r for r in cache.reports.all(snapshot_id=snapshot.id, kind=ReportKind.CHANGES)
                       if r.complete]
            if reports:
                reports.sort(key=lambda r: (r.scope is None, r.created), reverse=True)
                return reports[0], snapshot
        return None, None

    @staticmethod
    def _baseline(cache: Cache, current: Report, size: int, now: datetime) -> Baseline:
        earlier = [r for r in cache.reports.all(kind=ReportKind.CHANGES)
                   if r.complete and r.id != current.id and r.scope_key == current.scope_key
                   and r.snapshot_id != current.snapshot_id]
        earlier.sort(key=lambda r: r.created, reverse=True)
        profiles: list[Profile] = []
        for report in earlier[:size]:
            profile = cache.watch.profiles.get(report.id)
            if profile is None:
                profile = scan_items(_NO_RULES, cache.queries.iter_positioned_raw(report.id)).profile()
                if not cache.read_only:
                    cache.watch.profiles.put(report.id, profile, now=now)
            profiles.append(profile)
        return Baseline(tuple(profiles))

    # -- findings to alerts ---------------------------------------------------------------------------------
    def _track(self, rules: RuleSet, now: datetime, part: _ReportPart, findings: list[Finding],
               audit: AuditWindow | None, notes: list[str], warnings: list[str]) -> WatchResult:
        store = self.cache.watch
        stored = store.findings()
        current = {f.id: f for f in findings}
        settings = rules.settings
        states: dict[str, Tracked] = {}
        alert_ids: dict[str, str | None] = {}
        opened: list[str] = []
        resolved: list[str] = []
        ids = list(current) + [i for i, s in stored.items() if i not in current and s.tracked.state in _LIVE]
        for finding_id in ids:
            before = stored.get(finding_id)
            tracked, transition = step(before.tracked if before else None, finding_id in current,
                                       settings.confirm, settings.resolve)
            if tracked is None:
                continue
            states[finding_id] = tracked
            previous = before.alert_id if before is not None else None
            if transition is Transition.RAISED:
                new_id = alert_id(self.tenant, finding_id, now)
                opened.append(new_id)
                alert_ids[finding_id] = new_id
            elif transition is Transition.RESOLVED and previous is not None:
                resolved.append(previous)
                alert_ids[finding_id] = previous
            elif tracked.state is FindingState.OPEN:
                alert_ids[finding_id] = previous
            else:
                alert_ids[finding_id] = None
        audit_text = None
        if audit is not None:
            audit_text = "read" if audit.available else f"unavailable: {audit.message}"
        run = store.save_run(now=now, report_job_id=part.report.job_id if part.report else None,
                             seen=findings, states=states, alert_ids=alert_ids, opened=opened,
                             resolved=resolved, audit=audit_text)
        raised_alerts = tuple(a for a in (store.alert(i) for i in opened) if a is not None)
        resolved_alerts = tuple(a for a in (store.alert(i) for i in resolved) if a is not None)
        tracked_findings = tuple(
            TrackedFinding(f, states[f.id].state, states[f.id].seen, alert_ids.get(f.id)) for f in findings)
        return WatchResult(now, part.report, part.backup, part.newest, part.baseline.reports,
                           tracked_findings, raised_alerts, resolved_alerts,
                           tuple(store.alerts(open_only=True)), audit, tuple(notes), run, tuple(warnings))
