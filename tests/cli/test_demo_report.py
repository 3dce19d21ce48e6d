"""``entrabr report --demo``: counts match the emulator, a second run reuses the cache, ``--offline`` works
without any server, and nothing on this path imports the terminal UI."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from entrabr_tui.emulator.directory import Directory

from .helpers import DEMO, cli, cli_subprocess


def emulator_counts(snapshot_id: str) -> Counter[tuple[str, str]]:
    """What the demo's emulator (seed 1, same size) computes itself for that backup."""
    directory = Directory(seed=1, objects=300, now=datetime.now(UTC))
    assert snapshot_id in [sid for sid, _ in directory.snapshots()]
    return Counter((record.entity_type, record.action) for record in directory.diff(snapshot_id))


def test_report_counts_reuse_offline_and_no_textual() -> None:
    first = cli_subprocess("report", *DEMO, "--json")
    assert first.code == 0, first.stderr
    assert first.ui_modules == []
    doc = first.json()
    assert doc["schema"] == "entrabr.reportSummary/1"
    assert doc["report"]["reused"] is False and doc["report"]["complete"] is True
    got = Counter({(c["entityType"], c["action"]): c["count"] for c in doc["counts"]})
    expected = emulator_counts(doc["snapshot"]["id"])
    assert got == expected
    assert doc["totalChanges"] == sum(expected.values()) > 0
    assert doc["byAction"] == {a: sum(n for (_, act), n in expected.items() if act == a)
                               for a in {a for _, a in expected}}

    again = cli_subprocess("report", *DEMO, "--json")
    assert again.code == 0, again.stderr
    second = again.json()
    assert second["report"]["reused"] is True and second["report"]["id"] == doc["report"]["id"]
    assert second["counts"] == doc["counts"]
    # How much faster the cache lookup is than create + poll + download is bench/cli_report.py's figure.

    offline = cli_subprocess("report", "--offline", "--json")  # no emulator in this process
    assert offline.code == 0, offline.stderr
    served = offline.json()
    assert served["report"]["id"] == doc["report"]["id"] and served["counts"] == doc["counts"]
    assert offline.ui_modules == []


def test_offline_without_cache_exits_9() -> None:
    result = cli("report", "--offline")
    assert result.code == 9, result.stderr
    assert "run once online first" in result.stderr.lower()


def test_text_summary_and_progress_streams() -> None:
    result = cli("report", *DEMO)
    assert result.code == 0, result.stderr
    assert result.stdout.startswith("Difference report ")
    assert "TYPE" in result.stdout and "ACTION" in result.stdout
    assert "downloading" in result.stderr  # progress goes to stderr only
    assert "downloading" not in result.stdout and "Starting the demo tenant" not in result.stdout
    listed = cli("changes", *DEMO, "--filter", "ANSI", tty_stdout=True)
    assert listed.code == 0, listed.stderr
    # the demo's hostile name, its escape sequence shown as one mark (the cell is cut to fit 100 columns)
    assert "DISABLED - ␛" in listed.stdout and "\x1b" not in listed.stdout
    exact = cli("changes", *DEMO, "--filter", "ANSI", "--json").json()
    assert any("\x1b[31m" in c["displayName"] for c in exact["changes"])


def test_unknown_backup_and_missing_report_exit_8() -> None:
    result = cli("report", *DEMO, "--snapshot", "2001-01-01")
    assert result.code == 8, result.stderr
    assert "No backup '2001-01-01'" in result.stderr
    result = cli("changes", *DEMO)
    assert result.code == 8, result.stderr
    assert "Run 'entrabr report --demo --objects 300' first" in result.stderr  # the flags in use


def test_reader_sees_restore_refused_with_the_role_needed() -> None:
    result = cli("restore", *DEMO, "--role", "reader", "--apply", "--all", "--yes", "--json")
    assert result.code == 4, result.stderr
    assert "Entra Backup Administrator" in result.stderr
    error = result.json()["error"]
    assert error["kind"] == "forbidden" and error["needs"] == "Entra Backup Administrator"
    assert "HTTP 403" in error["message"]  # the service refused it; the token's claims only warned
    assert error["hint"].startswith("Creating a restore needs the Entra Backup Administrator role")


def test_reader_can_read() -> None:
    result = cli("snapshots", *DEMO, "--role", "reader", "--json")
    assert result.code == 0, result.stderr
    assert len(result.json()["snapshots"]) == 7
