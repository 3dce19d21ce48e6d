"""Page-by-page ingest: resume point, refused pages, repeated and malformed items, reset, failed changes."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from entrabr_tui.core.model import Change, EntityNamesFilter
from entrabr_tui.core.planner import object_records, plan_restore, queued_change_for
from entrabr_tui.store.cache import Cache
from entrabr_tui.store.records import PageKey, ReportKind
from entrabr_tui.store.report_writer import IngestError

from .synth import make_items, page_url, serve


@pytest.fixture
def cache() -> Cache:
    return Cache.open("ingest-tenant")


def _download(cache: Cache, report_id: int, items: list[dict[str, Any]], page: int = 400) -> None:
    url = cache.report_writer.resume_point(report_id)
    while url is not None:
        chunk, next_link = serve(items, url, page)
        cache.report_writer.ingest_page(report_id, chunk, next_link, url)
        url = next_link


def test_resume_point_follows_the_stored_next_link(cache: Cache) -> None:
    items = make_items(1000, 1)
    report = cache.report_writer.begin_report(
        "job-1", "snap", EntityNamesFilter(("user",)), page_url(0), total_expected=1000
    )
    assert cache.report_writer.resume_point(report.id) == page_url(0)
    assert report.progress == 0.0
    chunk, next_link = serve(items, page_url(0), 400)
    result = cache.report_writer.ingest_page(report.id, chunk, next_link, page_url(0))
    assert result.inserted == 400 and result.report.pages == 1 and not result.report.complete
    assert cache.report_writer.resume_point(report.id) == page_url(400) == result.report.next_link
    assert result.report.progress == pytest.approx(0.4)
    # an existing report is returned as is
    again = cache.report_writer.begin_report("job-1", "other", None, "ignored")
    assert again.id == report.id and again.source_url == page_url(0) and again.snapshot_id == "snap"
    _download(cache, report.id, items)
    done = cache.reports.get(report.id)
    assert done is not None and done.complete and done.indexed and done.search_ready and done.progress == 1.0
    assert cache.report_writer.resume_point(report.id) is None and done.next_link is None
    assert done.item_count == done.received_items == 1000 and done.pages == 3


def test_out_of_order_and_repeated_pages_are_refused_without_change(cache: Cache) -> None:
    items = make_items(900, 2)
    report = cache.report_writer.begin_report("job-2", "snap", None, page_url(0))
    first, link = serve(items, page_url(0), 300)
    cache.report_writer.ingest_page(report.id, first, link, page_url(0))
    with pytest.raises(IngestError, match="not the next page"):
        cache.report_writer.ingest_page(report.id, first, link, page_url(0))  # the same page again
    with pytest.raises(IngestError, match="not the next page"):
        cache.report_writer.ingest_page(report.id, items[600:], None, page_url(600))  # skipping a page
    with pytest.raises(IngestError, match="repeated page link"):
        cache.report_writer.ingest_page(report.id, items[300:600], page_url(0), page_url(300))  # a loop back
    with pytest.raises(IngestError, match="repeated page link"):
        cache.report_writer.ingest_page(report.id, items[300:600], page_url(300), page_url(300))
    state = cache.reports.get(report.id)
    assert state is not None and state.pages == 1 and state.item_count == 300
    # None: "the page at the resume point"
    cache.report_writer.ingest_page(report.id, items[300:600], page_url(600), None)
    cache.report_writer.ingest_page(report.id, items[600:], None, page_url(600))
    with pytest.raises(IngestError, match="has ended"):
        cache.report_writer.ingest_page(report.id, items[:1], None, page_url(600))
    final = cache.reports.get(report.id)
    assert final is not None and final.item_count == 900 and final.received_items == 900


def test_every_change_object_is_kept_several_per_object_included(cache: Cache) -> None:
    items = make_items(50, 3)
    repeat = dict(items[7], displayName="second copy")
    other_case = {**items[8], "id": items[8]["id"].upper()}  # ids are opaque: another id
    report = cache.report_writer.begin_report("job-3", "snap", None, "u1", total_expected=52)
    cache.report_writer.ingest_page(report.id, items[:30], "u2", "u1")
    cache.report_writer.ingest_page(report.id, [*items[30:], repeat, other_case], None, "u2")
    final = cache.reports.get(report.id)
    assert final is not None and final.complete
    assert final.item_count == 52 and final.duplicate_items == 0 and final.received_items == 52
    # Both changes of items[7] are rows, each at its own position; the object's first is items[7].
    assert cache.queries.get_change(report.id, items[7]["id"]) == Change.from_json(items[7])
    assert cache.queries.get_changes(report.id, [items[7]["id"]]) == [
        Change.from_json(items[7]), Change.from_json(repeat)]
    assert sum(n.count for n in cache.queries.counts(report.id)) == 52
    [copy] = cache.queries.page(report.id, text="second copy")
    assert copy.position == 51 and copy.object_id == items[7]["id"]
    assert cache.queries.get_change(report.id, items[7]["id"], copy.position) == Change.from_json(repeat)
    assert cache.queries.get_change(report.id, other_case["id"]) == Change.from_json(other_case)
    assert cache.queries.object_counts(report.id) == dict(
        Counter(i["entityTypeName"] for i in [*items, other_case]))
    # Paging with the full key visits every row once, copies included.
    seen: list[int] = []
    after: PageKey | None = None
    while True:
        rows = cache.queries.page(report.id, after=after, limit=7)
        seen.extend(r.position for r in rows)
        if len(rows) < 7:
            break
        after = rows[-1].key
    assert sorted(seen) == list(range(1, 53))


def test_unreadable_items_are_kept_counted_and_listed(cache: Cache) -> None:
    items: list[Any] = [*make_items(5, 6), "not an object", {"displayName": "no id"}, None, 42,
                        {"id": 7, "entityTypeName": "user", "recoveryAction": "update"}]
    report = cache.report_writer.begin_report("job-4", "snap", None, "u1", total_expected=len(items))
    result = cache.report_writer.ingest_page(report.id, items, None, "u1")
    assert result.inserted == 10 and result.malformed == 5 and result.warnings
    assert result.report.unreadable_items == 5 and result.report.item_count == 10
    # Every change object the service announced arrived, but five cannot be read: not a complete report.
    assert not result.report.complete and result.report.completeness.value == "complete"
    assert result.report.state_text == "incomplete: 5 of 10 readable (5 change object(s) could not be read)"
    raw = cache.db.conn.execute(
        "SELECT raw FROM report_page WHERE report_id = ?", (report.id,)
    ).fetchone()[0]
    import zlib

    text = zlib.decompress(raw)
    assert b'"not an object"' in text and b'"no id"' in text and b"null42" in text
    listed = cache.queries.unreadable(report.id)
    assert [r.position for r in listed] == [6, 7, 8, 9, 10]
    assert all(r.unreadable and r.action_raw == "(unreadable)" and r.recoverable is False for r in listed)
    assert "not an object" in (listed[0].unreadable or "") and "'id'" in (listed[4].unreadable or "")
    assert [cache.queries.raw_at(report.id, r.position) for r in listed] == items[5:]
    assert listed[4].entity_type_raw == "user"  # what could be read of it is shown
    counts = {(n.entity_type_raw, n.action_raw): n.count for n in cache.queries.counts(report.id)}
    assert counts[("(unreadable)", "(unreadable)")] == 4 and counts[("user", "(unreadable)")] == 1
    assert cache.queue.mark_where(report.id) == 5  # unreadable changes are never queued
    assert cache.queries.page(report.id, text="no id")[0].unreadable is not None
    # The type totals of planning count the unreadable user: its type is never restored as a whole (every
    # readable change of these five is recoverable, so without it the users would be).
    readable = Counter(i["entityTypeName"] for i in items[:5])
    totals = cache.queries.object_counts(report.id)
    assert totals == {**readable, "user": readable["user"] + 1, "(unreadable)": 4}
    records = object_records(queued_change_for(c) for c in cache.queue.changes(report.id) if c.readable)
    whole = {t.entity_type: t.whole_type for t in plan_restore(records, totals).types}
    assert whole["user"] is False
    assert {t.entity_type: t.whole_type for t in plan_restore(records, readable).types}["user"] is True


def test_unknown_enum_values_and_hostile_strings_round_trip(cache: Cache) -> None:
    item: dict[str, Any] = {
        "id": "11111111-2222-3333-4444-555555555555",
        "entityTypeName": "agentIdentityBlueprint",
        "recoveryAction": "teleport",
        "displayName": "Robert'); DROP TABLE report;-- \x00\u202e\U0001f600",
        "deltaFromCurrent": {"weird": [1, {"x": None}], "userPrincipalName": 'e"vil@x.test'},
        "currentState": {},
    }
    report = cache.report_writer.begin_report("job-5", "snap", None, "u1")
    cache.report_writer.ingest_page(report.id, [item], None, "u1")
    (node,) = cache.queries.counts(report.id)
    assert (node.entity_type_raw, node.action_raw) == ("agentIdentityBlueprint", "teleport")
    assert node.entity_type.value == "unknownFutureValue"
    (row,) = cache.queries.page(report.id)
    assert row.display_name == item["displayName"] and row.principal_name == 'e"vil@x.test'
    assert cache.queries.get_raw_change(report.id, item["id"]) == item
    assert cache.queries.count(report.id, text="DROP TABLE") == 1
    assert cache.reports.all()  # the report table is still there


def test_recoverable_flags_from_values_callable_and_later_update(cache: Cache) -> None:
    items = make_items(6, 5)
    report = cache.report_writer.begin_report("job-6", "snap", None, "u1")
    with pytest.raises(ValueError):
        cache.report_writer.ingest_page(report.id, items, None, "u1", recoverable=[True])
    cache.report_writer.ingest_page(report.id, items[:3], "u2", "u1", recoverable=[True, False, None])
    cache.report_writer.ingest_page(
        report.id, items[3:], None, "u2", recoverable=lambda item: item["id"] == items[4]["id"]
    )
    assert cache.queries.count(report.id, recoverable=True) == 2
    assert cache.queries.count(report.id, recoverable=False) == 3
    assert cache.report_writer.set_recoverable(report.id, [(items[2]["id"], True), ("missing", True)]) == 1
    assert cache.queries.count(report.id, recoverable=True) == 3
    assert cache.queries.page(report.id, recoverable=True, limit=10)[0].recoverable is True


def test_cache_wide_recoverable_callable() -> None:
    cache = Cache.open("ingest-tenant-2", recoverable=lambda item: item["entityTypeName"] == "user")
    items = make_items(40, 6)
    report = cache.report_writer.begin_report("job", "snap", None, "u1")
    cache.report_writer.ingest_page(report.id, items, None, "u1")
    assert cache.queries.count(
        report.id, recoverable=True
    ) == sum(i["entityTypeName"] == "user" for i in items)


def test_reset_download_starts_over(cache: Cache) -> None:
    items = make_items(700, 7)
    report = cache.report_writer.begin_report("job-7", "snap", None, page_url(0))
    chunk, link = serve(items, page_url(0), 300)
    cache.report_writer.ingest_page(report.id, chunk, link, page_url(0))
    cache.queue.mark(report.id, [items[0]["id"]])
    fresh = cache.report_writer.reset_download(report.id)
    assert fresh.pages == 0 and fresh.item_count == 0 and cache.report_writer.resume_point(
        report.id
    ) == page_url(0)
    assert cache.queries.counts(report.id) == []
    _download(cache, report.id, items, 300)
    final = cache.reports.get(report.id)
    assert final is not None and final.item_count == 700 and final.received_items == 700
    assert [e.object_id for e in cache.queue.entries(report.id)] == [items[0]["id"]]  # the queue survives


def test_failed_changes_keep_repeats_and_messages(cache: Cache) -> None:
    items = make_items(4, 8)
    failed = [dict(i, failureMessage=f"Update failed: reason {n}") for n, i in enumerate(items)]
    failed.append(dict(items[0], failureMessage="Link failed: member gone"))
    report = cache.report_writer.begin_failed_changes("rjob-1", "snap", "f1", total_expected=5)
    cache.report_writer.ingest_page(report.id, failed[:2], "f2", "f1")
    cache.report_writer.ingest_page(report.id, failed[2:], None, "f2")
    changes = cache.queries.failed_changes("rjob-1")
    assert [c.failure_message for c in changes] == [f["failureMessage"] for f in failed]
    assert [c.id for c in changes] == [f["id"] for f in failed]
    (third,) = cache.queries.failed_changes("rjob-1", offset=3, limit=1)
    assert third.failure_message == "Update failed: reason 3"
    rows = cache.queries.page(report.id, limit=10)
    assert len(rows) == 5 and {r.failure_message for r in rows} >= {"Link failed: member gone"}
    assert cache.queries.failed_changes("unknown-job") == []
    final = cache.reports.get(report.id)
    assert final is not None and final.kind is ReportKind.FAILED and final.duplicate_items == 0


def test_save_failed_changes_appends_and_replaces(cache: Cache) -> None:
    items = [dict(i, failureMessage="x") for i in make_items(6, 9)]
    cache.report_writer.save_failed_changes("rjob-2", items[:2], replace=True, snapshot_id="snap")
    cache.report_writer.save_failed_changes("rjob-2", items[2:4])
    assert [c.id for c in cache.queries.failed_changes("rjob-2")] == [i["id"] for i in items[:4]]
    cache.report_writer.save_failed_changes("rjob-2", items[4:], replace=True)
    assert [c.id for c in cache.queries.failed_changes("rjob-2")] == [i["id"] for i in items[4:]]
    cache.report_writer.save_failed_changes("rjob-2", [])
    report = cache.reports.for_job("rjob-2", ReportKind.FAILED)
    assert report is not None and report.complete and report.item_count == 2


def test_queries_work_while_downloading(cache: Cache) -> None:
    items = make_items(900, 10)
    report = cache.report_writer.begin_report("job-8", "snap", None, page_url(0))
    chunk, link = serve(items, page_url(0), 450)
    cache.report_writer.ingest_page(report.id, chunk, link, page_url(0))
    assert cache.queries.count(report.id) == 450
    assert cache.queries.get_change(report.id, items[10]["id"]) == Change.from_json(items[10])
    assert cache.queries.get_change(report.id, items[600]["id"]) is None
    assert len(cache.queries.page(report.id, limit=1000)) == 450
    assert cache.reports.pending_finalize() == []


def test_interrupted_finalize_is_completed_on_begin(cache: Cache) -> None:
    items = make_items(300, 11)
    report = cache.report_writer.begin_report("job-9", "snap", None, "u1")
    cache.report_writer.ingest_page(report.id, items, None, "u1", finalize=False)
    pending = cache.reports.pending_finalize()
    assert [r.id for r in pending] == [report.id] and not pending[0].indexed
    again = cache.report_writer.begin_report("job-9", "snap", None, "u1")
    assert again.indexed and again.search_ready and cache.reports.pending_finalize() == []
    with pytest.raises(IngestError):
        cache.report_writer.finalize_report(cache.report_writer.begin_report("job-10", "snap", None, "v1").id)


def test_delete_report_removes_everything(cache: Cache) -> None:
    report = cache.report_writer.begin_report("job-11", "snap", None, "u1")
    cache.report_writer.ingest_page(report.id, make_items(20, 12), None, "u1")
    cache.report_writer.delete_report(report.id)
    assert cache.reports.get(report.id) is None
    tables = {r[0] for r in cache.db.conn.execute("SELECT name FROM sqlite_schema")}
    assert not any(t.startswith(f"chg_{report.id}") for t in tables)
    assert cache.db.conn.execute("SELECT count(*) FROM report_page").fetchone()[0] == 0


def test_empty_report(cache: Cache) -> None:
    report = cache.report_writer.begin_report("job-empty", "snap", None, "u1", total_expected=0)
    result = cache.report_writer.ingest_page(report.id, [], None, "u1")
    assert result.report.complete and result.report.indexed and result.report.search_ready
    assert result.report.item_count == 0 and result.report.progress == 1.0
    assert cache.queries.counts(report.id) == [] and cache.queries.page(report.id) == []
    assert cache.queries.count(report.id, text="abc") == 0
    assert list(cache.queries.iter_changes(report.id)) == []
