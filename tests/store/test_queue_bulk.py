"""Bulk changes of the restore queue: by node and filter, set-based at scale, undone in one step, moved."""

from __future__ import annotations

import pytest

from entrabr_tui.store.cache import Cache

from .synth import make_items


def _ingest(cache: Cache, job: str, items: list[dict[str, object]]) -> int:
    report = cache.report_writer.begin_report(job, "snap", None, "p0")
    for start in range(0, len(items), 5000):
        chunk = items[start:start + 5000]
        follow = None if start + 5000 >= len(items) else f"p{start + 5000}"
        cache.report_writer.ingest_page(report.id, chunk, follow, f"p{start}", finalize=False)
    cache.report_writer.finalize_report(report.id)
    return report.id


@pytest.fixture
def loaded() -> tuple[Cache, int, list[dict[str, object]]]:
    cache = Cache.open("bulk-tenant")
    items = make_items(600, 5)
    return cache, _ingest(cache, "job", items), items


def _marked(cache: Cache, rid: int) -> set[str]:
    return {e.object_id for e in cache.queue.entries(rid)}


def test_mark_where_several_nodes_then_undo(loaded: tuple[Cache, int, list[dict[str, object]]]) -> None:
    cache, rid, items = loaded
    nodes = [("user", "update"), ("group", "softDelete")]
    wanted = {str(i["id"]) for i in items if (i["entityTypeName"], i["recoveryAction"]) in nodes}
    first = str(items[0]["id"])
    cache.queue.mark(rid, [first])
    cache.queue.start_undo()
    added = cache.queue.mark_where(rid, where_nodes=nodes, undoable=True)
    assert _marked(cache, rid) == wanted | {first}
    assert added == len(wanted - {first})
    assert cache.queue.undo_counts() == (added, 0)
    assert cache.queue.undo() == (added, 0)
    assert _marked(cache, rid) == {first}  # what was queued before the bulk change stays
    assert cache.queue.undo_counts() == (0, 0) and cache.queue.undo() == (0, 0)


def test_unmark_where_and_clear_are_undone(loaded: tuple[Cache, int, list[dict[str, object]]]) -> None:
    cache, rid, items = loaded
    assert cache.queue.mark_where(rid) == len(items)
    before = {e.object_id: e.marked_at for e in cache.queue.entries(rid)}
    smiths = {str(i["id"]) for i in items if "smith" in str(i["displayName"]).lower()}
    cache.queue.start_undo()
    assert cache.queue.unmark_where(rid, text="smith", undoable=True) == len(smiths)
    assert _marked(cache, rid) == set(before) - smiths
    assert cache.queue.undo() == (0, len(smiths))
    cache.queue.start_undo()
    assert cache.queue.clear(rid, undoable=True) == len(items)
    assert _marked(cache, rid) == set()
    assert cache.queue.undo() == (0, len(items))
    # Undone marks come back as they were (their time too).
    assert {e.object_id: e.marked_at for e in cache.queue.entries(rid)} == before


def test_a_new_bulk_change_replaces_the_undo_record(
    loaded: tuple[Cache, int, list[dict[str, object]]]
) -> None:
    cache, rid, _items = loaded
    cache.queue.start_undo()
    users = cache.queue.mark_where(rid, entity_type="user", undoable=True)
    cache.queue.start_undo()
    groups = cache.queue.mark_where(rid, entity_type="group", undoable=True)
    assert cache.queue.undo() == (groups, 0)
    assert {e.entity_type_raw for e in cache.queue.entries(rid)} == {"user"}
    assert len(cache.queue.entries(rid)) == users


def test_move_keeps_what_the_newer_report_still_holds(
    loaded: tuple[Cache, int, list[dict[str, object]]]
) -> None:
    cache, old, items = loaded
    kept_items = items[:400]  # a newer report: the rest no longer differ
    new = _ingest(cache, "job-2", kept_items)
    queued = [str(i["id"]) for i in items[350:450]]
    cache.queue.mark(old, queued)
    assert cache.queue.move(old, new) == (50, 50)
    assert _marked(cache, old) == set()
    assert _marked(cache, new) == set(queued[:50])
    assert cache.queue.undo() == (50, 100)
    assert _marked(cache, old) == set(queued) and _marked(cache, new) == set()


def test_signature_moves_with_every_change(loaded: tuple[Cache, int, list[dict[str, object]]]) -> None:
    cache, rid, items = loaded
    other = cache.reader()  # e.g. the command line, in another process
    empty = cache.queue.signature()
    other.queue.mark(rid, [str(items[0]["id"])])
    marked = cache.queue.signature()
    assert marked != empty
    other.queue.unmark(rid, [str(items[0]["id"])])
    assert cache.queue.signature() == empty
    other.queue.mark(rid, [str(items[1]["id"])])
    assert cache.queue.signature() not in (empty, marked)
    assert cache.queue.ids(rid) == {str(items[1]["id"])}
    other.close()


def test_bulk_marks_at_scale_stay_in_sql() -> None:
    cache = Cache.open("scale-tenant")
    items = make_items(60_000, 9)
    rid = _ingest(cache, "job", items)
    cache.queue.start_undo()
    assert cache.queue.mark_where(rid, undoable=True) == len(items)
    assert len(cache.queue.ids(rid)) == len(items)
    cache.queue.start_undo()
    assert cache.queue.clear(rid, undoable=True) == len(items)
    assert cache.queue.signature()[0] == 0
    assert cache.queue.undo() == (0, len(items))
    assert cache.queue.signature()[0] == len(items)
