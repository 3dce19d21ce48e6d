"""What the cast does besides the drift and the incident script, written into the tenant like any change.

* After a drift day: the HR app sets each joiner's manager; the identity admin becomes owner of the groups
  and applications they created.
* Around the incident: the two legitimate admins make ordinary edits in the same hours (part of the
  incident's budget, so the difference report keeps its size), reset a password and edit a dynamic group's
  rule (neither shows in a report); afterwards the compromised admin makes itself
  owner of the rogue application and owner and member of a cloud security group (which the difference
  report shows, with its ``owners@delta``), adds a credential to an existing service principal and
  sponsors the rogue guests.

Owner and sponsor links are the history's link overrides (`History.set_owner`, `History.set_sponsor`) and
the manager its ``_manager`` key. None of them is recoverable: managers and sponsors never show in a
difference report, owners show as ``owners@delta`` on a group that changes otherwise (the same owner links
the drift's hand-overs and the incident's take-overs change).
"""

from __future__ import annotations

import random

from entrabr_tui.emulator import catalog as c
from entrabr_tui.emulator.audit_actors import Cast
from entrabr_tui.emulator.audit_journal import CREATE, Batch, Journal
from entrabr_tui.emulator.generate import is_onprem
from entrabr_tui.emulator.history import MANAGER, History
from entrabr_tui.emulator.layout import mix
from entrabr_tui.emulator.people import iso
from entrabr_tui.emulator.vocabulary import DEPARTMENT_NAMES, HOSTILE_USER_NAMES, OFFICES

_PROTECTED = len(HOSTILE_USER_NAMES) + 1
_DESCRIPTIONS = ("Quarterly planning space", "Owned by Marketing", "Project team (extended)")


