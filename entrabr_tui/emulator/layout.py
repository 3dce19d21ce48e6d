"""Shape of the emulated tenant: how many objects of each type, object ids, static group memberships.

Every base object is identified by an integer index. The index decides its entity type (types occupy
consecutive blocks), its id (a GUID whose last 48 bits are an invertible scramble of the index, so an id
maps back to its index without any table) and, for users and groups, its static memberships and group
owners (computed arithmetically, so nothing per object is stored). The tenant id (also the organization
object's id) depends on the seed and on the tenant size.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from functools import cached_property

from entrabr_tui.emulator import catalog as c

M64 = (1 << 64) - 1
M48 = (1 << 48) - 1
_PERM_MUL = 0x9E3779B97F4B | 1
_PERM_INV = pow(_PERM_MUL, -1, 1 << 48)


def mix(x: int) -> int:
    """splitmix64 finaliser: a fast, well-spread 64-bit hash of an integer."""
    x = (x + 0x9E3779B97F4A7C15) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def tenant_id(seed: int, objects: int) -> str:
    """The id of the tenant built from ``seed`` with ``objects`` objects (a version-4-shaped GUID).

    Tenants of different sizes get different ids, so a client's per-tenant cache never mixes them.
    """
    h = mix(mix(0x7E4A_4E71 ^ (seed & M64)) ^ (objects & M64))
    low = mix(h)
    return (f"{h >> 32:08x}-{(h >> 16) & 0xFFFF:04x}-{0x4000 | (h & 0x0FFF):04x}-"
            f"{0x8000 | ((low >> 48) & 0x3FFF):04x}-{low & M48:012x}")


def _scramble(x: int) -> int:
    y = (x * _PERM_MUL) & M48
    return y ^ (y >> 24)


def _unscramble(y: int) -> int:
    return ((y ^ (y >> 24)) * _PERM_INV) & M48


#: Group kinds, cycling every 20 groups; the first four cover every kind even in tiny tenants.
GROUP_KIND_CYCLE: tuple[str, ...] = (
    "security", "unified", "dynamic", "onprem", "security", "unified", "security", "onprem", "security",
    "unified", "security", "dynamic", "security", "unified", "security", "onprem", "security", "unified",
    "security", "security",
)
_STATIC_POS = tuple(i for i, k in enumerate(GROUP_KIND_CYCLE) if k != "dynamic")
_STATIC_OF_POS = {p: i for i, p in enumerate(_STATIC_POS)}
_CYCLE = len(GROUP_KIND_CYCLE)
_STATIC_PER_CYCLE = len(_STATIC_POS)

#: Entity types in index order (the three singletons first).
BLOCK_ORDER: tuple[str, ...] = (
    c.ORGANIZATION, c.AUTHORIZATION_POLICY, c.AUTH_METHODS_POLICY, c.NAMED_LOCATION, c.CA_POLICY,
    c.APPLICATION, c.SERVICE_PRINCIPAL, c.GROUP, c.USER,
)
MIN_OBJECTS = 50


@dataclass(frozen=True)
class Layout:
    """Type blocks, ids and memberships of a tenant with ``objects`` base objects under ``seed``."""

    seed: int
    objects: int
    counts: dict[str, int] = field(init=False)
    starts: dict[str, int] = field(init=False)
    key: int = field(init=False)
    _mask: int = field(init=False)
    _bounds: tuple[int, ...] = field(init=False)
    static_groups: int = field(init=False)

    def __post_init__(self) -> None:
        n = self.objects
        if n < MIN_OBJECTS:
            raise ValueError(f"a tenant needs at least {MIN_OBJECTS} objects (got {n})")
        counts = {
            c.ORGANIZATION: 1, c.AUTHORIZATION_POLICY: 1, c.AUTH_METHODS_POLICY: 1,
            c.NAMED_LOCATION: 3 if n < 1000 else 6 if n < 100_000 else 8,
            c.CA_POLICY: max(4, min(60, n // 50)),
            c.APPLICATION: max(2, n * 15 // 1000),
            c.SERVICE_PRINCIPAL: max(3, n * 25 // 1000),
            c.GROUP: max(4, n * 6 // 100),
        }
        counts[c.USER] = n - sum(counts.values())
        starts: dict[str, int] = {}
        pos = 0
        for t in BLOCK_ORDER:
            starts[t] = pos
            pos += counts[t]
        key = mix(0x5EED_0000 ^ (self.seed & M64))
        set_ = object.__setattr__
        set_(self, "counts", counts)
        set_(self, "starts", starts)
        set_(self, "key", key)
        set_(self, "_mask", mix(key) & M48)
        set_(self, "_bounds", tuple(starts[t] for t in BLOCK_ORDER))
        g = counts[c.GROUP]
        set_(self, "static_groups",
             (g // _CYCLE) * _STATIC_PER_CYCLE + sum(1 for p in _STATIC_POS if p < g % _CYCLE))

    # ---- types and ordinals -------------------------------------------------------------------------
    def type_of(self, idx: int) -> str:
        """Entity type of a base object index (0 <= idx < objects)."""
        return BLOCK_ORDER[bisect.bisect_right(self._bounds, idx) - 1]

    def ordinal(self, idx: int, entity_type: str) -> int:
        """Position of a base object inside its type block."""
        return idx - self.starts[entity_type]

    def index(self, entity_type: str, ordinal: int) -> int:
        """Base object index of the ``ordinal``-th object of a type."""
        return self.starts[entity_type] + ordinal

    def hash(self, idx: int, salt: int = 0) -> int:
        """64-bit hash of an object index under this tenant's seed."""
        return mix(self.key ^ (idx * 0x100000001B3) ^ (salt << 56))

    # ---- ids ----------------------------------------------------------------------------------------
    @cached_property
    def tenant_id(self) -> str:
        """The tenant id, which is also the organization object's id."""
        return tenant_id(self.seed, self.objects)

    def id_of(self, idx: int) -> str:
        """The object id of an index (GUID; the organization has the tenant id, the two singleton policies
        have fixed ids)."""
        if idx == self.starts[c.ORGANIZATION]:
            return self.tenant_id
        if idx == self.starts[c.AUTHORIZATION_POLICY]:
            return c.AUTHORIZATION_POLICY_ID
        if idx == self.starts[c.AUTH_METHODS_POLICY]:
            return c.AUTH_METHODS_POLICY_ID
        return self.guid(idx)

    def guid(self, idx: int, salt: int = 0) -> str:
        """A version-4-shaped GUID for an index; salt 0 is the object id (others: appId and the like)."""
        h = mix(self.key ^ idx ^ (salt << 52))
        tail = _scramble((idx ^ self._mask) & M48) if salt == 0 else mix(h) & M48
        return (f"{h >> 32:08x}-{(h >> 16) & 0xFFFF:04x}-{0x4000 | (h & 0x0FFF):04x}-"
                f"{0x8000 | ((h >> 12) & 0x3FFF):04x}-{tail:012x}")

    def index_of(self, object_id: str) -> int | None:
        """Index of an object id produced by :meth:`id_of`, or None for any other string."""
        if object_id == c.AUTHORIZATION_POLICY_ID:
            return self.starts[c.AUTHORIZATION_POLICY]
        if object_id == c.AUTH_METHODS_POLICY_ID:
            return self.starts[c.AUTH_METHODS_POLICY]
        if object_id.lower() == self.tenant_id:
            return self.starts[c.ORGANIZATION]
        if len(object_id) != 36:
            return None
        try:
            idx = _unscramble(int(object_id[24:], 16)) ^ self._mask
        except ValueError:
            return None
        if idx == self.starts[c.ORGANIZATION]:
            return None
        return idx if self.guid(idx) == object_id.lower() else None

    # ---- static memberships ---------------------------------------------------------------------------
    def group_kind(self, ordinal: int) -> str:
        """Kind of the ``ordinal``-th group: security, unified, dynamic or onprem."""
        return GROUP_KIND_CYCLE[ordinal % _CYCLE]

    def _static_to_group(self, s: int) -> int:
        return self.starts[c.GROUP] + (s // _STATIC_PER_CYCLE) * _CYCLE + _STATIC_POS[s % _STATIC_PER_CYCLE]

    def _group_to_static(self, group_idx: int) -> int | None:
        o = group_idx - self.starts[c.GROUP]
        if not 0 <= o < self.counts[c.GROUP]:
            return None
        pos = _STATIC_OF_POS.get(o % _CYCLE)
        return None if pos is None else (o // _CYCLE) * _STATIC_PER_CYCLE + pos

    @staticmethod
    def _second_ok(u: int) -> bool:
        return ((u * 2654435761) >> 9) & 3 != 0

    def _second(self, u: int, s_count: int) -> int:
        return ((u // s_count) * 7 + u + 1) % s_count

    def groups_of(self, user_idx: int) -> tuple[int, ...]:
        """Static groups a base user belongs to in the base tenant (one or two)."""
        s_count = self.static_groups
        u = user_idx - self.starts[c.USER]
        if s_count == 0 or not 0 <= u < self.counts[c.USER]:
            return ()
        first = u % s_count
        second = self._second(u, s_count)
        if second != first and self._second_ok(u):
            return (self._static_to_group(first), self._static_to_group(second))
        return (self._static_to_group(first),)

    def members_of(self, group_idx: int) -> list[int]:
        """Base user indexes of a static group's base members, ascending."""
        s = self._group_to_static(group_idx)
        if s is None:
            return []
        s_count, n_users, u0 = self.static_groups, self.counts[c.USER], self.starts[c.USER]
        out: list[int] = []
        for b in range((n_users + s_count - 1) // s_count):
            first = b * s_count + s
            if first < n_users:
                out.append(first)
            r = (s - 7 * b - 1) % s_count
            second = b * s_count + r
            if r != s and second < n_users and self._second_ok(second):
                out.append(second)
        out.sort()
        return [u0 + u for u in out]

    def is_base_member(self, group_idx: int, user_idx: int) -> bool:
        """Whether a user is a static member of a group in the base tenant."""
        return group_idx in self.groups_of(user_idx)

    def owner_of(self, group_idx: int) -> int | None:
        """The user owning a base group (every base group has one), or None for other indexes."""
        o = group_idx - self.starts[c.GROUP]
        n_users = self.counts[c.USER]
        if not 0 <= o < self.counts[c.GROUP] or n_users == 0:
            return None
        return self.starts[c.USER] + self.hash(group_idx, 3) % n_users

    def is_base_owner(self, group_idx: int, user_idx: int) -> bool:
        """Whether a user owns a group in the base tenant."""
        return self.owner_of(group_idx) == user_idx
