"""Difference between a snapshot and the live tenant, as change objects shaped like ``getChanges`` output.

Only objects written after the snapshot can differ from it, so the work is proportional to the drift, not to
the tenant. For each such object the snapshot state and the live state are rebuilt from the base object and
the overlays, the recovery action is decided (§9.4 of the reference), and only recoverable properties that
actually differ are kept.

Links: static membership changes are ``members@delta`` (recoverable, counted in the job's link totals).
Owner changes are shown as ``owners@delta``, as in Microsoft's getChanges example, but owner links are
documented as not recoverable: they are never counted as links, never applied by recovery, and a
difference in owners alone does not make a change object (like any other unsupported property).

Whether an object is synchronised from on-premises is not part of Microsoft's getChanges examples, so
``onPremisesSyncEnabled`` appears in ``currentState`` only when the emulator is told to put it there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from entrabr_tui.emulator import catalog as c
from entrabr_tui.emulator.generate import (
    base_display_name,
    base_value,
    entity_type,
    is_onprem,
    materialize,
)
from entrabr_tui.emulator.history import DELETED, EXISTS, MEMBERS, OWNERS, History, Patch
from entrabr_tui.emulator.policies import is_ip_location

UPDATE = "update"
RESTORE = "restore"
SOFT_DELETE = "softDelete"
_RANK: dict[str, dict[str, int]] = {
    t: {k: i for i, k in enumerate(props)} for t, props in c.RECOVERABLE.items()
}
_NOT_FOUND = (False, None)
Link = tuple[str, int, bool]


@dataclass(slots=True)
class Change:
    """One changed object: what recovery would write and what is live now."""

    idx: int
    id: str
    entity_type: str
    action: str
    display_name: str
    odata_type: str
    props: dict[str, Any]  # recoverable property -> snapshot value (what recovery writes)
    current: dict[str, Any]  # same properties -> live value
    links: list[tuple[str, int, bool]] = field(default_factory=list)  # (member id, member idx, add?)
    onprem: bool = False
    deleted_at: str | None = None  # live deletedDateTime (restore)
    owner_links: list[tuple[str, int, bool]] = field(default_factory=list)  # shown, never recovered

    def link_entry(self, member_id: str, add: bool) -> dict[str, Any]:
        """One ``members@delta`` (or ``owners@delta``) element."""
        if add:
            return {"@odata.type": c.ODATA_TYPES[c.USER], "id": member_id}
        return {"@odata.type": c.ODATA_TYPES[c.USER], "id": member_id, "@removed": c.REMOVED}

    def to_json(self, now: str, sync_flag: bool = False) -> dict[str, Any]:
        """The change object as ``getChanges`` returns it (``now`` dates a softDelete; ``sync_flag`` adds
        ``onPremisesSyncEnabled`` to the current state of on-premises-synced objects)."""
        delta: dict[str, Any] = {"@odata.type": self.odata_type}
        current: dict[str, Any] = {"@odata.type": self.odata_type}
        if self.action == SOFT_DELETE:
            delta["@removed"] = c.REMOVED
            delta["deletedDateTime"] = now
            current["deletedDateTime"] = None
        else:
            delta.update(self.props)
            current.update(self.current)
            if self.action == RESTORE:
                delta["deletedDateTime"] = None
                current["deletedDateTime"] = self.deleted_at
            if self.links:
                delta[c.MEMBERS_DELTA] = [self.link_entry(mid, add) for mid, _, add in self.links]
            if self.owner_links:
                delta[c.OWNERS_DELTA] = [self.link_entry(oid, add) for oid, _, add in self.owner_links]
        if self.onprem and sync_flag:
            current["onPremisesSyncEnabled"] = True
        return {"entityTypeName": self.entity_type, "id": self.id, "displayName": self.display_name,
                "recoveryAction": self.action, "deltaFromCurrent": delta, "currentState": current}


def _lifecycle(patches: list[Patch], exists: bool, deleted: str | None = None) -> tuple[bool, str | None]:
    for p in patches:
        if EXISTS in p:
            exists = p[EXISTS]
        if DELETED in p:
            deleted = p[DELETED]
    return exists, deleted


def _latest(patches: list[Patch], key: str) -> tuple[bool, Any]:
    for p in reversed(patches):
        if key in p:
            return True, p[key]
    return False, None


def _odata_type(hist: History, idx: int, etype: str) -> str:
    if etype == c.NAMED_LOCATION:
        o = idx - hist.layout.starts[c.NAMED_LOCATION]
        return c.IP_LOCATION_ODATA if is_ip_location(o) else c.COUNTRY_LOCATION_ODATA
    return c.ODATA_TYPES[etype]


def candidates(hist: History, after: int, types: frozenset[str] | None,
               ids: Mapping[str, frozenset[str]] | None) -> set[int]:
    """Indexes that may differ from snapshot ``after`` within the scope."""
    if ids is None:
        return hist.touched_after(after)
    out: set[int] = set()
    for etype, wanted in ids.items():
        if types is not None and etype not in types:
            continue
        for oid in wanted:
            idx = hist.layout.index_of(oid)
            if idx is None or idx >= hist.next_idx:
                continue
            if entity_type(hist.layout, hist.created, idx) == etype:
                out.add(idx)
    return out


def diff_object(hist: History, idx: int, after: int) -> Change | None:
    """The change of one object between snapshot ``after`` and now, or None if recovery has nothing to do."""
    earlier, later = hist.split(idx, after)
    if not later:
        return None
    layout, created = hist.layout, hist.created
    if idx < layout.objects:
        etype = layout.type_of(idx)
    elif idx in created:
        etype = created[idx].entity_type
    else:
        return None
    is_base = idx < layout.objects
    snap_exists, snap_del = _lifecycle(earlier, is_base) if earlier else (is_base, None)
    live_exists, live_del = _lifecycle(later, snap_exists, snap_del)
    if not live_exists:
        return None  # hard-deleted objects never appear
    if not snap_exists or snap_del is not None:
        if live_del is not None:
            return None
        action = SOFT_DELETE
    else:
        action = RESTORE if live_del is not None else UPDATE
    props: dict[str, Any] = {}
    current: dict[str, Any] = {}
    links: list[Link] = []
    owner_links: list[Link] = []
    if action != SOFT_DELETE:
        rank = _RANK[etype]
        touched = later[0].keys() if len(later) == 1 else {k for p in later for k in p}
        keys = [k for k in touched if k in rank]
        if action == RESTORE and "displayName" in rank and "displayName" not in keys:
            keys.append("displayName")
        if len(keys) > 1:
            keys.sort(key=rank.__getitem__)
        base: dict[str, Any] | None = None
        single = later[0] if len(later) == 1 else None
        for k in keys:
            found, snap_val = _latest(earlier, k) if earlier else _NOT_FOUND
            if not found:
                if base is None and len(keys) <= 2:
                    snap_val = base_value(layout, created, idx, etype, k)
                else:
                    if base is None:
                        base = materialize(layout, created, idx)
                    snap_val = base.get(k)
            if single is not None:
                live_val = single.get(k, snap_val)
            else:
                found, live_val = _latest(later, k)
                if not found:
                    live_val = snap_val
            if snap_val != live_val or (action == RESTORE and k == "displayName"):
                props[k] = snap_val
                current[k] = live_val
        if any(MEMBERS in p for p in later):
            links = _link_changes(hist, idx, earlier, later, MEMBERS)
        if action == UPDATE and not props and not links:
            return None  # nothing recoverable differs (owner links alone are not recoverable)
        if any(OWNERS in p for p in later):
            owner_links = _link_changes(hist, idx, earlier, later, OWNERS)
    if "displayName" in current:
        name = current["displayName"]
    else:
        found, name = _latest(later, "displayName")
        if not found:
            found, name = _latest(earlier, "displayName")
            if not found:
                name = base_display_name(layout, created, idx)
    change = Change(idx, layout.id_of(idx), etype, action, "" if name is None else str(name),
                    _odata_type(hist, idx, etype), props, current, links, is_onprem(layout, created, idx),
                    live_del, owner_links)
    return change


def _link_changes(hist: History, g: int, earlier: list[Patch], later: list[Patch], key: str) -> list[Link]:
    """Links of group ``g`` under ``key`` (``MEMBERS`` or ``OWNERS``) that differ between the snapshot and
    now, as (user id, user index, linked in the snapshot?)."""
    base = hist.layout.is_base_member if key == MEMBERS else hist.layout.is_base_owner
    users: set[int] = set()
    for p in later:
        users.update(p.get(key, ()))
    out = []
    for u in users:
        snap_m: bool | None = None
        for p in reversed(earlier):
            m = p.get(key)
            if m is not None and u in m:
                snap_m = m[u]
                break
        if snap_m is None:
            snap_m = base(g, u)
        live_m = snap_m
        for p in reversed(later):
            m = p.get(key)
            if m is not None and u in m:
                live_m = m[u]
                break
        if snap_m != live_m:
            out.append((hist.layout.id_of(u), u, bool(snap_m)))
    out.sort()
    return out


def compute_changes(hist: History, after: int, types: frozenset[str] | None = None,
                    ids: Mapping[str, frozenset[str]] | None = None) -> list[Change]:
    """All changes between snapshot ``after`` and now within the scope, by entity type then id."""
    out = []
    for idx in candidates(hist, after, types, ids):
        if types is not None:
            etype = entity_type(hist.layout, hist.created, idx)
            if etype not in types:
                continue
        change = diff_object(hist, idx, after)
        if change is not None:
            out.append(change)
    out.sort(key=lambda ch: (ch.entity_type, ch.id))
    return out
