"""The app on the built-in demo tenant (a real emulator over loopback), as Administrator and as Reader."""

from __future__ import annotations

from entrabr_tui.core.text import plural
from entrabr_tui.ui.screens.failed_changes import FailedChangesScreen
from entrabr_tui.ui.screens.history import HistoryScreen
from entrabr_tui.ui.screens.lockout_dialog import BreakGlassDialog, LockoutWarning
from entrabr_tui.ui.screens.plan_review import PlanReviewScreen
from entrabr_tui.ui.screens.report_flow import ScopeDialog
from entrabr_tui.ui.screens.restore_dialogs import RestoreConfirmDialog, RestoreResultScreen
from entrabr_tui.ui.widgets.change_nodes import ActionNode, ObjectRow, TypeNode
from entrabr_tui.ui.widgets.tables import NavTable

from .conftest import settle, take_the_plan
from .demo_app import create_report, demo
from .palette import wait_until
from .pilot_helpers import open_group, row_of
from .screen_text import screen_text


async def test_admin_report_drill_restore_verify_and_history() -> None:
    async with demo("admin") as (app, pilot, session):
        await create_report(app, pilot)
        tree = app.main.changes
        report = session.report(tree.report_id or "")
        assert report is not None and report.complete
        shown = sum(n.data.count for n in tree.root.children if isinstance(n.data, TypeNode))
        assert shown == report.downloaded == sum(c.count for c in session.counts(report.id))
        if report.total is not None:
            assert shown == report.total

        # A user, a group with member changes and a Conditional Access policy, side by side.
        for entity_type in ("user", "group", "conditionalAccessPolicy"):
            actions = [a.data.action for t in tree.root.children
                       if isinstance(t.data, TypeNode) and t.data.entity_type == entity_type
                       for a in t.children if isinstance(a.data, ActionNode)]
            assert actions, f"the demo report has no {entity_type} changes"
            node = await open_group(pilot, tree, entity_type, "update" if "update" in actions else actions[0])
            rows = [c for c in node.children if isinstance(c.data, ObjectRow)]
            current = rows[0]
            tree.move_cursor(current)
            await settle(pilot)
            diff_rows = app.main.diff.table.diff_rows
            assert diff_rows, f"no diff rows for a {entity_type}"
            if entity_type == "group":
                members = [r for r in diff_rows if r.member_id]
                for group_row in rows[1:]:
                    if members:
                        break
                    current = group_row
                    tree.move_cursor(current)
                    await settle(pilot)
                    members = [r for r in app.main.diff.table.diff_rows if r.member_id]
                assert members and all(r.glyph in "+−" for r in members)
            await pilot.press("space")          # marks the row under the cursor
            await settle(pilot)
            assert row_of(current).id in session.marked(report.id)
            tree.move_cursor(current)
            await pilot.press("space")
            await settle(pilot)
            assert row_of(current).id not in session.marked(report.id)

        # The demo tenant's hostile names (Rich markup, an ANSI escape) show literally in the tree.
        users = await open_group(pilot, tree, "user", "update")
        labels = {c.data.display_name: str(c.label) for c in users.children if isinstance(c.data, ObjectRow)}
        markup = next(name for name in labels if "[bold]" in name)
        assert "[bold]Rich[/] Markup" in labels[markup]
        ansi = next(name for name in labels if "\x1b" in name)
        assert "ANSI Red" in labels[ansi] and "\x1b" not in labels[ansi]
        assert "\x1b" not in screen_text(app)

        # Mark everything, restore it, and confirm with a fresh report.
        for tnode in list(tree.root.children):
            for anode in list(tnode.children):
                if isinstance(anode.data, ActionNode):
                    await open_group(pilot, tree, anode.data.entity_type, anode.data.action)
        await pilot.press("ctrl+a")
        await settle(pilot)
        assert len(session.marked(report.id)) == report.downloaded
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, PlanReviewScreen)
        assert "Best mix" in screen_text(app) and "Whole types" in screen_text(app)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, RestoreConfirmDialog)
        if app.screen.typed_word is not None:
            await pilot.press(*app.screen.typed_word, "enter")
        else:
            await pilot.press("y")
        await settle(pilot)
        await wait_until(pilot, lambda: not app.main.job_running and isinstance(
            app.screen, BreakGlassDialog | LockoutWarning | RestoreResultScreen), "the checks or the result")
        if isinstance(app.screen, BreakGlassDialog):  # the plan restores Conditional Access: asked once
            await pilot.press("ctrl+s")
            await settle(pilot)
        if isinstance(app.screen, LockoutWarning):
            for name in app.screen.names:
                await pilot.press(*name, "tab")
            await pilot.press("enter")
            await settle(pilot)
        await wait_until(pilot, lambda: isinstance(app.screen, RestoreResultScreen), "the restore result")
        assert isinstance(app.screen, RestoreResultScreen)
        assert "restored objects match the backup" in screen_text(app)
        result_text = screen_text(app)
        assert "Restore" in result_text
        failed = app.screen.outcome.failed
        assert failed, "the demo tenant has on-premises-synced objects, which the service never recovers"
        for change in failed:
            assert change.failure_message
        assert f"{plural(len(failed), 'object')}, " in result_text and " failed" in result_text
        await pilot.press("escape")
        await create_report(app, pilot, fresh=True)
        # The fresh report is offered (the one being read stays); o opens it.
        assert tree.report_id == report.id
        await pilot.press("o")
        await settle(pilot)
        after = session.report(tree.report_id or "")
        assert after is not None and after.id != report.id
        assert after.downloaded < report.downloaded
        remaining = {r.object_id: r for r in session.page(after.id, limit=10_000)}
        failed_ids = {c.id for c in failed}
        assert all(r.on_premises_synced or r.recoverable is False or oid in failed_ids
                   for oid, r in remaining.items())

        planned = [e for e in session.history() if e.action == "restore-planned"]
        assert len(planned) == 1  # the queue pane's previews are not written to the history
        await pilot.press("H")
        await settle(pilot)
        assert isinstance(app.screen, HistoryScreen)
        text = screen_text(app)
        assert "restore" in text and "report" in text
        # The failures stay readable: enter on a restore job with failures lists them from the cache.
        history = app.screen
        jobs = history.query_one("#jobs-table", NavTable)
        row = next(i for i, job in enumerate(history._shown_jobs) if history.failed.get(job.id))
        jobs.move_cursor(row=row)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, FailedChangesScreen)
        shown = app.screen.failed
        assert shown and all(c.failure_message for c in shown)
        assert " failed" in screen_text(app)


