"""Every key a screen or widget of the UI answers to comes from the binding registry, so it has an id (it can
be remapped in the config's ``[keys]`` table) and the help screen lists it."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from rich.console import Group
from rich.table import Table
from textual.app import App
from textual.binding import Binding
from textual.dom import DOMNode
from textual.widgets import Static

from entrabr_tui import ui
from entrabr_tui.ui import bindings
from entrabr_tui.ui.bindings import ALL_GROUPS, BindingGroup, binding_ids
from entrabr_tui.ui.screens.help import HelpScreen, help_rows

from .conftest import running, settle


def ui_classes() -> list[type[DOMNode]]:
    """Every screen and widget class defined in ``entrabr_tui.ui``."""
    found: dict[str, type[DOMNode]] = {}
    for module_info in pkgutil.walk_packages(ui.__path__, f"{ui.__name__}."):
        module = importlib.import_module(module_info.name)
        for _name, cls in inspect.getmembers(module, inspect.isclass):
            if (cls.__module__ == module.__name__ and issubclass(cls, DOMNode)
                    and not issubclass(cls, App)):
                found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return [found[name] for name in sorted(found)]


def registered() -> dict[str, Binding]:
    return {b.id: b for group in ALL_GROUPS for b in group.bindings if b.id}


def test_the_walk_finds_the_screens_and_widgets() -> None:
    names = {cls.__name__ for cls in ui_classes()}
    assert {"MainScreen", "HistoryScreen", "HelpScreen", "SignInScreen", "ConfirmDialog",
            "TypedConfirmDialog",
            "TextDialog", "ScopeDialog", "RestoreResultScreen", "ChangesTree", "DiffTable", "DiffPane",
            "QueueTable", "BackupsTable", "NavTable"} <= names


def test_every_declared_binding_is_a_registry_binding() -> None:
    known = registered()
    wrong = []
    for cls in ui_classes():
        for entry in cls.__dict__.get("BINDINGS", []):
            if not isinstance(entry, Binding) or entry.id is None or known.get(entry.id) is not entry:
                wrong.append(f"{cls.__qualname__}: {entry!r}")
    assert wrong == []


def test_every_key_a_class_answers_to_has_a_registry_id() -> None:
    """Inherited bindings too (Textual's Screen, Tree and DataTable bind keys of their own)."""
    known = registered()
    missing: list[str] = []
    for cls in ui_classes():
        for key, key_bindings in cls._merge_bindings().key_to_bindings.items():
            missing.extend(f"{cls.__qualname__}: {key} → {b.action}" for b in key_bindings
                           if b.id not in known or known[b.id].action != b.action)
    assert missing == []


def test_every_registry_binding_is_used_and_listed_on_the_help_screen() -> None:
    used = {b.id for cls in ui_classes() for b in cls.__dict__.get("BINDINGS", []) if isinstance(b, Binding)}
    assert set(binding_ids()) == used
    groups = [value for value in vars(bindings).values() if isinstance(value, BindingGroup)]
    assert set(groups) == set(ALL_GROUPS)
    listed = {binding_id for group in ALL_GROUPS for _keys, _what, binding_id in help_rows(group, {})}
    assert listed == used


async def test_help_screen_shows_every_group_and_binding() -> None:
    async with running() as (app, pilot):
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        groups = [s.content for s in app.screen.query(Static) if isinstance(s.content, Group)]
        assert len(groups) == 1
        tables = [t for t in groups[0].renderables if isinstance(t, Table)]
        assert {group.title for group in ALL_GROUPS} <= {str(table.title) for table in tables}
        shown = {str(cell) for table in tables for cell in table.columns[2].cells}
        assert set(binding_ids()) <= shown
        # The columns line up down the whole screen: every section's table has the same widths.
        assert len({tuple(column.width for column in table.columns) for table in tables}) == 1


async def test_keys_of_other_screens_follow_the_keymap() -> None:
    async with running(keymap={"help-close": "x", "history-filter": "f"}) as (app, pilot):
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")  # no longer bound: the help stays
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("x")
        await settle(pilot)
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("H")
        await settle(pilot)
        await pilot.press("f")
        assert app.focused is not None and app.focused.id == "history-filter-input"
