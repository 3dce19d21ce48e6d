"""``entrabr evidence``: after a recovery (a drill on the demo tenant), a pack in a new folder whose manifest
verifies; an existing folder with files is refused."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .helpers import cli

DEMO = ["--objects", "600", "--job-speed", "100000", "-q"]


def test_evidence_pack_after_a_recovery(tmp_path: Path) -> None:
    drill = cli("drill", *DEMO, "--incident", "60", "--json")
    assert drill.code == 0, drill.stderr
    folder = tmp_path / "pack"
    result = cli("--demo", *DEMO, "evidence", "--since", "1h", "--out", str(folder), "--json")
    assert result.code == 0, result.stderr
    doc = result.json()
    assert doc["schema"] == "entrabr.evidenceWritten/1" and doc["timeline"] >= 6
    assert doc["rpoSeconds"] is not None and doc["rtoSeconds"] is not None
    for line in (folder / "manifest.sha256").read_text(encoding="utf-8").splitlines():
        digest, name = line.split("  ")
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest
    markdown = (folder / "evidence.md").read_text(encoding="utf-8")
    assert "## Timeline" in markdown and "restore-verified" in markdown
    assert "## First bad change" in markdown and "## The incident's actors" in markdown
    document = json.loads((folder / "evidence.json").read_text(encoding="utf-8"))
    assert document["audit"]["available"] is True and document["firstBadChange"]["actor"]
    again = cli("--demo", *DEMO, "evidence", "--out", str(folder))
    assert again.code == 2 and "not an empty folder" in again.stderr
