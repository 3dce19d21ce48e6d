"""Who changed it: the Diff pane names the actor of the change and of each property (explained or not), and
says what is missing when the audit log cannot be read."""

from __future__ import annotations

from dataclasses import replace

from textual.widgets import Static

from entrabr_tui.core.audit_join import Verdict

from .conftest import running, settle
from .fake_backend import MAYA, FakeBackend
from .pilot_helpers import open_group


def who_text(app) -> str:  # type: ignore[no-untyped-def]
    line = app.main.diff.query_one("#diff-who", Static)
    return str(line.render()) if line.display else ""


def cell_text(app, column: int) -> str:  # type: ignore[no-untyped-def]
    table = app.main.diff.table
    return "\n".join(str(table.get_row_at(i)[column]) for i in range(table.row_count))


async def test_diff_names_who_changed_the_object_and_each_property() -> None:
    async with running(FakeBackend()) as (app, pilot):
        await open_group(pilot, app.main.changes, "user", "update")
        await pilot.press("j")
        await settle(pilot)
        text = who_text(app)
        assert text.startswith("? who: by Azure AD Sync Helper (app) at ") and text.endswith(" (partly)")
        current = cell_text(app, 2)
        # jobTitle is the object's actor's (the pane's line says so); accountEnabled nothing explains.
        assert current.startswith("Manager\nfalse\n? no record")
        assert "✓" not in current
        await pilot.press("3", "enter")  # the full account of the first property
        await settle(pilot)
        body = " ".join(str(s.render()) for s in app.screen.query(Static))
        assert "Who: by Azure AD Sync Helper (app) at 2026" in body
        assert "Operation (correlation id): op-rogue" in body


async def test_unexplained_change_is_marked_apart() -> None:
    backend = FakeBackend()
    async with running(backend) as (app, pilot):
        await open_group(pilot, app.main.changes, "user", "update")
        tree = app.main.changes
        unexplained = {c.id for i, c in enumerate(backend.tenant_changes) if i % 97 == 3}  # the fake's rule
        node = next(n for n in tree.nodes.leaves() if n.data.id in unexplained)  # type: ignore[union-attr]
        tree.move_cursor(node)
        await settle(pilot)
        assert who_text(app).startswith("? who: unexplained: no audit record")
        current = cell_text(app, 2)
        assert current.startswith("Manager\nfalse\n") and "✓" not in current  # the pane's line covers all


async def test_no_audit_access_says_what_is_missing() -> None:
    async with running(FakeBackend(role="reader")) as (app, pilot):
        await open_group(pilot, app.main.changes, "user", "update")
        await pilot.press("j")
        await settle(pilot)
        assert who_text(app) == ("who: no audit access: Reading the directory audit log was refused: the "
                                 "signed-in identity lacks a role that may read audit logs, such as Reports "
                                 "Reader.")
        assert "✓ by" not in cell_text(app, 2)


async def test_a_property_another_actor_changed_is_named_on_its_row() -> None:
    backend = FakeBackend()
    async with running(backend) as (app, pilot):
        await open_group(pilot, app.main.changes, "user", "update")
        await pilot.press("j")
        await settle(pilot)
        table = app.main.diff.table
        who = table.who
        assert who is not None and who.attribution is not None
        table.who = replace(who, attribution=replace(who.attribution, parts=tuple(
            replace(p, actor=MAYA, verdict=Verdict.EXPLAINED) if p.name == "jobTitle" else p
            for p in who.attribution.parts)))
        table.redraw()
        assert cell_text(app, 2).startswith("Manager\n✓ by \nmaya@contoso…\nfalse\n? no record")
