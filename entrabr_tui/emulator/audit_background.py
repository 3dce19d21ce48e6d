"""Synthetic background records: ``n`` events spread over the retention window, each a pure function of k.

Nothing is stored per event. Event ``k``'s time grows with ``k`` (so a time bound is a binary search), its
correlation id encodes ``k`` (so ``correlationId`` and ``id`` filters are direct look-ups) and its user is
``(k * step + offset) mod users`` (so the events of one user are an arithmetic progression of ``k``). The
activities change nothing a backup covers: token revocations, self-service password changes, security-info
registrations, directory-sync heartbeats on synchronised users and PIM activations.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from entrabr_tui.emulator import catalog as c
from entrabr_tui.emulator import people
from entrabr_tui.emulator.audit_actors import BACKGROUND, Cast, Identity
from entrabr_tui.emulator.audit_events import TICKS, Activity, AuditEvent, Prop, Target, iso_ticks
from entrabr_tui.emulator.audit_records import AUTHN, CORE, SSPR, UM, attr, text, user_type
from entrabr_tui.emulator.layout import M48, Layout, mix

STS_REVOKE = Activity("Update StsRefreshTokenValidFrom Timestamp", UM, CORE, "Update")
SELF_PASSWORD = Activity("Change password (self-service)", UM, SSPR, "Update")
SECURITY_INFO = Activity("User registered security info", UM, AUTHN, "Add")
SYNC_HEARTBEAT = Activity("Update user", UM, CORE, "Update")
PIM_ACTIVATION = Activity("Add member to role completed (PIM activation)", "RoleManagement", "PIM", "Add",
                          prefix="PIM")
_ROLES = ((c.ROLE_SECURITY_ADMIN, "Security Administrator"), (c.ROLE_USER_ADMIN, "User Administrator"),
          (c.ROLE_EXCHANGE_ADMIN, "Exchange Administrator"))
_MUL = 0x5DEECE66D | 1
_INV = pow(_MUL, -1, 1 << 48)
_PRIMES = (1_000_003, 998_244_353, 1_000_000_007)


class Background:
    """``n`` background events ending at ``end`` (ticks) over ``span`` ticks."""

    def __init__(self, layout: Layout, cast: Cast, n: int, end: int, span: int) -> None:
        self.layout = layout
        self.cast = cast
        self.n = n
        self.start = end - span
        self.span = span
        self.users = layout.counts[c.USER]
        self.u0 = layout.starts[c.USER]
        self.step = next(p for p in _PRIMES if self.users % p)
        self.step_inv = pow(self.step, -1, self.users) if self.users > 1 else 0
        self.offset = layout.key % self.users
        self.mask = mix(layout.key ^ 0xB6) & M48
        self._cast_users = {m.idx: m for m in cast.members.values() if not m.is_app and m.idx is not None}
        self._identity = lru_cache(maxsize=65_536)(self._user_identity)
        self._user_facts = lru_cache(maxsize=65_536)(self._facts)

    # ---- positions --------------------------------------------------------------------------------------
    def ticks(self, k: int) -> int:
        """Time of event ``k`` (non-decreasing in k)."""
        return self.start + (k * self.span + mix(self.mask ^ k) % self.span) // self.n

    def first_at_or_after(self, t: int) -> int:
        """The smallest k whose time is >= t (``n`` when none)."""
        lo, hi = 0, self.n
        while lo < hi:
            mid = (lo + hi) // 2
            if self.ticks(mid) < t:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def key(self, k: int) -> tuple[int, int]:
        """Sort key of event ``k`` in the log (strictly increasing in k)."""
        return (self.ticks(k), 2 * k + 1)

    def first_key_after(self, key: tuple[int, int], *, inclusive: bool) -> int:
        """The smallest k whose sort key is > ``key`` (>= when ``inclusive``); ``n`` when none."""
        lo, hi = 0, self.n
        while lo < hi:
            mid = (lo + hi) // 2
            below = self.key(mid) < key if inclusive else self.key(mid) <= key
            if below:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def user_of(self, k: int) -> int:
        """Index of the user event ``k`` is about."""
        return self.u0 + (k * self.step + self.offset) % self.users

    def ks_of_user(self, user_idx: int, lo: int, hi: int) -> range:
        """Every k in [lo, hi) whose event is about ``user_idx`` (ascending)."""
        o = user_idx - self.u0
        if not 0 <= o < self.users or lo >= hi:
            return range(0)
        first = ((o - self.offset) * self.step_inv) % self.users if self.users > 1 else 0
        if first < lo:
            first += (lo - first + self.users - 1) // self.users * self.users
        return range(first, hi, self.users)

    # ---- correlation ids ----------------------------------------------------------------------------------
    def corr(self, k: int) -> int:
        """Correlation id of event ``k`` (its low 48 bits encode k)."""
        tail = ((k ^ self.mask) * _MUL) & M48
        head = mix(self.layout.key ^ (k << 1) ^ 0xB6C0) & ((1 << 80) - 1)
        head = (head & ~(0xF << 16)) | (0x4 << 16)         # version nibble
        value = (head << 48) | tail
        return (value & ~(0xC << 60)) | (0x8 << 60)         # variant bits

    def k_of_corr(self, corr: int) -> int | None:
        """Inverse of :meth:`corr` (None for any other correlation id)."""
        k = ((corr & M48) * _INV & M48) ^ self.mask
        return k if k < self.n and self.corr(k) == corr else None

    # ---- events ------------------------------------------------------------------------------------------
    def _facts(self, idx: int) -> tuple[str, str, bool]:
        """(object id, user type, synchronised from on-premises) of a base user."""
        onprem = people.user_kind(self.layout.hash(idx)) == "onprem" and idx != self.u0
        return self.layout.id_of(idx), user_type(self.layout, {}, idx), onprem

    def _user_identity(self, idx: int) -> Identity:
        member = self._cast_users.get(idx)
        if member is not None:
            return member
        user = people.user(self.layout, idx, idx - self.u0)
        return Identity(BACKGROUND, "user.self", user["id"], user["displayName"], user["userPrincipalName"],
                        f"198.51.100.{idx % 250 + 2}", user_agent=None, idx=idx)

    def event(self, k: int) -> AuditEvent:
        """Event ``k``."""
        layout = self.layout
        h = mix(layout.key ^ (k * 0x9E3779B97F4A7C15) ^ 0xB6E7)
        t = self.ticks(k)
        u = self.user_of(k)
        uid, utype, onprem = self._user_facts(u)
        roll = h % 100
        if 75 <= roll < 90 and not onprem:
            roll = 0
        corr = self.corr(k)
        if roll < 35:
            actor = self.cast.helpdesk if (h >> 8) % 5 == 0 else self._identity(u)
            before = iso_ticks(t - 86_400 * TICKS)[:19] + "Z"
            props: tuple[Prop, ...] = (
                Prop("StsRefreshTokensValidFrom", attr(before), attr(iso_ticks(t)[:19] + "Z")),
                Prop("Included Updated Properties", None, text("StsRefreshTokensValidFrom")),
                Prop("TargetId.UserType", None, text(utype)))
            return AuditEvent(t, 2 * k + 1, -1, STS_REVOKE, actor, corr,
                              (Target(uid, "User", None, u, 1, None, props),), gappable=False)
        if roll < 75:
            activity = SELF_PASSWORD if roll < 60 else SECURITY_INFO
            return AuditEvent(t, 2 * k + 1, -1, activity, self._identity(u), corr,
                              (Target(uid, "User", None, u, 1),), gappable=False)
        if roll < 90:
            last = iso_ticks(t - 1800 * TICKS)[:19] + "Z"
            props = (Prop("LastDirSyncTime", attr(last), attr(iso_ticks(t)[:19] + "Z")),
                     Prop("Included Updated Properties", None, text("LastDirSyncTime")),
                     Prop("TargetId.UserType", None, text(utype)),
                     Prop("Action Client Name", None, text("DirectorySync")))
            return AuditEvent(t, 2 * k + 1, -1, SYNC_HEARTBEAT, self.cast.sync, corr,
                              (Target(uid, "User", None, u, 1, None, props),), gappable=False)
        role_id, role_name = _ROLES[(h >> 16) % len(_ROLES)]
        role = Target(role_id, "Role", role_name)
        return AuditEvent(t, 2 * k + 1, -1, PIM_ACTIVATION, self._identity(u), corr,
                          (role, Target(uid, "User", None, u, 1)), gappable=False)

    def scan(self, lo: int, hi: int, desc: bool) -> Iterator[int]:
        """Every k in [lo, hi) in log order."""
        return iter(range(hi - 1, lo - 1, -1) if desc else range(lo, hi))
