"""Exports of hostile tenant text: values as well as names, no link or markup survives in Markdown, no
formula or terminal control survives in CSV, JSON keeps every value exactly."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from markdown_it import MarkdownIt

from entrabr_tui.core.model import Change
from entrabr_tui.engine.export import REPORT_CSV_HEADER, ReportExport, TypeActionTotal, render

NOW = datetime(2026, 7, 28, 8, 15, tzinfo=UTC)
CORPUS = [
    "Finance [/] Team", "[/", "[red]alert[/red]", "[link=https://evil.example]click[/link]",
    "[@click=app.quit]quit[/]", "\x1b[31mred\x1b[0m", "\x1b]8;;http://x\x07link\x1b]8;;\x07",
    "\u202eevil.exe", "nul\x00byte", "x" * 10_000, "=cmd|' /C calc'!A0", "+1", "-2+3", "@SUM(A1)",
    "\ttab", "\rreturn", "[x](javascript:alert(1))", "![img](http://x/y.png)", "<script>alert(1)</script>",
    "`code` *em* _em_ **strong** ~~del~~ # head", "a | b", "&amp; &lt;", "\u200bzero\u200dwidth", "\x9bc1",
]


def hostile_change(n: int, text: str) -> Change:
    return Change.from_json({
        "id": f"00000000-0000-4000-8000-{n:012d}", "entityTypeName": "user", "recoveryAction": "update",
        "displayName": text,
        "deltaFromCurrent": {"displayName": text, "jobTitle": [text, {"note": text}]},
        "currentState": {"displayName": f"now {text}", "jobTitle": None},
    })


def export(fmt: str) -> str:
    changes = [hostile_change(n, text) for n, text in enumerate(CORPUS)]
    data = ReportExport(tenant="[red]tenant", report_id="job-[1](x)", snapshot_id="snap", generated=NOW,
                        counts=[TypeActionTotal("user", "update", len(changes))], changes=iter(changes),
                        total=len(changes))
    return render(data, fmt)


CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def test_markdown_renders_no_link_image_html_or_markup() -> None:
    text = export("md")
    assert not CONTROLS.search(text) and "\r" not in text.replace("\r\n", "")
    tokens = MarkdownIt("commonmark").enable("table").enable("strikethrough").parse(text)

    def walk(items: list[Any]) -> list[str]:
        found = []
        for token in items:
            found.append(token.type)
            found += walk(token.children or [])
        return found

    kinds = set(walk(tokens))
    for forbidden in ("link_open", "image", "html_inline", "html_block", "em_open", "strong_open",
                      "code_inline", "s_open"):
        assert forbidden not in kinds, forbidden
    section = text.split("## Changed objects", 1)[1]
    rows = [line for line in section.splitlines() if line.startswith("| user ") or line.startswith("|  |")]
    assert len(rows) == 2 * len(CORPUS)
    assert all(line.replace("\\|", "").count("|") == 11 for line in rows)  # every row stays in its table
    # the text is kept (escaped), the values are there, long ones are cut
    assert "Finance \\[/\\] Team" in text and "\\[x\\]\\(javascript:alert\\(1\\)\\)" in text
    assert "␛red␛" in text and "\\<U+202E\\>evil.exe" in text  # the display rule, then Markdown escaping
    assert max(len(cell) for line in rows for cell in line.split(" | ")) >= 10_000  # names are whole
    value_cells = [line.split(" | ")[-2:] for line in rows if "| jobTitle |" in line]
    assert value_cells and all(len(cell) <= 400 for pair in value_cells for cell in pair)


def test_csv_neutralises_formulas_and_terminal_controls() -> None:
    text = export("csv")
    assert not CONTROLS.search(text)
    rows = [dict(zip(REPORT_CSV_HEADER, r, strict=True))
            for r in list(csv.reader(io.StringIO(text, newline="")))[1:]]
    cells = [v for row in rows for v in row.values()]
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))]
    names = {row["displayName"] for row in rows}
    assert "'=cmd|' /C calc'!A0" in names and "'+1" in names and "'@SUM(A1)" in names
    # terminal controls follow the display rule: a sequence is one ␛, a control its symbol, bidi <U+…>
    assert "'␉tab" in names and "'␤return" in names and "␛link␛" in names and "␛red␛" in names
    assert "nul␀byte" in names and "<U+202E>evil.exe" in names and "␛1" in names
    by_value = {(r["displayName"], r["property"]): (r["backupValue"], r["currentValue"]) for r in rows}
    assert by_value[("[red]alert[/red]", "displayName")] == ("[red]alert[/red]", "now [red]alert[/red]")
    assert by_value[("'+1", "jobTitle")] == ('["+1", {"note": "+1"}]', "null")
    assert any(len(c) > 10_000 for c in cells)  # CSV keeps values whole


def test_json_keeps_every_value_exactly() -> None:
    text = export("json")
    assert not CONTROLS.search(text)
    doc = json.loads(text)
    for change, original in zip(doc["changes"], CORPUS, strict=True):
        assert change["displayName"] == original
        props = {p["name"]: p for p in change["properties"]}
        assert props["displayName"] == {"name": "displayName", "backup": original,
                                        "current": f"now {original}"}
        assert props["jobTitle"] == {"name": "jobTitle", "backup": [original, {"note": original}],
                                     "current": None}


@pytest.mark.parametrize("fmt", ["json", "csv", "md"])
def test_a_property_missing_on_one_side_is_said(fmt: str) -> None:
    change = Change.from_json({"id": "u1", "entityTypeName": "user", "recoveryAction": "update",
                               "displayName": "Ada", "deltaFromCurrent": {"department": "Sales"},
                               "currentState": {"mail": "ada@contoso.test"}})
    data = ReportExport(tenant="t", report_id="r", snapshot_id="s", generated=NOW, counts=[],
                        changes=[change], total=1)
    text = render(data, fmt)
    if fmt == "json":
        props = json.loads(text)["changes"][0]["properties"]
        assert props == [{"name": "department", "backup": "Sales"},
                         {"name": "mail", "current": "ada@contoso.test"}]
    else:  # Markdown escapes the parentheses (it renders as "(absent)")
        absent = "(absent)" if fmt == "csv" else "\\(absent\\)"
        assert absent in text and "Sales" in text and "ada@contoso.test" in text
