"""The audit client against the emulator over loopback HTTP: windows and filters, paging, retention and
latency, the throttle (429 storms never push the client past 5 requests in any 10 seconds), 403s that name
what is missing, and retry events."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from entrabr_tui.emulator import EmulatorServer
from entrabr_tui.graph import AuditForbiddenError, RecoveryClient, RequestBudget, RetryEvent, RetryPolicy
from entrabr_tui.graph.audit import odata_time, window_filter
from entrabr_tui.graph.credentials import EmulatorCredential

NOW = datetime(2026, 3, 21, 9, 30, tzinfo=UTC)
EXACT: dict[str, Any] = {
    "audit_latency_s": 0, "audit_gap_fraction": 0.0, "audit_throttle_window_s": 0, "audit_retention_days": 30,
    "audit_page_size": 100, "audit_events": 0, "audit_throttle_no_retry_after": 0.25,
}
Record = dict[str, Any]


def when(record: Record) -> datetime:
    return datetime.fromisoformat(record["activityDateTime"].replace("Z", "+00:00"))


class VirtualClock:
    """Monotonic seconds that only move when something sleeps (shared by the client and the emulator's
    throttle, so waits are instant and every count is deterministic)."""

    def __init__(self) -> None:
        self.t = 1_000.0

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += max(0.0, seconds)
        await asyncio.sleep(0)


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(seed=11, objects=3000, job_speed=1e6, now=NOW) as emu:
        yield emu


@pytest.fixture
def control(server: EmulatorServer) -> Iterator[httpx.Client]:
    http = httpx.Client(base_url=server.base_url, timeout=30.0)
    http.post("/_emulator/reset").raise_for_status()
    http.delete("/_emulator/faults").raise_for_status()
    http.post("/_emulator/config", json=EXACT).raise_for_status()
    try:
        yield http
    finally:
        http.close()


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def requests_seen(server: EmulatorServer, clock: VirtualClock) -> Iterator[list[float]]:
    """The virtual time of every Graph request that reached the emulator's front door for the audit log
    (faulted ones included); the emulator's throttle runs on the same clock."""
    assert server.service is not None
    service = server.service
    seen: list[float] = []
    original_pick, original_clock = service.faults.pick, service.audit_throttle.clock

    def pick(path: str) -> Any:
        if "/auditLogs/" in path:
            seen.append(clock.t)
        return original_pick(path)

    service.faults.pick = pick  # type: ignore[method-assign]
    service.audit_throttle.clock = clock.now
    service.audit_throttle.reset()
    try:
        yield seen
    finally:
        service.faults.pick = original_pick  # type: ignore[method-assign]
        service.audit_throttle.clock = original_clock
        service.audit_throttle.reset()


@pytest.fixture
async def client(server: EmulatorServer, clock: VirtualClock, control: httpx.Client
                 ) -> AsyncIterator[RecoveryClient]:
    credential = EmulatorCredential(server.base_url, "admin")
    policy = RetryPolicy(sleep=clock.sleep, rng=random.Random(7).random)
    recovery = RecoveryClient(credential, server.graph_url(), retry=policy)
    recovery.audit.budget = RequestBudget(clock=clock.now, sleep=clock.sleep)
    try:
        yield recovery
    finally:
        await recovery.aclose()
        await credential.close()


def raw_records(control: httpx.Client, server: EmulatorServer, role: str = "admin",
                params: dict[str, str] | None = None) -> list[Record]:
    """Every record the emulator serves, read without the client (the reference)."""
    headers = {"Authorization": f"Bearer {server.token(role)}"}
    url: str | None = "/v1.0/auditLogs/directoryAudits"
    out: list[Record] = []
    query = {"$top": "1000", "$orderby": "activityDateTime asc", **(params or {})}
    while url:
        response = control.get(url, params=query, headers=headers)
        assert response.status_code == 200, response.text
        doc = response.json()
        out += doc["value"]
        url, query = doc.get("@odata.nextLink"), {}
    return out


async def window(client: RecoveryClient, since: datetime, until: datetime, top: int = 1000) -> list[Record]:
    out: list[Record] = []
    async for page in client.audit.pages(client.audit.window_url(since, until, top=top)):
        out += page.records
    return out


def test_odata_literals_are_unquoted_with_seven_digits() -> None:
    t0 = datetime(2026, 3, 20, 21, 45, 0, 123456, tzinfo=UTC)
    assert odata_time(t0) == "2026-03-20T21:45:00.1234560Z"
    assert window_filter(t0, NOW) == ("activityDateTime ge 2026-03-20T21:45:00.1234560Z and "
                                      "activityDateTime le 2026-03-21T09:30:00.0000000Z")