def legit_budget(budget: int) -> int:
    """How many of the incident's objects the legitimate admins edit (none in tiny incidents)."""
    return 0 if budget < 20 else max(2, budget // 25)


def _cloud_user(hist: History, rng: random.Random, taken: set[int]) -> int | None:
    layout = hist.layout
    n = layout.counts[c.USER]
    for _ in range(50):
        o = rng.randrange(_PROTECTED, n) if n > _PROTECTED else 0
        idx = layout.index(c.USER, o)
        if idx in taken or idx in hist.reserved or is_onprem(layout, hist.created, idx):
            continue
        if not hist.alive(idx):
            continue
        return idx
    return None


def _unified_group(hist: History, rng: random.Random, taken: set[int]) -> int | None:
    layout = hist.layout
    n = layout.counts[c.GROUP]
    for _ in range(50):
        o = rng.randrange(n)
        idx = layout.index(c.GROUP, o)
        if layout.group_kind(o) == "unified" and idx not in taken and idx not in hist.reserved \
                and hist.alive(idx):
            return idx
    return None


def legit_incident_edits(hist: History, journal: Journal, cast: Cast, count: int, end: float) -> set[int]:
    """The legitimate admins' edits during the incident hours; returns the objects they touched."""
    rng = random.Random(mix(hist.layout.key ^ 0x1E617))
    touched: set[int] = set()
    for i in range(count):
        if i % 2 == 0:
            u = _cloud_user(hist, rng, touched)
            if u is None:
                continue
            with journal.acting(cast.helpdesk):
                if rng.random() < 0.5:
                    hist.write(u, {"mobilePhone": f"+1 206 555 {rng.randrange(10000):04d}"})
                else:
                    hist.write(u, {"officeLocation": rng.choice(OFFICES)[0]})
            touched.add(u)
        else:
            g = _unified_group(hist, rng, touched)
            target = g if g is not None else _cloud_user(hist, rng, touched)
            if target is None:
                continue
            with journal.acting(cast.identity_admin):
                if g is not None:
                    hist.write(g, {"description": rng.choice(_DESCRIPTIONS)})
                else:
                    hist.write(target, {"businessPhones": [f"+1 425 555 {rng.randrange(10000):04d}"]})
            touched.add(target)
    if count:                                     # audited, never in a report: a password reset, a rule edit
        u = _cloud_user(hist, rng, touched)
        if u is not None:
            with journal.acting(cast.helpdesk):
                hist.write(u, {"lastPasswordChangeDateTime": iso(int(end) - 60 - rng.randrange(3600))})
        dynamic = [hist.layout.index(c.GROUP, o) for o in range(hist.layout.counts[c.GROUP])
                   if hist.layout.group_kind(o) == "dynamic"]
        alive = [g for g in dynamic if hist.alive(g) and g not in hist.reserved]
        if alive:
            g = alive[rng.randrange(len(alive))]
            dept = rng.choice(DEPARTMENT_NAMES)
            rule = f'(user.department -eq "{dept}") -and (user.accountEnabled -eq true)'
            with journal.acting(cast.identity_admin):
                hist.write(g, {"membershipRule": rule})
    return touched


def after_drift(hist: History, journal: Journal, cast: Cast, batch: Batch, day: int) -> None:
    """Links the cast sets on what the day's drift created."""
    rng = random.Random(mix(hist.layout.key ^ (0xAF7E << 24) ^ day))
    layout = hist.layout
    for op in list(batch.ops):
        if op.kind != CREATE or op.actor is not None or op.created is None:
            continue
        if op.etype == c.USER and not is_onprem(layout, hist.created, op.idx):
            manager = _cloud_user(hist, rng, {op.idx})
            if manager is not None:
                with journal.acting(cast.hr, anchor=(op.seq, 45.0 + rng.randrange(120))):
                    hist.write(op.idx, {MANAGER: manager})
        elif op.etype in (c.GROUP, c.APPLICATION):
            admin = cast.identity_admin
            assert admin.idx is not None
            with journal.acting(admin, anchor=(op.seq, 3.0 + rng.randrange(20))):
                hist.set_owner(op.idx, admin.idx, True)


def after_incident(hist: History, journal: Journal, cast: Cast, batch: Batch) -> None:
    """The compromised admin's extra moves: ownerships, a group membership, a credential on an existing app,
    guest sponsors."""
    rng = random.Random(mix(hist.layout.key ^ 0xBAD5))
    layout = hist.layout
    admin = cast.compromised
    assert admin.idx is not None
    for op in list(batch.ops):
        info = op.created
        if op.kind != CREATE or info is None or info.flavor != "rogue":
            continue
        if op.etype == c.APPLICATION:
            with journal.acting(admin, anchor=(op.seq, 3.0)):
                hist.set_owner(op.idx, admin.idx, True)
        elif op.etype == c.USER:
            with journal.acting(admin, anchor=(op.seq, 1.5)):
                hist.set_sponsor(op.idx, admin.idx, True)
    n_apps = layout.counts[c.APPLICATION]
    for o in range(n_apps):                      # a credential on an existing, trusted app
        sp = layout.index(c.SERVICE_PRINCIPAL, o)
        if sp != cast.hr_sp_idx and o != 1 and hist.alive(sp):
            with journal.acting(admin):
                hist.write(sp, {"passwordCredentials": [{"displayName": "automation",
                                                         "endDateTime": "2099-12-31T00:00:00Z"}]})
            break
    busy = {op.idx for op in batch.ops}         # a group the incident left alone (not the deleted one)
    for _ in range(40):                           # and ownership of, and membership in, a security group
        o = rng.randrange(layout.counts[c.GROUP])
        g = layout.index(c.GROUP, o)
        if layout.group_kind(o) == "security" and g not in busy and g not in hist.reserved \
                and not is_onprem(layout, hist.created, g) and hist.alive(g):
            with journal.acting(admin):
                hist.set_owner(g, admin.idx, True)
            if not hist.is_member(g, admin.idx):
                with journal.acting(admin, anchor=(journal.seq, 2.0)):
                    hist.set_member(g, admin.idx, True)
            break
