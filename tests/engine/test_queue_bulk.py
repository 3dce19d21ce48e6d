"""The session's restore queue in bulk: marking by node and filter, undo, following another process, carrying
the queue to a newer report, and what recent restores did to each object."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from entrabr_tui.engine import Session
from entrabr_tui.engine.plans import build_plan
from entrabr_tui.engine.reports import ReportInfo
from entrabr_tui.engine.restored import RestoreState
from entrabr_tui.store import HistoryAction

OpenSession = Callable[..., Awaitable[Session]]


async def test_bulk_marks_by_node_and_filter_are_undone_in_one_step(open_session: OpenSession) -> None:
    session = await open_session()
    report = await session.ensure_report(await session.resolve_snapshot("latest"), None)
    counts = {(c.entity_type_raw, c.action_raw): c.count for c in session.counts(report.id)}
    nodes = [("user", "update"), ("group", "update")]
    app = session.page(report.id, "application", limit=1)[0]
    single = app.object_id
    session.mark(report.id, [single])

    added = session.mark_where(report.id, nodes=nodes)
    assert added == sum(counts[n] for n in nodes)
    marked = session.counts(report.id, marked=True)
    assert {(c.entity_type_raw, c.action_raw): c.count for c in marked} == {
        **{n: counts[n] for n in nodes}, ("application", app.action_raw): 1}
    assert session.undoable_marks() == (added, 0)
    assert session.undo_marks() == (added, 0)
    assert session.marked(report.id) == {single}  # the single mark made before stays

    session.mark_where(report.id)
    everything = len(session.marked(report.id))
    assert everything == report.downloaded
    assert session.unmark_all() == everything
    assert session.marked(report.id) == set()
    assert session.undo_marks() == (0, everything)
    assert len(session.marked(report.id)) == everything
    entry = session.history(actions=[HistoryAction.OBJECTS_MARKED])[0]
    assert entry.detail == "undid the last bulk change of the queue" and entry.counts["marked"] == everything


async def test_the_queue_signature_follows_another_process(open_session: OpenSession) -> None:
    app = await open_session()
    report = await app.ensure_report(await app.resolve_snapshot("latest"), None)
    cli = await open_session()  # the command line, on the same cache
    before = app.queue_signature()
    ids = [r.object_id for r in cli.page(report.id, limit=3)]
    cli.mark(report.id, ids)
    after = app.queue_signature()
    assert after != before and after[0] == 3
    cli.unmark(report.id, ids[:1])
    assert app.queue_signature() != after
    assert app.marked(report.id) == set(ids[1:])


async def test_the_queue_follows_a_newer_report_of_the_same_backup(open_session: OpenSession) -> None:
    session = await open_session()
    snapshot = await session.resolve_snapshot("latest")
    old = await session.ensure_report(snapshot, None)
    groups = session.mark_where(old.id, entity_type="group")
    plan = session.plan(old.id, allow_whole_type=False)
    result = await session.restore(plan)
    still = {row.object_id for row in session.page(old.id, "group", limit=10_000)} & session.marked(old.id)
    new = await session.ensure_report(snapshot, None, fresh=True)
    remaining = {row.object_id for row in session.page(new.id, "group", limit=10_000)}

    kept, dropped = session.move_queue(old.id, new.id)

    assert kept == len(still & remaining) and kept + dropped == len(still)
    assert session.marked(old.id) == set()
    assert session.marked(new.id) == still & remaining
    assert {c.id for c in result.failed} & remaining <= session.marked(new.id)
    assert session.undo_marks() == (kept, len(still))
    assert session.marked(old.id) == still and groups >= len(still)


async def test_restore_marks_say_what_each_restore_did(open_session: OpenSession) -> None:
    session = await open_session()
    report = await session.ensure_report(await session.resolve_snapshot("latest"), None)
    session.mark_where(report.id, entity_type="group")
    plan = session.plan(report.id, allow_whole_type=False)
    result = await session.restore(plan)

    marks = session.restore_marks()
    failed = {c.id.lower() for c in result.failed}
    assert failed and set(marks) == {i.lower() for i in plan.ids}
    assert {k for k, m in marks.items() if m.state is RestoreState.FAILED} == failed
    assert all(m.state is RestoreState.RESTORED for k, m in marks.items() if k not in failed)
    assert {m.job_id for m in marks.values()} <= {j.id for j in result.jobs}
    assert session.restore_marks(since=session.clock()) == {}


async def test_planning_from_the_cache_columns_matches_planning_from_the_changes(
    open_session: OpenSession
) -> None:
    session = await open_session()
    report = await session.ensure_report(await session.resolve_snapshot("latest"), None)
    assert session.mark_where(report.id) == report.downloaded
    quick = session.plan(report.id, record=False)  # from the cache's columns
    changes = session.changes(report.id, [q.id for q in session.queue(report.id)])
    totals: dict[str, int] = {}
    for node in session.counts(report.id):
        totals[node.entity_type_raw] = totals.get(node.entity_type_raw, 0) + node.count
    cached = session.cache.reports.for_job(report.id)
    assert cached is not None
    decoded = build_plan(ReportInfo.of(cached), changes, totals)
    assert quick.plan == decoded.plan
    assert quick.plan.exclusions and quick.plan.types  # the demo report has both
    by_id = session.plan(report.id, record=False, allow_whole_type=False)
    assert not any(t.whole_type for t in by_id.plan.types)
