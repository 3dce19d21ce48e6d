"""Job lifecycle over HTTP: creation, polling, results, cancel, 409, scoping, retention, enum hiding."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from entrabr_tui.emulator import EmulatorServer

from .conftest import NS, PREFER, TERMINAL, Api, assert_error

NAMES = (b'{"filteringCriteria": {"@odata.type": '
         b'"#microsoft.graph.entraRecoveryServices.recoveryJobEntityNamesFilter",')
IN_PROGRESS = "A recovery job is currently in progress. Wait for it to complete before initiating a new job."


def _all(api: Api, url: str, **kw: Any) -> list[dict[str, Any]]:
    return [i for page in api.pages(url, params={"$top": "999"}, **kw) for i in page["value"]]


def _links(item: dict[str, Any]) -> int:
    """Recoverable links of a change: membership links (owner links are shown but not recoverable)."""
    delta = item.get("deltaFromCurrent") or {}
    return len(delta.get("members@delta", []))


def test_new_job_shape_and_results_gate(api: Api) -> None:
    api.control("POST", "config", json={"job_speed": 1})
    url = api.start("preview")
    job = api.get(url).json()
    uuid.UUID(job["id"])
    assert job["status"] == "initialized"
    assert job["jobCompletionDateTime"] is None and job["filteringCriteria"] is None
    assert job["totalChangedObjectsCalculated"] is None and job["totalChangedLinksCalculated"] is None
    assert job["targetStateDateTime"] == api.snapshots()[0]["createdDateTime"]
    error = assert_error(api.get(f"{url}/getChanges"), 400, "BadRequest")
    assert error["message"] == (f"Job with identifier {job['id']} must have completed successfully prior to "
                                "enumerating changes.")


def test_preview_totals_match_the_report(api: Api) -> None:
    url, job = api.run("preview")
    assert job["status"] == "successful"
    assert job["jobCompletionDateTime"] >= job["jobStartDateTime"]
    items = _all(api, f"{url}/getChanges", headers=PREFER)
    assert len(items) == job["totalChangedObjectsCalculated"]
    assert sum(_links(i) for i in items) == job["totalChangedLinksCalculated"]
    owners = [i for i in items if "owners@delta" in i["deltaFromCurrent"]]
    assert owners and {i["entityTypeName"] for i in owners} == {"group"}
    assert {i["recoveryAction"] for i in items} == {"update", "restore", "softDelete"}
    for item in items:
        assert set(item) >= {"entityTypeName", "id", "displayName", "recoveryAction", "deltaFromCurrent",
                             "currentState"}


def test_second_job_conflicts_until_cancelled(api: Api) -> None:
    api.control("POST", "config", json={"job_speed": 1})
    url = api.start("preview")
    for kind in ("preview", "recovery"):
        assert_error(api.create(kind), 409, "Conflict", IN_PROGRESS)
    assert_error(api.create("preview", api.snapshots()[3]["id"]), 409, message=IN_PROGRESS)
    job_id = url.rsplit("/", 1)[1]
    assert api.post(f"/v1.0/directory/recovery/jobs/{job_id}/cancel").status_code == 202
    assert api.get(url, headers=PREFER).json()["status"] == "abandoned"
    assert_error(api.get(f"{url}/getChanges"), 400)
    assert api.create("recovery").status_code == 202


def test_cancel_terminal_job_is_400(api: Api) -> None:
    url, job = api.run("preview")
    error = assert_error(api.post(f"/v1.0/directory/recovery/jobs/{job['id']}/cancel"), 400, "BadRequest")
    assert "cannot be cancelled" in error["message"]
    assert api.get(url).json()["status"] == "successful"


def test_recovery_fixes_what_the_report_showed(api: Api) -> None:
    before_url, before = api.run("preview")
    before_items = _all(api, f"{before_url}/getChanges", headers=PREFER)
    rec_url, rec = api.run("recovery")
    assert rec["status"] in {"successful", "failed"}
    assert rec["jobCompletionDateTime"] is not None
    calculated = rec["totalChangedObjectsCalculated"] + rec["totalChangedLinksCalculated"]
    assert calculated == before["totalChangedObjectsCalculated"] + before["totalChangedLinksCalculated"]
    done = rec["totalObjectsModified"] + rec["totalLinksModified"] + rec["totalFailedChanges"]
    assert done == calculated
    failed = _all(api, f"{rec_url}/getFailedChanges", headers=PREFER)
    assert all(isinstance(f["failureMessage"], str) and f["failureMessage"] for f in failed)
    assert bool(failed) == (rec["totalFailedChanges"] > 0)
    after_url, _after = api.run("preview")
    after_items = _all(api, f"{after_url}/getChanges", headers=PREFER)
    assert len(after_items) < len(before_items)
    failed_ids = {f["id"] for f in failed}
    assert {i["id"] for i in after_items} <= failed_ids
    jobs = api.get("/v1.0/directory/recovery/jobs").json()["value"]
    assert [j["@odata.type"].rsplit(".", 1)[1] for j in jobs] == ["recoveryPreviewJob", "recoveryJob",
                                                                    "recoveryPreviewJob"]


def test_failed_changes_gate(api: Api) -> None:
    api.control("POST", "config", json={"job_speed": 1})
    url = api.start("recovery")
    error = assert_error(api.get(f"{url}/getFailedChanges"), 400, "BadRequest")
    assert "must have completed" in error["message"]
    job = api.get(url).json()
    assert job["totalObjectsModified"] is None and job["totalFailedChanges"] is None


def test_entity_names_scope(api: Api) -> None:
    body = {"filteringCriteria": {"@odata.type": f"#{NS}.recoveryJobEntityNamesFilter",
                                  "entityTypes": ["user", "conditionalAccessPolicy"]}}
    url, job = api.run("preview", body)
    assert job["filteringCriteria"] == body["filteringCriteria"]
    items = _all(api, f"{url}/getChanges", headers=PREFER)
    assert items and {i["entityTypeName"] for i in items} <= {"user", "conditionalAccessPolicy"}
    _, everything = api.run("preview", {})
    assert everything["totalChangedObjectsCalculated"] > job["totalChangedObjectsCalculated"]
    assert everything["filteringCriteria"] is None


def test_entity_ids_scope_and_scoped_recovery(api: Api) -> None:
    url, _ = api.run("preview")
    items = [i for i in _all(api, f"{url}/getChanges", headers=PREFER) if i["entityTypeName"] == "user"]
    chosen = [i["id"] for i in items[:3]]
    body = {"filteringCriteria": {"@odata.type": f"#{NS}.recoveryJobEntityNameAndIdsFilter",
                                  "filterValues": [{"entityType": "user", "entityIds": chosen}]}}
    scoped_url, scoped = api.run("preview", body)
    assert sorted(i["id"] for i in _all(api, f"{scoped_url}/getChanges")) == sorted(chosen)
    assert scoped["filteringCriteria"]["filterValues"] == [{"entityType": "user", "entityIds": chosen}]
    rec_url, rec = api.run("recovery", body)
    assert rec["totalChangedObjectsCalculated"] == 3
    failed = {f["id"] for f in _all(api, f"{rec_url}/getFailedChanges")}
    after_url, _after = api.run("preview")
    remaining = {i["id"] for i in _all(api, f"{after_url}/getChanges", headers=PREFER)}
    assert set(chosen) - failed <= set(chosen) - remaining
    assert len(remaining) >= len(items) - 3


@pytest.mark.parametrize(("body", "fragment"), [
    (b"{not json", "valid JSON"),
    (b"[1, 2]", "valid JSON"),
    (b'{"filteringCriteria": 5}', "object"),
    (b'{"colour": "red"}', "colour"),
    (b'{"filteringCriteria": {"entityTypes": ["user"]}}', "@odata.type"),
    (b'{"filteringCriteria": {"@odata.type": "#microsoft.graph.entraRecoveryServices.mystery"}}', "mystery"),
    (NAMES + b' "entityTypes": ["user", "printer"]}}', "printer"),
    (NAMES + b' "entityTypes": ["unknownFutureValue"]}}', "unknownFutureValue"),
    (NAMES + b' "entityTypes": []}}', "non-empty"),
    (b'{"filteringCriteria": {"@odata.type": "#microsoft.graph.entraRecoveryServices.'
     b'recoveryJobEntityNameAndIdsFilter", "filterValues": [{"entityType": "user", "entityIds": ["a"]},'
     b' {"entityType": "user", "entityIds": ["b"]}]}}', "Duplicate entityType"),
    (b'{"filteringCriteria": {"@odata.type": "#microsoft.graph.entraRecoveryServices.'
     b'recoveryJobEntityNameAndIdsFilter", "filterValues": [{"entityType": "group", "entityIds": []}]}}',
     "entityIds"),
])
@pytest.mark.parametrize("kind", ["preview", "recovery"])
def test_bad_bodies_are_400(api: Api, kind: str, body: bytes, fragment: str) -> None:
    segment = "recoveryPreviewJobs" if kind == "preview" else "recoveryJobs"
    response = api.post(f"/v1.0/directory/recovery/snapshots/{api.newest()}/{segment}", content=body,
                        headers={"Content-Type": "application/json"})
    assert fragment in assert_error(response, 400, "BadRequest")["message"]
    assert api.get("/v1.0/directory/recovery/jobs").json()["value"] == []


def test_more_than_100_ids_is_400(api: Api) -> None:
    ids = [str(uuid.UUID(int=i)) for i in range(101)]

    def body(group_ids: list[str]) -> dict[str, Any]:
        values = [{"entityType": "user", "entityIds": ids[:60]},
                  {"entityType": "group", "entityIds": group_ids}]
        return {"filteringCriteria": {"@odata.type": f"#{NS}.recoveryJobEntityNameAndIdsFilter",
                                      "filterValues": values}}

    assert_error(api.create("preview", body=body(ids[60:])), 400, message="at most 100")
    assert api.create("preview", body=body(ids[60:100])).status_code == 202


def test_late_enum_members_hidden_without_prefer(api: Api) -> None:
    body = {"filteringCriteria": {"@odata.type": f"#{NS}.recoveryJobEntityNamesFilter",
                                  "entityTypes": ["organization", "user", "appRoleAssignment"]}}
    url, _ = api.run("preview", body)
    plain = api.get(url).json()["filteringCriteria"]["entityTypes"]
    assert plain == ["unknownFutureValue", "user", "unknownFutureValue"]
    assert api.get(url, headers=PREFER).json()["filteringCriteria"]["entityTypes"] == body[
        "filteringCriteria"]["entityTypes"]
    _, whole = api.run("preview")
    items = _all(api, f"{url.rsplit('/', 1)[0]}/{whole['id']}/getChanges", headers=PREFER)
    late = {i["id"] for i in items if i["entityTypeName"] in {"organization", "oAuth2PermissionGrant",
                                                              "appRoleAssignment"}}
    hidden = _all(api, f"{url.rsplit('/', 1)[0]}/{whole['id']}/getChanges")
    assert {i["id"] for i in hidden if i["entityTypeName"] == "unknownFutureValue"} == late
    assert "unknownFutureValue" not in {i["entityTypeName"] for i in items}


def test_loading_status_hidden_without_prefer(api: Api) -> None:
    # job_speed 60: initialised after 0.25 s, then about a minute of loadingData for a small tenant.
    api.control("POST", "config", json={"job_speed": 60})
    url = api.start("preview")
    job = api.wait(url, until={"loadingData", *TERMINAL})
    assert job["status"] == "loadingData"
    plain = api.get(url).json()
    assert plain["status"] == "unknownFutureValue"
    listed = api.get("/v1.0/directory/recovery/jobs").json()["value"][0]
    assert listed["status"] == "unknownFutureValue"
    filtered = api.get("/v1.0/directory/recovery/jobs", params={"$filter": "status eq 'loadingData'"}).json()
    assert [j["id"] for j in filtered["value"]] == [plain["id"]]


def test_only_first_job_on_a_snapshot_loads_data(api: Api) -> None:
    api.control("POST", "config", json={"job_speed": 60})
    first = api.start("preview")
    assert api.wait(first, until={"loadingData", *TERMINAL})["status"] == "loadingData"
    api.post(f"/v1.0/directory/recovery/jobs/{first.rsplit('/', 1)[1]}/cancel")
    second = api.start("preview")
    assert api.wait(second, until={"loadingData", *TERMINAL})["status"] == "loadingData"  # never finished
    api.control("POST", "config", json={"job_speed": 1e6})
    assert api.post(f"/v1.0/directory/recovery/jobs/{second.rsplit('/', 1)[1]}/cancel").status_code == 202
    api.run("preview")     # loads the snapshot fully
    api.control("POST", "config", json={"job_speed": 60})
    third = api.start("recovery")
    seen = api.wait(third, until={"calculating", "loadingData", *TERMINAL})
    assert seen["status"] == "calculating"


def test_job_ids_are_random_by_default(api: Api) -> None:
    first = api.start("preview").rsplit("/", 1)[1]
    api.control("POST", "reset")
    api.control("POST", "config", json={"job_speed": 1e6})
    again = api.start("preview").rsplit("/", 1)[1]
    assert again != first and uuid.UUID(again).version == 4
    assert api.control("GET", "state")["deterministicIds"] is False


def test_job_ids_are_deterministic_across_resets_when_asked() -> None:
    with EmulatorServer(seed=11, objects=300, job_speed=1e6, deterministic_ids=True) as server:
        api = Api(server)
        try:
            first = api.start("preview").rsplit("/", 1)[1]
            api.control("POST", "reset")
            assert api.start("preview").rsplit("/", 1)[1] == first
            assert api.control("GET", "state")["deterministicIds"] is True
        finally:
            api.close()


def test_jobs_vanish_with_their_snapshot_and_after_retention(api: Api) -> None:
    snaps = api.snapshots()
    _, _old = api.run("preview", snapshot_id=snaps[-1]["id"])
    _, new = api.run("preview", snapshot_id=snaps[0]["id"])
    state = api.control("POST", "advance", json={"days": 1})
    assert len(state["snapshots"]) == 7 and state["snapshots"][1]["id"] == snaps[0]["id"]
    ids = [j["id"] for j in api.get("/v1.0/directory/recovery/jobs").json()["value"]]
    assert ids == [new["id"]]
    assert_error(api.get(f"/v1.0/directory/recovery/snapshots/{snaps[-1]['id']}/recoveryPreviewJobs"), 404)
    api.control("POST", "advance", json={"days": 5})
    assert [j["id"] for j in api.get("/v1.0/directory/recovery/jobs").json()["value"]] == [new["id"]]
    api.control("POST", "advance", json={"days": 1})
    assert api.get("/v1.0/directory/recovery/jobs").json()["value"] == []


def test_advance_completes_slow_jobs(api: Api) -> None:
    api.control("POST", "config", json={"job_speed": 1})
    url = api.start("preview")
    assert api.get(url).json()["status"] == "initialized"
    api.control("POST", "advance", json={"days": 1})
    deadline = time.monotonic() + 20
    while (job := api.get(url, headers=PREFER).json())["status"] not in TERMINAL:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    assert job["status"] == "successful"
