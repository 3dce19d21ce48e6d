"""Shared test configuration: every test gets its own ENTRABR_HOME so nothing touches the user's files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def entrabr_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Relocate cache, data and config under a fresh temporary folder for each test."""
    home = tmp_path_factory.mktemp("entrabr-home")
    monkeypatch.setenv("ENTRABR_HOME", str(home))
    yield home
