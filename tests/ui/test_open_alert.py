"""``entrabr --open ALERT_ID``: the app opens on a real watch alert of the demo tenant (two watch runs over a
report of the built-in emulator), with the Changes tree filtered to the objects the rule matched, the first
of them in the Diff pane; an unknown or resolved alert is said in a notification and the app starts as
usual."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from textual.pilot import Pilot

from entrabr_tui.core.watch_rules import parse_rules
from entrabr_tui.engine import Session, open_demo
from entrabr_tui.engine.timing import PollPolicy
from entrabr_tui.engine.watch import WatchResult
from entrabr_tui.ui.app import EntrabrApp
from entrabr_tui.ui.backend import Backend
from entrabr_tui.ui.widgets.change_nodes import ObjectRow

from .conftest import settle
from .demo_app import FAST, no_wait

pytestmark = [pytest.mark.ui, pytest.mark.emulator]

RULES = """
[[critical]]
name = "Watched user"
type = "user"
objects = ["{object_id}"]

[[threshold]]
name = "User updates"
type = "user"
action = "update"
more_than = 0
severity = "critical"

[audit]
hard_deletes = false
conditional_access = "off"
"""


async def demo_session() -> Session:
    return await open_demo(role="admin", objects=400, job_speed=FAST, sleep=no_wait,
                           poll=PollPolicy(max_polls=400), page_size=100)


async def watched(session: Session) -> tuple[WatchResult, str]:
    """A report of the newest backup, then two watch runs: the alerts of a critical user and of a count of
    user updates open. Returns the second run and the critical user's id."""
    newest = (await session.snapshots())[0]
    report = await session.ensure_report(newest.snapshot.id, None, None)
    updated = session.page(report.id, "user", "update", None, 3)
    assert len(updated) == 3, "the demo tenant has user updates since its newest backup"
    rules = parse_rules(RULES.format(object_id=updated[1].object_id), "rules.toml")
    await session.watch(rules, use_audit=False)
    second = await session.watch(rules, use_audit=False)
    assert {a.rule for a in second.raised} == {"Watched user", "User updates"}
    return second, updated[1].object_id


@asynccontextmanager
async def app_on(session: Session, alert_id: str) -> AsyncIterator[tuple[EntrabrApp, Pilot[Any]]]:
    async def factory() -> Backend:
        return session

    app = EntrabrApp(factory, open_alert=alert_id)
    async with app.run_test(size=(110, 34)) as pilot:
        await settle(pilot)
        await settle(pilot)
        yield app, pilot


def shown_ids(app: EntrabrApp) -> list[str]:
    return [r.id for r in app.main.changes.visible_rows()]


async def test_the_app_opens_on_a_critical_object_alert() -> None:
    session = await demo_session()
    result, object_id = await watched(session)
    alert = next(a for a in result.raised if a.rule == "Watched user")
    report_id = alert.detail["reportId"]
    async with app_on(session, alert.id) as (app, pilot):
        main = app.main
        assert main.report_id == report_id
        tree = main.changes
        assert tree.filters.alert is not None and tree.filters.alert.alert_id == alert.id
        assert tree.filters.type_only == "user" and tree.filters.action_only == "update"
        assert shown_ids(app) == [object_id]  # only the alert's object, of the whole report
        assert tree.model.shown_total == 1 < tree.model.total
        row = tree.current_row
        assert isinstance(row, ObjectRow) and row.id == object_id  # the first finding has the cursor
        assert app.focused is tree
        await settle(pilot)
        assert main.diff.change is not None and main.diff.change.id == object_id  # its diff is shown
        title = str(main.query_one("#pane-changes").border_title)
        assert f"alert {alert.id}: 1" in title
        toasts = list(app._notifications)
        assert any(alert.id in t.title and "Watched user" in t.title for t in toasts), toasts
        # esc shows the whole report again.
        await pilot.press("escape")
        await settle(pilot)
        assert tree.filters.alert is None and not tree.filtered


async def test_a_threshold_alert_shows_every_object_the_rule_counted_and_marks_only_them() -> None:
    session = await demo_session()
    result, _ = await watched(session)
    alert = next(a for a in result.raised if a.rule == "User updates")
    listed = {o["id"] for o in alert.detail["objects"]}
    assert alert.detail["count"] == len(alert.detail["objects"]) > 3
    async with app_on(session, alert.id) as (app, pilot):
        tree = app.main.changes
        assert tree.model.shown_total == alert.detail["count"]
        assert set(shown_ids(app)) <= listed and shown_ids(app)
        # Marking every match marks the alert's objects, not the whole user / update node.
        await pilot.press("ctrl+a")
        await settle(pilot)
        assert tree.marks.marked == listed
        assert session.marked(alert.detail["reportId"]) == listed


async def test_an_unknown_or_resolved_alert_is_said_and_the_app_starts_as_usual() -> None:
    session = await demo_session()
    result, _ = await watched(session)
    async with app_on(session, "AL-00000000ff") as (app, _pilot):
        toasts = list(app._notifications)
        assert any("AL-00000000ff" in t.title and "No alert AL-00000000ff" in t.message for t in toasts), \
            toasts
        assert result.report is not None and app.main.report_id == result.report.job_id
        assert app.main.changes.filters.alert is None and not app.main.changes.filtered


async def test_a_resolved_alert_is_not_opened() -> None:
    session = await demo_session()
    result, _ = await watched(session)
    alert = result.raised[0]
    with session.cache.db.tx():  # as a later run without its finding leaves it
        session.cache.db.conn.execute("UPDATE watch_alert SET resolved = updated WHERE id = ?", (alert.id,))
    async with app_on(session, alert.id) as (app, _pilot):
        toasts = list(app._notifications)
        assert any(f"Alert {alert.id} was resolved" in t.message for t in toasts), toasts
        assert app.main.changes.filters.alert is None

