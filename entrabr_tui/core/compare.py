"""Compare two backups A and B from two difference reports, each of one backup against the live tenant.

A difference report lists, for each object that differs between its backup and the live tenant, the backup
values (``deltaFromCurrent``) and the live values (``currentState``) of the properties that differ. An object
a report does not list is, for every property the service reports, the same in the backup as live. So with
two reports taken while the live tenant stood still, the value of a property in backup A is:

* its value in A's ``deltaFromCurrent`` when report A lists it;
* otherwise the live value, which report B shows in its ``currentState`` when B lists the property;

and the same for B. A property differs between A and B where those values differ; a property neither report
lists is the same in both backups (it equals the live value in each). Static group members
(``members@delta``) are compared link by link in the same way, and whether the object existed: a ``restore``
says it existed in the backup and is deleted now, a ``softDelete`` that it did not exist (or was deleted) in
the backup and exists now.

**Validity.** The rule holds only where the live tenant did not move between the two reports. Where both
reports carry a property in their ``currentState`` (or a member in their link lists, the object's existence,
or its live display name, which every change object carries), the two live values are compared: where they
differ the live tenant moved, and the object is named in :attr:`Comparison.moved` and left out of the
verdict. An object only one report lists cannot show such a move, so the verdict is sound for it only when
the two reports were taken close together (the comparison carries the time between them). Only types both
reports cover are compared (a report scoped to some types says nothing about the others): objects of other
types are counted in :attr:`Comparison.uncovered`. Properties the service does not report (unsupported
ones, owner links) are never compared, nor is a purge (an object in the deleted items in one backup and
gone for good in the other: hard-deleted objects are in no report; the audit log shows them). Change
objects that could not be read make their object's verdict unknown (:attr:`Comparison.unreadable`).

Pure: the caller feeds the changes of report A (:meth:`CompareBuilder.add_a`), then those of report B
(:meth:`CompareBuilder.add_b`), and asks for :meth:`CompareBuilder.finish`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from .diff import ABSENT, DiffKind, DiffRow, NameResolver, format_value, plain_value
from .model import Change, EntityNameAndIdsFilter, EntityNamesFilter, FilteringCriteria

#: Keys of ``deltaFromCurrent`` / ``currentState`` that are not properties compared here.
_LIFECYCLE_KEYS = frozenset({"deletedDateTime"})
#: A link relationship compared member by member (the only links the service recovers).
MEMBERS_DELTA = "members@delta"


class Presence(StrEnum):
    """Whether an object existed (and was not in the deleted items) in a backup, or live."""

    PRESENT = "present"
    NOT_PRESENT = "notPresent"  # did not exist yet, or was in the deleted items


class DeltaKind(StrEnum):
    """How an object differs between backup A and backup B."""

    CHANGED = "changed"  # in both; properties or members differ
    APPEARED = "appeared"  # not in A (or deleted there), present in B
    DISAPPEARED = "disappeared"  # present in A, not in B (or deleted there)

    @property
    def glyph(self) -> str:
        return {DeltaKind.CHANGED: "~", DeltaKind.APPEARED: "+", DeltaKind.DISAPPEARED: "−"}[self]

    @property
    def words(self) -> str:
        return {DeltaKind.CHANGED: "changed between A and B",
                DeltaKind.APPEARED: "in B, not in A (created or restored between them)",
                DeltaKind.DISAPPEARED: "in A, not in B (deleted between them)"}[self]


@dataclass(frozen=True, slots=True)
class PropertyDelta:
    """One property (or one static member, ``members[<id>]``) whose value differs between A and B.

    ``a`` / ``b`` are raw JSON values (``ABSENT`` when that side has no value we can know: shown as
    ``(unknown)``); for a member, ``True`` means the link existed in that backup."""

    name: str
    a: Any
    b: Any
    member_id: str | None = None

    @property
    def a_text(self) -> str:
        return _value_text(self.a, self.member_id)

    @property
    def b_text(self) -> str:
        return _value_text(self.b, self.member_id)


def _value_text(value: Any, member: str | None) -> str:
    if value is ABSENT:
        return "(unknown)"
    if member is not None:
        return "member" if value else "not a member"
    return format_value(value)


@dataclass(frozen=True, slots=True)
class ObjectDelta:
    """An object that differs between backup A and backup B."""

    object_id: str
    entity_type: str
    display_name: str
    kind: DeltaKind
    properties: tuple[PropertyDelta, ...] = ()

    @property
    def property_names(self) -> list[str]:
        return list(dict.fromkeys(p.name if p.member_id is None else "members" for p in self.properties))


@dataclass(frozen=True, slots=True)
class MovedObject:
    """An object whose live state differs between the two reports: left out of the verdict. ``properties``
    name what visibly moved (``(existence)`` when one report saw it live and deleted, the other live and not
    deleted)."""

    object_id: str
    entity_type: str
    display_name: str
    properties: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ReportSide:
    """One side of a comparison: the backup and the report that compares it with the live tenant."""

    snapshot_id: str
    backup_time: datetime | None
    report_id: str
    report_time: datetime | None
    scope: FilteringCriteria | None = None


@dataclass(frozen=True, slots=True)
class Uncovered:
    """Objects of a type that only one report covers (never compared)."""

    entity_type: str
    covered_by: str  # "A" or "B"
    objects: int


@dataclass(frozen=True, slots=True)
class Comparison:
    """What differs between backup A and backup B (see the module docstring for the rule)."""

    a: ReportSide
    b: ReportSide
    objects: tuple[ObjectDelta, ...]
    moved: tuple[MovedObject, ...]
    uncovered: tuple[Uncovered, ...] = ()
    unreadable: tuple[str, ...] = ()
    compared: int = 0
    """Objects either report lists that were judged (moved and uncovered ones excluded)."""

    @property
    def gap_seconds(self) -> float | None:
        """Time between the two reports (the live tenant could have moved in it)."""
        if self.a.report_time is None or self.b.report_time is None:
            return None
        return abs((self.b.report_time - self.a.report_time).total_seconds())

    def counts(self) -> dict[str, dict[str, int]]:
        """Objects per type and kind (``changed``, ``appeared``, ``disappeared``)."""
        out: dict[str, dict[str, int]] = {}
        for delta in self.objects:
            by_kind = out.setdefault(delta.entity_type, {})
            by_kind[delta.kind.value] = by_kind.get(delta.kind.value, 0) + 1
        return out


@dataclass(slots=True)
class _Side:
    """What one report says about one object (several change objects merged)."""

    action: str
    name: str
    delta: dict[str, Any] = field(default_factory=dict)
    current: dict[str, Any] = field(default_factory=dict)
    links: dict[str, bool] = field(default_factory=dict)  # member id -> linked in the backup


def _is_property(key: str) -> bool:
    return not key.startswith("@") and "@" not in key and key not in _LIFECYCLE_KEYS


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, Mapping | list) or isinstance(b, Mapping | list):
        return _canonical(a) == _canonical(b)
    return bool(a == b and type(a) is type(b))


def _strip(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _strip(v) for k, v in value.items() if not str(k).startswith("@")
                and "@odata." not in str(k)}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _canonical(value: Any) -> str:
    return json.dumps(_strip(value), sort_keys=True, default=str)


def _links(delta: Mapping[str, Any]) -> dict[str, bool]:
    """Member id → whether the backup has the link (an element without ``@removed`` is a link recovery adds,
    so the backup has it and the live tenant does not)."""
    out: dict[str, bool] = {}
    items = delta.get(MEMBERS_DELTA)
    if isinstance(items, list):
        for item in items:
            if isinstance(item, Mapping) and isinstance(item.get("id"), str):
                out[item["id"]] = "@removed" not in item
    return out


def _side_of(change: Change) -> _Side:
    side = _Side(change.action_raw, change.display_name)
    side.delta = {k: v for k, v in change.delta.items() if _is_property(k)}
    side.current = {k: v for k, v in change.current.items() if _is_property(k)}
    side.links = _links(change.delta)
    return side


def _merge(into: _Side, other: _Side) -> None:
    """A second change object of the same object in one report: its properties and links are added."""
    if into.action == "update" and other.action != "update":
        into.action = other.action
    into.delta.update(other.delta)
    into.current.update(other.current)
    into.links.update(other.links)


def _in_backup(action: str) -> Presence | None:
    """The object's presence in the backup, from the report's action (``None`` for an action not known)."""
    if action in ("update", "restore"):
        return Presence.PRESENT
    if action == "softDelete":
        return Presence.NOT_PRESENT
    return None


def _live(action: str) -> Presence | None:
    """The object's live presence when the report was taken, from its action."""
    if action in ("update", "softDelete"):
        return Presence.PRESENT
    if action == "restore":
        return Presence.NOT_PRESENT
    return None


