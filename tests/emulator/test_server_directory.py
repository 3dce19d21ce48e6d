"""Directory lookups over HTTP: getByIds, /users and /groups filtered by id, permissions and limits."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from .conftest import PREFER, Api, assert_error
from .tenant_helpers import bearer, custom

GET_BY_IDS = "/{version}/directoryObjects/getByIds"
SELECT = {"$select": "id,onPremisesSyncEnabled"}
USER, GROUP = "#microsoft.graph.user", "#microsoft.graph.group"


def _report(api: Api) -> list[dict[str, Any]]:
    api.control("POST", "config", json={"sync_flag_in_changes": True})
    url, _ = api.run("preview", snapshot_id=api.snapshots()[-1]["id"])
    items = [i for page in api.pages(f"{url}/getChanges", params={"$top": "999"}, headers=PREFER)
             for i in page["value"]]
    api.control("POST", "config", json={"sync_flag_in_changes": False})
    return items


def _by_ids(api: Api, ids: list[str], *, version: str = "v1.0", role: str | None = "admin",
            params: dict[str, str] | None = None, **body: Any) -> Any:
    return api.post(GET_BY_IDS.format(version=version), role=role, params=params, json={"ids": ids, **body})


@pytest.mark.parametrize("version", ["v1.0", "beta"])
def test_get_by_ids_tells_sync_status_as_the_report_would(api: Api, version: str) -> None:
    items = _report(api)
    people = [i for i in items if i["entityTypeName"] in ("user", "group")]
    live = [i for i in people if i["recoveryAction"] != "restore"]       # restore: deleted right now
    deleted = [i for i in people if i["recoveryAction"] == "restore"]
    assert live and deleted
    ids = [i["id"] for i in people] + [str(uuid.uuid4())]
    response = _by_ids(api, ids, version=version, params=SELECT, types=["User", "group"])
    assert response.status_code == 200, response.text
    doc = response.json()
    assert doc["@odata.context"].endswith("/$metadata#directoryObjects")
    values = doc["value"]
    assert [v["id"] for v in values] == [i["id"] for i in live]
    expected = {i["id"]: i["currentState"].get("onPremisesSyncEnabled") is True for i in live}
    for value in values:
        assert set(value) == {"@odata.type", "id", "onPremisesSyncEnabled"}
        assert value["@odata.type"] == (USER if expected_type(items, value["id"]) == "user" else GROUP)
        assert (value["onPremisesSyncEnabled"] is True) == expected[value["id"]]
    assert any(expected.values()) and not all(expected.values())


def expected_type(items: list[dict[str, Any]], object_id: str) -> str:
    return next(str(i["entityTypeName"]) for i in items if i["id"] == object_id)


def test_get_by_ids_default_properties_and_types(api: Api) -> None:
    items = _report(api)
    user = next(i["id"] for i in items if i["entityTypeName"] == "user" and i["recoveryAction"] == "update")
    group = next(i["id"] for i in items if i["entityTypeName"] == "group" and i["recoveryAction"] == "update")
    app = next(i["id"] for i in items if i["entityTypeName"] == "application"
               and i["recoveryAction"] == "update")
    plain = _by_ids(api, [user, group, app]).json()["value"]
    assert [v["@odata.type"] for v in plain] == [USER, GROUP, "#microsoft.graph.application"]
    assert "onPremisesSyncEnabled" not in plain[0]          # v1.0: a user's limited default set
    assert {"displayName", "userPrincipalName", "id"} <= set(plain[0])
    assert "onPremisesSyncEnabled" in plain[1] and "securityEnabled" in plain[1]
    full = _by_ids(api, [user], version="beta").json()["value"][0]
    assert "onPremisesSyncEnabled" in full and "accountEnabled" in full
    only_groups = _by_ids(api, [user, group, app], types=["group"]).json()["value"]
    assert [v["id"] for v in only_groups] == [group]
    assert _by_ids(api, [user], types=["device"]).json()["value"] == []
    qualified = api.post("/v1.0/directoryObjects/microsoft.graph.getByIds", json={"ids": [user.upper()]})
    assert [v["id"] for v in qualified.json()["value"]] == [user]


@pytest.mark.parametrize(("body", "fragment"), [
    ({"ids": [str(uuid.UUID(int=i)) for i in range(1001)]}, "at most 1000"),
    ({"ids": []}, "non-empty"),
    ({}, "non-empty"),
    ({"ids": ["not-a-guid"]}, "Invalid object identifier 'not-a-guid'"),
    ({"ids": [str(uuid.UUID(int=1))], "types": ["robot"]}, "Invalid type 'robot'"),
    ({"ids": [str(uuid.UUID(int=1))], "select": ["id"]}, "'select'"),
], ids=["1001-ids", "empty", "missing", "not-a-guid", "bad-type", "extra-parameter"])
def test_get_by_ids_bad_requests(api: Api, body: dict[str, Any], fragment: str) -> None:
    error = assert_error(api.post("/v1.0/directoryObjects/getByIds", json=body), 400)
    assert fragment in error["message"]


def test_get_by_ids_accepts_1000_ids_and_bad_json_is_400(api: Api) -> None:
    ids = [str(uuid.UUID(int=i)) for i in range(1000)]
    assert _by_ids(api, ids).json()["value"] == []
    assert_error(api.post("/v1.0/directoryObjects/getByIds", content=b"{oops"), 400)
    assert_error(api.get("/v1.0/directoryObjects/getByIds"), 405)


@pytest.mark.parametrize("role", ["reader", "admin", "global", "app"])
def test_every_demo_role_may_look_up(api: Api, role: str) -> None:
    assert _by_ids(api, [str(uuid.uuid4())], role=role).status_code == 200
    assert api.get("/v1.0/users", role=role, params={"$top": "1"}).status_code == 200
    assert api.get("/v1.0/groups", role=role, params={"$top": "1"}).status_code == 200


def test_lookups_need_their_permissions(api: Api) -> None:
    backup_only = custom(scp="EntraBackup.Read.All")
    users_only = custom(scp="EntraBackup.Read.All User.Read.All")
    groups_only = custom(scp="GroupMember.Read.All")
    app_backup_only = custom(scp=None, wids=None, roles=["EntraBackup.Read.All"])
    some = {"ids": [str(uuid.uuid4())]}
    error = assert_error(api.post("/v1.0/directoryObjects/getByIds", role=None, headers=bearer(backup_only),
                                  json=some), 403, "Forbidden")
    assert "delegated permission Directory.Read.All" in error["message"]
    error = assert_error(api.post("/v1.0/directoryObjects/getByIds", role=None,
                                  headers=bearer(app_backup_only), json=some), 403)
    assert "application permission Directory.Read.All" in error["message"]
    assert assert_error(api.get("/v1.0/users", role=None, headers=bearer(backup_only)), 403)["message"]
    assert api.get("/v1.0/users", role=None, headers=bearer(users_only)).status_code == 200
    assert_error(api.get("/v1.0/groups", role=None, headers=bearer(users_only)), 403,
                 message="GroupMember.Read.All")
    assert api.get("/v1.0/groups", role=None, headers=bearer(groups_only)).status_code == 200
    assert_error(api.post("/v1.0/directoryObjects/getByIds", role=None, headers=bearer(users_only),
                          json=some), 403)


def test_users_and_groups_filtered_by_id(api: Api) -> None:
    items = _report(api)
    users = [i["id"] for i in items if i["entityTypeName"] == "user" and i["recoveryAction"] != "restore"]
    groups = [i["id"] for i in items if i["entityTypeName"] == "group" and i["recoveryAction"] != "restore"]
    assert len(users) >= 16 and groups
    in_filter = "id in ({})".format(",".join(f"'{i}'" for i in users[:15]))
    doc = api.get("/v1.0/users", params={"$filter": in_filter, **SELECT}).json()
    assert doc["@odata.context"].endswith("$metadata#users(id,onPremisesSyncEnabled)")
    assert [v["id"] for v in doc["value"]] == users[:15]
    assert all(set(v) == {"@odata.type", "id", "onPremisesSyncEnabled"} for v in doc["value"])
    too_many = "id in ({})".format(",".join(f"'{i}'" for i in users[:16]))
    error = assert_error(api.get("/v1.0/users", params={"$filter": too_many}), 400,
                         "Request_UnsupportedQuery")
    assert error["message"] == ("Too many child clauses specified in search filter expression containing "
                                "'OR' operators: 16. Max allowed: 15.")
    advanced = api.get("/v1.0/users", params={"$filter": too_many}, headers={"ConsistencyLevel": "eventual"})
    assert [v["id"] for v in advanced.json()["value"]] == users[:16]
    one = api.get("/beta/groups", params={"$filter": f"id eq '{groups[0]}'", **SELECT}).json()["value"]
    assert [v["id"] for v in one] == [groups[0]] and one[0]["@odata.type"] == GROUP
    assert api.get("/v1.0/groups", params={"$filter": f"id eq '{users[0]}'"}).json()["value"] == []
    assert_error(api.get("/v1.0/users", params={"$filter": "displayName eq 'x'"}), 400)
    assert_error(api.get("/v1.0/users", params={"$orderby": "displayName"}), 400)


def test_users_list_pages_without_a_filter(api: Api) -> None:
    pages: list[list[dict[str, Any]]] = []
    url: str | None = "/v1.0/users"
    params: dict[str, str] | None = {"$top": "40", **SELECT}
    while url and len(pages) < 3:
        doc = api.get(url, params=params).json()
        pages.append(doc["value"])
        url, params = doc.get("@odata.nextLink"), None
    assert [len(p) for p in pages] == [40, 40, 40]
    ids = [v["id"] for page in pages for v in page]
    assert len(set(ids)) == 120
    assert all(set(v) == {"@odata.type", "id", "onPremisesSyncEnabled"} for page in pages for v in page)
    assert any(v["onPremisesSyncEnabled"] is True for page in pages for v in page)
    assert_error(api.get("/v1.0/users", params={"$top": "1000"}), 400)
