"""Side-by-side diff rows of one changed object: property, backup value, current value, glyph, coverage.

Perspective: the *backup* column is ``deltaFromCurrent`` (what recovery writes), the *current* column is
``currentState``. Glyphs describe what a restore does: ``~`` changes a value, ``+`` adds (present in the
backup, absent now), ``−`` removes (absent in the backup, present now); a blank glyph marks unchanged context.

Nested objects (Conditional Access ``conditions``) become dotted paths with a header row per object; lists are
diffed item by item (by ``id`` when every item has a unique one, otherwise by value); ``<rel>@delta`` arrays
become member rows "added by restore" / "removed by restore"; restore and soft-delete get one summary row.
Annotations (``@odata.type``, ``@removed``, ``prop@odata.*``) are never rows.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .catalog import DYNAMIC_MEMBERS_REASON, is_dynamic_group, link_coverage, path_coverage
from .model import Change, RecoveryAction, SyncStatus
from .recoverability import SYNC_UNKNOWN_REASON, blocking_verdict
from .text import display_text

#: A row's coverage: recoverable (``None``: unknown, the object's sync status is not known) and why not.
Cover = tuple[bool | None, str | None]


class _Absent:
    """Marks a missing key (as opposed to one present with ``null``); copies stay ``ABSENT``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "ABSENT"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()

NameResolver = Callable[[str], str | None]


class DiffKind(StrEnum):
    """What a restore does to one row."""

    CHANGED = "changed"
    ADDED = "added"
    REMOVED = "removed"
    UNCHANGED = "unchanged"
    RESTORE = "restore"
    SOFT_DELETE = "softDelete"
    UNKNOWN = "unknown"

    @property
    def glyph(self) -> str:
        """Text glyph for the row (never colour alone)."""
        return _GLYPHS[self]


_GLYPHS = {
    DiffKind.CHANGED: "~", DiffKind.ADDED: "+", DiffKind.REMOVED: "−", DiffKind.UNCHANGED: " ",
    DiffKind.RESTORE: "+", DiffKind.SOFT_DELETE: "−", DiffKind.UNKNOWN: "?",
}


@dataclass(frozen=True, slots=True)
class DiffRow:
    """One row of the side-by-side diff.

    ``path`` is the full dotted path (``conditions.users.includeUsers``, ``members[<id>]``); ``label`` is its
    last segment (or the member name), meant to be shown indented by ``depth``. ``backup`` / ``current`` are
    the raw JSON values (``ABSENT`` when the key is missing); ``backup_text`` / ``current_text`` are their
    display strings. Header rows (objects, lists, link groups) are followed by their child rows.
    Paths are not guaranteed unique; use the row's position as a key. ``recoverable`` follows
    :mod:`~entrabr_tui.core.recoverability` per property: ``None`` (unknown) where the catalogue recovers the
    property but the object's sync status is unknown.
    """

    path: str
    label: str
    depth: int
    kind: DiffKind
    backup: Any
    current: Any
    backup_text: str
    current_text: str
    recoverable: bool | None
    reason: str | None = None
    is_header: bool = False
    note: str | None = None
    member_id: str | None = None
    member_type: str | None = None

    @property
    def glyph(self) -> str:
        return self.kind.glyph

    @property
    def changed(self) -> bool:
        return self.kind is not DiffKind.UNCHANGED


def _escape_controls(text: str) -> str:
    """``text`` under the display rule for tenant text (escape sequences and invisible characters visible)."""
    return display_text(text, limit=None)


def format_value(value: Any) -> str:
    """Display string of a JSON value, kept literal and complete (never truncated).

    Strings are shown unquoted (``""`` for the empty string); ``null``/``true``/``false`` and numbers as in
    JSON; objects and lists as compact JSON. A missing key (``ABSENT``) is the empty string. Escape sequences,
    controls and bidi overrides follow the display rule (:func:`~entrabr_tui.core.text.display_text`) so
    that they cannot alter the terminal; markup such as ``[bold]`` is left as it is for the UI to render
    literally.
    """
    if value is ABSENT:
        return ""
    if isinstance(value, str):
        return _escape_controls(value) if value else '""'
    if value is None or isinstance(value, bool | int | float):
        return json.dumps(value)
    if isinstance(value, Mapping | list | tuple):
        return _escape_controls(json.dumps(value, ensure_ascii=False, default=str))
    return _escape_controls(str(value))