def covers(scope: FilteringCriteria | None, entity_type: str, object_id: str) -> bool:
    """Whether a report of ``scope`` covers an object (an unscoped report covers everything)."""
    if scope is None:
        return True
    if isinstance(scope, EntityNamesFilter):
        return entity_type in scope.entity_types
    if isinstance(scope, EntityNameAndIdsFilter):
        return any(t == entity_type and object_id in ids for t, ids in scope.values)
    return False


class CompareBuilder:
    """Feeds two reports' changes into a :class:`Comparison` (report A first, then B)."""

    def __init__(self, a: ReportSide, b: ReportSide) -> None:
        self.a = a
        self.b = b
        self._a: dict[tuple[str, str], _Side] = {}
        self._b: dict[tuple[str, str], _Side] = {}
        self._unreadable: set[str] = set()

    def add_a(self, changes: Iterable[Change]) -> None:
        self._add(self._a, changes)

    def add_b(self, changes: Iterable[Change]) -> None:
        self._add(self._b, changes)

    def _add(self, into: dict[tuple[str, str], _Side], changes: Iterable[Change]) -> None:
        for change in changes:
            if not change.readable:
                if change.id:
                    self._unreadable.add(change.id)
                continue
            key = (change.entity_type_raw, change.id)
            side = _side_of(change)
            known = into.get(key)
            if known is None:
                into[key] = side
            else:
                _merge(known, side)

    def finish(self) -> Comparison:
        objects: list[ObjectDelta] = []
        moved: list[MovedObject] = []
        uncovered: dict[tuple[str, str], int] = {}
        compared = 0
        for key in sorted(self._a.keys() | self._b.keys()):
            entity_type, object_id = key
            if object_id in self._unreadable:
                continue
            in_a = covers(self.a.scope, entity_type, object_id)
            in_b = covers(self.b.scope, entity_type, object_id)
            if not (in_a and in_b):
                which = "A" if in_a else "B"
                uncovered[(entity_type, which)] = uncovered.get((entity_type, which), 0) + 1
                continue
            side_a, side_b = self._a.get(key), self._b.get(key)
            found = _judge(entity_type, object_id, side_a, side_b)
            if isinstance(found, MovedObject):
                moved.append(found)
                continue
            compared += 1
            if found is not None:
                objects.append(found)
        objects.sort(key=lambda d: (d.entity_type, d.kind.value, d.display_name.casefold(), d.object_id))
        moved.sort(key=lambda m: (m.entity_type, m.display_name.casefold(), m.object_id))
        return Comparison(
            self.a, self.b, tuple(objects), tuple(moved),
            tuple(Uncovered(t, w, n) for (t, w), n in sorted(uncovered.items())),
            tuple(sorted(self._unreadable)), compared)


