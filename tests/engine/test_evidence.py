"""The evidence pack of a recovery: its timeline is the history's, RPO and RTO follow from it, the plan hash
and job results are there, and the manifest verifies (and catches a changed file)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from entrabr_tui.engine.demo import open_demo, start_demo_server
from entrabr_tui.engine.drill import EmulatorDrill
from entrabr_tui.engine.evidence import (
    MANIFEST,
    EvidenceBuilder,
    EvidenceTargetError,
    verify_manifest,
    write_pack,
)
from entrabr_tui.store import StorePaths

from .conftest import FAST

STEP_OF = {"report-created": "report", "report-downloaded": "report", "report-reused": "report",
           "restore-planned": "plan", "restore-submitted": "recovery", "restore-finished": "recovery",
           "restore-verified": "verification"}


async def test_the_evidence_pack_of_a_recovery_matches_the_history(paths: StorePaths, tmp_path: Path) -> None:
    server = await start_demo_server(objects=1000, seed=3, job_speed=FAST)
    session = await open_demo(server=server, objects=1000, job_speed=FAST, paths=paths)
    try:
        since = session.clock() - timedelta(minutes=1)
        drill = await EmulatorDrill(session, incident_objects=120).run()
        pack = await EvidenceBuilder(session).build(since)
        history = sorted((e for e in session.history(since=since, limit=None) if e.action in STEP_OF),
                         key=lambda e: (e.at, e.id))
    finally:
        await session.aclose()
        server.stop()

    backup, first, *events = pack.timeline
    assert backup.step == "backup" and drill.snapshot_id is not None and drill.snapshot_id in backup.text
    assert first.step == "first bad change" and backup.at <= first.at < events[0].at   # from the audit log
    assert pack.incident is not None and pack.incident.first is not None
    assert first.actor == pack.incident.first.actor.label
    assert [(e.at, e.step, e.history_id) for e in events] == [(h.at, STEP_OF[h.action], h.id)
                                                               for h in history]
    assert events[0].step == "report" and events[-1].step == "verification"
    submitted = [h for h in history if h.action == "restore-submitted"]
    assert pack.rpo_seconds == (submitted[0].at - backup.at).total_seconds()
    first_report = next(h for h in history if STEP_OF[h.action] == "report")
    verified = [h for h in history if h.action == "restore-verified"][-1]
    assert pack.rto_start == "first report"
    assert pack.rto_seconds == (verified.at - first_report.at).total_seconds()
    assert any(p.get("planHash") for p in pack.plans)
    assert [j["jobId"] for j in pack.jobs] == [h.job_id for h in submitted]
    assert sum(j["failedCount"] for j in pack.jobs) == drill.failed
    failed_ids = {r["id"] for r in pack.residual if r["why"] == "the change failed"}
    assert len(failed_ids) == drill.failed
    assert sum(d["count"] for d in pack.diff) == drill.changes

    folder = tmp_path / "pack"
    written = write_pack(pack, folder)
    assert sorted(p.name for p in written) == sorted(["evidence.json", "evidence.md", "evidence.html",
                                                      MANIFEST])
    assert verify_manifest(folder) == []
    document = json.loads((folder / "evidence.json").read_text(encoding="utf-8"))
    assert document["schema"] == "entrabr.evidence/1" and len(document["timeline"]) == len(pack.timeline)
    page = (folder / "evidence.html").read_text(encoding="utf-8")
    assert "<script" not in page and "src=" not in page and "href=" not in page  # self-contained
    (folder / "evidence.md").write_text("edited\n", encoding="utf-8")
    assert verify_manifest(folder) == ["evidence.md"]
    with pytest.raises(EvidenceTargetError):
        write_pack(pack, folder)  # never into a folder that holds something