async def test_reader_creates_a_report_and_the_service_refuses_the_restore() -> None:
    async with demo("reader") as (app, pilot, session):
        text = " ".join(screen_text(app).split())
        assert "NO RESTORE" in text and "Entra Backup Administrator" in text
        hint = " ".join(str(n.label) for n in app.main.changes.root.children)
        assert "No difference report is open. Press enter to create" in hint  # one key starts one
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, ScopeDialog)
        await pilot.press("ctrl+s")
        await settle(pilot)
        report = session.report(app.main.changes.report_id or "")
        assert report is not None and report.complete and report.downloaded > 0  # the Reader's own report
        users = await open_group(pilot, app.main.changes, "user", "update")
        app.main.changes.move_cursor(next(n for n in users.children if isinstance(n.data, ObjectRow)))
        await pilot.press("space")
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        await take_the_plan(pilot)
        assert isinstance(app.screen, RestoreConfirmDialog)
        await pilot.press("y")
        await settle(pilot)
        refused = [n for n in app._notifications if n.title == "The service refused the restore"]
        assert refused and "Entra Backup Administrator" in refused[0].message
        assert "403" in refused[0].message
        logged = [e for e in session.history() if e.action == "restore-finished"]
        assert logged and logged[0].outcome == "refused"
        assert not app.main.job_running
