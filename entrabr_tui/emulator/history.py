"""The tenant's history as sparse overlays on top of the generated base tenant.

State of an object at snapshot ``k`` = base ⊕ ``floor`` ⊕ ``layers[1]`` ⊕ … ⊕ ``layers[k]``; the live state
adds ``pending`` (everything since the newest snapshot: drift, the incident, recoveries). A patch maps Graph
JSON property names to new values, plus private keys: ``_exists`` (False = never created or
hard-deleted), ``deletedDateTime`` (soft deletion), the link overrides ``_members`` (a group's static
members, user index -> member?), ``_owners`` (a group's or application's owners, user index -> owner?) and
``_sponsors`` (a user's sponsors, user index -> sponsor?), and ``_manager`` (a user's manager, a user index).
Values in patches are never mutated in place once written, so they can be shared.

Links are changed only through `History.set_member` / `History.set_owner` / `History.set_sponsor`, which
tell the journal (the audit log) about each link added or removed. Base groups have one owner each
(`Layout.owner_of`); reports show owner links (``owners@delta``), recovery never writes them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from entrabr_tui.emulator import catalog as c
from entrabr_tui.emulator.generate import Created, base_display_name, materialize
from entrabr_tui.emulator.layout import Layout

Patch = dict[str, Any]
EXISTS = "_exists"
DELETED = "deletedDateTime"
MEMBERS = "_members"
OWNERS = "_owners"
SPONSORS = "_sponsors"
MANAGER = "_manager"
#: Private keys holding link overrides (user index -> linked?), merged key by key.
LINK_KEYS = frozenset({MEMBERS, OWNERS, SPONSORS})


class Journal(Protocol):
    """Told about every live change before it is applied (the audit log listens here)."""

    def write(self, hist: History, idx: int, patch: Patch) -> None: ...
    def created(self, hist: History, idx: int, info: Created) -> None: ...
    def member(self, hist: History, group_idx: int, user_idx: int, member: bool) -> None: ...
    def linked(self, hist: History, key: str, idx: int, user_idx: int, linked: bool) -> None: ...
    def soft_deleted(self, hist: History, idx: int, when: str) -> None: ...
    def hard_deleted(self, hist: History, idx: int) -> None: ...


def merge_patch(dst: Patch, src: Patch) -> None:
    """Apply ``src`` on top of ``dst`` (``dst`` must be owned by the caller, including its ``_members``)."""
    for k, val in src.items():
        if k in LINK_KEYS:
            mine = dst.get(k)
            dst[k] = {**mine, **val} if mine is not None else dict(val)
        else:
            dst[k] = val


class History:
    """Base tenant + sparse per-snapshot overlays + the live overlay; see the module docstring."""

    def __init__(self, layout: Layout, oldest: datetime, now: datetime) -> None:
        self.layout = layout
        self.created: dict[int, Created] = {}
        self.next_idx = layout.objects
        self.floor: dict[int, Patch] = {}
        self.times: list[datetime] = [oldest]
        self.layers: list[dict[int, Patch]] = [{}]
        self.pending: dict[int, Patch] = {}
        self.now = now
        #: soft-deleted objects (candidates for later restores and purges), in deletion order
        self.deleted_pool: list[int] = []
        #: user index -> groups it was added to after the base tenant
        self.joined: dict[int, set[int]] = {}
        #: user index -> groups and applications it was made owner of after the base tenant
        self.owned: dict[int, set[int]] = {}
        self._base_owned: dict[int, list[int]] | None = None
        #: objects the drift and the incident never pick (the accounts and apps that act on the tenant)
        self.reserved: set[int] = set()
        #: told about every live change (None: nobody listens)
        self.journal: Journal | None = None

    # ---- reading --------------------------------------------------------------------------------------
    def patches(self, idx: int, upto: int | None = None) -> list[Patch]:
        """Patches of an object up to snapshot ``upto`` inclusive (None: all, i.e. the live state)."""
        out = []
        p = self.floor.get(idx)
        if p is not None:
            out.append(p)
        stop = len(self.layers) if upto is None else upto + 1
        for layer in self.layers[1:stop]:
            p = layer.get(idx)
            if p is not None:
                out.append(p)
        if upto is None:
            p = self.pending.get(idx)
            if p is not None:
                out.append(p)
        return out

    def split(self, idx: int, after: int) -> tuple[list[Patch], list[Patch]]:
        """(patches up to snapshot ``after``, patches written after it) of one object, in one pass."""
        earlier: list[Patch] = []
        later: list[Patch] = []
        p = self.floor.get(idx)
        if p is not None:
            earlier.append(p)
        for k, layer in enumerate(self.layers):
            p = layer.get(idx)
            if p is not None:
                (earlier if k <= after else later).append(p)
        p = self.pending.get(idx)
        if p is not None:
            later.append(p)
        return earlier, later

    def touched_after(self, after: int) -> set[int]:
        """Indexes of every object with any write after snapshot ``after``."""
        out = set(self.pending)
        for layer in self.layers[after + 1:]:
            out.update(layer)
        return out

    def value(self, idx: int, key: str, upto: int | None = None) -> Any:
        """One property's value at a snapshot (or live), materialising the base object only if needed."""
        for p in reversed(self.patches(idx, upto)):
            if key in p:
                return p[key]
        if key == EXISTS:
            return idx < self.layout.objects
        if key == DELETED:
            return None
        if key == "displayName":
            return base_display_name(self.layout, self.created, idx)
        return materialize(self.layout, self.created, idx).get(key)

    def alive(self, idx: int, upto: int | None = None) -> bool:
        """Exists and is not soft-deleted."""
        exists = deleted = None
        found_e = found_d = False
        for p in reversed(self.patches(idx, upto)):
            if not found_e and EXISTS in p:
                exists, found_e = p[EXISTS], True
            if not found_d and DELETED in p:
                deleted, found_d = p[DELETED], True
            if found_e and found_d:
                break
        if not found_e:
            exists = idx < self.layout.objects
        return bool(exists) and deleted is None

    def is_member(self, group_idx: int, user_idx: int, upto: int | None = None) -> bool:
        """Static membership of a user in a group at a snapshot (or live)."""
        for p in reversed(self.patches(group_idx, upto)):
            m = p.get(MEMBERS)
            if m is not None and user_idx in m:
                return bool(m[user_idx])
        return self.layout.is_base_member(group_idx, user_idx)

    def is_owner(self, idx: int, user_idx: int, upto: int | None = None) -> bool:
        """Whether a user owns a group or application at a snapshot (or live)."""
        for p in reversed(self.patches(idx, upto)):
            o = p.get(OWNERS)
            if o is not None and user_idx in o:
                return bool(o[user_idx])
        return self.layout.is_base_owner(idx, user_idx)

    def owners(self, idx: int, upto: int | None = None) -> list[int]:
        """All owners of a group or application at a snapshot (or live), ascending."""
        base = self.layout.owner_of(idx)
        out = set() if base is None else {base}
        for p in self.patches(idx, upto):
            for u, on in p.get(OWNERS, {}).items():
                if on:
                    out.add(u)
                else:
                    out.discard(u)
        return sorted(out)

    def is_sponsor(self, user_idx: int, sponsor_idx: int, upto: int | None = None) -> bool:
        """Whether a user sponsors another at a snapshot (or live); base users have no sponsors."""
        for p in reversed(self.patches(user_idx, upto)):
            s = p.get(SPONSORS)
            if s is not None and sponsor_idx in s:
                return bool(s[sponsor_idx])
        return False

    def members(self, group_idx: int, upto: int | None = None) -> list[int]:
        """All static members of a group at a snapshot (or live), ascending."""
        base = set(self.layout.members_of(group_idx))
        for p in self.patches(group_idx, upto):
            for u, on in p.get(MEMBERS, {}).items():
                if on:
                    base.add(u)
                else:
                    base.discard(u)
        return sorted(base)

    # ---- writing --------------------------------------------------------------------------------------
    def write(self, idx: int, patch: Patch) -> None:
        """Record a live change (goes into ``pending``)."""
        if self.journal is not None:
            self.journal.write(self, idx, patch)
        self._apply(idx, patch)

    def _apply(self, idx: int, patch: Patch) -> None:
        mine = self.pending.get(idx)
        if mine is None:
            mine = self.pending[idx] = {}
        merge_patch(mine, patch)

    def create(self, info: Created) -> int:
        """Register a new object created now (live) and return its index."""
        idx = self.next_idx
        self.next_idx += 1
        self.created[idx] = info
        self._apply(idx, {EXISTS: True})
        if self.journal is not None:
            self.journal.created(self, idx, info)
        return idx

    def set_base(self, idx: int, patch: Patch) -> None:
        """Give a base object properties it has had since before the oldest snapshot (in no report)."""
        mine = self.floor.get(idx)
        if mine is None:
            mine = self.floor[idx] = {}
        merge_patch(mine, patch)

    def take_snapshot(self, when: datetime) -> None:
        """Freeze the live overlay as the newest snapshot's layer and start an empty live overlay."""
        self.layers.append(self.pending)
        self.times.append(when)
        self.pending = {}

    def drop_oldest(self) -> None:
        """Forget the oldest snapshot, folding the next layer into ``floor``."""
        if len(self.times) < 2:
            return
        for idx, p in self.layers[1].items():
            mine = self.floor.get(idx)
            if mine is None:
                mine = self.floor[idx] = {}
            merge_patch(mine, p)
        del self.layers[0]
        del self.times[0]
        self.layers[0] = {}

    # ---- directory operations (live) ------------------------------------------------------------------
    def set_member(self, group_idx: int, user_idx: int, member: bool) -> None:
        """Add or remove a static membership link."""
        if self.journal is not None:
            self.journal.member(self, group_idx, user_idx, member)
        self._apply(group_idx, {MEMBERS: {user_idx: member}})
        if member:
            self.joined.setdefault(user_idx, set()).add(group_idx)

    def set_owner(self, idx: int, user_idx: int, owner: bool) -> None:
        """Add or remove an owner link of a group or application (recovery never writes these: owners are
        not recoverable); a link that is already so is left alone."""
        if self.is_owner(idx, user_idx) == owner:
            return
        if self.journal is not None:
            self.journal.linked(self, OWNERS, idx, user_idx, owner)
        self._apply(idx, {OWNERS: {user_idx: owner}})
        if owner:
            self.owned.setdefault(user_idx, set()).add(idx)

    def set_sponsor(self, user_idx: int, sponsor_idx: int, sponsor: bool) -> None:
        """Add or remove a sponsor of a user (not recoverable, never in a report); a link that is already so
        is left alone."""
        if self.is_sponsor(user_idx, sponsor_idx) == sponsor:
            return
        if self.journal is not None:
            self.journal.linked(self, SPONSORS, user_idx, sponsor_idx, sponsor)
        self._apply(user_idx, {SPONSORS: {sponsor_idx: sponsor}})

    def _owned_base_groups(self, user_idx: int) -> list[int]:
        if self._base_owned is None:         # one pass over the base groups, on the first purge
            layout = self.layout
            by_owner: dict[int, list[int]] = {}
            start = layout.starts[c.GROUP]
            for g in range(start, start + layout.counts[c.GROUP]):
                owner = layout.owner_of(g)
                if owner is not None:
                    by_owner.setdefault(owner, []).append(g)
            self._base_owned = by_owner
        return self._base_owned.get(user_idx, [])

    def soft_delete(self, idx: int, when: str) -> None:
        """Move an object to the deleted items."""
        if self.journal is not None:
            self.journal.soft_deleted(self, idx, when)
        self._apply(idx, {DELETED: when})
        self.deleted_pool.append(idx)

    def hard_delete_user(self, user_idx: int) -> None:
        """Permanently delete a user; its membership and owner links disappear with it (the audit log
        writes ``Hard Delete user`` only)."""
        if self.journal is not None:
            self.journal.hard_deleted(self, user_idx)
        for g in sorted(set(self.layout.groups_of(user_idx)) | self.joined.get(user_idx, set())):
            if self.is_member(g, user_idx):
                self._apply(g, {MEMBERS: {user_idx: False}})
        for idx in sorted(set(self._owned_base_groups(user_idx)) | self.owned.get(user_idx, set())):
            if self.is_owner(idx, user_idx):
                self._apply(idx, {OWNERS: {user_idx: False}})
        self._apply(user_idx, {EXISTS: False})