def plain_value(value: Any) -> str:
    """A value as a person reads it: like :func:`format_value`, but objects and lists in words rather than
    JSON. An object with one field shows that field's value (a CIDR range ``{"cidrAddress": "10.0.0.0/8"}``
    is ``10.0.0.0/8``), others ``key: value; key: value``; a list is its items separated by commas; ``{}`` and
    ``[]`` stay as they are. Annotations (``@odata.type`` …) are left out."""
    if isinstance(value, Mapping):
        fields = [(str(k), v) for k, v in value.items() if not _is_annotation(str(k))]
        if not fields:
            return "{}"
        if len(fields) == 1:
            return plain_value(fields[0][1])
        return "; ".join(f"{_escape_controls(k)}: {plain_value(v)}" for k, v in fields)
    if isinstance(value, list | tuple):
        return ", ".join(plain_value(v) for v in value) if value else "[]"
    return format_value(value)


#: Conditional Access policy states as the Entra admin center names them.
_CA_STATES = {
    "enabled": "On",
    "disabled": "Off",
    "enabledForReportingButNotEnforced": "Report-only",
}
#: Lists of a Conditional Access policy that hold object ids (users, groups, roles, applications).
_CA_ID_LISTS = frozenset({
    "includeUsers", "excludeUsers", "includeGroups", "excludeGroups", "includeRoles", "excludeRoles",
    "includeApplications", "excludeApplications", "includeGuestsOrExternalUsers",
})
#: Application-like types created since a backup: what to look at before a restore soft-deletes one.
_TRIAGE_TYPES = frozenset({"application", "serviceprincipal"})
_TRIAGE_KEYS = ("appId", "owners@delta", "keyCredentials", "passwordCredentials")


def raw_json(change: Change) -> str:
    """The change as Graph JSON (sorted keys, indent 2) for the raw toggle."""
    data: dict[str, Any] = {
        "id": change.id,
        "entityTypeName": change.entity_type_raw,
        "displayName": change.display_name,
        "recoveryAction": change.action_raw,
        "deltaFromCurrent": change.delta,
        "currentState": change.current,
    }
    if change.failure_message is not None:
        data["failureMessage"] = change.failure_message
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False, default=str)


def _is_annotation(key: str) -> bool:
    return key.startswith("@") or ("@" in key and not key.endswith("@delta"))


def _strip(value: Any) -> Any:
    """A copy without annotation keys (``@odata.type`` …), for display and comparison of list items."""
    if isinstance(value, Mapping):
        return {k: _strip(v) for k, v in value.items() if not _is_annotation(str(k))}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _kind(backup: Any, current: Any) -> DiffKind:
    b = None if backup is ABSENT else backup
    c = None if current is ABSENT else current
    if isinstance(b, Mapping | list) and isinstance(c, Mapping | list):
        if _strip(b) == _strip(c):
            return DiffKind.UNCHANGED
    elif b == c and type(b) is type(c):
        return DiffKind.UNCHANGED
    if c is None:
        return DiffKind.ADDED
    if b is None:
        return DiffKind.REMOVED
    return DiffKind.CHANGED


def _non_empty_mapping(value: Any) -> bool:
    return isinstance(value, Mapping) and len(value) > 0


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _same_items(backup: list[Any], current: list[Any]) -> bool:
    counts = Counter(_canonical(_strip(item)) for item in backup)
    counts.subtract(_canonical(_strip(item)) for item in current)
    return not any(counts.values())


def _items_text(value: Any) -> str:
    if isinstance(value, list):
        return f"{len(value)} item" + ("" if len(value) == 1 else "s")
    return format_value(value)


def _short_type(odata_type: object) -> str | None:
    if not isinstance(odata_type, str) or not odata_type:
        return None
    return odata_type.rsplit(".", 1)[-1].lstrip("#")


