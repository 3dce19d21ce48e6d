"""A day of ordinary directory activity: edits, joiners, leavers, membership churn, policy tweaks.

Every choice comes from a ``random.Random`` seeded with the tenant seed and the day number, so a given
day always drifts the same way. Some edits touch only properties that are not recoverable (they must never
show up in a difference report).
"""

from __future__ import annotations

import copy
import random
from datetime import datetime
from typing import Any

from entrabr_tui.emulator import catalog as c
from entrabr_tui.emulator import vocabulary as v
from entrabr_tui.emulator.generate import Created
from entrabr_tui.emulator.history import DELETED, History
from entrabr_tui.emulator.layout import mix
from entrabr_tui.emulator.people import iso, tenant_names
from entrabr_tui.emulator.policies import is_ip_location


class Actor:
    """Random choices and timestamps for one batch of changes inside a time window."""

    def __init__(self, hist: History, salt: int, start: datetime, end: datetime) -> None:
        self.hist = hist
        self.layout = hist.layout
        self.rng = random.Random(mix(hist.layout.key ^ salt))
        self.start = int(start.timestamp())
        self.span = max(60, int(end.timestamp()) - self.start)

    def epoch(self) -> int:
        """A time inside the window (epoch seconds); one draw whatever the window, so what drifts does
        not depend on the time of day the tenant is built at."""
        return self.start + 1 + int(self.rng.random() * (self.span - 1))

    def stamp(self) -> str:
        """A time inside the window (ISO)."""
        return iso(self.epoch())

    def pick(self, entity_type: str, tries: int = 30, **want: Any) -> int | None:
        """A random live object of a base type, optionally with matching base kind (``kind=``); never one
        of the reserved objects (the accounts and apps that act on the tenant)."""
        layout = self.layout
        n = layout.counts[entity_type]
        for _ in range(tries):
            o = self.rng.randrange(n)
            idx = layout.index(entity_type, o)
            if "kind" in want and entity_type == c.GROUP and layout.group_kind(o) not in want["kind"]:
                continue
            if "skip" in want and o in want["skip"]:
                continue
            if idx not in self.hist.reserved and self.hist.alive(idx):
                return idx
        return None


def _edit_user(a: Actor, u: int) -> None:
    rng, hist = a.rng, a.hist
    roll = rng.randrange(100)
    if roll < 20:
        dept = hist.value(u, "department") or rng.choice(v.DEPARTMENT_NAMES)
        hist.write(u, {"jobTitle": rng.choice(v.DEPARTMENTS.get(dept, ("Specialist",)))})
    elif roll < 32:
        dept = rng.choice(v.DEPARTMENT_NAMES)
        hist.write(u, {"department": dept, "jobTitle": rng.choice(v.DEPARTMENTS[dept]),
                       "employeeOrgData": {"division": dept, "costCenter": f"CC-{rng.randrange(100, 1000)}"}})
    elif roll < 42:
        office = rng.choice(v.OFFICES)
        hist.write(u, {"officeLocation": office[0], "city": office[1], "state": office[2],
                       "country": office[3], "postalCode": office[4], "streetAddress": office[5],
                       "usageLocation": office[6]})
    elif roll < 52:
        hist.write(u, {"mobilePhone": f"+1 206 555 {rng.randrange(10000):04d}"})
    elif roll < 58:
        hist.write(u, {"businessPhones": [f"+1 425 555 {rng.randrange(10000):04d}"]})
    elif roll < 64:
        surname = rng.choice(v.LAST_NAMES)
        given = hist.value(u, "givenName") or ""
        hist.write(u, {"surname": surname, "displayName": f"{given} {surname}".strip()})
    elif roll < 70:
        hist.write(u, {"accountEnabled": False, "employeeLeaveDateTime": a.stamp()})
    elif roll < 74:
        hist.write(u, {"preferredLanguage": rng.choice(v.OFFICES)[7]})
    elif roll < 78:
        hist.write(u, {"passwordPolicies": "DisablePasswordExpiration"})
    elif roll < 81:
        hist.write(u, {"otherMails": [f"backup{rng.randrange(1000)}@outlook.example"]})
    elif roll < 90:
        hist.write(u, {"lastPasswordChangeDateTime": a.stamp()})  # not recoverable
    else:
        hist.write(u, {"aboutMe": "Happy to help", "onPremisesExtensionAttributes": {  # not recoverable
            "extensionAttribute1": f"X{rng.randrange(100)}"}})


