"""What the directory audit log says about the changes a recovery put back: the incident's actors and its
first bad change (for the evidence pack).

Definitions (``docs/cli.md`` states them for users):

* **The changes put back** are the changes of the report restored from whose objects the recovery jobs
  sent (the object ids each ``restore-submitted`` history entry lists).
* **The incident's actors** are the actors the join names for those changes (the primary actor of each
  change the log explains, fully or partly; see :mod:`entrabr_tui.core.audit_join`). For each: who (user
  UPN, or app name), the app a user acted through, the changes put back it explains, its operations
  (correlation ids) among them, and the time span of its records (first and last).
* **The first bad change** is the earliest successful audit record, dated at or after the backup restored
  from, that one of the incident's actors made on an object the recovery put back. It is the first step of
  the incident the log shows: its time, actor, activity, object, record id and correlation id.

The changes the log does not explain (no record, synchronised, a gap in the log) have no actor; they are
counted (``unexplained``), never guessed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from entrabr_tui.core.audit_join import Verdict
from entrabr_tui.core.audit_model import Actor, time_to_us, us_to_time
from entrabr_tui.store import Cache

#: Verdicts whose primary record names who made the change.
_EXPLAINED = (Verdict.EXPLAINED.value, Verdict.PARTLY.value)


@dataclass(frozen=True, slots=True)
class IncidentActor:
    """One actor of the changes put back (see the module docstring)."""

    actor: Actor
    changes: int
    operations: int
    first: datetime | None
    last: datetime | None

    def to_json(self) -> dict[str, Any]:
        actor = self.actor
        return {"actor": actor.label, "kind": actor.kind, "key": actor.key,
                "app": actor.via if actor.kind == "user" else actor.name,
                "appId": actor.app_id or None, "servicePrincipalId": actor.service_principal_id or None,
                "changes": self.changes, "operations": self.operations,
                "first": _text(self.first), "last": _text(self.last)}


@dataclass(frozen=True, slots=True)
class FirstBadChange:
    """The earliest record of the incident on an object put back (see the module docstring)."""

    at: datetime
    actor: Actor
    activity: str
    object_id: str
    object_type: str
    object_name: str
    record_id: str
    correlation_id: str

    def to_json(self) -> dict[str, Any]:
        return {"at": _text(self.at), "actor": self.actor.label, "actorKey": self.actor.key,
                "actorKind": self.actor.kind, "activity": self.activity, "objectId": self.object_id,
                "objectType": self.object_type, "objectName": self.object_name, "recordId": self.record_id,
                "correlationId": self.correlation_id}


@dataclass(frozen=True, slots=True)
class IncidentSummary:
    """The incident as the audit log tells it, for the changes one recovery put back."""

    restored: int  # changes of the report put back
    unexplained: int  # of those, the ones no record names an actor for
    actors: tuple[IncidentActor, ...]
    first: FirstBadChange | None


def _text(when: datetime | None) -> str | None:
    return None if when is None else when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def incident_summary(cache: Cache, report_id: int, object_ids: Iterable[str], backup: datetime
                     ) -> IncidentSummary:
    """The incident's actors and first bad change for the objects put back from report ``report_id`` (the
    report must be joined with the cached log); ``backup`` is the time of the backup restored from."""
    rows = cache.audit_join.rows_of_objects(report_id, object_ids)
    explained = [r for r in rows if r.actor_key and r.verdict in _EXPLAINED]
    grouped: dict[str, list[Any]] = {}
    for row in explained:
        grouped.setdefault(row.actor_key, []).append(row)
    known = cache.audit.actors(grouped)
    restored_ids = {r.object_id.lower() for r in rows}
    events = cache.audit.target_rows(since_us=time_to_us(backup), object_ids=restored_ids)
    spans: dict[str, list[int]] = {}
    first: FirstBadChange | None = None
    for event in events:  # oldest first
        target, etype, name, at, record_id, activity, correlation, actor_key, result = event[:9]
        if actor_key not in grouped or str(result).casefold() not in ("success", ""):
            continue
        spans.setdefault(actor_key, []).append(int(at))
        if first is None:
            change = next((r for r in rows if r.object_id.lower() == target), None)
            first = FirstBadChange(
                us_to_time(int(at)), known.get(actor_key, Actor(actor_key, "unknown", "")), activity, target,
                change.entity_type if change is not None else etype,
                change.name if change is not None and change.name else name, record_id, correlation)
    actors = []
    for key, changes in grouped.items():
        times = spans.get(key, [])
        actors.append(IncidentActor(known.get(key, Actor(key, "unknown", "")), len(changes),
                                    len({r.operation for r in changes if r.operation}),
                                    us_to_time(min(times)) if times else None,
                                    us_to_time(max(times)) if times else None))
    actors.sort(key=lambda a: (-a.changes, a.actor.label))
    return IncidentSummary(len(rows), len(rows) - len(explained), tuple(actors), first)
