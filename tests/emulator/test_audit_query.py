"""The directory audit log's query options: every documented filter, paging, ordering, $select, errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from .conftest import Api, assert_error, audit_pages, audit_records

URL = "/v1.0/auditLogs/directoryAudits"
Record = dict[str, Any]


def when(record: Record) -> datetime:
    return datetime.fromisoformat(record["activityDateTime"].replace("Z", "+00:00"))


def ids(records: list[Record]) -> list[str]:
    return [r["id"] for r in records]


def everything(api: Api) -> list[Record]:
    return audit_records(api, {"$top": "1000"})


def user(record: Record) -> dict[str, Any]:
    return record["initiatedBy"]["user"] or {}


def app(record: Record) -> dict[str, Any]:
    return record["initiatedBy"]["app"] or {}


def first(records: list[Record], pred: Callable[[Record], bool]) -> Record:
    return next(r for r in records if pred(r))


# Each case: a record to take the value from, the $filter built from it, and the same condition in Python.
Case = tuple[Callable[[Record], bool], Callable[[Record], str], Callable[[Record, Record], bool]]
CASES: dict[str, Case] = {
    "activityDisplayName eq": (
        lambda r: True, lambda r: f"activityDisplayName eq '{r['activityDisplayName']}'",
        lambda r, s: r["activityDisplayName"].lower() == s["activityDisplayName"].lower()),
    "activityDisplayName startswith": (
        lambda r: r["activityDisplayName"].startswith("Update"),
        lambda r: "startswith(activityDisplayName, 'upd')",
        lambda r, s: r["activityDisplayName"].lower().startswith("upd")),
    "category eq": (lambda r: r["category"] == "Policy", lambda r: "category eq 'Policy'",
                    lambda r, s: r["category"] == "Policy"),
    "correlationId eq": (lambda r: True, lambda r: f"correlationId eq '{r['correlationId']}'",
                         lambda r, s: r["correlationId"] == s["correlationId"]),
    "id eq": (lambda r: True, lambda r: f"id eq '{r['id']}'", lambda r, s: r["id"] == s["id"]),
    "initiatedBy/user/id eq": (lambda r: bool(user(r)), lambda r: f"initiatedBy/user/id eq '{user(r)['id']}'",
                               lambda r, s: user(r).get("id") == user(s)["id"]),
    "initiatedBy/user/userPrincipalName eq": (
        lambda r: bool(user(r)),
        lambda r: f"initiatedBy/user/userPrincipalName eq '{user(r)['userPrincipalName']}'",
        lambda r, s: (user(r).get("userPrincipalName") or "").lower() ==
        user(s)["userPrincipalName"].lower()),
    "initiatedBy/user/userPrincipalName startswith": (
        lambda r: bool(user(r)), lambda r: "startswith(initiatedBy/user/userPrincipalName, 'sync_')",
        lambda r, s: (user(r).get("userPrincipalName") or "").lower().startswith("sync_")),
    "initiatedBy/user/displayName eq": (
        lambda r: bool(user(r)), lambda r: f"initiatedBy/user/displayName eq '{user(r)['displayName']}'",
        lambda r, s: user(r).get("displayName") == user(s)["displayName"]),
    "initiatedBy/app/appId eq": (
        lambda r: bool(app(r).get("appId")), lambda r: f"initiatedBy/app/appId eq '{app(r)['appId']}'",
        lambda r, s: app(r).get("appId") == app(s)["appId"]),
    "initiatedBy/app/displayName eq": (
        lambda r: bool(app(r)), lambda r: f"initiatedBy/app/displayName eq '{app(r)['displayName']}'",
        lambda r, s: app(r).get("displayName") == app(s)["displayName"]),
    "targetResources any id": (
        lambda r: r["activityDisplayName"] == "Remove member from group",
        lambda r: f"targetResources/any(t: t/id eq '{r['targetResources'][1]['id']}')",
        lambda r, s: any(t["id"] == s["targetResources"][1]["id"] for t in r["targetResources"])),
    "targetResources any displayName": (
        lambda r: r["category"] == "Policy", lambda r: f"targetResources/any(x:x/displayName eq "
                                                       f"'{r['targetResources'][0]['displayName']}')",
        lambda r, s: s["targetResources"][0]["displayName"] in
        {t["displayName"] for t in r["targetResources"]}),
    "targetResources any startswith": (
        lambda r: True, lambda r: "targetResources/any(res: startswith(res/displayName, 'sg-'))",
        lambda r, s: any((t["displayName"] or "").lower().startswith("sg-") for t in r["targetResources"])),
    "result eq": (lambda r: True, lambda r: "result eq 'success'", lambda r, s: r["result"] == "success"),
    "loggedByService eq": (lambda r: r["loggedByService"] == "Conditional Access",
                           lambda r: "loggedByService eq 'Conditional Access'",
                           lambda r, s: r["loggedByService"] == "Conditional Access"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_each_documented_filter_returns_exactly_the_matching_records(audit: Api, name: str) -> None:
    records = everything(audit)
    pick, build, match = CASES[name]
    sample = first(records, pick)
    expected = [r for r in records if match(r, sample)]
    assert expected, name
    got = audit_records(audit, {"$filter": build(sample), "$top": "1000"})
    assert ids(got) == ids(expected)
    if len(expected) < len(records):
        assert len(got) < len(records)


def test_datetime_filters_take_unquoted_literals_and_bare_dates(audit: Api) -> None:
    records = everything(audit)
    times = sorted(when(r) for r in records)
    middle = times[len(times) // 2].replace(microsecond=0)
    literal = middle.strftime("%Y-%m-%dT%H:%M:%SZ")
    ge = audit_records(audit, {"$filter": f"activityDateTime ge {literal}", "$top": "1000"})
    le = audit_records(audit, {"$filter": f"activityDateTime le {literal}", "$top": "1000"})
    assert ids(ge) == ids([r for r in records if when(r) >= middle])
    assert ids(le) == ids([r for r in records if when(r) <= middle])
    day = middle.date()
    start = datetime(day.year, day.month, day.day, tzinfo=middle.tzinfo)
    bare = audit_records(audit, {"$filter": f"activityDateTime ge {day.isoformat()} and activityDateTime le "
                                            f"{(day + timedelta(days=1)).isoformat()}", "$top": "1000"})
    assert bare and ids(bare) == ids([r for r in records if start <= when(r) <= start + timedelta(days=1)])
    exact = records[0]["activityDateTime"]
    eq = audit_records(audit, {"$filter": f"activityDateTime eq {exact}"})
    assert records[0]["id"] in ids(eq) and all(r["activityDateTime"] == exact for r in eq)
    offset = (middle + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S+02:00")
    assert ids(audit_records(audit, {"$filter": f"activityDateTime ge {offset}", "$top": "1000"})) == ids(ge)


def test_filters_combine_with_and_and_parentheses(audit: Api) -> None:
    records = everything(audit)
    rogue = first(records, lambda r: app(r).get("displayName") == "Azure AD Sync Helper")
    target = rogue["targetResources"][0]["id"]
    start = min(when(r) for r in records if app(r).get("displayName") == "Azure AD Sync Helper")
    expr = (f"(initiatedBy/app/displayName eq 'Azure AD Sync Helper' and activityDisplayName eq "
            f"'Update user') and targetResources/any(t:t/id eq '{target}') and activityDateTime ge "
            f"{start.strftime('%Y-%m-%dT%H:%M:%SZ')} and result eq 'success' and category eq "
            "'UserManagement'")
    got = audit_records(audit, {"$filter": expr})
    expected = [r for r in records if app(r).get("displayName") == "Azure AD Sync Helper"
                and r["activityDisplayName"] == "Update user"
                and target in {t["id"] for t in r["targetResources"]}]
    assert ids(got) == ids(expected) and len(got) >= 1
    both = f"correlationId eq '{rogue['correlationId']}' and category eq 'Policy'"
    none = audit_records(audit, {"$filter": both})
    assert none == []
    two = audit_records(audit, {"$filter": f"id eq '{records[0]['id']}' and id eq '{records[1]['id']}'"})
    assert two == []


@pytest.mark.parametrize("expr", [
    "activityDateTime gt 2026-01-01", "activityDateTime lt 2026-01-01", "activityDateTime ge '2026-01-01'",
    "activityDateTime ge yesterday", "activityDateTime ge 2026-13-01", "activityDisplayName ne 'Update user'",
    "result eq 'success' or result eq 'failure'", "not (result eq 'success')", "category eq Policy",
    "startswith(category, 'Pol')", "contains(activityDisplayName, 'user')", "operationType eq 'Update'",
    "targetResources/any(t: t/userPrincipalName eq 'a@b.c')", "targetResources/any(t: u/id eq 'x')",
    "targetResources/any(t: t/id ne 'x')", "targetResources/all(t: t/id eq 'x')",
    "initiatedBy/user/ipAddress eq '1'",
    "initiatedBy/app/servicePrincipalId eq 'x'", "activityDisplayName eq 'x' and", "(result eq 'success'",
    "id in ('a', 'b')", "correlationId eq not-a-guid", " ",
    "activityDisplayName eq 'x' activityDisplayName eq 'y'",
])
def test_anything_else_is_an_invalid_filter_clause(audit: Api, expr: str) -> None:
    assert_error(audit.get(URL, params={"$filter": expr}), 400, "BadRequest", "Invalid filter clause")


@pytest.mark.parametrize(("params", "fragment"), [
    ({"$count": "true"}, "$count"), ({"$search": "\"user\""}, "$search"), ({"$skip": "10"}, "$skip"),
    ({"$expand": "targetResources"}, "$expand"), ({"$top": "0"}, "page size"),
    ({"$top": "1001"}, "page size"), ({"$top": "ten"}, "page size"), ({"$orderby": "id"}, "$orderby"),
    ({"$orderby": "activityDateTime up"}, "$orderby"), ({"$select": "nope"}, "nope"),
    ({"$select": "userAgent"}, "userAgent"), ({"$skiptoken": "garbage"}, "skiptoken"),
    ({"$format": "json"}, "$format"),
])
def test_unsupported_options_are_400(audit: Api, params: dict[str, str], fragment: str) -> None:
    assert_error(audit.get(URL, params=params), 400, "BadRequest", fragment)


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_paging_has_no_duplicates_and_no_gaps(audit: Api, order: str) -> None:
    full = audit_records(audit, {"$top": "1000", "$orderby": f"activityDateTime {order}"})
    pages = audit_pages(audit, {"$top": "17", "$orderby": f"activityDateTime {order}"})
    assert len(pages) == -(-len(full) // 17)
    assert all(len(p["value"]) == 17 for p in pages[:-1])
    walked = [r for p in pages for r in p["value"]]
    assert ids(walked) == ids(full) and len(set(ids(walked))) == len(walked)
    keys = [when(r) for r in walked]
    assert keys == sorted(keys, reverse=order == "desc")
    link = pages[0]["@odata.nextLink"]
    parts = urlsplit(link)
    assert parts.scheme == "http" and parts.path == URL
    query = parse_qs(parts.query)
    assert query["$top"] == ["17"] and query["$orderby"] == [f"activityDateTime {order}"]
    assert "$skiptoken" in query and "@odata.nextLink" not in pages[-1]


def test_default_order_is_newest_first_and_default_page_size_is_a_knob(audit: Api) -> None:
    page = audit.get(URL).json()
    assert len(page["value"]) == 100 and "@odata.nextLink" in page
    times = [when(r) for r in page["value"]]
    assert times == sorted(times, reverse=True)
    audit.control("POST", "config", json={"audit_page_size": 7})
    assert len(audit.get(URL).json()["value"]) == 7
    explicit = audit.get(URL, params={"$orderby": "activityDateTime"}).json()["value"]
    assert [when(r) for r in explicit] == sorted(when(r) for r in explicit)


def test_ascending_walk_is_stable_while_new_records_arrive(audit: Api) -> None:
    before = audit_records(audit, {"$top": "1000", "$orderby": "activityDateTime asc"})
    first_page = audit.get(URL, params={"$top": "50", "$orderby": "activityDateTime asc"}).json()
    audit.control("POST", "advance", json={"days": 1})       # a new day of drift lands in the log
    walked = list(first_page["value"])
    walked += [r for p in audit.pages(first_page["@odata.nextLink"]) for r in p["value"]]
    assert len(set(ids(walked))) == len(walked)
    assert ids(walked[:len(before)]) == ids(before)
    new = walked[len(before):]
    assert new and min(when(r) for r in new) > max(when(r) for r in before)


def test_a_skiptoken_belongs_to_its_query(audit: Api) -> None:
    link = audit.get(URL, params={"$top": "5", "$filter": "result eq 'success'"}).json()["@odata.nextLink"]
    token = parse_qs(urlsplit(link).query)["$skiptoken"][0]
    assert audit.get(link).status_code == 200
    assert_error(audit.get(URL, params={"$skiptoken": token}), 400, "BadRequest", "skiptoken")
    assert_error(audit.get(URL, params={"$skiptoken": token, "$filter": "result eq 'failure'"}), 400)


def test_select_cuts_records_down_and_beta_adds_user_agent(audit: Api) -> None:
    v1 = audit.get(URL, params={"$top": "5"}).json()["value"]
    beta = audit.get("/beta/auditLogs/directoryAudits", params={"$top": "5"}).json()["value"]
    assert ids(v1) == ids(beta)
    assert "userAgent" not in v1[0] and all("userAgent" in r for r in beta)
    assert {k: v for k, v in beta[0].items() if k != "userAgent"} == v1[0]
    page = audit.get(URL, params={"$top": "5", "$select": "id,activityDisplayName,targetResources"}).json()
    context = page["@odata.context"]
    assert context.endswith("#auditLogs/directoryAudits(id,activityDisplayName,targetResources)")
    assert all(set(r) == {"id", "activityDisplayName", "targetResources"} for r in page["value"])
    selected = audit.get("/beta/auditLogs/directoryAudits", params={"$select": "userAgent,id", "$top": "3"})
    assert all(set(r) == {"id", "userAgent"} for r in selected.json()["value"])


def test_get_one_record_by_id(audit: Api) -> None:
    record = audit.get(URL, params={"$top": "1"}).json()["value"][0]
    one = audit.get(f"{URL}/{record['id']}")
    assert one.status_code == 200
    doc = one.json()
    assert doc.pop("@odata.context").endswith("#auditLogs/directoryAudits/$entity")
    assert doc == record
    assert set(audit.get(f"{URL}/{record['id']}", params={"$select": "id,result"}).json()) == \
        {"@odata.context", "id", "result"}
    assert_error(audit.get(f"{URL}/{record['id']}1"), 404, "Request_ResourceNotFound")
    assert_error(audit.get(f"{URL}/not-an-audit-id"), 404)
    assert_error(audit.get(f"{URL}/{record['id']}", params={"$filter": "result eq 'success'"}), 400)