class _Differ:
    def __init__(self, change: Change, resolve_name: NameResolver | None, include_unchanged: bool) -> None:
        self.change = change
        self.resolve_name = resolve_name
        self.include_unchanged = include_unchanged
        self.rows: list[DiffRow] = []
        self.conditional_access = change.entity_type_raw.casefold() == "conditionalaccesspolicy"
        odata = change.delta.get("@odata.type") or change.current.get("@odata.type")
        self.odata_type = odata if isinstance(odata, str) else None
        gate = blocking_verdict(change.entity_type_raw, change.action_raw, change.sync, change.unreadable)
        self.blocked: str | None = None if gate is None else gate.detail
        self.sync_unknown = change.sync is SyncStatus.UNKNOWN

    def hedge(self, recoverable: bool, reason: str | None) -> Cover:
        """What the catalogue recovers is only "unknown" while the object's sync status is."""
        return (None, SYNC_UNKNOWN_REASON) if recoverable and self.sync_unknown else (recoverable, reason)

    def coverage(self, parts: tuple[str, ...]) -> Cover:
        if self.blocked is not None:
            return False, self.blocked
        cov = path_coverage(self.change.entity_type_raw, parts, self.odata_type)
        return self.hedge(cov.recoverable, cov.reason)

    def emit(self, path: str, label: str, depth: int, kind: DiffKind, backup: Any, current: Any,
             cover: Cover, *, header: bool = False, note: str | None = None,
             texts: tuple[str, str] | None = None, member: tuple[str, str | None] | None = None) -> None:
        if kind is DiffKind.UNCHANGED and not self.include_unchanged:
            return
        b_text, c_text = texts if texts is not None else (self.text(path, backup), self.text(path, current))
        self.rows.append(DiffRow(
            path=_escape_controls(path), label=_escape_controls(label), depth=depth, kind=kind,
            backup=backup, current=current,
            backup_text=b_text, current_text=c_text, recoverable=cover[0], reason=cover[1], is_header=header,
            note=note, member_id=member[0] if member else None, member_type=member[1] if member else None,
        ))

    def text(self, path: str, value: Any) -> str:
        """The display text of one value at ``path`` (plain words; named where the object is known)."""
        if self.conditional_access and path == "state" and isinstance(value, str) and value in _CA_STATES:
            return f"{_CA_STATES[value]} ({value})"
        if (isinstance(value, str) and value and self.resolve_name is not None and self.conditional_access
                and path.rsplit(".", 1)[-1].split("[", 1)[0] in _CA_ID_LISTS):
            name = self.resolve_name(value)
            if isinstance(name, str) and name:
                return f"{_escape_controls(name)} ({_escape_controls(value)})"
        return plain_value(value)

    def node(self, path: str, label: str, depth: int, parts: tuple[str, ...], backup: Any,
             current: Any) -> None:
        kind = _kind(backup, current)
        if kind is DiffKind.UNCHANGED and not self.include_unchanged:
            return
        cover = self.coverage(parts)
        dict_like = (isinstance(backup, Mapping) or backup in (None, ABSENT)) and (
            isinstance(current, Mapping) or current in (None, ABSENT))
        if dict_like and (_non_empty_mapping(backup) or _non_empty_mapping(current)):
            self.emit(path, label, depth, kind, backup, current, cover, header=True, texts=("", ""))
            b = backup if isinstance(backup, Mapping) else {}
            c = current if isinstance(current, Mapping) else {}
            keys = [k for k in b if not _is_annotation(str(k))]
            keys += [k for k in c if k not in b and not _is_annotation(str(k))]
            for key in keys:
                k = str(key)
                self.node(f"{path}.{k}", k, depth + 1, (*parts, k), b.get(key, ABSENT), c.get(key, ABSENT))
            return
        list_like = (isinstance(backup, list) or backup in (None, ABSENT)) and (
            isinstance(current, list) or current in (None, ABSENT))
        if list_like and (isinstance(backup, list) or isinstance(current, list)):
            texts = (_items_text(backup), _items_text(current))
            note = None
            if kind is DiffKind.CHANGED and _same_items(backup, current):
                kind, note = DiffKind.UNCHANGED, "same items in a different order"
            self.emit(path, label, depth, kind, backup, current, cover, header=True, texts=texts, note=note)
            b_list = backup if isinstance(backup, list) else []
            c_list = current if isinstance(current, list) else []
            self.list_items(path, depth + 1, parts, b_list, c_list)
            return
        shown_b = _strip(backup) if isinstance(backup, Mapping | list) else backup
        shown_c = _strip(current) if isinstance(current, Mapping | list) else current
        self.emit(path, label, depth, kind, shown_b, shown_c, cover)

    def list_items(self, path: str, depth: int, parts: tuple[str, ...], b_list: list[Any],
                   c_list: list[Any]) -> None:
        b_keyed, c_keyed = _by_id(b_list), _by_id(c_list)
        if b_keyed is not None and c_keyed is not None and (b_keyed or c_keyed):
            for item_id in [*b_keyed, *(k for k in c_keyed if k not in b_keyed)]:
                b_item, c_item = b_keyed.get(item_id, ABSENT), c_keyed.get(item_id, ABSENT)
                item_path, item_parts = f"{path}[{item_id}]", (*parts, item_id)
                if b_item is not ABSENT and c_item is not ABSENT:
                    self.node(item_path, f"[{item_id}]", depth, item_parts, b_item, c_item)
                else:
                    self.item(item_path, f"[{item_id}]", depth, item_parts, b_item, c_item)
            return
        remaining = Counter(_canonical(_strip(item)) for item in c_list)
        matched: Counter[str] = Counter()
        for index, item in enumerate(b_list):
            key = _canonical(_strip(item))
            both = remaining[key] > 0
            if both:
                remaining[key] -= 1
                matched[key] += 1
            self.item(f"{path}[{index}]", f"[{index}]", depth, (*parts, str(index)), item,
                      item if both else ABSENT)
        for index, item in enumerate(c_list):
            key = _canonical(_strip(item))
            if matched[key] > 0:
                matched[key] -= 1
                continue
            self.item(f"{path}[{index}]", f"[{index}]", depth, (*parts, str(index)), ABSENT, item)

    def item(self, path: str, label: str, depth: int, parts: tuple[str, ...], backup: Any,
             current: Any) -> None:
        # List items exist on one side or both (``null`` items included); they never "change".
        if backup is ABSENT:
            kind, note = DiffKind.REMOVED, "removed by restore"
        elif current is ABSENT:
            kind, note = DiffKind.ADDED, "added by restore"
        else:
            kind, note = DiffKind.UNCHANGED, None
        b = _strip(backup) if backup is not ABSENT else ABSENT
        c = _strip(current) if current is not ABSENT else ABSENT
        self.emit(path, label, depth, kind, b, c, self.coverage(parts), note=note)

    def links(self, rel: str, value: Any) -> None:
        items = value if isinstance(value, list) else [value] if isinstance(value, Mapping) else []
        if self.blocked is not None:
            cover: Cover = (False, self.blocked)
        else:
            cov = link_coverage(self.change.entity_type_raw, rel)
            cover = self.hedge(cov.recoverable, cov.reason)
            if cov.recoverable and rel.casefold() == "members" and is_dynamic_group(self.change):
                cover = (False, DYNAMIC_MEMBERS_REASON)
        added = sum(1 for i in items if isinstance(i, Mapping) and "@removed" not in i)
        removed = sum(1 for i in items if isinstance(i, Mapping) and "@removed" in i)
        note = f"{added} added by restore, {removed} removed by restore"
        self.emit(rel, rel, 0, DiffKind.CHANGED, ABSENT, ABSENT, cover, header=True, note=note,
                  texts=("", ""))
        for item in items:
            if not isinstance(item, Mapping):
                continue
            member_id = str(item.get("id", ""))
            name = self.member_name(member_id, item)
            member_type = _short_type(item.get("@odata.type"))
            is_removed = "@removed" in item
            kind = DiffKind.REMOVED if is_removed else DiffKind.ADDED
            texts = ("", name) if is_removed else (name, "")
            b, c = (ABSENT, _strip(item)) if is_removed else (_strip(item), ABSENT)
            label = _escape_controls(member_type) if member_type else "member"
            self.emit(f"{rel}[{member_id}]", label, 1, kind, b, c, cover, texts=texts,
                      note="removed by restore" if is_removed else "added by restore",
                      member=(member_id, member_type))

    def member_name(self, member_id: str, item: Mapping[str, Any]) -> str:
        """``Name (03727d0f…)`` when the name is known (from the cache, else from the link item), else the
        whole id (the row's ``member_id`` always holds the whole id)."""
        shown_id = _escape_controls(member_id) if member_id else "(no id)"
        names: list[object] = [self.resolve_name(member_id)] if self.resolve_name is not None and member_id \
            else []
        names += [item.get(key) for key in ("displayName", "userPrincipalName", "mail")]
        for name in names:
            if isinstance(name, str) and name:
                short = shown_id if len(shown_id) <= 9 else shown_id[:8] + "…"
                return f"{_escape_controls(name)} ({short})"
        return shown_id

    def summary(self) -> None:
        action = self.change.action
        cover = (False, self.blocked) if self.blocked is not None else self.hedge(True, None)
        deleted_now = self.change.current.get("deletedDateTime")
        when = f" {format_value(deleted_now)}" if isinstance(deleted_now, str) else ""
        if action is RecoveryAction.RESTORE:
            note = "object will be restored from deleted items"
            self.emit("(object)", "(object)", 0, DiffKind.RESTORE, self.change.delta.get("deletedDateTime"),
                      deleted_now, cover, note=note, texts=("active", f"deleted{when}"))
        elif action is RecoveryAction.SOFT_DELETE:
            note = ("created since the backup: a restore soft-deletes it (moved to deleted items, restorable "
                    "for 30 days)")
            if self.change.entity_type_raw.casefold() in _TRIAGE_TYPES:
                change = self.change
                found = [key for key in _TRIAGE_KEYS if key in change.current or key in change.delta]
                note += (f"; check {', '.join(found)} below before restoring" if found else
                         "; the service sent no appId, owners or credentials to check")
            created = self.change.current.get("createdDateTime")
            now = "exists now" + (f" (created {format_value(created)})" if isinstance(created, str) else "")
            self.emit("(object)", "(object)", 0, DiffKind.SOFT_DELETE, self.change.delta.get("@removed"),
                      deleted_now, cover, note=note, texts=("absent from the backup (created since)", now))
        elif action is RecoveryAction.UNKNOWN_FUTURE_VALUE:
            note = f"unknown recovery action {self.change.action_raw!r}: shown as reported"
            self.emit("(object)", "(object)", 0, DiffKind.UNKNOWN, ABSENT, ABSENT, cover, note=note,
                      texts=(self.change.action_raw, ""))

    def run(self) -> list[DiffRow]:
        self.summary()
        delta, current = self.change.delta, self.change.current
        object_level = self.change.action in (RecoveryAction.RESTORE, RecoveryAction.SOFT_DELETE)
        link_keys = []
        for key in delta:
            k = str(key)
            if k.endswith("@delta") and not k.startswith("@"):
                link_keys.append(k)
            elif not _is_annotation(k) and not (object_level and k == "deletedDateTime"):
                self.node(k, k, 0, (k,), delta[key], current.get(key, ABSENT))
        for key in current:
            k = str(key)
            if key in delta or _is_annotation(k) or k.endswith("@delta") or (
                    object_level and k == "deletedDateTime"):
                continue
            if self.include_unchanged:
                cover = self.coverage((k,))
                shown = _strip(current[key])
                self.emit(k, k, 0, DiffKind.UNCHANGED, ABSENT, shown, cover, note="not written by restore")
        for k in link_keys:
            self.links(k[: -len("@delta")], delta[k])
        return self.rows


def _by_id(items: list[Any]) -> dict[str, Any] | None:
    """Items keyed by their ``id`` when every item is an object with a unique string id, else ``None``."""
    out: dict[str, Any] = {}
    for item in items:
        if not isinstance(item, Mapping):
            return None
        item_id = item.get("id")
        if not isinstance(item_id, str) or item_id in out:
            return None
        out[item_id] = item
    return out


def diff_change(change: Change, resolve_name: NameResolver | None = None, *,
                include_unchanged: bool = True) -> list[DiffRow]:
    """The diff rows of one change, in display order (summary, properties, current-only keys, links).

    ``resolve_name(id)`` names link targets (e.g. from the cache); ``None`` or an empty result falls back to
    names carried in the link item, then to the id. ``include_unchanged=False`` drops context rows.
    """
    return _Differ(change, resolve_name, include_unchanged).run()


def changed_rows(rows: list[DiffRow]) -> list[DiffRow]:
    """Only the rows a restore would act on (for a "changes only" view)."""
    return [row for row in rows if row.changed]
