"""Planning a restore the careful way: compare the options, estimate them, name missing dependencies.

:class:`PlanBuilder` turns the changes chosen for a restore (:class:`~entrabr_tui.engine.plans.PlanInputs`)
into a :class:`~entrabr_tui.engine.plans.SessionPlan` carrying every option of
:mod:`~entrabr_tui.core.plan_options` and the one chosen. What it reads from the cache:

* per type, the objects of the report a whole-type job would also act on (recoverable, of unknown status, or
  unreadable, and not chosen) — listed exactly;
* objects tagged ``keep`` (the :data:`KeptObjects` hook: triage tags, when the cache has them; none
  otherwise);
* the estimate model: the documented rates, the backup's load skipped when a job already used the backup
  (the report itself did), scaled by ``duration_scale`` and then learnt from the tenant's past recovery jobs
  (their durations by size), and the report's own ratio of link changes to objects;
* the report's deleted objects (restore changes), for the missing dependencies.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime

from entrabr_tui.core.dependencies import Deleted
from entrabr_tui.core.model import JobKind, RecoveryStatus
from entrabr_tui.core.plan_options import Choice, DurationModel, TypeFacts, plan_choices
from entrabr_tui.engine.cache_reader import CacheReader
from entrabr_tui.engine.plans import PlanInputs, SessionPlan
from entrabr_tui.engine.reports import ReportInfo

#: Objects a whole-type option would also revert whose names are looked up (the rest are counted).
SHOWN_NAMES = 200

KeptObjects = Callable[[ReportInfo], Collection[str]]
"""The ids of a report's objects tagged ``keep`` (never reverted by the default option)."""


def no_kept_objects(report: ReportInfo) -> Collection[str]:
    """The hook's default: nothing is tagged ``keep``."""
    return ()


def _seconds(started: datetime | None, completed: datetime | None) -> float:
    if started is None or completed is None:
        return -1.0
    return (completed - started).total_seconds()


class PlanBuilder:
    """Builds the session's restore plans (see the module docstring)."""

    def __init__(self, reader: CacheReader, *, tenant_objects: int | None = None, duration_scale: float = 1.0,
                 kept: KeptObjects = no_kept_objects) -> None:
        self.reader = reader
        self.tenant_objects = tenant_objects
        self.duration_scale = duration_scale
        self.kept = kept

    def model(self, report: ReportInfo) -> DurationModel:
        """The estimate model for restores from ``report``'s backup."""
        records = self.reader.job_records()
        loaded = any(r.job.status is RecoveryStatus.SUCCESSFUL and r.snapshot_id == report.snapshot_id
                     for r in records)
        units = 1.0
        own = next((r.job for r in records if r.job.id == report.id), None)
        if own is not None and own.total_changed_objects:
            units = (own.total_changed_objects + (own.total_changed_links or 0)) / own.total_changed_objects
        past = [((r.job.total_changed_objects or 0) + (r.job.total_changed_links or 0),
                 _seconds(r.job.started, r.job.completed))
                for r in records if r.job.kind is JobKind.RECOVERY
                and r.job.status is RecoveryStatus.SUCCESSFUL and r.job.total_changed_objects is not None]
        base = DurationModel(self.tenant_objects, loaded, self.duration_scale, units)
        return base.refined(past)

    def facts(self, report: ReportInfo, inputs: PlanInputs, kept: Collection[str]) -> dict[str, TypeFacts]:
        """Per type of the plan: its objects in the report, what a whole-type job would also revert, and
        what of it is tagged keep."""
        types = sorted({r[1] for r in inputs.records})
        chosen = {(r[1], r[0]) for r in inputs.records}
        counts = self.reader.object_counts(report.id)
        revertible = self.reader.revertible_objects(report.id, types)
        kept_set = set(kept)
        facts = {}
        for entity_type in types:
            objects = revertible.get(entity_type, [])
            facts[entity_type] = TypeFacts(
                entity_type, counts.get(entity_type, 0),
                tuple(i for i in objects if (entity_type, i) not in chosen),
                tuple(i for i in objects if i in kept_set))
        return facts

    def deleted(self, report: ReportInfo) -> dict[str, Deleted]:
        """The report's objects that are in the deleted items now, by id."""
        return {object_id: Deleted(entity_type, object_id, name)
                for entity_type, object_id, name in self.reader.objects_with_action(report.id, "restore")}

    def plan(self, report: ReportInfo, inputs: PlanInputs, *, strategy: Choice | str | None = None,
             allow_whole_type: bool = True) -> SessionPlan:
        """The plan of ``inputs`` (changes of ``report``): every option, and ``strategy`` chosen (by default
        the fastest that reverts nothing unmarked and nothing tagged keep; by ID without
        ``allow_whole_type``)."""
        if report.snapshot_id is None:
            raise ValueError(f"report {report.id} has no backup id, so it cannot be restored from")
        kept = self.kept(report)
        choices = plan_choices(inputs.records, self.facts(report, inputs, kept), self.model(report),
                               kept_object_ids=kept)
        choice = Choice(strategy) if strategy is not None else (
            choices.default if allow_whole_type else Choice.BY_ID)
        shown = [i for o in choices.options for _, i in (*o.also_reverts[:SHOWN_NAMES], *o.reverts_kept)]
        names = {**self.reader.display_names(shown, report.id), **inputs.names} if shown else inputs.names
        plan = SessionPlan(
            plan=choices.option(choice).plan, report=report, snapshot_id=report.snapshot_id,
            names=names, actions=inputs.actions, reviewed=inputs.reviewed, choices=choices,
            checked=tuple(inputs.checked), deleted=self.deleted(report),
        )
        return plan.with_choice(choice)
