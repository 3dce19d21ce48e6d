"""The raw material of the audit log: every live change to the tenant, as it happens, with its old values.

The journal listens to `History` (see ``History.journal``) and files each change into the open batch (a day
of drift, the incident, one recovery). It copies only what the records will need and what may change later:
old values of the written properties, display names of non-user objects, whole Conditional Access and named
location policies. Deciding who did it, when and under which activity name happens later, once per batch
(:mod:`audit_timeline`), so building a large tenant stays cheap.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from entrabr_tui.emulator import catalog as c
from entrabr_tui.emulator.audit_actors import Identity
from entrabr_tui.emulator.generate import Created, base_display_name, base_value, entity_type, materialize
from entrabr_tui.emulator.history import DELETED, EXISTS, History, Patch, merge_patch

WRITE = "write"
CREATE = "create"
MEMBER = "member"
LINK = "link"
SOFT_DELETE = "softDelete"
HARD_DELETE = "hardDelete"

DRIFT = "drift"
INCIDENT = "incident"
RECOVERY = "recovery"

#: Types whose records carry the whole policy as one JSON value.
WHOLE_POLICY_TYPES = frozenset({c.CA_POLICY, c.NAMED_LOCATION})


@dataclass(slots=True)
class RawOp:
    """One live change, with what its records need to know about the state before it."""

    seq: int
    kind: str
    idx: int
    etype: str
    patch: Patch | None = None
    old: dict[str, Any] | None = None
    name: str | None = None                  # display name before the change (non-user objects)
    user: int = -1                           # member, link: the user index
    add: bool = True                         # member, link: link added (else removed)
    link: str = ""                           # link: the history key (``_owners`` or ``_sponsors``)
    when: str | None = None                  # soft delete: deletedDateTime; hard delete: the one before
    created: Created | None = None
    policy: tuple[dict[str, Any], dict[str, Any]] | None = None   # whole policy before and after
    actor: Identity | None = None            # who did it, when the writer says so
    anchor: tuple[int, float] | None = None  # (seq of an earlier op, seconds after it)


@dataclass(slots=True)
class Batch:
    """Changes written together: one drift day, the incident or one recovery (``start``/``end``: epoch s)."""

    kind: str
    label: int
    start: float
    end: float
    ops: list[RawOp] = field(default_factory=list)
    context: Any = None                      # recovery: the job's origin


def current(hist: History, idx: int, etype: str, key: str) -> Any:
    """The live value of one property, without materialising the object when a patch has it."""
    for p in reversed(hist.patches(idx)):
        if key in p:
            return p[key]
    if key.startswith("_"):
        return None
    return base_value(hist.layout, hist.created, idx, etype, key)


def whole(hist: History, idx: int) -> dict[str, Any]:
    """The whole live object (Graph JSON names, private keys dropped)."""
    obj = materialize(hist.layout, hist.created, idx)
    for p in hist.patches(idx):
        merge_patch(obj, p)
    return {k: v for k, v in obj.items() if not k.startswith("_") and k != DELETED}


class Journal:
    """Collects `RawOp` records for the open batch; closed batches wait in ``closed`` to be narrated."""

    def __init__(self) -> None:
        self.batch: Batch | None = None
        self.closed: list[Batch] = []
        self.seq = 0
        self._lock = threading.Lock()            # batches close in the directory's thread, are read in others
        self._actor: Identity | None = None
        self._anchor: tuple[int, float] | None = None

    def reset(self) -> None:
        """Forget every batch."""
        self.batch = None
        with self._lock:
            self.closed = []
        self.seq = 0
        self._actor = None
        self._anchor = None

    @contextmanager
    def open(self, kind: str, label: int, start: float, end: float, context: Any = None) -> Iterator[Batch]:
        """File the changes made inside the block under one batch."""
        if self.batch is not None:
            raise RuntimeError("an audit batch is already open")
        batch = self.batch = Batch(kind, label, start, end, context=context)
        try:
            yield batch
        finally:
            self.batch = None
            with self._lock:
                self.closed.append(batch)

    def take_closed(self) -> list[Batch]:
        """The batches closed since the last call, oldest first."""
        with self._lock:
            batches, self.closed = self.closed, []
        return batches

    @contextmanager
    def acting(self, actor: Identity, anchor: tuple[int, float] | None = None) -> Iterator[None]:
        """Attribute the changes made inside the block to ``actor`` (optionally timed after an earlier op)."""
        saved = self._actor, self._anchor
        self._actor, self._anchor = actor, anchor
        try:
            yield
        finally:
            self._actor, self._anchor = saved

    def _add(self, op: RawOp) -> None:
        if self.batch is None:
            return
        op.actor, op.anchor = self._actor, self._anchor
        self.batch.ops.append(op)

    def _next(self) -> int:
        self.seq += 1
        return self.seq

    # ---- History's Journal protocol ----------------------------------------------------------------------
    def write(self, hist: History, idx: int, patch: Patch) -> None:
        """A property write (also restores, and a user's manager)."""
        if self.batch is None:
            return
        etype = entity_type(hist.layout, hist.created, idx) or c.USER
        op = RawOp(self._next(), WRITE, idx, etype, patch=patch,
                   old={k: current(hist, idx, etype, k) for k in patch if k != EXISTS})
        if etype != c.USER:
            op.name = _name(hist, idx)
        if etype in WHOLE_POLICY_TYPES:
            before = whole(hist, idx)
            after = dict(before)
            after.update({k: v for k, v in patch.items() if not k.startswith("_")})
            op.policy = (before, after)
        self._add(op)

    def created(self, hist: History, idx: int, info: Created) -> None:
        """An object created now."""
        if self.batch is not None:
            self._add(RawOp(self._next(), CREATE, idx, info.entity_type, created=info, name=_name(hist, idx)))

    def member(self, hist: History, group_idx: int, user_idx: int, member: bool) -> None:
        """A static membership link added or removed."""
        if self.batch is not None:
            self._add(RawOp(self._next(), MEMBER, group_idx, c.GROUP, user=user_idx, add=member,
                            name=_name(hist, group_idx)))

    def linked(self, hist: History, key: str, idx: int, user_idx: int, linked: bool) -> None:
        """An owner (of a group or application) or a sponsor (of a user) added or removed."""
        if self.batch is not None:
            etype = entity_type(hist.layout, hist.created, idx) or c.USER
            self._add(RawOp(self._next(), LINK, idx, etype, user=user_idx, add=linked, link=key,
                            name=None if etype == c.USER else _name(hist, idx)))

    def soft_deleted(self, hist: History, idx: int, when: str) -> None:
        """An object moved to the deleted items."""
        if self.batch is not None:
            etype = entity_type(hist.layout, hist.created, idx) or c.USER
            self._add(RawOp(self._next(), SOFT_DELETE, idx, etype, when=when,
                            name=None if etype == c.USER else _name(hist, idx)))

    def hard_deleted(self, hist: History, idx: int) -> None:
        """A user deleted for good."""
        if self.batch is not None:
            self._add(RawOp(self._next(), HARD_DELETE, idx, c.USER, when=current(hist, idx, c.USER, DELETED)))


def _name(hist: History, idx: int) -> str:
    for p in reversed(hist.patches(idx)):
        if "displayName" in p:
            return str(p["displayName"] or "")
    return base_display_name(hist.layout, hist.created, idx)
