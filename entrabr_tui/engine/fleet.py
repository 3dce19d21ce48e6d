"""Fleet status: for each tenant profile, what its cache says, read without signing in.

Per tenant: the newest backup and its age, the last report, the last drill (from the session history, when
one was recorded), the last watch run and the open alerts, and the job slot: who held the service's slot when
the job list was last read, and whether another entrabr process holds the tenant right now (its lock file).

A profile's cache is found by the tenant id the profile names, or, when the profile names a domain, by the
names a session noted in the cache when it opened through the profile (``note_aliases``). Opening a cache
here skips the integrity check (a status must stay quick over many tenants); a damaged file shows as a
problem of that row, never as an error of the whole table. Each row is read by
:func:`~entrabr_tui.engine.tenant_status.tenant_status`, which a session also offers for its own tenant.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from entrabr_tui.engine.opening import cached_tenants
from entrabr_tui.engine.tenant_status import DRILL_ACTIONS, TenantStatus, last_drill, tenant_status
from entrabr_tui.store import Cache, History, StoreError, StorePaths, TenantProfile


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
        drills = history.query(actions=DRILL_ACTIONS, tenant_id=cache.tenant_id, limit=1)
        return tenant_status(cache, last_drill(drills), profile=profile.name)
    finally:
        cache.close()


__all__ = ["TenantStatus", "fleet_status", "locate_tenant"]