def _judge(entity_type: str, object_id: str, a: _Side | None, b: _Side | None
           ) -> ObjectDelta | MovedObject | None:
    """One object's verdict: how it differs between A and B, ``None`` when it does not, or the visible move of
    the live tenant that keeps it out of the verdict."""
    known = b if b is not None else a
    name = known.name if known is not None else ""
    live_a = _live(a.action) if a is not None else None
    live_b = _live(b.action) if b is not None else None
    if live_a is not None and live_b is not None and live_a != live_b:
        return MovedObject(object_id, entity_type, name, ("(existence)",))
    live = live_a or live_b
    at_a = _in_backup(a.action) if a is not None else live
    at_b = _in_backup(b.action) if b is not None else live
    if at_a is None or at_b is None:
        return None  # an action this version does not know: nothing can be said
    if at_a != at_b:
        kind = DeltaKind.APPEARED if at_b is Presence.PRESENT else DeltaKind.DISAPPEARED
        return ObjectDelta(object_id, entity_type, name, kind)
    if at_a is Presence.NOT_PRESENT:
        return None
    moved = _moved_properties(a, b)
    if moved:
        return MovedObject(object_id, entity_type, name, tuple(moved))
    properties = _property_deltas(a, b) + _member_deltas(a, b)
    if not properties:
        return None
    return ObjectDelta(object_id, entity_type, name, DeltaKind.CHANGED, tuple(properties))


def _moved_properties(a: _Side | None, b: _Side | None) -> list[str]:
    """Properties (and members) whose live value differs between the two reports, where both show it; every
    change object also carries the object's live display name (``(name)`` when it differs)."""
    if a is None or b is None:
        return []
    out = [k for k in a.current if k in b.current and not _same(a.current[k], b.current[k])]
    if a.name != b.name and "displayName" not in out:
        out.append("(name)")
    for member in sorted(a.links.keys() & b.links.keys()):
        if a.links[member] != b.links[member]:  # live linked = not in the backup, on each side
            out.append(f"members[{member}]")
    return out


def _property_deltas(a: _Side | None, b: _Side | None) -> list[PropertyDelta]:
    keys: dict[str, None] = {}
    for side in (a, b):
        if side is not None:
            keys.update(dict.fromkeys(side.delta))
    out: list[PropertyDelta] = []
    for key in keys:
        value_a = _backup_value(key, a, b)
        value_b = _backup_value(key, b, a)
        if value_a is ABSENT or value_b is ABSENT or not _same(value_a, value_b):
            out.append(PropertyDelta(key, value_a, value_b))
    return out


