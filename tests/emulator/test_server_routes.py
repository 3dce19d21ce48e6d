"""Every Graph route on /v1.0 and /beta, both spellings of bound operations, envelopes and headers."""

from __future__ import annotations

import pytest

from .conftest import NS, PREFER, Api, assert_error

VERSIONS = ("v1.0", "beta")
JSON = "application/json"


def _fn(name: str) -> list[str]:
    return [name, f"{name}()", f"{NS}.{name}", f"{NS}.{name}()"]


@pytest.mark.parametrize("version", VERSIONS)
def test_root_and_snapshots(api: Api, version: str) -> None:
    root = api.get(f"/{version}/directory/recovery")
    assert root.status_code == 200
    assert root.json()["@odata.context"].endswith(f"/{version}/$metadata#directory/recovery/$entity")
    listing = api.get(f"/{version}/directory/recovery/snapshots")
    assert listing.status_code == 200
    assert listing.headers["content-type"].startswith(JSON)
    doc = listing.json()
    assert doc["@odata.context"] == f"{api.server.base_url}/{version}/$metadata#directory/recovery/snapshots"
    assert "@odata.nextLink" not in doc
    snaps = doc["value"]
    assert len(snaps) == 7
    assert all(set(s) == {"id", "createdDateTime"} for s in snaps)
    times = [s["createdDateTime"] for s in snaps]
    assert times == sorted(times, reverse=True)
    assert all(t.endswith("T22:00:00Z") for t in times)
    one = api.get(f"/{version}/directory/recovery/snapshots/{snaps[2]['id']}")
    assert one.status_code == 200
    assert one.json()["createdDateTime"] == snaps[2]["createdDateTime"]
    count = api.get(f"/{version}/directory/recovery/snapshots/$count")
    assert count.status_code == 200 and count.text == "7"
    assert count.headers["content-type"].startswith("text/plain")


def test_snapshot_ids_are_base64_epoch_seconds(api: Api) -> None:
    import base64
    from datetime import UTC, datetime

    for snap in api.snapshots():
        epoch = int(base64.b64decode(snap["id"]).decode())
        created = datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert created == snap["createdDateTime"]


def test_unknown_snapshot(api: Api) -> None:
    assert_error(api.get("/v1.0/directory/recovery/snapshots/MTIzNDU="), 404, message="not found")
    for segment in ("recoveryPreviewJobs", "recoveryJobs"):
        error = assert_error(api.get(f"/v1.0/directory/recovery/snapshots/MTIzNDU=/{segment}"), 404)
        assert "valid timestamp" in error["message"]
        assert_error(api.post(f"/v1.0/directory/recovery/snapshots/MTIzNDU=/{segment}"), 404,
                     message="valid timestamp")


def test_double_slash_and_trailing_slash_are_collapsed(api: Api) -> None:
    assert api.get("/v1.0//directory/recovery/snapshots").status_code == 200
    assert api.get("/beta//directory//recovery/snapshots/").status_code == 200


@pytest.mark.parametrize("version", VERSIONS)
def test_preview_job_routes_all_spellings(api: Api, version: str) -> None:
    sid = api.newest()
    created = api.create("preview", sid, version=version)
    assert created.status_code == 202
    assert created.content == b""
    location = created.headers["location"]
    prefix = f"{api.server.base_url}/{version}/directory/recovery/snapshots/{sid}/recoveryPreviewJobs/"
    assert location.startswith(prefix)
    job_id = location.rsplit("/", 1)[1]
    job = api.wait(location)
    assert job["status"] == "successful"
    assert job["@odata.type"] == f"#{NS}.recoveryPreviewJob"
    assert job["@odata.context"].endswith(f"snapshots('{sid}')/recoveryPreviewJobs/$entity")
    for name in _fn("getChanges"):
        response = api.get(f"{location}/{name}")
        assert response.status_code == 200, name
        assert response.json()["@odata.context"].endswith(f"#Collection({NS}.recoveryChangeObjectBase)")
    listing = api.get(f"/{version}/directory/recovery/snapshots/{sid}/recoveryPreviewJobs").json()
    assert [j["id"] for j in listing["value"]] == [job_id]
    count = api.get(f"/{version}/directory/recovery/snapshots/{sid}/recoveryPreviewJobs/$count")
    assert count.text == "1"
    assert api.get(f"/{version}/directory/recovery/snapshots/{sid}/recoveryJobs").json()["value"] == []
    # the same job is not reachable as a recovery job or under another snapshot
    other = api.snapshots()[1]["id"]
    wrong_kind = f"/{version}/directory/recovery/snapshots/{sid}/recoveryJobs/{job_id}"
    assert_error(api.get(wrong_kind), 404, "NotFound")
    elsewhere = f"/{version}/directory/recovery/snapshots/{other}/recoveryPreviewJobs/{job_id}"
    assert_error(api.get(elsewhere), 404)


