"""The control plane: tokens, advancing the clock, configuration, reset, state."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest

from .conftest import Api, assert_error, parse_claims


def test_token_endpoint(api: Api) -> None:
    doc = api.control("GET", "token", params={"role": "reader", "expires_in": "120"})
    assert doc["token_type"] == "Bearer"
    assert 110 <= doc["expires_on"] - time.time() <= 121
    headers = {"Authorization": f"Bearer {doc['access_token']}"}
    assert api.get("/v1.0/directory/recovery/snapshots", role=None, headers=headers).status_code == 200
    assert api.create("recovery", role="reader").status_code == 403
    claims = parse_claims(doc["access_token"])
    assert claims["tid"] == api.server.tenant_id == api.control("GET", "state")["tenantId"]
    expired = api.control("GET", "token", params={"role": "admin", "expires_in": "-1"})["access_token"]
    response = api.get("/v1.0/directory/recovery/snapshots", role=None,
                       headers={"Authorization": f"Bearer {expired}"})
    assert_error(response, 401)
    assert api.http.get("/_emulator/token", params={"role": "owner"}).status_code == 400
    assert api.http.get("/_emulator/token", params={"expires_in": "soon"}).status_code == 400


def test_advance_adds_a_snapshot_and_moves_the_clock(api: Api) -> None:
    before = api.snapshots()
    clock = datetime.fromisoformat(api.control("GET", "state")["clock"].replace("Z", "+00:00"))
    doc = api.control("POST", "advance", json={"days": 2})
    snaps = doc["snapshots"]
    assert len(snaps) == 7
    assert [s["id"] for s in snaps[2:]] == [s["id"] for s in before[:5]]
    newest = datetime.fromisoformat(snaps[0]["createdDateTime"].replace("Z", "+00:00"))
    previous = datetime.fromisoformat(before[0]["createdDateTime"].replace("Z", "+00:00"))
    assert newest - previous == timedelta(days=2)
    assert api.snapshots() == snaps
    moved = datetime.fromisoformat(api.control("GET", "state")["clock"].replace("Z", "+00:00"))
    assert moved - clock >= timedelta(days=2)
    assert api.control("POST", "advance")["snapshots"][1] == snaps[0]      # no body = one day
    for bad in ({"days": 0}, {"days": "1"}, {"days": 1000}):
        assert api.http.post("/_emulator/advance", json=bad).status_code == 400
    assert api.http.post("/_emulator/advance", content=b"{oops").status_code == 400


def _core(config: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in config.items() if not k.startswith("audit_")}


def test_config(api: Api) -> None:
    plain = {"latency_ms": 0, "job_speed": 50.0, "sync_flag_in_changes": False}
    assert _core(api.control("POST", "config", json={"job_speed": 50})) == plain
    assert _core(api.control("POST", "config", json={})) == plain
    assert _core(api.control("GET", "config")) == plain
    for bad in ({"job_speed": 0}, {"job_speed": -1}, {"job_speed": "fast"}, {"latency_ms": -5},
                {"latency_ms": 1.5}, {"speed": 2}, {"sync_flag_in_changes": 1},
                {"sync_flag_in_changes": "yes"}):
        assert api.http.post("/_emulator/config", json=bad).status_code == 400, bad
    assert api.control("GET", "config")["job_speed"] == 50.0
    flagged = api.control("POST", "config", json={"sync_flag_in_changes": True})
    assert _core(flagged) == {**plain, "sync_flag_in_changes": True}


def test_reset_restores_the_initial_world(api: Api) -> None:
    initial = api.control("GET", "state")
    api.run("recovery")
    api.control("POST", "advance", json={"days": 3})
    api.control("POST", "faults", json={"kind": "429", "rate": 0.01})
    changed = api.control("GET", "state")
    assert changed["snapshots"] != initial["snapshots"] and changed["jobs"] and changed["faults"]
    doc = api.control("POST", "reset")
    assert doc["snapshots"] == initial["snapshots"]
    assert doc["jobs"] == [] and doc["faults"] == []
    assert doc["objects"] == initial["objects"]
    url, report = api.run("preview")
    fresh_job = api.get(url).json()
    assert report["totalChangedObjectsCalculated"] == fresh_job["totalChangedObjectsCalculated"]


def test_state_describes_the_world(api: Api) -> None:
    _url, job = api.run("preview")
    state = api.control("GET", "state")
    assert set(state) >= {"objects", "snapshots", "jobs", "faults", "clock"}
    assert state["objects"] > 0 and len(state["snapshots"]) == 7
    assert state["jobs"][0]["id"] == job["id"] and state["jobs"][0]["kind"] == "preview"
    assert state["jobs"][0]["status"] == "successful"


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/_emulator/nothing", 404),
    ("GET", "/_emulator", 404),
    ("PUT", "/_emulator/reset", 405),
    ("GET", "/_emulator/advance", 405),
    ("DELETE", "/_emulator/state", 405),
])
def test_control_errors_are_json(api: Api, method: str, path: str, status: int) -> None:
    response = api.http.request(method, path)
    assert response.status_code == status
    assert response.json()["error"]["message"]
