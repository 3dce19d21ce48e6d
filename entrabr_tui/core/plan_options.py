"""Ways to restore a queue, what each would also revert, and how long each would take.

A queue can be restored three ways, each in the dependency stages of :mod:`.stages`:

* **by ID** — ``recoveryJobEntityNameAndIdsFilter`` jobs of at most 100 IDs: exactly the queued objects;
* **whole types** — one ``recoveryJobEntityNamesFilter`` job per stage for every queued type: few jobs, but
  the service then restores *every* change of those types it finds when the job runs, so every change of
  the type that is not queued (and every one tagged ``keep``) is reverted too — listed exactly;
* **best mix** — whole types where that reverts nothing unmarked and nothing tagged ``keep`` and is faster,
  IDs elsewhere.

The default is the fastest option that reverts nothing unmarked and nothing tagged ``keep`` (by ID always
qualifies). Queued objects tagged ``keep`` (``kept_object_ids``, from triage) are left out of every option.

Estimates (:class:`DurationModel`) use the documented rates of :mod:`.durations` per job (about 45 minutes
per 100,000 changes to calculate, up to 30 hours per 500,000 to recover, a minute per phase at least), the
backup's data load once unless a report already loaded that backup, and a factor learnt from the tenant's
own past recovery jobs: the median of (observed duration / documented estimate) over them.
"""

from __future__ import annotations

import statistics
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from .durations import estimate, load_seconds
from .model import MAX_IDS_PER_JOB, EntityNamesFilter, FilteringCriteria, JobKind
from .planner import QueuedChange, RestorePlan, plan_restore, rebatch
from .review import ObjectKey
from .text import format_duration

#: Bounds of the factor learnt from the tenant's jobs (a few odd jobs must not make estimates absurd).
MIN_FACTOR, MAX_FACTOR = 0.001, 50.0


class Choice(StrEnum):
    """The options (values are the command-line spellings of ``--strategy``)."""

    BY_ID = "ids"
    WHOLE_TYPES = "types"
    MIX = "mix"

    @property
    def label(self) -> str:
        return {"ids": "By object ID", "types": "Whole types", "mix": "Best mix"}[self.value]


@dataclass(frozen=True, slots=True)
class TypeFacts:
    """What the report holds of one type beyond the queue.

    ``objects``: objects of the type in the report (a whole-type job calculates all of them);
    ``unmarked``: objects of the type a whole-type job would also revert (not queued, and recoverable or of
    unknown status, or unreadable); ``kept``: objects of the type tagged ``keep``."""

    entity_type: str
    objects: int
    unmarked: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DurationModel:
    """Per-job estimates: documented rates × ``factor``, plus the backup's load unless already loaded.

    ``units_per_object`` turns objects into object + link changes (the report's own ratio);
    ``learnt_from`` is how many of the tenant's past jobs the factor comes from (0: documented rates)."""

    tenant_objects: int | None = None
    backup_loaded: bool = False
    factor: float = 1.0
    units_per_object: float = 1.0
    learnt_from: int = 0

    def job_seconds(self, objects: int) -> float:
        changes = round(max(0, objects) * self.units_per_object)
        return self.factor * estimate(JobKind.RECOVERY, changes=changes, backup_loaded=True).total

    @property
    def load(self) -> float:
        return 0.0 if self.backup_loaded else self.factor * load_seconds(self.tenant_objects)

    @property
    def basis(self) -> str:
        """Where the figures come from, in words."""
        if self.learnt_from:
            return (f"documented rates × {self.factor:.2g}, learnt from {self.learnt_from} past "
                    f"job{'' if self.learnt_from == 1 else 's'} of this tenant")
        return "documented rates" + ("" if self.factor == 1.0 else f" × {self.factor:.2g}")

    def refined(self, past: Iterable[tuple[int, float]]) -> DurationModel:
        """This model with its factor learnt from past recovery jobs: ``(object + link changes, seconds)``.

        Jobs of the same tenant tell how fast its service really is; the median ratio to the documented
        estimate is used (no job with a known size and duration: the model is unchanged)."""
        ratios = []
        for changes, seconds in past:
            if changes < 0 or seconds <= 0:
                continue
            expected = estimate(JobKind.RECOVERY, changes=changes, backup_loaded=True).total
            ratios.append(seconds / expected)
        if not ratios:
            return self
        factor = min(MAX_FACTOR, max(MIN_FACTOR, statistics.median(ratios)))
        return DurationModel(self.tenant_objects, self.backup_loaded, factor, self.units_per_object,
                             len(ratios))


@dataclass(frozen=True, slots=True)
class PlanEstimate:
    """How long an option would take: its jobs, in seconds, the load included."""

    jobs: int
    seconds: float
    load: float = 0.0

    def ends(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.seconds)

    def text(self, now_local: datetime) -> str:
        """``48 jobs · ~6 h 10 min · ends ≈ 03:40 local`` (``now_local``: the time now, in local time)."""
        ends = self.ends(now_local)
        soon = ends - now_local < timedelta(hours=20)
        when = ends.strftime("%H:%M") if soon else ends.strftime("%a %d %b %H:%M")
        return (f"{self.jobs:,} job{'' if self.jobs == 1 else 's'} · ~{format_duration(self.seconds)} · "
                f"ends ≈ {when} local")


