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
from operator import attrgetter
from typing import Any, NamedTuple

from .audit_model import ChangeFacts, TargetEvent, is_mapping
from .audit_names import (
    AuditName,
    Loads,
    NameKind,
    activity_key,
    audit_property,
    audit_value,
    has_whole_names,
    same_value,
)
from .model import RecoveryAction

#: Graph properties the directory never writes to its audit log ("by design").
UNLOGGED_PROPERTIES = frozenset({"usageLocation"})
LIFECYCLE = "deletedDateTime"
_LIFECYCLE_ACTIONS = frozenset({RecoveryAction.RESTORE.value, RecoveryAction.SOFT_DELETE.value})
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


class _Part(NamedTuple):
    name: str
    kind: str
    key: str
    sub: str
    current: Any

    @property
    def transform(self) -> str:
        return "visibility" if self.key == "visibility" else ""


def _parts(change: ChangeFacts) -> list[_Part]:
    """The changed parts of a change, in a stable order."""
    parts: list[_Part] = []
    if change.action_raw in _LIFECYCLE_ACTIONS:
        parts.append(_Part(LIFECYCLE, "life", LIFECYCLE, change.action_raw, None))
    delta, current = change.delta, change.current
    for key in sorted(delta):
        if key.startswith("@") or key == LIFECYCLE:
            continue
        value = delta[key]
        if key.endswith("@delta"):
            rel = key[: -len("@delta")]
            for entry in value if isinstance(value, list) else ():
                if is_mapping(entry) and isinstance(entry.get("id"), str):
                    linked_now = "@removed" in entry      # recovery would remove it: it was added since
                    parts.append(_Part(f"{rel}:{entry['id']}", "link", rel, entry["id"].lower(), linked_now))
            continue
        if "@" in key:
            continue
        now = current.get(key)
        if not _differs(value, now):
            continue
        if is_mapping(value) and (now is None or is_mapping(now)):
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
        is_mapping(i) and isinstance(i.get("id"), str) for i in value)


#: Every activity (in :func:`~.audit_names.activity_key` form) that adds or removes a link.
LINK_ACTIVITY_KEYS = frozenset(a for adds, removes in _LINK_ACTIVITIES.values() for a in adds | removes)
_CREDENTIAL_KEYS = frozenset({"passwordCredentials", "keyCredentials"})


def link_activities() -> list[tuple[str, str, bool]]:
    """``(relationship, activity key, adds)`` of every link activity (relationships case-folded)."""
    return [(rel, activity, adding) for rel, (adds, removes) in _LINK_ACTIVITIES.items()
            for adding, names in ((True, adds), (False, removes)) for activity in sorted(names)]


def succeeded(result: str) -> bool:
    """Whether a record with this ``result`` counts (failed attempts explain nothing)."""
    return result in _OK_RESULTS or result.casefold() in ("success", "")


class EqualityPart(NamedTuple):
    """A changed part whose judgement is one equality (see :func:`equality_parts`)."""

    kind: str  # "value": a top-level property; "link": one entry of a ``…@delta`` relationship
    key: str  # the property or relationship, case-folded
    sub: str  # the linked object's id (lower case) of a link; "" for a value
    current: Any  # the current value of a value; whether the link exists now (bool) for a link


def equality_parts(change: ChangeFacts) -> list[EqualityPart] | None:
    """The parts of a change when each one is judged by one equality, else ``None``.

    A value part is explained by the last record naming its property when that record's decoded new value
    equals the current one (same JSON, same types); a link part by the last add/remove record naming the
    linked object when it leaves the link as it is now. A change qualifies when it has parts and all are
    top-level values (not credentials, not ``visibility``; of a type the log does not write as one
    whole object) or links of a relationship with link records. Whatever else :func:`judge_change` does
    (paths, items, lifecycles, purges, values equal only after conversion, mismatches, several records)
    is left to it: a cache may judge the equality parts itself and must get the same verdict.
    """
    if has_whole_names(change.entity_type_raw) or change.action_raw in _LIFECYCLE_ACTIONS:
        return None  # (a lifecycle is a part of its own)
    out: list[EqualityPart] = []
    delta, current = change.delta, change.current
    # the walk of _parts for plain values and links, without its part objects
    for key, how, folded in _equality_plan(tuple(delta)):
        value = delta[key]
        if how >= _LINK:
            for entry in value if isinstance(value, list) else ():
                if is_mapping(entry) and isinstance(entry.get("id"), str):
                    if how == _OTHER_LINK:
                        return None
                    out.append(EqualityPart("link", folded, entry["id"].lower(), "@removed" in entry))
            continue
        now = current.get(key)
        if not _differs(value, now):
            continue
        if not isinstance(value, _PLAIN):
            return _equality_parts_of(change)  # maybe paths or items
        if how == _OTHER_VALUE:
            return None
        out.append(EqualityPart("value", folded, "", now))
    return out or None


