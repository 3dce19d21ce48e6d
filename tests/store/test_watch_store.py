"""What the watch keeps in the cache: report profiles, finding states, alerts and runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from entrabr_tui.core.watch_eval import (
    ANY,
    Finding,
    FindingKind,
    FindingState,
    Profile,
    Tracked,
)
from entrabr_tui.core.watch_rules import Severity
from entrabr_tui.store import StorePaths
from entrabr_tui.store.cache import Cache

from .synth import make_items

T = datetime(2026, 7, 28, 23, 0, tzinfo=UTC)


def finding(fid: str, title: str = "Mass disable: 60") -> Finding:
    return Finding(fid, "Mass disable", FindingKind.THRESHOLD, Severity.CRITICAL, title,
                   {"reportId": "job-1", "count": 60})


def test_profiles_go_with_their_report(tmp_path: Path) -> None:
    with Cache.open("t1", paths=StorePaths.under(tmp_path)) as cache:
        report = cache.report_writer.begin_report("job-1", "snap", None, "https://x/1", total_expected=3)
        cache.report_writer.ingest_page(report.id, make_items(3), None, "https://x/1")
        profile = Profile({("user", "update", "", ANY, ANY): 3, ("user", "update", "city", '"A"', '"B"'): 1},
                          frozenset({("user", "update", "jobTitle")}), 3)
        cache.watch.profiles.put(report.id, profile, now=T)
        assert cache.watch.profiles.get(report.id) == profile
        assert cache.watch.profiles.profiled() == {report.id}
        cache.report_writer.delete_report(report.id)
        assert cache.watch.profiles.get(report.id) is None


def test_a_run_stores_states_and_alerts_in_one_go(tmp_path: Path) -> None:
    with Cache.open("t1", paths=StorePaths.under(tmp_path)) as cache:
        store = cache.watch
        run = store.save_run(now=T, report_job_id="job-1", seen=[finding("f-1")],
                             states={"f-1": Tracked(FindingState.PENDING, 1, 0)}, alert_ids={"f-1": None},
                             opened=[], resolved=[], audit="read")
        assert (run.findings, run.raised, run.open) == (1, 0, 0)
        assert store.findings()["f-1"].tracked == Tracked(FindingState.PENDING, 1, 0)
        later = T + timedelta(hours=1)
        run = store.save_run(now=later, report_job_id="job-1", seen=[finding("f-1", "Mass disable: 61")],
                             states={"f-1": Tracked(FindingState.OPEN, 2, 0)}, alert_ids={"f-1": "AL-1"},
                             opened=["AL-1"], resolved=[], audit=None)
        assert (run.raised, run.open) == (1, 1)
        alert = store.alert("AL-1")
        assert alert is not None and alert.is_open and alert.title == "Mass disable: 61"
        assert alert.detail == {"reportId": "job-1", "count": 60} and alert.opened == later
        assert store.open_alert_of("f-1") == alert and store.findings()["f-1"].alert_id == "AL-1"
        # Not seen for two runs: resolved; the alert stays, with when it ended.
        store.save_run(now=later, report_job_id=None, seen=[],
                       states={"f-1": Tracked(FindingState.OPEN, 2, 1)},
                       alert_ids={}, opened=[], resolved=[], audit=None)
        end = later + timedelta(hours=1)
        run = store.save_run(now=end, report_job_id=None, seen=[],
                             states={"f-1": Tracked(FindingState.RESOLVED, 0, 2)}, alert_ids={}, opened=[],
                             resolved=["AL-1"], audit=None)
        assert (run.resolved, run.open) == (1, 0)
        ended = store.alert("AL-1")
        assert ended is not None and ended.resolved == end and not store.alerts(open_only=True)
        assert store.findings()["f-1"].tracked.state is FindingState.RESOLVED
        assert store.last_run() == run
