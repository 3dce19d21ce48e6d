"""OData query options over HTTP: paging, $top/$skip/$skiptoken, $select, $filter, $orderby, $count."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from .conftest import PREFER, Api, assert_error


@pytest.fixture
def report(api: Api) -> tuple[Api, str, dict[str, Any]]:
    """A successful difference report on the newest snapshot."""
    url, job = api.run("preview")
    assert job["status"] == "successful"
    assert job["totalChangedObjectsCalculated"] > 20
    return api, url, job


def _changes(pages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [item for page in pages for item in page["value"]]


def test_default_page_and_next_links(report: tuple[Api, str, dict[str, Any]]) -> None:
    api, url, job = report
    total = job["totalChangedObjectsCalculated"]
    pages = api.pages(f"{url}/getChanges", params={"$top": "7"}, headers=PREFER)
    items = _changes(pages)
    assert len(items) == total
    assert len({(i["entityTypeName"], i["id"]) for i in items}) == total
    assert [len(p["value"]) for p in pages[:-1]] == [7] * (len(pages) - 1)
    link = pages[0]["@odata.nextLink"]
    parts = urlsplit(link)
    assert link.startswith(f"{url}/getChanges?")
    assert set(parse_qs(parts.query)) == {"$skiptoken"}
    assert "@odata.nextLink" not in pages[-1]
    whole = api.get(f"{url}/getChanges", headers=PREFER).json()
    assert len(whole["value"]) == min(100, total)
    big = api.get(f"{url}/getChanges", params={"$top": "999"}, headers=PREFER).json()
    assert [i["id"] for i in big["value"]] == [i["id"] for i in items][:999]


def test_next_link_keeps_version_and_spelling(report: tuple[Api, str, dict[str, Any]]) -> None:
    api, url, _ = report
    beta = url.replace("/v1.0/", "/beta/")
    doc = api.get(f"{beta}/microsoft.graph.entraRecoveryServices.getChanges()", params={"$top": "2"}).json()
    assert doc["@odata.nextLink"].startswith(f"{beta}/microsoft.graph.entraRecoveryServices.getChanges()?")


@pytest.mark.parametrize(("params", "fragment"), [
    ({"$top": "1000"}, "Invalid page size"),
    ({"$top": "0"}, "Invalid page size"),
    ({"$top": "ten"}, "$top"),
    ({"$skip": "-1"}, "$skip"),
    ({"$skiptoken": "bm9wZQ"}, "$skiptoken"),
    ({"$count": "maybe"}, "$count"),
    ({"$select": "id,nope"}, "nope"),
    ({"$orderby": "color"}, "color"),
    ({"$orderby": "id sideways"}, "direction"),
    ({"$filter": "recoveryAction eq 'explode'"}, "explode"),
    ({"$filter": "currentState eq 'x'"}, "currentState"),
    ({"$filter": "id gt 'a'"}, "gt"),
    ({"$filter": "startswith(id,'a')"}, "startswith"),
    ({"$filter": "id eq 'a' or id eq 'b'"}, "and"),
    ({"$filter": "id eq"}, "ended"),
    ({"$filter": "(id eq 'a'"}, "')'"),
    ({"$expand": "x"}, "$expand"),
    ({"$search": "x"}, "$search"),
    ({"$bogus": "1"}, "$bogus"),
])
def test_bad_options_are_400(report: tuple[Api, str, dict[str, Any]], params: dict[str, str],
                             fragment: str) -> None:
    api, url, _ = report
    error = assert_error(api.get(f"{url}/getChanges", params=params), 400, "BadRequest")
    assert fragment in error["message"]


def test_repeated_option_is_400(report: tuple[Api, str, dict[str, Any]]) -> None:
    api, url, _ = report
    assert_error(api.get(f"{url}/getChanges?$top=2&$top=3"), 400, message="more than once")


def test_skiptoken_is_tied_to_its_query(report: tuple[Api, str, dict[str, Any]]) -> None:
    api, url, _ = report
    link = api.get(f"{url}/getChanges", params={"$top": "3", "$filter": "recoveryAction ne 'restore'"}).json()
    token = parse_qs(urlsplit(link["@odata.nextLink"]).query)["$skiptoken"][0]
    assert_error(api.get(f"{url}/getChanges", params={"$skiptoken": token}), 400, message="$skiptoken")


def test_skip_and_count(report: tuple[Api, str, dict[str, Any]]) -> None:
    api, url, job = report
    total = job["totalChangedObjectsCalculated"]
    every = _changes(api.pages(f"{url}/getChanges", params={"$top": "999"}))
    doc = api.get(f"{url}/getChanges", params={"$skip": "5", "$top": "4", "$count": "true"}).json()
    assert doc["@odata.count"] == total
    assert [i["id"] for i in doc["value"]] == [i["id"] for i in every[5:9]]
    follow = api.get(doc["@odata.nextLink"]).json()
    assert [i["id"] for i in follow["value"]] == [i["id"] for i in every[9:13]]
    assert follow["@odata.count"] == total
    beyond = api.get(f"{url}/getChanges", params={"$skip": str(total + 5)}).json()
    assert beyond["value"] == [] and "@odata.nextLink" not in beyond


def test_select_on_changes(report: tuple[Api, str, dict[str, Any]]) -> None:
    api, url, _ = report
    doc = api.get(f"{url}/getChanges", params={"$select": "id,recoveryAction", "$top": "5"}).json()
    assert all(set(i) == {"id", "recoveryAction"} for i in doc["value"])
    assert doc["@odata.context"].endswith("(id,recoveryAction)")
    assert "$select=id%2CrecoveryAction" in doc["@odata.nextLink"] or "$select=id,recoveryAction" in doc[
        "@odata.nextLink"]
    nxt = api.get(doc["@odata.nextLink"]).json()
    assert all(set(i) == {"id", "recoveryAction"} for i in nxt["value"])


def test_filter_on_changes(report: tuple[Api, str, dict[str, Any]]) -> None:
    api, url, _ = report
    every = _changes(api.pages(f"{url}/getChanges", params={"$top": "999"}, headers=PREFER))

    def query(expr: str) -> list[dict[str, Any]]:
        params = {"$filter": expr, "$top": "10"}
        return _changes(api.pages(f"{url}/getChanges", params=params, headers=PREFER))

    users = query("entityTypeName eq 'user'")
    assert users == [i for i in every if i["entityTypeName"] == "user"] and users
    not_update = query("recoveryAction ne 'update'")
    assert not_update == [i for i in every if i["recoveryAction"] != "update"]
    first = every[0]
    assert query(f"id eq '{first['id'].upper()}'") == [i for i in every if i["id"] == first["id"]]
    prefix = first["displayName"][:3]
    expected = [i for i in every if i["displayName"].casefold().startswith(prefix.casefold())]
    assert query(f"startswith(displayName,'{prefix.lower()}')") == expected
    both = query(f"(entityTypeName eq 'user') and displayName ne '{first['displayName']}'")
    name = first["displayName"]
    assert both == [i for i in every if i["entityTypeName"] == "user" and i["displayName"] != name]
    quoted = query("displayName eq 'O''Brien and the ''quotes'''")
    assert quoted == [i for i in every if i["displayName"] == "O'Brien and the 'quotes'"]
    counted = api.get(f"{url}/getChanges", params={"$filter": "entityTypeName eq 'user'", "$count": "true"})
    assert counted.json()["@odata.count"] == len(users)


def test_orderby_on_changes(report: tuple[Api, str, dict[str, Any]]) -> None:
    api, url, _ = report
    params = {"$orderby": "displayName desc,id", "$top": "9"}
    ordered = _changes(api.pages(f"{url}/getChanges", params=params))
    names = [i["displayName"].casefold() for i in ordered]
    assert names == sorted(names, reverse=True)


def test_snapshot_options(api: Api) -> None:
    url = "/v1.0/directory/recovery/snapshots"
    snaps = api.snapshots()
    first_two = api.get(url, params={"$top": "2"}).json()
    assert [s["id"] for s in first_two["value"]] == [s["id"] for s in snaps[:2]]
    rest = api.pages(first_two["@odata.nextLink"])
    assert [s["id"] for p in rest for s in p["value"]] == [s["id"] for s in snaps[2:]]
    oldest_first = api.get(url, params={"$orderby": "createdDateTime asc"}).json()["value"]
    assert oldest_first == list(reversed(snaps))
    selected = api.get(url, params={"$select": "createdDateTime", "$count": "true"}).json()
    assert selected["@odata.count"] == 7
    assert all(set(s) == {"createdDateTime"} for s in selected["value"])
    assert api.get(url, params={"$select": "totalChangedObjects"}).json()["value"][0] == {}
    assert_error(api.get(url, params={"$filter": "id eq 'x'"}), 400, message="$filter")
    one = api.get(f"{url}/{snaps[0]['id']}", params={"$select": "id"}).json()
    assert one["id"] == snaps[0]["id"] and "createdDateTime" not in one


def test_job_list_options(api: Api) -> None:
    sid = api.newest()
    older = api.snapshots()[3]
    runs = [api.run("preview"), api.run("recovery"), api.run("preview", snapshot_id=older["id"])]
    ids = [job["id"] for _, job in runs]
    url = "/v1.0/directory/recovery/jobs"
    listing = api.get(url).json()["value"]
    assert [j["id"] for j in listing] == list(reversed(ids))
    by_target = api.get(url, params={"$filter": f"targetStateDateTime eq {older['createdDateTime']}"}).json()
    assert [j["id"] for j in by_target["value"]] == [ids[2]]
    by_id = api.get(url, params={"$filter": f"id eq '{ids[1]}' and status ne 'failed'"}).json()["value"]
    assert [j["id"] for j in by_id] == ([ids[1]] if runs[1][1]["status"] != "failed" else [])
    by_status = api.get(url, params={"$filter": "status eq 'successful'", "$count": "true"}).json()
    assert by_status["@odata.count"] == sum(1 for _, j in runs if j["status"] == "successful")
    ordered = api.get(url, params={"$orderby": "jobStartDateTime asc,id", "$select": "id,status"}).json()
    assert all(set(j) == {"@odata.type", "id", "status"} for j in ordered["value"])
    paged = api.pages(f"/v1.0/directory/recovery/snapshots/{sid}/recoveryPreviewJobs", params={"$top": "1"})
    assert [j["id"] for p in paged for j in p["value"]] == [ids[0]]
    assert_error(api.get(url, params={"$filter": "jobStartDateTime eq 2026-01-01T00:00:00Z"}), 400)
    assert_error(api.get(url, params={"$filter": "status eq 'finished'"}), 400, message="finished")
    assert_error(api.get(url, params={"$filter": "targetStateDateTime eq yesterday"}), 400)
    assert api.get(url, params={"$select": "totalObjectsModified"}).status_code == 200
    previews = f"/v1.0/directory/recovery/snapshots/{sid}/recoveryPreviewJobs"
    assert_error(api.get(previews, params={"$select": "totalObjectsModified"}), 400)
