"""The join of a difference report with the directory audit log: who made each change (pure; no I/O).

For one change object and the audit events of its object since the backup (minus a margin), every changed
*part* of the change is matched with the events that name it, newest first:

* a property (``jobTitle``): events whose modified property maps to it (:mod:`.audit_names`); a nested one
  (``onPremisesExtensionAttributes.extensionAttribute3``) by its path; a whole-object record (Conditional
  Access ``ConditionalAccessPolicy``, named locations) by the property's path inside the object; one item of
  a collection (``authenticationMethodConfigurations``) by the item's id;
* a link (an entry of ``members@delta``/``owners@delta``): ``Add``/``Remove member``/``owner`` records naming
  both objects; the last one must leave the link as it is now (a link removed since is also explained by the
  purge of the linked object: a hard delete drops its links with no record of their own);
* the object's life (``restore``: deleted since the backup; ``softDelete``: created since): the last
  ``Delete …``/``Add …``/``Restore …`` record.

A part is **explained** when the last matching successful event's decoded new value equals the current value
(for links and lifecycles: the last event leaves the object as it is now); the event says who, through which
app, when and under which correlation id. Otherwise it is **unexplained**, with the reason: no record at all
(a log gap, a property the log never records, records older than the retention, a synchronised object), or
a mismatch (the last record's value is not the current one: a later change was not logged, or not ingested
yet). Credentials count as explained by a record naming them: the log never holds secrets.

A change is explained when all its parts are, partly explained when some are, ``sync`` when directory
synchronization wrote the parts that are explained (or the object is synchronised and nothing explains it),
unexplained otherwise. Its
*primary* event (actor and operation for grouping) is the explaining event of the actor who explains the most
parts (ties: the latest); without one, the last event that named any part.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .audit_model import TargetEvent
from .audit_names import AuditName, Loads, NameKind, audit_property, audit_value, same_value
from .model import Change, RecoveryAction

#: Graph properties the directory never writes to its audit log ("by design").
UNLOGGED_PROPERTIES = frozenset({"usageLocation"})
LIFECYCLE = "deletedDateTime"
_LINK_ACTIVITIES: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "members": (frozenset({"add member to group", "group_addmember"}),
                frozenset({"remove member from group", "group_removemember"})),
    "memberof": (frozenset({"add member to group", "group_addmember"}),
                 frozenset({"remove member from group", "group_removemember"})),
    "owners": (frozenset({"add owner to group", "add owner to application",
                          "add owner to service principal"}),
               frozenset({"remove owner from group", "remove owner from application",
                          "remove owner from service principal"})),
}
DELETE_ACTIVITIES = frozenset({
    "delete user", "delete group", "delete application", "remove service principal",
    "delete conditional access policy", "delete named location",
})
CREATE_ACTIVITIES = frozenset({
    "add user", "add group", "add application", "add service principal", "invite external user",
    "add conditional access policy", "add named location",
    "restore user", "restore group", "restore application", "restore service principal",
})


class Verdict(StrEnum):
    """How well the audit log explains a change (or one of its properties)."""

    EXPLAINED = "explained"
    PARTLY = "partly"
    SYNC = "sync"
    UNEXPLAINED = "unexplained"


class Reason(StrEnum):
    """Why a property (or a change) is not explained."""

    NO_RECORD = "noRecord"
    MISMATCH = "mismatch"
    UNLOGGED = "unlogged"
    EXPIRED = "expired"
    SYNC = "sync"

    @property
    def text(self) -> str:
        return _REASON_TEXT[self]


_REASON_TEXT = {
    Reason.NO_RECORD: "no audit record since the backup (a gap in the log, or a write the log does not "
                      "record)",
    Reason.MISMATCH: "the last audit record sets another value: a later change is not in the log (not "
                     "ingested yet, or not logged)",
    Reason.UNLOGGED: "the directory never writes this property to its audit log",
    Reason.EXPIRED: "the backup is older than the audit log's retention: its records may have expired",
    Reason.SYNC: "synchronised from on-premises: changed at the source, written by directory synchronization",
}


@dataclass(frozen=True, slots=True)
class PartExplanation:
    """One changed part of a change (a property, a path, an item, a link, the object's life)."""

    name: str  # "jobTitle", "onPremisesExtensionAttributes.extensionAttribute3", "members:<id>", …
    verdict: Verdict
    reason: Reason | None
    event: TargetEvent | None  # the last matching event (the explaining one when explained)
    events: tuple[TargetEvent, ...]  # every matching event in the window, oldest first
    logged: Any = None  # the last event's decoded new value (for display)


@dataclass(frozen=True, slots=True)
class ChangeExplanation:
    """The join's verdict on one change, its parts, and the event that names its actor and operation."""

    verdict: Verdict
    reason: Reason | None
    parts: tuple[PartExplanation, ...]
    primary: TargetEvent | None

    @property
    def actor_key(self) -> str | None:
        return self.primary.actor_key if self.primary is not None else None

    @property
    def operation(self) -> str | None:
        return self.primary.correlation_id if self.primary is not None else None

    @property
    def explained_parts(self) -> int:
        return sum(1 for p in self.parts if p.verdict in (Verdict.EXPLAINED, Verdict.SYNC))


@dataclass(frozen=True, slots=True)
class JoinContext:
    """What every change of one report is joined under: the window start (backup time minus the margin),
    the oldest time the audit log still holds, the JSON decoder to use, and the hard deletes in the window
    by object id (a purge removes the object's links with no record of its own for each link)."""

    since_us: int
    retention_start_us: int | None = None
    loads: Loads = json.loads
    purged: Mapping[str, TargetEvent] = field(default_factory=dict)

    @property
    def maybe_expired(self) -> bool:
        return self.retention_start_us is not None and self.since_us < self.retention_start_us


def _differs(delta: Any, current: Any) -> bool:
    return delta != current and not (delta in (None, "", []) and current in (None, "", []))


class _Part:
    __slots__ = ("current", "key", "kind", "name", "sub", "transform")

    def __init__(self, name: str, kind: str, key: str, sub: str, current: Any) -> None:
        self.name, self.kind, self.key, self.sub, self.current = name, kind, key, sub, current
        self.transform = "visibility" if key == "visibility" else ""


def _parts(change: Change) -> list[_Part]:
    """The changed parts of a change, in a stable order."""
    parts: list[_Part] = []
    if change.action in (RecoveryAction.RESTORE, RecoveryAction.SOFT_DELETE):
        parts.append(_Part(LIFECYCLE, "life", LIFECYCLE, change.action.value, None))
    delta, current = change.delta, change.current
    for key in sorted(delta):
        if key.startswith("@") or key == LIFECYCLE:
            continue
        value = delta[key]
        if key.endswith("@delta"):
            rel = key[: -len("@delta")]
            for entry in value if isinstance(value, list) else ():
                if isinstance(entry, Mapping) and isinstance(entry.get("id"), str):
                    linked_now = "@removed" in entry      # recovery would remove it: it was added since
                    parts.append(_Part(f"{rel}:{entry['id']}", "link", rel, entry["id"].lower(), linked_now))
            continue
        if "@" in key:
            continue
        now = current.get(key)
        if not _differs(value, now):
            continue
        if isinstance(value, Mapping) and isinstance(now, Mapping | None):
            now_map = now or {}
            subs = sorted(k for k in set(value) | set(now_map)
                          if not k.startswith("@") and _differs(value.get(k), now_map.get(k)))
            parts.extend(_Part(f"{key}.{sub}", "path", key, sub, now_map.get(sub)) for sub in subs)
            if subs:
                continue
        if _item_list(value) and _item_list(now):
            before = {i["id"]: i for i in value}
            after = {i["id"]: i for i in now or ()}
            ids = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
            parts.extend(_Part(f"{key}[{i}]", "item", key, i, after.get(i)) for i in ids)
            if ids:
                continue
        parts.append(_Part(key, "value", key, "", now))
    return parts


def _item_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(
        isinstance(i, Mapping) and isinstance(i.get("id"), str) for i in value)


def _casefold_eq(a: str, b: str) -> bool:
    return a == b or a.casefold() == b.casefold()


def _match_value(part: _Part, name: AuditName, new: str | None, ctx: JoinContext) -> tuple[bool, Any]:
    """Whether one modified property names ``part``, and its decoded new value (for the part)."""
    kind = name.kind
    if kind is NameKind.WHOLE:
        whole = audit_value(new, ctx.loads)
        if not isinstance(whole, Mapping):
            return False, None
        if part.kind == "path":
            inner = whole.get(part.key)
            return part.key in whole, inner.get(part.sub) if isinstance(inner, Mapping) else None
        return part.key in whole, whole.get(part.key)
    if not _casefold_eq(name.graph, part.key):
        if kind is NameKind.CREDENTIALS and part.key in ("passwordCredentials", "keyCredentials"):
            return True, part.current
        return False, None
    if kind is NameKind.PATH:
        return part.kind == "path" and _casefold_eq(name.sub, part.sub), audit_value(new, ctx.loads)
    if kind is NameKind.ITEM:
        return part.kind == "item" and name.sub == part.sub, audit_value(new, ctx.loads)
    if kind is NameKind.CREDENTIALS:
        return True, part.current
    if part.kind == "path":
        value = audit_value(new, ctx.loads)
        return True, value.get(part.sub) if isinstance(value, Mapping) else None
    return part.kind == "value", audit_value(new, ctx.loads)


def _explain_part(entity_type: str, part: _Part, events: Sequence[TargetEvent],
                  ctx: JoinContext) -> PartExplanation:
    matching: list[tuple[TargetEvent, bool]] = []  # (event, leaves the part as it is now)
    logged: Any = None
    if part.kind == "life":
        wanted_delete = part.sub == RecoveryAction.RESTORE.value
        for ev in events:
            key = ev.activity_key
            if key in DELETE_ACTIVITIES:
                matching.append((ev, wanted_delete))
            elif key in CREATE_ACTIVITIES:
                matching.append((ev, not wanted_delete))
    elif part.kind == "link":
        adds, removes = _LINK_ACTIVITIES.get(part.key.casefold(), (frozenset(), frozenset()))
        for ev in events:
            key = ev.activity_key
            if part.sub in ev.peers and (key in adds or key in removes):
                matching.append((ev, (key in adds) == part.current))
        purge = ctx.purged.get(part.sub)
        if purge is not None and not part.current and (not matching or matching[-1][0].at <= purge.at) \
                and purge.at >= ctx.since_us:
            matching.append((purge, True))
    else:
        last_value: Any = None
        found_last = False
        for ev in reversed(events):
            for prop_name, _old, new in ev.props:
                name = audit_property(entity_type, prop_name)
                if name.kind is NameKind.HELPER:
                    continue
                hit, value = _match_value(part, name, new, ctx)
                if not hit:
                    continue
                if not found_last:
                    found_last, last_value = True, value
                    matching.append((ev, same_value(value, part.current, part.transform)))
                else:
                    matching.append((ev, False))
                break
        matching.reverse()
        logged = last_value
    if not matching:
        if part.kind == "value" and part.key in UNLOGGED_PROPERTIES:
            reason = Reason.UNLOGGED
        elif ctx.maybe_expired:
            reason = Reason.EXPIRED
        else:
            reason = Reason.NO_RECORD
        return PartExplanation(part.name, Verdict.UNEXPLAINED, reason, None, (), None)
    last, ok = matching[-1]
    events_of = tuple(ev for ev, _ in matching)
    if ok:
        verdict = Verdict.SYNC if last.sync else Verdict.EXPLAINED
        return PartExplanation(part.name, verdict, None, last, events_of, logged)
    return PartExplanation(part.name, Verdict.UNEXPLAINED, Reason.MISMATCH, last, events_of, logged)


def explain_change(change: Change, events: Iterable[TargetEvent], ctx: JoinContext, *,
                   synced: bool = False) -> ChangeExplanation:
    """Join one change with the audit events of its object (any order; those before the window, and failed
    ones, are left out). ``synced``: the object is synchronised from on-premises (directory lookup)."""
    window = sorted((ev for ev in events if ev.at >= ctx.since_us and ev.succeeded),
                    key=lambda e: (e.at, e.record_id))
    parts = tuple(_explain_part(change.entity_type_raw, part, window, ctx) for part in _parts(change))
    explaining = [p.event for p in parts if p.verdict in (Verdict.EXPLAINED, Verdict.SYNC) and p.event]
    named = [p.event for p in parts if p.event is not None]
    primary = _primary(explaining) or (max(named, key=lambda e: (e.at, e.record_id)) if named else None)
    done = sum(1 for p in parts if p.verdict in (Verdict.EXPLAINED, Verdict.SYNC))
    sync_only = bool(explaining) and all(ev.sync for ev in explaining)
    if parts and done == len(parts):
        return ChangeExplanation(Verdict.SYNC if sync_only else Verdict.EXPLAINED, None, parts, primary)
    first_reason = next((p.reason for p in parts if p.reason is not None), Reason.NO_RECORD)
    if done:
        verdict = Verdict.SYNC if sync_only else Verdict.PARTLY   # a synchronised object's change is sync
        return ChangeExplanation(verdict, first_reason, parts, primary)
    if synced or any(ev.sync for ev in window):
        return ChangeExplanation(Verdict.SYNC, Reason.SYNC, parts, primary)
    return ChangeExplanation(Verdict.UNEXPLAINED, first_reason, parts, primary)


def _primary(explaining: list[TargetEvent]) -> TargetEvent | None:
    if not explaining:
        return None
    counts: dict[str, int] = {}
    for ev in explaining:
        counts[ev.actor_key] = counts.get(ev.actor_key, 0) + 1
    return max(explaining, key=lambda e: (counts[e.actor_key], e.at, e.record_id))
