"""The checks around a restore: staleness before, lockout before and after, verification after.

* :meth:`RestoreChecks.recheck` — just before a restore is applied, fresh previews scoped to the plan's
  objects (ID previews, or one preview by type: :func:`~entrabr_tui.core.review.recheck_scopes`) on the
  same backup; every object's fingerprint is compared with the one reviewed
  (:func:`~entrabr_tui.core.review.compare_reviewed`): what moved, what now matches the backup, and which
  unreviewed changes a whole-type job would also restore.
* :meth:`RestoreChecks.lockout` — the Conditional Access state the restore would produce (the live policies
  read from Graph, with the backup's values written over them) evaluated for the break-glass accounts and
  groups and the signed-in admin (:mod:`~entrabr_tui.core.lockout`); :meth:`RestoreChecks.lockout_after`
  reads the live policies again once the restore ran and says whether anything newly applies.
* :meth:`RestoreChecks.verify` — after the last batch, previews scoped to the restored objects; what still
  differs is expected residue or "drifted during recovery" (:mod:`~entrabr_tui.core.verification`).

Previews are difference reports like any other (created fresh, downloaded into the cache, their users' and
groups' sync status looked up), so they show in the history and the Backups pane.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from entrabr_tui.core.lockout import (
    LockoutFinding,
    Principal,
    evaluate,
    membership_changes,
    restored_policies,
)
from entrabr_tui.core.model import Change, EntityNameAndIdsFilter, EntityNamesFilter, FilteringCriteria
from entrabr_tui.core.review import (
    ObjectKey,
    Staleness,
    compare_reviewed,
    object_fingerprints,
    recheck_scopes,
)
from entrabr_tui.core.stages import POLICY_TYPES
from entrabr_tui.core.verification import Verification, classify
from entrabr_tui.engine.events import JobProgressCallback
from entrabr_tui.engine.plans import CHECKED_TYPES, SessionPlan
from entrabr_tui.engine.reports import ReportInfo
from entrabr_tui.engine.restore import RestoreResult

EnsureReport = Callable[[str, FilteringCriteria, JobProgressCallback | None], Awaitable[ReportInfo]]
ReadChanges = Callable[[str], Iterator[Change]]
ReadPolicies = Callable[[], Awaitable[list[dict[str, Any]]]]


@dataclass(frozen=True, slots=True)
class Recheck:
    """What the staleness guard found (``skipped``: the admin chose not to recheck)."""

    staleness: Staleness = field(default_factory=Staleness)
    names: Mapping[str, str] = field(default_factory=dict)
    report_ids: tuple[str, ...] = ()
    skipped: bool = False
    checked: tuple[Change, ...] = ()
    """The fresh group, Conditional Access and service principal changes of the plan's objects (the
    lockout guard evaluates what the tenant is now, not what it was at the review)."""

    @property
    def clean(self) -> bool:
        return self.skipped or self.staleness.clean

    @property
    def summary(self) -> str:
        if self.skipped:
            return "The recheck before the restore was skipped."
        return self.staleness.summary

    def _named(self, key: ObjectKey) -> str:
        name = self.names.get(key[1], "")
        return f"{key[0]} {name} ({key[1]})" if name else f"{key[0]} {key[1]}"

    def lines(self, limit: int = 20) -> list[str]:
        """``moved since the review: user Ada (id)`` …, at most ``limit`` per kind."""
        out = []
        for label, keys in (("moved since the review", self.staleness.moved),
                            ("now matches the backup", self.staleness.gone),
                            ("not reviewed, restored by a whole-type job", self.staleness.unreviewed)):
            out += [f"{label}: {self._named(key)}" for key in keys[:limit]]
            if len(keys) > limit:
                out.append(f"{label}: … and {len(keys) - limit:,} more")
        return out

    def to_json(self) -> dict[str, Any]:
        s = self.staleness

        def keys(found: Sequence[ObjectKey]) -> list[dict[str, str]]:
            return [{"entityType": t, "id": i, "displayName": self.names.get(i, "")} for t, i in found]

        return {"skipped": self.skipped, "clean": self.clean, "summary": self.summary,
                "reports": list(self.report_ids), "unchanged": len(s.unchanged), "moved": keys(s.moved),
                "gone": keys(s.gone), "unreviewed": keys(s.unreviewed), "wholeTypes": list(s.whole_types)}


@dataclass(frozen=True, slots=True)
class LockoutCheck:
    """What the lockout guard found, and what it could not know (``note``)."""

    findings: tuple[LockoutFinding, ...] = ()
    principals: tuple[Principal, ...] = ()
    policies: int = 0
    note: str | None = None
    before: Mapping[str, Mapping[str, Any] | None] = field(default_factory=dict)
    """The live policies before the restore (by lower-cased id), for the check after it."""
    after_restore: bool = False

    @property
    def needs_confirmation(self) -> tuple[LockoutFinding, ...]:
        """Findings that need the policy's name typed (a break-glass identity covered, the admin blocked)."""
        return tuple(f for f in self.findings if f.needs_confirmation)

    @property
    def policy_names(self) -> list[str]:
        """The names to type: one per policy with a finding that needs a confirmation."""
        return list(dict.fromkeys(f.policy_name or f.policy_id for f in self.needs_confirmation))

    @property
    def summary(self) -> str:
        when = "After the restore" if self.after_restore else "Lockout check"
        if not self.policies:
            return f"{when}: the restore changes no Conditional Access policy."
        if not self.findings:
            text = (f"{when}: no enforced Conditional Access policy newly applies to "
                    f"{_whom(self.principals)}.")
        else:
            blocking = len(self.needs_confirmation)
            text = (f"{when}: {len(self.findings)} finding{'' if len(self.findings) == 1 else 's'}"
                    + (f", {blocking} needing confirmation" if blocking else "") + ".")
        return text + (f" {self.note}" if self.note else "")

    def to_json(self) -> dict[str, Any]:
        return {"summary": self.summary, "policies": self.policies, "note": self.note,
                "protected": [{"kind": p.kind, "id": p.id, "label": p.label} for p in self.principals],
                "findings": [{"policyId": f.policy_id, "policyName": f.policy_name,
                              "principal": f.principal.id, "label": f.principal.label,
                              "blocks": f.after.blocks,
                              "controls": list(f.after.controls), "conditions": list(f.after.conditions),
                              "needsConfirmation": f.needs_confirmation, "text": f.text}
                             for f in self.findings]}


