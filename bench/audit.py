"""Benchmark of "who changed it" at 1,000,000 audit events and 500,000 changes.

Figures:

* pull rate under the throttle model: 5 requests per 10 s per app, 1,000 records a request, so 1,000,000
  records need 1,000 requests, at least 1,990 s (the first five go at once). A short real run against the
  emulator with its throttle on (at real 5/10 s) shows the client keeps that pace and never exceeds it;
* client-side throughput with the throttle off: the real client and cache pulling the emulator's log over
  loopback HTTP (the emulator in a subprocess), and the cache's own ingest rate for the 1,000,000 events;
* join time: the 500,000 changes of a synthesized report joined with the 1,000,000 events (target < 5 s),
  wall clock and CPU (the CPU figure varies less on a busy machine);
* marking a 300,000-change cluster, set-based (target < 1 s);
* what regrouping the tree needs from the engine (actor and cluster lists, their first pages), and the real
  app (headless, 120×40, offline over this cache) from the ``b`` key to the tree grouped by actor, then by
  cluster, drawn (``regroup_first_paint_ms``, the slower of the two; target < 200 ms), and from ``m`` on
  the largest cluster until its marks are drawn (target < 1 s).

The last line is one JSON object.

    .venv/bin/python bench/audit.py [--events 1000000] [--changes 500000] [--cluster 300000]
                                    [--http-events 100000] [--throttled-requests 25]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx

from entrabr_tui.core.audit_model import time_to_us
from entrabr_tui.core.model import Snapshot
from entrabr_tui.engine.attribution import join_report
from entrabr_tui.engine.audit_pull import AuditPuller, AuditSettings
from entrabr_tui.graph import RecoveryClient, RequestBudget
from entrabr_tui.graph.credentials import EmulatorCredential
from entrabr_tui.store.audit_join_store import ChangeGroup
from entrabr_tui.store.cache import Cache
from entrabr_tui.store.paths import StorePaths

PAGE = 1000
CHANGE_PAGE = 999
BACKUP = datetime(2026, 3, 20, 22, 0, tzinfo=UTC)
FIRST = ["James", "Mary", "Anna", "Lars", "Sofia", "Mehmet", "Yuki", "Chen", "Priya", "Olga", "Pierre",
         "Inès"]
LAST = ["Smith", "Jones", "Nowak", "Müller", "Kowalski", "Lee", "Garcia", "Rossi", "Tanaka", "Dubois"]
TITLES = ["Engineer", "Manager", "Director", "Analyst", "Designer", "Consultant", "Architect"]
ROGUE = {"user": None, "app": {"displayName": "Rogue Automation", "appId": None,
                               "servicePrincipalId": "5a5a5a5a-0000-4000-8000-000000000001"}}


def oid(kind: int, i: int) -> str:
    """A deterministic object id (kind 1 users, 2 groups, 3 unrelated users)."""
    return f"{kind:08x}-{i >> 16 & 0xFFFF:04x}-4{i >> 4 & 0xFFF:03x}-8{i & 0xF:03x}-{i:012x}"


def admin(n: int) -> dict[str, Any]:
    return {"user": {"id": oid(4, n), "userPrincipalName": f"admin{n}@contoso.com",
                     "displayName": f"Admin {n}", "ipAddress": "203.0.113.9"}, "app": None}


def name(i: int) -> str:
    return f"{FIRST[i % len(FIRST)]} {LAST[i // len(FIRST) % len(LAST)]} {i}"


class Plan:
    """The synthetic incident: ``cluster`` users disabled and renamed by one app (one cluster), ``edits``
    job-title edits by 20 admins, the rest group memberships added by an HR app; as many unrelated events."""

    def __init__(self, changes: int, events: int, cluster: int) -> None:
        self.changes, self.events, self.cluster = changes, events, cluster
        self.groups = changes // 10
        self.edits = changes - cluster - self.groups
        if self.edits < 0:
            raise SystemExit("--cluster leaves no room for the other changes")

    def change_pages(self) -> Iterator[list[dict[str, Any]]]:
        page: list[dict[str, Any]] = []
        for i in range(self.changes):
            page.append(self.change(i))
            if len(page) == CHANGE_PAGE:
                yield page
                page = []
        if page:
            yield page

    def change(self, i: int) -> dict[str, Any]:
        if i < self.cluster + self.edits:
            who = name(i)
            upn = f"user{i}@contoso.com"
            if i < self.cluster:
                delta = {"accountEnabled": True, "displayName": who}
                current = {"accountEnabled": False, "displayName": f"DISABLED - {who}",
                           "userPrincipalName": upn}
                shown = f"DISABLED - {who}"
            else:
                delta = {"jobTitle": TITLES[i % 7]}
                current = {"jobTitle": TITLES[(i % 7 + 1 + i // 7 % 6) % 7], "userPrincipalName": upn}
                shown = who
            return {"id": oid(1, i), "entityTypeName": "user", "recoveryAction": "update",
                    "displayName": shown,
                    "deltaFromCurrent": {"@odata.type": "#microsoft.graph.user", **delta},
                    "currentState": {"@odata.type": "#microsoft.graph.user", **current}}
        g = i - self.cluster - self.edits
        member = {"@odata.type": "#microsoft.graph.user", "id": oid(1, g), "@removed": {"reason": "changed"}}
        return {"id": oid(2, g), "entityTypeName": "group", "recoveryAction": "update",
                "displayName": f"Team {g}", "deltaFromCurrent": {"@odata.type": "#microsoft.graph.group",
                                                                 "members@delta": [member]},
                "currentState": {"@odata.type": "#microsoft.graph.group"}}

    def event_pages(self) -> Iterator[list[dict[str, Any]]]:
        page: list[dict[str, Any]] = []
        step = timedelta(hours=20) / self.events
        for e in range(self.events):
            page.append(self.event(e, BACKUP + step * (e + 1)))
            if len(page) == PAGE:
                yield page
                page = []
        if page:
            yield page

    def event(self, e: int, when: datetime) -> dict[str, Any]:
        stamp = f"{when:%Y-%m-%dT%H:%M:%S}.{when.microsecond:06d}0Z"
        i = e // 2
        base = {"id": f"Directory_bench_{e:09d}", "activityDateTime": stamp, "category": "UserManagement",
                "loggedByService": "Core Directory", "result": "success", "resultReason": ""}
        if e % 2 or i >= self.changes:
            target = {"id": oid(3, e), "type": "User", "modifiedProperties": [
                {"displayName": "StsRefreshTokensValidFrom", "oldValue": "[]", "newValue": f'["{stamp}"]'}]}
            return {**base, "activityDisplayName": "Update StsRefreshTokenValidFrom Timestamp",
                    "correlationId": oid(5, e), "operationType": "Update",
                    "initiatedBy": {"user": {"id": oid(3, e), "userPrincipalName": f"u{e}@contoso.com"},
                                    "app": None}, "targetResources": [target]}
        change = self.change(i)
        if i < self.cluster:
            delta, current = change["deltaFromCurrent"], change["currentState"]
            props = [{"displayName": "AccountEnabled", "oldValue": "[true]", "newValue": "[false]"},
                     {"displayName": "DisplayName", "oldValue": json.dumps([delta["displayName"]]),
                      "newValue": json.dumps([current["displayName"]])},
                     {"displayName": "Included Updated Properties", "oldValue": None,
                      "newValue": '"AccountEnabled, DisplayName"'}]
            return {**base, "activityDisplayName": "Update user", "correlationId": oid(6, i // 10_000),
                    "operationType": "Update", "initiatedBy": ROGUE,
                    "targetResources": [{"id": change["id"], "type": "User", "modifiedProperties": props}]}
        if i < self.cluster + self.edits:
            old, new = change["deltaFromCurrent"]["jobTitle"], change["currentState"]["jobTitle"]
            props = [{"displayName": "JobTitle", "oldValue": json.dumps([old]),
                      "newValue": json.dumps([new])}]
            return {**base, "activityDisplayName": "Update user", "correlationId": oid(7, i // 50),
                    "operationType": "Update", "initiatedBy": admin(i % 20),
                    "targetResources": [{"id": change["id"], "type": "User", "modifiedProperties": props}]}
        member = change["deltaFromCurrent"]["members@delta"][0]["id"]
        return {**base, "activityDisplayName": "Add member to group", "category": "GroupManagement",
                "correlationId": oid(8, i // 100), "operationType": "Assign",
                "initiatedBy": {"user": None, "app": {"displayName": "HR Onboarding", "appId": oid(9, 1),
                                                      "servicePrincipalId": oid(9, 2)}},
                "targetResources": [{"id": member, "type": "User", "modifiedProperties": []},
                                    {"id": change["id"], "type": "Group", "modifiedProperties": []}]}


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 2)


class RecordingBudget(RequestBudget):
    """The real budget, remembering when each request was let through (for the busiest-window figure)."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    async def acquire(self, on_wait: Any = None) -> float:
        waited = await super().acquire(on_wait)
        self.times.append(self.clock())
        return waited


