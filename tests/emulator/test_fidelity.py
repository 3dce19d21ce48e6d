"""The emulator's payloads against Microsoft's own artifacts (``tests/fixtures/fidelity``): the v1.0
``$metadata`` of the recovery API and of the directory types, and a live capture of the snapshot list."""

from __future__ import annotations

import base64
import itertools
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import orjson

from entrabr_tui.emulator import catalog as c
from entrabr_tui.emulator.directory import Directory
from entrabr_tui.emulator.jobs import RECOVERY, JobStore
from entrabr_tui.emulator.views import job_json

from .conftest import PREFER, Api
from .fidelity_schema import TypeChecker, capture, directory_schema, recovery_schema
from .tenant_helpers import NOW, T0, change_records

NS = "microsoft.graph.entraRecoveryServices"
REMOVED = {"reason": "changed"}


@cache
def recovery() -> TypeChecker:
    return recovery_schema()


@cache
def directory() -> TypeChecker:
    return directory_schema()


def _graph_type(odata_type: str) -> str:
    assert odata_type.startswith("#microsoft.graph."), odata_type
    name = odata_type.removeprefix("#microsoft.graph.")
    assert directory().has(name), f"{odata_type} is not a type of the v1.0 schema digest"
    return name


def change_problems(doc: dict[str, Any]) -> list[str]:
    """Everything in one change object that does not fit recoveryChangeObjectBase and the Graph type its
    deltaFromCurrent / currentState name (links, ``@odata.type`` and ``@removed`` aside)."""
    problems = recovery().check_object(doc, "recoveryChangeObjectBase", "change",
                                       skip=frozenset({"deltaFromCurrent", "currentState"}))
    for side in ("deltaFromCurrent", "currentState"):
        part = doc[side]
        if "@odata.type" not in part:
            problems.append(f"{side}: no @odata.type")
            continue
        name = _graph_type(part["@odata.type"])
        links = frozenset(k for k in part if k.endswith("@delta"))
        problems += directory().check_object(part, name, f"{doc['id']}.{side}", skip=links)
        props = directory().properties(name)
        for key in links:
            relation = key.removesuffix("@delta")
            if relation not in props or not props[relation][2]:
                problems.append(f"{side}.{key}: {relation} is not a relationship of {name}")
            for entry in part[key]:
                if set(entry) - {"@odata.type", "id", "@removed"} or not directory().has(
                        entry["@odata.type"].removeprefix("#microsoft.graph.")):
                    problems.append(f"{side}.{key}: odd link entry {entry}")
                if "@removed" in entry and entry["@removed"] != REMOVED:
                    problems.append(f"{side}.{key}: @removed must be {REMOVED}")
        if "@removed" in part and part["@removed"] != REMOVED:
            problems.append(f"{side}: @removed must be {REMOVED}")
    return problems


# ---- the recoverable-property catalogue -------------------------------------------------------------------
def test_every_recoverable_property_is_a_property_of_its_graph_type() -> None:
    for entity_type, names in c.RECOVERABLE.items():
        if entity_type == c.NAMED_LOCATION:
            graph_types = [_graph_type(c.IP_LOCATION_ODATA), _graph_type(c.COUNTRY_LOCATION_ODATA)]
        else:
            graph_types = [_graph_type(c.ODATA_TYPES[entity_type])]
        for name in names:
            assert any(name in directory().properties(t) for t in graph_types), (entity_type, name)
    assert "perUserMfaState" not in c.RECOVERABLE[c.USER]
    assert c.RECOVERABLE[c.ORGANIZATION] == ()


# ---- change objects -------------------------------------------------------------------------------------
def test_change_objects_fit_the_v1_schema() -> None:
    seen: set[str] = set()
    for seed in range(1, 7):  # seed 6 also edits a country named location
        d = Directory(seed=seed, objects=2000, now=NOW, sync_flag_in_changes=seed % 2 == 0)
        for sid, _ in d.snapshots():
            for record in d.diff(sid):
                doc = orjson.loads(record.body)
                assert change_problems(doc) == []
                seen.add(doc["deltaFromCurrent"]["@odata.type"])
        outcome = d.recover(d.snapshots()[-1][0])
        assert outcome.failed
        for failure in outcome.failed:
            doc = orjson.loads(failure.body)
            assert isinstance(doc["failureMessage"], str) and doc["failureMessage"]
            assert change_problems(doc) == []
    # every type the emulated tenant changes: users, groups, CA policies, both named locations, the
    # authentication methods and authorization policies, applications and service principals
    assert seen == {c.ODATA_TYPES[t] for t in c.ENTITY_TYPES if t != c.ORGANIZATION} | {
        c.COUNTRY_LOCATION_ODATA}


def test_the_checker_catches_invented_properties() -> None:
    doc = {"entityTypeName": "user", "id": "x", "displayName": "A", "recoveryAction": "update",
           "deltaFromCurrent": {"@odata.type": "#microsoft.graph.user", "perUserMfaState": "enforced",
                                "accountEnabled": "yes", "manager@delta": []},
           "currentState": {"@odata.type": "#microsoft.graph.organization",
                            "strongAuthenticationDetails": {}},
           "recoveryAction2": 1}
    problems = "\n".join(change_problems(doc))
    for fragment in ("perUserMfaState: no such property on user", "accountEnabled: 'yes'",
                     "strongAuthenticationDetails: no such property on organization", "recoveryAction2"):
        assert fragment in problems
    assert "manager@delta" not in problems  # manager is a relationship of user