async def test_a_window_is_every_record_in_it_oldest_first(client: RecoveryClient, control: httpx.Client,
                                                           server: EmulatorServer) -> None:
    everything = raw_records(control, server)
    since, until = NOW - timedelta(hours=12), NOW - timedelta(hours=2)
    got = await window(client, since, until)
    expected = [r for r in everything if since <= when(r) <= until]
    assert len(expected) > 50
    assert [r["id"] for r in got] == [r["id"] for r in expected]
    assert set(got[0]) == {"id", "activityDateTime", "activityDisplayName", "category", "correlationId",
                           "loggedByService", "operationType", "result", "resultReason", "initiatedBy",
                           "targetResources"}                      # $select: what the join needs, no more


async def test_pages_follow_next_links_verbatim_without_gap_or_repeat(
        client: RecoveryClient, control: httpx.Client, server: EmulatorServer) -> None:
    everything = raw_records(control, server)
    since = NOW - timedelta(days=3)
    pages = [p async for p in client.audit.pages(client.audit.window_url(since, NOW, top=17))]
    assert len(pages) > 5
    for page, following in itertools.pairwise(pages):
        assert page.next_link == following.url                  # the link, exactly as sent
        assert "$skiptoken=" in following.url or "%24skiptoken=" in following.url
    assert pages[-1].next_link is None
    got = [r["id"] for p in pages for r in p.records]
    assert len(got) == len(set(got))
    assert got == [r["id"] for r in everything if when(r) >= since]
    assert [when(r) for p in pages for r in p.records] == sorted(when(r) for p in pages for r in p.records)


FILTERS: dict[str, Callable[[dict[str, Any]], str]] = {
    "correlation id": lambda r: f"correlationId eq '{r['correlationId']}'",
    "target": lambda r: f"targetResources/any(t: t/id eq '{r['targetResources'][0]['id']}')",
    "activity starts with": lambda r: f"startswith(activityDisplayName, '{r['activityDisplayName'][:6]}')",
    "user": lambda r: "initiatedBy/user/userPrincipalName eq "
                      f"'{r['initiatedBy']['user']['userPrincipalName']}'",
}
MATCHES: dict[str, Callable[[dict[str, Any], dict[str, Any]], bool]] = {
    "correlation id": lambda r, s: r["correlationId"] == s["correlationId"],
    "target": lambda r, s: s["targetResources"][0]["id"] in {t["id"] for t in r["targetResources"]},
    "activity starts with": lambda r, s: r["activityDisplayName"].lower().startswith(
        s["activityDisplayName"][:6].lower()),
    "user": lambda r, s: (r["initiatedBy"]["user"] or {}).get("userPrincipalName") ==
    s["initiatedBy"]["user"]["userPrincipalName"],
}


@pytest.mark.parametrize("name", sorted(FILTERS))
async def test_documented_filters_through_the_client(name: str, client: RecoveryClient, control: httpx.Client,
                                                     server: EmulatorServer) -> None:
    everything = raw_records(control, server)
    sample = next(r for r in reversed(everything) if r["initiatedBy"]["user"] and r["targetResources"])
    got = await client.audit.records(FILTERS[name](sample), top=50)
    expected = [r["id"] for r in everything if MATCHES[name](r, sample)]
    assert expected and [r["id"] for r in got] == expected
    one = await client.audit.get(sample["id"])
    assert one["id"] == sample["id"] and one["activityDisplayName"] == sample["activityDisplayName"]


async def test_retention_and_ingestion_latency_bound_what_the_client_sees(
        client: RecoveryClient, control: httpx.Client) -> None:
    control.post("/_emulator/config", json={"audit_events": 3000}).raise_for_status()
    month = await window(client, NOW - timedelta(days=40), NOW)
    assert min(when(r) for r in month) < NOW - timedelta(days=20)       # 30 days kept (P1/P2)
    control.post("/_emulator/config", json={"audit_retention_days": 7}).raise_for_status()
    week = await window(client, NOW - timedelta(days=40), NOW)
    assert week and min(when(r) for r in week) >= NOW - timedelta(days=7)   # 7 days (Free)
    assert {r["id"] for r in week} == {r["id"] for r in month if when(r) >= NOW - timedelta(days=7)}
    control.post("/_emulator/config", json={"audit_latency_s": 3600}).raise_for_status()
    lagging = await window(client, NOW - timedelta(days=40), NOW)
    assert lagging and max(when(r) for r in lagging) <= NOW - timedelta(hours=1)
    assert {r["id"] for r in lagging} < {r["id"] for r in week}


