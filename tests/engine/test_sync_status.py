"""Sync status from data: a payload shaped like Microsoft's getChanges example (no ``onPremisesSyncEnabled``)
plans as "unknown" until the directory is asked, a sign-in that may not read the directory leaves it unknown
and the plan warns, and every surface (the tree's ``c`` filter, ``entrabr changes --json``, the diff, the
plan, the exports) gives the same answer for the same objects.

The objects are real ones of the emulated tenant (looked up through its Graph ``/users`` and ``/groups``),
served through ``POST /_emulator/changes-override`` to the next difference report.
"""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import orjson
import pytest
from graph.token_credential import StaticTokenCredential

from entrabr_tui import engine
from entrabr_tui.cli import run
from entrabr_tui.core.recoverability import Recoverable
from entrabr_tui.emulator import EmulatorServer
from entrabr_tui.engine import Session
from entrabr_tui.engine.reports import ReportInfo
from entrabr_tui.engine.sync_status import LookupOutcome
from entrabr_tui.graph.errors import ForbiddenError
from entrabr_tui.store import Cache, HistoryAction, StorePaths
from entrabr_tui.ui.widgets.change_filters import ChangeFilters
from entrabr_tui.ui.widgets.changes_view import fetch_page
from entrabr_tui.ui.widgets.diff import load_diff

from .conftest import FAST, Sleeper, control, settings_for

USER = "#microsoft.graph.user"
GROUP = "#microsoft.graph.group"
POLICY = "#microsoft.graph.conditionalAccessPolicy"
WARNING = ": on-premises-synced objects will fail to recover; grant Directory.Read.All to check"


# -- tenant objects and tokens -------------------------------------------------------------------------------

def _graph_get(server: EmulatorServer, path: str) -> list[dict[str, Any]]:
    token = httpx.get(f"{server.base_url}/_emulator/token?role=admin", timeout=10).json()["access_token"]
    response = httpx.get(f"{server.graph_url()}/{path}", headers={"Authorization": f"Bearer {token}"},
                         timeout=30)
    response.raise_for_status()
    items: list[dict[str, Any]] = response.json()["value"]
    return items


@dataclass(frozen=True)
class Objects:
    """Ids of emulated objects: a synced user, a cloud user, one the directory does not know, a cloud
    group, a policy."""

    synced: str
    cloud: str
    unknown: str
    group: str
    policy: str = "0e9d8c7b-6a5f-4e3d-2c1b-0a9f8e7d6c5b"


def tenant_objects(server: EmulatorServer) -> Objects:
    users = _graph_get(server, "users?$select=id,onPremisesSyncEnabled,userType&$top=999")
    groups = _graph_get(server, "groups?$select=id,onPremisesSyncEnabled,groupTypes&$top=999")
    synced = next(u["id"] for u in users if u.get("onPremisesSyncEnabled") is True)
    cloud = next(u["id"] for u in users
                 if not u.get("onPremisesSyncEnabled") and u.get("userType") == "Member")
    group = next(g["id"] for g in groups if not g.get("onPremisesSyncEnabled")
                 and "DynamicMembership" not in (g.get("groupTypes") or []))
    return Objects(synced, cloud, str(uuid.UUID(int=0xFEED, version=4)), group)


