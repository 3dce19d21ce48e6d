"""A restore plan bound to the report it came from, with the counts and exclusions the UI shows.

:class:`~entrabr_tui.core.planner.RestorePlan` is pure (IDs and scopes). :class:`SessionPlan` adds what a
restore needs to run (the backup, the cached report) and what a confirm dialog shows (names of excluded
objects, counts by type and action), and what the checks around a restore need: the fingerprint of every
object's reviewed difference (the staleness guard compares them with a fresh preview), the options the
planner compared (:mod:`~entrabr_tui.core.plan_options`), the missing dependencies, and the policy and group
changes the lockout guard evaluates. :class:`PlanInputs` gathers them from the changes in one pass.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from entrabr_tui.core.dependencies import Deleted, DependencyWarning, missing_dependencies
from entrabr_tui.core.model import Change, FilteringCriteria, ResourceType
from entrabr_tui.core.plan_options import Choice, PlanChoices
from entrabr_tui.core.planner import (
    Exclusion,
    PlanSummary,
    QueuedChange,
    RestorePlan,
    TypePlan,
    object_records,
    plan_restore,
    plan_to_json,
    queued_change_for,
    rebatch,
    summary_lines,
)
from entrabr_tui.core.recoverability import RECOVERABLE, SYNC_UNKNOWN
from entrabr_tui.core.review import ObjectKey, change_text, fingerprint
from entrabr_tui.core.reviewed_plan import ReviewedPlan
from entrabr_tui.engine.reports import ReportInfo

#: Change types the dependency and lockout checks read (kept whole by :class:`PlanInputs`).
CHECKED_TYPES = frozenset({ResourceType.GROUP.value, ResourceType.CONDITIONAL_ACCESS_POLICY.value,
                           ResourceType.SERVICE_PRINCIPAL.value})


@dataclass
class PlanInputs:
    """What planning needs of the changes chosen for a restore, gathered in one pass over them.

    ``records``: one planning record per object (in report order); ``reviewed``: each object's
    fingerprint (:mod:`~entrabr_tui.core.review`); ``checked``: the group, Conditional Access and service
    principal changes (the dependency and lockout checks read their contents)."""

    records: list[QueuedChange] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    actions: dict[str, str] = field(default_factory=dict)
    reviewed: dict[ObjectKey, str] = field(default_factory=dict)
    checked: list[Change] = field(default_factory=list)

    @classmethod
    def of(cls, changes: Iterable[Change]) -> PlanInputs:
        """Gather from changes (several per object allowed; unreadable ones are never restored)."""
        inputs = cls()
        texts: dict[ObjectKey, list[str]] = {}
        records = []
        for change in changes:
            if not change.readable:
                continue
            records.append(queued_change_for(change))
            inputs.names.setdefault(change.id, change.display_name)
            inputs.actions.setdefault(change.id, change.action_raw)
            texts.setdefault((change.entity_type_raw, change.id), []).append(change_text(change))
            if change.entity_type_raw in CHECKED_TYPES:
                inputs.checked.append(change)
        inputs.records = object_records(records)
        inputs.reviewed = {key: fingerprint(found) for key, found in texts.items()}
        return inputs

    def without(self, keys: Collection[ObjectKey]) -> PlanInputs:
        """These inputs without some objects (dropped after a recheck)."""
        drop = set(keys)
        return PlanInputs(
            [r for r in self.records if (r[1], r[0]) not in drop], self.names, self.actions,
            {k: v for k, v in self.reviewed.items() if k not in drop},
            [c for c in self.checked if (c.entity_type_raw, c.id) not in drop])


@dataclass(frozen=True, slots=True)
class ExcludedObject:
    """A queued object a restore will not touch, and why."""

    id: str
    entity_type: str
    display_name: str
    reason: str


@dataclass(frozen=True, slots=True)
class SessionPlan:
    """A restore plan for the queue of one cached report.

    It reads like the :class:`RestorePlan` it wraps (``types``, ``exclusions``, ``batches``, ``summary``,
    ``queued``, ``is_empty`` …) and adds the backup and report a restore runs against. A plan of an empty
    queue has no report and no backup (and cannot be restored).
    """

    plan: RestorePlan
    report: ReportInfo | None
    snapshot_id: str | None
    names: Mapping[str, str] = field(default_factory=dict)  # object id → display name
    actions: Mapping[str, str] = field(default_factory=dict)  # object id → recoveryAction
    reviewed: Mapping[ObjectKey, str] = field(default_factory=dict)
    """Fingerprint of each included object's difference as reviewed (what the staleness guard compares)."""
    choices: PlanChoices | None = None
    """The options the planner compared (``None``: the plan was not made by comparing options)."""
    choice: Choice | None = None
    dependencies: tuple[DependencyWarning, ...] = ()
    checked: tuple[Change, ...] = ()
    """Group, Conditional Access and service principal changes of the plan (dependency and lockout checks)."""
    deleted: Mapping[str, Deleted] = field(default_factory=dict)
    """The report's objects that are in the deleted items now (restore changes), by id."""
    reviewed_plan: ReviewedPlan | None = None
    """The reviewed plan file this plan was read from (four eyes), if any."""

    @classmethod
    def empty(cls) -> SessionPlan:
        return cls(plan_restore(()), None, None)

    # -- choosing --------------------------------------------------------------------------------------

    @property
    def tenant_report_id(self) -> str | None:
        """The difference report (preview job id) the plan was made from."""
        if self.report is not None:
            return self.report.id
        return self.reviewed_plan.report_job_id if self.reviewed_plan is not None else None

    def with_choice(self, choice: Choice | str) -> SessionPlan:
        """The same queue planned the way ``choice`` says (one of :attr:`choices`)."""
        if self.choices is None:
            raise ValueError("this plan was not made by comparing options")
        option = self.choices.option(choice)
        plan = replace(option.plan, kept_by_tags=self.plan.kept_by_tags)
        return self._rechecked(replace(self, plan=plan, choice=option.choice))

    def without(self, keys: Collection[ObjectKey], *, by_id_types: Collection[str] = ()) -> SessionPlan:
        """The plan without some objects (dropped after a recheck), with ``by_id_types`` scoped by ID
        instead of whole (so a whole-type job does not restore unreviewed changes of them)."""
        drop = set(keys)
        unknown = {(t, i) for t, ids in self.plan.sync_unknown for i in ids}
        records = [QueuedChange(object_id, t.entity_type, action,
                                SYNC_UNKNOWN if (t.entity_type, object_id) in unknown else RECOVERABLE)
                   for t in self.plan.types
                   for action, ids in (("restore", t.restores), ("update", t.updates),
                                       ("softDelete", t.soft_deletes), (None, t.others))
                   for object_id in ids if (t.entity_type, object_id) not in drop
                   for action in (action or self.actions.get(object_id, "unknownFutureValue"),)]
        # Exclusions stay as they were; the included objects are planned again, whole types as before
        # unless told otherwise.
        plan = plan_restore(records, allow_whole_type=False, max_ids=self.plan.max_ids)
        whole = [t for t in self.plan.summary.whole_types if t not in by_id_types]
        plan = replace(rebatch(plan, whole), exclusions=self.plan.exclusions, queued=self.plan.queued,
                       duplicates=self.plan.duplicates, kept_by_tags=self.plan.kept_by_tags)
        return self._rechecked(replace(
            self, plan=plan, choices=None,
            reviewed={k: v for k, v in self.reviewed.items() if k not in drop},
            checked=tuple(c for c in self.checked if (c.entity_type_raw, c.id) not in drop)))

    def _rechecked(self, plan: SessionPlan) -> SessionPlan:
        ids = {object_id for t in plan.plan.types for object_id in t.ids}
        warnings = missing_dependencies([c for c in plan.checked if c.id in ids], ids, plan.deleted,
                                        plan.plan.summary.whole_types)
        return replace(plan, dependencies=tuple(warnings))

    # -- the RestorePlan it wraps -------------------------------------------------------------------------

    @property
    def types(self) -> tuple[TypePlan, ...]:
        return self.plan.types

    @property
    def exclusions(self) -> tuple[Exclusion, ...]:
        return self.plan.exclusions

    @property
    def batches(self) -> tuple[FilteringCriteria, ...]:
        return self.plan.batches

    @property
    def queued(self) -> int:
        return self.plan.queued

    @property
    def duplicates(self) -> int:
        return self.plan.duplicates

    @property
    def max_ids(self) -> int:
        return self.plan.max_ids

    @property
    def summary(self) -> PlanSummary:
        return self.plan.summary

    @property
    def kept_by_tags(self) -> int:
        """Changes of the report a triage tag keeps (the plan leaves them alone)."""
        return self.plan.kept_by_tags

    def with_kept_by_tags(self, count: int) -> SessionPlan:
        """The same plan saying that ``count`` changes of the report are kept by triage tags."""
        return replace(self, plan=replace(self.plan, kept_by_tags=count))

    @property
    def is_empty(self) -> bool:
        return self.plan.is_empty

    @property
    def warnings(self) -> list[str]:
        """What the plan cannot promise (objects of unknown sync status it includes)."""
        return self.plan.warnings

    # -- views ------------------------------------------------------------------------------------------

    @property
    def counts(self) -> dict[tuple[str, str], int]:
        """Objects the restore will touch, keyed by ``(entity_type, action)``."""
        out: dict[tuple[str, str], int] = {}
        for t in self.plan.types:
            for action, ids in (("restore", t.restores), ("update", t.updates),
                                ("softDelete", t.soft_deletes)):
                if ids:
                    out[(t.entity_type, action)] = len(ids)
            for object_id in t.others:
                key = (t.entity_type, self.actions.get(object_id, "unknownFutureValue"))
                out[key] = out.get(key, 0) + 1
        return out

    @property
    def excluded_objects(self) -> list[ExcludedObject]:
        """Every excluded object with its name and the reason."""
        return [
            ExcludedObject(object_id, ex.entity_type, self.names.get(object_id, ""), ex.detail)
            for ex in self.plan.exclusions
            for object_id in ex.ids
        ]

    @property
    def batch_count(self) -> int:
        return len(self.plan.batches)

    @property
    def soft_delete_count(self) -> int:
        return self.plan.summary.soft_deletes

    @property
    def total(self) -> int:
        return self.plan.summary.included

    @property
    def ids(self) -> list[str]:
        """Every object the plan includes, in job order."""
        return [object_id for t in self.plan.types for object_id in t.ids]

    def lines(self) -> list[str]:
        """Plain-text description (CLI dry run, confirm dialog)."""
        return summary_lines(self.plan)

    def option_lines(self, now_local: datetime, *, limit: int = 10) -> list[str]:
        """The options compared (the chosen one marked ``→``), what whole types would also revert, the
        objects tagged keep left out, and the missing dependencies: plain text, tenant names included."""
        lines: list[str] = []
        choices = self.choices
        if choices is not None:
            lines.append(f"Options (estimates from {choices.model.basis}):")
            for option in choices.options:
                mark = "→" if option.choice is self.choice else " "
                lines.append(f"{mark} {option.line(now_local)}")
                shown = option.also_reverts[:limit]
                for entity_type, object_id in shown:
                    lines.append(f"      would also revert {entity_type} "
                                 f"{self._name(object_id)} (not marked)")
                more = len(option.also_reverts) - len(shown)
                if more:
                    lines.append(f"      … and {more:,} more unmarked changes")
                lines += [f"      would revert {t} {self._name(i)} (tagged keep)"
                          for t, i in option.reverts_kept[:limit]]
            if choices.kept_left_out:
                lines.append(f"{len(choices.kept_left_out):,} queued object(s) tagged keep are left out.")
        for warning in self.dependencies:
            lines.append(f"missing dependency: {warning.text}")
        return lines

    def _name(self, object_id: str) -> str:
        name = self.names.get(object_id)
        return f"{name} ({object_id})" if name else object_id

    def options_json(self, now_local: datetime) -> dict[str, Any]:
        """The options compared, for ``--json`` and plan exports."""
        if self.choices is None:
            return {}
        return {"strategy": self.choice.value if self.choice else None,
                "estimateBasis": self.choices.model.basis,
                "keptLeftOut": [{"entityType": t, "id": i} for t, i in self.choices.kept_left_out],
                "options": [{"strategy": o.choice.value, "jobs": o.estimate.jobs,
                             "seconds": round(o.estimate.seconds), "text": o.line(now_local), "safe": o.safe,
                             "wholeTypes": list(o.whole_types),
                             "alsoReverts": [{"entityType": t, "id": i} for t, i in o.also_reverts],
                             "revertsKept": [{"entityType": t, "id": i} for t, i in o.reverts_kept]}
                            for o in self.choices.options]}

    def to_json(self) -> dict[str, Any]:
        doc = plan_to_json(self.plan)
        doc["snapshotId"] = self.snapshot_id
        doc["reportJobId"] = self.tenant_report_id
        if self.choice is not None:
            doc["strategy"] = self.choice.value
        doc["dependencies"] = [{"kind": w.kind.value, "entityType": w.subject_type, "id": w.subject_id,
                                "needs": {"entityType": w.needed.entity_type, "id": w.needed.id,
                                          "displayName": w.needed.display_name},
                                "detail": w.detail, "text": w.text} for w in self.dependencies]
        return doc


