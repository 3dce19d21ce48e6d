"""What the restore guards need of the emulator: editing a live object through the control plane (seen by
reports and the audit log), a service that refuses recovery batches above a size, and the live Conditional
Access policies."""

from __future__ import annotations

from typing import Any

from .conftest import NS, Api, assert_error


def _ids_body(ids: list[str], entity_type: str = "user") -> dict[str, Any]:
    return {"filteringCriteria": {"@odata.type": f"#{NS}.recoveryJobEntityNameAndIdsFilter",
                                  "filterValues": [{"entityType": entity_type, "entityIds": ids}]}}


def _changes(api: Api, job: dict[str, Any]) -> list[dict[str, Any]]:
    pages = api.pages(f"/v1.0/directory/recovery/snapshots/{api.newest()}/recoveryPreviewJobs/{job['id']}"
                      "/microsoft.graph.entraRecoveryServices.getChanges")
    return [change for page in pages for change in page["value"]]


def _user_ids(api: Api, count: int) -> list[str]:
    response = api.get("/v1.0/users", params={"$top": str(count), "$select": "id"})
    assert response.status_code == 200, response.text
    return [u["id"] for u in response.json()["value"]]


def test_an_edit_through_the_control_plane_shows_in_the_next_report_and_the_audit_log(api: Api) -> None:
    user = _user_ids(api, 40)[30]
    before = api.control("GET", "audit/truth", params={"objectId": user})["objects"].get(user, [])
    done = api.control("POST", f"tenant/objects/{user}", json={"properties": {"jobTitle": "Edited live"}})
    assert done["entityType"] == "user" and done["properties"] == {"jobTitle": "Edited live"}
    _, job = api.run("preview", _ids_body([user]))
    assert job["status"] == "successful"
    changes = _changes(api, job)
    assert [c["id"] for c in changes] == [user]
    assert changes[0]["currentState"]["jobTitle"] == "Edited live"
    after = api.control("GET", "audit/truth", params={"objectId": user})["objects"][user]
    assert [r["activity"] for r in after[len(before):]] == ["Update user"]


def test_edits_are_checked(api: Api) -> None:
    user = _user_ids(api, 1)[0]
    bodies: list[dict[str, object]] = [
        {}, {"properties": {"_members": {}}}, {"properties": {"id": "x"}}, {"properties": []}, {"what": 1},
    ]
    for body in bodies:
        response = api.http.post(f"/_emulator/tenant/objects/{user}", json=body)
        assert response.status_code == 400, body
    missing = api.http.post("/_emulator/tenant/objects/00000000-0000-0000-0000-000000000000",
                            json={"properties": {"jobTitle": "x"}})
    assert missing.status_code == 404


def test_a_soft_delete_through_the_control_plane_is_a_restore_change(api: Api) -> None:
    user = _user_ids(api, 50)[45]
    assert api.control("POST", f"tenant/objects/{user}", json={"softDelete": True})["deleted"] is True
    _, job = api.run("preview", _ids_body([user]))
    assert [(c["id"], c["recoveryAction"]) for c in _changes(api, job)] == [(user, "restore")]


def test_a_batch_limit_refuses_bigger_recovery_jobs_with_400(api: Api) -> None:
    users = _user_ids(api, 10)
    api.control("POST", "faults", json={"kind": "batch-limit", "max_ids": 4})
    refused = api.create("recovery", body=_ids_body(users[:5]))
    error = assert_error(refused, 400)
    assert "at most 4 object IDs" in error["message"]
    assert api.create("recovery", body=_ids_body(users[:4])).status_code == 202
    fault = api.control("GET", "faults")["faults"][0]
    assert (fault["kind"], fault["max_ids"], fault["fired"], fault["active"]) == ("batch-limit", 4, 1, True)
    bad = api.http.post("/_emulator/faults", json={"kind": "batch-limit"})
    assert bad.status_code == 400


def test_live_conditional_access_policies_need_policy_read(api: Api) -> None:
    response = api.get("/v1.0/identity/conditionalAccess/policies")
    assert response.status_code == 200, response.text
    policies = response.json()["value"]
    assert policies and all(p["@odata.type"] == "#microsoft.graph.conditionalAccessPolicy" for p in policies)
    assert {"conditions", "grantControls", "state", "displayName"} <= set(policies[0])
    first = policies[0]["id"]
    users = dict(policies[0]["conditions"]["users"], excludeGroups=["g-1"])
    api.control("POST", f"tenant/objects/{first}",
                json={"properties": {"conditions": {**policies[0]["conditions"], "users": users}}})
    again = api.get("/v1.0/identity/conditionalAccess/policies").json()["value"]
    assert next(p for p in again if p["id"] == first)["conditions"]["users"]["excludeGroups"] == ["g-1"]
    assert_error(api.get("/v1.0/identity/conditionalAccess/policies", role="reader"), 403)
