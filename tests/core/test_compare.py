"""Comparing two backups from two reports: the values of each backup, existence, members, and the objects the
live tenant moved on between the two reports (left out of the verdict)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from entrabr_tui.core.compare import (
    UNKNOWN_TEXT,
    CompareBuilder,
    Comparison,
    DeltaKind,
    ReportSide,
    compare_rows,
    moved_rows,
)
from entrabr_tui.core.diff import ABSENT, DiffKind
from entrabr_tui.core.model import Change, EntityNamesFilter

T = datetime(2026, 7, 28, 8, 0, tzinfo=UTC)


def change(object_id: str, action: str = "update", delta: dict[str, Any] | None = None,
           current: dict[str, Any] | None = None, entity: str = "user", name: str = "") -> Change:
    return Change.from_json({"id": object_id, "entityTypeName": entity, "recoveryAction": action,
                             "displayName": name or object_id,
                             "deltaFromCurrent": {"@odata.type": f"#microsoft.graph.{entity}",
                                                  **(delta or {})},
                             "currentState": {"@odata.type": f"#microsoft.graph.{entity}",
                                              **(current or {})}})


def compare(a: list[Change], b: list[Change], *, scope_a: Any = None, scope_b: Any = None) -> Comparison:
    builder = CompareBuilder(ReportSide("A", T, "ra", T, scope_a), ReportSide("B", T, "rb", T, scope_b))
    builder.add_a(a)
    builder.add_b(b)
    return builder.finish()


def test_property_values_of_each_backup_come_from_its_delta_else_the_live_value() -> None:
    result = compare(
        [change("u1", delta={"jobTitle": "Engineer"}, current={"jobTitle": "Manager"}),
         change("u2", delta={"city": "Oslo"}, current={"city": "Rome"}),
         change("u3", delta={"department": "HR"}, current={"department": "IT"})],
        [change("u1", delta={"jobTitle": "Lead"}, current={"jobTitle": "Manager"}),
         change("u3", delta={"department": "HR"}, current={"department": "IT"}),
         change("u4", delta={"mobilePhone": "1"}, current={"mobilePhone": "2"})])
    found = {d.object_id: {p.name: (p.a, p.b) for p in d.properties} for d in result.objects}
    assert found == {
        "u1": {"jobTitle": ("Engineer", "Lead")},  # both backups differ from live, and from each other
        "u2": {"city": ("Oslo", "Rome")},  # B equals live, which report A shows
        "u4": {"mobilePhone": ("2", "1")},  # A equals live, which report B shows
    }  # u3 is the same in both backups
    assert not result.moved and result.compared == 4


def test_a_live_value_that_differs_between_the_reports_names_the_object_and_leaves_it_out() -> None:
    result = compare(
        [change("u1", delta={"jobTitle": "Engineer"}, current={"jobTitle": "Manager"}, name="Ada"),
         change("g1", "restore", {"displayName": "G"}, {"displayName": "G", "deletedDateTime": "x"},
                "group")],
        [change("u1", delta={"jobTitle": "Engineer"}, current={"jobTitle": "Director"}, name="Ada"),
         change("g1", "softDelete", {"@removed": {"reason": "changed"}}, {"deletedDateTime": None}, "group")])
    assert not result.objects
    moved = {m.object_id: m.properties for m in result.moved}
    assert moved == {"u1": ("jobTitle",), "g1": ("(existence)",)}
    assert result.compared == 0


def test_existence_appeared_and_disappeared() -> None:
    result = compare(
        [change("new", "softDelete", {"@removed": {"reason": "changed"}}, {"deletedDateTime": None}),
         change("gone", "restore", {"displayName": "Gone"}, {"displayName": "Gone", "deletedDateTime": "t"})],
        [])
    kinds = {d.object_id: d.kind for d in result.objects}
    assert kinds == {"new": DeltaKind.APPEARED, "gone": DeltaKind.DISAPPEARED}
    both_absent = compare([change("x", "softDelete", {"@removed": {}})], [change("x", "softDelete",
                                                                                  {"@removed": {}})])
    assert not both_absent.objects


def test_members_are_compared_link_by_link() -> None:
    add = {"@odata.type": "#microsoft.graph.user", "id": "m1"}
    remove = {"@odata.type": "#microsoft.graph.user", "id": "m2", "@removed": {"reason": "changed"}}
    result = compare(
        [change("g", delta={"members@delta": [add, remove]}, entity="group")],
        [change("g", delta={"members@delta": [add]}, entity="group")])
    (delta,) = result.objects
    members = {p.member_id: (p.a, p.b) for p in delta.properties}
    # m1: recovery adds it in both (both backups have it); m2: A lacks it, B equals live (has it).
    assert members == {"m2": (False, True)}
    assert delta.property_names == ["members"]
    moved = compare([change("g", delta={"members@delta": [add]}, entity="group")],
                    [change("g", delta={"members@delta": [{**add, "@removed": {"reason": "changed"}}]},
                            entity="group")])
    assert [m.properties for m in moved.moved] == [("members[m1]",)]


def test_only_types_both_reports_cover_are_compared_and_unreadable_objects_are_named() -> None:
    users_only = EntityNamesFilter(("user",))
    result = compare([change("u1", delta={"city": "A"}, current={"city": "B"}),
                      change("g1", delta={"description": "x"}, current={"description": "y"}, entity="group")],
                     [change("g1", delta={"description": "x"}, current={"description": "y"}, entity="group")],
                     scope_b=users_only)
    assert [d.object_id for d in result.objects] == ["u1"]
    assert [(u.entity_type, u.covered_by, u.objects) for u in result.uncovered] == [("group", "A", 1)]
    broken = Change.from_json({"id": "u9", "entityTypeName": "user", "recoveryAction": "update",
                               "deltaFromCurrent": "not an object"})
    unreadable = compare([broken], [change("u9", delta={"city": "A"}, current={"city": "B"})])
    assert unreadable.unreadable == ("u9",) and not unreadable.objects


def test_a_value_no_report_shows_is_unknown_never_guessed() -> None:
    result = compare([change("u1", delta={"city": "A"})], [])  # current state lacks the property
    (delta,) = result.objects
    (prop,) = delta.properties
    assert prop.a == "A" and prop.b is ABSENT and prop.b_text == "(unknown)"


def test_gap_between_the_reports() -> None:
    builder = CompareBuilder(ReportSide("A", T, "ra", T), ReportSide("B", T, "rb", T.replace(hour=10)))
    assert builder.finish().gap_seconds == 7200


def test_compare_rows_put_a_beside_b_and_show_only_the_part_of_an_object_value_that_differs() -> None:
    conditions_a = {"users": {"includeUsers": ["All"], "excludeUsers": ["u1"]}, "clientAppTypes": ["all"]}
    conditions_b = {"users": {"includeUsers": ["All"], "excludeUsers": []}, "clientAppTypes": ["all"]}
    result = compare(
        [change("p", delta={"state": "enabled", "conditions": conditions_a},
                current={"state": "disabled", "conditions": conditions_b}, entity="conditionalAccessPolicy")],
        [change("p", delta={}, current={"state": "disabled", "conditions": conditions_b},
                entity="conditionalAccessPolicy")])
    (delta,) = result.objects
    rows = compare_rows(delta)
    assert [(r.path, r.depth, r.is_header, r.backup_text, r.current_text) for r in rows] == [
        ("state", 0, False, "enabled", "disabled"),
        ("conditions", 0, True, "", ""),
        ("conditions.users", 1, True, "", ""),
        ("conditions.users.excludeUsers", 2, False, "u1", "[]"),
    ]
    assert all(r.kind is DiffKind.CHANGED for r in rows)


def test_compare_rows_of_existence_members_unknown_values_and_moved_objects() -> None:
    gone = compare([change("gone", "restore", {"displayName": "Gone"}, {"deletedDateTime": "t"})], [])
    (row,) = compare_rows(gone.objects[0])
    assert (row.kind, row.backup_text) == (DiffKind.REMOVED, "exists")
    assert row.current_text == "not there (or deleted)"
    assert row.note == DeltaKind.DISAPPEARED.words

    add = {"@odata.type": "#microsoft.graph.user", "id": "m1"}
    members = compare([change("g", delta={"members@delta": [add]}, entity="group")], [])
    rows = compare_rows(members.objects[0], {"m1": "Ada"}.get)
    assert [(r.label, r.depth, r.kind, r.backup_text, r.current_text, r.member_id) for r in rows] == [
        ("members", 0, DiffKind.CHANGED, "", "", None),
        ("Ada (m1)", 1, DiffKind.REMOVED, "member", "not a member", "m1"),
    ]

    unknown = compare([change("u1", delta={"city": "A"})], [])
    (row,) = compare_rows(unknown.objects[0])
    assert (row.kind, row.backup_text, row.current_text) == (DiffKind.UNKNOWN, "A", UNKNOWN_TEXT)

    moved = compare([change("u1", delta={"jobTitle": "E"}, current={"jobTitle": "M"})],
                    [change("u1", delta={"jobTitle": "E"}, current={"jobTitle": "D"})])
    (row,) = moved_rows(moved.moved[0])
    assert (row.path, row.backup_text) == ("jobTitle", "not compared")
    assert row.reason == "the live value differs between the two reports"