@pytest.mark.parametrize("version", VERSIONS)
def test_recovery_job_routes_all_spellings(api: Api, version: str) -> None:
    sid = api.newest()
    created = api.create("recovery", sid, version=version)
    assert created.status_code == 202 and created.content == b""
    location = created.headers["location"]
    prefix = f"{api.server.base_url}/{version}/directory/recovery/snapshots/{sid}/recoveryJobs/"
    assert location.startswith(prefix)
    job = api.wait(location)
    assert job["@odata.type"] == f"#{NS}.recoveryJob"
    assert job["status"] in {"successful", "failed"}
    for name in _fn("getFailedChanges"):
        response = api.get(f"{location}/{name}")
        assert response.status_code == 200, name
    assert_error(api.get(f"{location}/getChanges"), 400, "BadRequest")
    jobs = api.get(f"/{version}/directory/recovery/jobs").json()
    assert jobs["@odata.context"].endswith("#directory/recovery/jobs")
    assert [j["@odata.type"] for j in jobs["value"]] == [f"#{NS}.recoveryJob"]
    assert api.get(f"/{version}/directory/recovery/jobs/$count").text == "1"
    assert api.get(f"/{version}/directory/recovery/snapshots/{sid}/recoveryJobs/$count").text == "1"
    job_id = job["id"]
    single = api.get(f"/{version}/directory/recovery/jobs/{job_id}")
    assert single.status_code == 200 and single.json()["id"] == job_id


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", _fn("cancel"))
def test_cancel_all_spellings(api: Api, version: str, name: str) -> None:
    api.control("POST", "config", json={"job_speed": 1})
    location = api.start("preview")
    job_id = location.rsplit("/", 1)[1]
    response = api.post(f"/{version}/directory/recovery/jobs/{job_id}/{name}")
    assert response.status_code == 202, response.text
    assert response.content == b""
    assert response.headers["location"] == f"{api.server.base_url}/{version}/directory/recovery/jobs/{job_id}"
    assert api.get(location).json()["status"] == "abandoned"


def test_polymorphic_job_list(api: Api) -> None:
    api.run("preview")
    api.run("recovery")
    values = api.get("/v1.0/directory/recovery/jobs").json()["value"]
    assert [v["@odata.type"] for v in values] == [f"#{NS}.recoveryJob", f"#{NS}.recoveryPreviewJob"]
    assert "totalObjectsModified" in values[0] and "totalObjectsModified" not in values[1]


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/v1.0/directory/recovery"),
    ("PATCH", "/v1.0/directory/recovery"),
    ("DELETE", "/beta/directory/recovery"),
    ("POST", "/v1.0/directory/recovery/snapshots"),
    ("DELETE", "/v1.0/directory/recovery/snapshots/{sid}"),
    ("PATCH", "/v1.0/directory/recovery/snapshots/{sid}"),
    ("PUT", "/v1.0/directory/recovery/snapshots/{sid}/recoveryPreviewJobs"),
    ("DELETE", "/v1.0/directory/recovery/snapshots/{sid}/recoveryJobs"),
    ("POST", "/v1.0/directory/recovery/jobs"),
    ("PATCH", "/v1.0/directory/recovery/jobs/0087d630-8636-4efe-aae0-88c40ad3d22d"),
    ("DELETE", "/v1.0/directory/recovery/jobs/0087d630-8636-4efe-aae0-88c40ad3d22d"),
    ("GET", f"/v1.0/directory/recovery/jobs/0087d630-8636-4efe-aae0-88c40ad3d22d/{NS}.cancel"),
    ("POST", "/v1.0/directory/recovery/snapshots/{sid}/recoveryPreviewJobs/x/getChanges"),
])
def test_undocumented_methods_are_405(api: Api, method: str, path: str) -> None:
    response = api.request(method, path.replace("{sid}", api.newest()))
    assert_error(response, 405, "Request_BadRequest", "not allowed")


@pytest.mark.parametrize("path", [
    "/v1.0/directory/recovery/backups",
    "/v1.0/directory/recovery/snapshots/{sid}/recoveryPreviewJobs/x/getStuff",
    "/beta/directory/somethingElse",
    "/v1.0/directory/recovery/jobs/x/y/z",
])
def test_unknown_segments_are_400(api: Api, path: str) -> None:
    error = assert_error(api.get(path.replace("{sid}", api.newest())), 400, "BadRequest")
    assert "Resource not found for the segment" in error["message"]


def test_invalid_version(api: Api) -> None:
    assert_error(api.get("/v2.0/directory/recovery/snapshots"), 400, "BadRequest", "Invalid version")


def test_unknown_job_is_404(api: Api) -> None:
    sid = api.newest()
    missing = "5b0e7a51-0000-4000-8000-000000000000"
    assert_error(api.get(f"/v1.0/directory/recovery/snapshots/{sid}/recoveryPreviewJobs/{missing}"), 404)
    assert_error(api.get(f"/v1.0/directory/recovery/snapshots/{sid}/recoveryJobs/{missing}/getFailedChanges"),
                 404)
    assert_error(api.post(f"/v1.0/directory/recovery/jobs/{missing}/cancel"), 404)


def test_request_ids_on_every_response(api: Api) -> None:
    plain = api.get("/v1.0/directory/recovery/snapshots")
    assert plain.headers["request-id"] and plain.headers["client-request-id"] == plain.headers["request-id"]
    echoed = api.get("/v1.0/directory/recovery/snapshots", headers={"client-request-id": "abc-123"})
    assert echoed.headers["client-request-id"] == "abc-123"
    assert echoed.headers["request-id"] != plain.headers["request-id"]
    error = api.get("/v1.0/directory/recovery/nope", headers={"client-request-id": "xyz"})
    assert assert_error(error, 400)["innerError"]["client-request-id"] == "xyz"
    control = api.http.get("/_emulator/state")
    assert control.headers["request-id"]
    created = api.create("preview")
    assert created.headers["request-id"] and created.headers["client-request-id"]


def test_prefer_header_is_acknowledged(api: Api) -> None:
    with_pref = api.get("/v1.0/directory/recovery/snapshots", headers=PREFER)
    assert with_pref.headers["preference-applied"] == "include-unknown-enum-members"
    without = api.get("/v1.0/directory/recovery/snapshots")
    assert "preference-applied" not in without.headers
    combined = api.get("/v1.0/directory/recovery/snapshots",
                       headers={"Prefer": "odata.maxpagesize=5, include-unknown-enum-members"})
    assert combined.headers["preference-applied"] == "include-unknown-enum-members"
