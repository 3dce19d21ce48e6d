"""The demo tenant's report marks its on-premises users again: its change objects do not say (like
Microsoft's), and the directory lookup after the download does."""

from __future__ import annotations

from entrabr_tui.core.model import SyncStatus
from entrabr_tui.store import HistoryAction
from entrabr_tui.ui.widgets.change_nodes import ObjectRow

from .conftest import settle
from .demo_app import create_report, demo
from .pilot_helpers import open_group, row_of
from .screen_text import screen_text


async def test_demo_shows_on_premises_badges_after_the_lookup() -> None:
    async with demo("admin") as (app, pilot, session):
        await create_report(app, pilot)
        report = session.report(app.main.changes.report_id or "")
        assert report is not None and report.complete
        checked = session.history(actions=[HistoryAction.SYNC_STATUS_CHECKED])
        assert checked and checked[0].outcome == "done" and checked[0].counts["synced"] > 0

        node = await open_group(pilot, app.main.changes, "user", "update")
        rows = [c for c in node.children if isinstance(c.data, ObjectRow)]
        synced = [c for c in rows if row_of(c).sync is SyncStatus.SYNCED]
        assert synced, "the demo incident touches on-premises users"
        assert all("[on-prem]" in str(c.label) and "[not recoverable]" in str(c.label) for c in synced)
        # Live users were all found by the directory: none is left unknown.
        assert not [c for c in rows if row_of(c).sync is SyncStatus.UNKNOWN]
        app.main.changes.move_cursor(synced[0])
        await settle(pilot)
        assert "[on-prem]" in screen_text(app)
