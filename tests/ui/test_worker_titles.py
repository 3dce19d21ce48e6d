"""The worker-title table names exactly the workers the UI starts (read from the source, so a new worker
without an entry, or an entry left behind by a removed worker, fails)."""

from __future__ import annotations

import ast
from pathlib import Path

from entrabr_tui import ui
from entrabr_tui.ui.workers import WORKER_TITLES

from .conftest import INTERACTIVE_GROUPS

UI = Path(ui.__file__).resolve().parent


def _calls(tree: ast.AST, name: str) -> list[ast.Call]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute):
                called = func.attr
            else:
                called = func.id if isinstance(func, ast.Name) else ""
            if called == name:
                found.append(node)
    return found


def _bare_work_decorators(tree: ast.AST) -> list[int]:
    """Lines of ``@work`` used without arguments (a worker without a group)."""
    lines: list[int] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            lines.extend(d.lineno for d in node.decorator_list if isinstance(d, ast.Name) and d.id == "work")
    return lines


def worker_names() -> tuple[set[str], list[str]]:
    """Every group (and explicit name) given to ``@work``/``run_worker`` in ``ui/``, and what is wrong."""
    names: set[str] = set()
    problems: list[str] = []
    for path in sorted(UI.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        where = path.relative_to(UI)
        problems.extend(f"{where}:{line}: @work without a group" for line in _bare_work_decorators(tree))
        for call in _calls(tree, "work") + _calls(tree, "run_worker"):
            keywords = {k.arg: k.value for k in call.keywords}
            if "group" not in keywords:
                problems.append(f"{where}:{call.lineno}: a worker without a group")
            for key in ("group", "name"):
                value = keywords.get(key)
                if value is None:
                    continue
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    names.add(value.value)
                else:
                    problems.append(f"{where}:{call.lineno}: {key}= is not a literal string")
    return names, problems


def cancelled_groups() -> set[str]:
    groups = set()
    for path in sorted(UI.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for call in _calls(tree, "cancel_group"):
            group = call.args[1] if len(call.args) > 1 else None
            assert isinstance(group, ast.Constant) and isinstance(group.value, str), f"{path}:{call.lineno}"
            groups.add(group.value)
    return groups


def test_every_worker_has_a_literal_group() -> None:
    names, problems = worker_names()
    assert problems == []
    assert len(names) >= 15  # the walk found the workers (an empty walk must not pass)


def test_the_title_table_names_exactly_the_workers_that_exist() -> None:
    names, _ = worker_names()
    assert sorted(names - WORKER_TITLES.keys()) == [], "workers without a title"
    assert sorted(WORKER_TITLES.keys() - names) == [], "titles of workers that do not exist"
    assert all(title.strip() for title in WORKER_TITLES.values())


def test_cancelled_and_interactive_groups_exist() -> None:
    assert cancelled_groups() <= WORKER_TITLES.keys()
    assert WORKER_TITLES.keys() >= INTERACTIVE_GROUPS