def build_plan(
    report: ReportInfo,
    queued: Sequence[Change],
    report_totals: Mapping[str, int] | None,
    *,
    allow_whole_type: bool = True,
    kept: Collection[str] = (),
    kept_by_tags: int = 0,
) -> SessionPlan:
    """Plan a restore of the objects of the ``queued`` changes of ``report`` (one record per object, see
    :func:`~entrabr_tui.core.planner.object_records`), whole types where every change of a type is queued;
    ``kept`` ids (kept by triage tags) are left out, ``kept_by_tags`` is how many changes of the report the
    tags keep. The session's planner (:mod:`~entrabr_tui.engine.plan_builder`) compares options instead."""
    if report.snapshot_id is None:
        raise ValueError(f"report {report.id} has no backup id, so it cannot be restored from")
    inputs = PlanInputs.of(queued)
    plan = plan_restore(inputs.records, report_totals, allow_whole_type=allow_whole_type, kept=kept,
                        kept_by_tags=kept_by_tags)
    return SessionPlan(
        plan=plan, report=report, snapshot_id=report.snapshot_id, names=inputs.names, actions=inputs.actions,
        reviewed=inputs.reviewed, checked=tuple(inputs.checked),
    )


def plan_records(
    report: ReportInfo,
    records: Sequence[QueuedChange],
    names: Mapping[str, str],
    report_totals: Mapping[str, int] | None,
    *,
    allow_whole_type: bool = True,
) -> SessionPlan:
    """A preview of the restore of queued changes of ``report`` given as planning records, one per change
    (several changes of one object are merged, see :func:`~entrabr_tui.core.planner.object_records`), e.g.
    read from the cache's columns without decoding any change: a queue of hundreds of thousands plans in
    moments. What it restores, reverts, soft-deletes and excludes is :func:`build_plan`'s; it carries no
    fingerprints and no compared options, so it is shown, never restored from."""
    if report.snapshot_id is None:
        raise ValueError(f"report {report.id} has no backup id, so it cannot be restored from")
    objects = object_records(records)
    plan = plan_restore(objects, report_totals, allow_whole_type=allow_whole_type)
    return SessionPlan(plan=plan, report=report, snapshot_id=report.snapshot_id, names=names,
                       actions={r.id: r.action for r in objects})