def docs_payload(ids: Objects) -> list[dict[str, Any]]:
    """Change objects shaped like Microsoft's getChanges example (§5.6): no ``onPremisesSyncEnabled``."""

    def user(object_id: str, name: str) -> dict[str, Any]:
        return {"entityTypeName": "user", "id": object_id, "displayName": name, "recoveryAction": "update",
                "deltaFromCurrent": {"@odata.type": USER, "displayName": f"{name} (backup)",
                                     "jobTitle": "Engineer", "accountEnabled": True},
                "currentState": {"@odata.type": USER, "displayName": name, "jobTitle": "Manager",
                                 "accountEnabled": False}}

    return [
        user(ids.synced, "Synced User"), user(ids.cloud, "Cloud User"), user(ids.unknown, "Unknown User"),
        {"entityTypeName": "group", "id": ids.group, "displayName": "Owners Only", "recoveryAction": "update",
         "deltaFromCurrent": {"@odata.type": GROUP,
                              "owners@delta": [{"@odata.type": USER, "id": ids.cloud},
                                               {"@odata.type": USER, "id": ids.synced,
                                                "@removed": {"reason": "changed"}}]},
         "currentState": {"@odata.type": GROUP}},
        {"entityTypeName": "conditionalAccessPolicy", "id": ids.policy, "displayName": "Require MFA",
         "recoveryAction": "update",
         "deltaFromCurrent": {"@odata.type": POLICY, "state": "enabled",
                              "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}},
         "currentState": {"@odata.type": POLICY, "state": "disabled",
                          "grantControls": {"operator": "AND",
                                            "builtInControls": ["mfa", "compliantDevice"]}}},
    ]


def token_without_directory_read(server: EmulatorServer, role: str) -> str:
    """The emulator's token for ``role`` (its tenant, its role), with ``Directory.Read.All`` taken out."""
    token = httpx.get(f"{server.base_url}/_emulator/token?role={role}", timeout=10).json()["access_token"]
    head, payload, _ = token.split(".")
    claims = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["scp"] = " ".join(s for s in claims["scp"].split() if s != "Directory.Read.All")
    body = base64.urlsafe_b64encode(orjson.dumps(claims)).rstrip(b"=").decode()
    return f"{head}.{body}."


OpenAs = Callable[..., Any]


@pytest.fixture
async def open_as(emulator: EmulatorServer, paths: StorePaths, sleeper: Sleeper) -> AsyncIterator[OpenAs]:
    """``await open_as(role, directory=True)``: a session on the emulator, sharing one cache; without
    ``directory`` its token lacks Directory.Read.All."""
    opened: list[Session] = []

    async def make(role: str = "admin", *, directory: bool = True, **overrides: Any) -> Session:
        token = None if directory else token_without_directory_read(emulator, role)
        credential = None if token is None else StaticTokenCredential(token)
        session = await engine.open_session(settings_for(emulator, role, **overrides), paths=paths,
                                            sleep=sleeper, credential=credential)
        opened.append(session)
        return session

    yield make
    for session in opened:
        await session.aclose()


async def override_report(emulator: EmulatorServer, session: Session,
                          changes: list[dict[str, Any]]) -> ReportInfo:
    control(emulator, "changes-override", {"changes": changes})
    snapshot = await session.resolve_snapshot("latest")
    return await session.ensure_report(snapshot, None, fresh=True)


def excluded(session: Session) -> dict[str, str]:
    return {i: str(e.reason) for e in session.plan(record=False).exclusions for i in e.ids}


# -- the docs-shaped payload: unknown, then the lookup ---------------------------------------------------

async def test_docs_payload_plans_unknown_until_the_directory_is_asked(
        emulator: EmulatorServer, open_as: OpenAs) -> None:
    ids = tenant_objects(emulator)
    users = {ids.synced, ids.cloud, ids.unknown}

    # A sign-in whose app has no directory consent creates the report: nothing can be looked up.
    first = await open_as("admin", directory=False)
    report = await override_report(emulator, first, docs_payload(ids))
    assert report.downloaded == 5
    refused = first.history(actions=[HistoryAction.SYNC_STATUS_CHECKED])
    assert refused and refused[0].outcome == "forbidden" and "Directory.Read.All" in (refused[0].detail or "")
    rows = {r.object_id: r for r in first.page(report.id, limit=10)}
    assert {i for i, r in rows.items() if r.sync.value == "unknown"} == users | {ids.group}
    assert {i for i, r in rows.items() if r.recoverable is None} == users
    first.mark(report.id, list(rows))
    plan = first.plan(record=False)
    assert plan.plan.sync_unknown == (("user", tuple(sorted(users))),)
    assert plan.warnings == [f"sync status unknown for 3 users{WARNING}"]
    assert excluded(first) == {ids.group: "nothingRecoverable"}
    assert any(line.endswith(plan.warnings[0]) for line in plan.lines())

    # A Backup Reader without Directory.Read.All is refused too (the service decides, nothing is assumed).
    reader = await open_as("reader", directory=False)
    check = await reader.check_sync_status(queued=True)
    assert check.outcome is LookupOutcome.FORBIDDEN and check.asked == 0 and check.left == 4
    assert check.message is not None and "Directory.Read.All" in check.message
    assert reader.plan(record=False).warnings == plan.warnings
    # Offline nothing is asked; the plan says the same.
    offline = await open_as("admin", offline=True, tenant=reader.tenant)
    assert (await offline.check_sync_status(queued=True)).outcome is LookupOutcome.OFFLINE
    assert offline.plan(record=False).warnings == plan.warnings

    # With Directory.Read.All the queued users and groups are looked up: the synced user is excluded.
    admin = await open_as("admin")
    check = await admin.check_sync_status(queued=True)
    assert check.outcome is LookupOutcome.DONE
    assert (check.asked, check.synced, check.cloud, check.not_found) == (4, 1, 2, 1)
    after = admin.plan(record=False)
    assert excluded(admin) == {ids.synced: "onPremisesSynced", ids.group: "nothingRecoverable"}
    assert {i for t in after.types for i in t.ids} == {ids.cloud, ids.unknown, ids.policy}
    assert after.plan.sync_unknown == (("user", (ids.unknown,)),)
    assert after.warnings == [f"sync status unknown for 1 user{WARNING}"]
    # Asked once: the one the directory did not return is not asked about again.
    assert (await admin.check_sync_status(queued=True)).outcome is LookupOutcome.NOTHING
    looked_up = admin.cache.sync.looked_up(report.report_id, ids.unknown)
    assert looked_up is not None and looked_up[0] is None


# -- the command line on a cached report --------------------------------------------------------------------


def _looked_up(report_id: str) -> list[dict[str, Any]]:
    code, listed, err = cli("history", "--action", HistoryAction.SYNC_STATUS_CHECKED.value, "--json")
    assert code == 0, err
    return [e for e in json.loads(listed)["entries"] if e["jobId"] == report_id and e["outcome"] == "done"]


async def test_changes_and_export_look_up_a_cached_report_once_and_say_when_offline(
    emulator: EmulatorServer, open_as: OpenAs
) -> None:
    ids = tenant_objects(emulator)
    first = await open_as("admin", directory=False)  # the lookup after each download is refused
    report = await override_report(emulator, first, docs_payload(ids))
    other = await override_report(emulator, first, docs_payload(ids))
    graph = ["--graph-url", emulator.graph_url(), "--auth", "emulator"]
    offline = ["--offline", "--tenant", first.tenant]

    def recoverable(document: str) -> dict[str, bool | None]:
        return {c["id"]: c["recoverable"] for c in json.loads(document)["changes"]}

    # Offline nothing can be asked: the command says how many stay unknown.
    code, listed, err = await asyncio.to_thread(cli, "changes", *offline, "--report", report.id, "--json")
    assert code == 0, err
    assert f"Offline: the sync status of 4 users and groups of report {report.id} is unknown" in err
    assert recoverable(listed)[ids.synced] is None

    # Online the cached report is looked up, as the app does when it opens one; the answers are kept.
    code, listed, err = await asyncio.to_thread(cli, "changes", *graph, "--report", report.id, "--json")
    assert code == 0, err
    assert "4 users and groups asked about: 1 synced from on-premises, 2 cloud, 1 not found" in err
    answers = recoverable(listed)
    assert (answers[ids.synced], answers[ids.cloud], answers[ids.unknown]) == (False, True, None)
    assert len(_looked_up(report.id)) == 1
    # Once per report: the next command asks nothing, and offline nothing is left never looked up.
    code, again, err = await asyncio.to_thread(cli, "changes", *graph, "--report", report.id, "--json")
    assert code == 0 and "asked about" not in err and recoverable(again) == answers
    assert len(_looked_up(report.id)) == 1
    code, _, err = await asyncio.to_thread(cli, "changes", *offline, "--report", report.id)
    assert code == 0 and "Offline:" not in err, err

    # export does the same for its report.
    code, _, err = await asyncio.to_thread(cli, "export", *offline, "--report", other.id, "--out", "-")
    assert code == 0 and f"4 users and groups of report {other.id} is unknown" in err, err
    code, exported, err = await asyncio.to_thread(cli, "export", *graph, "--report", other.id, "--out", "-")
    assert code == 0 and "4 users and groups asked about" in err, err
    assert recoverable(exported)[ids.synced] is False and len(_looked_up(other.id)) == 1
    code, _, err = await asyncio.to_thread(cli, "export", *graph, "--report", other.id, "--out", "-")
    assert code == 0 and "asked about" not in err and len(_looked_up(other.id)) == 1


# -- one answer on every surface -------------------------------------------------------------------------

OBJECTS = ("synced user", "cloud user", "unknown user", "owners-only group", "CA policy")
EXPECTED = {"synced user": "no", "cloud user": "yes", "unknown user": "unknown",
            "owners-only group": "no", "CA policy": "yes"}


def cli(*argv: str) -> tuple[int, str, str]:
    """``entrabr *argv`` in this process (its own event loop): exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), stdin=io.StringIO(), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def _answer(flag: bool | None) -> str:
    return Recoverable.from_flag(flag).value


async def _surfaces(server: EmulatorServer, paths: StorePaths, graph: list[str]) -> dict[str, dict[str, str]]:
    """Each object's answer on each surface, after the report was ensured (and looked up) by an admin."""
    ids = tenant_objects(server)
    names = dict(zip(OBJECTS, (ids.synced, ids.cloud, ids.unknown, ids.group, ids.policy), strict=True))
    session = await engine.open_session(settings_for(server, "admin"), paths=paths, sleep=Sleeper())
    try:
        report = await override_report(server, session, docs_payload(ids))
        answers: dict[str, dict[str, str]] = {name: {} for name in OBJECTS}
        by_id = {object_id: name for name, object_id in names.items()}
        rows = session.page(report.id, limit=10)
        nodes = {(r.entity_type_raw, r.action_raw) for r in rows}

        # The tree's c filter: recoverable, not recoverable, unknown, then no filter.
        filters, seen = ChangeFilters(), []
        for _ in range(4):
            filters.cycle_recoverable()
            key = filters.key(len(rows))
            seen.append(None if key is None else key[1])
            if key is None:
                continue
            for node in nodes:
                for row in fetch_page(session, report.id, node, None, key):
                    answers[by_id[row.id]]["c filter"] = str(key[1])
        assert seen == [Recoverable.YES, Recoverable.NO, Recoverable.UNKNOWN, None]

        # entrabr changes --json (a process of its own on the same cache).
        code, listed, err = await asyncio.to_thread(cli, "changes", *graph, "--report", report.id,
                                                    "--limit", "0", "--json")
        assert code == 0, err
        for change in json.loads(listed)["changes"]:
            answers[by_id[change["id"]]]["cli"] = _answer(change["recoverable"])

        # The diff's Rec column, read through the Backend.
        for name, object_id in names.items():
            _, diff_rows = load_diff(session, report.id, object_id)
            flags = {r.recoverable for r in diff_rows if r.changed}
            answers[name]["diff"] = "yes" if True in flags else "unknown" if None in flags else "no"

        # The restore plan of everything queued.
        session.mark(report.id, list(names.values()))
        plan = session.plan(record=False)
        unknown = {i for _, group in plan.plan.sync_unknown for i in group}
        for t in plan.types:
            for object_id in t.ids:
                answers[by_id[object_id]]["plan"] = "unknown" if object_id in unknown else "yes"
        for exclusion in plan.exclusions:
            for object_id in exclusion.ids:
                answers[by_id[object_id]]["plan"] = "no"

        # entrabr export (JSON and CSV).
        code, exported, err = await asyncio.to_thread(cli, "export", *graph, "--report", report.id,
                                                      "--out", "-")
        assert code == 0, err
        for change in json.loads(exported)["changes"]:
            answers[by_id[change["id"]]]["export"] = _answer(change["recoverable"])
        code, as_csv, err = await asyncio.to_thread(cli, "export", *graph, "--report", report.id,
                                                    "--format", "csv", "--out", "-")
        assert code == 0, err
        for cells in csv.DictReader(io.StringIO(as_csv, newline="")):  # one row per changed property
            text = {"true": "yes", "false": "no"}.get(cells["recoverable"], cells["recoverable"])
            answers[by_id[cells["id"]]]["csv export"] = text
        return answers
    finally:
        await session.aclose()


@pytest.fixture(scope="module")
def surfaces(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, dict[str, str]]]:
    """Built once for the parametrized test below (own home folder, own emulator, own event loop)."""
    home = tmp_path_factory.mktemp("sync-surfaces")
    server = EmulatorServer(seed=11, objects=2000, job_speed=FAST)
    server.start()
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("ENTRABR_HOME", str(home))
            graph = ["--graph-url", server.graph_url(), "--auth", "emulator", "-q"]
            yield asyncio.run(_surfaces(server, StorePaths.under(Path(home)), graph))
    finally:
        server.stop()


