"""A report is complete only when it is, every change object is kept, and ids are the service's own — end
to end through the real client, the emulator's page faults, the cache and the command line.

* a page without a next link, a short page, an unreadable change object: never a complete report (exit 7,
  a message saying how far it got); what arrived is kept, unreadable objects raw, counted and listed;
* Microsoft's documented ``getChanges`` example with several changes per object keeps them all, through
  the store, the queries and ``changes --json``;
* snapshot ids round-trip unchanged (documentation-style ISO ids): ``jobs --json`` and exports print only
  ids the service gave.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from entrabr_tui.emulator import EmulatorServer

from .helpers import cli


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[EmulatorServer]:
    knobs: dict[str, Any] = getattr(request, "param", {})
    emulator = EmulatorServer(seed=9, objects=1500, drift=1500, job_speed=1e6, **knobs)  # pages of 999
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()


def _run(server: EmulatorServer, *argv: str) -> Any:
    return cli("--graph-url", server.graph_url(), "--auth", "emulator", *argv)


def _fault(server: EmulatorServer, **spec: Any) -> None:
    httpx.post(f"{server.base_url}/_emulator/faults", json=spec, timeout=30).raise_for_status()


def _preview_jobs(server: EmulatorServer) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {server.token('admin')}"}
    response = httpx.get(f"{server.graph_url()}/directory/recovery/jobs", headers=headers, timeout=30)
    response.raise_for_status()
    return [j for j in response.json()["value"] if j["@odata.type"].endswith(".recoveryPreviewJob")]


@pytest.mark.parametrize(("fault", "why"), [
    ({"kind": "no-next-link", "count": 2}, "the service ended the list early"),
    ({"kind": "short-page", "count": 4, "lose": 7}, "the service ended the list early"),
])
def test_a_list_that_ends_short_is_never_a_complete_report(server: EmulatorServer, fault: dict[str, Any],
                                                            why: str) -> None:
    _fault(server, match="getChanges", **fault)  # both walks of the download end short

    result = _run(server, "report", "--json")

    assert result.code == 7, result.stderr
    [job] = _preview_jobs(server)
    total = job["totalChangedObjectsCalculated"]
    assert total > 999
    report = result.json()["report"]
    assert report["complete"] is False and report["downloaded"] < total and report["total"] == total
    assert report["state"] == f"incomplete: {report['downloaded']:,} of {total:,} ({why})"
    assert "is incomplete: " in result.stderr and "run 'entrabr report' again" in result.stderr
    listed = _run(server, "changes", "--offline", "--limit", "0", "--json")
    assert listed.json()["complete"] is False and listed.json()["returned"] == report["downloaded"]
    assert "incomplete" in listed.stderr

    again = _run(server, "report", "--json")  # the faults are spent: downloaded again, proven complete

    assert again.code == 0, again.stderr
    report = again.json()["report"]
    assert report["id"] == job["id"] and report["complete"] is True
    assert report["downloaded"] == report["total"] == again.json()["totalChanges"] == total
    assert len(_preview_jobs(server)) == 1


def test_a_list_that_ended_short_once_is_walked_again_and_proven(server: EmulatorServer) -> None:
    _fault(server, match="getChanges", kind="no-next-link", count=1)
    result = _run(server, "report", "--json")
    assert result.code == 0, result.stderr
    report = result.json()["report"]
    assert report["complete"] is True and report["downloaded"] == report["total"]


def test_unreadable_change_objects_are_kept_counted_listed_and_exported(server: EmulatorServer) -> None:
    _fault(server, match="getChanges", kind="malformed-change", rate=0.01)  # every walk gets some

    result = _run(server, "report", "--json")

    assert result.code == 7, result.stderr
    report = result.json()["report"]
    total = _preview_jobs(server)[0]["totalChangedObjectsCalculated"]
    unreadable_count = report["unreadable"]
    assert unreadable_count > 0 and report["downloaded"] == total and report["complete"] is False
    assert f"{unreadable_count} change object(s) could not be read" in result.stderr
    listed = _run(server, "changes", "--offline", "--limit", "0", "--json").json()
    assert listed["returned"] == total and listed["unreadableCount"] == unreadable_count
    unreadable = [row for row in listed["changes"] if "unreadable" in row]
    assert len(unreadable) == unreadable_count
    assert all(row["action"] == "(unreadable)" and row["recoverable"] is False for row in unreadable)
    text = _run(server, "changes", "--offline", "--limit", "0")
    assert f"{unreadable_count} change object(s) could not be read" in text.stderr
    exported = _run(server, "export", "--offline", "--format", "json", "--out", "-")
    assert exported.code == 0, exported.stderr
    kept = [c for c in exported.json()["changes"] if "unreadable" in c]
    assert len(kept) == unreadable_count and all("raw" in c for c in kept)


def test_content_from_another_host_is_never_taken_as_the_answer(server: EmulatorServer) -> None:
    _fault(server, match="getChanges", kind="redirect-foreign", count=1)
    result = _run(server, "report", "--json")
    assert result.code != 0 and "another host" in result.stderr
    listed = _run(server, "changes", "--offline", "--json")
    assert listed.code != 0 or listed.json()["complete"] is False


def _docs_example_twice() -> list[dict[str, Any]]:
    """Microsoft's §5.6 ``getChanges`` example, each object's change followed by a second change of the same
    object (several change objects per object are legal)."""
    user = "#microsoft.graph.user"
    example: list[dict[str, Any]] = [
        {"entityTypeName": "user", "id": "aaaaaaaa-0000-4000-8000-000000000001", "displayName": "J. Smith",
         "recoveryAction": "update",
         "deltaFromCurrent": {"@odata.type": user, "displayName": "Jane Smith", "jobTitle": "Engineer",
                              "accountEnabled": True},
         "currentState": {"@odata.type": user, "displayName": "J. Smith", "jobTitle": "Manager",
                          "accountEnabled": False}},
        {"entityTypeName": "user", "id": "bbbbbbbb-0000-4000-8000-000000000002", "displayName": "Old Name",
         "recoveryAction": "restore",
         "deltaFromCurrent": {"@odata.type": user, "displayName": "Old Name", "deletedDateTime": None},
         "currentState": {"@odata.type": user, "displayName": "Old Name",
                          "deletedDateTime": "2026-03-21T07:00:00Z"}},
        {"entityTypeName": "user", "id": "cccccccc-0000-4000-8000-000000000003", "displayName": "New Hire",
         "recoveryAction": "softDelete",
         "deltaFromCurrent": {"@odata.type": user, "@removed": {"reason": "changed"},
                              "deletedDateTime": "2026-03-21T10:00:00Z"},
         "currentState": {"@odata.type": user, "deletedDateTime": None}},
        {"entityTypeName": "group", "id": "dddddddd-0000-4000-8000-000000000004", "displayName": "Finance",
         "recoveryAction": "update",
         "deltaFromCurrent": {"@odata.type": "#microsoft.graph.group", "description": "Finance team",
                              "members@delta": [
                                  {"@odata.type": user, "id": "eeee", "@removed": {"reason": "changed"}},
                                  {"@odata.type": user, "id": "ffff"}]},
         "currentState": {"@odata.type": "#microsoft.graph.group", "description": "Fin"}},
    ]
    doubled: list[dict[str, Any]] = []
    for change in example:
        second = copy.deepcopy(change)
        second["deltaFromCurrent"]["department"] = "Finance"
        second["currentState"]["department"] = "Sales"
        doubled += [change, second]
    return doubled


def test_several_changes_per_object_are_all_kept_and_listed(server: EmulatorServer) -> None:
    changes = _docs_example_twice()
    httpx.post(f"{server.base_url}/_emulator/changes-override", json={"changes": changes},
               timeout=30).raise_for_status()

    result = _run(server, "report", "--json")

    assert result.code == 0, result.stderr
    assert result.json()["report"]["complete"] is True and result.json()["totalChanges"] == 8
    listed = _run(server, "changes", "--offline", "--limit", "0", "--json").json()
    rows = listed["changes"]
    assert listed["total"] == listed["returned"] == 8
    assert sorted(r["id"] for r in rows) == sorted(c["id"] for c in changes)  # each object twice
    assert sorted(r["position"] for r in rows) == list(range(1, 9))
    exported = _run(server, "export", "--offline", "--format", "json", "--out", "-").json()["changes"]
    assert [c["deltaFromCurrent"] for c in exported] == [c["deltaFromCurrent"] for c in changes]
    plan = _run(server, "restore", "--plan", "--offline", "--id", f"user:{changes[0]['id']}", "--json")
    assert plan.code == 0, plan.stderr
    assert json.dumps(plan.json()).count(changes[0]["id"]) >= 1
    assert plan.json()["summary"]["included"] == 1  # the restore is scoped by object: one object


@pytest.mark.parametrize("server", [{"snapshot_id_style": "iso"}], indirect=True)
def test_snapshot_ids_round_trip_unchanged(server: EmulatorServer) -> None:
    snapshots = _run(server, "snapshots", "--json").json()["snapshots"]
    latest = snapshots[0]["id"]
    assert latest.endswith("=") and "T" in __import__("base64").b64decode(latest).decode()  # ISO style

    report = _run(server, "report", "--json")
    assert report.json()["snapshot"]["id"] == latest and report.json()["report"]["snapshotId"] == latest

    jobs = _run(server, "jobs", "--json").json()["jobs"]
    assert [j["snapshotId"] for j in jobs] == [latest]  # the id the service gave, never one made up
    exported = _run(server, "export", "--offline", "--format", "json", "--out", "-").json()
    assert exported["report"]["snapshotId"] == latest
    jobs_export = _run(server, "export", "--what", "jobs", "--format", "json", "--out", "-").json()
    assert {j["snapshotId"] for j in jobs_export["jobs"]} == {latest}
