"""Reviewed plan files (four eyes): one person writes the plan they reviewed, another applies it.

:meth:`ReviewedPlans.write` turns a :class:`~entrabr_tui.engine.plans.SessionPlan` into the document of
:mod:`~entrabr_tui.core.reviewed_plan` (tenant, backup and report, every object with the fingerprint of its
reviewed difference, the planner's choices, the reviewer and the time, ``contentSha256``) and writes it the
safe way (a new private file, put in place only once complete).

:meth:`ReviewedPlans.read` refuses, each with its own :class:`~entrabr_tui.engine.errors.PlanRefusal`:

* a file that is not a reviewed plan (``malformed``) or whose content does not match its hash
  (``tampered``);
* a plan of another tenant (``other-tenant``);
* a plan whose backup the service no longer lists (``backup-gone``: backups are kept 5–7 days);
* with ``require_second_person`` in the tenant's settings, a plan the signed-in identity reviewed itself
  (``same-person``).

The plan it returns carries the reviewed fingerprints, so the staleness guard compares the live tenant with
what the *reviewer* saw.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from entrabr_tui.core.plan_options import Choice
from entrabr_tui.core.reviewed_plan import (
    DocumentProblem,
    PlanDocumentError,
    ReviewedPlan,
    items_of,
    read_document,
    same_person,
)
from entrabr_tui.engine.errors import PlanRefusal, PlanRefusedError
from entrabr_tui.engine.export_files import write_text_file
from entrabr_tui.engine.export_records import json_text
from entrabr_tui.engine.plans import SessionPlan
from entrabr_tui.engine.reports import ReportInfo

#: Larger files are refused unread (a plan of 500,000 objects is about 100 MB).
MAX_PLAN_BYTES = 512 * 1024 * 1024

ListBackups = Callable[[], Awaitable[Mapping[str, bool]]]
"""The backups the service lists now: id → expired (kept in the cache but no longer listed)."""


def planner_notes(plan: SessionPlan, now_local: datetime) -> dict[str, Any]:
    """What the planner decided and why, for the reviewed plan document (informative)."""
    notes: dict[str, Any] = {
        "stages": [{"stage": stage.title, "jobs": len(jobs)} for stage, jobs in plan.plan.stages],
        "excluded": [{"entityType": e.entity_type, "reason": str(e.reason), "count": len(e.ids)}
                     for e in plan.exclusions],
        "warnings": plan.warnings,
        "dependencies": [w.text for w in plan.dependencies],
    }
    if plan.choices is not None:
        notes["estimateBasis"] = plan.choices.model.basis
        notes["options"] = [
            {"choice": o.choice.value, "jobs": o.estimate.jobs, "seconds": round(o.estimate.seconds),
             "text": o.line(now_local), "alsoReverts": len(o.also_reverts),
             "revertsKept": len(o.reverts_kept), "safe": o.safe}
            for o in plan.choices.options]
    return notes


class ReviewedPlans:
    """Writes and reads the reviewed plan files of one tenant session (see the module docstring)."""

    def __init__(self, tenant_id: str, identity: Callable[[], str], list_backups: ListBackups,
                 second_person: Callable[[], bool]) -> None:
        self.tenant_id = tenant_id
        self._identity = identity
        self._list_backups = list_backups
        self._second_person = second_person

    def document(self, plan: SessionPlan, now: datetime) -> ReviewedPlan:
        """The reviewed plan of ``plan``, reviewed by the signed-in identity at ``now``."""
        if plan.is_empty or plan.snapshot_id is None:
            raise PlanRefusedError(PlanRefusal.MALFORMED, "The plan is empty: there is nothing to write.")
        choice = plan.choice.value if plan.choice is not None else Choice.BY_ID.value
        return ReviewedPlan(
            tenant_id=self.tenant_id, snapshot_id=plan.snapshot_id, report_job_id=plan.tenant_report_id,
            reviewer=self._identity(), reviewed_at=now,
            items=items_of(plan.plan, plan.reviewed, plan.names, plan.actions), jobs=plan.plan.batches,
            choice=choice, whole_types=plan.plan.summary.whole_types, max_ids=plan.plan.max_ids,
            planner=planner_notes(plan, now.astimezone()))

    def write(self, plan: SessionPlan, path: Path, now: datetime, *, replace: bool = False) -> ReviewedPlan:
        """Write ``plan`` as a reviewed plan file (a new file unless ``replace``); returns the document."""
        reviewed = self.document(plan, now)
        text = json_text(reviewed.document(), indent=True) + "\n"

        def write(handle: Any) -> int:
            handle.write(text)
            return len(reviewed.items)

        write_text_file(path, write, replace=replace)
        return reviewed

    @staticmethod
    def parse(raw: bytes) -> ReviewedPlan:
        """The reviewed plan in a file's bytes (refused as malformed or tampered)."""
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise PlanRefusedError(PlanRefusal.MALFORMED,
                                   f"The plan file is not JSON ({exc}). Nothing was applied.") from None
        try:
            return read_document(doc)
        except PlanDocumentError as exc:
            tampered = exc.problem is DocumentProblem.TAMPERED
            raise PlanRefusedError(PlanRefusal.TAMPERED if tampered else PlanRefusal.MALFORMED,
                                   exc.message) from None

    async def read(self, path: Path, report: Callable[[str], ReportInfo | None]) -> SessionPlan:
        """The plan in ``path``, checked (see the module docstring); ``report(job id)`` finds the cached
        report it was made from, when this cache has it."""
        try:
            if path.stat().st_size > MAX_PLAN_BYTES:
                raise PlanRefusedError(PlanRefusal.MALFORMED, f"{path} is too large to be a plan file.")
            raw = path.read_bytes()
        except OSError as exc:
            raise PlanRefusedError(PlanRefusal.MALFORMED,
                                   f"Cannot read {path}: {exc.strerror or exc}.") from None
        reviewed = self.parse(raw)
        if reviewed.tenant_id.lower() != self.tenant_id.lower():
            raise PlanRefusedError(
                PlanRefusal.OTHER_TENANT,
                f"The plan is for tenant {reviewed.tenant_id}, but this session is signed in to tenant "
                f"{self.tenant_id}. Nothing was applied.")
        backups = await self._list_backups()
        if backups.get(reviewed.snapshot_id, True):
            raise PlanRefusedError(
                PlanRefusal.BACKUP_GONE,
                f"The backup the plan restores from ({reviewed.snapshot_id}) is no longer available (the "
                "service keeps backups for 5–7 days). Nothing was applied; review a plan from a current "
                "backup.")
        applier = self._identity()
        if self._second_person() and same_person(reviewed.reviewer, applier):
            raise PlanRefusedError(
                PlanRefusal.SAME_PERSON,
                f"The plan was reviewed by {reviewed.reviewer}, who is signed in now; this tenant requires a "
                "second person to apply a reviewed plan (require_second_person). Nothing was applied.")
        items = reviewed.items
        source = report(reviewed.report_job_id) if reviewed.report_job_id else None
        return SessionPlan(
            plan=reviewed.restore_plan(), report=source, snapshot_id=reviewed.snapshot_id,
            names={i.id: i.display_name for i in items}, actions={i.id: i.action for i in items},
            reviewed=reviewed.reviewed, reviewed_plan=reviewed,
            choice=Choice(reviewed.choice) if reviewed.choice in Choice._value2member_map_ else None)
