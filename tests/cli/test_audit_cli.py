"""``entrabr audit``, ``blindspots``, and the audit options of ``changes`` and ``restore --plan``, on the demo
tenant; a sign-in without the audit role exits with 4 and says what is missing."""

from __future__ import annotations

import csv
from pathlib import Path

from .helpers import DEMO, cli


def test_audit_summarises_actors_and_operations() -> None:
    result = cli("audit", *DEMO, "--json")
    assert result.code == 0, result.stderr
    doc = result.json()
    assert doc["schema"] == "entrabr.audit/1" and doc["audit"]["available"] is True
    join = doc["join"]
    assert join["changes"] == join["explained"] + join["partly"] + join["sync"] + join["unexplained"] > 0
    actors = doc["actors"]
    assert [a["changes"] for a in actors] == sorted((a["changes"] for a in actors), reverse=True)
    assert sum(a["changes"] for a in actors) == join["changes"]
    assert any(a["label"] == "Azure AD Sync Helper (app)" and a["kind"] == "app" for a in actors)
    rogue = next(a for a in actors if a["kind"] == "app" and a["label"].startswith("Azure AD Sync Helper"))
    assert rogue["operations"] and all(o["activities"] for o in rogue["operations"])
    assert doc["blindSpots"] > 0
    text = cli("audit", *DEMO, "--actor", "Azure AD Sync Helper", "--no-pull")
    assert text.code == 0, text.stderr
    assert "Azure AD Sync Helper (app)" in text.stdout and "OPERATION" in text.stdout
    assert "it.ops.admin@" not in text.stdout.split("OPERATION")[0].split("ACTOR")[1]


def test_changes_and_restore_plans_by_actor() -> None:
    doc = cli("audit", *DEMO, "--json").json()
    rogue = next(a for a in doc["actors"] if a["kind"] == "app" and a["label"].startswith("Azure AD Sync"))
    changes = cli("changes", *DEMO, "--actor", rogue["servicePrincipalId"], "--limit", "0", "--json")
    assert changes.code == 0, changes.stderr
    rows = changes.json()
    assert rows["total"] == rows["returned"] == rogue["changes"]
    assert {r["audit"]["actor"]["key"] for r in rows["changes"]} == {rogue["key"]}
    everything = cli("changes", *DEMO, "--limit", "0", "--json").json()
    assert all("audit" in r and "verdict" in r["audit"] for r in everything["changes"])
    operation = rogue["operations"][0]["correlationId"]
    one = cli("changes", *DEMO, "--operation", operation, "--limit", "0", "--json").json()
    assert one["total"] == rogue["operations"][0]["changes"]
    assert {r["audit"]["operation"] for r in one["changes"]} == {operation}
    cluster = one["changes"][0]["audit"]["cluster"]
    same = cli("changes", *DEMO, "--cluster", cluster, "--limit", "0", "--json").json()
    assert same["total"] >= 1 and {r["audit"]["cluster"] for r in same["changes"]} == {cluster}
    plan = cli("restore", "--plan", *DEMO, "--actor", rogue["label"].removesuffix(" (app)"), "--json")
    assert plan.code == 0, plan.stderr
    planned = plan.json()
    outcomes = ("restore", "update", "softDelete", "other")
    ids = {i for t in planned["types"] for key in outcomes for i in t[key]}
    excluded = {i for e in planned["excluded"] for i in e["ids"]}
    assert ids | excluded == {r["id"] for r in rows["changes"]} and planned["keptByTags"] == 0
    later = cli("restore", "--plan", *DEMO, "--actor", rogue["key"], "--since", "2000-01-01", "--until", "1d",
                "--json")
    assert later.code == 0 and not [t for t in later.json()["types"] if t["update"]]   # all are newer


def test_blindspots_say_what_to_do_and_the_purge_clock() -> None:
    result = cli("blindspots", *DEMO, "--json")
    assert result.code == 0, result.stderr
    doc = result.json()
    assert doc["schema"] == "entrabr.blindspots/1" and doc["count"] == len(doc["blindSpots"]) > 0
    kinds = {s["kind"] for s in doc["blindSpots"]}
    assert {"hardDelete", "ownerLink", "credentials"} <= kinds
    assert all(s["advice"] and s["heading"] for s in doc["blindSpots"])
    purge = [e["purgeDateTime"] for e in doc["purgeClock"]]
    assert purge == sorted(purge)
    only = cli("blindspots", *DEMO, "--kind", "hardDelete", "--no-pull", "--json").json()
    assert {s["kind"] for s in only["blindSpots"]} == {"hardDelete"}
    text = cli("blindspots", *DEMO, "--no-pull")
    assert "purged for good" in text.stdout and "recreate the object by hand" in text.stdout


def test_audit_exports_csv(tmp_path: Path) -> None:
    target = tmp_path / "who.csv"
    result = cli("audit", *DEMO, "--format", "csv", "--out", str(target))
    assert result.code == 0, result.stderr
    rows = list(csv.reader(target.open(encoding="utf-8")))
    assert rows[0][:3] == ["actor", "kind", "actorKey"] and len(rows) > 3
    again = cli("audit", *DEMO, "--format", "csv", "--out", str(target), "--no-pull")
    assert again.code == 2 and "--force" in again.stderr


def test_without_the_audit_role_exit_4_and_name_what_is_missing() -> None:
    cli("report", *DEMO)
    result = cli("audit", *DEMO, "--role", "reader", "--json")
    assert result.code == 4, result.stderr
    error = result.json()["error"]
    assert error["kind"] == "forbidden" and "Reports Reader" in error["message"]
    assert "lacks a role that may read audit logs" in result.stderr
    assert cli("changes", *DEMO, "--role", "reader", "--json").code == 0      # the rest works as before


def test_since_until_alone_cannot_select_a_restore() -> None:
    result = cli("restore", "--plan", *DEMO, "--since", "1d")
    assert result.code == 2 and "--actor" in result.stderr
