"""Restore planning: from queued changes to recovery-job scopes (pure functions).

A plan says, per object type, what a restore will update, restore and soft-delete, what is excluded and why,
and the sequence of recovery jobs (their ``filteringCriteria``) that carries it out, one job at a time:

* A type whose every change in the report is queued, with nothing excluded, is scoped as a whole type
  (one ``recoveryJobEntityNamesFilter`` job per stage holding all such types of the stage). Recovery is
  computed against the live tenant when it runs, so a whole-type job also acts on objects of that type that
  changed after the report; pass ``allow_whole_type=False`` to scope by IDs only, or choose the whole types
  with :func:`rebatch` (see :mod:`.plan_options` for the alternatives and their costs).
* Everything else goes into ``recoveryJobEntityNameAndIdsFilter`` jobs of at most ``MAX_IDS_PER_JOB`` IDs in
  total, one entry per type per job.

Jobs follow the dependency stages of :mod:`.stages` (users → groups → applications → service principals →
named locations → Conditional Access and other policies): a job never mixes two stages. Ordering is
deterministic and independent of the queue order. Types follow ``TYPE_ORDER`` (the stage order). Within a
type, restores come first, then updates, then unknown actions, then soft-deletes, each sorted by ID.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

from .model import (
    MAX_IDS_PER_JOB,
    Change,
    EntityNameAndIdsFilter,
    EntityNamesFilter,
    FilteringCriteria,
    RecoveryAction,
    ResourceType,
)
from .recoverability import ExclusionReason, Recoverable, Verdict, recoverability
from .stages import Stage, stage_of
from .text import plural

TYPE_ORDER: tuple[str, ...] = (
    ResourceType.USER, ResourceType.GROUP, ResourceType.APPLICATION, ResourceType.SERVICE_PRINCIPAL,
    ResourceType.OAUTH2_PERMISSION_GRANT, ResourceType.APP_ROLE_ASSIGNMENT,
    ResourceType.NAMED_LOCATION_POLICY, ResourceType.CONDITIONAL_ACCESS_POLICY,
    ResourceType.AUTHENTICATION_METHOD_POLICY,
    ResourceType.AUTHENTICATION_STRENGTH_POLICY, ResourceType.AUTHORIZATION_POLICY, ResourceType.ORGANIZATION,
)
_TYPE_RANK = {str(t): i for i, t in enumerate(TYPE_ORDER)}


def type_sort_key(entity_type: str) -> tuple[int, str]:
    """Known types in ``TYPE_ORDER``, then any other raw type name alphabetically."""
    return _TYPE_RANK.get(entity_type, len(TYPE_ORDER)), entity_type


class QueuedChange(NamedTuple):
    """A queued change, reduced to what planning needs (cheap to build from a cache row): its verdict comes
    from :func:`~entrabr_tui.core.recoverability.recoverability` (or the cache's column of it)."""

    id: str
    entity_type: str
    action: str
    verdict: Verdict


def queued_change_for(change: Change) -> QueuedChange:
    """The planning record of a full change."""
    return QueuedChange(change.id, change.entity_type_raw, change.action_raw, recoverability(change))


def object_records(records: Iterable[QueuedChange]) -> list[QueuedChange]:
    """One planning record per object (type and id), for a report that holds several changes of one object
    (a restore is scoped by object id), in the order of each object's first change.

    The object is synchronised from on-premises when any of its changes says so (then it is not
    recoverable); otherwise it takes the verdict and action of its first recoverable change, else of its
    first change of unknown sync status, else of its first change (not recoverable, with that reason).
    """
    merged: dict[tuple[str, str], QueuedChange] = {}
    for record in records:
        key = (record.entity_type, record.id)
        seen = merged.get(key)
        if seen is None:
            merged[key] = record
            continue
        if seen.verdict.reason is ExclusionReason.ON_PREMISES_SYNCED:
            continue
        if record.verdict.reason is ExclusionReason.ON_PREMISES_SYNCED \
                or _ANSWER_RANK[record.verdict.answer] > _ANSWER_RANK[seen.verdict.answer]:
            merged[key] = record
    return list(merged.values())


@dataclass(frozen=True, slots=True)
class Exclusion:
    """Queued changes of one type left out for one reason; ``detail`` is the specific explanation."""

    entity_type: str
    reason: ExclusionReason
    detail: str
    ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TypePlan:
    """What a restore will do to the queued objects of one type (IDs sorted)."""

    entity_type: str
    restores: tuple[str, ...]
    updates: tuple[str, ...]
    soft_deletes: tuple[str, ...]
    others: tuple[str, ...]
    whole_type: bool
    report_total: int | None

    @property
    def ids(self) -> tuple[str, ...]:
        """All included IDs, in job order."""
        return self.restores + self.updates + self.others + self.soft_deletes

    @property
    def count(self) -> int:
        return len(self.restores) + len(self.updates) + len(self.soft_deletes) + len(self.others)


@dataclass(frozen=True, slots=True)
class PlanSummary:
    """Counts for the confirm dialog; a typed confirmation is required when anything is soft-deleted.

    ``sync_unknown`` counts included objects whose sync status is unknown (synced ones among them will not
    be recovered)."""

    queued: int
    duplicates: int
    included: int
    restores: int
    updates: int
    soft_deletes: int
    others: int
    excluded: int
    excluded_by_reason: tuple[tuple[ExclusionReason, int], ...]
    jobs: int
    whole_types: tuple[str, ...]
    sync_unknown: int = 0

    @property
    def requires_typed_confirmation(self) -> bool:
        return self.soft_deletes > 0


def _type_noun(entity_type: str, count: int) -> str:
    if entity_type in (ResourceType.USER, ResourceType.GROUP):
        return f"{entity_type}{'' if count == 1 else 's'}"
    return f"{entity_type} object{'' if count == 1 else 's'}"


@dataclass(frozen=True, slots=True)
class RestorePlan:
    """The outcome of planning: per-type actions, exclusions, the ordered job scopes, and the included
    objects whose sync status is unknown (``sync_unknown``: per type, their IDs sorted)."""

    types: tuple[TypePlan, ...]
    exclusions: tuple[Exclusion, ...]
    batches: tuple[FilteringCriteria, ...]
    queued: int
    duplicates: int
    max_ids: int
    sync_unknown: tuple[tuple[str, tuple[str, ...]], ...] = ()
    kept_by_tags: int = 0  # changes of the report a triage tag keeps (left alone, queued or not)

    @property
    def summary(self) -> PlanSummary:
        by_reason: dict[ExclusionReason, int] = {}
        for ex in self.exclusions:
            by_reason[ex.reason] = by_reason.get(ex.reason, 0) + len(ex.ids)
        return PlanSummary(
            queued=self.queued,
            duplicates=self.duplicates,
            included=sum(t.count for t in self.types),
            restores=sum(len(t.restores) for t in self.types),
            updates=sum(len(t.updates) for t in self.types),
            soft_deletes=sum(len(t.soft_deletes) for t in self.types),
            others=sum(len(t.others) for t in self.types),
            excluded=sum(by_reason.values()),
            excluded_by_reason=tuple((r, by_reason[r]) for r in ExclusionReason if r in by_reason),
            jobs=len(self.batches),
            whole_types=tuple(t.entity_type for t in self.types if t.whole_type),
            sync_unknown=sum(len(ids) for _, ids in self.sync_unknown),
        )

    @property
    def warnings(self) -> list[str]:
        """What the plan cannot promise: one line per type with objects of unknown sync status."""
        return [f"sync status unknown for {len(ids):,} {_type_noun(entity_type, len(ids))}: "
                "on-premises-synced objects will fail to recover; grant Directory.Read.All to check"
                for entity_type, ids in self.sync_unknown]

    @property
    def is_empty(self) -> bool:
        return not self.batches

    @property
    def stages(self) -> list[tuple[Stage, tuple[FilteringCriteria, ...]]]:
        """The jobs of each stage, in order (stages without jobs left out)."""
        out: list[tuple[Stage, list[FilteringCriteria]]] = []
        for batch in self.batches:
            stage = batch_stage(batch)
            if not out or out[-1][0] is not stage:
                out.append((stage, []))
            out[-1][1].append(batch)
        return [(stage, tuple(batches)) for stage, batches in out]


def batch_stage(batch: FilteringCriteria) -> Stage:
    """The stage of a job the planner made (its first type's)."""
    if isinstance(batch, EntityNamesFilter):
        return stage_of(batch.entity_types[0]) if batch.entity_types else Stage.OTHER
    return stage_of(batch.values[0][0]) if batch.values else Stage.OTHER


class _TypeAcc:
    __slots__ = ("details", "excluded", "others", "restores", "soft_deletes", "unknown", "updates")

    def __init__(self) -> None:
        self.restores: list[str] = []
        self.updates: list[str] = []
        self.soft_deletes: list[str] = []
        self.others: list[str] = []
        self.unknown: list[str] = []
        self.excluded: dict[ExclusionReason, list[str]] = {}
        self.details: dict[ExclusionReason, str] = {}

    def included(self) -> tuple[list[str], ...]:
        return self.restores, self.updates, self.soft_deletes, self.others


_ANSWER_RANK = {Recoverable.NO: 0, Recoverable.UNKNOWN: 1, Recoverable.YES: 2}
_REASON_RANK = {r: i for i, r in enumerate(ExclusionReason)}


def _conflict_key(record: Any) -> tuple[int, int, str]:
    """Conflicting duplicates resolve the cautious way, whatever their order: not recoverable (by reason),
    then unknown, then recoverable."""
    verdict: Verdict = record[3]
    reason = -1 if verdict.reason is None else _REASON_RANK[verdict.reason]
    return _ANSWER_RANK[verdict.answer], reason, str(record[2])


def _text(value: object) -> str:
    """IDs and type names from untyped sources: ``None`` becomes "" (reported as a missing ID)."""
    return "" if value is None else str(value)


def _classify(bucket: Mapping[str, Any]) -> _TypeAcc:
    """Sort one type's (de-duplicated) records into actions and per-record exclusions."""
    acc = _TypeAcc()
    restore, update, soft_delete = RecoveryAction.RESTORE.value, RecoveryAction.UPDATE.value, "softDelete"
    restores, updates, soft_deletes, others = acc.restores, acc.updates, acc.soft_deletes, acc.others
    no, unknown = Recoverable.NO, Recoverable.UNKNOWN
    for object_id, record in bucket.items():
        if not object_id:
            acc.excluded[ExclusionReason.MISSING_ID] = [""]
            continue
        verdict: Verdict = record[3]
        if verdict.answer is no:
            reason = verdict.reason or ExclusionReason.NOTHING_RECOVERABLE
            acc.excluded.setdefault(reason, []).append(object_id)
            if reason is ExclusionReason.TYPE_NOT_RECOVERABLE and verdict.detail:
                acc.details.setdefault(reason, verdict.detail)
            continue
        if verdict.answer is unknown:
            acc.unknown.append(object_id)
        action = record[2]
        if action == update:
            updates.append(object_id)
        elif action == restore:
            restores.append(object_id)
        elif action == soft_delete:
            soft_deletes.append(object_id)
        else:
            others.append(object_id)
    return acc


def plan_restore(
    queued: Iterable[QueuedChange | tuple[str, str, str, Verdict]],
    report_totals: Mapping[str, int] | None = None,
    *,
    max_ids: int = MAX_IDS_PER_JOB,
    allow_whole_type: bool = True,
    kept: Collection[str] = (),
    kept_by_tags: int = 0,
) -> RestorePlan:
    """Plan the recovery jobs for the queued changes.

    A change whose verdict is "not recoverable" is excluded with its reason; "unknown" ones (sync status
    not known) are included and listed in ``sync_unknown`` (the service leaves synced ones alone).
    ``report_totals`` maps each type (raw ``resourceTypeName``) to its number of changes in the report the
    queue was built from; a type is scoped as a whole only when all of them are queued and none is excluded
    (the caller must not mix in IDs from elsewhere when it passes totals). A change queued twice (same type
    and ID) counts once; if the copies disagree, the cautious one wins (not recoverable, then unknown).
    ``kept`` holds the IDs a triage tag keeps (``keep`` on their cluster or operation): they are excluded;
    ``kept_by_tags`` is how many changes of the report the tags keep (the plan says so).
    """
    if max_ids < 1:
        raise ValueError(f"max_ids must be at least 1, got {max_ids}")
    totals = report_totals or {}
    # Pass 1: bucket by type, dropping repeated (type, id) pairs; the record is kept whole.
    buckets: dict[str, dict[str, Any]] = {}
    count = duplicates = 0
    for record in queued:
        count += 1
        object_id, entity_type = record[0], record[1]
        if object_id.__class__ is not str or entity_type.__class__ is not str:
            object_id, entity_type = _text(object_id), _text(entity_type)
        bucket = buckets.get(entity_type)
        if bucket is None:
            bucket = buckets[entity_type] = {}
        existing = bucket.get(object_id)
        if existing is None:
            bucket[object_id] = record
        else:
            duplicates += 1
            if existing != record:
                bucket[object_id] = min(existing, record, key=_conflict_key)
    types: list[TypePlan] = []
    exclusions: list[Exclusion] = []
    unknown: list[tuple[str, tuple[str, ...]]] = []
    for entity_type in sorted(buckets, key=type_sort_key):
        bucket = buckets[entity_type]
        kept_ids = [i for i in bucket if i and i in kept] if kept else []
        for object_id in kept_ids:
            del bucket[object_id]
        acc = _classify(bucket)
        if kept_ids:
            acc.excluded[ExclusionReason.KEPT_BY_TRIAGE] = kept_ids
        for reason in ExclusionReason:
            ids = acc.excluded.get(reason)
            if ids:
                detail = acc.details.get(reason) or reason.description
                exclusions.append(Exclusion(entity_type, reason, detail, tuple(sorted(ids))))
        if acc.unknown:
            unknown.append((entity_type, tuple(sorted(acc.unknown))))
        included = sum(len(group) for group in acc.included())
        if not included:
            continue
        total = totals.get(entity_type)
        whole = allow_whole_type and not acc.excluded and total == included
        types.append(TypePlan(entity_type, tuple(sorted(acc.restores)), tuple(sorted(acc.updates)),
                              tuple(sorted(acc.soft_deletes)), tuple(sorted(acc.others)), whole, total))
    batches = _batches(types, max_ids)
    return RestorePlan(tuple(types), tuple(exclusions), batches, count, duplicates, max_ids, tuple(unknown),
                       kept_by_tags)


def rebatch(plan: RestorePlan, whole_types: Collection[str]) -> RestorePlan:
    """``plan`` with exactly ``whole_types`` (among its types) scoped as whole types and the rest by ID.

    The caller decides whether a whole-type job is acceptable (it also acts on every other change of the
    type the service finds when it runs: see :mod:`.plan_options`)."""
    types = [replace(t, whole_type=t.entity_type in whole_types) for t in plan.types]
    return replace(plan, types=tuple(types), batches=_batches(types, plan.max_ids))


def _batches(types: Iterable[TypePlan], max_ids: int) -> tuple[FilteringCriteria, ...]:
    """The jobs, stage by stage: a stage's whole types in one job, then its IDs in jobs of ``max_ids``."""
    by_stage: dict[Stage, list[TypePlan]] = {}
    for plan in types:
        by_stage.setdefault(stage_of(plan.entity_type), []).append(plan)
    batches: list[FilteringCriteria] = []
    for stage in sorted(by_stage):
        plans = by_stage[stage]
        whole = tuple(t.entity_type for t in plans if t.whole_type)
        if whole:
            batches.append(EntityNamesFilter(whole))
        entries: list[tuple[str, tuple[str, ...]]] = []
        room = max_ids
        for plan in plans:
            if plan.whole_type:
                continue
            ids = plan.ids
            pos = 0
            while pos < len(ids):
                take = min(room, len(ids) - pos)
                entries.append((plan.entity_type, ids[pos:pos + take]))
                pos += take
                room -= take
                if room == 0:
                    batches.append(EntityNameAndIdsFilter(tuple(entries)))
                    entries, room = [], max_ids
        if entries:
            batches.append(EntityNameAndIdsFilter(tuple(entries)))
    return tuple(batches)


def plan_to_json(plan: RestorePlan) -> dict[str, Any]:
    """A JSON-ready description of the plan (for ``restore --plan --json`` and exports)."""
    summary = plan.summary
    return {
        "summary": {
            "queued": summary.queued, "duplicates": summary.duplicates, "included": summary.included,
            "restore": summary.restores, "update": summary.updates, "softDelete": summary.soft_deletes,
            "other": summary.others, "excluded": summary.excluded, "jobs": summary.jobs,
            "excludedByReason": {str(r): n for r, n in summary.excluded_by_reason},
            "wholeTypes": list(summary.whole_types),
            "requiresTypedConfirmation": summary.requires_typed_confirmation,
            "syncUnknown": summary.sync_unknown,
        },
        "keptByTags": plan.kept_by_tags,
        "types": [
            {"entityType": t.entity_type, "wholeType": t.whole_type, "reportTotal": t.report_total,
             "restore": list(t.restores), "update": list(t.updates), "softDelete": list(t.soft_deletes),
             "other": list(t.others)}
            for t in plan.types
        ],
        "excluded": [
            {"entityType": e.entity_type, "reason": str(e.reason), "detail": e.detail, "ids": list(e.ids)}
            for e in plan.exclusions
        ],
        "syncUnknown": [{"entityType": t, "ids": list(ids)} for t, ids in plan.sync_unknown],
        "warnings": plan.warnings,
        "stages": [{"stage": stage.title, "jobs": len(batches)} for stage, batches in plan.stages],
        "jobs": [b.to_json() for b in plan.batches],
    }


def summary_lines(plan: RestorePlan) -> list[str]:
    """Plain-text lines describing the plan (CLI dry run, confirm dialog body)."""
    s = plan.summary
    lines = [f"{s.included:,} of {s.queued:,} queued objects in {s.jobs:,} recovery job(s): "
             f"{s.restores:,} restored, {s.updates:,} reverted, {s.soft_deletes:,} soft-deleted"
             + (f", {s.others:,} other" if s.others else "")]
    for t in plan.types:
        scope = "whole type" if t.whole_type else "by ID"
        lines.append(f"  {t.entity_type}: {len(t.restores):,} restored, {len(t.updates):,} reverted, "
                     f"{len(t.soft_deletes):,} soft-deleted ({scope})")
    stages = plan.stages
    if len(stages) > 1:
        lines.append("  in order: " + " → ".join(f"{stage.title} ({len(batches)} job"
                                                 f"{'' if len(batches) == 1 else 's'})"
                                                 for stage, batches in stages))
    for e in plan.exclusions:
        lines.append(f"  excluded {e.entity_type}: {len(e.ids):,} – {e.detail}")
    if s.duplicates:
        lines.append(f"  {s.duplicates:,} duplicate queue entries ignored")
    if plan.kept_by_tags:
        lines.append(f"  {plural(plan.kept_by_tags, 'change')} of the report left alone: kept by triage tags")
    if s.requires_typed_confirmation:
        lines.append(f"  {s.soft_deletes:,} object(s) will be SOFT-DELETED")
    lines.extend(f"  warning: {text}" for text in plan.warnings)
    return lines