def _edit_group(a: Actor, g: int) -> None:
    rng, hist = a.rng, a.hist
    kind = a.layout.group_kind(g - a.layout.starts[c.GROUP]) if g < a.layout.objects else "security"
    roll = rng.randrange(100)
    if kind == "dynamic":
        dept = rng.choice(v.DEPARTMENT_NAMES)
        hist.write(g, {"membershipRule": f'(user.department -eq "{dept}")'})  # rule changes are not recovered
    elif roll < 40:
        text = rng.choice(("Owned by IT", "Do not use - migrating", "Project team",
                           "Access to finance reports", "Temporary access"))
        hist.write(g, {"description": text})
        if text == "Owned by IT":
            _hand_over(a, g)
    elif roll < 60:
        hist.write(g, {"displayName": f"{hist.value(g, 'displayName')} (old)"})
    elif roll < 80 and kind == "unified":
        vis = hist.value(g, "visibility")
        hist.write(g, {"visibility": "Private" if vis == "Public" else "Public"})
    else:
        hist.write(g, {"expirationDateTime": a.stamp()})  # not recoverable


def _hand_over(a: Actor, g: int) -> None:
    """Ownership of group ``g`` moves to another user, who replaces every owner (owner links are shown in
    reports, never recovered)."""
    hist, layout = a.hist, a.layout
    n_users = layout.counts[c.USER]
    new = layout.starts[c.USER] + layout.hash(g, 4) % n_users
    owners = hist.owners(g)
    if not hist.alive(new) or owners == [new]:
        return
    hist.set_owner(g, new, True)
    for old in owners:
        if old != new:
            hist.set_owner(g, old, False)


def _edit_app(a: Actor, idx: int) -> None:
    rng, hist = a.rng, a.hist
    roll = rng.randrange(4)
    if roll == 0:
        ticket = rng.randrange(10000, 99999)
        hist.write(idx, {"notes": f"Owner: {rng.choice(v.FIRST_NAMES)} (ticket {ticket})"})
    elif roll == 1:
        rra = copy.deepcopy(hist.value(idx, "requiredResourceAccess") or [])
        if rra:
            rra[0]["resourceAccess"].append({"id": "06da0dbc-49e2-44d2-8312-53f166ab848a", "type": "Scope"})
        hist.write(idx, {"requiredResourceAccess": rra})
    elif roll == 2:
        hist.write(idx, {"optionalClaims": {"idToken": [{"name": "groups", "essential": False,
                                                         "additionalProperties": []}],
                                            "accessToken": [], "saml2Token": []}})
    else:
        hist.write(idx, {"passwordCredentials": [{"displayName": "rotated", "endDateTime": a.stamp()}]})


def _edit_sp(a: Actor, idx: int) -> None:
    rng, hist = a.rng, a.hist
    roll = rng.randrange(4)
    if roll == 0:
        hist.write(idx, {"appRoleAssignmentRequired": not hist.value(idx, "appRoleAssignmentRequired")})
    elif roll == 1:
        hist.write(idx, {"notificationEmailAddresses": [f"it-alerts{rng.randrange(10)}@example.com"]})
    elif roll == 2:
        hist.write(idx, {"tags": ["WindowsAzureActiveDirectoryIntegratedApp", "HideApp"]})
    else:
        hist.write(idx, {"displayName": f"{hist.value(idx, 'displayName')} (renamed)"})  # not recoverable


def _edit_ca(a: Actor, idx: int) -> None:
    rng, hist = a.rng, a.hist
    roll = rng.randrange(4)
    if roll == 0:
        cond = copy.deepcopy(hist.value(idx, "conditions"))
        u = a.pick(c.USER)
        if u is not None:
            cond["users"]["excludeUsers"].append(a.layout.id_of(u))
        hist.write(idx, {"conditions": cond})
    elif roll == 1:
        grant = copy.deepcopy(hist.value(idx, "grantControls"))
        controls = grant["builtInControls"] if grant else []
        if grant and "block" not in controls and "compliantDevice" not in controls:
            controls.append("compliantDevice")
        hist.write(idx, {"grantControls": grant})
    elif roll == 2:
        hist.write(idx, {"sessionControls": {
            "applicationEnforcedRestrictions": None, "cloudAppSecurity": None, "persistentBrowser": None,
            "signInFrequency": {"value": rng.choice((1, 8, 12)), "type": "hours", "isEnabled": True,
                                "authenticationType": "primaryAndSecondaryAuthentication",
                                "frequencyInterval": "timeBased"}}})
    else:
        state = hist.value(idx, "state")
        hist.write(idx, {"state": "disabled" if state == "enabled" else "enabled",
                         "modifiedDateTime": a.stamp()})