_PLAIN = (str, int, float, bool, type(None))
#: How :func:`equality_parts` reads a name of ``deltaFromCurrent``: a value, one judged otherwise
#: (credentials, ``visibility``), links with link records, links without.
_VALUE, _OTHER_VALUE, _LINK, _OTHER_LINK = 0, 1, 2, 3
#: The names :func:`equality_parts` reads, sorted, with how and case-folded, by the names of a
#: ``deltaFromCurrent``; emptied when full.
_EQUALITY_PLANS: dict[tuple[str, ...], tuple[tuple[str, int, str], ...]] = {}


def _equality_plan(names: tuple[str, ...]) -> tuple[tuple[str, int, str], ...]:
    plan = _EQUALITY_PLANS.get(names)
    if plan is None:
        steps: list[tuple[str, int, str]] = []
        for key in sorted(names):
            if key.startswith("@") or key == LIFECYCLE:
                continue
            if key.endswith("@delta"):
                rel = key[: -len("@delta")].casefold()
                steps.append((key, _LINK if rel in _LINK_ACTIVITIES else _OTHER_LINK, rel))
            elif "@" not in key:
                other = key in _CREDENTIAL_KEYS or key == "visibility"
                steps.append((key, _OTHER_VALUE if other else _VALUE, key.casefold()))
        plan = tuple(steps)
        if len(names) <= 64:  # (a memory that stays small)
            if len(_EQUALITY_PLANS) >= 4096:
                _EQUALITY_PLANS.clear()
            _EQUALITY_PLANS[names] = plan
    return plan


def _equality_parts_of(change: ChangeFacts) -> list[EqualityPart] | None:
    """:func:`equality_parts` from every part of :func:`_parts`."""
    if has_whole_names(change.entity_type_raw):
        return None
    out: list[EqualityPart] = []
    for part in _parts(change):
        if part.kind == "value" and part.key not in _CREDENTIAL_KEYS and not part.transform:
            out.append(EqualityPart("value", part.key.casefold(), "", part.current))
        elif part.kind == "link" and part.key.casefold() in _LINK_ACTIVITIES:
            out.append(EqualityPart("link", part.key.casefold(), part.sub, bool(part.current)))
        else:
            return None
    return out or None


def _casefold_eq(a: str, b: str) -> bool:
    return a == b or a.casefold() == b.casefold()


def _match_value(part: _Part, name: AuditName, new: str | None, ctx: JoinContext) -> tuple[bool, Any]:
    """Whether one modified property names ``part``, and its decoded new value (for the part)."""
    kind = name.kind
    if kind is NameKind.WHOLE:
        whole = audit_value(new, ctx.loads)
        if not is_mapping(whole):
            return False, None
        if part.kind == "path":
            inner = whole.get(part.key)
            return part.key in whole, inner.get(part.sub) if is_mapping(inner) else None
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
        return True, value.get(part.sub) if is_mapping(value) else None
    return part.kind == "value", audit_value(new, ctx.loads)


_OK_RESULTS = frozenset({"success", "Success", ""})
_order = attrgetter("at", "record_id")
#: How one part was judged: verdict, reason, the last matching event, its decoded new value (value parts).
_Judged = tuple[Verdict, Reason | None, TargetEvent | None, Any]


def _no_match(part: _Part, ctx: JoinContext) -> _Judged:
    if part.kind == "value" and part.key in UNLOGGED_PROPERTIES:
        return Verdict.UNEXPLAINED, Reason.UNLOGGED, None, None
    return Verdict.UNEXPLAINED, Reason.EXPIRED if ctx.maybe_expired else Reason.NO_RECORD, None, None


def _verdict(event: TargetEvent, ok: bool, logged: Any = None) -> _Judged:
    if ok:
        return Verdict.SYNC if event.sync else Verdict.EXPLAINED, None, event, logged
    return Verdict.UNEXPLAINED, Reason.MISMATCH, event, logged


def _value_hit(entity_type: str, part: _Part, event: TargetEvent, ctx: JoinContext) -> tuple[bool, Any]:
    for prop_name, _old, new in event.props:
        name = audit_property(entity_type, prop_name)
        if name.kind is NameKind.HELPER:
            continue
        hit, value = _match_value(part, name, new, ctx)
        if hit:
            return True, value
    return False, None


def _life_hit(part: _Part, event: TargetEvent) -> bool | None:
    """None: the event is no lifecycle record; else whether it leaves the object as it is now."""
    key = activity_key(event.activity)
    if key in DELETE_ACTIVITIES:
        return part.sub == RecoveryAction.RESTORE.value
    if key in CREATE_ACTIVITIES:
        return part.sub != RecoveryAction.RESTORE.value
    return None


def _link_hit(part: _Part, event: TargetEvent) -> bool | None:
    """None: the event is no record of this link; else whether it leaves the link as it is now."""
    if part.sub not in event.peers:
        return None
    adds, removes = _LINK_ACTIVITIES.get(part.key.casefold(), (frozenset(), frozenset()))
    key = activity_key(event.activity)
    if key in adds:
        return bool(part.current)
    if key in removes:
        return not part.current
    return None


