"""Marking at scale on a real cache: 60,000 changes in an offline session, marked, unmarked and undone from
the Changes tree without any page of them loaded, and the queue pane keeping count."""

from __future__ import annotations

from pathlib import Path

from store.synth import make_items, recoverable_of
from textual.message import Message
from textual.notifications import Notify

from entrabr_tui.engine import Session, open_session
from entrabr_tui.engine.settings import SessionSettings
from entrabr_tui.store import StorePaths
from entrabr_tui.store.cache import Cache
from entrabr_tui.ui.app import EntrabrApp
from entrabr_tui.ui.backend import Backend
from entrabr_tui.ui.screens.dialogs import ConfirmDialog
from entrabr_tui.ui.widgets.change_nodes import TypeNode

from .conftest import settle
from .fake_backend import NOW
from .palette import wait_until

CHANGES = 60_000
TENANT = "scale-tenant"


def build_cache(home: Path) -> None:
    cache = Cache.open(TENANT, paths=StorePaths.under(home))
    items = make_items(CHANGES, 4)
    report = cache.report_writer.begin_report("job-scale", "snap", None, "p0")
    for start in range(0, CHANGES, 5000):
        follow = None if start + 5000 >= CHANGES else f"p{start + 5000}"
        cache.report_writer.ingest_page(report.id, items[start:start + 5000], follow, f"p{start}",
                                        recoverable=recoverable_of, finalize=False)
    cache.report_writer.finalize_report(report.id)
    cache.close()


async def test_sixty_thousand_marks_from_the_tree(entrabr_home: Path) -> None:
    build_cache(entrabr_home)
    sessions: list[Session] = []

    async def factory() -> Backend:
        session = await open_session(SessionSettings(offline=True, tenant=TENANT),
                                     paths=StorePaths.under(entrabr_home))
        sessions.append(session)
        return session

    app = EntrabrApp(factory, clock=lambda: NOW)
    toasts: list[str] = []  # recorded as they are posted (a slow machine may expire them before a look)

    def hook(message: Message) -> None:
        if isinstance(message, Notify):
            toasts.append(message.notification.message)

    async with app.run_test(size=(120, 40), message_hook=hook) as pilot:
        await settle(pilot)
        main = app.main
        main.open_report("job-scale")  # (the synthetic report's backup is not listed)
        await settle(pilot)
        tree = main.changes
        assert sum(n.data.count for n in tree.root.children if isinstance(n.data, TypeNode)) == CHANGES
        session = sessions[0]

        def queue_title() -> str:
            return str(main.query_one("#pane-queue").border_title)

        tree.focus()
        await pilot.press("ctrl+a")
        await settle(pilot)
        assert len(session.marked("job-scale")) == CHANGES == len(tree.marks)
        assert f"marked {CHANGES:,}" in str(main.query_one("#pane-changes").border_title)
        assert any(t.startswith(f"Marked {CHANGES:,} objects") for t in toasts)
        await wait_until(pilot, lambda: f"{CHANGES:,} queued" in queue_title(), "the queue pane")

        users = next(n for n in tree.root.children if isinstance(n.data, TypeNode)
                     and n.data.entity_type == "user")
        tree.move_cursor(users)
        await pilot.press("space")  # all users are marked: space unmarks the type (never opened)
        await settle(pilot)
        assert isinstance(users.data, TypeNode)
        left = CHANGES - users.data.count
        assert len(session.marked("job-scale")) == left
        await wait_until(pilot, lambda: f"{left:,} queued" in queue_title(), "the queue pane")

        await pilot.press("U")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await settle(pilot)
        assert session.marked("job-scale") == set() and len(tree.marks) == 0
        await wait_until(pilot, lambda: "empty" in queue_title(), "the queue pane")
        await pilot.press("u")
        await settle(pilot)
        assert len(session.marked("job-scale")) == left == len(tree.marks)
        await wait_until(pilot, lambda: f"{left:,} queued" in queue_title(), "the queue pane")