def _edit_policies(a: Actor) -> None:
    rng, hist, layout = a.rng, a.hist, a.layout
    if rng.random() < 0.4:
        ca = a.pick(c.CA_POLICY)
        if ca is not None:
            _edit_ca(a, ca)
    if rng.random() < 0.15:
        o = rng.randrange(layout.counts[c.NAMED_LOCATION])
        idx = layout.index(c.NAMED_LOCATION, o)
        if is_ip_location(o):
            ranges = list(hist.value(idx, "ipRanges"))
            ranges.append({"@odata.type": "#microsoft.graph.iPv4CidrRange",
                           "cidrAddress": f"198.18.{rng.randrange(256)}.0/24"})
            hist.write(idx, {"ipRanges": ranges})
        else:
            hist.write(idx, {"countriesAndRegions": [*hist.value(idx, "countriesAndRegions"), "LY"]})
    if rng.random() < 0.2:
        idx = layout.index(c.AUTH_METHODS_POLICY, 0)
        configs = copy.deepcopy(hist.value(idx, "authenticationMethodConfigurations"))
        cfg = rng.choice(configs)
        cfg["state"] = "disabled" if cfg["state"] == "enabled" else "enabled"
        hist.write(idx, {"authenticationMethodConfigurations": configs})
    if rng.random() < 0.08:
        idx = layout.index(c.AUTHORIZATION_POLICY, 0)
        hist.write(idx, {"blockMsolPowerShell": not hist.value(idx, "blockMsolPowerShell")})
    if rng.random() < 0.08:  # new tenant contact (organization properties are not recoverable)
        idx = layout.index(c.ORGANIZATION, 0)
        contact = rng.choice(("it-alerts", "secops", "helpdesk"))
        hist.write(idx, {"technicalNotificationMails": [f"{contact}@{tenant_names(layout)[1]}"]})


def daily_drift(hist: History, day: int, start: datetime, end: datetime) -> None:
    """Write one day of ordinary activity (between ``start`` and ``end``) into the live overlay."""
    a = Actor(hist, 0xD41 << 32 | day, start, end)
    rng, layout = a.rng, hist.layout
    n = layout.objects
    for _ in range(max(2, n // 400)):
        u = a.pick(c.USER)
        if u is not None:
            _edit_user(a, u)
    for _ in range(max(1, n // 3000)):
        g = a.pick(c.GROUP)
        if g is not None:
            _edit_group(a, g)
    for kind, editor in ((c.APPLICATION, _edit_app), (c.SERVICE_PRINCIPAL, _edit_sp)):
        for _ in range(max(1, n // 10000)):
            idx = a.pick(kind)
            if idx is not None and rng.random() < 0.6:
                editor(a, idx)
    _edit_policies(a)
    _membership_churn(a, max(2, n // 1000))
    _joiners(a, max(1, n // 2000))
    _leavers(a, max(1, n // 3000))


def _membership_churn(a: Actor, count: int) -> None:
    for _ in range(count):
        g = a.pick(c.GROUP, kind=("security", "unified", "onprem"))
        u = a.pick(c.USER)
        if g is None or u is None:
            continue
        a.hist.set_member(g, u, not a.hist.is_member(g, u))


def _joiners(a: Actor, count: int) -> None:
    hist, rng = a.hist, a.rng
    for _ in range(count):
        joiner = hist.create(Created(c.USER, "plain", a.epoch()))
        g = a.pick(c.GROUP, kind=("security", "unified"))
        if g is not None:
            hist.set_member(g, joiner, True)
    if rng.random() < 0.3:
        new_group = hist.create(Created(c.GROUP, "plain", a.epoch()))
        u = a.pick(c.USER)
        if u is not None:
            hist.set_member(new_group, u, True)
    if rng.random() < 0.25:
        app = hist.create(Created(c.APPLICATION, "plain", a.epoch()))
        hist.create(Created(c.SERVICE_PRINCIPAL, "plain", a.epoch(), related=app))


def _leavers(a: Actor, count: int) -> None:
    hist, rng = a.hist, a.rng
    for _ in range(count):
        u = a.pick(c.USER, skip=range(7))
        if u is not None:
            hist.soft_delete(u, a.stamp())
    if rng.random() < 0.25:
        g = a.pick(c.GROUP, kind=("security", "unified"))
        if g is not None:
            hist.soft_delete(g, a.stamp())
    if rng.random() < 0.15:
        app = a.pick(c.APPLICATION, skip=(1,))
        if app is not None:
            hist.soft_delete(app, a.stamp())
    pool = hist.deleted_pool
    if pool and rng.random() < 0.5:  # someone restores an object from the recycle bin
        idx = pool[rng.randrange(len(pool))]
        if hist.value(idx, "_exists") and hist.value(idx, DELETED) is not None:
            hist.write(idx, {DELETED: None})
    if pool and rng.random() < 0.5:  # the recycle bin is purged for one user
        idx = pool[rng.randrange(len(pool))]
        is_user = hist.created[idx].entity_type == c.USER if idx in hist.created else (
            idx < hist.layout.objects and hist.layout.type_of(idx) == c.USER)
        if is_user and hist.value(idx, "_exists") and hist.value(idx, DELETED) is not None:
            hist.hard_delete_user(idx)

