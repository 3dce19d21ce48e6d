"""Restoring without making it worse, through the emulator: the staleness guard, plans with alternatives and
estimates, dependency stages, batches the service refuses as too large, the lockout guard, verification
after the restore, and reviewed plan files applied by a second person."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from entrabr_tui import engine
from entrabr_tui.core.model import (
    EntityNameAndIdsFilter,
    EntityNamesFilter,
    Job,
    JobKind,
    format_datetime,
)
from entrabr_tui.core.plan_options import Choice
from entrabr_tui.core.recoverability import Recoverable
from entrabr_tui.core.verification import Residue, VerifyOutcome
from entrabr_tui.emulator import EmulatorServer
from entrabr_tui.engine import Session
from entrabr_tui.engine.errors import PlanRefusal, PlanRefusedError
from entrabr_tui.engine.events import RestoreProgress
from entrabr_tui.engine.reports import ReportInfo
from entrabr_tui.store import HistoryAction, StorePaths
from entrabr_tui.store.config import RestoreGuards, load_config

from .conftest import Sleeper, control, settings_for

OpenSession = Callable[..., Awaitable[Session]]


def edit(server: EmulatorServer, object_id: str, **properties: Any) -> dict[str, Any]:
    """Change a live object through the emulator's control plane (as a colleague would in the portal)."""
    return control(server, f"tenant/objects/{object_id}", {"properties": properties})


async def queued_users(session: Session, count: int | None = None) -> tuple[ReportInfo, list[str]]:
    snapshot = await session.resolve_snapshot("latest")
    report = await session.ensure_report(snapshot, None)
    rows = session.page(report.id, "user", "update", limit=10_000)
    ids = [r.object_id for r in rows if r.recoverable][:count]
    session.mark(report.id, ids)
    return report, ids


# -- the staleness guard ---------------------------------------------------------------------------------

async def test_an_object_changed_between_review_and_apply_is_caught_and_can_be_dropped(
        emulator: EmulatorServer, open_session: OpenSession) -> None:
    session = await open_session()
    _, ids = await queued_users(session, 5)
    plan = session.plan()
    assert plan.reviewed and set(plan.reviewed) == {("user", i) for i in ids}
    edit(emulator, ids[1], jobTitle="Changed by a colleague after the review")

    recheck = await session.recheck(plan)

    assert recheck.staleness.moved == (("user", ids[1]),) and not recheck.clean
    assert len(recheck.staleness.unchanged) == 4 and recheck.report_ids
    lines = recheck.lines()
    assert any(line.startswith("moved since the review: user ") and ids[1] in line for line in lines)
    dropped = session.settle_recheck(plan, recheck, "drop")
    assert dropped is not None and ids[1] not in dropped.ids and len(dropped.ids) == 4
    assert session.settle_recheck(plan, recheck, "back") is None
    outcomes = [e.outcome for e in session.history(actions=[HistoryAction.RESTORE_RECHECKED])]
    assert outcomes == ["went back", "dropped", "moved"]
    assert session.skip_recheck(plan).skipped
    assert session.history(actions=[HistoryAction.RESTORE_RECHECKED])[0].outcome == "skipped"


async def test_a_whole_type_plan_lists_what_else_it_reverts_and_the_default_avoids_it(
        emulator: EmulatorServer, open_session: OpenSession) -> None:
    session = await open_session()
    report, ids = await queued_users(session)
    unmarked = ids[-1]
    session.unmark(report.id, [unmarked])
    plan = session.plan()
    assert plan.choices is not None
    whole = plan.choices.option(Choice.WHOLE_TYPES)
    assert ("user", unmarked) in whole.also_reverts and not whole.safe
    assert plan.choice is not Choice.WHOLE_TYPES and "user" not in plan.plan.summary.whole_types
    assert all(o.safe for o in plan.choices.options if o.choice is plan.choice)
    # Applied as whole types anyway, the recheck names unreviewed changes the job would also restore.
    forced = plan.with_choice(Choice.WHOLE_TYPES)
    assert forced.plan.batches[0] == EntityNamesFilter(("user",))
    recheck = await session.recheck(forced)
    assert ("user", unmarked) in recheck.staleness.unreviewed
    dropped = session.settle_recheck(forced, recheck, "drop")
    assert dropped is not None and not dropped.plan.summary.whole_types


