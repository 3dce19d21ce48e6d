"""Snapshot tests (pytest-textual-snapshot) at 100×30 on the seeded test tenant.

Update after a deliberate change with ``pytest tests/ui/test_snapshots.py --snapshot-update`` and check the
report first. The SVGs live in ``tests/ui/__snapshots__/``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from entrabr_tui.ui.app import EntrabrApp

from .conftest import SIZE, factory_for, settle
from .fake_backend import NOW, FakeBackend, build_changes, lockout_policy
from .pilot_helpers import open_group

Compare = Callable[..., bool]
Steps = Callable[[Pilot[Any]], Awaitable[None]]


@pytest.fixture(autouse=True)
def same_home(monkeypatch: pytest.MonkeyPatch) -> None:
    """The help screen names the config file: the same path on every run (the fake backend writes nothing)."""
    monkeypatch.setenv("ENTRABR_HOME", "/home/admin/.entrabr")


def make_app(role: str = "admin") -> EntrabrApp:
    return EntrabrApp(factory_for(FakeBackend(role=role)), clock=lambda: NOW)


def lockout_app(role: str = "admin") -> EntrabrApp:
    """A tenant whose queue restores a Conditional Access policy that would cover a break-glass group."""
    backend = FakeBackend(role=role, tenant_changes=[*build_changes(), lockout_policy()],
                          break_glass_groups=("g-bg",))
    return EntrabrApp(factory_for(backend), clock=lambda: NOW)


def steps(*keys: str, group: tuple[str, str] | None = None, after: tuple[str, ...] = (),
          quiet: bool = False) -> Steps:
    async def run(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        if group is not None:
            app = pilot.app
            assert isinstance(app, EntrabrApp)
            await open_group(pilot, app.main.changes, *group)
        await pilot.press(*keys)
        await settle(pilot)
        if after:
            await pilot.press(*after)
            await settle(pilot)
        if quiet:  # the toasts of the steps would cover the panes
            pilot.app.clear_notifications()
            await pilot.pause()

    return run


NARROW, WIDE = (80, 24), (120, 40)


@pytest.mark.parametrize(
    ("name", "role", "run", "size"),
    [
        pytest.param("main", "admin", steps(group=("user", "update"), after=("j", "space", "space")), SIZE,
                     id="main-admin-run"),
        pytest.param("conditional_access_diff", "admin",
                     steps("j", group=("conditionalAccessPolicy", "update")), SIZE,
                     id="conditional_access_diff-admin-run"),
        # Six users of one type queued, the rest of it not: the options side by side.
        pytest.param("plan_comparison", "admin",
                     steps("j", "space", "space", "space", "space", "space", "space", "r",
                           group=("user", "update")), SIZE, id="plan_comparison-admin-run"),
        pytest.param("restore_confirm", "admin",
                     steps("j", "space", "space", "r", group=("user", "update"), after=("enter",)),
                     SIZE, id="restore_confirm-admin-run"),
        # A restore first, so the history shows a recovery job and the session log.
        pytest.param("history", "admin",
                     steps("j", "space", "space", "r", group=("user", "update"),
                           after=("enter", "y", "escape", "H")),
                     SIZE, id="history-admin-run"),
        pytest.param("help", "admin", steps("question_mark"), SIZE, id="help-admin-run"),
        # The queued policy would newly apply to the break-glass group: its name must be typed.
        pytest.param("lockout_warning", "admin",
                     steps("j", "space", "r", group=("conditionalAccessPolicy", "update"),
                           after=("enter", "y")),
                     SIZE, id="lockout_warning-admin-run"),
        pytest.param("read_only_banner", "reader", steps(), SIZE, id="read_only_banner-reader-run"),
        # The diff of a Conditional Access policy and of a group with members, at 80×24 and 120×40.
        pytest.param("conditional_access_diff_narrow", "admin",
                     steps("j", "3", group=("conditionalAccessPolicy", "update")), NARROW,
                     id="conditional_access_diff_narrow-admin-run"),
        pytest.param("conditional_access_diff_wide", "admin",
                     steps("j", "3", group=("conditionalAccessPolicy", "update")), WIDE,
                     id="conditional_access_diff_wide-admin-run"),
        pytest.param("group_members_diff_narrow", "admin", steps("j", "3", group=("group", "update")), NARROW,
                     id="group_members_diff_narrow-admin-run"),
        pytest.param("group_members_diff_wide", "admin", steps("j", "3", group=("group", "update")), WIDE,
                     id="group_members_diff_wide-admin-run"),
        # Who changed it: grouped by actor, the incident's app opened to its operations and first objects.
        pytest.param("actor_grouping", "admin",
                     steps("2", "b", after=("enter", "j", "enter", "j"), quiet=True), SIZE,
                     id="actor_grouping-admin-run"),
        # Grouped by cluster: alike changes together, the largest queued in one key, one tagged keep.
        pytest.param("cluster_view", "admin",
                     steps("2", "b", "b", after=("T", "k", "j", "m", "enter", "j"), quiet=True), SIZE,
                     id="cluster_view-admin-run"),
        # What the report cannot show or a restore will not fix, and the purge clock.
        pytest.param("not_in_report_lens", "admin", steps("L"), SIZE, id="not_in_report_lens-admin-run"),
        # Two backups compared: A picked with x in pane 1, B with x again; a changed user, A beside B.
        pytest.param("compare_view", "admin",
                     steps("1", "j", "x", "k", "x", after=("j", "enter", "j"), quiet=True), WIDE,
                     id="compare_view-admin-run"),
    ],
)
def test_snapshot(snap_compare: Compare, name: str, role: str, run: Steps, size: tuple[int, int]) -> None:
    app = lockout_app(role) if name == "lockout_warning" else make_app(role)
    assert snap_compare(app, terminal_size=size, run_before=run)
