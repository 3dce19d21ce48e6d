"""Injected faults (each kind, by count and by rate, deterministic) and added latency."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import orjson
import pytest

from .conftest import Api, assert_error

SNAPSHOTS = "/v1.0/directory/recovery/snapshots"


def _fault(api: Api, **spec: Any) -> str:
    return str(api.control("POST", "faults", json=spec)["id"])


@pytest.mark.parametrize(("kind", "status", "code", "retry_after"), [
    ("429", 429, "TooManyRequests", "3"),
    ("503", 503, "ServiceUnavailable", "3"),
    ("504", 504, "GatewayTimeout", None),
])
def test_error_faults_by_count(api: Api, kind: str, status: int, code: str, retry_after: str | None) -> None:
    spec: dict[str, Any] = {"kind": kind, "count": 2}
    if retry_after:
        spec["retry_after"] = 3
    _fault(api, **spec)
    for _ in range(2):
        response = api.get(SNAPSHOTS)
        assert_error(response, status, code)
        assert response.headers.get("retry-after") == retry_after
        assert api.http.get("/_emulator/state").status_code == 200      # control plane unaffected
    assert api.get(SNAPSHOTS).status_code == 200
    fault = api.control("GET", "faults")["faults"][0]
    assert fault["fired"] == 2 and fault["active"] is False


def test_default_retry_after_is_one_second(api: Api) -> None:
    _fault(api, kind="503")
    assert api.get(SNAPSHOTS).headers["retry-after"] == "1"


def test_drop_cuts_the_connection_after_the_request_ran(api: Api) -> None:
    _fault(api, kind="drop", match="recoveryPreviewJobs")
    assert api.get(SNAPSHOTS).status_code == 200
    with httpx.Client(base_url=api.server.base_url) as fresh, pytest.raises(httpx.TransportError):
        fresh.post(f"{SNAPSHOTS}/{api.newest()}/recoveryPreviewJobs", headers=api.auth("admin"))
    jobs = api.get("/v1.0/directory/recovery/jobs").json()["value"]
    assert len(jobs) == 1                       # the job was created before the connection dropped
    _fault(api, kind="drop")
    with httpx.Client(base_url=api.server.base_url) as fresh, pytest.raises(httpx.TransportError):
        fresh.get(SNAPSHOTS, headers=api.auth("admin"))
    assert api.get(SNAPSHOTS).status_code == 200


def test_truncate_sends_a_complete_response_with_cut_json(api: Api) -> None:
    whole = api.get(SNAPSHOTS).content
    _fault(api, kind="truncate", count=1)
    response = api.get(SNAPSHOTS)
    assert response.status_code == 200
    assert int(response.headers["content-length"]) == len(response.content) < len(whole)
    assert whole.startswith(response.content)
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(response.content)
    assert api.get(SNAPSHOTS).content.startswith(b'{"@odata.context"')


def test_slow_fault_and_latency(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """The front door waits the fault's delay, then the configured latency, before answering (the waits it
    asks for are recorded; how long they take is the clock's business, not the test's)."""
    waits: list[float] = []
    real_sleep = asyncio.sleep

    async def recording_sleep(delay: float, result: Any = None) -> Any:
        waits.append(delay)
        return await real_sleep(delay, result)

    monkeypatch.setattr(asyncio, "sleep", recording_sleep)  # the front door waits with asyncio.sleep
    _fault(api, kind="slow", delay_ms=300)
    assert api.get(SNAPSHOTS).status_code == 200
    assert 0.3 in waits and 0.25 not in waits
    api.control("POST", "config", json={"latency_ms": 250})
    assert api.get(SNAPSHOTS).status_code == 200
    assert 0.25 in waits
    assert api.control("GET", "config")["latency_ms"] == 250


def test_match_limits_the_fault_to_some_paths(api: Api) -> None:
    _fault(api, kind="429", count=5, match="/jobs")
    assert api.get(SNAPSHOTS).status_code == 200
    assert api.get("/beta/directory/recovery/jobs").status_code == 429
    assert api.get(SNAPSHOTS).status_code == 200


def _statuses(api: Api, n: int) -> list[int]:
    return [api.get(SNAPSHOTS).status_code for _ in range(n)]


def test_rate_faults_are_deterministic_under_the_seed(api: Api) -> None:
    _fault(api, kind="503", rate=0.5)
    first = _statuses(api, 30)
    assert {200, 503} == set(first)
    api.control("DELETE", "faults")
    assert _statuses(api, 5) == [200] * 5
    api.control("POST", "reset")
    _fault(api, kind="503", rate=0.5)
    assert _statuses(api, 30) == first
    api.control("POST", "reset")
    _fault(api, kind="504", rate=0.0)
    _fault(api, kind="429", rate=1.0)
    assert _statuses(api, 3) == [429] * 3


@pytest.mark.parametrize("spec", [
    {"kind": "418"},
    {"kind": "429", "count": 0},
    {"kind": "429", "rate": 1.5},
    {"kind": "429", "rate": 0.5, "count": 3},
    {"kind": "504", "retry_after": 2},
    {"kind": "429", "delay_ms": 5},
    {"kind": "429", "colour": "red"},
    {"kind": "slow", "match": 5},
    {"kind": "429", "count": True},
])
def test_bad_fault_specs_are_400(api: Api, spec: dict[str, Any]) -> None:
    response = api.http.post("/_emulator/faults", json=spec)
    assert response.status_code == 400
    assert response.json()["error"]["message"]
    assert api.control("GET", "faults")["faults"] == []


def test_faults_never_touch_the_control_plane(api: Api) -> None:
    _fault(api, kind="504", rate=1.0)
    for path in ("state", "config", "faults", "token"):
        assert api.http.get(f"/_emulator/{path}").status_code == 200
    assert api.get(SNAPSHOTS).status_code == 504
    assert api.http.delete("/_emulator/faults").json() == {"faults": []}
    assert api.get(SNAPSHOTS).status_code == 200
