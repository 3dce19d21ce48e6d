"""Fleet status: for each tenant profile, what its cache says, read without signing in.

Per tenant: the newest backup and its age, the last report, the last drill (from the session history, when
one was recorded), the last watch run and the open alerts, and the job slot: who held the service's slot when
the job list was last read, and whether another entrabr process holds the tenant right now (its lock file).

A profile's cache is found by the tenant id the profile names, or, when the profile names a domain, by the
names a session noted in the cache when it opened through the profile (``note_aliases``). Opening a cache
here skips the integrity check (a status must stay quick over many tenants); a damaged file shows as a
problem of that row, never as an error of the whole table.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from entrabr_tui.core.model import JobKind
from entrabr_tui.engine.events import describe_job
from entrabr_tui.engine.opening import cached_tenants
from entrabr_tui.engine.session_log import OpsAction
from entrabr_tui.store import Cache, History, ReportKind, StoreError, StorePaths, TenantProfile
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


def locate_tenant(paths: StorePaths, profile: TenantProfile) -> str | None:
    """The cache key of a profile's tenant (see the module docstring); ``None`` when no cache is found."""
    if paths.cache_db(profile.tenant_id).exists():
        return profile.tenant_id
    wanted = {f"profile:{profile.name}".casefold(), profile.tenant_id.casefold()}
    for key in cached_tenants(paths):
        try:
            cache = Cache.open(key, paths=paths, verify=False)
        except (StoreError, sqlite3.Error, OSError):  # another tenant's problem, not this lookup's
            continue
        try:
            if cache.tenant.aliases() & wanted:
                return key
        finally:
            cache.close()
    return None


def tenant_status(cache: Cache, history: History | None, *, profile: str | None) -> TenantStatus:
    """A tenant's row from its cache (and the history's last drill)."""
    snapshots = [s for s in cache.tenant.snapshots() if not s.expired]
    newest = max((s.created for s in snapshots), default=None)
    reports = cache.reports.all(kind=ReportKind.CHANGES)
    last_report: ReportLine | None = None
    if reports:
        report = reports[0]
        snapshot = cache.tenant.snapshot(report.snapshot_id) if report.snapshot_id else None
        last_report = ReportLine(report.job_id, report.snapshot_id, snapshot.created if snapshot else None,
                                 report.created, report.complete, report.item_count, report.archived)
    drill: DrillLine | None = None
    if history is not None:
        entries = history.query(actions=[OpsAction.DRILL.value], tenant_id=cache.tenant_id, limit=1)
        if entries:
            drill = DrillLine(entries[0].at, entries[0].outcome, entries[0].detail)
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


def fleet_status(profiles: Sequence[TenantProfile], paths: StorePaths) -> list[TenantStatus]:
    """One row per profile, in the order given (read from the caches; never signs in)."""
    rows: list[TenantStatus] = []
    with History.open(paths=paths) as history:
        for profile in profiles:
            rows.append(_profile_status(profile, paths, history))
    return rows


def _profile_status(profile: TenantProfile, paths: StorePaths, history: History) -> TenantStatus:
    key = locate_tenant(paths, profile)
    if key is None:
        return TenantStatus(profile.name, None, problem=(
            f"no cache yet: run 'entrabr --profile {profile.name} snapshots' (or prewarm) once"))
    try:
        cache = Cache.open(key, paths=paths, verify=False)
    except (StoreError, sqlite3.Error, OSError) as exc:
        return TenantStatus(profile.name, key, problem=f"cache unreadable: {exc}")
    try:
        return tenant_status(cache, history, profile=profile.name)
    finally:
        cache.close()
