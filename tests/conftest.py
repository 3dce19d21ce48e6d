"""Shared test configuration: every test gets its own ENTRABR_HOME so nothing touches the user's files, and
every test is marked by what it exercises (``ui``, ``emulator``, ``slow``) so a run can select or skip it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from entrabr_tui.engine import open_demo

TESTS = Path(__file__).resolve().parent

#: Fixtures that start the built-in Graph emulator and serve it over loopback HTTP.
EMULATOR_FIXTURES = frozenset({"emulator", "emulator_server", "big_emulator", "audit_server", "server", "api",
                               "audit", "graph", "control", "make_client"})

#: Modules whose tests run subprocesses that are killed and rerun, or build tenants of a million objects.
SLOW_MODULES = frozenset({
    "cli/test_kill_report.py", "cli/test_kill_restore.py", "cli/test_kill_resume.py",
    "cli/test_concurrent_writers.py", "store/test_ingest_sigkill.py", "emulator/test_directory_scale.py",
    "store/test_audit_sigkill.py",
})


@pytest.fixture(autouse=True)
def entrabr_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Relocate cache, data and config under a fresh temporary folder for each test; command-line tables take
    their width from the test, never from the shell that runs it (``COLUMNS``)."""
    home = tmp_path_factory.mktemp("entrabr-home")
    monkeypatch.setenv("ENTRABR_HOME", str(home))
    monkeypatch.delenv("COLUMNS", raising=False)
    yield home


def _from_emulator(value: object) -> bool:
    """Whether a module global comes from the emulator package (or is the demo, which runs it)."""
    if value is open_demo:
        return True
    name = value.__name__ if isinstance(value, ModuleType) else getattr(value, "__module__", None)
    return isinstance(name, str) and name.startswith("entrabr_tui.emulator")


def _uses_emulator(item: pytest.Item, folder: str) -> bool:
    if folder == "emulator" or EMULATOR_FIXTURES.intersection(getattr(item, "fixturenames", ())):
        return True
    module = getattr(item, "module", None)
    return module is not None and any(_from_emulator(value) for value in vars(module).values())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by its folder, its fixtures and its module: ``ui``, ``emulator``, ``slow``."""
    for item in items:
        relative = item.path.resolve().relative_to(TESTS)
        folder = relative.parts[0]
        if folder == "ui":
            item.add_marker(pytest.mark.ui)
        if _uses_emulator(item, folder):
            item.add_marker(pytest.mark.emulator)
        if relative.as_posix() in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
