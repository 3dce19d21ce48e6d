"""What the app is shown for a watch alert (``entrabr --open``): the objects listed by its finding, the
objects of an unusual count found again in the report, and a clear refusal for what cannot be shown."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from entrabr_tui.core.watch_eval import Finding, FindingKind, FindingState, Tracked
from entrabr_tui.core.watch_rules import Selector, Severity
from entrabr_tui.engine.alert_view import AlertNotShownError, AlertViews, is_alert_id
from entrabr_tui.engine.cache_reader import CacheReader
from entrabr_tui.store import StorePaths
from entrabr_tui.store.cache import Cache

T = datetime(2026, 7, 28, 23, 0, tzinfo=UTC)


def item(n: int) -> dict[str, Any]:
    """A change: users are updated (their job title), every third group gets a mail address too."""
    entity = "user" if n % 2 else "group"
    delta: dict[str, Any] = {"@odata.type": f"#microsoft.graph.{entity}", "jobTitle": "Engineer"}
    if entity == "group" and n % 3 == 0:
        delta["mail"] = f"team{n}@contoso.com"
    return {"id": f"00000000-0000-4000-8000-{n:012d}", "entityTypeName": entity, "displayName": f"Object {n}",
            "recoveryAction": "update", "deltaFromCurrent": delta,
            "currentState": {"@odata.type": f"#microsoft.graph.{entity}", "jobTitle": "Manager"}}


ITEMS = [item(n) for n in range(60)]


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[Cache]:
    with Cache.open("alerts", paths=StorePaths.under(tmp_path)) as opened:
        report = opened.report_writer.begin_report("job-1", "snap", None, "https://x/1", total_expected=60)
        opened.report_writer.ingest_page(report.id, ITEMS, None, "https://x/1", finalize=True)
        yield opened


def raise_alert(cache: Cache, alert_id: str, kind: FindingKind, detail: dict[str, Any]) -> None:
    finding = Finding(f"f-{alert_id}", "rule", kind, Severity.WARNING, "[red]title[/]", detail)
    cache.watch.save_run(now=T, report_job_id="job-1", seen=[finding],
                         states={finding.id: Tracked(FindingState.OPEN, 2, 0)},
                         alert_ids={finding.id: alert_id}, opened=[alert_id], resolved=[], audit=None)


def views(cache: Cache) -> AlertViews:
    return AlertViews(CacheReader(cache))


def test_a_threshold_alert_lists_its_objects(cache: Cache) -> None:
    listed = [i["id"] for i in ITEMS[:4]]
    raise_alert(cache, "AL-00000000a1", FindingKind.THRESHOLD, {
        "reportId": "job-1", "count": 9, "selector": Selector("user", "update").to_json(),
        "objects": [{"id": i, "type": "user", "name": "", "positions": [1]} for i in listed]})
    view = views(cache).view("AL-00000000a1")
    assert view.object_ids == tuple(listed) and view.matched == 9 and not view.listed_all
    assert (view.entity_type, view.action, view.prop) == ("user", "update", None)
    assert view.report.id == "job-1" and view.title == "[red]title[/]"


def test_an_unusual_count_finds_its_objects_in_the_report(cache: Cache) -> None:
    raise_alert(cache, "AL-00000000b2", FindingKind.UNUSUAL, {
        "reportId": "job-1", "count": 99, "selector": Selector("group", "update", "mail").to_json(),
        "objects": []})
    view = views(cache).view("AL-00000000b2")
    expected = [i["id"] for i in ITEMS if i["entityTypeName"] == "group" and i["recoveryAction"] == "update"
                and "mail" in i["deltaFromCurrent"]]
    assert expected and sorted(view.object_ids) == sorted(expected)
    assert (view.entity_type, view.action, view.prop) == ("group", "update", "mail")


def test_what_cannot_be_shown_says_why(cache: Cache) -> None:
    raise_alert(cache, "AL-00000000c3", FindingKind.HARD_DELETES, {"count": 2, "objects": []})
    raise_alert(cache, "AL-00000000d4", FindingKind.CRITICAL_OBJECT, {
        "reportId": "job-gone", "objects": [{"id": ITEMS[0]["id"], "type": "user", "positions": []}]})
    found = views(cache)
    with pytest.raises(AlertNotShownError, match="audit log"):
        found.view("AL-00000000c3")
    with pytest.raises(AlertNotShownError, match="no longer in the cache"):
        found.view("AL-00000000d4")
    with pytest.raises(AlertNotShownError, match="No alert AL-0000000000"):
        found.view("AL-0000000000")
    with pytest.raises(AlertNotShownError, match="not an alert id"):
        found.view("AL-1; drop")
    cache.watch.save_run(now=T, report_job_id="job-1", seen=[], states={}, alert_ids={}, opened=[],
                         resolved=["AL-00000000d4"], audit=None)
    with pytest.raises(AlertNotShownError, match="was resolved at 2026-07-28 23:00Z"):
        found.view("AL-00000000d4")
    assert is_alert_id("AL-3f09c1d2aa") and not is_alert_id("AL-3F09C1D2AA") and not is_alert_id("AL-3f")