@pytest.mark.parametrize("name", OBJECTS)
def test_every_surface_gives_the_same_answer(surfaces: dict[str, dict[str, str]], name: str) -> None:
    got = surfaces[name]
    assert set(got) == {"c filter", "cli", "diff", "plan", "export", "csv export"}, got
    assert set(got.values()) == {EXPECTED[name]}, json.dumps(got)


# -- a lookup stopped half-way keeps what it learnt --------------------------------------------------------

class HalfRefusingDirectory:
    """Answers the first request (synced for even positions), refuses the next one (403)."""

    def __init__(self) -> None:
        self.asked: list[list[str]] = []

    async def lookup_sync_status(self, ids: list[str]) -> dict[str, bool | None]:
        self.asked.append(list(ids))
        if len(self.asked) > 1:
            raise ForbiddenError("Looking up which objects are synchronised from on-premises was refused.",
                                 needs="Directory.Read.All", status=403)
        return {object_id: n % 2 == 0 for n, object_id in enumerate(ids)}


async def test_a_lookup_stopped_half_way_keeps_what_it_learnt() -> None:
    from entrabr_tui.engine.opening import recoverable_flag
    from entrabr_tui.engine.sync_status import SyncStatusLookup

    items = [{"id": str(uuid.UUID(int=n + 1, version=4)), "entityTypeName": "user",
              "displayName": f"u{n}", "recoveryAction": "update", "deltaFromCurrent": {"jobTitle": "A"},
              "currentState": {"jobTitle": "B"}} for n in range(5)]
    cache = Cache.open("half-way", recoverable=recoverable_flag)
    try:
        report = cache.report_writer.begin_report("job", "snap", None, "first")
        cache.report_writer.ingest_page(report.id, items, None, "first")
        client = SimpleNamespace(directory=HalfRefusingDirectory())
        lookup = SyncStatusLookup(client, cache, chunk=2)  # type: ignore[arg-type]  # a client with a directory only
        progress: list[tuple[int, int]] = []
        check = await lookup.run(report.id, progress=lambda done, total: progress.append((done, total)))
        assert (check.outcome, check.asked, check.synced, check.cloud, check.left) == (
            LookupOutcome.FORBIDDEN, 2, 1, 1, 3)
        assert progress == [(0, 5), (2, 5)] and "stopped with 3 still unknown" in check.summary
        rows = {r.display_name: (r.sync.value, r.recoverable) for r in cache.queries.page(report.id)}
        assert rows == {"u0": ("synced", False), "u1": ("cloud", True), "u2": ("unknown", None),
                        "u3": ("unknown", None), "u4": ("unknown", None)}
        assert cache.sync.pending(report.id) == [i["id"] for i in items[2:]]
    finally:
        cache.close()