def busiest(times: list[float], width: float = 10.0) -> int:
    """The most requests any window ``[t, t + width)`` held."""
    return max((sum(1 for u in times if t <= u < t + width) for t in times), default=0)


def start_emulator(events: int) -> tuple[subprocess.Popen[str], str]:
    """The emulator in a process of its own (so the client's figures are the client's)."""
    proc = subprocess.Popen([sys.executable, "-m", "entrabr_tui", "emulator", "--port", "0", "--objects",
                             "1500", "--audit-events", str(events), "--job-speed", "1e6"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if "http://" in line:
            url = line[line.index("http://"):].split()[0].rstrip("/.,")
            return proc, url.rsplit("/v1.0", 1)[0]
    raise SystemExit("the emulator did not start")


async def pull(base_url: str, cache: Cache, *, since: datetime, until: datetime, budget: RequestBudget
               ) -> tuple[int, int, float]:
    credential = EmulatorCredential(base_url, "admin")
    client = RecoveryClient(credential, f"{base_url}/v1.0")
    client.audit.budget = budget
    settings = AuditSettings(span=until - since, max_span=until - since)
    puller = AuditPuller(client.audit, cache.audit, clock=lambda: until, settings=settings)
    try:
        start = time.perf_counter()
        result = await puller.sync(since)
        return result.received, result.requests, time.perf_counter() - start
    finally:
        await client.aclose()
        await credential.close()


def measure_http(args: argparse.Namespace, paths: StorePaths) -> dict[str, Any]:
    proc, base = start_emulator(args.http_events)
    try:
        control = httpx.Client(base_url=base, timeout=60)
        now = datetime.fromisoformat(control.get("/_emulator/state").json()["clock"].replace("Z", "+00:00"))
        control.post("/_emulator/config", json={"audit_throttle_window_s": 0, "audit_latency_s": 0,
                                                "audit_page_size": 1000}).raise_for_status()
        cache = Cache.open("bench-http", paths=paths)
        received, requests, seconds = asyncio.run(pull(base, cache, since=now - timedelta(days=30), until=now,
                                                       budget=RequestBudget(window=0)))
        cache.close()
        # the throttle at real 5/10 s on a scaled window: enough records for the requests asked for
        control.post("/_emulator/config", json={"audit_throttle_window_s": 10}).raise_for_status()
        throttled = Cache.open("bench-throttled", paths=paths)
        per_day = args.http_events / 30
        days = args.throttled_requests * PAGE / per_day * 0.98
        recording = RecordingBudget()
        got, sent, wall = asyncio.run(pull(base, throttled, since=now - timedelta(days=days), until=now,
                                           budget=recording))
        throttled.close()
        control.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return {"http_records": received, "http_requests": requests, "http_seconds": round(seconds, 2),
            "http_records_per_s": round(received / seconds), "throttled_records": got,
            "throttled_requests": sent,
            "throttled_seconds": round(wall, 1), "throttled_records_per_s": round(got / wall, 1),
            "throttled_busiest_10s": busiest(recording.times)}


async def wait_until(condition: Callable[[], bool], timeout: float = 120.0) -> None:
    """Poll ``condition`` without driving the app (it runs as it would)."""
    start = time.perf_counter()
    while not condition():
        if time.perf_counter() - start > timeout:
            raise TimeoutError("the app did not get there in time")
        await asyncio.sleep(0.001)


async def measure_app(paths: StorePaths) -> dict[str, Any]:
    """The real app, headless at 120×40, on an offline session over the bench's cache: from the ``b`` key to
    the grouped tree drawn (by actor, then by cluster), and from ``m`` on the largest cluster until its marks
    are drawn. Keys are posted as the terminal driver posts them (see ``bench/tui.py``)."""
    from textual import events

    from entrabr_tui.engine import open_session
    from entrabr_tui.engine.settings import SessionSettings
    from entrabr_tui.ui.app import EntrabrApp
    from entrabr_tui.ui.widgets.change_nodes import TypeNode
    from entrabr_tui.ui.widgets.group_nodes import GroupNode, Level
    from entrabr_tui.ui.widgets.group_tree import GroupTree

    async def factory() -> Any:
        return await open_session(SessionSettings(offline=True, tenant="bench-audit"), paths=paths)

    def key(app: Any, name: str) -> float:
        app.post_message(events.Key(name, name))
        return time.perf_counter()

    figures: dict[str, Any] = {}
    app = EntrabrApp(factory, clock=lambda: BACKUP + timedelta(hours=21))
    async with app.run_test(size=(120, 40)) as pilot:
        tree = app.main.changes
        await wait_until(lambda: any(isinstance(n.data, TypeNode) for n in tree.root.children))
        await pilot.pause()
        groups = app.main.query_one(GroupTree)
        tree.focus()
        await pilot.pause()

        def top(level: Level) -> bool:
            return any(isinstance(n.data, GroupNode) and n.data.level is level for n in groups.root.children)

        for name, level in (("by_actor_first_paint_ms", Level.ACTOR),
                            ("by_cluster_first_paint_ms", Level.CLUSTER)):
            began = key(app, "b")
            await wait_until(partial(top, level))
            await groups.wait_for_refresh()
            figures[name] = round((time.perf_counter() - began) * 1000, 1)
            await pilot.pause()
        largest = groups.root.children[0]
        assert isinstance(largest.data, GroupNode)
        figures["cluster_changes"] = largest.data.count
        groups.move_cursor(largest)
        await pilot.pause()
        began = key(app, "m")
        await wait_until(lambda: len(tree.marks) >= figures["cluster_changes"])
        await groups.wait_for_refresh()
        figures["mark_cluster_app_ms"] = round((time.perf_counter() - began) * 1000, 1)
        await pilot.pause()
        began = key(app, "b")
        await wait_until(lambda: bool(tree.display))
        await tree.wait_for_refresh()
        figures["by_type_paint_ms"] = round((time.perf_counter() - began) * 1000, 1)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--changes", type=int, default=500_000)
    parser.add_argument("--cluster", type=int, default=300_000)
    parser.add_argument("--http-events", type=int, default=100_000)
    parser.add_argument("--throttled-requests", type=int, default=25)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    plan = Plan(args.changes, args.events, args.cluster)
    results: dict[str, Any] = {"events": args.events, "changes": args.changes, "cluster": args.cluster}
    modelled_requests = -(-args.events // PAGE)
    results["modelled_requests"] = modelled_requests
    results["modelled_pull_seconds"] = max(0, (modelled_requests - 5)) / 5 * 10
    with tempfile.TemporaryDirectory(prefix="entrabr-bench-audit-") as home:
        paths = StorePaths.under(Path(home))
        os.environ["ENTRABR_HOME"] = home
        if args.http_events:
            print(f"pulling {args.http_events:,} records over HTTP, then {args.throttled_requests} requests "
                  "at the real throttle …", file=sys.stderr)
            results.update(measure_http(args, paths))
        cache = Cache.open("bench-audit", paths=paths)
        print(f"storing {args.changes:,} changes …", file=sys.stderr)
        writer = cache.report_writer
        report = writer.begin_report("job-audit-bench", "snap-bench", None, "page:0",
                                     total_expected=args.changes)
        offset = 0
        for page in plan.change_pages():
            url = f"page:{offset}"
            offset += len(page)
            writer.ingest_page(report.id, page, None if offset >= args.changes else f"page:{offset}", url,
                               finalize=False)
        writer.finalize_report(report.id)
        print(f"storing {args.events:,} audit events …", file=sys.stderr)
        since = BACKUP - timedelta(minutes=15)
        pull_row = cache.audit.begin_pull("window", since, BACKUP + timedelta(hours=21), BACKUP, 3600)
        part = cache.audit.begin_slice(pull_row.id, pull_row.since, pull_row.until, "bench:0")
        start = time.perf_counter()
        stored = 0
        pages = list(range(-(-args.events // PAGE)))
        for n, page in zip(pages, plan.event_pages(), strict=True):
            link = None if n == pages[-1] else f"bench:{n}"
            result = cache.audit.ingest_page(pull_row.id, part.seq, page, link)
            stored += result.stored
        cache.audit.finish_pull(pull_row.id)
        ingest_s = time.perf_counter() - start
        results["store_ingest_seconds"] = round(ingest_s, 1)
        results["store_records_per_s"] = round(stored / ingest_s)
        print("joining …", file=sys.stderr)
        start, cpu = time.perf_counter(), time.process_time()
        info = join_report(cache, report.id, since_us=time_to_us(since), retention_start_us=None)
        results["join_seconds"] = round(time.perf_counter() - start, 2)
        results["join_cpu_seconds"] = round(time.process_time() - cpu, 2)  # steadier on a shared machine
        results["join_explained"] = info.explained
        results["join_changes"] = info.changes
        # a refresh that brings 1,000 newer records about changed objects: joined again incrementally
        refresh = [plan.event(2 * i, BACKUP + timedelta(hours=20, seconds=i)) for i in range(0, 2000, 2)]
        for record in refresh:
            record["id"] += "-refresh"
        again = cache.audit.begin_pull("refresh", BACKUP + timedelta(hours=19), BACKUP + timedelta(hours=21),
                                       BACKUP + timedelta(hours=20), 3600)
        part = cache.audit.begin_slice(again.id, again.since, again.until, "refresh:0")
        cache.audit.ingest_page(again.id, part.seq, refresh, None)
        cache.audit.finish_pull(again.id)
        start = time.perf_counter()
        join_report(cache, report.id, since_us=time_to_us(since), retention_start_us=None)
        results["rejoin_after_refresh_seconds"] = round(time.perf_counter() - start, 2)
        store = cache.audit_join
        biggest = store.clusters(report.id, limit=1)[0]
        results["largest_cluster_changes"] = biggest.changes
        group = ChangeGroup(cluster=biggest.cluster_id)
        start = time.perf_counter()
        marked = store.mark_group(report.id, group)
        results["mark_cluster_ms"] = round((time.perf_counter() - start) * 1000, 1)
        results["mark_cluster_marked"] = marked.marked
        start = time.perf_counter()
        cache.queue.undo()
        results["undo_mark_ms"] = round((time.perf_counter() - start) * 1000, 1)
        actors = store.actors(report.id)
        top = actors[0]
        ops = store.operations(report.id, top.actor_key, limit=50)
        results["regroup_engine"] = {
            "actors_ms": median_ms(lambda: store.actors(report.id), args.repeat),
            "operations_ms": median_ms(lambda: store.operations(report.id, top.actor_key, limit=50),
                                       args.repeat),
            "operation_first_page_ms": median_ms(lambda: store.group_page(
                report.id, ChangeGroup(actor=top.actor_key, operation=ops[0].operation), limit=100),
                args.repeat),
            "clusters_ms": median_ms(lambda: store.clusters(report.id, limit=200), args.repeat),
            "cluster_first_page_ms": median_ms(lambda: store.group_page(report.id, group, limit=100),
                                               args.repeat),
            "cluster_count_ms": median_ms(lambda: store.group_count(report.id, group), args.repeat),
        }
        cache.tenant.record_snapshots([Snapshot(report.snapshot_id or "snap-bench", BACKUP, args.changes)],
                                      now=BACKUP)
        cache.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        results["cache_mb"] = round(cache.db.path.stat().st_size / 1e6)
        cache.close()
        print("regrouping in the app …", file=sys.stderr)
        results["app"] = asyncio.run(measure_app(paths))
        results["regroup_first_paint_ms"] = max(results["app"]["by_actor_first_paint_ms"],
                                                results["app"]["by_cluster_first_paint_ms"])
    print(f"modelled pull of {args.events:,} events at 5 requests / 10 s: {modelled_requests:,} requests, "
          f"{results['modelled_pull_seconds']:,.0f} s ({results['modelled_pull_seconds'] / 60:.0f} min)")
    if args.http_events:
        print(f"throttled (real 5/10 s): {results['throttled_requests']} requests in "
              f"{results['throttled_seconds']} s, at most {results['throttled_busiest_10s']} in any 10 s, "
              f"{results['throttled_records_per_s']} records/s")
        print(f"throttle off, client + cache over loopback: {results['http_records']:,} records in "
              f"{results['http_seconds']} s = {results['http_records_per_s']:,} records/s")
    print(f"cache ingest: {args.events:,} events in {results['store_ingest_seconds']} s "
          f"= {results['store_records_per_s']:,} records/s")
    print(f"join: {results['join_changes']:,} changes with {args.events:,} events in "
          f"{results['join_seconds']} s, {results['join_cpu_seconds']} s of CPU "
          f"(target < 5 s, ratio {results['join_seconds'] / 5:.2f})")
    print(f"join again after a refresh of 1,000 records: {results['rejoin_after_refresh_seconds']} s")
    print(f"mark a {results['largest_cluster_changes']:,}-change cluster: {results['mark_cluster_ms']} ms "
          f"(target < 1000 ms, ratio {results['mark_cluster_ms'] / 1000:.2f})")
    print("regroup (engine side): " + ", ".join(f"{k} {v} ms" for k, v in results["regroup_engine"].items()))
    app = results["app"]
    print(f"regroup in the app (b, key to first paint): by actor {app['by_actor_first_paint_ms']} ms, "
          f"by cluster {app['by_cluster_first_paint_ms']} ms (target < 200 ms, ratio "
          f"{results['regroup_first_paint_ms'] / 200:.2f}); back to type → action "
          f"{app['by_type_paint_ms']} ms")
    print(f"mark the {app['cluster_changes']:,}-change cluster in the app (m, key to marks drawn): "
          f"{app['mark_cluster_app_ms']} ms (target < 1000 ms, ratio "
          f"{app['mark_cluster_app_ms'] / 1000:.2f})")
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