@dataclass(frozen=True, slots=True)
class PlanOption:
    """One way to restore the queue: its plan, its cost, and what else it would revert."""

    choice: Choice
    plan: RestorePlan
    estimate: PlanEstimate
    also_reverts: tuple[ObjectKey, ...] = ()
    """Changes that are not queued which its whole-type jobs would revert too, by type then id."""
    reverts_kept: tuple[ObjectKey, ...] = ()
    """Objects tagged ``keep`` its whole-type jobs would revert."""

    @property
    def safe(self) -> bool:
        """It reverts nothing unmarked and nothing tagged ``keep``."""
        return not self.also_reverts and not self.reverts_kept

    @property
    def whole_types(self) -> tuple[str, ...]:
        return self.plan.summary.whole_types

    def line(self, now_local: datetime) -> str:
        """``Best mix: 3 jobs · ~12 min · ends ≈ 10:42 local — reverts nothing unmarked``."""
        if self.safe:
            note = "reverts nothing unmarked"
        else:
            parts = []
            if self.also_reverts:
                parts.append(f"also reverts {len(self.also_reverts):,} unmarked change"
                             f"{'' if len(self.also_reverts) == 1 else 's'}")
            if self.reverts_kept:
                parts.append(f"{len(self.reverts_kept):,} tagged keep")
            note = ", ".join(parts)
        return f"{self.choice.label}: {self.estimate.text(now_local)} — {note}"


@dataclass(frozen=True, slots=True)
class PlanChoices:
    """The options for one queue and the one chosen by default (see the module docstring)."""

    options: tuple[PlanOption, ...]
    default: Choice
    model: DurationModel
    kept_left_out: tuple[ObjectKey, ...] = field(default_factory=tuple)
    """Queued objects tagged ``keep``: left out of every option."""

    def option(self, choice: Choice | str) -> PlanOption:
        wanted = Choice(choice)
        return next(o for o in self.options if o.choice is wanted)

    @property
    def chosen(self) -> PlanOption:
        return self.option(self.default)


def _id_estimate(plan: RestorePlan, facts: Mapping[str, TypeFacts], model: DurationModel) -> PlanEstimate:
    seconds = 0.0
    for batch in plan.batches:
        seconds += model.job_seconds(_batch_objects(batch, plan, facts))
    load = model.load if plan.batches else 0.0
    return PlanEstimate(len(plan.batches), seconds + load, load)


def _batch_objects(batch: FilteringCriteria, plan: RestorePlan, facts: Mapping[str, TypeFacts]) -> int:
    """Objects a job calculates: its IDs, or every object of its types in the report."""
    if isinstance(batch, EntityNamesFilter):
        total = 0
        for entity_type in batch.entity_types:
            fact = facts.get(entity_type)
            if fact is not None:
                total += fact.objects
            else:
                total += sum(t.count for t in plan.types if t.entity_type == entity_type)
        return total
    return batch.id_count


def _type_cost(count: int, objects: int, model: DurationModel, max_ids: int) -> tuple[float, float]:
    """(by ID, whole type) seconds for one type: ``count`` queued of ``objects`` in the report."""
    full, rest = divmod(count, max_ids)
    by_id = full * model.job_seconds(max_ids) + (model.job_seconds(rest) if rest else 0.0)
    return by_id, model.job_seconds(max(objects, count))


def plan_choices(queued: Iterable[QueuedChange], facts: Mapping[str, TypeFacts], model: DurationModel,
                 *, kept_object_ids: Collection[str] = (), max_ids: int = MAX_IDS_PER_JOB) -> PlanChoices:
    """Every option for the queued changes (one record per object, see
    :func:`~entrabr_tui.core.planner.object_records`), its estimate, and the default.

    ``facts`` describes each type of the report (see :class:`TypeFacts`); a type without facts is taken
    to hold nothing beyond the queue. ``kept_object_ids`` are objects tagged ``keep`` (never reverted by the
    default option, left out of every option when queued)."""
    kept = set(kept_object_ids)
    records: list[QueuedChange] = []
    left_out: list[ObjectKey] = []
    for record in queued:
        if kept and record[0] in kept:
            left_out.append((record[1], record[0]))
        else:
            records.append(record)
    totals = {t: f.objects for t, f in facts.items()}
    by_id = plan_restore(records, totals, allow_whole_type=False, max_ids=max_ids)
    types = [t.entity_type for t in by_id.types]
    whole_plan = rebatch(by_id, types)
    also: list[ObjectKey] = []
    kept_hit: list[ObjectKey] = []
    mix_types: list[str] = []
    for plan_type in by_id.types:
        entity_type = plan_type.entity_type
        fact = facts.get(entity_type) or TypeFacts(entity_type, plan_type.count)
        also.extend((entity_type, i) for i in fact.unmarked)
        kept_hit.extend((entity_type, i) for i in fact.kept)
        if fact.unmarked or fact.kept:
            continue
        ids_cost, whole_cost = _type_cost(plan_type.count, fact.objects, model, max_ids)
        if whole_cost < ids_cost:
            mix_types.append(entity_type)
    mix_plan = rebatch(by_id, mix_types)
    options = (
        PlanOption(Choice.BY_ID, by_id, _id_estimate(by_id, facts, model)),
        PlanOption(Choice.WHOLE_TYPES, whole_plan, _id_estimate(whole_plan, facts, model),
                   tuple(sorted(set(also))), tuple(sorted(set(kept_hit)))),
        PlanOption(Choice.MIX, mix_plan, _id_estimate(mix_plan, facts, model)),
    )
    return PlanChoices(options, fastest_safe(options), model, tuple(sorted(left_out)))


def fastest_safe(options: Sequence[PlanOption]) -> Choice:
    """The fastest option that reverts nothing unmarked and nothing tagged ``keep`` (ties: fewer whole
    types first, so by ID wins a tie)."""
    safe = [o for o in options if o.safe] or [o for o in options if o.choice is Choice.BY_ID]
    best = min(safe, key=lambda o: (round(o.estimate.seconds), len(o.whole_types)))
    return best.choice
