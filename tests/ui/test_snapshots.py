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
from .test_changes import open_group

Compare = Callable[..., bool]
Steps = Callable[[Pilot[Any]], Awaitable[None]]


def make_app(role: str = "admin") -> EntrabrApp:
    return EntrabrApp(factory_for(FakeBackend(role=role)), clock=lambda: NOW)


def lockout_app(role: str = "admin") -> EntrabrApp:
    """A tenant whose queue restores a Conditional Access policy that would cover a break-glass group."""
    backend = FakeBackend(role=role, changes=[*build_changes(), lockout_policy()],
                          break_glass_groups=("g-bg",))
    return EntrabrApp(factory_for(backend), clock=lambda: NOW)


def steps(*keys: str, group: tuple[str, str] | None = None, after: tuple[str, ...] = ()) -> Steps:
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

    return run


@pytest.mark.parametrize(
    ("name", "role", "run"),
    [
        ("main", "admin", steps(group=("user", "update"), after=("j", "space", "space"))),
        ("conditional_access_diff", "admin", steps("j", group=("conditionalAccessPolicy", "update"))),
        # Six users of one type queued, the rest of it not: the options side by side.
        ("plan_comparison", "admin",
         steps("j", "space", "space", "space", "space", "space", "space", "r", group=("user", "update"))),
        ("restore_confirm", "admin",
         steps("j", "space", "space", "r", group=("user", "update"), after=("enter",))),
        # A restore first, so the history shows a recovery job and the session log.
        ("history", "admin",
         steps("j", "space", "space", "r", group=("user", "update"), after=("enter", "y", "escape", "H"))),
        ("help", "admin", steps("question_mark")),
        # The queued policy would newly apply to the break-glass group: its name must be typed.
        ("lockout_warning", "admin",
         steps("j", "space", "r", group=("conditionalAccessPolicy", "update"), after=("enter", "y"))),
        ("read_only_banner", "reader", steps()),
    ],
)
def test_snapshot(snap_compare: Compare, name: str, role: str, run: Steps) -> None:
    app = lockout_app(role) if name == "lockout_warning" else make_app(role)
    assert snap_compare(app, terminal_size=SIZE, run_before=run)
