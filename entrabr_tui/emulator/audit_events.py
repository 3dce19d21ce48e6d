"""Audit records in compact form and their rendering as Graph ``directoryAudit`` JSON.

An `AuditEvent` keeps what a record says in a few small objects (the activity and the initiator are shared
constants; old and new values are already encoded); the JSON is built only when a page is served. Times are
integer ticks of 100 ns since the epoch, rendered with the seven fraction digits Graph uses.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from entrabr_tui.emulator.audit_actors import Identity
from entrabr_tui.emulator.layout import M64, mix

TICKS = 10_000_000                      # ticks per second
SUCCESS = "success"
FAILURE = "failure"

V1_FIELDS = ("id", "category", "correlationId", "result", "resultReason", "activityDisplayName",
             "activityDateTime", "loggedByService", "operationType", "initiatedBy", "targetResources",
             "additionalDetails")
BETA_FIELDS = (*V1_FIELDS, "userAgent")

UPN_NONE, UPN_PLAIN, UPN_MANGLED = 0, 1, 2
_CODE = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


@dataclass(frozen=True, slots=True)
class Activity:
    """What kind of record: ``activityDisplayName``, ``category``, ``loggedByService``, ``operationType``."""

    name: str
    category: str
    service: str
    operation: str
    prefix: str = "Directory"           # first part of the composite record id


@dataclass(frozen=True, slots=True)
class Prop:
    """One ``modifiedProperty``: old and new values already encoded as JSON text (or None)."""

    name: str
    old: str | None
    new: str | None


@dataclass(frozen=True, slots=True)
class Target:
    """One ``targetResource``; a user's UPN is looked up when rendered (``upn``: none, plain or mangled)."""

    id: str
    type: str
    display_name: str | None = None
    idx: int = -1
    upn: int = UPN_NONE
    group_type: str | None = None
    props: tuple[Prop, ...] = ()


@dataclass(slots=True)
class AuditEvent:
    """One directory audit record; ``(ticks, uid)`` orders the log, ``op`` groups one logical change."""

    ticks: int
    uid: int
    op: int
    activity: Activity
    actor: Identity
    corr: int
    targets: tuple[Target, ...]
    result: str = SUCCESS
    reason: str = ""
    gappable: bool = True               # may fall into a log gap (recovery records never do)

    @property
    def key(self) -> tuple[int, int]:
        """Sort key of the log."""
        return (self.ticks, self.uid)

    @property
    def correlation_id(self) -> str:
        """``correlationId`` (a GUID)."""
        return guid(self.corr)

    @property
    def record_id(self) -> str:
        """The composite ``id``: ``Directory_{correlationId}_{5 chars}_{number}``."""
        h = mix((self.uid * 0x9E3779B97F4A7C15) ^ (self.corr & M64))
        code = "".join(_CODE[(h >> (6 * i)) % 36] for i in range(5))
        return f"{self.activity.prefix}_{self.correlation_id}_{code}_{100_000_000 + (h >> 32) % 900_000_000}"

    def app_id(self) -> str | None:
        """The initiating app's ``appId`` as this record shows it (null on some records of some apps)."""
        if self.actor.app_id_sometimes_null and mix(self.uid ^ 0xA99) & 3 != 0:
            return None
        return self.actor.app_id


def iso_ticks(ticks: int) -> str:
    """``2026-03-20T22:31:05.1234567Z``."""
    seconds, frac = divmod(ticks, TICKS)
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(seconds))}.{frac:07d}Z"


def guid(value: int) -> str:
    """A 128-bit integer as a GUID string."""
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def guid_int(text: str) -> int | None:
    """A GUID string as a 128-bit integer, or None when it is not one."""
    try:
        return uuid.UUID(text).int
    except ValueError:
        return None


UpnResolver = Callable[[int], str | None]


def _initiator(ev: AuditEvent, tenant_id: str) -> dict[str, Any]:
    actor = ev.actor
    if actor.is_app:
        return {"app": {"appId": ev.app_id(), "displayName": actor.display_name,
                        "servicePrincipalId": actor.id, "servicePrincipalName": None},
                "user": None}
    return {"app": None,
            "user": {"id": actor.id, "displayName": actor.display_name, "userPrincipalName": actor.upn,
                     "ipAddress": actor.ip_address, "userType": "Member", "homeTenantId": tenant_id,
                     "homeTenantName": None}}


def _target(t: Target, resolve: UpnResolver) -> dict[str, Any]:
    upn: str | None = None
    if t.upn != UPN_NONE:
        upn = resolve(t.idx)
        if upn is not None and t.upn == UPN_MANGLED:
            upn = t.id.replace("-", "") + upn
    return {"id": t.id, "displayName": t.display_name, "type": t.type, "userPrincipalName": upn,
            "groupType": t.group_type,
            "modifiedProperties": [{"displayName": p.name, "oldValue": p.old, "newValue": p.new}
                                   for p in t.props]}


def _details(ev: AuditEvent) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    if ev.actor.user_agent:
        out.append({"key": "User-Agent", "value": ev.actor.user_agent})
    first = ev.targets[0] if ev.targets else None
    if first is not None and first.type == "User":
        for p in first.props:
            if p.name == "TargetId.UserType" and p.new:
                out.append({"key": "UserType", "value": p.new.strip('"')})
    return out


def event_json(ev: AuditEvent, *, beta: bool, resolve: UpnResolver, tenant_id: str,
               select: Sequence[str] | None = None) -> dict[str, Any]:
    """The record as Graph serves it (v1.0, or beta with ``userAgent``), optionally cut to ``$select``."""
    act = ev.activity
    doc: dict[str, Any] = {
        "id": ev.record_id,
        "category": act.category,
        "correlationId": ev.correlation_id,
        "result": ev.result,
        "resultReason": ev.reason,
        "activityDisplayName": act.name,
        "activityDateTime": iso_ticks(ev.ticks),
        "loggedByService": act.service,
        "operationType": act.operation,
        "initiatedBy": _initiator(ev, tenant_id),
        "targetResources": [_target(t, resolve) for t in ev.targets],
        "additionalDetails": _details(ev),
    }
    if beta:
        doc["userAgent"] = ev.actor.user_agent
    if select is not None:
        return {k: doc[k] for k in select if k in doc}
    return doc