def _backup_value(key: str, side: _Side | None, other: _Side | None) -> Any:
    """A property's value in this side's backup: from its report's delta, else the live value (from this
    report's current state, else the other report's); ``ABSENT`` when no report shows it."""
    if side is not None and key in side.delta:
        return side.delta[key]
    if side is not None and key in side.current:
        return side.current[key]
    if other is not None and key in other.current:
        return other.current[key]
    return ABSENT


def _member_deltas(a: _Side | None, b: _Side | None) -> list[PropertyDelta]:
    members = sorted((a.links.keys() if a else set()) | (b.links.keys() if b else set()))
    out: list[PropertyDelta] = []
    for member in members:
        linked_a = _linked(member, a, b)
        linked_b = _linked(member, b, a)
        if linked_a != linked_b:
            out.append(PropertyDelta(f"members[{member}]", linked_a, linked_b, member_id=member))
    return out


def _linked(member: str, side: _Side | None, other: _Side | None) -> bool:
    """Whether this side's backup has the link: from its report, else the live state the other shows."""
    if side is not None and member in side.links:
        return side.links[member]
    assert other is not None and member in other.links
    return not other.links[member]  # live = the opposite of what the other backup has


# -- rows of the diff pane --------------------------------------------------------------------------------

#: What a compare row says in the value columns when a side's value cannot be known.
UNKNOWN_TEXT = "(unknown)"


def _row_text(value: Any) -> str:
    return UNKNOWN_TEXT if value is ABSENT else plain_value(value)


def _row_kind(a: Any, b: Any) -> DiffKind:
    if a is ABSENT or b is ABSENT:
        return DiffKind.UNKNOWN
    if a is None:
        return DiffKind.ADDED
    if b is None:
        return DiffKind.REMOVED
    return DiffKind.CHANGED


def _value_rows(rows: list[DiffRow], path: str, label: str, depth: int, a: Any, b: Any) -> None:
    """One property's row; where both sides are objects, a header row and a row per key that differs
    (nested the same way), so a long policy shows only the part that moved."""
    if isinstance(a, Mapping) and isinstance(b, Mapping) and a and b:
        rows.append(DiffRow(path, label, depth, DiffKind.CHANGED, a, b, "", "", None, is_header=True))
        keys = [k for k in a if not str(k).startswith("@")]
        keys += [k for k in b if k not in a and not str(k).startswith("@")]
        for key in keys:
            inner_a, inner_b = a.get(key), b.get(key)
            if key in a and key in b and _same(inner_a, inner_b):
                continue
            _value_rows(rows, f"{path}.{key}", str(key), depth + 1, inner_a, inner_b)
        return
    rows.append(DiffRow(path, label, depth, _row_kind(a, b), a, b, _row_text(a), _row_text(b), None))


def compare_rows(delta: ObjectDelta, resolve_name: NameResolver | None = None) -> list[DiffRow]:
    """The rows the diff pane shows for one object of a comparison: backup A's value in the ``backup``
    column, backup B's in the ``current`` one (the pane heads them "A …" and "B …"); an object that exists
    in one backup only is one row saying so; a static member is a row ``member <name>`` (``+`` a member in B
    only, ``−`` in A only)."""
    rows: list[DiffRow] = []
    if delta.kind is not DeltaKind.CHANGED:
        present_a = delta.kind is DeltaKind.DISAPPEARED
        rows.append(DiffRow("(object)", "the object", 0,
                            DiffKind.REMOVED if present_a else DiffKind.ADDED,
                            present_a, not present_a,
                            "exists" if present_a else "not there (or deleted)",
                            "not there (or deleted)" if present_a else "exists", None,
                            note=delta.kind.words))
        return rows
    members = [p for p in delta.properties if p.member_id is not None]
    for prop in delta.properties:
        if prop.member_id is None:
            _value_rows(rows, prop.name, prop.name, 0, prop.a, prop.b)
    if members:
        rows.append(DiffRow("members", "members", 0, DiffKind.CHANGED, ABSENT, ABSENT, "", "", None,
                            is_header=True, note=f"{len(members):,} differ"))
    for prop in members:
        member = prop.member_id or ""
        name = resolve_name(member) if resolve_name is not None else None
        label = f"{name} ({member})" if name else member
        rows.append(DiffRow(f"members[{member}]", label, 1,
                            DiffKind.ADDED if prop.b and not prop.a else DiffKind.REMOVED,
                            prop.a, prop.b, prop.a_text, prop.b_text, None, member_id=member))
    return rows


def moved_rows(moved: MovedObject) -> list[DiffRow]:
    """The rows of an object left out of the comparison: what moved in the live tenant between the two
    reports (neither backup's value can be told apart from that move)."""
    reason = "the live value differs between the two reports"
    return [DiffRow(name, name, 0, DiffKind.UNKNOWN, ABSENT, ABSENT, "not compared", reason, None,
                    reason=reason)
            for name in moved.properties]