def _whom(principals: Sequence[Principal]) -> str:
    kinds = list(dict.fromkeys(p.label for p in principals))
    return " or ".join(kinds) if kinds else "anyone checked"


def touches_policies(plan: SessionPlan) -> bool:
    """Whether the plan restores Conditional Access policies or named locations."""
    return any(t.entity_type in POLICY_TYPES for t in plan.plan.types)


def _keys_of(scope: FilteringCriteria | None) -> list[ObjectKey]:
    if isinstance(scope, EntityNameAndIdsFilter):
        return [(t, i) for t, ids in scope.values for i in ids]
    return []


class RestoreChecks:
    """Runs the checks around a restore (see the module docstring) with the session's report machinery."""

    def __init__(self, ensure_report: EnsureReport, read_changes: ReadChanges,
                 read_policies: ReadPolicies | None) -> None:
        self._ensure_report = ensure_report
        self._read_changes = read_changes
        self._read_policies = read_policies

    async def _previews(self, snapshot_id: str, keys: Iterable[ObjectKey], whole_types: Iterable[str],
                        progress: JobProgressCallback | None) -> tuple[list[Change], tuple[str, ...]]:
        """Run the previews covering ``keys`` and ``whole_types``; their changes and the reports' ids."""
        changes: list[Change] = []
        reports: list[str] = []
        for scope in recheck_scopes(keys, whole_types):
            info = await self._ensure_report(snapshot_id, scope, progress)
            reports.append(info.id)
            changes.extend(await asyncio.to_thread(self._all_changes, info.id))
        return changes, tuple(reports)

    def _all_changes(self, ref: str) -> list[Change]:
        return list(self._read_changes(ref))

    async def recheck(self, plan: SessionPlan, progress: JobProgressCallback | None = None) -> Recheck:
        """Compare the live tenant with what was reviewed, for every object of ``plan``."""
        assert plan.snapshot_id is not None
        whole = plan.plan.summary.whole_types
        keys = [(t.entity_type, i) for t in plan.plan.types for i in t.ids]
        fresh, reports = await self._previews(plan.snapshot_id, keys, whole, progress)
        fingerprints = await asyncio.to_thread(object_fingerprints, fresh)
        reviewed = {key: plan.reviewed.get(key, "") for key in keys}
        names = dict(plan.names)
        for change in fresh:
            names.setdefault(change.id, change.display_name)
        wanted = set(keys)
        checked = tuple(c for c in fresh if c.entity_type_raw in CHECKED_TYPES
                        and ((c.entity_type_raw, c.id) in wanted or c.entity_type_raw in whole))
        return Recheck(compare_reviewed(reviewed, fingerprints, whole), names, reports, checked=checked)

    async def verify(self, plan: SessionPlan, result: RestoreResult,
                     progress: JobProgressCallback | None = None) -> Verification:
        """What a fresh preview of the restored objects still finds: expected residue, or drift."""
        ran = [b for b in result.batches if b.job is not None]
        if not ran:
            return Verification(0, skipped=True)
        keys: list[ObjectKey] = []
        whole: list[str] = []
        for batch in ran:
            if isinstance(batch.scope, EntityNamesFilter):
                whole.extend(batch.scope.entity_types)
            keys.extend(_keys_of(batch.scope))
        keys += [(t.entity_type, i) for t in plan.plan.types if t.entity_type in whole for i in t.ids]
        snapshot_id = result.snapshot_id
        fresh, _ = await self._previews(snapshot_id, keys, whole, progress)
        restored = set(keys) | {(c.entity_type_raw, c.id) for c in fresh if c.entity_type_raw in whole}
        failed = {c.id for c in result.failed}
        return await asyncio.to_thread(classify, fresh, restored, failed, plan.reviewed)

    async def live_policies(self) -> tuple[dict[str, dict[str, Any]] | None, str | None]:
        """The live Conditional Access policies by lower-cased id, or ``None`` and why they could not be
        read."""
        from entrabr_tui.graph.errors import GraphError

        if self._read_policies is None:
            return None, "The live policies could not be read (offline)."
        try:
            policies = await self._read_policies()
        except GraphError as exc:
            return None, (f"The live policies could not be read ({exc}); the check used only the values the "
                          "report shows, taking what it does not show as applying to everyone.")
        return {str(p.get("id", "")).lower(): p for p in policies if isinstance(p, dict)}, None

    async def lockout(self, plan: SessionPlan, principals: Sequence[Principal],
                      note: str | None = None) -> LockoutCheck:
        """The Conditional Access state the plan would produce, evaluated for ``principals``."""
        changes = list(plan.checked)
        policies = [c for c in changes if c.entity_type_raw == "conditionalAccessPolicy"]
        memberships = membership_changes(changes, [p.id for p in principals])
        moved = bool(memberships.added or memberships.removed)
        if not policies and not moved:
            return LockoutCheck((), tuple(principals), 0, note)
        live, problem = await self.live_policies()
        before, after = restored_policies(policies, live)
        if live:  # every policy counts where the restore changes a protected identity's groups
            before, after = {**live, **before}, {**live, **after}
        findings = evaluate(before, after, principals, memberships)
        notes = " ".join(n for n in (note, problem) if n) or None
        return LockoutCheck(tuple(findings), tuple(principals), max(len(policies), int(moved)), notes,
                            dict(before))

    async def lockout_after(self, check: LockoutCheck) -> LockoutCheck:
        """Read the live policies again after the restore: does an enforced policy newly apply?"""
        live, problem = await self.live_policies()
        if live is None:
            return LockoutCheck((), check.principals, check.policies, problem, check.before,
                                after_restore=True)
        findings = evaluate(check.before, live, check.principals)
        return LockoutCheck(tuple(findings), check.principals, check.policies, check.note, live,
                            after_restore=True)
