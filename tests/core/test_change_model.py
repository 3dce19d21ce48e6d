"""``Change.from_json`` is total: every change object becomes a ``Change``; unreadable ones are flagged."""

from __future__ import annotations

from typing import Any

import pytest

from entrabr_tui.core.model import Change, RecoveryAction, ResourceType, change_problem

GOOD: dict[str, Any] = {
    "entityTypeName": "user",
    "id": "36e07e06-72c1-4b2c-b547-c5084413b88b",
    "displayName": "JD",
    "recoveryAction": "update",
    "deltaFromCurrent": {"@odata.type": "#microsoft.graph.user", "displayName": "John Doe"},
    "currentState": {"@odata.type": "#microsoft.graph.user", "displayName": "JD"},
}


def test_a_well_formed_change_is_readable() -> None:
    change = Change.from_json(GOOD)
    assert change.readable and change.unreadable is None and change.raw is None
    assert change.id == GOOD["id"] and change.action is RecoveryAction.UPDATE
    assert change_problem(GOOD) is None


def test_null_optional_fields_and_object_id_spelling_are_readable() -> None:
    item = {"objectId": "x1", "entityTypeName": "user", "recoveryAction": "restore", "displayName": None,
            "deltaFromCurrent": None, "currentState": None, "failureMessage": None}
    change = Change.from_json(item)
    assert change.readable and change.id == "x1" and change.delta == {} and change.display_name == ""


def test_unknown_enum_values_are_readable_and_kept_raw() -> None:
    change = Change.from_json({**GOOD, "entityTypeName": "agentBlueprint", "recoveryAction": "quarantine"})
    assert change.readable
    assert change.entity_type is ResourceType.UNKNOWN_FUTURE_VALUE
    assert change.entity_type_raw == "agentBlueprint"
    assert change.action is RecoveryAction.UNKNOWN_FUTURE_VALUE and change.action_raw == "quarantine"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"id": None}, "no 'id'"),
        ({"id": ""}, "'id' is empty"),
        ({"id": 12345}, "'id' is a number, not a string"),
        ({"entityTypeName": None}, "no 'entityTypeName'"),
        ({"recoveryAction": 5}, "'recoveryAction' is a number, not a string"),
        ({"deltaFromCurrent": "x"}, "'deltaFromCurrent' is a string, not an object"),
        ({"currentState": [1]}, "'currentState' is a list, not an object"),
        ({"displayName": True}, "'displayName' is a boolean, not a string"),
        ({"failureMessage": {"a": 1}}, "'failureMessage' is an object, not a string"),
    ],
)
def test_unreadable_change_keeps_raw_and_reason(changes: dict[str, Any], reason: str) -> None:
    item = {**GOOD, **changes}
    item = {k: v for k, v in item.items() if v is not None}
    change = Change.from_json(item)
    assert not change.readable
    assert change.unreadable == reason == change_problem(item)
    assert change.raw is item  # exactly what was sent, for display and export


def test_several_problems_are_all_named() -> None:
    item = {"entityTypeName": 3, "deltaFromCurrent": "x"}
    change = Change.from_json(item)
    assert change.unreadable == (
        "no 'id'; 'entityTypeName' is a number, not a string; no 'recoveryAction'; "
        "'deltaFromCurrent' is a string, not an object"
    )
    assert change.id == "" and change.entity_type_raw == "unknownFutureValue" and change.delta == {}


@pytest.mark.parametrize("value", [None, 5, "text", [GOOD]])
def test_a_value_that_is_no_object_is_still_a_change(value: object) -> None:
    change = Change.from_json(value)
    assert not change.readable and change.raw is value
    assert change.unreadable is not None and change.unreadable.startswith("the change is ")


def test_readable_changes_compare_as_before() -> None:
    assert Change.from_json(dict(GOOD)) == Change.from_json(dict(GOOD))
