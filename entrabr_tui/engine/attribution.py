"""Running the audit join over a cached report, and explaining one change in detail.

:func:`join_report` goes through a report's changes in the order the service sent them, a chunk at a time.
The changes whose parts are all equality parts are judged first in the cache, by comparing the keys made
when the report and the records were stored (:meth:`~entrabr_tui.store.audit_join_store.AuditJoinStore.
join_by_keys`); each change left is joined here with the audit events of its object since the report's
window start (:func:`~entrabr_tui.core.audit_join.judge_change`), in the cluster the report's storing gave
it (:func:`~entrabr_tui.core.audit_clusters.cluster_key`). One row per change is stored, then the group sizes
(:class:`~entrabr_tui.store.audit_join_store.AuditJoinStore`). :func:`attribute` explains one object's change
part by part, for the diff pane ("by alice@… via HR-Sync at 14:32Z").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from entrabr_tui.core.audit_clusters import cluster_of
from entrabr_tui.core.audit_join import (
    ChangeExplanation,
    JoinContext,
    PartExplanation,
    Verdict,
    explain_change,
    judge_change,
)
from entrabr_tui.core.audit_model import (
    UNKNOWN_ACTOR,
    Actor,
    TargetEvent,
    attribution_text,
    stored_change,
    time_to_us,
    us_to_time,
)
from entrabr_tui.core.model import Change
from entrabr_tui.store import Cache
from entrabr_tui.store.audit_join_store import JOIN_CHUNK, ChangeInput, JoinInfo

#: Below this many changes a join keeps ``change_actor``'s indexes while writing (dropping and rebuilding
#: them pays off only for large reports).
REBUILD_INDEXES_FROM = 100_000
#: Change rows joined by key comparison (in SQL) per step; what is left of them is joined in Python.
KEYED_CHUNK = 100_000


def join_context(cache: Cache, since_us: int, retention_start_us: int | None) -> JoinContext:
    """The join context of a window: its start, the retention start, orjson, and the purges in it."""
    purged = cache.audit.hard_deletes(since_us=since_us)
    return JoinContext(since_us, retention_start_us, orjson.loads, purged)


def _join_rows(report_id: int, chunk: list[ChangeInput], events: dict[str, list[TargetEvent]],
               ctx: JoinContext) -> list[tuple[Any, ...]]:
    """Join rows of one chunk of changes (each in the cluster the report's storing gave it)."""
    rows: list[tuple[Any, ...]] = []
    no_events: tuple[TargetEvent, ...] = ()
    for rowid, object_id, entity_type, action, name, on_prem, raw, cluster in chunk:
        change = stored_change(raw)
        verdict, reason, primary = judge_change(change, events.get(object_id.lower(), no_events), ctx,
                                                synced=on_prem)
        if primary is None:
            rows.append((report_id, rowid, object_id, entity_type, action, name, "", "", None, verdict.value,
                         reason.value if reason else None, cluster))
        else:
            rows.append((report_id, rowid, object_id, entity_type, action, name, primary.actor_key,
                         primary.correlation_id, primary.at, verdict.value, reason.value if reason else None,
                         cluster))
    return rows


def join_report(cache: Cache, report_id: int, *, since_us: int, retention_start_us: int | None,
                now: datetime | None = None, incremental: bool = True, keyed: bool = True) -> JoinInfo:
    """Join every change of a cached report with the audit log and store the result (see the module doc).

    With ``incremental`` (the default), a report joined before over the same window is joined again only for
    the objects that have records newer than that join (unless one of those is a hard delete, which can
    explain links of other objects: then everything is joined again). With ``keyed`` (the default), the
    changes whose parts are all equality parts are judged first by key comparison in the cache (the same
    verdicts; faster), the rest here; without it every change is judged here.
    """
    report = cache.reports.require(report_id)
    store = cache.audit_join
    generation = cache.audit.state().generation
    last_record = cache.audit.last_record()
    ctx = join_context(cache, since_us, retention_start_us)
    before = store.join_info(report.id)
    if incremental and before is not None and before.last_record and before.item_count == report.item_count \
            and time_to_us(before.since) == since_us:
        objects, purged = cache.audit.targets_since(before.last_record, since_us=since_us)
        if not purged:
            chunk = store.changes_of(report.id, objects)
            if chunk:
                events = cache.audit.events_for((c[1] for c in chunk), since_us=since_us)
                store.add_rows(_join_rows(report.id, chunk, events, ctx))
            return store.finish_join(report.id, generation=generation, item_count=report.item_count,
                                     since_us=since_us, last_record=last_record, now=now)
    rebuild = report.item_count >= REBUILD_INDEXES_FROM
    if rebuild:
        store.drop_indexes()  # before the previous join's rows go: deleting them costs no index updates
    try:
        store.begin_join(report.id)
        store.prepare_keys(report.id, ctx.purged)
        first, last = store.row_span(report.id)
        for start in range(first, last + 1, KEYED_CHUNK):
            end = min(last, start + KEYED_CHUNK - 1)
            if keyed:
                keyed_rows = store.join_by_keys(report.id, start, end, since_us=since_us)  # most, in SQL
                if keyed_rows == store.readable_count(report.id, start, end):
                    continue
            for chunk in _slices(store.changes_left(report.id, start, end), JOIN_CHUNK):
                events = cache.audit.events_of_objects((c[1] for c in chunk), since_us=since_us)
                store.add_rows(_join_rows(report.id, chunk, events, ctx))
    finally:
        if rebuild:
            store.build_indexes()
    return store.finish_join(report.id, generation=generation, item_count=report.item_count,
                             since_us=since_us, last_record=last_record, now=now)


def _slices(rows: list[ChangeInput], size: int) -> list[list[ChangeInput]]:
    return [rows[i:i + size] for i in range(0, len(rows), size)]


@dataclass(frozen=True, slots=True)
class PartAttribution:
    """Who changed one part of a change (a property, a link, the object's life), or why nobody is named."""

    name: str
    verdict: Verdict
    reason: str | None  # why it is not explained (text), None when it is
    actor: Actor | None
    at: datetime | None
    operation: str | None  # correlation id
    activity: str | None
    record_id: str | None
    logged: Any  # the last record's decoded new value
    events: int  # records naming this part since the backup

    @property
    def text(self) -> str:
        """``by alice@… at 2026-03-21 14:32Z`` or the reason nobody is named."""
        if self.actor is not None and self.verdict in (Verdict.EXPLAINED, Verdict.SYNC):
            return attribution_text(self.actor, self.at)
        if self.actor is not None:
            return f"last recorded {attribution_text(self.actor, self.at)}; {self.reason or 'not explained'}"
        return self.reason or "not explained"


@dataclass(frozen=True, slots=True)
class ChangeAttribution:
    """The audit log's account of one change: verdict, primary actor and operation, and each part."""

    object_id: str
    verdict: Verdict
    reason: str | None
    actor: Actor | None
    operation: str | None
    at: datetime | None
    cluster_id: str
    cluster_label: str
    parts: tuple[PartAttribution, ...]

    @property
    def text(self) -> str:
        """One line for the diff pane's header."""
        if self.actor is not None and self.verdict in (Verdict.EXPLAINED, Verdict.PARTLY, Verdict.SYNC):
            head = attribution_text(self.actor, self.at)
            return head if self.verdict is Verdict.EXPLAINED else f"{head} ({self.verdict.value})"
        return f"{self.verdict.value}: {self.reason or 'no audit record'}"


def _actor(actors: dict[str, Actor], key: str | None) -> Actor | None:
    if key is None:
        return None
    return actors.get(key) or (UNKNOWN_ACTOR._replace(key=key) if key else UNKNOWN_ACTOR)


def _part(part: PartExplanation, actors: dict[str, Actor]) -> PartAttribution:
    event = part.event
    return PartAttribution(part.name, part.verdict, part.reason.text if part.reason else None,
                           _actor(actors, event.actor_key) if event else None,
                           us_to_time(event.at) if event else None, event.correlation_id if event else None,
                           event.activity if event else None, event.record_id if event else None, part.logged,
                           len(part.events))


def attribute(cache: Cache, report_id: int, change: Change, *, since_us: int, retention_start_us: int | None,
              synced: bool = False) -> ChangeAttribution:
    """Explain one change part by part (computed now from the cached audit log)."""
    ctx = join_context(cache, since_us, retention_start_us)
    events = cache.audit.events(change.id, since_us=since_us)
    explanation: ChangeExplanation = explain_change(change, events, ctx, synced=synced)
    keys = {p.event.actor_key for p in explanation.parts if p.event is not None}
    actors = cache.audit.actors(keys)
    cluster = cluster_of(change)
    primary = explanation.primary
    return ChangeAttribution(
        change.id, explanation.verdict, explanation.reason.text if explanation.reason else None,
        _actor(actors, primary.actor_key) if primary else None, primary.correlation_id if primary else None,
        us_to_time(primary.at) if primary else None, cluster.id, cluster.label,
        tuple(_part(p, actors) for p in explanation.parts))
