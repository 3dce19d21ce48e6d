"""Faults of the change pages themselves (deterministic under the seed), and the changes-override fixture."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from entrabr_tui.emulator.faults import MALFORMED_VARIANTS

from .conftest import Api

NAMES_FILTER = "#microsoft.graph.entraRecoveryServices.recoveryJobEntityNamesFilter"
USERS = {"filteringCriteria": {"@odata.type": NAMES_FILTER, "entityTypes": ["user", "group"]}}


@pytest.fixture
def report(api: Api) -> Iterator[str]:
    """The getChanges URL of a finished report with several pages at $top=10; faults cleared afterwards."""
    url, job = api.run("preview", USERS)
    assert job["status"] == "successful" and job["totalChangedObjectsCalculated"] > 30
    try:
        yield f"{url}/microsoft.graph.entraRecoveryServices.getChanges"
    finally:
        api.control("POST", "reset")  # also closes the second listener of redirect faults


def _fault(api: Api, **spec: Any) -> dict[str, Any]:
    fault_id = api.control("POST", "faults", json=spec)["id"]
    return next(f for f in api.control("GET", "faults")["faults"] if f["id"] == fault_id)


def _fired(api: Api) -> list[int]:
    return [f["fired"] for f in api.control("GET", "faults")["faults"]]


def _page(api: Api, url: str, **params: Any) -> dict[str, Any]:
    response = api.get(url, params=params or None)
    assert response.status_code == 200, response.text
    doc: dict[str, Any] = response.json()
    return doc


def test_no_next_link_cuts_the_list_short_and_spares_the_last_page(api: Api, report: str) -> None:
    whole = [item["id"] for doc in api.pages(report, params={"$top": 10}) for item in doc["value"]]
    _fault(api, kind="no-next-link", count=1, match="getChanges")
    first = _page(api, report, **{"$top": 10})
    assert "@odata.nextLink" not in first and [i["id"] for i in first["value"]] == whole[:10]
    assert _fired(api) == [1]
    assert "@odata.nextLink" in _page(api, report, **{"$top": 10})  # count spent
    api.control("DELETE", "faults")
    _fault(api, kind="no-next-link", count=1)
    assert "@odata.nextLink" not in _page(api, report, **{"$top": 999})  # the real last page: no draw
    assert _fired(api) == [0]


def test_short_page_loses_items_but_keeps_the_next_link(api: Api, report: str) -> None:
    honest = _page(api, report, **{"$top": 10})
    _fault(api, kind="short-page", lose=3)
    short = _page(api, report, **{"$top": 10})
    assert [i["id"] for i in short["value"]] == [i["id"] for i in honest["value"][:7]]
    assert short["@odata.nextLink"] == honest["@odata.nextLink"]  # the next page starts after the lost ones
    _fault(api, kind="short-page")
    assert len(_page(api, report, **{"$top": 10})["value"]) == 5  # half the page by default


@pytest.mark.parametrize("variant", MALFORMED_VARIANTS)
def test_malformed_change_variants(api: Api, report: str, variant: str) -> None:
    honest = _page(api, report, **{"$top": 10})["value"]
    _fault(api, kind="malformed-change", count=1, variant=variant)
    broken = _page(api, report, **{"$top": 10})["value"]
    assert broken[1:] == honest[1:] and len(broken) == len(honest)
    first, original = broken[0], honest[0]
    expected: Callable[[], bool] = {
        "missing-id": lambda: "id" not in first,
        "missing-entity-type": lambda: "entityTypeName" not in first and first["id"] == original["id"],
        "id-not-string": lambda: first["id"] == 12345,
        "action-not-string": lambda: first["recoveryAction"] == 5,
        "delta-not-object": lambda: first["deltaFromCurrent"] == "x",
        "unknown-enum": lambda: first["recoveryAction"] == "quarantine",
    }[variant]
    assert expected()


def test_malformed_change_counts_change_objects_and_mixes_variants(api: Api, report: str) -> None:
    honest = _page(api, report, **{"$top": 10})["value"]
    _fault(api, kind="malformed-change", count=6)
    broken = _page(api, report, **{"$top": 10})["value"]
    assert [b == h for b, h in zip(broken, honest, strict=True)] == [False] * 6 + [True] * 4
    assert broken[3]["recoveryAction"] == 5 and broken[4]["deltaFromCurrent"] == "x"
    assert _fired(api) == [6]


def test_malformed_change_rate_is_deterministic_under_the_seed(api: Api) -> None:
    def broken_positions() -> list[int]:
        api.control("POST", "reset")
        url, _ = api.run("preview", USERS)
        changes = _changes_url(url)
        honest = _page(api, changes, **{"$top": 50})["value"]
        _fault(api, kind="malformed-change", rate=0.2)
        broken = _page(api, changes, **{"$top": 50})["value"]
        return [n for n, (b, h) in enumerate(zip(broken, honest, strict=True)) if b != h]

    first = broken_positions()
    assert 0 < len(first) < 50
    assert broken_positions() == first
    api.control("POST", "reset")


def test_redirect_foreign_points_to_a_second_listener_with_an_empty_last_page(api: Api, report: str) -> None:
    fault = _fault(api, kind="redirect-foreign", match="getChanges")
    assert fault["status"] == 307 and fault["foreign_requests"] == 0
    response = api.get(report, params={"$top": 10})
    assert response.status_code == 307
    location = httpx.URL(response.headers["location"])
    here = httpx.URL(api.server.base_url)
    assert location.host == here.host and location.port != here.port
    assert location.path == httpx.URL(report).path and location.params["$top"] == "10"
    foreign = httpx.get(str(location))
    assert foreign.status_code == 200 and foreign.json() == {"value": []}
    assert _fault(api, kind="429", match="nothing")["id"]  # listing faults shows what the listener served
    assert api.control("GET", "faults")["faults"][0]["foreign_requests"] == 1
    assert api.get(report, params={"$top": 10}).status_code == 200  # count spent
    api.control("DELETE", "faults")
    with pytest.raises(httpx.ConnectError):  # the second listener closes with the faults
        httpx.get(str(location))


def test_redirect_foreign_can_be_a_302(api: Api, report: str) -> None:
    _fault(api, kind="redirect-foreign", status=302)
    assert api.get(report).status_code == 302


@pytest.mark.parametrize("spec", [
    {"kind": "429", "lose": 2},
    {"kind": "short-page", "lose": 0},
    {"kind": "malformed-change", "variant": "garbled"},
    {"kind": "no-next-link", "variant": "missing-id"},
    {"kind": "redirect-foreign", "status": 301},
    {"kind": "redirect-foreign", "status": "307"},
    {"kind": "short-page", "retry_after": 3},
])
def test_bad_page_fault_specs_are_400(api: Api, spec: dict[str, Any]) -> None:
    response = api.http.post("/_emulator/faults", json=spec)
    assert response.status_code == 400 and response.json()["error"]["message"]
    assert api.control("GET", "faults")["faults"] == []


def test_page_faults_never_touch_other_requests(api: Api, report: str) -> None:
    for kind in ("no-next-link", "short-page", "malformed-change", "redirect-foreign"):
        _fault(api, kind=kind, rate=1.0)
    snapshots = api.get("/v1.0/directory/recovery/snapshots")
    assert snapshots.status_code == 200 and snapshots.json()["value"]
    assert api.get("/v1.0/directory/recovery/jobs").status_code == 200
    assert _fired(api) == [0, 0, 0, 0]


# -- totals and the changes-override fixture --------------------------------------------------------------

FIXTURE: list[dict[str, Any]] = [
    {"entityTypeName": "user", "id": "u-1", "displayName": "J. Smith", "recoveryAction": "update",
     "deltaFromCurrent": {"@odata.type": "#microsoft.graph.user", "jobTitle": "Engineer"},
     "currentState": {"@odata.type": "#microsoft.graph.user", "jobTitle": "Manager"}},
    {"entityTypeName": "user", "id": "u-1", "displayName": "J. Smith", "recoveryAction": "restore",
     "deltaFromCurrent": {"@odata.type": "#microsoft.graph.user", "deletedDateTime": None},
     "currentState": {"@odata.type": "#microsoft.graph.user", "deletedDateTime": "2026-03-21T07:00:00Z"}},
    {"entityTypeName": "group", "id": "g-1", "displayName": "Finance", "recoveryAction": "update",
     "deltaFromCurrent": {"@odata.type": "#microsoft.graph.group", "members@delta": [
         {"@odata.type": "#microsoft.graph.user", "id": "m-1", "@removed": {"reason": "changed"}},
         {"@odata.type": "#microsoft.graph.user", "id": "m-2"}]},
     "currentState": {"@odata.type": "#microsoft.graph.group"}},
]


def _changes_url(job_url: str) -> str:
    return f"{job_url}/getChanges"


def test_totals_count_change_objects_and_the_links_inside_them(api: Api) -> None:
    url, job = api.run("preview", USERS)
    items = [i for doc in api.pages(_changes_url(url), params={"$top": 999}) for i in doc["value"]]
    assert job["totalChangedObjectsCalculated"] == len(items)
    links = sum(len(v) for i in items for k, v in i["deltaFromCurrent"].items()
                if k.endswith("@delta") and k != "owners@delta")  # owner links are shown, never recovered
    assert links > 0 and job["totalChangedLinksCalculated"] == links


def test_changes_override_serves_the_fixture_to_the_next_preview_job_only(api: Api) -> None:
    state = api.control("POST", "changes-override", json={"changes": FIXTURE})
    assert state == {"pending": 3, "jobs": {}}
    url, job = api.run("preview", USERS)
    assert job["totalChangedObjectsCalculated"] == 3 and job["totalChangedLinksCalculated"] == 2
    served = [i for doc in api.pages(_changes_url(url), params={"$top": 2}) for i in doc["value"]]
    assert served == FIXTURE  # byte for byte, two changes of u-1 included
    assert api.control("GET", "changes-override") == {"pending": None, "jobs": {job["id"]: 3}}
    filtered = api.get(_changes_url(url), params={"$filter": "id eq 'u-1'"}).json()["value"]
    assert filtered == FIXTURE[:2]
    _, other = api.run("preview", USERS)
    assert other["totalChangedObjectsCalculated"] > 3  # the tenant's own difference again
    api.control("POST", "reset")
    assert api.control("GET", "changes-override") == {"pending": None, "jobs": {}}


def test_changes_override_can_be_withdrawn(api: Api) -> None:
    api.control("POST", "changes-override", json={"changes": FIXTURE})
    assert api.control("DELETE", "changes-override")["pending"] is None
    _, job = api.run("preview", USERS)
    assert job["totalChangedObjectsCalculated"] > 3


@pytest.mark.parametrize("body", [{}, {"changes": "x"}, {"changes": [1]}, {"changes": [], "extra": 1}])
def test_bad_changes_override_is_400(api: Api, body: dict[str, Any]) -> None:
    response = api.http.post("/_emulator/changes-override", json=body)
    assert response.status_code == 400 and response.json()["error"]["message"]
    assert api.control("GET", "changes-override")["pending"] is None