@pytest.mark.parametrize("emulator", [{"drift": 300}], indirect=True)
async def test_the_queue_is_restored_in_stages_and_a_refused_batch_is_halved(
        emulator: EmulatorServer, open_session: OpenSession) -> None:
    session = await open_session()
    snapshot = await session.resolve_snapshot("latest")
    report = await session.ensure_report(snapshot, None)
    session.mark_where(report.id, entity_type="user", recoverable=Recoverable.YES)
    session.mark_where(report.id, entity_type="group", recoverable=Recoverable.YES)
    plan = session.plan(allow_whole_type=False)
    stages = [stage.title for stage, _ in plan.plan.stages]
    assert stages == ["users", "groups"]
    users = sum(len(t.ids) for t in plan.plan.types if t.entity_type == "user")
    assert plan.batch_count == -(-users // 100) + 1
    control(emulator, "faults", {"kind": "batch-limit", "max_ids": 60})
    events: list[RestoreProgress] = []

    result = await session.restore(plan, events.append)

    assert result.complete, result.summary
    sizes = [b.scope.id_count for b in result.batches if isinstance(b.scope, EntityNameAndIdsFilter)]
    assert max(sizes) <= 60 and sum(sizes) == len(plan.ids)
    assert len(result.batches) > plan.batch_count
    assert any("refused 100 IDs in one job as too many" in e.text for e in events)
    run = session.cache.runs.get(result.run_id)
    assert run is not None and run.batch_count == len(result.batches)
    submitted = session.history(actions=[HistoryAction.RESTORE_SUBMITTED])
    assert len(submitted) == len(result.batches)
    # The groups' stage ran after every user batch.
    kinds = [b.scope.values[0][0] for b in result.batches if isinstance(b.scope, EntityNameAndIdsFilter)]
    assert kinds == sorted(kinds, key=lambda t: t != "user")


async def test_estimates_learn_from_the_tenants_own_jobs(open_session: OpenSession) -> None:
    session = await open_session()
    report, _ = await queued_users(session, 10)
    documented = session.plans.model(report)
    assert documented.backup_loaded and documented.load == 0 and documented.learnt_from == 0
    start = session.clock()
    for n, (changes, minutes) in enumerate(((100, 30), (100, 40), (200, 50))):
        job = Job.from_json({"id": f"past-{n}", "status": "successful", "totalObjectsModified": changes,
                             "totalChangedObjectsCalculated": changes, "totalChangedLinksCalculated": 0,
                             "jobStartDateTime": format_datetime(start),
                             "jobCompletionDateTime": format_datetime(start + timedelta(minutes=minutes))},
                            JobKind.RECOVERY)
        session.cache.jobs.upsert(job, snapshot_id=report.snapshot_id, now=start)
    learnt = session.plans.model(report)
    assert learnt.learnt_from == 3 and learnt.factor > 1 and "learnt from 3 past jobs" in learnt.basis
    plan = session.plan()
    assert plan.choices is not None and plan.choices.model.learnt_from == 3
    assert plan.choices.chosen.estimate.seconds > documented.job_seconds(10)


async def test_a_thousand_queued_users_are_ten_batches_with_an_estimate(
        emulator: EmulatorServer, open_session: OpenSession) -> None:
    session = await open_session()
    users = [{"id": str(uuid.UUID(int=i + 1)), "entityTypeName": "user", "recoveryAction": "update",
              "displayName": f"User {i:04d}",
              "deltaFromCurrent": {"@odata.type": "#microsoft.graph.user", "jobTitle": "Engineer"},
              "currentState": {"@odata.type": "#microsoft.graph.user", "jobTitle": "Intruder",
                               "onPremisesSyncEnabled": False}} for i in range(1000)]
    control(emulator, "changes-override", {"changes": users})
    report = await session.ensure_report(await session.resolve_snapshot("latest"), None, fresh=True)
    session.mark_where(report.id)
    plan = session.plan(allow_whole_type=False)
    assert plan.batch_count == 10
    assert plan.choices is not None
    option = plan.choices.option(Choice.BY_ID)
    assert option.estimate.jobs == 10 and option.estimate.seconds > 0
    text = option.line(session.clock().astimezone())
    assert text.startswith("By object ID: 10 jobs · ~") and "ends ≈ " in text and "local" in text


# -- the lockout guard -----------------------------------------------------------------------------------

def _live_policy(server: EmulatorServer) -> dict[str, Any]:
    token = server.token("admin")
    response = httpx.get(f"{server.graph_url()}/identity/conditionalAccess/policies",
                         headers={"Authorization": f"Bearer {token}"}, timeout=10)
    response.raise_for_status()
    enforced = [p for p in response.json()["value"] if p["state"] == "enabled"
                and "All" in p["conditions"]["users"]["includeUsers"]
                and p["conditions"]["applications"]["includeApplications"] == ["All"]
                and p["conditions"]["clientAppTypes"] == ["all"] and p["grantControls"]]
    return dict(enforced[0])


def _group_id(server: EmulatorServer) -> str:
    token = server.token("admin")
    response = httpx.get(f"{server.graph_url()}/groups", params={"$top": "3", "$select": "id"},
                         headers={"Authorization": f"Bearer {token}"}, timeout=10)
    return str(response.json()["value"][2]["id"])


async def test_a_policy_restore_that_would_cover_a_break_glass_group_needs_its_name_typed(
        emulator: EmulatorServer, open_session: OpenSession) -> None:
    policy = _live_policy(emulator)
    group = _group_id(emulator)
    users = dict(policy["conditions"]["users"], excludeGroups=[group])
    # The group was exempted from the policy after the backup: restoring the policy takes that back.
    edit(emulator, policy["id"], conditions={**policy["conditions"], "users": users})
    session = await open_session(restore_guards=RestoreGuards(break_glass_groups=(group,)))
    snapshot = await session.resolve_snapshot("latest")
    report = await session.ensure_report(snapshot, None, fresh=True)
    session.mark(report.id, [policy["id"]])
    plan = session.plan()

    check = await session.lockout_check(plan)

    assert check.policy_names == [policy["displayName"]]
    finding = check.needs_confirmation[0]
    assert finding.principal.id == group and finding.principal.label == "break-glass group"
    assert "would newly apply to break-glass group" in finding.text
    assert not session.confirm_lockout(check, ["yes"])
    assert session.confirm_lockout(check, [f"  {policy['displayName']} "])
    outcomes = [e.outcome for e in session.history(actions=[HistoryAction.LOCKOUT_CHECKED])]
    assert outcomes == ["confirmed", "not confirmed", "findings"]
    result = await session.restore(plan)
    assert result.complete
    after = await session.lockout_after(check)
    assert after.after_restore and [f.principal.id for f in after.findings] == [group]
    assert after.summary.startswith("After the restore: 1 finding")


async def test_no_break_glass_configured_checks_only_the_admin(open_session: OpenSession) -> None:
    session = await open_session()
    snapshot = await session.resolve_snapshot("latest")
    report = await session.ensure_report(snapshot, None)
    session.mark_where(report.id, entity_type="conditionalAccessPolicy")
    check = await session.lockout_check(session.plan())
    assert check.note is not None and "only the signed-in admin" in check.note
    assert [p.label for p in check.principals] == ["you (the signed-in admin)"]


async def test_break_glass_settings_are_saved_once_in_the_config(
        open_session: OpenSession, paths: StorePaths) -> None:
    session = await open_session()
    assert not session.guards.asked
    session.set_break_glass(["bg-1", " bg-2 ", ""], [])
    assert session.guards.break_glass_users == ("bg-1", "bg-2") and session.guards.asked
    config = load_config(paths.config_file).config
    table = config.extra["tenants"][session.tenant]
    assert table["break_glass_users"] == ["bg-1", "bg-2"] and table["break_glass_asked"] is True


# -- verification ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("emulator", [{"drift": 300}], indirect=True)
async def test_verification_flags_an_object_changed_during_the_recovery(
        emulator: EmulatorServer, open_session: OpenSession) -> None:
    session = await open_session()
    await queued_users(session, 150)
    plan = session.plan(allow_whole_type=False)
    assert plan.batch_count == 2
    first_batch = plan.plan.batches[0]
    assert isinstance(first_batch, EntityNameAndIdsFilter)
    victim = first_batch.values[0][1][3]

    def progress(event: RestoreProgress) -> None:
        if event.batch == 2 and event.phase == "queued":  # batch 1 is done: someone edits one of its users
            edit(emulator, victim, department="Edited while the restore ran")

    result = await session.restore(plan, progress)
    verification = await session.verify_restore(plan, result)

    assert verification.verdict is VerifyOutcome.DRIFT
    assert [(i.id, i.residue) for i in verification.drifted] == [(victim, Residue.DRIFTED)]
    assert verification.drifted[0].detail == "changed after its batch ran"
    assert verification.checked == len(plan.ids)
    entry = session.history(actions=[HistoryAction.RESTORE_VERIFIED])[0]
    assert entry.outcome == "drift found" and victim in entry.object_ids
    again = await session.verify_restore(plan, result)
    assert [i.id for i in again.drifted] == [victim]


# -- four eyes --------------------------------------------------------------------------------------------

async def test_reviewed_plans_are_refused_when_they_must_be_and_applied_by_a_second_person(
        emulator: EmulatorServer, open_session: OpenSession, tmp_path: Path, paths: StorePaths,
        sleeper: Sleeper) -> None:
    reviewer = await open_session("admin")
    _, ids = await queued_users(reviewer, 4)
    plan = reviewer.plan()
    path = tmp_path / "plan.json"
    digest = reviewer.export_plan(plan, path)
    assert len(digest) == 64 and path.stat().st_mode & 0o077 == 0
    guards = RestoreGuards(require_second_person=True)

    # The reviewer may not apply it.
    same = await open_session("admin", restore_guards=guards)
    with pytest.raises(PlanRefusedError) as refused:
        await same.open_plan(path)
    assert refused.value.reason is PlanRefusal.SAME_PERSON

    # A changed byte: tampered.
    tampered = tmp_path / "tampered.json"
    tampered.write_text(path.read_text().replace(ids[0], ids[0][:-1] + ("0" if ids[0][-1] != "0" else "1")))
    second = await open_session("global", restore_guards=guards)
    with pytest.raises(PlanRefusedError) as changed:
        await second.open_plan(tampered)
    assert changed.value.reason is PlanRefusal.TAMPERED

    # The second person applies it: the history shows both names.
    opened = await second.open_plan(path)
    assert opened.reviewed == plan.reviewed and opened.plan.batches == plan.plan.batches
    recheck = await second.recheck(opened)
    assert recheck.clean
    result = await second.restore(opened)
    assert result.complete
    applied = second.history(actions=[HistoryAction.PLAN_APPLIED])
    assert applied[0].outcome == "applying" and applied[0].identity == "global.admin@contoso.example"
    assert "reviewed by backup.admin@contoso.example" in (applied[0].detail or "")

    # Another tenant's session refuses it.
    other = EmulatorServer(seed=12, objects=2000, job_speed=1e6)
    other.start()
    try:
        foreign = await engine.open_session(settings_for(other), paths=paths, sleep=sleeper)
        try:
            with pytest.raises(PlanRefusedError) as tenant:
                await foreign.open_plan(path)
            assert tenant.value.reason is PlanRefusal.OTHER_TENANT
        finally:
            await foreign.aclose()
    finally:
        other.stop()

    # Once the backup has aged out, the plan is refused.
    control(emulator, "advance", {"days": 7})
    with pytest.raises(PlanRefusedError) as gone:
        await second.open_plan(path)
    assert gone.value.reason is PlanRefusal.BACKUP_GONE