def _judge(entity_type: str, part: _Part, events: Sequence[TargetEvent], ctx: JoinContext) -> _Judged:
    """The last event naming ``part`` (newest first) and what it says."""
    if part.kind == "life":
        for ev in reversed(events):
            ok = _life_hit(part, ev)
            if ok is not None:
                return _verdict(ev, ok)
        return _no_match(part, ctx)
    if part.kind == "link":
        last: tuple[TargetEvent, bool] | None = None
        for ev in reversed(events):
            ok = _link_hit(part, ev)
            if ok is not None:
                last = ev, ok
                break
        purge = ctx.purged.get(part.sub)
        if purge is not None and not part.current and purge.at >= ctx.since_us \
                and (last is None or last[0].at <= purge.at):
            last = purge, True
        return _verdict(*last) if last is not None else _no_match(part, ctx)
    for ev in reversed(events):
        hit, value = _value_hit(entity_type, part, ev, ctx)
        if hit:
            return _verdict(ev, same_value(value, part.current, part.transform), value)
    return _no_match(part, ctx)


def _matching(entity_type: str, part: _Part, events: Sequence[TargetEvent], ctx: JoinContext,
              judged: _Judged) -> tuple[TargetEvent, ...]:
    """Every event naming ``part``, oldest first (for the detailed explanation)."""
    if part.kind == "life":
        found = [ev for ev in events if _life_hit(part, ev) is not None]
    elif part.kind == "link":
        found = [ev for ev in events if _link_hit(part, ev) is not None]
    else:
        found = [ev for ev in events if _value_hit(entity_type, part, ev, ctx)[0]]
    last = judged[2]
    if last is not None and last not in found:
        found.append(last)          # the purge that dropped a link
    return tuple(found)


def _window(events: Iterable[TargetEvent], ctx: JoinContext) -> list[TargetEvent]:
    since = ctx.since_us
    window = [ev for ev in events if ev.at >= since and (ev.result in _OK_RESULTS or ev.succeeded)]
    if len(window) > 1:
        window.sort(key=_order)
    return window


def _combine(judged: Sequence[_Judged], window: Sequence[TargetEvent], synced: bool
             ) -> tuple[Verdict, Reason | None, TargetEvent | None]:
    explaining: list[TargetEvent] = []
    done = 0
    for verdict, _, event, _ in judged:
        if verdict is not Verdict.UNEXPLAINED:
            done += 1
            if event is not None:
                explaining.append(event)
    primary = _primary(explaining)
    if primary is None:
        named = [j[2] for j in judged if j[2] is not None]
        primary = max(named, key=_order) if named else None
    sync_only = bool(explaining) and all(ev.sync for ev in explaining)
    if judged and done == len(judged):
        return Verdict.SYNC if sync_only else Verdict.EXPLAINED, None, primary
    first_reason = next((j[1] for j in judged if j[1] is not None), Reason.NO_RECORD)
    if done:
        return Verdict.SYNC if sync_only else Verdict.PARTLY, first_reason, primary  # synchronised: sync
    if synced or any(ev.sync for ev in window):
        return Verdict.SYNC, Reason.SYNC, primary
    return Verdict.UNEXPLAINED, first_reason, primary


def judge_change(change: ChangeFacts, events: Iterable[TargetEvent], ctx: JoinContext, *,
                 synced: bool = False) -> tuple[Verdict, Reason | None, TargetEvent | None]:
    """The verdict, reason and primary event of :func:`explain_change`, without the detail (fast: a report
    is joined with this)."""
    window = _window(events, ctx)
    entity_type = change.entity_type_raw
    return _combine([_judge(entity_type, part, window, ctx) for part in _parts(change)], window, synced)


def explain_change(change: ChangeFacts, events: Iterable[TargetEvent], ctx: JoinContext, *,
                   synced: bool = False) -> ChangeExplanation:
    """Join one change with the audit events of its object (any order; those before the window, and failed
    ones, are left out). ``synced``: the object is synchronised from on-premises (directory lookup)."""
    window = _window(events, ctx)
    entity_type = change.entity_type_raw
    parts = _parts(change)
    judged = [_judge(entity_type, part, window, ctx) for part in parts]
    verdict, reason, primary = _combine(judged, window, synced)
    details = tuple(PartExplanation(part.name, j[0], j[1], j[2], _matching(entity_type, part, window, ctx, j),
                                    j[3]) for part, j in zip(parts, judged, strict=True))
    return ChangeExplanation(verdict, reason, details, primary)


def _primary(explaining: list[TargetEvent]) -> TargetEvent | None:
    if not explaining:
        return None
    first = explaining[0]
    if all(ev is first for ev in explaining):
        return first  # one event explains every part (the usual case)
    counts: dict[str, int] = {}
    for ev in explaining:
        counts[ev.actor_key] = counts.get(ev.actor_key, 0) + 1
    return max(explaining, key=lambda e: (counts[e.actor_key], e.at, e.record_id))
