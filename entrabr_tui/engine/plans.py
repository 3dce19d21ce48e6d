"""A restore plan bound to the report it came from, with the counts and exclusions the UI shows.

:class:`~entrabr_tui.core.planner.RestorePlan` is pure (IDs and scopes). :class:`SessionPlan` adds what a
restore needs to run (the backup, the cached report) and what a confirm dialog shows (names of excluded
objects, counts by type and action).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from entrabr_tui.core.model import Change, FilteringCriteria
from entrabr_tui.core.planner import (
    Exclusion,
    PlanSummary,
    RestorePlan,
    TypePlan,
    object_records,
    plan_restore,
    plan_to_json,
    queued_change_for,
    summary_lines,
)
from entrabr_tui.engine.reports import ReportInfo


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

    @classmethod
    def empty(cls) -> SessionPlan:
        return cls(plan_restore(()), None, None)

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

    def to_json(self) -> dict[str, Any]:
        doc = plan_to_json(self.plan)
        doc["snapshotId"] = self.snapshot_id
        doc["reportJobId"] = self.report.id if self.report else None
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
    :func:`~entrabr_tui.core.planner.object_records`); ``kept`` ids (kept by triage tags) are left out,
    ``kept_by_tags`` is how many changes of the report the tags keep."""
    if report.snapshot_id is None:
        raise ValueError(f"report {report.id} has no backup id, so it cannot be restored from")
    plan = plan_restore(object_records(queued_change_for(c) for c in queued), report_totals,
                        allow_whole_type=allow_whole_type, kept=kept, kept_by_tags=kept_by_tags)
    return SessionPlan(
        plan=plan, report=report, snapshot_id=report.snapshot_id,
        names={c.id: c.display_name for c in queued}, actions={c.id: c.action_raw for c in queued},
    )
