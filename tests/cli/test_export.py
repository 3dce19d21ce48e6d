"""Exports of a report, a restore plan and job results: every format parses back, hostile text is defused."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest

from entrabr_tui.core.model import Change, EntityNameAndIdsFilter, Job, JobKind, RecoveryStatus, SyncStatus
from entrabr_tui.core.planner import plan_restore, queued_change_for
from entrabr_tui.engine.export import (
    JOBS_CSV_HEADER,
    PLAN_CSV_HEADER,
    REPORT_CSV_HEADER,
    ExportFormat,
    JobResult,
    JobsExport,
    PlanExport,
    ReportExport,
    TypeActionTotal,
    plan_rows,
    render,
    suggested_filename,
    write_export,
)
from entrabr_tui.engine.export_records import csv_cell, json_text, md_cell, plan_hash, visible

NOW = datetime(2026, 7, 28, 8, 15, tzinfo=UTC)
HOSTILE = "Eve \x1b[31mRED\x1b[0m | *bold* =HYPERLINK(\"x\") \u202eevil\n2nd line"


def change(object_id: str, action: str = "update", entity: str = "user", name: str = "Ada",
           synced: bool = False, failure: str | None = None) -> Change:
    delta = {"@odata.type": "#microsoft.graph.user", "department": "Sales", "accountEnabled": True}
    current = {"department": "Ops", "accountEnabled": False, "userPrincipalName": f"{object_id}@contoso.test"}
    if synced:
        current["onPremisesSyncEnabled"] = True
    data = {"id": object_id, "entityTypeName": entity, "recoveryAction": action, "displayName": name,
            "deltaFromCurrent": delta, "currentState": current}
    if failure is not None:
        data["failureMessage"] = failure
    return Change.from_json(data)


CHANGES = [change("u1"), change("u2", "restore", name=HOSTILE), change("u3", "softDelete"),
           change("u4", synced=True), change("g1", "update", "group", name="=cmd|' /C calc'!A0")]
COUNTS = [TypeActionTotal("user", "update", 2), TypeActionTotal("user", "restore", 1),
          TypeActionTotal("user", "softDelete", 1), TypeActionTotal("group", "update", 1)]


def report(changes: list[Change] | None = None) -> ReportExport:
    return ReportExport(tenant="contoso", report_id="job-1", snapshot_id="MTc4NTE5MjAwMA==", generated=NOW,
                        counts=COUNTS, changes=iter(CHANGES if changes is None else changes), total=5)


def plan_export() -> PlanExport:
    plan = plan_restore([queued_change_for(c) for c in CHANGES], max_ids=2)
    return PlanExport(tenant="contoso", plan=plan, generated=NOW, snapshot_id="snap", report_id="job-1")


def job(kind: JobKind, job_id: str, failed: int | None = None) -> Job:
    return Job(kind=kind, id=job_id, status=RecoveryStatus.SUCCESSFUL, status_raw="successful",
               target_state=NOW, started=NOW, completed=datetime(2026, 7, 28, 8, 20, tzinfo=UTC),
               filtering=EntityNameAndIdsFilter((("user", ("u1",)),)), total_changed_objects=5,
               total_objects_modified=4, total_links_modified=0, total_failed_changes=failed)


def jobs_export() -> JobsExport:
    failed = change("u9", failure="Object was hard-deleted \x1b]8;;http://x\x07link")
    return JobsExport(tenant="contoso", generated=NOW, results=[
        JobResult(job(JobKind.PREVIEW, "p1")), JobResult(job(JobKind.RECOVERY, "r1", 1), [failed])])


def test_report_json_round_trips_with_raw_values() -> None:
    doc = json.loads(render(report(), "json"))
    assert doc["schema"] == "entrabr.report/1"
    assert doc["report"]["id"] == "job-1" and doc["report"]["totalChanges"] == 5
    assert [c["count"] for c in doc["counts"]] == [2, 1, 1, 1]
    assert [c["id"] for c in doc["changes"]] == ["u1", "u2", "u3", "u4", "g1"]
    assert doc["changes"][1]["displayName"] == HOSTILE  # lossless
    assert doc["changes"][0]["deltaFromCurrent"]["department"] == "Sales"
    assert doc["changes"][0]["changedProperties"] == ["department", "accountEnabled", "userPrincipalName"]
    assert doc["changes"][3]["onPremisesSynced"] is True and doc["changes"][3]["recoverable"] is False
    assert doc["changes"][3]["syncStatus"] == "synced"
    # The payload does not say whether u1 is synced: unknown, as the diff and the plan say.
    assert doc["changes"][0]["recoverable"] is None and doc["changes"][0]["onPremisesSynced"] is None
    assert doc["changes"][0]["syncStatus"] == "unknown"
    cloud = json.loads(render(report([CHANGES[0].with_sync(SyncStatus.CLOUD)]), "json"))["changes"][0]
    assert (cloud["recoverable"], cloud["onPremisesSynced"], cloud["syncStatus"]) == (True, False, "cloud")


def test_json_text_never_carries_raw_terminal_controls() -> None:
    text = render(report(), "json")
    for bad in ("\x1b", "\u202e", "\x9b", "\n2nd"):
        assert bad not in text
    assert json.loads(json_text({"v": "\x9b\u2066x"}))["v"] == "\x9b\u2066x"


def test_empty_report_json_is_valid() -> None:
    doc = json.loads(render(report([]), "json"))
    assert doc["changes"] == []


def test_report_csv_parses_and_defuses_formulas() -> None:
    rows = list(csv.reader(io.StringIO(render(report(), "csv"), newline="")))
    assert tuple(rows[0]) == REPORT_CSV_HEADER
    records = [dict(zip(REPORT_CSV_HEADER, r, strict=True)) for r in rows[1:]]
    assert [r["id"] for r in records if r["property"] in ("department", "")] == ["u1", "u2", "u3", "u4", "g1"]
    by_id = {r["id"]: r for r in records}
    assert by_id["g1"]["displayName"].startswith("'=")
    # terminal controls and bidi overrides shown, never raw; the line break too
    assert by_id["u2"]["displayName"] == "Eve ␛RED␛ | *bold* =HYPERLINK(\"x\") <U+202E>evil␤2nd line"
    u1 = {r["property"]: (r["backupValue"], r["currentValue"]) for r in records if r["id"] == "u1"}
    assert u1 == {"department": ("Sales", "Ops"), "accountEnabled": ("true", "false"),
                  "userPrincipalName": ("(absent)", "u1@contoso.test")}
    assert by_id["u4"]["onPremisesSynced"] == "true" and by_id["u4"]["recoverable"] == "false"
    assert by_id["u1"]["onPremisesSynced"] == by_id["u1"]["recoverable"] == "unknown"


def test_report_markdown_tables_stay_tables() -> None:
    text = render(report(), "md")
    lines = text.splitlines()
    header = ("| Type | Action | ID | Name | UPN or mail | Synced | Recoverable | Property | Backup "
              "| Current |")
    start = lines.index(header)
    assert lines[start + 1].startswith("|---")
    body = lines[start + 2:]
    assert len(body) == sum(len(c.delta.keys() - {"@odata.type"} | c.current.keys()) for c in CHANGES)
    for line in body:  # every row has exactly 9 unescaped cell separators + borders
        assert line.replace("\\|", "").count("|") == 11
    assert "| department | Sales | Ops |" in text and "| accountEnabled | true | false |" in text
    assert "\x1b" not in text and "\u202e" not in text and "␛" in text
    assert "| Type | Action | Count |" in lines


def test_plan_exports_agree() -> None:
    data = plan_export()
    doc = json.loads(render(data, "json"))
    assert doc["schema"] == "entrabr.plan/1" and doc["planHash"] == plan_hash(data.plan, "snap")
    assert doc["summary"]["softDelete"] == 1 and doc["summary"]["requiresTypedConfirmation"] is True
    rows = list(csv.DictReader(io.StringIO(render(data, "csv"), newline="")))
    assert tuple(rows[0].keys()) == PLAN_CSV_HEADER
    outcome = {r["id"]: (r["outcome"], r["job"]) for r in rows}
    assert outcome["u4"] == ("excluded", "")
    assert outcome["u2"][0] == "restore" and outcome["u3"][0] == "softDelete"
    jobs = {int(r["job"]) for r in rows if r["job"]}
    assert jobs == set(range(1, len(data.plan.batches) + 1))  # max_ids=2 -> several jobs, all referenced
    assert len(rows) == len(plan_rows(data.plan)) == 5
    # The payloads do not say whether the users are synced: included, and marked as such.
    reasons = {r["id"]: r["reason"] for r in rows}
    assert reasons == {"u1": "syncUnknown", "u2": "syncUnknown", "u3": "syncUnknown",
                       "u4": "onPremisesSynced", "g1": "nothingRecoverable"}
    assert doc["warnings"] == [
        "sync status unknown for 3 users: on-premises-synced objects will fail to recover; grant "
        "Directory.Read.All to check"]
    md = render(data, "md")
    assert "| Type | ID | Outcome | Job | Whole type | Reason | Detail |" in md
    assert "SOFT-DELETED" in md and "warning: sync status unknown for 3 users" in md


def test_plan_hash_depends_on_scopes_only() -> None:
    a = plan_restore([queued_change_for(c) for c in CHANGES])
    b = plan_restore([queued_change_for(c) for c in reversed(CHANGES)])
    assert plan_hash(a, "s") == plan_hash(b, "s")
    assert plan_hash(a, "s") != plan_hash(a, "t")


def test_jobs_exports_include_failed_changes() -> None:
    data = jobs_export()
    doc = json.loads(render(data, "json"))
    assert doc["schema"] == "entrabr.jobs/1"
    assert [j["id"] for j in doc["jobs"]] == ["p1", "r1"]
    assert doc["jobs"][1]["durationSeconds"] == 300.0
    assert doc["jobs"][1]["failedChanges"][0]["failureMessage"].startswith("Object was hard-deleted")
    rows = list(csv.reader(io.StringIO(render(data, "csv"), newline="")))
    assert tuple(rows[0]) == JOBS_CSV_HEADER
    assert [r[0] for r in rows[1:]] == ["job", "job", "failedChange"]
    assert all(len(r) == len(JOBS_CSV_HEADER) for r in rows)
    md = render(data, "md")
    assert "## Failed changes of restore r1" in md and "\x1b" not in md and "\x07" not in md


@pytest.mark.parametrize("fmt", list(ExportFormat))
def test_write_export_counts_records(fmt: ExportFormat) -> None:
    out = io.StringIO()
    assert write_export(out, report(), fmt) == len(CHANGES)
    assert write_export(io.StringIO(), jobs_export(), fmt) == 2
    assert suggested_filename(report(), fmt) == f"entrabr-report-20260728T081500Z.{fmt.value}"


def test_cell_helpers() -> None:
    assert csv_cell("-1") == "'-1" and csv_cell("@x") == "'@x" and csv_cell("ok") == "ok"
    assert csv_cell("\tx") == "'␉x" and csv_cell("\x1b]8;;http://x\x07y") == "␛y"
    assert md_cell("a|b\nc") == "a\\|b c"
    assert md_cell("<script>") == "\\<script\\>"
    assert md_cell("[x](javascript:alert(1))") == "\\[x\\]\\(javascript:alert\\(1\\)\\)"
    assert md_cell("x" * 500, 300) == "x" * 299 + "…"
    assert visible("a\x1bb\u202ec\x9b") == "a␛b<U+202E>c␛"
    assert visible("x\x1b[31mred\x1b]52;c;ZXZpbA==\x07y") == "x␛red␛y"
    assert visible("plain ünïcode") == "plain ünïcode"
