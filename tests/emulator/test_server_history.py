"""The control plane's history: what differs between two snapshots (the emulator's own account), and the
scripted incident played on a later day."""

from __future__ import annotations

from typing import Any

from .conftest import Api


def _report(api: Api, snapshot_id: str) -> dict[tuple[str, str], dict[str, Any]]:
    _, job = api.run("preview", snapshot_id=snapshot_id)
    url = (f"/v1.0/directory/recovery/snapshots/{snapshot_id}/recoveryPreviewJobs/{job['id']}/"
           "microsoft.graph.entraRecoveryServices.getChanges")
    return {(c["entityTypeName"], c["id"]): c for page in api.pages(url) for c in page["value"]}


def test_history_between_two_snapshots_is_what_reports_of_them_show(api: Api) -> None:
    snapshots = [s["id"] for s in api.snapshots()]
    newest, older = snapshots[0], snapshots[2]
    truth = api.control("GET", "history", params={"from": older, "to": newest})
    assert truth["from"] == older and truth["to"] == newest
    objects = {(o["entityType"], o["id"]): o for o in truth["objects"]}
    assert objects, "two days of drift change something"
    # The newest snapshot is the live tenant minus the incident: what the older snapshot's report shows and
    # the newest's does not is exactly what changed between the two snapshots.
    report_old, report_new = _report(api, older), _report(api, newest)
    for key, entry in objects.items():
        if entry["a"] == entry["b"] == "present" and entry["properties"] and key not in report_new:
            change = report_old[key]
            for name, values in entry["properties"].items():
                assert change["deltaFromCurrent"][name] == values["a"]
                assert change["currentState"][name] == values["b"]
    reverse = api.control("GET", "history", params={"from": newest, "to": older})["objects"]
    assert {(o["entityType"], o["id"]) for o in reverse} == set(objects)
    assert all(o["a"] == objects[(o["entityType"], o["id"])]["b"] for o in reverse)


def test_history_refuses_unknown_snapshots(api: Api) -> None:
    assert api.http.get("/_emulator/history", params={"from": "x"}).status_code == 400
    newest = api.newest()
    response = api.http.get("/_emulator/history", params={"from": newest, "to": "bm9wZQ=="})
    assert response.status_code == 404


def test_incident_staged_now_shows_in_the_newest_backups_report(api: Api) -> None:
    api.control("POST", "advance", json={"days": 1})
    newest = api.newest()
    before = _report(api, newest)
    doc = api.control("POST", "incident", json={"objects": 120})
    assert doc["objects"] == 120
    after = _report(api, newest)
    disabled = [c for c in after.values() if c["entityTypeName"] == "user"
                and c["deltaFromCurrent"].get("accountEnabled") is True
                and c["currentState"].get("accountEnabled") is False]
    assert len(disabled) > len([c for c in before.values() if c["entityTypeName"] == "user"
                                and c["currentState"].get("accountEnabled") is False])
    assert any(c["displayName"].startswith("DISABLED - ") for c in disabled)
    policies = [c for c in after.values() if c["entityTypeName"] == "conditionalAccessPolicy"
                and c["currentState"].get("state") == "enabledForReportingButNotEnforced"]
    assert policies
    assert api.http.post("/_emulator/incident", json={"objects": 0}).status_code == 400
    assert api.http.post("/_emulator/incident", json={"budget": 3}).status_code == 400