# ---- snapshots -----------------------------------------------------------------------------------------
def test_snapshot_list_has_the_shape_of_the_live_capture(api: Api) -> None:
    live = capture("graph2otel_snapshots.json")["value"]
    response = api.get("/v1.0/directory/recovery/snapshots")
    doc = response.json()
    assert set(doc) == {"@odata.context", "value"}                 # one page, no next link
    ours = doc["value"]
    assert len(ours) == len(live) == 7
    assert [set(s) for s in ours] == [set(s) for s in live] == [{"id", "createdDateTime"}] * 7
    for snapshots in (ours, live):
        times = [datetime.fromisoformat(s["createdDateTime"].replace("Z", "+00:00")) for s in snapshots]
        assert all(t.astimezone(UTC).time().isoformat() == "22:00:00" for t in times)
        assert all(a - b == timedelta(days=1) for a, b in itertools.pairwise(times))   # newest first
        for s, t in zip(snapshots, times, strict=True):
            assert base64.b64decode(s["id"]).decode() == str(int(t.timestamp()))
    for item in ours:
        assert recovery().check_object(item, "snapshot", "snapshot") == []
        one = api.get(f"/v1.0/directory/recovery/snapshots/{item['id']}").json()
        assert recovery().check_object(one, "snapshot", "snapshot") == []
    empty = api.get("/v1.0/directory/recovery/jobs").json()["value"]
    assert empty == capture("graph2otel_jobs.json")["value"] == []


# ---- jobs ----------------------------------------------------------------------------------------------
def _job_problems(doc: dict[str, Any]) -> list[str]:
    odata = doc["@odata.type"]
    assert odata in (f"#{NS}.recoveryJob", f"#{NS}.recoveryPreviewJob")
    name = odata.rsplit(".", 1)[1]
    problems = recovery().check_object(doc, name, name)
    if doc.get("filteringCriteria") is not None:
        problems += recovery().check_object(doc["filteringCriteria"], "recoveryJobFilteringCriteriaBase",
                                            "filteringCriteria")
    props = recovery().properties(name)
    missing = set(props) - set(doc) - {k for k, v in props.items() if v[2]}
    return problems + [f"{name}: {m} missing" for m in sorted(missing)]


def test_jobs_in_every_state_fit_the_schema(api: Api) -> None:
    docs: list[dict[str, Any]] = []
    names = {"@odata.type": f"#{NS}.recoveryJobEntityNamesFilter", "entityTypes": ["user", "organization"]}
    ids = {"@odata.type": f"#{NS}.recoveryJobEntityNameAndIdsFilter",
           "filterValues": [{"entityType": "group", "entityIds": ["00000000-0000-0000-0000-000000000001"]}]}
    for body in (None, {"filteringCriteria": names}, {"filteringCriteria": ids}):
        _, job = api.run("preview", body)
        docs.append(job)
    _, recovered = api.run("recovery")
    docs.append(recovered)
    api.control("POST", "config", json={"job_speed": 1})
    url = api.start("recovery")
    docs.append(api.get(url, headers=PREFER).json())                      # initialized
    api.post(f"/v1.0/directory/recovery/jobs/{url.rsplit('/', 1)[1]}/cancel")
    docs.append(api.get(url).json())                                      # abandoned
    docs += api.get("/beta/directory/recovery/jobs").json()["value"]
    assert {d["status"] for d in docs} >= {"successful", "initialized", "abandoned"}
    for doc in docs:
        assert _job_problems(doc) == [], doc


def test_a_running_recovery_fits_the_schema_and_counts_up() -> None:
    store = JobStore(seed=1, job_speed=1000, retention_days=7)
    store.loaded.add("S1")
    job = store.create(kind=RECOVERY, snapshot_id="S1", target=T0, scope=None, criteria=None, now=T0)
    store.step(job, T0 + timedelta(seconds=1))
    store.finish_diff(job, change_records(100, links=1), store.generation)
    assert job.phase_end is not None
    store.step(job, job.phase_end)
    assert job.status == "running"
    doc = job_json(job, True)
    assert _job_problems(doc) == []
    assert doc["status"] == "running" and doc["totalFailedChanges"] is None
    assert isinstance(doc["totalObjectsModified"], int) and isinstance(doc["totalLinksModified"], int)


def test_change_pages_over_http_fit_the_schema(api: Api) -> None:
    url, _ = api.run("preview", snapshot_id=api.snapshots()[-1]["id"])
    for page in api.pages(f"{url}/getChanges", params={"$top": "999"}, headers=PREFER):
        for item in page["value"]:
            assert change_problems(item) == []
    rec_url, _ = api.run("recovery", snapshot_id=api.snapshots()[-1]["id"])
    failed = [i for page in api.pages(f"{rec_url}/getFailedChanges", headers=PREFER) for i in page["value"]]
    assert failed
    for item in failed:
        assert change_problems(item) == []
