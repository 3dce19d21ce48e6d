"""Fixtures for the emulator server tests: one in-process emulator per worker, raw httpx clients."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from entrabr_tui.emulator import EmulatorServer

PREFER = {"Prefer": "include-unknown-enum-members"}
NS = "microsoft.graph.entraRecoveryServices"
TERMINAL = {"successful", "failed", "abandoned"}


class Api:
    """Raw HTTP access to a running emulator, with a token per role."""

    def __init__(self, server: EmulatorServer) -> None:
        self.server = server
        self.http = httpx.Client(base_url=server.base_url, timeout=30.0)
        self.tokens = {role: server.token(role) for role in ("reader", "admin", "global", "app")}

    def close(self) -> None:
        self.http.close()

    def auth(self, role: str | None) -> dict[str, str]:
        return {} if role is None else {"Authorization": f"Bearer {self.tokens[role]}"}

    def request(self, method: str, url: str, *, role: str | None = "admin",
                headers: dict[str, str] | None = None, **kw: Any) -> httpx.Response:
        return self.http.request(method, url, headers={**self.auth(role), **(headers or {})}, **kw)

    def get(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("POST", url, **kw)

    def control(self, method: str, path: str, **kw: Any) -> Any:
        response = self.http.request(method, f"/_emulator/{path}", **kw)
        assert response.status_code == 200, response.text
        return response.json()

    def snapshots(self, version: str = "v1.0") -> list[dict[str, Any]]:
        response = self.get(f"/{version}/directory/recovery/snapshots")
        assert response.status_code == 200, response.text
        return list(response.json()["value"])

    def newest(self) -> str:
        return str(self.snapshots()[0]["id"])

    def create(self, kind: str, snapshot_id: str | None = None, body: Any = None, *, role: str = "admin",
               version: str = "v1.0") -> httpx.Response:
        segment = "recoveryPreviewJobs" if kind == "preview" else "recoveryJobs"
        sid = snapshot_id or self.newest()
        kw: dict[str, Any] = {} if body is None else {"json": body}
        return self.post(f"/{version}/directory/recovery/snapshots/{sid}/{segment}", role=role, **kw)

    def start(self, kind: str, body: Any = None, snapshot_id: str | None = None) -> str:
        response = self.create(kind, snapshot_id, body)
        assert response.status_code == 202, response.text
        return str(response.headers["location"])

    def wait(self, job_url: str, *, until: set[str] = TERMINAL, limit: float = 20.0) -> dict[str, Any]:
        """Poll a job until its status (with the Prefer header) is in ``until`` (bounded)."""
        deadline = time.monotonic() + limit
        while True:
            response = self.get(job_url, headers=PREFER)
            assert response.status_code == 200, response.text
            doc: dict[str, Any] = response.json()
            if doc["status"] in until:
                return doc
            assert time.monotonic() < deadline, f"job stuck in {doc['status']}"
            time.sleep(0.005)

    def run(self, kind: str, body: Any = None, snapshot_id: str | None = None) -> tuple[str, dict[str, Any]]:
        url = self.start(kind, body, snapshot_id)
        return url, self.wait(url)

    def pages(self, url: str, **kw: Any) -> list[dict[str, Any]]:
        """Follow @odata.nextLink; return every page document."""
        out = []
        next_url: str | None = url
        while next_url:
            response = self.get(next_url, **kw)
            assert response.status_code == 200, response.text
            doc = response.json()
            out.append(doc)
            next_url = doc.get("@odata.nextLink")
            kw.pop("params", None)
        return out


def parse_claims(token: str) -> dict[str, Any]:
    """The claims of an emulator token (unsigned JWT)."""
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims


def assert_error(response: httpx.Response, status: int, code: str | None = None,
                 message: str | None = None) -> dict[str, Any]:
    """Check Graph's error envelope and return ``error``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error: dict[str, Any] = response.json()["error"]
    assert set(error) == {"code", "message", "innerError"}
    inner = error["innerError"]
    assert inner["request-id"] == response.headers["request-id"]
    assert inner["client-request-id"] == response.headers["client-request-id"]
    assert inner["date"]
    if code is not None:
        assert error["code"] == code
    if message is not None:
        assert message in error["message"]
    return error


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[EmulatorServer]:
    """One emulator per test process (fast jobs)."""
    with EmulatorServer(seed=11, objects=3000, job_speed=1e6) as server:
        yield server


@pytest.fixture
def api(emulator_server: EmulatorServer) -> Iterator[Api]:
    """A client on a freshly reset emulator (initial tenant, no jobs, no faults, fast jobs)."""
    client = Api(emulator_server)
    client.control("POST", "reset")
    client.control("POST", "config", json={"latency_ms": 0, "job_speed": 1e6, "sync_flag_in_changes": False})
    try:
        yield client
    finally:
        client.close()


# ---- directory audit log -------------------------------------------------------------------------------
AUDIT_NOW = datetime(2026, 3, 21, 9, 30, tzinfo=UTC)
#: Audit knobs that make reads exact: no ingestion latency, no log gap, no throttle.
AUDIT_EXACT: dict[str, Any] = {
    "audit_latency_s": 0, "audit_gap_fraction": 0.0, "audit_throttle_window_s": 0, "audit_retention_days": 30,
    "audit_page_size": 100, "audit_events": 0, "audit_recovery_activity": None,
    "audit_throttle_no_retry_after": 0.25,
}


@pytest.fixture(scope="session")
def audit_server() -> Iterator[EmulatorServer]:
    """An emulator whose clock starts at a fixed time, so the incident's hours are the same every run."""
    with EmulatorServer(seed=11, objects=3000, job_speed=1e6, now=AUDIT_NOW) as server:
        yield server


@pytest.fixture
def audit(audit_server: EmulatorServer) -> Iterator[Api]:
    """A client on a freshly reset audit emulator with exact audit reads (see ``AUDIT_EXACT``)."""
    client = Api(audit_server)
    client.control("POST", "reset")
    client.control("POST", "config", json={"latency_ms": 0, "job_speed": 1e6, **AUDIT_EXACT})
    try:
        yield client
    finally:
        client.close()


def audit_pages(api: Api, params: dict[str, str] | None = None, version: str = "v1.0",
                role: str = "admin") -> list[dict[str, Any]]:
    """Every page of a directoryAudits listing, following nextLink."""
    return api.pages(f"/{version}/auditLogs/directoryAudits", params=params or {}, role=role)


def audit_records(api: Api, params: dict[str, str] | None = None,
                  version: str = "v1.0") -> list[dict[str, Any]]:
    """Every record of a directoryAudits listing."""
    return [r for page in audit_pages(api, params, version) for r in page["value"]]
