"""Emulated Entra tenant: objects, daily snapshots, drift, difference reports and recovery.

The facade the emulator's HTTP server uses. Unchanged objects are a pure function of (seed, index) and are
materialised on demand; only drift is stored (see :mod:`history`), so a million-object tenant with a
week of snapshots is cheap to build and a difference report costs time proportional to the drift.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from entrabr_tui.emulator import catalog as c
from entrabr_tui.emulator.audit_journal import DRIFT as DRIFT_BATCH
from entrabr_tui.emulator.audit_log import AuditLog
from entrabr_tui.emulator.audit_timeline import RecoveryOrigin
from entrabr_tui.emulator.bulk import bulk as _bulk
from entrabr_tui.emulator.changes import Change, compute_changes
from entrabr_tui.emulator.drift import daily_drift
from entrabr_tui.emulator.generate import entity_type as type_of_index
from entrabr_tui.emulator.generate import materialize
from entrabr_tui.emulator.history import History
from entrabr_tui.emulator.incident import default_budget, run_incident
from entrabr_tui.emulator.layout import Layout
from entrabr_tui.emulator.people import iso
from entrabr_tui.emulator.recover import Failure, apply_changes
from entrabr_tui.emulator.snapshot_ids import check_style, snapshot_id

SNAPSHOT_HOUR = 22


@dataclass(frozen=True, slots=True)
class ChangeRecord:
    """One change object as ``getChanges`` returns it; ``body`` is its JSON (no ``failureMessage``)."""

    id: str
    entity_type: str
    action: str
    display_name: str
    body: bytes
    link_count: int


@dataclass(frozen=True, slots=True)
class FailedChange:
    """A change, or the part of it, that recovery could not apply; ``body`` carries ``failureMessage``."""

    record: ChangeRecord
    message: str
    units: int
    body: bytes


@dataclass(frozen=True, slots=True)
class RecoveryOutcome:
    """Totals of one recovery: objects + links modified + failed units = changes + links in scope."""

    objects_modified: int
    links_modified: int
    failed: tuple[FailedChange, ...]

    def merged(self, other: RecoveryOutcome) -> RecoveryOutcome:
        """The totals of this part of a recovery and a later one (failures by entity type, then id)."""
        failed = self.failed + other.failed
        if self.failed and other.failed:
            failed = tuple(sorted(failed, key=lambda f: (f.record.entity_type, f.record.id)))
        return RecoveryOutcome(self.objects_modified + other.objects_modified,
                               self.links_modified + other.links_modified, failed)


@dataclass(frozen=True, slots=True)
class Scope:
    """Which objects a job covers: by entity type, by type and ids, or (empty) everything."""

    types: frozenset[str] | None = None
    ids: Mapping[str, frozenset[str]] | None = None




def _dumps(obj: dict[str, Any]) -> bytes:
    # orjson hands back bytes objects with a ~4 KB allocation each; a compact copy keeps a
    # 500,000-change report at ~0.5 GB instead of ~2.5 GB.
    return bytes(memoryview(orjson.dumps(obj)))


def _record(change: Change, now: str, sync_flag: bool) -> ChangeRecord:
    return ChangeRecord(change.id, change.entity_type, change.action, change.display_name,
                        _dumps(change.to_json(now, sync_flag)), len(change.links))


def _failed(failure: Failure, record: ChangeRecord, now: str, sync_flag: bool) -> FailedChange:
    ch = failure.change
    if failure.object_failed and len(failure.failed_links) == len(ch.links) and ch.onprem:
        body: dict[str, Any] = ch.to_json(now, sync_flag)
    else:
        body = {"entityTypeName": ch.entity_type, "id": ch.id, "displayName": ch.display_name,
                "recoveryAction": ch.action,
                "deltaFromCurrent": {"@odata.type": ch.odata_type, c.MEMBERS_DELTA: [
                    ch.link_entry(mid, add) for mid, _, add in failure.failed_links]},
                "currentState": {"@odata.type": ch.odata_type}}
    out = {k: body[k] for k in ("entityTypeName", "id", "displayName", "recoveryAction")}
    out["failureMessage"] = failure.message
    out["deltaFromCurrent"] = body["deltaFromCurrent"]
    out["currentState"] = body["currentState"]
    return FailedChange(record, failure.message, failure.units, _dumps(out))


class Directory:
    """A deterministic emulated tenant with daily 22:00Z snapshots, drift and a recoverable incident.

    ``objects`` base objects (mostly users) are generated from ``seed``; ``snapshots`` daily snapshots end
    at the last 22:00Z at or before ``now``; each day between them drifts a little; after the newest one
    an incident touches ``drift`` objects (default: a few percent of the tenant; 0: no incident). Every
    change is journalled into the tenant's directory audit log (``audit``), which may also hold
    ``audit_events`` synthetic background records. ``snapshot_id_style`` picks how snapshot ids look;
    ``sync_flag_in_changes`` puts ``onPremisesSyncEnabled`` into the current state of on-premises-synced
    objects' changes (Microsoft's examples never show it; it can be switched at any time and applies to
    reports computed afterwards).
    """

    def __init__(self, *, seed: int = 1, objects: int = 2000, drift: int | None = None,
                 snapshots: int = 7, now: datetime | None = None, snapshot_id_style: str = "epoch",
                 sync_flag_in_changes: bool = False, audit_events: int = 0) -> None:
        if snapshots < 1:
            raise ValueError("a tenant keeps at least one snapshot")
        if drift is not None and drift < 0:
            raise ValueError("drift must be >= 0")
        self.snapshot_id_style = check_style(snapshot_id_style)
        self.sync_flag_in_changes = sync_flag_in_changes
        now = now or datetime.now(UTC)
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
        self.seed = seed
        self._layout = Layout(seed, objects)
        self.audit = AuditLog(self._layout, background_events=audit_events)
        self._drift = default_budget(objects) if drift is None else drift
        self._retention = snapshots
        self._now0 = now.astimezone(UTC)
        with _bulk():
            self._hist = self._build()
        self._count: int | None = None

    def _build(self) -> History:
        now = self._now0
        newest = now.replace(hour=SNAPSHOT_HOUR, minute=0, second=0, microsecond=0)
        if newest > now:
            newest -= timedelta(days=1)
        oldest = newest - timedelta(days=self._retention - 1)
        hist = History(self._layout, oldest, now)
        self.audit.begin(hist, now)
        for day in range(1, self._retention):
            when = oldest + timedelta(days=day)
            with self.audit.drift(day, when - timedelta(days=1), when):
                daily_drift(hist, day, when - timedelta(days=1), when)
            hist.take_snapshot(when)
        with self.audit.incident(newest, now, self._drift) as budget:
            run_incident(hist, budget, newest, now)
        self._day = self._retention
        return hist

    # ---- read side ----------------------------------------------------------------------------------------
    @property
    def tenant_id(self) -> str:
        """The tenant id (the organization object's id); depends on the seed and the tenant size."""
        return self._layout.tenant_id

    @property
    def object_count(self) -> int:
        """Objects in the live tenant (existing and not in the deleted items)."""
        if self._count is None:
            hist = self._hist
            touched = set(hist.floor) | set(hist.pending)
            for layer in hist.layers:
                touched.update(layer)
            untouched_base = self._layout.objects - sum(1 for i in touched if i < self._layout.objects)
            self._count = untouched_base + sum(1 for i in touched if hist.alive(i))
        return self._count

    def snapshots(self) -> list[tuple[str, datetime]]:
        """Current snapshots, newest first, as (id, createdDateTime)."""
        return [(snapshot_id(t, self.snapshot_id_style), t) for t in reversed(self._hist.times)]

    def snapshot_time(self, snapshot_id: str) -> datetime | None:
        """Time of a current snapshot, or None if the id is not one."""
        k = self._snapshot_index(snapshot_id)
        return None if k is None else self._hist.times[k]

    def _snapshot_index(self, sid: str) -> int | None:
        for k, t in enumerate(self._hist.times):
            if snapshot_id(t, self.snapshot_id_style) == sid:
                return k
        return None

    def _changes(self, sid: str, scope: Scope | None) -> list[Change]:
        k = self._snapshot_index(sid)
        if k is None:
            raise KeyError(f"no current snapshot has id {sid!r}")
        scope = scope or Scope()
        return compute_changes(self._hist, k, scope.types, scope.ids)

    def diff(self, snapshot_id: str, scope: Scope | None = None) -> list[ChangeRecord]:
        """Changes between a snapshot and the live tenant within ``scope``, by entity type then id."""
        now = iso(int(self._hist.now.timestamp()))
        flag = self.sync_flag_in_changes
        with _bulk():
            return [_record(ch, now, flag) for ch in self._changes(snapshot_id, scope)]

    def names(self, entity_type: str, ids: Iterable[str]) -> dict[str, str]:
        """Current display names of existing objects of one type (unknown ids are left out)."""
        hist, layout = self._hist, self._layout
        out: dict[str, str] = {}
        for oid in ids:
            idx = layout.index_of(oid)
            if idx is None or idx >= hist.next_idx:
                continue
            if type_of_index(layout, hist.created, idx) != entity_type or not hist.value(idx, "_exists"):
                continue
            out[oid] = str(hist.value(idx, "displayName") or "")
        return out

    def live_objects(self, ids: Iterable[str], types: frozenset[str]) -> list[dict[str, Any]]:
        """The existing, not deleted objects among ``ids`` whose entity type is in ``types``, as Graph
        renders them (``@odata.type`` first), in the order asked; unknown ids are left out."""
        layout, seen = self._layout, set()
        out: list[dict[str, Any]] = []
        for oid in ids:
            idx = layout.index_of(oid)
            if idx is None or idx in seen:
                continue
            seen.add(idx)
            obj = self._live_object(idx, types)
            if obj is not None:
                out.append(obj)
        return out

    def list_live(self, entity_type: str, start: int, limit: int) -> tuple[list[dict[str, Any]], int | None]:
        """Up to ``limit`` existing objects of one type from object index ``start`` on, in index order, and
        the index to continue from (None at the end)."""
        hist, layout = self._hist, self._layout
        base = range(max(start, layout.starts[entity_type]),
                     layout.starts[entity_type] + layout.counts[entity_type])
        created = sorted(i for i, info in hist.created.items()
                         if i >= start and info.entity_type == entity_type)
        out: list[dict[str, Any]] = []
        for idx in itertools.chain(base, created):
            if len(out) == limit:
                return out, idx
            obj = self._live_object(idx, frozenset({entity_type}))
            if obj is not None:
                out.append(obj)
        return out, None

    def _live_object(self, idx: int, types: frozenset[str]) -> dict[str, Any] | None:
        hist = self._hist
        etype = type_of_index(self._layout, hist.created, idx) if idx < hist.next_idx else None
        if etype is None or etype not in types or not hist.alive(idx):
            return None
        obj = {"@odata.type": c.ODATA_TYPES[etype], **materialize(self._layout, hist.created, idx)}
        for patch in hist.patches(idx):
            obj.update((k, v) for k, v in patch.items() if not k.startswith("_"))
        return obj

    # ---- write side ---------------------------------------------------------------------------------------
    def recover(self, snapshot_id: str, scope: Scope | None = None,
                origin: RecoveryOrigin | None = None) -> RecoveryOutcome:
        """Move the scoped live objects back toward the snapshot; report what was modified and what failed.

        With an ``origin`` (who ran it, when), the writes go to the audit log as that user's."""
        now = iso(int(self._hist.now.timestamp()))
        with _bulk(), self.audit.recovery(origin):
            changes = self._changes(snapshot_id, scope)
            applied = apply_changes(self._hist, changes, now)
            if origin is not None:
                origin.failures = list(applied.failures)
            self._count = None
            flag = self.sync_flag_in_changes
            failed = tuple(_failed(f, _record(f.change, now, flag), now, flag) for f in applied.failures)
        return RecoveryOutcome(applied.objects, applied.links, failed)

    def edit_object(self, object_id: str, properties: Mapping[str, Any], soft_delete: bool = False
                    ) -> dict[str, Any]:
        """Change a live object now, as an administrator would in the portal: set ``properties`` (Graph JSON
        names; a nested object such as a policy's ``conditions`` is replaced whole) and/or move it to the
        deleted items. Goes through the history like any other change, so reports and the audit log see it.
        Raises ``KeyError`` for an object that does not exist (or is deleted) and ``ValueError`` for a
        property name that cannot be written (``id``, ``@…`` annotations, private keys)."""
        hist = self._hist
        idx = self._layout.index_of(object_id)
        if idx is None or idx >= hist.next_idx or not hist.alive(idx):
            raise KeyError(object_id)
        bad = [k for k in properties if not k or k in ("id", "deletedDateTime") or k.startswith(("_", "@"))]
        if bad:
            raise ValueError(f"property {bad[0]!r} cannot be written")
        etype = type_of_index(self._layout, hist.created, idx)
        now = hist.now
        with _bulk(), self.audit.journal.open(DRIFT_BATCH, self._day, now.timestamp(), now.timestamp()):
            if properties:
                hist.write(idx, dict(properties))
            if soft_delete:
                hist.soft_delete(idx, iso(int(now.timestamp())))
        self._count = None
        return {"id": self._layout.id_of(idx), "entityType": etype, "deleted": not hist.alive(idx),
                "properties": {k: hist.value(idx, k) for k in properties}}

    def advance_day(self) -> str:
        """Snapshot the live tenant at the next 22:00Z, drift a day, drop snapshots beyond retention."""
        hist = self._hist
        when = hist.times[-1] + timedelta(days=1)
        hist.take_snapshot(when)
        hist.now = hist.now + timedelta(days=1)
        self._day += 1
        with _bulk():
            with self.audit.drift(self._day, when, hist.now):
                daily_drift(hist, self._day, when, hist.now)
            while len(hist.times) > self._retention:
                hist.drop_oldest()
        self._count = None
        return snapshot_id(when, self.snapshot_id_style)

    def reset(self) -> None:
        """Return to exactly the constructed state."""
        with _bulk():
            self._hist = self._build()
        self._count = None
