"""Argument handling: usage errors exit with 2 and a clear message, before anything touches a tenant."""

from __future__ import annotations

import json

import pytest

from .helpers import cli


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["frobnicate"], "invalid choice"),
        (["report", "--objects", "1000"], "--objects only applies to the demo tenant"),
        (["--demo", "--objects", "10", "report"], "the demo tenant has 100 to 1,000,000 objects, not 10"),
        (["--demo", "--objects", "5000000"], "not 5,000,000"),
        (["--objects", "99", "--demo"], "not 99"),
        (["--demo", "--tenant", "contoso", "snapshots"], "--demo uses the built-in tenant"),
        (["--demo", "--offline", "snapshots"], "--offline"),
        (["--role", "reader", "snapshots"], "--role applies to --demo"),
        (["restore", "--plan"], "Say which objects"),
        (["restore", "--all"], "one of the arguments --plan --apply --resume"),
        (["restore", "--plan", "--apply", "--all"], "not allowed with argument"),
        (["restore", "--plan", "--all", "--id", "x"], "Choose one of"),
        (["restore", "--plan", "--all", "--queued"], "Choose one of"),
        (["restore", "--plan", "--queued", "--type", "user"], "--type goes with --all"),
        (["restore", "--plan", "--all", "--since", "2d"], "--since and --until narrow --actor"),
        (["restore", "--plan", "--all", "--until", "1h"], "--since and --until narrow --actor"),
        (["changes", "--limit", "-1"], "must not be negative"),
        (["changes", "--limit", "ten"], "not a whole number"),
        (["changes", "--action", "delete"], "invalid choice"),
        (["--demo", "--job-speed", "0", "report"], "must be positive"),
        (["export", "--format", "xml"], "invalid choice"),
        (["export", "--id", "abc"], "add --what plan"),
        (["export", "--what", "plan"], "Say which objects"),
        (["history", "--since", "yesterday-ish"], "cannot read"),
        (["--auth", "password", "jobs"], "invalid choice"),
    ],
)
def test_usage_errors_exit_2(argv: list[str], message: str) -> None:
    result = cli(*argv)
    assert result.code == 2, result.stderr
    assert message in result.stderr
    assert result.stdout == ""


def test_usage_error_as_json_document() -> None:
    result = cli("restore", "--plan", "--json")
    assert result.code == 2
    doc = json.loads(result.stdout)
    assert doc["schema"] == "entrabr.error/1"
    assert doc["error"]["kind"] == "usage" and doc["error"]["exitCode"] == 2


def test_global_options_after_the_command_are_kept() -> None:
    from entrabr_tui.cli.args import ReportArgs, parse

    before = parse(["--demo", "--json", "report", "--type", "user"])
    after = parse(["report", "--type", "user", "--demo", "--json"])
    assert isinstance(before, ReportArgs) and isinstance(after, ReportArgs)
    assert before.demo and before.json and after.demo and after.json
    assert before.types == after.types == ["user"]
    assert parse(["--json", "report"]).json is True  # a subcommand default never resets it


def test_help_and_version() -> None:
    assert cli("--version").stdout.startswith("entrabr ")
    result = cli("--help")
    assert result.code == 0


def test_no_command_without_tenant_explains_and_exits_2() -> None:
    result = cli()
    assert result.code == 2
    assert "entrabr --demo" in result.stderr and result.stdout == ""


def test_ids_with_bad_lines_are_refused_with_line_numbers() -> None:
    result = cli("restore", "--plan", "--ids-from", "-", *["--demo", "--objects", "100"],
                 stdin="# incident 42\nuser:8f0c2b6e-0000-0000-0000-000000000001\nnot an id\n")
    assert result.code == 2
    assert "stdin line 3" in result.stderr


def test_unknown_type_is_a_usage_error() -> None:
    result = cli("report", "--demo", "--objects", "100", "--type", "users")
    assert result.code == 2
    assert "Unknown object type 'users'" in result.stderr and "Known types:" in result.stderr


def test_history_needs_no_sign_in() -> None:
    result = cli("history", "--json")
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout) == {"schema": "entrabr.history/1", "entries": []}
