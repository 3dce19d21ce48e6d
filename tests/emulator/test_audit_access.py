"""Who may read the directory audit log, the report throttle, and what a reader sees when (retention,
ingestion latency, log gaps)."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from entrabr_tui.emulator.tokens import role_claims

from .conftest import Api, assert_error, audit_records

URL = "/v1.0/auditLogs/directoryAudits"


def token(role: str, **changes: Any) -> dict[str, str]:
    """A bearer header for ``role`` with some claims replaced (None removes one)."""
    claims = role_claims(role)
    for key, value in changes.items():
        if value is None:
            claims.pop(key, None)
        else:
            claims[key] = value

    def part(doc: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(doc).encode()).rstrip(b"=").decode()

    return {"Authorization": f"Bearer {part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."}


def when(record: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(record["activityDateTime"].replace("Z", "+00:00"))


def clock(api: Api) -> datetime:
    return datetime.fromisoformat(api.control("GET", "state")["clock"].replace("Z", "+00:00"))


# ---- authorization ---------------------------------------------------------------------------------------
BACKUP_ADMIN = "b6a27b2b-f905-4b2e-81b5-0d90e0ef1fdb"
REPORTS_READER = "4a5d8f65-41da-4de4-8968-e035b65339cf"
SECURITY_READER = "5d6b6bb7-de71-4623-b4af-96380a352509"
GLOBAL_READER = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
ALL_SCOPES = ("EntraBackup.Read.All EntraBackup.ReadWrite.Preview EntraBackup.ReadWrite.Recovery "
              "AuditLog.Read.All Directory.Read.All")


@pytest.mark.parametrize("role", ["admin", "global", "app"])
def test_the_demo_roles_that_may_read_the_log(audit: Api, role: str) -> None:
    assert audit.get(URL, role=role, params={"$top": "1"}).status_code == 200


def test_the_backup_reader_has_no_audit_access_but_keeps_backups(audit: Api) -> None:
    assert_error(audit.get(URL, role="reader"), 403, "Authentication_RequestFromUnsupportedUserRole",
                 "User is not in the allowed roles")
    assert audit.get("/v1.0/directory/recovery/snapshots", role="reader").status_code == 200


@pytest.mark.parametrize(("changes", "status", "code", "fragment"), [
    ({"wids": [BACKUP_ADMIN]}, 403, "Authentication_RequestFromUnsupportedUserRole", "allowed roles"),
    ({"wids": None}, 403, "Authentication_RequestFromUnsupportedUserRole", "allowed roles"),
    ({"scp": "EntraBackup.Read.All Directory.Read.All"}, 403, "Authentication_MSGraphPermissionMissing",
     "AuditLog.Read.All"),
    ({"scp": "EntraBackup.Read.All AuditLog.Read.All"}, 403, "Authentication_MSGraphPermissionMissing",
     "Directory.Read.All"),
    ({"wids": [SECURITY_READER], "scp": "AuditLog.Read.All Directory.Read.All"}, 200, None, None),
    ({"wids": [GLOBAL_READER.upper()], "scp": "AuditLog.Read.All Directory.Read.All"}, 200, None, None),
    ({"wids": [REPORTS_READER], "scp": ALL_SCOPES}, 200, None, None),
])
def test_delegated_tokens_need_both_scopes_and_an_audit_role(audit: Api, changes: dict[str, Any], status: int,
                                                              code: str | None, fragment: str | None) -> None:
    response = audit.get(URL, role=None, headers=token("admin", **changes))
    if status == 200:
        assert response.status_code == 200, response.text
    else:
        assert_error(response, status, code, fragment)


def test_app_tokens_need_the_audit_app_role(audit: Api) -> None:
    no_role = audit.get(URL, role=None, headers=token("app", roles=["EntraBackup.Read.All"]))
    assert_error(no_role, 403, "Authentication_MSGraphPermissionMissing",
                 "Calling principal does not have required MSGraph permissions AuditLog.Read.All")
    assert audit.get(URL, role=None, headers=token("app", roles=["AuditLog.Read.All"])).status_code == 200


def test_every_audit_path_is_authorized_first(audit: Api) -> None:
    for path in ("/v1.0/auditLogs/signIns", "/beta/auditLogs/directoryAudits/x", "/v1.0/auditLogs"):
        assert_error(audit.get(path, role="reader"), 403)
    assert_error(audit.get("/v1.0/auditLogs/signIns"), 400, "BadRequest", "signIns")
    assert_error(audit.get(URL, role=None), 401)


# ---- throttle --------------------------------------------------------------------------------------------
def throttled(api: Api, no_retry_after: float) -> None:
    # a window so long that no request is refunded while the test runs: the count is exact
    api.control("POST", "config", json={"audit_throttle_window_s": 3600, "audit_throttle_no_retry_after":
                                        no_retry_after})


def test_the_sixth_request_in_a_window_is_429_with_retry_after(audit: Api) -> None:
    throttled(audit, 0.0)
    for _ in range(5):
        assert audit.get(URL, params={"$top": "1"}).status_code == 200
    response = audit.get(URL, params={"$top": "1"})
    assert response.status_code == 429
    error = response.json()["error"]
    assert error["code"] == "TooManyRequests" and error["message"] == "Please retry again later."
    assert error["innerError"]["code"] == "429" and error["innerError"]["status"] == "429"
    assert error["innerError"]["request-id"] == response.headers["request-id"]
    retry = float(response.headers["retry-after"])
    assert 0 < retry <= 3600 / 5
    assert audit.get("/v1.0/directory/recovery/snapshots").status_code == 200     # not a report resource


def test_some_429s_come_without_retry_after(audit: Api) -> None:
    throttled(audit, 1.0)
    statuses = [audit.get(URL, params={"$top": "1"}).status_code for _ in range(7)]
    assert statuses == [200] * 5 + [429] * 2
    response = audit.get(URL)
    assert response.status_code == 429 and "retry-after" not in response.headers
    throttled(audit, 0.5)
    audit.control("POST", "reset")
    seen = {"retry-after" in r.headers for r in (audit.get(URL) for _ in range(30)) if r.status_code == 429}
    assert seen == {True, False}


def test_one_budget_per_app_for_every_report_resource(audit: Api) -> None:
    throttled(audit, 0.0)
    record = audit.get(URL, params={"$top": "1"}).json()["value"][0]
    assert audit.get(f"{URL}/{record['id']}").status_code == 200
    assert audit.get("/beta/auditLogs/directoryAudits").status_code == 200
    assert audit.get("/v1.0/auditLogs/signIns").status_code == 400          # not served, still counted
    assert audit.get(URL, role="global").status_code == 200                 # same app (client id)
    assert audit.get(URL).status_code == 429
    other_app = token("admin", appid="11111111-2222-4333-8444-555555555555")
    assert audit.get(URL, role=None, headers=other_app).status_code == 200
    other_tenant = token("admin", tid="99999999-2222-4333-8444-555555555555")
    assert audit.get(URL, role=None, headers=other_tenant).status_code == 200
    audit.control("POST", "config", json={"audit_throttle_window_s": 0})
    assert all(audit.get(URL, params={"$top": "1"}).status_code == 200 for _ in range(8))


# ---- what a reader sees ----------------------------------------------------------------------------------
def test_retention_cuts_old_records_off(audit: Api) -> None:
    full = audit_records(audit, {"$top": "1000"})
    now = clock(audit)
    assert min(when(r) for r in full) < now - timedelta(days=2)
    audit.control("POST", "config", json={"audit_retention_days": 2})
    kept = audit_records(audit, {"$top": "1000"})
    assert kept and len(kept) < len(full)
    assert all(when(r) >= now - timedelta(days=2, seconds=5) for r in kept)
    cut = now - timedelta(days=2, seconds=-5)
    assert {r["id"] for r in full if when(r) >= cut} <= {r["id"] for r in kept}
    audit.control("POST", "config", json={"audit_retention_days": 7, "audit_events": 3000})
    background = audit_records(audit, {"$top": "1000", "$filter": "loggedByService eq 'PIM'"})
    assert background and all(when(r) >= now - timedelta(days=7, seconds=5) for r in background)
    audit.control("POST", "config", json={"audit_retention_days": 30})
    month = audit_records(audit, {"$top": "1000", "$filter": "loggedByService eq 'PIM'"})
    assert len(month) > 3 * len(background) and {r["id"] for r in background} <= {r["id"] for r in month}


def test_records_become_visible_only_after_the_ingestion_latency(audit: Api) -> None:
    full = audit_records(audit, {"$top": "1000"})
    audit.control("POST", "config", json={"audit_latency_s": 3 * 3600})
    now = clock(audit)
    late = audit_records(audit, {"$top": "1000"})
    assert 0 < len(late) < len(full)
    assert all(when(r) <= now - timedelta(hours=3) + timedelta(seconds=30) for r in late)
    assert {r["id"] for r in full if when(r) <= now - timedelta(hours=3)} <= {r["id"] for r in late}
    audit.control("POST", "config", json={"audit_latency_s": [120, 300]})
    spread = audit_records(audit, {"$top": "1000"})
    now = clock(audit)
    assert all(when(r) <= now - timedelta(seconds=120) for r in spread)
    assert {r["id"] for r in full if when(r) <= now - timedelta(seconds=300)} <= {r["id"] for r in spread}
    assert [r["id"] for r in audit_records(audit, {"$top": "1000"})] == [r["id"] for r in spread]


def test_a_log_gap_drops_whole_changes_deterministically(audit: Api) -> None:
    full = audit_records(audit, {"$top": "1000"})
    audit.control("POST", "config", json={"audit_gap_fraction": 0.25})
    gapped = audit_records(audit, {"$top": "1000"})
    missing = {r["id"] for r in full} - {r["id"] for r in gapped}
    assert 0.1 * len(full) < len(missing) < 0.45 * len(full)
    assert {r["id"] for r in gapped} <= {r["id"] for r in full}
    assert [r["id"] for r in audit_records(audit, {"$top": "1000"})] == [r["id"] for r in gapped]
    truth = audit.control("GET", "audit/truth")["objects"]
    unlogged = {e["id"] for changes in truth.values() for e in changes if not e["logged"]}
    assert missing == unlogged
    by_op: dict[int, set[bool]] = {}
    for changes in truth.values():
        for e in changes:
            by_op.setdefault(e["operation"], set()).add(e["logged"])
    assert all(len(flags) == 1 for flags in by_op.values())          # a change is logged whole or not at all


def test_state_counts_the_log(audit: Api) -> None:
    audit.control("POST", "config", json={"audit_events": 500})
    state = audit.control("GET", "state")["audit"]
    assert state["records"] == len(audit_records(audit, {"$top": "1000"})) - 500 and state["gapped"] == 0
    assert state["background"] == 500 and 0 < state["operations"] < state["records"]
