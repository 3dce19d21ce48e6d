"""CLI manners: tables fit a width, hints repeat the options in use, history actions are checked, the README
example prints rows, the emulator is a listed command, a plan by IDs knows its report's totals."""

from __future__ import annotations

import io
import re
import shlex

import pytest

from entrabr_tui.cli import output
from entrabr_tui.cli.output import Output, fit_columns, text_width

from .helpers import DEMO, ROOT, FakeTty, cli

HOSTILE = ["x" * 10_000, "[red]alert[/red] [link=https://evil.example]x[/link] [@click=app.quit]q",
           "\x1b[31mred\x1b[0m \x1b]8;;http://x\x07link\x1b]8;;\x07", "\u202eevil", "nul\x00here",
           "日本語" * 40]


def table_lines(monkeypatch: pytest.MonkeyPatch, width: int | None, rows: list[tuple[object, ...]],
                whole: tuple[int, ...] = (), flex: tuple[int, ...] = ()) -> list[str]:
    stdout = FakeTty() if width else io.StringIO()
    if width:
        monkeypatch.setattr(output, "terminal_width", lambda stream: width)
    Output(stdout, io.StringIO(), io.StringIO()).table(("TYPE", "ID", "NAME", "COUNT"), rows, right=(3,),
                                                       whole=whole, flex=flex)
    return stdout.getvalue().splitlines()


@pytest.mark.parametrize("width", [None, 80, 120])
def test_tables_fit_the_width_and_cells_are_cut_with_an_ellipsis(monkeypatch: pytest.MonkeyPatch,
                                                                  width: int | None) -> None:
    guid = "8f0c2b6e-0000-4000-8000-000000000001"
    rows: list[tuple[object, ...]] = [("user", guid, name, 12_345) for name in HOSTILE]
    lines = table_lines(monkeypatch, width, rows, whole=(1,), flex=(2,))
    limit = width or 100
    assert all(text_width(line) <= limit for line in lines), [text_width(line) for line in lines]
    assert all(guid in line for line in lines[1:])  # IDs are never cut
    assert "…" in lines[1] and "12,345" in lines[1]
    text = "\n".join(lines)
    assert "\x1b" not in text and "\u202e" not in text and "\x00" not in text
    assert "␛" in text and "<U+202E>" in text  # controls are shown, not obeyed


def test_a_table_that_fits_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = table_lines(monkeypatch, None, [("user", "id-1", "Ada", 1)])
    assert lines == ["TYPE  ID    NAME  COUNT", "user  id-1  Ada       1"]


def test_fit_columns() -> None:
    assert fit_columns([10, 50, 5], 80) == [10, 50, 5]
    assert sum(fit_columns([10, 50, 40], 40)) == 40
    assert fit_columns([10, 50, 40], 40)[0] == 10  # the narrow column keeps its width


def test_changes_table_is_100_columns_off_a_terminal() -> None:
    assert cli("report", *DEMO, "-q").code == 0
    result = cli("changes", *DEMO, "--limit", "0")
    assert result.code == 0
    assert max(text_width(line) for line in result.stdout.splitlines()) <= 100
    history = cli("history")
    assert max(text_width(line) for line in history.stdout.splitlines()) <= 100


def test_hints_repeat_the_options_in_use() -> None:
    result = cli("changes", *DEMO)
    assert result.code == 8
    assert "Run 'entrabr report --demo --objects 300' first." in result.stderr
    interrupted = Output(io.StringIO(), io.StringIO(), io.StringIO())
    interrupted.target_flags = ["--tenant", "contoso.onmicrosoft.com", "--offline"]
    assert interrupted.command("report", online=True) == "entrabr report --tenant contoso.onmicrosoft.com"
    assert interrupted.command("jobs") == "entrabr jobs --tenant contoso.onmicrosoft.com --offline"


def test_history_action_must_be_known() -> None:
    result = cli("history", "--action", "foo")
    assert result.code == 2
    assert "Unknown history action 'foo'" in result.stderr
    assert "restore-submitted" in result.stderr and "theme-changed" in result.stderr
    assert cli("history", "--action", "restore-submitted").code == 0


def test_the_readme_changes_example_prints_rows() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = [line for line in readme.splitlines() if line.startswith(".venv/bin/entrabr ")]
    report = next(line for line in lines if " report --demo" in line)
    changes = next(line for line in lines if " changes --demo" in line)
    argv = [shlex.split(line.split("#")[0])[1:] for line in (report, changes)]
    assert cli(*argv[0]).code == 0
    result = cli(*argv[1])
    assert result.code == 0, result.stderr
    rows = result.stdout.splitlines()[1:]
    assert len(rows) >= 10 and all(re.match(r"user\s+update\s", row) for row in rows)


def test_the_emulator_is_a_listed_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("--help").code == 0
    assert re.search(r"^\s+emulator\s+serve the built-in Graph emulator", capsys.readouterr().out, re.M)
    mistyped = cli("emulater")
    assert mistyped.code == 2 and "'emulator'" in mistyped.stderr


def test_a_plan_by_ids_has_the_report_totals() -> None:
    assert cli("report", *DEMO, "-q").code == 0
    rows = cli("changes", *DEMO, "--type", "user", "--limit", "3", "--json").json()["changes"]
    total = cli("changes", *DEMO, "--type", "user", "--limit", "0", "--json").json()["total"]
    ids = "".join(f"user:{r['id']}\n" for r in rows)
    plan = cli("restore", "--plan", "--ids-from", "-", *DEMO, "--json", stdin=ids).json()
    [user] = [t for t in plan["types"] if t["entityType"] == "user"]
    assert user["reportTotal"] == total and user["wholeType"] is False
