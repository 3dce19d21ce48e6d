"""Redirects and stated counts on the wire (scripted Graph under the real SDK middleware).

A redirect within the service's origin is followed; one to another scheme, host or port is refused before
the hop, for every kind of request. A stated ``@odata.count`` is the expected number of a walk.
"""

from __future__ import annotations

import httpx
import orjson
import pytest

from entrabr_tui.core.completeness import Completeness
from entrabr_tui.core.model import JobKind
from entrabr_tui.graph import IncompleteChangesError, RecoveryClient, UnexpectedResponseError

from .conftest import SleepRecorder, fast_policy
from .token_credential import StaticTokenCredential

BASE = "https://graph.microsoft.com/v1.0"
SNAP = "MTc4NTE4OTYwMA=="
SNAPSHOTS = {"value": [{"id": SNAP, "createdDateTime": "2026-07-27T22:00:00Z"}]}


def ok(body: object) -> httpx.Response:
    return httpx.Response(200, content=orjson.dumps(body), headers={"content-type": "application/json"})


class Wire:
    """Answers ``/moved`` paths with a redirect to ``target`` + the rest of the path; records every URL."""

    def __init__(self, target: str, status: int = 307) -> None:
        self.target = target
        self.status = status
        self.urls: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(str(request.url))
        path = request.url.path
        if "/moved/" not in path:
            if path.endswith("/snapshots"):
                return ok(SNAPSHOTS)
            return ok({"value": [{"id": "u1", "entityTypeName": "user", "recoveryAction": "update"}]})
        rest = path.split("/moved/", 1)[1]
        return httpx.Response(self.status, headers={"location": f"{self.target}/{rest}"})


def client_for(wire: Wire, sleeps: SleepRecorder, base: str = BASE) -> RecoveryClient:
    return RecoveryClient(StaticTokenCredential("t"), base, transport=httpx.MockTransport(wire),
                          retry=fast_policy(sleeps))


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_a_redirect_within_the_service_is_followed(sleeps: SleepRecorder, status: int) -> None:
    wire = Wire(f"{BASE}", status)
    async with client_for(wire, sleeps) as client:
        walk = client.iter_change_pages(SNAP, "j1", start_url=f"{BASE}/moved/directory/x/getChanges")
        pages = [page async for page in walk]
    assert [p.items[0]["id"] for p in pages] == ["u1"] and walk.outcome.reached_end
    assert wire.urls == [f"{BASE}/moved/directory/x/getChanges", f"{BASE}/directory/x/getChanges"]


@pytest.mark.parametrize(
    "target",
    [
        "https://graph.example.net/v1.0",  # another host
        "https://graph.microsoft.com:8443/v1.0",  # another port
        "http://graph.microsoft.com/v1.0",  # another scheme
    ],
)
async def test_a_redirect_elsewhere_is_refused_before_the_hop(sleeps: SleepRecorder, target: str) -> None:
    wire = Wire(target)
    async with client_for(wire, sleeps) as client:
        with pytest.raises(UnexpectedResponseError, match="redirected the request to another host") as caught:
            [p async for p in client.iter_change_pages(SNAP, "j1", start_url=f"{BASE}/moved/x/getChanges")]
    assert wire.urls == [f"{BASE}/moved/x/getChanges"]  # the other origin was never asked
    assert caught.value.operation is not None and "changes" in caught.value.operation.doing
    assert sleeps.delays == []


async def test_every_request_kind_refuses_a_redirect_elsewhere(sleeps: SleepRecorder) -> None:
    wire = Wire("https://elsewhere.example/v1.0")
    async with client_for(wire, sleeps, base=f"{BASE}/moved") as client:
        with pytest.raises(UnexpectedResponseError, match="Listing backups"):
            await client.list_snapshots()  # typed SDK builder
        with pytest.raises(UnexpectedResponseError, match="Reading a job"):
            await client.get_job(JobKind.PREVIEW, SNAP, "j1")  # bytes through the adapter
        with pytest.raises(UnexpectedResponseError, match="Creating a difference report"):
            await client.create_preview_job(SNAP)  # native response
    assert all(url.startswith(f"{BASE}/moved/") for url in wire.urls) and len(wire.urls) == 3


async def test_a_stated_count_is_what_a_failed_change_walk_must_deliver(sleeps: SleepRecorder) -> None:
    page = {"@odata.count": 5, "value": [{"id": f"f{n}", "entityTypeName": "user", "recoveryAction": "update",
                                          "failureMessage": "no"} for n in range(3)]}
    transport = httpx.MockTransport(lambda request: ok(page))
    async with RecoveryClient(StaticTokenCredential("t"), BASE, transport=transport,
                              retry=fast_policy(sleeps)) as client:
        result = await client.read_failed_changes(SNAP, "r1")
        assert result.outcome.stated_count == 5 and result.expected == 5
        assert result.completeness is Completeness.SHORT
        with pytest.raises(IncompleteChangesError, match="ended after 3 of 5 changes"):
            await client.get_failed_changes(SNAP, "r1")
        page["@odata.count"] = 3
        assert [c.failure_message for c in await client.get_failed_changes(SNAP, "r1")] == ["no"] * 3
        del page["@odata.count"]
        unstated = await client.read_failed_changes(SNAP, "r1")
        assert unstated.expected is None and unstated.completeness is Completeness.UNVERIFIED
