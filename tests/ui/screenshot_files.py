"""The snapshot SVGs that double as the README's screenshots, and a command to copy them there.

Run ``python -m tests.ui.screenshot_files`` after ``pytest tests/ui/test_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOTS = Path(__file__).resolve().parent / "__snapshots__" / "test_snapshots"
SCREENSHOTS = ROOT / "screenshots"
_NAME = re.compile(r"test_snapshot\[(?P<name>[a-z_]+)-[a-z]+-run\]\.svg")


def pairs() -> list[tuple[Path, Path]]:
    """(snapshot SVG, screenshot file) for every snapshot test case."""
    found = []
    for svg in sorted(SNAPSHOTS.glob("*.svg")):
        match = _NAME.fullmatch(svg.name)
        if match:
            found.append((svg, SCREENSHOTS / f"{match['name']}.svg"))
    return found


def main() -> int:
    SCREENSHOTS.mkdir(exist_ok=True)
    for source, target in pairs():
        shutil.copyfile(source, target)
        print(f"{source.name} -> {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
