"""Directory audit records reduced to what explaining a difference report needs (pure; no I/O).

A ``directoryAudit`` record (audit-log reference §3) names who acted (``initiatedBy``: a user, or an app),
what it did (``activityDisplayName``), when, under which operation (``correlationId``) and on which objects
(``targetResources``, each with ``modifiedProperties``). :func:`record_facts` reads a raw record leniently
(never raises on odd shapes; a record without an id or a readable time gives ``None``) into
:class:`RecordFacts`; :class:`TargetEvent` is one record as it concerns one target object, the unit the join
works on; :class:`Actor` is the initiator, keyed by user id, else service principal id, else app id.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, Protocol, TypeGuard

from .audit_names import Loads, activity_key, is_sync_marker
from .model import parse_datetime

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)
#: ``(name, oldValue, newValue)`` of one modified property, values as sent (JSON text or None).
Prop = tuple[str, str | None, str | None]


def time_to_us(value: datetime) -> int:
    """Microseconds since the epoch (UTC)."""
    return (value.astimezone(UTC) - EPOCH) // _MICRO


def us_to_time(value: int) -> datetime:
    """The UTC time of :func:`time_to_us` microseconds."""
    return EPOCH + timedelta(microseconds=value)


def iso_to_us(text: object) -> int | None:
    """An ``activityDateTime`` (``2026-03-21T09:30:00.2422920Z``; up to 7 fraction digits) in microseconds."""
    if not isinstance(text, str):
        return None
    if len(text) >= 20 and text[10:11] == "T" and text[-1:] in ("Z", "z") and text[19:20] in (".", "Z", "z"):
        try:
            base = datetime(int(text[0:4]), int(text[5:7]), int(text[8:10]), int(text[11:13]),
                            int(text[14:16]), int(text[17:19]), tzinfo=UTC)
            frac = text[20:-1] if text[19] == "." else ""
            micros = int((frac + "000000")[:6]) if frac.isdigit() else 0
            if frac and not frac.isdigit():
                raise ValueError(frac)
            return time_to_us(base) + micros
        except ValueError:
            pass
    parsed = parse_datetime(text)
    return None if parsed is None else time_to_us(parsed)


_PLAIN = (str, int, float, list, type(None))


def is_mapping(value: object) -> TypeGuard[Mapping[Any, Any]]:
    """``isinstance(value, Mapping)``, fast for the plain JSON values the join meets by the million."""
    return type(value) is dict or (not isinstance(value, _PLAIN) and isinstance(value, Mapping))


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


class Actor(NamedTuple):
    """Who initiated a record: a user (``kind`` ``"user"``) or an application (``"app"``).

    ``key`` is the user's object id, else the app's service principal id, else its app id (live records of
    apps may carry a null ``appId``); ``""`` when the record names nobody. ``name`` is the UPN of a user or
    the display name of an app; ``via`` the app a user acted through, when the record names one.
    """

    key: str
    kind: str
    name: str
    display_name: str = ""
    via: str = ""
    app_id: str = ""
    service_principal_id: str = ""

    @property
    def label(self) -> str:
        """``alice@contoso.com``, ``HR Onboarding (app)``, or ``unknown``."""
        if self.kind == "app":
            return f"{self.name or self.app_id or self.service_principal_id or 'an app'} (app)"
        return self.name or self.display_name or self.key or "unknown"


UNKNOWN_ACTOR = Actor("", "unknown", "")


def actor_of(initiated_by: object) -> Actor:
    """The :class:`Actor` of an ``initiatedBy`` object."""
    if not isinstance(initiated_by, Mapping):
        return UNKNOWN_ACTOR
    user, app = initiated_by.get("user"), initiated_by.get("app")
    app_name = app_id = sp_id = ""
    if isinstance(app, Mapping):
        app_name, app_id = _text(app.get("displayName")), _text(app.get("appId"))
        sp_id = _text(app.get("servicePrincipalId"))
    if isinstance(user, Mapping) and (_text(user.get("id")) or _text(user.get("userPrincipalName"))):
        upn = _text(user.get("userPrincipalName"))
        key = (_text(user.get("id")) or upn).lower()
        return Actor(key, "user", upn, _text(user.get("displayName")), app_name, app_id, sp_id)
    if sp_id or app_id or app_name:
        key = (sp_id or app_id or f"app:{app_name}").lower()
        return Actor(key, "app", app_name, app_name, "", app_id, sp_id)
    return UNKNOWN_ACTOR


class TargetFacts(NamedTuple):
    """One ``targetResource`` of a record."""

    id: str  # lower-cased object id
    type: str
    display_name: str
    user_principal_name: str
    props: tuple[Prop, ...]


class RecordFacts(NamedTuple):
    """What a record says, in the form the cache stores and the join reads."""

    id: str
    at: int  # microseconds since the epoch
    activity: str
    category: str
    service: str
    correlation_id: str
    result: str
    actor: Actor
    targets: tuple[TargetFacts, ...]
    sync: bool  # written by directory synchronization (``Action Client Name = DirectorySync``)


def _props(value: object) -> tuple[Prop, ...]:
    if not isinstance(value, list):
        return ()
    out: list[Prop] = []
    for item in value:
        if not isinstance(item, Mapping):
            continue
        name = _text(item.get("displayName"))
        old, new = item.get("oldValue"), item.get("newValue")
        old_text = old if isinstance(old, str) or old is None else json.dumps(old)
        new_text = new if isinstance(new, str) or new is None else json.dumps(new)
        if name:
            out.append((name, old_text, new_text))
    return tuple(out)


def record_facts(record: object, loads: Loads = json.loads) -> RecordFacts | None:
    """Read a raw ``directoryAudit`` record; ``None`` without an id or a readable ``activityDateTime``."""
    if not isinstance(record, Mapping):
        return None
    record_id = record.get("id")
    at = iso_to_us(record.get("activityDateTime"))
    if not isinstance(record_id, str) or not record_id or at is None:
        return None
    targets: list[TargetFacts] = []
    sync = False
    raw_targets = record.get("targetResources")
    for target in raw_targets if isinstance(raw_targets, list) else ():
        if not isinstance(target, Mapping):
            continue
        props = _props(target.get("modifiedProperties"))
        sync = sync or any(is_sync_marker(name, new, loads) for name, _, new in props)
        target_type = target.get("type") if isinstance(target.get("type"), str) else target.get("Type")
        targets.append(TargetFacts(_text(target.get("id")).lower(), _text(target_type),
                                   _text(target.get("displayName")), _text(target.get("userPrincipalName")),
                                   props))
    result = _text(record.get("result")) or "success"
    return RecordFacts(record_id, at, _text(record.get("activityDisplayName")), _text(record.get("category")),
                       _text(record.get("loggedByService")), _text(record.get("correlationId")).lower(),
                       result, actor_of(record.get("initiatedBy")), tuple(targets), sync)


class TargetEvent(NamedTuple):
    """One record as it concerns one target object: the unit the join works on.

    ``peers`` are the ids of the record's other targets (the member of an ``Add member to group``, the owner
    of an ``Add owner to group`` …), ``props`` the target's modified properties as sent.
    """

    at: int
    record_id: str
    activity: str
    correlation_id: str
    actor_key: str
    result: str
    sync: bool
    props: tuple[Prop, ...]
    peers: tuple[str, ...] = ()

    @property
    def time(self) -> datetime:
        return us_to_time(self.at)

    @property
    def succeeded(self) -> bool:
        return self.result.casefold() in ("success", "")

    @property
    def activity_key(self) -> str:
        return activity_key(self.activity)


def target_events(facts: RecordFacts) -> list[tuple[str, TargetEvent]]:
    """``(target id, event)`` for each target of a record."""
    ids = tuple(t.id for t in facts.targets)
    return [(t.id, TargetEvent(facts.at, facts.id, facts.activity, facts.correlation_id, facts.actor.key,
                               facts.result, facts.sync, t.props, tuple(i for i in ids if i != t.id)))
            for t in facts.targets if t.id]


def sort_events(events: Sequence[TargetEvent]) -> list[TargetEvent]:
    """Oldest first (ties by record id, so the order is stable)."""
    return sorted(events, key=lambda e: (e.at, e.record_id))


class ChangeFacts(Protocol):
    """What the join reads of a change: a :class:`~entrabr_tui.core.model.Change`, or the light
    :class:`StoredChange` made straight from a stored change object."""

    @property
    def entity_type_raw(self) -> str: ...

    @property
    def action_raw(self) -> str: ...

    @property
    def delta(self) -> Mapping[str, Any]: ...

    @property
    def current(self) -> Mapping[str, Any]: ...


class StoredChange(NamedTuple):
    """A change object reduced to what the join reads (cheap to make for every change of a big report)."""

    entity_type_raw: str
    action_raw: str
    delta: Mapping[str, Any]
    current: Mapping[str, Any]


def stored_change(raw: object) -> StoredChange:
    """The join's view of a raw change object; fields of the wrong JSON type read as empty."""
    if not is_mapping(raw):
        return StoredChange("unknownFutureValue", "unknownFutureValue", {}, {})
    entity, action = raw.get("entityTypeName"), raw.get("recoveryAction")
    delta, current = raw.get("deltaFromCurrent"), raw.get("currentState")
    return StoredChange(entity if isinstance(entity, str) and entity else "unknownFutureValue",
                        action if isinstance(action, str) and action else "unknownFutureValue",
                        delta if is_mapping(delta) else {},
                        current if is_mapping(current) else {})


def attribution_text(actor: Actor, when: datetime | None) -> str:
    """``by alice@contoso.com via HR Onboarding at 2026-03-21 14:32Z`` (an app: ``by HR Onboarding
    (app)``)."""
    text = f"by {actor.label}"
    if actor.kind == "user" and actor.via:
        text += f" via {actor.via}"
    if when is not None:
        text += f" at {when.astimezone(UTC):%Y-%m-%d %H:%M}Z"
    return text