async def test_the_budget_keeps_the_client_within_the_throttle(
        client: RecoveryClient, control: httpx.Client, clock: VirtualClock,
        requests_seen: list[float]) -> None:
    control.post("/_emulator/config",
                 json={"audit_throttle_window_s": 10, "audit_events": 4000}).raise_for_status()
    start = clock.t
    got = await window(client, NOW - timedelta(days=30), NOW, top=100)
    assert len(got) > 2000 and len({r["id"] for r in got}) == len(got)
    assert len(requests_seen) == -(-len(got) // 100) + (len(got) % 100 == 0)
    assert busiest_window(requests_seen) == 5                    # as fast as allowed, never faster
    assert clock.t - start >= (len(requests_seen) - 5) / 5 * 10 - 1e-6  # 5 per 10 s: the pace is the limit


def busiest_window(times: list[float], width: float = 10.0) -> int:
    """The most requests any window ``[t, t + width)`` holds."""
    return max(sum(1 for u in times if t <= u < t + width) for t in times)


async def test_429_storms_never_exceed_the_throttle(
        client: RecoveryClient, control: httpx.Client, server: EmulatorServer, clock: VirtualClock,
        requests_seen: list[float]) -> None:
    control.post("/_emulator/config", json={
        "audit_throttle_window_s": 10, "audit_throttle_no_retry_after": 0.5, "audit_events": 2000}
    ).raise_for_status()
    # a neighbour with the same app spends the tenant's budget first…
    headers = {"Authorization": f"Bearer {server.token('admin')}"}
    for _ in range(5):
        control.get("/v1.0/auditLogs/directoryAudits", params={"$top": "1"}, headers=headers)
    neighbour = len(requests_seen)
    # …and the service throttles on its own, mostly without Retry-After
    control.post("/_emulator/faults", json={"kind": "429", "count": 6, "match": "auditLogs",
                                            "retry_after": 0}).raise_for_status()
    control.post("/_emulator/faults", json={"kind": "429", "count": 2, "match": "auditLogs",
                                            "retry_after": 7}).raise_for_status()
    events: list[RetryEvent] = []
    client.add_retry_listener(events.append)
    got = await window(client, NOW - timedelta(days=30), NOW, top=200)
    ours = requests_seen[neighbour:]
    assert len(got) > 1000 and len({r["id"] for r in got}) == len(got)
    throttled = [e for e in events if e.reason == "HTTP 429"]
    assert len(throttled) >= 8
    assert len(ours) == -(-len(got) // 200) + len(throttled)     # every 429 cost a request…
    assert busiest_window(ours) <= 5                             # …and none of them broke the limit
    honoured = [e for e in throttled if e.retry_after]
    assert honoured and all(e.delay >= (e.retry_after or 0) for e in honoured)      # Retry-After honoured
    bare = [e.delay for e in throttled if not e.retry_after]
    assert bare and max(bare) > 2 * min(bare)                    # exponential backoff without the header


async def test_reader_is_told_the_missing_role_and_the_app_may_read(
        server: EmulatorServer, control: httpx.Client) -> None:
    for role, allowed in (("reader", False), ("app", True), ("admin", True)):
        credential = EmulatorCredential(server.base_url, role)
        recovery = RecoveryClient(credential, server.graph_url())
        try:
            if allowed:
                recent = f"activityDateTime ge {odata_time(NOW - timedelta(hours=1))}"
                assert await recovery.audit.records(recent)
                continue
            with pytest.raises(AuditForbiddenError) as caught:
                await recovery.audit.records()
            assert caught.value.missing == ("role",)
            assert caught.value.status == 403
            assert "Reports Reader" in caught.value.message and "AuditLog.Read.All" not in caught.value.needs
        finally:
            await recovery.aclose()
            await credential.close()


def test_forbidden_names_the_missing_permission() -> None:
    from entrabr_tui.graph.audit import forbidden
    from entrabr_tui.graph.errors import ForbiddenError

    refused = ForbiddenError("Reading the directory audit log was refused: … Graph said: Calling principal "
                             "does not have required MSGraph permissions AuditLog.Read.All", needs="…",
                             status=403, code="Authentication_MSGraphPermissionMissing")
    error = forbidden(refused)
    assert error.missing == ("permission",)
    assert "AuditLog.Read.All" in error.message and "Reports Reader" not in error.message
    assert forbidden(ForbiddenError("refused", needs="…", status=403)).missing == ("permission", "role")


async def test_the_budget_spaces_tokens_by_logical_time() -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)                       # the clock never moves: times stay logical

    budget = RequestBudget(clock=lambda: 100.0, sleep=sleep)
    waits = [await budget.acquire() for _ in range(12)]
    assert waits == [0.0] * 5 + [10.25] * 5 + [20.5] * 2 and slept == waits[5:]
    assert list(budget.sent) == [110.25] * 3 + [120.5] * 2
    budget.hold(30)
    assert budget.delay() == 30 and await budget.acquire() == 30
    assert RequestBudget(window=0).delay() == 0
