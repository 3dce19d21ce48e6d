"""The checks and guards around a restore, for one tenant session.

:class:`RestoreSafety` is the session's collaborator for everything a careful restore does besides running
its jobs: the one-key fix of missing dependencies, the staleness guard before a restore (and the admin's
answer to it), the lockout guard before and after, the verification after the last batch, the tenant's
break-glass settings, and reviewed plan files (four eyes). Each step is written to the session history.
The work itself is done by :class:`~entrabr_tui.engine.restore_checks.RestoreChecks` and
:class:`~entrabr_tui.engine.plan_file.ReviewedPlans`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from entrabr_tui.core.capabilities import ADMINISTRATOR_ROLE_ID, GLOBAL_ADMINISTRATOR_ROLE_ID, BackupRole
from entrabr_tui.core.dependencies import Deleted, fixes
from entrabr_tui.core.lockout import Principal, admin_principal, break_glass_principals
from entrabr_tui.core.verification import Verification
from entrabr_tui.engine.errors import EngineError, PlanRefusedError
from entrabr_tui.engine.events import JobProgressCallback
from entrabr_tui.engine.plan_file import ReviewedPlans
from entrabr_tui.engine.plans import SessionPlan
from entrabr_tui.engine.restore import RestoreResult
from entrabr_tui.engine.restore_checks import LockoutCheck, Recheck, RestoreChecks, touches_policies
from entrabr_tui.engine.session_log import AppAction, SessionLog
from entrabr_tui.graph.errors import GraphError
from entrabr_tui.store import HistoryAction
from entrabr_tui.store.config import RestoreGuards, set_restore_guards, update_config

if TYPE_CHECKING:
    from entrabr_tui.engine.session import Session


def reviewed_by(plan: SessionPlan) -> str:
    """``reviewed by ann@contoso at 2026-07-28 09:30Z`` for a plan read from a reviewed plan file."""
    reviewed = plan.reviewed_plan
    if reviewed is None:
        return ""
    return f"reviewed by {reviewed.reviewer} at {reviewed.reviewed_at:%Y-%m-%d %H:%MZ}"


class RestoreSafety:
    """The checks and guards around a session's restores (see the module docstring)."""

    def __init__(self, session: Session, log: SessionLog, guards: RestoreGuards, checks: RestoreChecks,
                 reviewed_plans: ReviewedPlans) -> None:
        self._session = session
        self._log = log
        self.guards = guards
        self._checks = checks
        self._reviewed_plans = reviewed_plans
        self.profile: str | None = session.settings.profile
        self.config_path: Path | None = session.settings.config_path

    def configure(self, guards: RestoreGuards, *, profile: str | None = None,
                  config_path: Path | None = None) -> None:
        """Use ``guards`` (read from the config, with command-line additions) and save changes to the named
        profile of the config file at ``config_path`` (``None``: the tenant's profile, the default file)."""
        self.guards = guards
        self.profile = profile
        self.config_path = config_path

    def dependency_fixes(self, plan: SessionPlan) -> list[Deleted]:
        """The objects to queue so that the plan's missing dependencies are restored too."""
        return fixes(plan.dependencies)

    def queue_dependencies(self, plan: SessionPlan) -> int:
        """The one-key fix: queue the objects the plan's missing dependencies name (in the report the plan
        was made from); returns how many were queued."""
        found = self.dependency_fixes(plan)
        if not found or plan.report is None:
            return 0
        before = len(self._session.marked(plan.report.id))
        self._session.mark(plan.report.id, [d.id for d in found])
        return len(self._session.marked(plan.report.id)) - before

    async def recheck(self, plan: SessionPlan, progress: JobProgressCallback | None = None) -> Recheck:
        """The staleness guard: fresh previews of the plan's objects on the same backup, compared with what
        was reviewed (see :mod:`~entrabr_tui.engine.restore_checks`); written to the history."""
        recheck = await self._checks.recheck(plan, progress)
        staleness = recheck.staleness
        self._log.write(HistoryAction.RESTORE_RECHECKED, snapshot_id=plan.snapshot_id,
                        job_id=plan.tenant_report_id, outcome="clean" if recheck.clean else "moved",
                        detail=recheck.summary,
                        object_ids=[i for _, i in (*staleness.moved, *staleness.gone, *staleness.unreviewed)],
                        counts={"unchanged": len(staleness.unchanged), "moved": len(staleness.moved),
                               "gone": len(staleness.gone), "unreviewed": len(staleness.unreviewed)})
        return recheck

    def skip_recheck(self, plan: SessionPlan) -> Recheck:
        """Record that the staleness guard was skipped on purpose (``--no-recheck``, the dialog's choice)."""
        self._log.write(HistoryAction.RESTORE_RECHECKED, snapshot_id=plan.snapshot_id,
                        job_id=plan.tenant_report_id, outcome="skipped",
                        detail="the recheck before the restore was skipped by choice")
        return Recheck(skipped=True)

    def settle_recheck(self, plan: SessionPlan, recheck: Recheck, choice: str) -> SessionPlan | None:
        """Act on the admin's answer to a recheck and record it: ``accept`` (restore as planned, with the
        fresh policy and group changes for the lockout check), ``drop`` (leave out what moved or now matches
        the backup, and scope by ID the types whose whole-type job would restore unreviewed changes) or
        ``back`` (``None``: nothing is restored)."""
        if choice not in ("accept", "drop", "back"):
            raise ValueError(f"unknown choice {choice!r}")
        self._log.write(HistoryAction.RESTORE_RECHECKED, snapshot_id=plan.snapshot_id,
                        job_id=plan.tenant_report_id, detail=recheck.summary,
                        outcome={"accept": "accepted", "drop": "dropped", "back": "went back"}[choice])
        if choice == "back":
            return None
        if recheck.checked:
            plan = replace(plan, checked=recheck.checked)
        if choice == "accept":
            return plan
        staleness = recheck.staleness
        types = sorted({t for t, _ in staleness.unreviewed})
        return plan.without([*staleness.moved, *staleness.gone], by_id_types=types)

    def break_glass_wanted(self, plan: SessionPlan) -> bool:
        """Whether to ask for the tenant's break-glass accounts now: the plan touches policies and they were
        never asked for (nor configured)."""
        return touches_policies(plan) and not self.guards.configured and not self.guards.asked

    def protected_identities(self) -> list[Principal]:
        """The identities the lockout guard protects: the configured break-glass accounts and groups, and
        the signed-in admin."""
        guards = self.guards
        names = self._session.display_names([*guards.break_glass_users, *guards.break_glass_groups]) \
            if guards.configured and self._session.reports() else {}
        found = break_glass_principals(guards.break_glass_users, guards.break_glass_groups, names)
        identity = self._session.capabilities.identity
        if identity.object_id:
            role = self._session.capabilities.role
            roles = {BackupRole.GLOBAL_ADMINISTRATOR: [GLOBAL_ADMINISTRATOR_ROLE_ID],
                     BackupRole.ADMINISTRATOR: [ADMINISTRATOR_ROLE_ID]}.get(role, [])
            found.append(admin_principal(identity.object_id, roles, identity.display))
        return found

    async def lockout_check(self, plan: SessionPlan) -> LockoutCheck:
        """The lockout guard: would the plan make an enforced Conditional Access policy newly apply to a
        break-glass identity, or block the signed-in admin? (Evaluated on the live policies with the
        backup's values written over them; recorded in the history.)"""
        note = None
        if touches_policies(plan) and not self.guards.configured:
            note = ("No break-glass accounts or groups are configured for this tenant: only the signed-in "
                    "admin was checked.")
        if not plan.checked and plan.report is not None:
            ids = [i for t in plan.plan.types if t.entity_type in ("conditionalAccessPolicy", "group")
                   for i in t.ids]
            plan = replace(plan, checked=tuple(self._session.changes(plan.report.id, ids)))
        check = await self._checks.lockout(plan, self.protected_identities(), note)
        if check.policies:
            self._log.write(HistoryAction.LOCKOUT_CHECKED, snapshot_id=plan.snapshot_id,
                            outcome="findings" if check.findings else "clear", detail=check.summary,
                            counts={"findings": len(check.findings),
                                    "needConfirmation": len(check.needs_confirmation)})
        return check

    def confirm_lockout(self, check: LockoutCheck, typed: Sequence[str]) -> bool:
        """Whether ``typed`` names every policy the check needs confirmed (exactly, ignoring surrounding
        spaces); a confirmation is recorded in the history."""
        wanted = check.policy_names
        given = {t.strip() for t in typed}
        confirmed = all(name.strip() in given for name in wanted)
        if wanted:
            self._log.write(HistoryAction.LOCKOUT_CHECKED,
                            outcome="confirmed" if confirmed else "not confirmed",
                            detail="typed: " + "; ".join(wanted) if confirmed else check.summary)
        return confirmed

    async def lockout_after(self, check: LockoutCheck) -> LockoutCheck:
        """The lockout check again once the restore ran (the live policies read again); recorded."""
        after = await self._checks.lockout_after(check)
        self._log.write(HistoryAction.LOCKOUT_CHECKED, outcome="after: findings" if after.findings else
                        "after: clear", detail=after.summary, counts={"findings": len(after.findings)})
        return after

    async def verify_restore(self, plan: SessionPlan, result: RestoreResult,
                             progress: JobProgressCallback | None = None) -> Verification:
        """After the last batch: previews scoped to the restored objects; what still differs is expected
        residue (failed, not recoverable, synced) or drifted during recovery. Recorded in the history."""
        try:
            verification = await self._checks.verify(plan, result, progress)
        except (GraphError, EngineError) as exc:
            verification = Verification(0, error=str(exc))
        self._log.write(HistoryAction.RESTORE_VERIFIED, snapshot_id=result.snapshot_id,
                        job_id=plan.tenant_report_id, outcome=verification.verdict.value,
                        detail=verification.summary, object_ids=[i.id for i in verification.drifted],
                        counts={"checked": verification.checked, "drifted": len(verification.drifted),
                                "expected": len(verification.expected)})
        return verification

    def skip_verify(self, result: RestoreResult) -> Verification:
        """Record that the verification after a restore was skipped on purpose."""
        self._log.write(HistoryAction.RESTORE_VERIFIED, snapshot_id=result.snapshot_id, outcome="skipped",
                        detail="the verification after the restore was skipped by choice")
        return Verification(0, skipped=True)

    # -- restore guards and reviewed plans ---------------------------------------------------------------

    def set_break_glass(self, users: Sequence[str], groups: Sequence[str]) -> None:
        """Save the tenant's break-glass accounts and groups (asked once, on the first restore that touches
        policies; an empty answer is saved too, so it is not asked again) in the config file."""

        def clean(ids: Sequence[str]) -> tuple[str, ...]:
            return tuple(dict.fromkeys(i.strip() for i in ids if i.strip()))

        guards = replace(self.guards, break_glass_users=clean(users), break_glass_groups=clean(groups),
                         asked=True)
        tenant, profile = self._session.tenant, self.profile
        update_config(lambda config: set_restore_guards(config, tenant, guards, profile), self.config_path)
        self.guards = guards
        self._log.write(AppAction.BREAK_GLASS_SET, detail=f"{len(guards.break_glass_users)} account(s), "
                        f"{len(guards.break_glass_groups)} group(s)")

    def export_plan(self, plan: SessionPlan, path: Path, *, replace_file: bool = False) -> str:
        """Write ``plan`` as a reviewed plan file for a second person to apply; returns its content hash."""
        reviewed = self._reviewed_plans.write(plan, path, self._session.clock(), replace=replace_file)
        digest = reviewed.document()["contentSha256"]
        self._log.write(HistoryAction.PLAN_EXPORTED, snapshot_id=plan.snapshot_id,
                        job_id=plan.tenant_report_id, object_ids=plan.ids,
                        detail=f"reviewed plan written to {path} (sha256 {digest})",
                        counts={"objects": len(reviewed.items), "jobs": len(reviewed.jobs)})
        return str(digest)

    async def open_plan(self, path: Path) -> SessionPlan:
        """Read a reviewed plan file and check it (hash, tenant, backup, second person: see
        :mod:`~entrabr_tui.engine.plan_file`); a refusal is recorded and raised
        (:class:`~entrabr_tui.engine.errors.PlanRefusedError`)."""
        try:
            plan = await self._reviewed_plans.read(path, self._session.report)
        except PlanRefusedError as exc:
            self._log.write(HistoryAction.PLAN_APPLIED, outcome=f"refused: {exc.reason.value}",
                            detail=f"{path}: {exc.message}")
            raise
        reviewed = plan.reviewed_plan
        assert reviewed is not None
        self._log.write(HistoryAction.PLAN_APPLIED, snapshot_id=plan.snapshot_id,
                        job_id=plan.tenant_report_id, outcome="opened", object_ids=plan.ids,
                        detail=f"{path}: {reviewed_by(plan)}, opened by {self._session.identity}")
        return plan
