"""Who made each journalled change, when, and under which correlation id: batches become audit events.

Rules (see :mod:`audit_actors` for the cast):

* **Drift day** — changes to on-premises-synchronised objects (and to their memberships) come from
  directory synchronization, on its 30-minute cycle; joiners, leavers and department/job-title edits from
  the HR provisioning app (which also puts a joiner in a cloud group); password resets, other user edits,
  restores and purges from the helpdesk admin; groups, applications, service principals, policies and
  owner hand-overs (owners are managed in the cloud, synchronised groups included) from the identity admin.
* **Incident** — policy edits, the security group's member removals and deletion (one correlation id), the
  rogue registration and the rogue guests come from the compromised admin; once the rogue app's service
  principal exists (plus a minute for its secret), user deletions, purges and the mass disable-and-rename come
  from the rogue app, in program order, forty changes per correlation id. Deletions stamped before the app
  existed stay with the compromised admin. A group's member and owner changes and its deletion share one
  correlation id; links to an object the batch created come a few seconds after its creation.
* **Recovery** — every change comes from the user who created the job, one correlation id per job,
  category ``Backup and Recovery``, dated when the job applied it (a recovery applies its changes
  progressively while it runs, so its records spread over the running phase).

A time the tenant state already records (``deletedDateTime``, ``createdDateTime``, ``modifiedDateTime``,
``lastPasswordChangeDateTime``) is the record's time; other times are drawn deterministically inside the
batch's window, and each object's records keep the order its changes were made in.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from entrabr_tui.emulator import catalog as c
from entrabr_tui.emulator.audit_actors import DIRECTORY_SYNC, Cast, Identity
from entrabr_tui.emulator.audit_events import TICKS, AuditEvent, Prop, Target
from entrabr_tui.emulator.audit_journal import (
    CREATE,
    HARD_DELETE,
    INCIDENT,
    LINK,
    MEMBER,
    RECOVERY,
    SOFT_DELETE,
    WRITE,
    Batch,
    RawOp,
)
from entrabr_tui.emulator.audit_records import (
    ACTIVITIES_BY_TYPE,
    JOB_PREVIEW,
    JOB_RECOVERY,
    MEMBER_ADD,
    MEMBER_REMOVE,
    Draft,
    RecordWriter,
    attr,
    failure,
    for_recovery,
    pascal,
    prop_value,
    text,
)
from entrabr_tui.emulator.generate import is_onprem, materialize
from entrabr_tui.emulator.history import History
from entrabr_tui.emulator.layout import mix

HR_KEYS = frozenset({"department", "jobTitle", "employeeOrgData"})
SYNC_CYCLE = 1800                 # seconds between directory synchronization runs
ROGUE_CHUNK = 40                  # rogue-app changes per correlation id
ROGUE_READY = 60                  # seconds between the rogue service principal and its first change
STEP = 0.8                        # seconds between the changes of one scripted operation
_RECOVERY_SALT = 0x7EC0 << 40           # a recovery's correlation id: one per job, whatever its parts


def parse_epoch(text_value: str) -> float:
    """Epoch seconds of an ISO-8601 UTC timestamp (``2026-03-20T22:31:05Z``)."""
    return datetime.fromisoformat(text_value.replace("Z", "+00:00")).timestamp()


@dataclass(slots=True)
class RecoveryOrigin:
    """Who ran one part of a recovery and when its changes were applied: ``applied_at`` maps object ids to
    the time their change was due, ``when`` dates anything else (also the failures the part reported)."""

    job_id: str
    initiator: Identity
    when: datetime
    activity: str | None = None            # one activity name for every record (None: per type)
    failures: list[Any] = field(default_factory=list)
    applied_at: Mapping[str, datetime] = field(default_factory=dict)


@dataclass(slots=True)
class Plan:
    """One logical change: an initiator, one or more record drafts, a time and a correlation group."""

    op: RawOp
    actor: Identity
    drafts: list[Draft]
    at: float | None = None
    fixed: bool = False
    corr_key: Any = None
    anchor: tuple[Plan, float] | None = None
    rogue: bool = False


class Narrator:
    """Turns closed journal batches into audit events (one narrator per tenant history)."""

    def __init__(self, hist: History, cast: Cast) -> None:
        self.hist = hist
        self.layout = hist.layout
        self.cast = cast
        self.writer = RecordWriter(hist)
        self.uid = 0
        self.op = 0
        self.rogue: Identity | None = None

    # ---- counters and ids ---------------------------------------------------------------------------------
    def _next_uid(self) -> int:
        self.uid += 2                        # even: journalled records; odd: background records
        return self.uid

    def _corr(self, salt: int) -> int:
        hi = mix(self.layout.key ^ (salt * 0x2545F4914F6CDD1D) ^ 0xC0AA)
        lo = mix(hi ^ salt ^ 0x5EED)
        value = (hi << 64) | lo
        value &= ~(0xF000 << 64)             # version 4, RFC 4122 variant
        value |= 0x4000 << 64
        value &= ~(0xC000 << 48)
        value |= 0x8000 << 48
        return value & ((1 << 128) - 1)

    # ---- entry point --------------------------------------------------------------------------------------
    def narrate(self, batch: Batch) -> list[AuditEvent]:
        """The events of one closed batch."""
        if batch.kind == RECOVERY:
            return self._recovery(batch)
        rng = random.Random(mix(self.layout.key ^ (0xA0D1 << 32) ^ (batch.label << 8) ^ len(batch.kind)))
        plans = self._incident(batch) if batch.kind == INCIDENT else self._drift(batch)
        self._time(plans, batch, rng)
        return self._events(plans, int(batch.start * TICKS) + 1, int(max(batch.start + 1, batch.end) * TICKS))

    # ---- drift --------------------------------------------------------------------------------------------
    def _drift(self, batch: Batch) -> list[Plan]:
        plans: list[Plan] = []
        by_seq: dict[int, Plan] = {}
        created_by: dict[int, Identity] = {}
        for op in batch.ops:
            actor = op.actor or self._drift_actor(op, created_by)
            if op.kind == CREATE:
                created_by[op.idx] = actor
            plan = self._plan(op, actor)
            if plan is None:
                continue
            if op.anchor is not None and op.anchor[0] in by_seq:
                plan.anchor = (by_seq[op.anchor[0]], op.anchor[1])
            by_seq[op.seq] = plan
            plans.append(plan)
        return plans

    def _drift_actor(self, op: RawOp, created_by: dict[int, Identity]) -> Identity:
        layout, created, cast = self.layout, self.hist.created, self.cast
        if op.kind == LINK:
            return cast.identity_admin
        if op.kind == MEMBER:          # synchronization writes only the memberships of synchronised groups
            if is_onprem(layout, created, op.idx):
                return cast.sync
            creator = created_by.get(op.user)
            if creator is not None:
                return cast.hr if creator.kind == DIRECTORY_SYNC else creator
            return cast.identity_admin
        if op.etype in (c.USER, c.GROUP) and is_onprem(layout, created, op.idx):
            return cast.sync
        if op.etype != c.USER:
            return cast.identity_admin
        if op.kind in (CREATE, SOFT_DELETE):
            return cast.hr
        if op.kind == WRITE and op.patch is not None:
            keys = set(op.patch)
            leaver = op.patch.get("accountEnabled") is False and "employeeLeaveDateTime" in keys
            if keys <= HR_KEYS or leaver:
                return cast.hr
        return cast.helpdesk

    # ---- incident -----------------------------------------------------------------------------------------
    def _incident(self, batch: Batch) -> list[Plan]:
        cast = self.cast
        app_from: float | None = None
        for op in batch.ops:
            info = op.created
            if op.kind == CREATE and info is not None and info.flavor == "rogue" and \
                    op.etype == c.SERVICE_PRINCIPAL:
                self.rogue = cast.rogue_app(op.idx, info.related)
                app_from = info.created + ROGUE_READY
        rogue = self.rogue if app_from is not None else None
        plans: list[Plan] = []
        by_seq: dict[int, Plan] = {}
        group_ops: dict[int, list[Plan]] = {}
        made: dict[int, Plan] = {}                  # objects created in the batch -> their creation
        linked: dict[int, int] = {}                 # links made so far to each of them
        for op in batch.ops:
            actor = op.actor
            script = False
            if actor is None:
                actor = cast.compromised
                if op.kind == HARD_DELETE or (op.kind == WRITE and op.etype == c.USER):
                    script = rogue is not None
                elif op.kind == SOFT_DELETE and op.etype == c.USER and op.when is not None:
                    script = rogue is not None and app_from is not None and parse_epoch(op.when) >= app_from
                if script and rogue is not None:
                    actor = rogue
            if op.kind == HARD_DELETE and op.when is None:
                # purged straight from the directory: the soft delete comes first, as its own operation
                soft = self.writer.delete_draft(c.USER, op.idx, None, hard=False, sync=False)
                first = Plan(op, actor, [soft], rogue=script)
                plans.append(first)
                second = self._plan(op, actor)
                assert second is not None
                second.anchor = (first, 2.0 + (mix(op.seq) % 300) / 10)
                plans.append(second)
                by_seq[op.seq] = second
                continue
            plan = self._plan(op, actor)
            if plan is None:
                continue
            plan.rogue = script
            if op.anchor is not None and op.anchor[0] in by_seq:
                plan.anchor = (by_seq[op.anchor[0]], op.anchor[1])
            elif op.kind in (MEMBER, LINK) and op.user in made:
                n = linked[op.user] = linked.get(op.user, 0) + 1
                plan.anchor = (made[op.user], 4.0 + STEP * n)
            elif op.kind in (MEMBER, LINK) and op.actor is None and group_ops.get(op.idx) \
                    and group_ops[op.idx][-1].anchor is not None:     # the rest of a timed group operation
                plan.anchor = (group_ops[op.idx][-1], STEP)
            if op.kind == CREATE:
                made[op.idx] = plan
            if op.actor is None and op.etype == c.GROUP and op.kind in (MEMBER, LINK, SOFT_DELETE):
                plan.corr_key = ("group", op.idx)
                group_ops.setdefault(op.idx, []).append(plan)
            by_seq[op.seq] = plan
            plans.append(plan)
            if op.kind == CREATE and op.created is not None and op.created.flavor == "rogue" \
                    and op.etype == c.APPLICATION:        # the secret comes a little after the registration
                creds = materialize(self.layout, self.hist.created, op.idx).get("passwordCredentials")
                secret = self.writer.credentials_draft(op.etype, op.idx, op.name,
                                                       [("passwordCredentials", [], creds)])
                plans.append(Plan(op, actor, [secret], anchor=(plan, 20.0)))
        for members in group_ops.values():          # removals just before the group's deletion
            last = members[-1]
            if last.op.kind == SOFT_DELETE:
                before = members[:-1]
                for i, plan in enumerate(before):
                    plan.anchor = (last, -STEP * (len(before) - i))
        return plans

    # ---- shared -------------------------------------------------------------------------------------------
    def _plan(self, op: RawOp, actor: Identity) -> Plan | None:
        drafts = self.writer.drafts(op, sync=actor.kind == DIRECTORY_SYNC)
        if not drafts:
            return None
        at: float | None = None
        if op.kind == SOFT_DELETE and op.when:
            at = parse_epoch(op.when)
        elif op.kind == CREATE and op.created is not None:
            at = float(op.created.created)
        elif op.kind == WRITE and op.patch is not None:
            for key in ("lastPasswordChangeDateTime", "modifiedDateTime"):
                value = op.patch.get(key)
                if isinstance(value, str):
                    at = parse_epoch(value)
                    break
        return Plan(op, actor, drafts, at, at is not None)

    def _time(self, plans: list[Plan], batch: Batch, rng: random.Random) -> None:
        start, end = batch.start, max(batch.start + 1, batch.end)
        span = end - start
        scripted = [p for p in plans if p.rogue and not p.fixed and p.anchor is None]
        if scripted:
            app_from = min(end, self._app_from(plans, start))
            draws = sorted(app_from + rng.random() * max(0.0, end - app_from) for _ in scripted)
            for plan, at in zip(scripted, draws, strict=True):
                plan.at = at
        for plan in plans:
            if plan.at is not None or plan.anchor is not None:
                continue
            at = start + rng.random() * span
            if plan.actor.kind == DIRECTORY_SYNC:
                at = min(end, (int(at) // SYNC_CYCLE + 1) * SYNC_CYCLE + rng.random() * 90)
            plan.at = at
        for _ in range(3):                           # anchors may point at anchored plans
            for plan in plans:
                if plan.anchor is not None and plan.anchor[0].at is not None:
                    plan.at = plan.anchor[0].at + plan.anchor[1]
        for plan in plans:
            if plan.at is None:
                plan.at = start + rng.random() * span
        by_object: dict[int, list[Plan]] = {}
        for plan in plans:
            by_object.setdefault(plan.op.idx, []).append(plan)
        for chain in by_object.values():
            if len(chain) < 2:
                continue
            bound = float("inf")
            for plan in reversed(chain):              # free changes before a stamped one stay before it
                assert plan.at is not None
                if plan.fixed:
                    bound = plan.at
                elif plan.at >= bound:
                    plan.at = bound - STEP
                bound = min(bound, plan.at)
            prev = float("-inf")
            for plan in chain:                         # and each object's changes keep their order
                assert plan.at is not None
                if not plan.fixed and plan.at <= prev:
                    plan.at = prev + STEP
                prev = max(prev, plan.at)
        for i, plan in enumerate(p for p in plans if p.rogue):
            if plan.corr_key is None:
                plan.corr_key = ("rogue", i // ROGUE_CHUNK)

    def _app_from(self, plans: list[Plan], start: float) -> float:
        for plan in plans:
            info = plan.op.created
            if plan.op.kind == CREATE and info is not None and info.flavor == "rogue" and \
                    plan.op.etype == c.SERVICE_PRINCIPAL:
                return info.created + ROGUE_READY
        return start

    def _events(self, plans: list[Plan], lo: int, hi: int) -> list[AuditEvent]:
        """Events of the planned changes, each dated inside the batch's window (``lo``..``hi`` ticks): a
        record is never dated before the snapshot its change follows, nor after the one that holds it."""
        out: list[AuditEvent] = []
        shared: dict[Any, int] = {}
        for plan in plans:
            self.op += 1
            if plan.corr_key is not None:
                corr = shared.get(plan.corr_key)
                if corr is None:
                    corr = shared[plan.corr_key] = self._corr(self.op)
            else:
                corr = self._corr(self.op)
            assert plan.at is not None
            base = int(plan.at * TICKS)
            if plan.fixed:
                base += mix(plan.op.seq ^ 0xF4AC) % (TICKS // 2)
            for draft in plan.drafts:
                ticks = min(hi, max(lo, base + int(draft.offset * TICKS)))
                out.append(AuditEvent(ticks, self._next_uid(), self.op,
                                      draft.activity, plan.actor, corr, draft.targets, draft.result,
                                      draft.reason))
        return out

    # ---- recovery -----------------------------------------------------------------------------------------
    def _recovery(self, batch: Batch) -> list[AuditEvent]:
        origin: RecoveryOrigin = batch.context
        namer: Callable[[Draft], str] | None = None
        if origin.activity:
            fixed_name = origin.activity
            namer = lambda _draft: fixed_name  # noqa: E731
        default = int(origin.when.timestamp() * TICKS)

        def at(idx: int) -> int:
            when = origin.applied_at.get(self.layout.id_of(idx))
            return default if when is None else int(when.timestamp() * TICKS)

        timed: list[tuple[int, Draft]] = []
        for op in batch.ops:
            timed += [(at(op.idx), for_recovery(d, namer)) for d in self.writer.drafts(op)]
        for fail in origin.failures:
            timed += [(at(fail.change.idx), failure(for_recovery(d, namer), fail.message or ""))
                      for d in self._failed(fail)]
        timed.sort(key=lambda item: item[0])           # stable: a change's records keep their order
        self.op += 1
        corr = self._corr(zlib.crc32(origin.job_id.encode()) ^ _RECOVERY_SALT)    # one per job
        return [AuditEvent(ticks, self._next_uid(), self.op, draft.activity, origin.initiator, corr,
                           draft.targets, draft.result, draft.reason, gappable=False)
                for ticks, draft in timed]

    def _failed(self, fail: Any) -> list[Draft]:
        """Records of a change recovery could not apply (the object part and/or its links)."""
        ch = fail.change
        writer = self.writer
        out: list[Draft] = []
        if fail.object_failed:
            kind = {"update": "update", "restore": "restore"}.get(ch.action, "delete")
            activity = ACTIVITIES_BY_TYPE.get(ch.entity_type, {}).get(kind)
            props: tuple[Prop, ...] = ()
            if ch.action == "update":
                props = tuple(Prop(pascal(ch.entity_type, k), attr(prop_value(k, ch.current.get(k))),
                                   attr(prop_value(k, v))) for k, v in ch.props.items())
                props += (Prop("Included Updated Properties", None, text(", ".join(p.name for p in props))),)
            if activity is not None:
                out.append(Draft(activity, (writer.target(ch.entity_type, ch.idx, ch.display_name, props),)))
        for _member_id, u, add in fail.failed_links:
            group = writer.target(c.GROUP, ch.idx, ch.display_name)
            out.append(Draft(MEMBER_ADD if add else MEMBER_REMOVE, (writer.target(c.USER, u), group)))
        return out

    # ---- job records --------------------------------------------------------------------------------------
    def job_created(self, job_id: str, kind: str, target_time: str, initiator: Identity,
                    when: datetime) -> AuditEvent:
        """The record of a difference report or recovery job being created."""
        self.op += 1
        activity = JOB_PREVIEW if kind == "preview" else JOB_RECOVERY
        name = "recoveryPreviewJob" if kind == "preview" else "recoveryJob"
        props = (Prop("TargetStateDateTime", None, text(target_time)),)
        target = Target(job_id, "Other", name, props=props)
        return AuditEvent(int(when.timestamp() * TICKS), self._next_uid(), self.op, activity, initiator,
                          self._corr(zlib.crc32(job_id.encode()) ^ (self.op << 32)), (target,),
                          gappable=False)
