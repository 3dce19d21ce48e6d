"""One tenant's status row, read from its cache alone (never signing in): the newest backup and its age,
the last report, the last drill (from the session history, when one was recorded), the last watch run and
the open alerts, and the job slot: who held the service's slot when the job list was last read, and whether
another entrabr process holds the tenant right now (its lock file).

:mod:`.fleet` reads one row per tenant profile; a session reads its own tenant's
(:meth:`~entrabr_tui.engine.session.Session.status`). This module imports neither, so both can use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from entrabr_tui.core.model import JobKind
from entrabr_tui.engine.events import describe_job
from entrabr_tui.engine.session_log import OpsAction
from entrabr_tui.store import Cache, HistoryEntry, ReportKind
from entrabr_tui.store.watch_store import StoredAlert
from entrabr_tui.store.writer_lock import TenantLock, lock_path


@dataclass(frozen=True, slots=True)
class ReportLine:
    """The newest cached report of a tenant."""

    job_id: str
    snapshot_id: str | None
    backup_time: datetime | None
    created: datetime
    complete: bool
    changes: int
    archived: bool


@dataclass(frozen=True, slots=True)
class DrillLine:
    """The last drill the history records."""

    at: datetime
    outcome: str | None
    detail: str | None


@dataclass(frozen=True, slots=True)
class SlotLine:
    """Who holds the tenant: the service's job slot as last seen, and another entrabr process now."""

    holder: str | None  # "a restore (…)" when a job held the slot when the job list was last read
    holder_kind: str | None  # "restore" or "report"
    seen: datetime | None  # when the job list was last read
    process: str | None  # "another entrabr (report, pid …)" holding the tenant's lock now
    interrupted_restore: bool

    @property
    def text(self) -> str:
        parts: list[str] = []
        if self.process:
            parts.append(f"held by {self.process}")
        if self.holder:
            parts.append(f"{self.holder} (as seen {self.seen:%Y-%m-%d %H:%MZ})" if self.seen else self.holder)
        if self.interrupted_restore:
            parts.append("an interrupted restore waits")
        if not parts:
            return f"free (as seen {self.seen:%Y-%m-%d %H:%MZ})" if self.seen else "unknown"
        return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class TenantStatus:
    """One row of the fleet table."""

    profile: str | None
    tenant: str | None
    newest_backup: datetime | None = None
    backups: int = 0
    last_report: ReportLine | None = None
    last_drill: DrillLine | None = None
    last_watch: datetime | None = None
    open_alerts: tuple[StoredAlert, ...] = ()
    slot: SlotLine | None = None
    problem: str | None = None

    def alerts_by_severity(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for alert in self.open_alerts:
            out[alert.severity] = out.get(alert.severity, 0) + 1
        return out


#: The history actions :func:`last_drill` reads.
DRILL_ACTIONS = (OpsAction.DRILL.value,)


def last_drill(entries: Sequence[HistoryEntry]) -> DrillLine | None:
    """The drill line of the newest of ``entries`` (history entries of :data:`DRILL_ACTIONS`, newest
    first)."""
    if not entries:
        return None
    return DrillLine(entries[0].at, entries[0].outcome, entries[0].detail)


def tenant_status(cache: Cache, drill: DrillLine | None, *, profile: str | None) -> TenantStatus:
    """A tenant's row from its cache, with its last drill (:func:`last_drill`)."""
    snapshots = [s for s in cache.tenant.snapshots() if not s.expired]
    newest = max((s.created for s in snapshots), default=None)
    reports = cache.reports.all(kind=ReportKind.CHANGES)
    last_report: ReportLine | None = None
    if reports:
        report = reports[0]
        snapshot = cache.tenant.snapshot(report.snapshot_id) if report.snapshot_id else None
        last_report = ReportLine(report.job_id, report.snapshot_id, snapshot.created if snapshot else None,
                                 report.created, report.complete, report.item_count, report.archived)
    run = cache.watch.last_run()
    return TenantStatus(profile, cache.tenant_id, newest, len(snapshots), last_report, drill,
                        run.at if run else None, tuple(cache.watch.alerts(open_only=True)), _slot(cache))


def _slot(cache: Cache) -> SlotLine:
    jobs = [r for r in cache.jobs.all() if not r.archived]
    running = [r for r in jobs if not r.job.is_terminal]
    holder = max(running, key=lambda r: r.job.started or r.first_seen, default=None)
    seen = max((r.last_seen for r in jobs), default=None)
    process = None
    if not cache.read_only:
        other = TenantLock(lock_path(cache.db.path)).other_holder()
        process = other.text if other is not None else None
    text = kind = None
    if holder is not None:
        kind = "restore" if holder.job.kind is JobKind.RECOVERY else "report"
        text = f"a {kind} ({describe_job(holder.job)}) held the job slot"
    return SlotLine(text, kind, seen, process, bool(cache.runs.unfinished()))


__all__ = ["DRILL_ACTIONS", "DrillLine", "ReportLine", "SlotLine", "TenantStatus", "last_drill",
           "tenant_status"]
