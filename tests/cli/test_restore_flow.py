"""Restore and export from the command line against one live emulator shared by every command.

``--demo`` starts a fresh emulator per process, so a restore's effect is checked here against an emulator
this test keeps running (``--graph-url ... --auth emulator``): plan from IDs on stdin, confirmation rules,
a full ``restore --apply --all --yes`` confirmed by a fresh report, and every export format parsed back.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from .helpers import cli, emulator_flags, ok


@pytest.fixture
def graph() -> Iterator[list[str]]:
    with emulator_flags() as flags:
        yield flags


def recovery_jobs(graph: list[str]) -> list[dict[str, object]]:
    return [j for j in ok(cli("jobs", *graph, "--json")).json()["jobs"] if j["kind"] == "recoveryJob"]


def test_plan_confirm_apply_verify_and_export(graph: list[str], tmp_path: Path) -> None:
    summary = ok(cli("report", *graph, "--json")).json()
    report_id = summary["report"]["id"]
    rows = ok(cli("changes", *graph, "--limit", "0", "--json")).json()
    assert rows["total"] == rows["returned"] == summary["totalChanges"]
    changes = {c["id"]: c for c in rows["changes"]}

    # --- a dry run for IDs read from stdin (comments, a TYPE: prefix, an unknown ID skipped on request)
    users = [c for c in rows["changes"] if c["entityType"] == "user" and c["recoverable"]
             and not c["onPremisesSynced"]][:3]
    text = "# from the audit log\n" + "".join(f"user:{c['id']}  # {c['displayName']}\n" for c in users)
    strict = cli("restore", *graph, "--plan", "--ids-from", "-", "--json", stdin=text + "unknown-id\n")
    assert strict.code == 8 and "unknown-id" in strict.stderr
    plan = ok(cli("restore", *graph, "--plan", "--ids-from", "-", "--ignore-missing", "--json",
                  stdin=text + "unknown-id\n")).json()
    assert plan["schema"] == "entrabr.plan/1" and plan["reportId"] == report_id
    actions = ("restore", "update", "softDelete", "other")
    planned = {i for t in plan["types"] for key in actions for i in t[key]}
    assert planned == {c["id"] for c in users}
    assert plan["jobs"] and all(j["@odata.type"].endswith("EntityNameAndIdsFilter") for j in plan["jobs"])

    # --- confirmation: refused without a terminal, and 'y' is not enough when something is soft-deleted
    assert cli("restore", *graph, "--apply", "--all").code == 2
    full_plan = ok(cli("restore", *graph, "--plan", "--all", "--json")).json()
    assert full_plan["summary"]["softDelete"] > 0
    declined = cli("restore", *graph, "--apply", "--all", stdin="y\n", tty_stdin=True)
    assert declined.code == 1 and "Type soft-delete to confirm" in declined.stderr
    assert recovery_jobs(graph) == []

    # --- the full restore, then a fresh report shows only what recovery cannot or did not change
    applied = cli("restore", *graph, "--apply", "--all", "--yes", "--json")
    result = applied.json()
    assert result["schema"] == "entrabr.restoreResult/1"
    assert len(result["jobs"]) == full_plan["summary"]["jobs"]
    assert all(j["status"] == "successful" for j in result["jobs"])
    failed = {c["id"] for c in result["failedChanges"]}
    assert applied.code == (7 if failed or result["failedCount"] else 0)
    fresh = ok(cli("report", *graph, "--fresh", "--json")).json()
    assert fresh["report"]["id"] != report_id and not fresh["report"]["reused"]
    left = ok(cli("changes", *graph, "--report", fresh["report"]["id"], "--limit", "0", "--json")).json()
    excluded = {i for e in full_plan["excluded"] for i in e["ids"]}
    assert left["total"] < summary["totalChanges"]
    for change in left["changes"]:
        assert change["id"] in excluded | failed, change
        assert change["id"] in changes

    # --- exports of the report, a plan and the job results, in every format, parse back
    for what, extra in (("report", ["--report", report_id]), ("plan", ["--all", "--report", report_id]),
                        ("jobs", [])):
        for fmt in ("json", "csv", "md"):
            path = tmp_path / f"{what}.{fmt}"
            written = ok(cli("export", *graph, "--what", what, "--format", fmt, "--out", str(path), "--json",
                             *extra)).json()
            assert written["schema"] == "entrabr.exported/1" and written["records"] > 0
            body = path.read_text(encoding="utf-8")
            check_export(what, fmt, body, summary["totalChanges"])
    assert (tmp_path / "report.csv").stat().st_mode & 0o777 == 0o600
    again = cli("export", *graph, "--what", "jobs", "--out", str(tmp_path / "jobs.json"))
    assert again.code == 2 and "--force" in again.stderr
    streamed = ok(cli("export", *graph, "--what", "jobs", "--format", "json", "--out", "-"))
    assert json.loads(streamed.stdout)["schema"] == "entrabr.jobs/1"
    history = ok(cli("history", "--action", "export", "--json")).json()["entries"]
    assert len(history) == 10


def check_export(what: str, fmt: str, body: str, total: int) -> None:
    if fmt == "json":
        doc = json.loads(body)
        assert doc["schema"] == f"entrabr.{what}/1"
        if what == "report":
            assert len(doc["changes"]) == total
        if what == "jobs":
            assert any(j["kind"] == "recoveryJob" for j in doc["jobs"])
    elif fmt == "csv":
        rows = list(csv.reader(io.StringIO(body, newline="")))
        assert len(rows) > 1 and all(len(r) == len(rows[0]) for r in rows)
        if what == "report":  # a row per changed property, every change there
            assert len({r[2] for r in rows[1:]}) == total and rows[0][-3:] == ["property", "backupValue",
                                                                                 "currentValue"]
    else:
        header = {"report": "| Type | Action | ID | Name |", "plan": "| Type | ID | Outcome | Job |",
                  "jobs": "| Kind | Job | Status |"}[what]
        assert any(line.startswith(header) for line in body.splitlines())
