"""The restore queue (persisted marks) and the job journal (intent before POST, job id after)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from entrabr_tui.core.model import Change, EntityNameAndIdsFilter, JobKind
from entrabr_tui.store.cache import Cache
from entrabr_tui.store.codec import scope_key
from entrabr_tui.store.records import IntentStatus

from .synth import make_items

T0 = datetime(2026, 7, 30, 9, 0, tzinfo=UTC)


@pytest.fixture
def loaded() -> tuple[Cache, int, list[dict[str, object]]]:
    cache = Cache.open("queue-tenant")
    items = make_items(300, 21)
    report = cache.report_writer.begin_report("job", "snap", None, "u1")
    cache.report_writer.ingest_page(report.id, items, None, "u1")
    return cache, report.id, items


def test_mark_unmark_and_persist(loaded: tuple[Cache, int, list[dict[str, object]]]) -> None:
    cache, rid, items = loaded
    ids = [str(i["id"]) for i in items[:5]]
    result = cache.queue.mark(rid, [*ids, ids[0].upper(), "not-in-report", ""], now=T0)
    # Ids are opaque and compare exactly (typed ids are resolved first, see ChangeQueries.resolve_ids).
    assert result.marked == 5 and result.already == 0 and result.unknown == [ids[0].upper(), "not-in-report"]
    assert cache.queue.mark(rid, ids[:2]).already == 2
    entries = cache.queue.entries(rid)
    assert sorted(e.object_id for e in entries) == sorted(ids)
    by_id = {str(i["id"]): i for i in items}
    assert all(e.entity_type_raw == by_id[e.object_id]["entityTypeName"] for e in entries)
    assert all(e.action_raw == by_id[e.object_id]["recoveryAction"] and e.marked_at == T0 for e in entries)
    assert cache.queue.unmark(rid, [ids[0].upper(), "nope"]) == 0
    assert cache.queue.unmark(rid, [ids[0], "nope"]) == 1
    cache.close()
    reopened = Cache.open("queue-tenant")
    assert sorted(e.object_id for e in reopened.queue.entries(rid)) == sorted(ids[1:])
    changes = reopened.queue.changes(rid)
    assert {c.id for c in changes} == set(ids[1:]) and all(isinstance(c, Change) for c in changes)
    assert reopened.queue.clear(rid) == 4 and reopened.queue.entries(rid) == []
    reopened.close()


def test_mark_where_follows_the_filters(loaded: tuple[Cache, int, list[dict[str, object]]]) -> None:
    cache, rid, items = loaded
    users = [i for i in items if i["entityTypeName"] == "user" and i["recoveryAction"] == "update"]
    assert cache.queue.mark_where(rid, entity_type="user", action="update") == len(users)
    assert cache.queue.mark_where(rid, entity_type="user", action="update") == 0
    counts = {(n.entity_type_raw, n.action_raw): n.count for n in cache.queue.counts(rid)}
    assert counts == {("user", "update"): len(users)}
    smiths = [i for i in users if "smith" in str(i["displayName"]).lower()]
    assert smiths
    assert cache.queue.unmark_where(rid, entity_type="user", text="SMITH") == len(smiths)
    assert cache.queries.count(rid, marked=True) == len(users) - len(smiths)
    assert cache.queries.count(rid, text="smith", marked=True) == 0


def test_journal_intent_then_job_id() -> None:
    cache = Cache.open("journal-tenant")
    scope = EntityNameAndIdsFilter((("user", ("A1", "b2")),))
    intent = cache.journal.intent(
        "snap",
        scope,
        target_state=T0 - timedelta(hours=11),
        report_id=7,
        run_id="run-1",
        batch=1,
        batch_count=3,
        label="restore 1/3",
        now=T0,
    )
    assert intent.status is IntentStatus.PENDING and intent.job_id is None and intent.kind is JobKind.RECOVERY
    assert intent.scope == scope and intent.scope_key == scope_key(scope) and intent.created == T0
    assert intent.tenant_id == "journal-tenant" and intent.target_state == T0 - timedelta(hours=11)
    report_intent = cache.journal.intent("snap", None, kind=JobKind.PREVIEW, now=T0 + timedelta(minutes=1))
    assert [i.id for i in cache.journal.pending_intents()] == [intent.id, report_intent.id]

    cache.close()  # a crash here: the POST may or may not have happened
    cache = Cache.open("journal-tenant")
    pending = cache.journal.pending_intents()
    assert [i.id for i in pending] == [intent.id, report_intent.id]
    assert pending[0] == intent

    attached = cache.journal.attach_job(intent.id, "JOB-1", now=T0 + timedelta(minutes=2))
    assert attached.status is IntentStatus.SUBMITTED and attached.job_id == "JOB-1"
    assert attached.job_set_at == T0 + timedelta(minutes=2)
    assert [i.id for i in cache.journal.pending_intents()] == [report_intent.id]
    cache.journal.set_status(report_intent.id, IntentStatus.UNCONFIRMED, message="no matching job")
    assert [i.id for i in cache.journal.open_intents()] == [intent.id, report_intent.id]
    assert cache.journal.claimed_job_ids() == {"JOB-1"}  # ids as the service gave them, compared exactly
    done = cache.journal.set_status(intent.id, "done", message="collected")
    assert done.status is IntentStatus.DONE and done.job_id == "JOB-1" and done.message == "collected"
    assert [i.id for i in cache.journal.open_intents()] == [report_intent.id]
    odd = cache.journal.set_status(report_intent.id, "someFutureState")
    assert odd.status is IntentStatus.UNKNOWN and odd.status_raw == "someFutureState"
    assert odd.message == "no matching job"
    assert [i.id for i in cache.journal.entries()] == [intent.id, report_intent.id]
    assert [i.id for i in cache.journal.entries(limit=1)] == [report_intent.id]
    with pytest.raises(KeyError):
        cache.journal.set_status(999, IntentStatus.DONE)
    cache.close()
