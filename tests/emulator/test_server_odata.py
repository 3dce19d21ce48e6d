"""Pure helpers: $filter parsing and evaluation, skip tokens, page assembly and late enum hiding."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from entrabr_tui.emulator.directory import ChangeRecord
from entrabr_tui.emulator.enums import wants_unknown_members
from entrabr_tui.emulator.graph_errors import GraphError
from entrabr_tui.emulator.odata import (
    FieldSpec,
    apply_order,
    compile_filter,
    decode_skiptoken,
    encode_skiptoken,
    parse_filter,
)
from entrabr_tui.emulator.views import change_bytes, page_bytes

FIELDS = {
    "name": FieldSpec("text", ops=frozenset({"eq", "ne", "startswith"})),
    "kind": FieldSpec("enum", values=frozenset({"a", "b", "late"}),
                      aliases={"unknownFutureValue": frozenset({"late"})}),
    "when": FieldSpec("datetime"),
}
GET: dict[str, Callable[[Any], Any]] = {"name": lambda d: d["name"], "kind": lambda d: d["kind"],
                                       "when": lambda d: d["when"]}
ROWS: list[dict[str, Any]] = [
    {"name": "Alice O'Neil", "kind": "a", "when": datetime(2026, 3, 20, 22, tzinfo=UTC)},
    {"name": "bob", "kind": "b", "when": datetime(2026, 3, 21, 22, tzinfo=UTC)},
    {"name": "Alfred", "kind": "late", "when": datetime(2026, 3, 20, 22, tzinfo=UTC)},
]


def _run(expr: str) -> list[str]:
    pred = compile_filter(parse_filter(expr, FIELDS), FIELDS, GET)
    assert pred is not None
    return [r["name"] for r in ROWS if pred(r)]


def test_filter_evaluation() -> None:
    assert _run("startswith(name,'AL')") == ["Alice O'Neil", "Alfred"]
    assert _run("name eq 'alice o''neil'") == ["Alice O'Neil"]
    assert _run("kind ne 'a' and (name ne 'bob')") == ["Alfred"]
    assert _run("kind eq 'unknownFutureValue'") == ["Alfred"]
    assert _run("when eq 2026-03-20T22:00:00Z") == ["Alice O'Neil", "Alfred"]
    assert _run("when ne '2026-03-20T22:00:00+00:00'") == ["bob"]
    assert parse_filter(None, FIELDS) == ()


@pytest.mark.parametrize("expr", ["", "name", "name eq", "name eq 'x' and", "name lt 'x'", "kind eq 'c'",
                                  "when eq 2026-03-20T22:00:00", "startswith(kind,'a')", "name eq 'x' or "
                                  "name eq 'y'", "name eq 'unterminated", "(name eq 'x'", "name eq 'x')"])
def test_bad_filters(expr: str) -> None:
    with pytest.raises(GraphError) as err:
        parse_filter(expr, FIELDS)
    assert err.value.status == 400


def test_order_is_stable_and_case_insensitive() -> None:
    ordered = apply_order(ROWS, (("kind", False), ("name", True)), GET)
    assert [r["name"] for r in ordered] == ["Alice O'Neil", "bob", "Alfred"]
    by_name = apply_order(ROWS, (("name", False),), GET)
    assert [r["name"] for r in by_name] == ["Alfred", "Alice O'Neil", "bob"]


def test_skiptoken_round_trip_and_tamper() -> None:
    token = encode_skiptoken(300, 100, "kind eq 'a'", "")
    assert decode_skiptoken(token, "kind eq 'a'", "") == (300, 100)
    for bad in (token[:-1] + ("A" if token[-1] != "A" else "B"), "", "%%%"):
        with pytest.raises(GraphError):
            decode_skiptoken(bad, "kind eq 'a'", "")
    with pytest.raises(GraphError):
        decode_skiptoken(token, "kind eq 'b'", "")


def test_late_entity_types_are_hidden_in_change_bytes() -> None:
    body = orjson.dumps({"entityTypeName": "organization", "id": "x", "displayName": "Contoso",
                         "recoveryAction": "update", "deltaFromCurrent": {}, "currentState": {}})
    hidden = orjson.loads(change_bytes(body, "organization", False, None))
    assert hidden["entityTypeName"] == "unknownFutureValue" and hidden["displayName"] == "Contoso"
    assert change_bytes(body, "organization", True, None) is body
    selected = orjson.loads(change_bytes(body, "organization", False, ("entityTypeName", "id")))
    assert selected == {"entityTypeName": "unknownFutureValue", "id": "x"}
    user = orjson.dumps({"entityTypeName": "user"})
    assert change_bytes(user, "user", False, None) is user


def test_prefer_parsing() -> None:
    assert wants_unknown_members(["include-unknown-enum-members"])
    assert wants_unknown_members(["return=minimal", "odata.maxpagesize=3, Include-Unknown-Enum-Members"])
    assert not wants_unknown_members(["return=minimal"]) and not wants_unknown_members([])


def test_999_change_page_is_assembled() -> None:
    user = "#microsoft.graph.user"
    body = orjson.dumps({"entityTypeName": "user", "id": "0" * 36, "displayName": "x" * 20,
                         "recoveryAction": "update",
                         "deltaFromCurrent": {"@odata.type": user, "jobTitle": "A" * 40},
                         "currentState": {"@odata.type": user, "jobTitle": "B" * 40}})
    records = [ChangeRecord(f"{i:036d}", "user", "update", "x", body, 0) for i in range(999)]
    items = [change_bytes(r.body, r.entity_type, False, None) for r in records]
    page = page_bytes("ctx", items, "next", 5000)
    doc = orjson.loads(page)
    assert len(doc["value"]) == 999 and doc["@odata.count"] == 5000 and doc["@odata.nextLink"] == "next"
