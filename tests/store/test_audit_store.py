"""The audit log in the cache: pages stored with their next link, records once each, targets and actors
indexed; joins stored per change row with their groups; set-based marks that skip kept changes; tags."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from entrabr_tui.core.audit_triage import TagTarget, TriageTag
from entrabr_tui.store.audit_join_store import ChangeGroup
from entrabr_tui.store.cache import Cache
from entrabr_tui.store.codec import time_to_db

from .audit_synth import ROGUE_KEY, START, audit_for
from .synth import make_items, page_url, recoverable_of


@pytest.fixture
def cache() -> Any:
    opened = Cache.open("audit-tenant", recoverable=recoverable_of)
    try:
        yield opened
    finally:
        opened.close()


def pulled(cache: Cache, records: list[dict[str, Any]], page: int = 100) -> int:
    """Store ``records`` as one pull of pages of ``page``; returns the pull id."""
    pull = cache.audit.begin_pull("window", START - timedelta(minutes=15), START + timedelta(days=1),
                                  START + timedelta(hours=23), 3600)
    current = cache.audit.begin_slice(pull.id, pull.since, pull.until, "https://graph.test/a?first")
    for offset in range(0, len(records), page):
        last = offset + page >= len(records)
        cache.audit.ingest_page(pull.id, current.seq, records[offset:offset + page],
                                None if last else f"https://graph.test/a?skip={offset + page}")
    cache.audit.finish_pull(pull.id)
    return pull.id


def test_pages_store_records_once_with_their_next_link(cache: Cache) -> None:
    records = audit_for(make_items(250, 3), 3)
    pull = cache.audit.begin_pull("window", START, START + timedelta(hours=1), START, 600)
    part = cache.audit.begin_slice(pull.id, pull.since, pull.until, "u0")
    assert cache.audit.current_slice(pull.id) == part and part.next_url == "u0"
    stored = cache.audit.ingest_page(pull.id, part.seq, records[:100], "u1")
    assert (stored.received, stored.stored) == (100, 100)
    assert (stored.slice.next_url, stored.slice.done) == ("u1", False)
    again = cache.audit.ingest_page(pull.id, part.seq, records[50:150], "u2")     # an overlap re-read
    assert (again.received, again.stored) == (100, 50)
    broken = [{"no": "id"}, {"id": "x", "activityDateTime": "yesterday"}]
    end = cache.audit.ingest_page(pull.id, part.seq, [*records[150:], *broken], None)
    assert end.unreadable == 2 and end.slice.done and cache.audit.current_slice(pull.id) is None
    assert cache.audit.pull(pull.id).cursor == pull.until
    assert cache.audit.open_pull() == cache.audit.pull(pull.id)
    state = cache.audit.finish_pull(pull.id)
    assert cache.audit.open_pull() is None
    assert (state.records, state.generation, state.covered_from, state.covered_until) == (
        len(records), 1, pull.since, pull.until)
    in_order = sorted(records, key=lambda r: (r["activityDateTime"], r["id"]))
    assert cache.audit.ids() == [r["id"] for r in in_order]
    assert cache.audit.raw_record(records[7]["id"]) == records[7]


def test_coverage_joins_windows_and_unavailable_is_remembered(cache: Cache) -> None:
    hour = timedelta(hours=1)
    first = cache.audit.begin_pull("window", START, START + 2 * hour, START + hour, 60)
    cache.audit.finish_pull(first.id)
    earlier = cache.audit.begin_pull("backfill", START - timedelta(days=1), START, START, 60)
    state = cache.audit.finish_pull(earlier.id)
    assert (state.covered_from, state.covered_until, state.watermark) == (
        START - timedelta(days=1), START + timedelta(hours=2), START + timedelta(hours=1))
    cache.audit.set_unavailable("lacks a role")
    assert cache.audit.state().unavailable == "lacks a role"


def test_targets_actors_and_blind_spots_are_indexed(cache: Cache) -> None:
    items = make_items(40, 5)
    pulled(cache, audit_for(items, 5, purges=3))
    target = items[3]["id"]
    (event,) = cache.audit.events(target.upper())
    assert event.activity in ("Update user", "Update group") and event.props[0][0] == "JobTitle"
    by = cache.audit.events_for([i["id"] for i in items[:10]], since_us=0)
    assert set(by) == {i["id"].lower() for i in items[:10]}
    assert cache.audit.actors([ROGUE_KEY])[ROGUE_KEY].name == "Rogue Automation"
    assert len(cache.audit.hard_deletes(since_us=0)) == 3
    spots = cache.audit.blind_spot_rows(since_us=0)
    assert [r[0] for r in spots] == ["hardDelete"] * 3 and cache.audit.blind_spot_count(since_us=0) == 3
    ops = cache.audit.operation_activities({event.correlation_id})
    assert sum(ops[event.correlation_id].values()) >= 1


def joined_report(cache: Cache, count: int, seed: int) -> tuple[int, list[dict[str, Any]]]:
    from entrabr_tui.core.audit_model import time_to_us
    from entrabr_tui.engine.attribution import join_report

    items = make_items(count, seed)
    report = cache.report_writer.begin_report("job-audit", "snap-1", None, page_url(0), total_expected=count)
    for offset in range(0, count, 999):
        end = offset + 999
        cache.report_writer.ingest_page(report.id, items[offset:end], page_url(end) if end < count else None,
                                        page_url(offset))
    pulled(cache, audit_for(items, seed))
    join_report(cache, report.id, since_us=time_to_us(START - timedelta(minutes=15)), retention_start_us=None)
    return report.id, items


def test_a_join_is_stored_per_change_with_its_groups(cache: Cache) -> None:
    report_id, items = joined_report(cache, 3000, 9)
    info = cache.audit_join.join_info(report_id)
    assert info is not None and info.changes == 3000 and info.explained == 3000 and info.generation == 1
    actors = cache.audit_join.actors(report_id)
    assert sum(a.changes for a in actors) == 3000 and actors[0].actor_key == ROGUE_KEY
    assert actors[0].changes > 2 * actors[1].changes and actors[0].operations == 3
    clusters = cache.audit_join.clusters(report_id)
    assert sum(c.changes for c in clusters) == 3000
    assert clusters[0].changes >= clusters[-1].changes
    rest = cache.audit_join.clusters(report_id, after=(clusters[0].changes, clusters[0].cluster_id))
    assert rest == clusters[1:]
    row = cache.audit_join.row(report_id, items[0]["id"])
    assert row is not None and row.verdict == "explained" and row.actor_key and row.row == 1
    assert cache.audit_join.row(report_id, items[0]["id"].upper()) is None      # ids compare exactly


def test_group_pages_are_keyset_pages_by_name(cache: Cache) -> None:
    report_id, _ = joined_report(cache, 2000, 4)
    rogue = ChangeGroup(actor=ROGUE_KEY)
    total = cache.audit_join.group_count(report_id, rogue)
    seen: list[tuple[str, str, int]] = []
    after = None
    while True:
        page = cache.audit_join.group_page(report_id, rogue, after=after, limit=97)
        seen += [(r.display_name, r.object_id, r.position) for r in page]
        if len(page) < 97:
            break
        after = (page[-1].display_name, page[-1].object_id, page[-1].position)
    assert len(seen) == total == len(set(seen))
    assert seen == sorted(seen, key=lambda k: (k[0].casefold(), k[2]))
    biggest = cache.audit_join.clusters(report_id, limit=1)[0].cluster_id
    for group in (ChangeGroup(cluster=biggest), ChangeGroup(actor=ROGUE_KEY, cluster=biggest, text="a")):
        pages: list[tuple[str, int]] = []
        after = None
        while page := cache.audit_join.group_page(report_id, group, after=after, limit=97):
            pages += [(r.display_name, r.position) for r in page]
            after = (page[-1].display_name, page[-1].object_id, page[-1].position)
        assert len(pages) == cache.audit_join.group_count(report_id, group) == len(set(pages)) > 97
        assert pages == sorted(pages, key=lambda k: (k[0].casefold(), k[1]))
    users = ChangeGroup(actor=rogue.actor, entity_type="user", text="smith")
    found = cache.audit_join.group_page(report_id, users, limit=10_000)
    assert found and all(r.entity_type_raw == "user" for r in found)
    assert all("smith" in (r.display_name + str(r.principal_name)).lower() for r in found)
    assert cache.audit_join.group_count(report_id, users) == len(found)
    by_actor = dict(cache.audit_join.group_counts(report_id, "actor", ChangeGroup(text="smith")))
    assert sum(by_actor.values()) == cache.audit_join.group_count(report_id, ChangeGroup(text="smith"))


def test_marking_a_group_skips_kept_changes_and_undoes_exactly(cache: Cache) -> None:
    report_id, _ = joined_report(cache, 1500, 6)
    everything = ChangeGroup()
    clusters = cache.audit_join.clusters(report_id)
    kept_cluster = clusters[0]
    cache.triage.set(TagTarget.CLUSTER, kept_cluster.cluster_id, TriageTag.KEEP, "legitimate re-org")
    other = cache.audit_join.group_page(report_id, ChangeGroup(cluster=clusters[1].cluster_id), limit=1)
    before = cache.queue.mark(report_id, [other[0].object_id])
    result = cache.audit_join.mark_group(report_id, everything)
    assert result.kept == kept_cluster.changes and result.already == before.marked
    assert result.marked == 1500 - kept_cluster.changes - before.marked
    kept_group = ChangeGroup(cluster=kept_cluster.cluster_id)
    assert cache.audit_join.group_count(report_id, kept_group, marked=True) == 0
    assert cache.audit_join.kept_count(report_id) == kept_cluster.changes
    assert cache.queue.undo_counts() == (result.marked, 0)  # one bulk change of the queue
    assert cache.queue.undo() == (result.marked, 0)
    assert sum(n.count for n in cache.queue.counts(report_id)) == before.marked     # only the earlier mark
    again = cache.audit_join.mark_group(report_id, ChangeGroup(cluster=clusters[1].cluster_id))
    assert again.marked == clusters[1].changes - before.marked and again.already == before.marked
    assert cache.queue.undo_counts() == (again.marked, 0)  # this mark only: the one before is forgotten
    assert cache.audit_join.unmark_group(report_id, ChangeGroup(cluster=clusters[1].cluster_id)) == \
        clusters[1].changes
    note = cache.triage.get(TagTarget.CLUSTER, kept_cluster.cluster_id.upper())
    assert note is not None and note.tag is TriageTag.KEEP and note.note == "legitimate re-org"
    assert cache.triage.set(TagTarget.CLUSTER, kept_cluster.cluster_id, None) is None
    assert cache.audit_join.kept_count(report_id) == 0 and time_to_db(note.updated)


def test_a_cluster_is_the_same_group_however_it_is_reached(cache: Cache) -> None:
    """A cluster's rows are read through the report's cluster index (pages), by reading every join row (a
    large cluster) or by looking its rows up (a small one): the same rows each way, and counting and marking
    choose either and get the cluster's size."""
    report_id, _ = joined_report(cache, 1500, 6)
    clusters = cache.audit_join.clusters(report_id, limit=10_000)
    conn = cache.db.conn
    for cluster in (clusters[0], clusters[len(clusters) // 2], clusters[-1]):
        group = ChangeGroup(cluster=cluster.cluster_id, text="a")
        found = []
        for reach in ("page", "scan", "lookup"):
            clauses, args = group.where(report_id, reach=reach)
            found.append(sorted(conn.execute(f"SELECT a.row FROM {group.source(report_id, reach=reach)} "
                                             f"WHERE {' AND '.join(clauses)}", args).fetchall()))
        assert found[0] == found[1] == found[2]
        assert len(found[0]) == cache.audit_join.group_count(report_id, group)
        whole = ChangeGroup(cluster=cluster.cluster_id)
        assert cache.audit_join.group_count(report_id, whole) == cluster.changes
        assert cache.audit_join.mark_group(report_id, whole).marked == len(cache.audit_join.object_ids(
            report_id, whole))
        assert cache.audit_join.group_count(report_id, whole, marked=False) == 0
    assert clusters[0].changes >= 1500 // 8 > clusters[-1].changes   # one read whole, one looked up


def test_the_whole_report_is_counted_when_the_join_is_recorded(cache: Cache) -> None:
    """The size of the whole report's group is the join's count of rows (read, not counted again); while a
    join is under way (none recorded) the rows there are are counted."""
    report_id, _ = joined_report(cache, 700, 3)
    rows = cache.db.conn.execute("SELECT count(*) FROM change_actor WHERE report_id = ?", (report_id,))
    assert cache.audit_join.group_count(report_id, ChangeGroup()) == rows.fetchone()[0] == 700
    assert cache.audit_join.group_count(report_id, ChangeGroup(), marked=False) == 700
    cache.audit_join.begin_join(report_id)
    assert cache.audit_join.join_info(report_id) is None
    assert cache.audit_join.group_count(report_id, ChangeGroup()) == 0


def test_unmarking_a_group_is_one_bulk_change_the_undo_queues_again(cache: Cache) -> None:
    report_id, _ = joined_report(cache, 1200, 5)
    clusters = cache.audit_join.clusters(report_id)
    first, second = (ChangeGroup(cluster=c.cluster_id) for c in clusters[:2])
    cache.audit_join.mark_group(report_id, first)
    cache.audit_join.mark_group(report_id, second)
    queued = cache.queue.ids(report_id)
    assert cache.audit_join.group_count(report_id, first, marked=False) == 0
    assert not cache.audit_join.group_has(report_id, first, marked=False)
    assert cache.audit_join.group_has(report_id, first, marked=True)
    removed = cache.audit_join.unmark_group(report_id, first)
    assert removed == clusters[0].changes and cache.audit_join.group_count(report_id, first, marked=True) == 0
    assert cache.audit_join.group_count(report_id, second, marked=False) == 0   # the other group stays
    assert cache.queue.undo_counts() == (0, removed)
    assert cache.queue.undo() == (0, removed) and cache.queue.ids(report_id) == queued
    assert not cache.audit_join.group_has(report_id, ChangeGroup(cluster="no-such-cluster"))


def test_a_time_window_counts_marks_and_leaves_kept_changes_alone(cache: Cache) -> None:
    report_id, _ = joined_report(cache, 900, 3)
    rows = [cache.audit_join.row(report_id, r.object_id, r.position)
            for r in cache.audit_join.group_page(report_id, ChangeGroup(), limit=10_000)]
    times = sorted(r.at for r in rows if r is not None and r.at is not None)
    since, until = times[len(times) // 4], times[len(times) // 2]
    window = ChangeGroup(since=since, until=until)
    inside = [r for r in rows if r is not None and r.at is not None and since <= r.at <= until]
    assert cache.audit_join.group_count(report_id, window) == len(inside) > 0
    kept_cluster = inside[0].cluster_id
    cache.triage.set(TagTarget.CLUSTER, kept_cluster, TriageTag.KEEP)
    kept = sum(1 for r in inside if r.cluster_id == kept_cluster)
    assert cache.audit_join.group_count(report_id, window, kept=True) == kept
    assert cache.audit_join.group_count(report_id, window, kept=False) == len(inside) - kept
    result = cache.audit_join.mark_group(report_id, window)
    assert result.kept == kept
    assert cache.audit_join.group_count(report_id, window, marked=False, kept=False) == 0
    assert cache.audit_join.group_count(report_id, window, marked=True, kept=True) == 0


def test_a_new_join_replaces_the_old_one(cache: Cache) -> None:
    from entrabr_tui.core.audit_model import time_to_us
    from entrabr_tui.engine.attribution import join_report

    report_id, _ = joined_report(cache, 500, 2)
    info = join_report(cache, report_id, since_us=time_to_us(START), retention_start_us=None)
    assert info.changes == 500 and sum(a.changes for a in cache.audit_join.actors(report_id)) == 500
    count = cache.db.conn.execute("SELECT count(*) FROM change_actor WHERE report_id = ?", (report_id,))
    assert count.fetchone()[0] == 500
    cache.report_writer.delete_report(report_id)                    # the join goes with its report
    assert cache.db.conn.execute("SELECT count(*) FROM change_actor").fetchone()[0] == 0
    assert cache.audit_join.join_info(report_id) is None


def test_a_later_join_redoes_only_the_objects_with_newer_records(cache: Cache) -> None:
    from entrabr_tui.core.audit_model import time_to_us
    from entrabr_tui.engine.attribution import join_report

    report_id, items = joined_report(cache, 800, 8)
    first = cache.audit_join.join_info(report_id)
    assert first is not None and first.explained == 800 and first.last_record
    user = next(i for i in items if i["entityTypeName"] == "user" and i["recoveryAction"] == "update"
                and not i["currentState"].get("onPremisesSyncEnabled"))
    later = audit_for([{**user, "currentState": {**user["currentState"], "jobTitle": "Intern"}}], 99,
                      rogue_share=0.0, purges=0)
    later[0]["id"] += "-later"
    later[0]["activityDateTime"] = "2026-03-21T08:00:00.0000000Z"
    pulled(cache, later)
    since = time_to_us(START - timedelta(minutes=15))
    info = join_report(cache, report_id, since_us=since, retention_start_us=None)
    assert (info.explained, info.unexplained) == (799, 1) and info.generation == 2   # the newer record
    row = cache.audit_join.row(report_id, user["id"])
    assert row is not None and (row.verdict, row.reason) == ("unexplained", "mismatch")
    assert row.actor_key.startswith("a0a0a0a0")                        # …named by its admin
    full = join_report(cache, report_id, since_us=since, retention_start_us=None, incremental=False)
    assert (full.explained, full.unexplained) == (799, 1)
    assert sum(c.changes for c in cache.audit_join.clusters(report_id)) == 800


def test_each_change_of_an_object_is_joined_on_its_own(cache: Cache) -> None:
    """A report may hold several change objects of one object: each is a row of the join (keyed by its
    position), judged against its own values; marking a group queues the object once."""
    from entrabr_tui.core.audit_model import time_to_us
    from entrabr_tui.engine.attribution import join_report

    items = make_items(30, 12)
    user = next(i for i in items if i["entityTypeName"] == "user" and i["recoveryAction"] == "update"
                and not i["currentState"].get("onPremisesSyncEnabled"))
    again = {**user, "deltaFromCurrent": {**user["deltaFromCurrent"], "jobTitle": "Intern"},
             "currentState": {**user["currentState"], "jobTitle": "Chief"}}
    report = cache.report_writer.begin_report("job-twice", "snap-1", None, page_url(0),
                                              total_expected=len(items) + 1)
    cache.report_writer.ingest_page(report.id, [*items, again], None, page_url(0))
    pulled(cache, audit_for(items, 12))
    info = join_report(cache, report.id, since_us=time_to_us(START - timedelta(minutes=15)),
                       retention_start_us=None)
    assert info.changes == len(items) + 1
    first = cache.audit_join.row(report.id, user["id"])
    second = cache.audit_join.row(report.id, user["id"], len(items) + 1)
    assert first is not None and second is not None and (first.row, second.row) == (
        items.index(user) + 1, len(items) + 1)
    assert first.verdict == "explained"                      # the record sets the first change's value…
    assert (second.verdict, second.reason) == ("unexplained", "mismatch")   # …not the second one's
    assert first.cluster_id != second.cluster_id
    assert set(cache.audit_join.rows_at(report.id, [first.row, second.row])) == {first.row, second.row}
    everything = ChangeGroup()
    assert cache.audit_join.group_count(report.id, everything) == len(items) + 1
    marked = cache.audit_join.mark_group(report.id, everything)
    assert marked.marked == len({i["id"] for i in items}) and marked.already == 1
