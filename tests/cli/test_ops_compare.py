"""``entrabr compare A B`` on the emulator, checked against the emulator's own history of its snapshots."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from entrabr_tui.emulator import EmulatorServer

from .helpers import cli, ok


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    """A tenant without the incident (only daily drift), a couple of days on."""
    emulator = EmulatorServer(seed=11, objects=2000, job_speed=100_000, drift=0)
    emulator.start()
    try:
        httpx.post(f"{emulator.base_url}/_emulator/advance", json={"days": 2}, timeout=60).raise_for_status()
        yield emulator
    finally:
        emulator.stop()


def flags(server: EmulatorServer) -> list[str]:
    return ["--graph-url", server.graph_url(), "--auth", "emulator", "-q"]


def control(server: EmulatorServer, method: str, path: str, **kw: Any) -> Any:
    response = httpx.request(method, f"{server.base_url}/_emulator/{path}", timeout=60, **kw)
    response.raise_for_status()
    return response.json()


def truth(server: EmulatorServer, a: str, b: str) -> dict[tuple[str, str], dict[str, Any]]:
    """The emulator's account of what differs between two snapshots, as reports can show it: an object in the
    deleted items in one and purged in the other is in neither backup's report (hard deletes never are)."""
    objects = control(server, "GET", "history", params={"from": a, "to": b})["objects"]
    return {(o["entityType"], o["id"]): o for o in objects if "present" in (o["a"], o["b"])}


def kind_of(entry: dict[str, Any]) -> str:
    present_a, present_b = entry["a"] == "present", entry["b"] == "present"
    if present_a == present_b:
        return "changed"
    return "appeared" if present_b else "disappeared"


def verdict(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(o["entityType"], o["id"]): o for o in doc["objects"]}


def assert_matches(found: dict[tuple[str, str], dict[str, Any]],
                   expected: dict[tuple[str, str], dict[str, Any]],
                   ) -> None:
    assert set(found) == set(expected)
    for key, entry in expected.items():
        mine = found[key]
        assert mine["change"] == kind_of(entry), key
        if mine["change"] == "changed":
            assert {p["name"]: (p["a"], p["b"]) for p in mine["properties"]} == {
                name: (v["a"], v["b"]) for name, v in entry["properties"].items()}, key
            assert {m["member"] for m in mine["members"] if m["b"]} == set(entry["members"]["added"])
            assert {m["member"] for m in mine["members"] if not m["b"]} == set(entry["members"]["removed"])


def test_compare_two_days_matches_the_emulators_history(server: EmulatorServer) -> None:
    snapshots = [s["id"] for s in control(server, "GET", "state")["snapshots"]]
    a, b = snapshots[3], snapshots[0]
    doc = ok(cli("compare", a, b, *flags(server), "--json")).json()
    assert doc["schema"] == "entrabr.compare/1"
    assert doc["a"]["snapshotId"] == a and doc["b"]["snapshotId"] == b
    assert doc["moved"] == [] and doc["gapSeconds"] < 60 and doc["warnings"] == []
    expected = truth(server, a, b)
    assert expected, "three days of drift change something"
    assert_matches(verdict(doc), expected)
    # The other way round: the same objects, A and B swapped.
    back = ok(cli("compare", b, a, *flags(server), "--json")).json()
    assert_matches(verdict(back), truth(server, b, a))
    # The table names every object of the verdict.
    text = ok(cli("compare", a, b, *flags(server), "--limit", "0")).stdout
    assert f"{len(expected)} object(s) differ between A and B" in text
    assert all(object_id in text for _, object_id in expected)


def changes_of(server: EmulatorServer, snapshot: str, *extra: str) -> dict[tuple[str, str], dict[str, Any]]:
    ok(cli("report", *flags(server), "--snapshot", snapshot, *extra))
    rows = ok(cli("changes", *flags(server), "--snapshot", snapshot, "--limit", "0", "--json")).json()
    return {(c["entityType"], c["id"]): c for c in rows["changes"]}


def test_compare_names_the_objects_the_live_tenant_moved_between_the_reports(server: EmulatorServer) -> None:
    snapshots = [s["id"] for s in control(server, "GET", "state")["snapshots"]]
    a, b, newest = snapshots[3], snapshots[1], snapshots[0]
    before = changes_of(server, newest)
    ok(cli("report", *flags(server), "--snapshot", a))  # report A; then the live tenant moves (the incident)
    control(server, "POST", "incident", json={"objects": 1500})
    after = changes_of(server, newest, "--fresh")
    ok(cli("report", *flags(server), "--snapshot", b, "--fresh"))  # report B, after the move
    doc = ok(cli("compare", a, b, *flags(server), "--json")).json()
    moved_truly = {k for k, c in after.items() if before.get(k) != c} | (before.keys() - after.keys())
    named = {(m["entityType"], m["id"]) for m in doc["moved"]}
    assert len(named) > 10, "objects both reports list, whose live state differs, are named"
    assert named <= moved_truly
    expected = truth(server, a, b)
    found = verdict(doc)
    assert not named & set(found)
    # Away from what moved, the verdict is the emulator's history.
    assert_matches({k: v for k, v in found.items() if k not in moved_truly},
                   {k: v for k, v in expected.items() if k not in moved_truly})
    text = ok(cli("compare", a, b, *flags(server))).stdout
    assert "Moved in the live tenant between the two reports" in text


def test_compare_refuses_the_same_backup_twice(server: EmulatorServer) -> None:
    result = cli("compare", "latest", "latest", *flags(server))
    assert result.code == 2 and "same backup" in result.stderr
