"""The README's screenshots are the snapshot tests' SVGs, byte for byte."""

from __future__ import annotations

from .screenshot_files import ROOT, pairs


def test_every_snapshot_has_an_up_to_date_screenshot() -> None:
    found = pairs()
    assert len(found) >= 6, "the snapshot SVGs are missing"
    fix = "run python -m tests.ui.screenshot_files"
    for snapshot, screenshot in found:
        where = screenshot.relative_to(ROOT)
        assert screenshot.exists(), f"missing {where}: {fix}"
        assert screenshot.read_bytes() == snapshot.read_bytes(), f"{where} is stale: {fix}"


def test_readme_shows_the_screenshots() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for _, screenshot in pairs():
        if screenshot.stem != "help":
            assert f"screenshots/{screenshot.name}" in readme
