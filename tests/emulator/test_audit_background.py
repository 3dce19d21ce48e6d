"""Synthetic background records: computed on demand, paged and filtered like the journalled ones."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from typing import Any

import pytest

from entrabr_tui.emulator.audit_events import AuditEvent
from entrabr_tui.emulator.audit_query import parse_list
from entrabr_tui.emulator.directory import Directory

from .conftest import AUDIT_NOW, Api, audit_pages, audit_records


@cache
def tenant(events: int) -> Directory:
    d = Directory(seed=4, objects=2000, now=AUDIT_NOW, audit_events=events)
    d.audit.settings.latency_s = (0, 0)
    return d


def walk(d: Directory, params: dict[str, str], top: int = 1000) -> list[AuditEvent]:
    query = parse_list({"$top": [str(top)], **{k: [v] for k, v in params.items()}}, "v1.0", 100)
    out: list[AuditEvent] = []
    while True:
        page, more = d.audit.page(query, AUDIT_NOW)
        out += page
        if not more:
            return out
        query.cursor = page[-1].key


def render(d: Directory, events: list[AuditEvent]) -> list[dict[str, Any]]:
    return [d.audit.render(ev, beta=False) for ev in events]


@cache
def rendered(events: int) -> tuple[dict[str, Any], ...]:
    """Every record of ``tenant(events)``, newest first."""
    d = tenant(events)
    return tuple(render(d, walk(d, {})))


def test_background_records_spread_over_thirty_days_in_log_order() -> None:
    d = tenant(10_000)
    journalled = len(walk(tenant(0), {}))
    events = walk(d, {"$orderby": "activityDateTime asc"})
    assert len(events) == journalled + 10_000
    keys = [ev.key for ev in events]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    background = [ev for ev in events if ev.uid % 2]
    span = (background[-1].ticks - background[0].ticks) / 10**7 / 86_400
    assert 29 < span <= 30
    assert [ev.key for ev in reversed(walk(d, {}, top=777))] == keys


@pytest.mark.parametrize("field", ["correlationId", "id", "target", "initiator"])
def test_lookups_on_background_records_match_a_full_scan(field: str) -> None:
    d = tenant(10_000)
    everything = rendered(10_000)
    sample = next(r for r in everything if r["loggedByService"] == "Self-service Password Management")
    if field == "correlationId":
        expr = f"correlationId eq '{sample['correlationId']}'"
        expected = [r for r in everything if r["correlationId"] == sample["correlationId"]]
    elif field == "id":
        expr = f"id eq '{sample['id']}'"
        expected = [sample]
    elif field == "target":
        oid = sample["targetResources"][0]["id"]
        expr = f"targetResources/any(t: t/id eq '{oid}')"
        expected = [r for r in everything if any(t["id"] == oid for t in r["targetResources"])]
    else:
        upn = sample["initiatedBy"]["user"]["userPrincipalName"]
        expr = f"initiatedBy/user/userPrincipalName eq '{upn}'"
        expected = [r for r in everything if (r["initiatedBy"]["user"] or {}).get("userPrincipalName") == upn]
    got = render(d, walk(d, {"$filter": expr}, top=3))
    assert [r["id"] for r in got] == [r["id"] for r in expected] and expected


def test_background_records_never_touch_what_a_backup_covers() -> None:
    d = tenant(10_000)
    early = walk(d, {"$filter": "activityDateTime le 2026-03-13"})
    names = {r["activityDisplayName"] for r in render(d, early)}
    assert names <= {"Update StsRefreshTokenValidFrom Timestamp", "Change password (self-service)",
                     "User registered security info", "Update user",
                     "Add member to role completed (PIM activation)"}
    syncs = render(d, walk(d, {"$filter": "activityDisplayName eq 'Update user' and activityDateTime le "
                                          "2026-03-13"}))
    assert syncs and all({p["displayName"] for p in r["targetResources"][0]["modifiedProperties"]} ==
                         {"LastDirSyncTime", "Included Updated Properties", "TargetId.UserType",
                          "Action Client Name"} for r in syncs)


def test_mixed_paging_over_http(audit: Api) -> None:
    real = len(audit_records(audit, {"$top": "1000"}))
    audit.control("POST", "config", json={"audit_events": 4000})
    for order in ("asc", "desc"):
        pages = audit_pages(audit, {"$top": "333", "$orderby": f"activityDateTime {order}"})
        records = [r for p in pages for r in p["value"]]
        assert len(records) == real + 4000 and len({r["id"] for r in records}) == len(records)
        times = [r["activityDateTime"] for r in records]
        assert times == sorted(times, reverse=order == "desc")
    recent = audit_records(audit, {"$top": "1000", "$filter": f"activityDateTime ge "
                                   f"{(AUDIT_NOW - timedelta(days=1)).strftime('%Y-%m-%dT%H:%M:%SZ')}"})
    assert all(datetime.fromisoformat(r["activityDateTime"].replace("Z", "+00:00")) >=
               AUDIT_NOW - timedelta(days=1) for r in recent)
