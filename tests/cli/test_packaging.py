"""Packaging: one version everywhere, complete metadata, and the README's install instructions."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import metadata, version

import entrabr_tui

from .helpers import ROOT, cli


def test_the_version_has_one_source() -> None:
    assert version("entrabr") == entrabr_tui.__version__
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert "version" not in project and project["dynamic"] == ["version"]
    assert cli("--version").stdout == f"entrabr {entrabr_tui.__version__}\n"


def test_project_metadata_is_complete() -> None:
    meta = metadata("entrabr")
    assert meta["Author"] and meta["Maintainer"]
    assert meta["License-Expression"] == "MIT" and "LICENSE" in (meta.get_all("License-File") or [])
    classifiers = meta.get_all("Classifier") or []
    assert "Programming Language :: Python :: 3.11" in classifiers
    assert "entra" in (meta["Keywords"] or "")
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")


def test_readme_installs_with_pipx_and_uv_beside_a_two_command_quick_start() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert len(re.findall(r"```sh\n(.+?)\n```", quick, re.S)) == 2
    assert "pipx install .\n" in readme and "uv tool install .\n" in readme
