"""The checks around a restore from the command line, against one live emulator: reviewed plan files and
their refusals (each with its own exit code), a second person applying one, the staleness guard stopping a
script, and the lockout guard asking for the policy's name."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from entrabr_tui.cli.exits import ExitCode
from entrabr_tui.emulator import EmulatorServer
from entrabr_tui.store import StorePaths

from .helpers import cli, ok


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    server = EmulatorServer(seed=7, objects=300, job_speed=100_000)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def graph(server: EmulatorServer, role: str = "admin") -> list[str]:
    return ["--graph-url", server.graph_url(), "--auth", "emulator", "--role", role, "-q"]


def edit(server: EmulatorServer, object_id: str, body: dict[str, Any]) -> None:
    httpx.post(f"{server.base_url}/_emulator/tenant/objects/{object_id}", json=body,
               timeout=10).raise_for_status()


def users(server: EmulatorServer, count: int) -> list[str]:
    ok(cli("report", *graph(server)))
    rows = ok(cli("changes", *graph(server), "--type", "user", "--limit", "0", "--json")).json()["changes"]
    return [c["id"] for c in rows if c["recoverable"] and c["action"] == "update"][:count]


def write_config(home: Path, text: str) -> None:
    path = StorePaths.under(home).config_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_reviewed_plan_files_are_refused_each_with_its_own_code_and_applied_by_a_second_person(
        server: EmulatorServer, tmp_path: Path, entrabr_home: Path) -> None:
    ids = users(server, 3)
    plan_file = tmp_path / "plan.json"
    targets = [f"--id={i}" for i in ids]
    written = ok(cli("restore", *graph(server), "--plan", "--out", str(plan_file), *targets, "--json"))
    assert written.json()["schema"] == "entrabr.plan/1"
    doc = plan_file.read_text()
    assert '"contentSha256"' in doc and '"reviewer"' in doc and "backup.admin@contoso.example" in doc
    write_config(entrabr_home, f'[tenants."{server.tenant_id}"]\nrequire_second_person = true\n')

    same = cli("restore", *graph(server), "--apply", str(plan_file), "--yes")
    assert same.code == int(ExitCode.SAME_REVIEWER) == 16 and "second person" in same.stderr

    tampered = tmp_path / "tampered.json"
    tampered.write_text(doc.replace('"update"', '"softDelete"', 1))
    assert cli("restore", *graph(server, "global"), "--apply", str(tampered), "--yes").code == 13
    not_a_plan = tmp_path / "other.json"
    not_a_plan.write_text('{"schema": "entrabr.plan/1"}')
    assert cli("restore", *graph(server, "global"), "--apply", str(not_a_plan), "--yes").code == 2

    applied = cli("restore", *graph(server, "global"), "--apply", str(plan_file), "--yes", "--json")
    assert applied.code == 0, applied.stderr
    result = applied.json()
    assert result["reviewedPlan"]["reviewer"] == "backup.admin@contoso.example"
    assert result["recheck"]["clean"] and result["verification"]["verdict"] == "verified"
    restored = {i for job in result["jobs"] for v in job["scope"]["filterValues"] for i in v["entityIds"]}
    assert restored == set(ids)
    history = ok(cli("history", "--action", "plan-applied", "--json")).json()["entries"]
    applying = next(e for e in history if e["outcome"] == "applying")
    assert applying["identity"] == "global.admin@contoso.example"
    assert "reviewed by backup.admin@contoso.example" in applying["detail"]
    assert "applied by global.admin@contoso.example" in applying["detail"]

    other = EmulatorServer(seed=8, objects=300, job_speed=100_000)
    other.start()
    try:
        assert cli("restore", *graph(other), "--apply", str(plan_file), "--yes").code == 14
    finally:
        other.stop()

    httpx.post(f"{server.base_url}/_emulator/advance", json={"days": 7}, timeout=30).raise_for_status()
    expired = cli("restore", *graph(server, "global"), "--apply", str(plan_file), "--yes")
    assert expired.code == 15 and "no longer available" in expired.stderr


def test_a_script_stops_when_objects_moved_since_the_review(server: EmulatorServer) -> None:
    ids = users(server, 2)
    edit(server, ids[0], {"properties": {"jobTitle": "Fixed by hand meanwhile"}})
    args = ["restore", *graph(server), "--apply", *[f"--id={i}" for i in ids], "--yes"]
    stopped = cli(*args)
    assert stopped.code == int(ExitCode.STALE) == 17
    assert "moved since the review" in stopped.stderr and ids[0] in stopped.stderr
    dropped = ok(cli(*args, "--if-moved", "drop", "--json")).json()
    assert [m["id"] for m in dropped["recheck"]["moved"]] == [ids[0]]
    restored = {i for job in dropped["jobs"] for v in job["scope"]["filterValues"] for i in v["entityIds"]}
    assert restored == {ids[1]}
    skipped = ok(cli(*args, "--no-recheck", "--no-verify", "--json")).json()
    assert skipped["recheck"]["skipped"] and skipped["verification"]["verdict"] == "not verified"


def test_a_policy_restore_that_would_lock_out_a_break_glass_group_needs_its_name(
        server: EmulatorServer) -> None:
    token = server.token("admin")
    headers = {"Authorization": f"Bearer {token}"}
    policies = httpx.get(f"{server.graph_url()}/identity/conditionalAccess/policies", headers=headers,
                         timeout=10).json()["value"]
    policy = next(p for p in policies if p["state"] == "enabled" and p["grantControls"]
                  and "All" in p["conditions"]["users"]["includeUsers"]
                  and p["conditions"]["clientAppTypes"] == ["all"]
                  and p["conditions"]["applications"]["includeApplications"] == ["All"])
    group = httpx.get(f"{server.graph_url()}/groups", params={"$top": "2"}, headers=headers,
                      timeout=10).json()["value"][1]["id"]
    exempt = dict(policy["conditions"]["users"], excludeGroups=[group])
    edit(server, policy["id"], {"properties": {"conditions": {**policy["conditions"], "users": exempt}}})
    args = ["restore", *graph(server), "--apply", f"--id={policy['id']}", "--yes",
            "--break-glass-group", group]

    refused = cli(*args)
    assert refused.code == int(ExitCode.LOCKOUT) == 18
    assert "would newly apply to break-glass group" in refused.stderr
    assert policy["displayName"] in refused.stderr
    asked = cli(*args, stdin="not the name\n", tty_stdin=True)
    assert asked.code == 18
    confirmed = cli(*args, "--confirm-policy", policy["displayName"], "--json")
    assert confirmed.code == 0, confirmed.stderr
    result = confirmed.json()
    assert result["lockout"]["findings"][0]["needsConfirmation"]
    assert result["lockoutAfter"]["findings"][0]["principal"] == group
