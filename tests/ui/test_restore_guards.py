"""The checks around a restore in the app (Pilot, on the in-memory backend): the plan's options compared,
missing dependencies fixed with one key, the recheck and its answers, the break-glass question asked once,
the lockout warning that needs the policy's name, the verification verdict, restored objects badged in the
tree, and reviewed plan files exported and opened."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Button, Input

from entrabr_tui.core.model import Change, SyncStatus
from entrabr_tui.ui.app import EntrabrApp
from entrabr_tui.ui.screens.dialogs import ExportPathDialog
from entrabr_tui.ui.screens.lockout_dialog import BreakGlassDialog, LockoutWarning
from entrabr_tui.ui.screens.plan_review import PlanFileDialog, PlanReviewScreen
from entrabr_tui.ui.screens.recheck_dialog import RecheckDialog
from entrabr_tui.ui.screens.restore_dialogs import RestoreConfirmDialog, RestoreResultScreen
from entrabr_tui.ui.widgets.change_nodes import ObjectRow

from .conftest import running, settle
from .fake_backend import NOW, FakeBackend, FakeRestoreMark, build_changes, lockout_policy
from .palette import wait_until
from .pilot_helpers import leaves, open_group
from .screen_text import screen_text


def flat(app: EntrabrApp) -> str:
    return " ".join(screen_text(app).split())


async def mark(pilot: Pilot[Any], app: EntrabrApp, entity_type: str, action: str, ids: list[str]) -> None:
    node = await open_group(pilot, app.main.changes, entity_type, action)
    for child in node.children:
        if isinstance(child.data, ObjectRow) and child.data.id in ids:
            app.main.changes.move_cursor(child)
            await pilot.press("space")
    await settle(pilot)


async def restore_through(pilot: Pilot[Any], app: EntrabrApp) -> None:
    """``r``, the plan as proposed, ``y``."""
    await pilot.press("r")
    await settle(pilot)
    assert isinstance(app.screen, PlanReviewScreen)
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(app.screen, RestoreConfirmDialog)
    await pilot.press("y")
    await settle(pilot)


async def test_the_plan_compares_its_options_and_lists_what_whole_types_would_also_revert() -> None:
    backend = FakeBackend(users=40)
    ids = [f"u-{i:05d}" for i in range(0, 40, 5)]  # some of the users' updates, not all
    async with running(backend) as (app, pilot):
        await mark(pilot, app, "user", "update", ids)
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, PlanReviewScreen)
        text = flat(app)
        assert "By object ID (default)" in text and "Whole types" in text and "Best mix" in text
        assert "also reverts" in text and "nothing unmarked" in text and "1 job" in text
        assert "Stages, in order: users (1 job)" in text
        await pilot.press("j")  # whole types: the unmarked changes it would revert, by name
        await settle(pilot)
        text = flat(app)
        assert "would also revert" in text and "not marked" in text and "User 00001" in text
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, PlanReviewScreen) and backend.server_jobs == []


async def test_missing_dependencies_are_queued_with_one_key() -> None:
    group = Change.from_json({
        "id": "g-900", "entityTypeName": "group", "recoveryAction": "update", "displayName": "Finance admins",
        "deltaFromCurrent": {"@odata.type": "#microsoft.graph.group",
                             "members@delta": [{"@odata.type": "#microsoft.graph.user", "id": "u-00003"}]},
        "currentState": {"@odata.type": "#microsoft.graph.group"}}).with_sync(SyncStatus.CLOUD)
    backend = FakeBackend(tenant_changes=[*build_changes(40), group])
    async with running(backend) as (app, pilot):
        await mark(pilot, app, "group", "update", ["g-900"])
        await pilot.press("r")
        await settle(pilot)
        text = flat(app)
        assert "Missing dependencies (1): press d to queue them" in text and "adds back member" in text
        await pilot.press("d")
        await settle(pilot)
        assert "u-00003" in backend.queued
        assert isinstance(app.screen, PlanReviewScreen)
        assert "Missing dependencies" not in flat(app)
        assert "users (1 job) → groups (1 job)" in flat(app)


async def test_the_recheck_shows_what_moved_and_can_leave_it_out() -> None:
    backend = FakeBackend(users=40, moved_ids=frozenset({"u-00000"}))
    async with running(backend) as (app, pilot):
        await mark(pilot, app, "user", "update", ["u-00000", "u-00001"])
        await restore_through(pilot, app)
        assert isinstance(app.screen, RecheckDialog)
        text = flat(app)
        assert "1 of 2 objects moved since the review" in text and "User 00000" in text
        await pilot.press("d")
        await settle(pilot)
        await wait_until(pilot, lambda: isinstance(app.screen, RestoreResultScreen), "the result")
        restored = {i for job in backend.server_jobs for i in [job.id]}
        assert restored == {"rjob-1"}
        left = {c.id for c in backend.tenant_changes}
        assert "u-00000" in left and "u-00001" not in left
        outcomes = [e.outcome for e in backend.log if e.action == "restore-rechecked"]
        assert outcomes[:2] == ["drop", "moved"]


async def test_switching_the_recheck_off_is_recorded() -> None:
    backend = FakeBackend(users=40, moved_ids=frozenset({"u-00000"}))
    async with running(backend) as (app, pilot):
        await mark(pilot, app, "user", "update", ["u-00000"])
        await pilot.press("r")
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        assert "recheck before restoring: OFF (recorded)" in flat(app)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        await wait_until(pilot, lambda: isinstance(app.screen, RestoreResultScreen), "the result")
        assert [e.outcome for e in backend.log if e.action == "restore-rechecked"] == ["skipped"]


async def test_a_policy_restore_asks_for_break_glass_once_and_needs_the_policy_name_typed() -> None:
    backend = FakeBackend(users=40, tenant_changes=[*build_changes(40), lockout_policy()])
    async with running(backend) as (app, pilot):
        await mark(pilot, app, "conditionalAccessPolicy", "update", ["ca-002"])
        await restore_through(pilot, app)
        assert isinstance(app.screen, BreakGlassDialog)
        await pilot.press("tab")
        app.screen.query_one("#break-glass-groups", Input).value = "g-bg"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert backend.break_glass_groups == ("g-bg",) and backend.break_glass_asked
        assert isinstance(app.screen, LockoutWarning)
        text = flat(app)
        assert "Block sign-in from untrusted networks" in text and "break-glass group" in text
        confirm = app.screen.query_one("#confirm", Button)
        await pilot.press(*"Block sign-in", "enter")
        await settle(pilot)
        assert isinstance(app.screen, LockoutWarning) and confirm.disabled  # not the whole name
        await pilot.press("escape")
        await settle(pilot)
        assert backend.server_jobs == []  # blocked until typed
        await restore_through(pilot, app)
        assert isinstance(app.screen, LockoutWarning)  # the break-glass accounts are not asked again
        await pilot.press(*"Block sign-in from untrusted networks")
        await settle(pilot)
        assert not app.screen.query_one("#confirm", Button).disabled
        await pilot.press("enter")
        await settle(pilot)
        await wait_until(pilot, lambda: isinstance(app.screen, RestoreResultScreen), "the result")
        assert next(e.outcome for e in backend.log if e.action == "lockout-checked") == "confirmed"


async def test_the_result_shows_the_verification_verdict() -> None:
    backend = FakeBackend(users=40, drift_ids=frozenset({"u-00001"}))
    async with running(backend) as (app, pilot):
        await mark(pilot, app, "user", "update", ["u-00001", "u-00002"])
        await restore_through(pilot, app)
        await wait_until(pilot, lambda: isinstance(app.screen, RestoreResultScreen), "the result")
        text = flat(app)
        assert "Drift found: 1 of 2 restored objects match the backup" in text
        assert "drifted during recovery: user User 00001 (changed after its batch ran)" in text


async def test_restored_objects_are_badged_and_queuing_one_again_warns() -> None:
    two_hours_ago = NOW - timedelta(hours=2)
    backend = FakeBackend(users=40, restored={"u-00001": FakeRestoreMark("restored", two_hours_ago, "rjob-0"),
                                              "u-00002": FakeRestoreMark("failed", two_hours_ago, "rjob-0")})
    async with running(backend) as (app, pilot):
        node = await open_group(pilot, app.main.changes, "user", "update")
        labels = {child.data.id: str(child.label) for child in node.children
                  if isinstance(child.data, ObjectRow)}
        assert "[restored]" in labels["u-00001"] and "[restore failed]" in labels["u-00002"]
        assert "[restore" not in labels["u-00000"]
        await mark(pilot, app, "user", "update", ["u-00001"])
        assert any(n.title == "Restored recently" for n in app._notifications)
        assert len(leaves(node)) > 0


async def test_a_plan_is_exported_for_a_second_person_and_opened_for_review(tmp_path: Path) -> None:
    backend = FakeBackend(users=40)
    target = tmp_path / "plan.json"
    async with running(backend) as (app, pilot):
        await mark(pilot, app, "user", "update", ["u-00001", "u-00002"])
        restores = app.main.restores
        assert restores is not None
        restores.export_reviewed_plan()
        await wait_until(pilot, lambda: isinstance(app.screen, ExportPathDialog)
                         and bool(app.screen.query(Input)), "the path dialog")
        app.screen.query_one(Input).value = str(target)
        await pilot.press("enter")
        await wait_until(pilot, lambda: target.exists(), "the plan file")
        assert '"contentSha256"' in target.read_text()
        restores.start(from_file=True)
        await wait_until(pilot, lambda: isinstance(app.screen, PlanFileDialog)
                         and bool(app.screen.query(Input)), "the open dialog")
        app.screen.query_one(Input).value = str(target)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, PlanReviewScreen), "the plan review")
        text = flat(app)
        assert "A reviewed plan: reviewed by admin@contoso.example" in text and "2 objects" in text
