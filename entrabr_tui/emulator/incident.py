"""The incident after the newest snapshot: what a malicious script did to the tenant.

It disabled and renamed users ("DISABLED - …"), switched a Conditional Access policy to report-only,
soft-deleted a security group after removing its members, registered a rogue application with a service
principal, invited rogue guests, made the first rogue guest owner (in place of every owner) and member of
a couple of groups, widened a trusted named location to the whole internet, soft-deleted a few users and
purged a few others for good. ``budget`` is the number of objects it touches; most of a large budget goes
to user edits.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from entrabr_tui.emulator import catalog as c
from entrabr_tui.emulator.drift import Actor
from entrabr_tui.emulator.generate import Created, is_onprem
from entrabr_tui.emulator.history import History
from entrabr_tui.emulator.policies import is_ip_location
from entrabr_tui.emulator.vocabulary import HOSTILE_USER_NAMES

DISABLED_PREFIX = "DISABLED - "
REPORT_ONLY = "enabledForReportingButNotEnforced"
_WIDE = ({"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "0.0.0.0/1"},
         {"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "128.0.0.0/1"})


def default_budget(objects: int) -> int:
    """Objects the incident touches when not told otherwise: a few percent of the tenant."""
    return max(20, objects * 3 // 100)


def run_incident(hist: History, budget: int, start: datetime, end: datetime) -> None:
    """Write the incident into the live overlay (``budget`` <= 0: no incident)."""
    if budget <= 0:
        return
    a = Actor(hist, 0x1DC1 << 40, start, end)
    layout = hist.layout
    touched: set[int] = set()
    left = budget

    def spend(idx: int | None) -> bool:
        nonlocal left
        if idx is None or left <= 0 or idx in touched:
            return False
        touched.add(idx)
        left -= 1
        return True

    # Conditional Access: the first enabled MFA-style policy goes report-only.
    for o in [2, 0, 1, *range(3, layout.counts[c.CA_POLICY])]:
        idx = layout.index(c.CA_POLICY, o)
        if hist.value(idx, "state") == "enabled":
            if spend(idx):
                hist.write(idx, {"state": REPORT_ONLY, "modifiedDateTime": a.stamp()})
            break
    # A cloud security group: members removed, then the group soft-deleted.
    for o in range(layout.counts[c.GROUP]):
        g = layout.index(c.GROUP, o)
        if layout.group_kind(o) != "security" or not hist.alive(g):
            continue
        members = [u for u in hist.members(g) if hist.alive(u)]
        if members and spend(g):
            for u in members:
                hist.set_member(g, u, False)
            hist.soft_delete(g, a.stamp())
        break
    # A rogue application and its service principal.
    if left >= 2:
        t = a.epoch()
        app = hist.create(Created(c.APPLICATION, "rogue", t))
        sp = hist.create(Created(c.SERVICE_PRINCIPAL, "rogue", t + 5, related=app))
        spend(app)
        spend(sp)
    # A trusted IP named location widened to the whole IPv4 internet.
    for o in range(layout.counts[c.NAMED_LOCATION]):
        if is_ip_location(o):
            idx = layout.index(c.NAMED_LOCATION, o)
            if spend(idx):
                hist.write(idx, {"ipRanges": [*hist.value(idx, "ipRanges"), *_WIDE], "isTrusted": True})
            break
    protected = set(range(len(HOSTILE_USER_NAMES) + 1))
    for _ in range(max(1, budget // 100)):  # users soft-deleted
        victim = a.pick(c.USER, skip=protected)
        if victim is not None and victim not in touched and spend(victim):
            hist.soft_delete(victim, a.stamp())
    guests: list[int] = []
    for _ in range(max(1, budget // 500)):  # rogue guests invited
        if left > 0:
            guest = hist.create(Created(c.USER, "rogue", a.epoch()))
            spend(guest)
            guests.append(guest)
    for _ in range(max(1, budget // 1000)):  # users purged for good: their memberships break
        purged = a.pick(c.USER, skip=protected)
        if purged is not None and purged not in touched and layout.groups_of(purged) and spend(purged):
            hist.hard_delete_user(purged)
    if guests:
        _take_over_groups(hist, guests[0], spend)
    _disable_and_rename(a, touched, left)


def _take_over_groups(hist: History, guest: int, spend: Callable[[int | None], bool], count: int = 2) -> None:
    """The rogue guest becomes owner (in place of every owner) and member of ``count`` cloud groups (never
    one of the reserved objects, such as a group a legitimate admin edited meanwhile)."""
    layout = hist.layout
    taken = 0
    for o in range(layout.counts[c.GROUP]):
        if taken >= count:
            return
        g = layout.index(c.GROUP, o)
        if layout.group_kind(o) not in ("security", "unified") or g in hist.reserved or not hist.alive(g) \
                or not spend(g):
            continue
        owners = hist.owners(g)
        hist.set_owner(g, guest, True)
        for owner in owners:
            hist.set_owner(g, owner, False)
        hist.set_member(g, guest, True)
        taken += 1


def _disable_and_rename(a: Actor, touched: set[int], count: int) -> None:
    hist, layout = a.hist, a.layout
    n_users = layout.counts[c.USER]
    u0 = layout.starts[c.USER]
    order: list[int] = [u0 + o for o in range(1, min(n_users, len(HOSTILE_USER_NAMES) + 1))]
    onprem = next((u0 + o for o in range(7, n_users) if is_onprem(layout, hist.created, u0 + o)), None)
    if onprem is not None:
        order.append(onprem)
    want = min(count, n_users)
    order.extend(u0 + o for o in a.rng.sample(range(n_users), min(n_users, want + want // 8 + 16)))
    pending = hist.pending
    done = 0
    for u in order:
        if done >= count:
            break
        if u in touched or u in hist.reserved or not hist.alive(u):
            continue
        touched.add(u)
        name = hist.value(u, "displayName")
        patch = {"accountEnabled": False, "displayName": DISABLED_PREFIX + str(name or "")}
        if u in pending or hist.journal is not None:
            hist.write(u, patch)
        else:
            pending[u] = patch
        done += 1
