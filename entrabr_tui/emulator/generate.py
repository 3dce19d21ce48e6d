"""Materialise any object of the emulated tenant from (seed, index): base objects and drift-created ones.

Base objects (index < ``layout.objects``) take their type from the layout. Objects created later by drift
or by the incident have indexes beyond that; their type and flavour are recorded in a small registry
(:class:`Created`), and their properties are still a pure function of the seed and the index.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from entrabr_tui.emulator import applications as apps
from entrabr_tui.emulator import catalog as c
from entrabr_tui.emulator import people, policies
from entrabr_tui.emulator.layout import Layout


@dataclass(frozen=True, slots=True)
class Created:
    """An object created after the base tenant: its type, flavour and creation time (epoch seconds)."""

    entity_type: str
    flavor: str  # "plain", "rogue" (incident-created) ...
    created: int
    related: int = -1  # e.g. the application index of a service principal


Maker = Callable[[Layout, int, int], dict[str, Any]]
Namer = Callable[[Layout, int, int], str]

_MAKERS: dict[str, Maker] = {
    c.USER: people.user,
    c.GROUP: people.group,
    c.APPLICATION: apps.application,
    c.SERVICE_PRINCIPAL: apps.service_principal,
    c.CA_POLICY: policies.conditional_access_policy,
    c.NAMED_LOCATION: policies.named_location,
    c.AUTH_METHODS_POLICY: policies.authentication_methods_policy,
    c.AUTHORIZATION_POLICY: policies.authorization_policy,
    c.ORGANIZATION: policies.organization,
}


def _name_from_object(maker: Maker) -> Namer:
    def namer(layout: Layout, idx: int, ordinal: int) -> str:
        return str(maker(layout, idx, ordinal)["displayName"])

    return namer


_NAMERS: dict[str, Namer] = {
    c.USER: people.user_display_name,
    c.GROUP: people.group_display_name,
    c.APPLICATION: apps.application_display_name,
    c.SERVICE_PRINCIPAL: apps.service_principal_display_name,
    c.CA_POLICY: policies.ca_display_name,
    c.NAMED_LOCATION: policies.named_location_display_name,
    c.AUTH_METHODS_POLICY: _name_from_object(policies.authentication_methods_policy),
    c.AUTHORIZATION_POLICY: _name_from_object(policies.authorization_policy),
    c.ORGANIZATION: _name_from_object(policies.organization),
}


def _created_object(layout: Layout, idx: int, info: Created) -> dict[str, Any]:
    created = people.iso(info.created)
    if info.entity_type == c.APPLICATION and info.flavor == "rogue":
        return apps.rogue_application(layout, idx, created)
    if info.entity_type == c.SERVICE_PRINCIPAL and info.flavor == "rogue":
        return apps.rogue_service_principal(layout, idx, info.related)
    if info.entity_type == c.SERVICE_PRINCIPAL:
        # A service principal for a newly registered application (ordinal 0 keeps the tenant as publisher).
        obj = apps.service_principal(layout, idx, 0)
        app = apps.application(layout, info.related, 1000 + info.related)
        obj.update(id=layout.id_of(idx), appId=app["appId"], displayName=app["displayName"],
                   servicePrincipalNames=[app["appId"]])
        return obj
    if info.entity_type == c.GROUP:
        obj = people.group(layout, idx, idx, "security")
    elif info.entity_type == c.USER:
        obj = people.user(layout, idx, idx)
        if info.flavor == "rogue":
            n = idx % 1000
            obj.update(displayName=f"IT Support {n:03d}", givenName="IT", surname="Support",
                       userType="Guest", mail=f"it.support{n:03d}@outlook.example", jobTitle=None,
                       department=None, companyName=None, employeeId=None, employeeType=None,
                       employeeHireDate=None, employeeOrgData=None, onPremisesSyncEnabled=None,
                       userPrincipalName=f"it.support{n:03d}_outlook.example#EXT#@{people.onmicrosoft(layout)}",
                       mailNickname=f"it.support{n:03d}_outlook.example#EXT#")
    else:
        obj = _MAKERS[info.entity_type](layout, idx, 1000 + idx)
    obj["createdDateTime"] = created
    return obj


def materialize(layout: Layout, created: dict[int, Created], idx: int) -> dict[str, Any]:
    """The full base state of an object (Graph JSON names; for created objects, as created)."""
    if idx < layout.objects:
        t = layout.type_of(idx)
        return _MAKERS[t](layout, idx, idx - layout.starts[t])
    return _created_object(layout, idx, created[idx])


def entity_type(layout: Layout, created: dict[int, Created], idx: int) -> str | None:
    """Entity type of an index, or None if no such object was ever generated."""
    if 0 <= idx < layout.objects:
        return layout.type_of(idx)
    info = created.get(idx)
    return None if info is None else info.entity_type


def base_display_name(layout: Layout, created: dict[int, Created], idx: int) -> str:
    """Display name of an object in its base (or as-created) state, without materialising it."""
    if idx < layout.objects:
        t = layout.type_of(idx)
        return _NAMERS[t](layout, idx, idx - layout.starts[t])
    return str(_created_object(layout, idx, created[idx]).get("displayName") or "")


_CHEAP: dict[tuple[str, str], Callable[[Layout, int, int], Any]] = {
    (c.USER, "accountEnabled"): people.user_account_enabled,
}


def base_value(layout: Layout, created: dict[int, Created], idx: int, etype: str, key: str) -> Any:
    """One property of an object's base state; falls back to materialising the object."""
    if idx < layout.objects:
        if key == "displayName":
            return _NAMERS[etype](layout, idx, idx - layout.starts[etype])
        cheap = _CHEAP.get((etype, key))
        if cheap is not None:
            return cheap(layout, idx, idx - layout.starts[etype])
    return materialize(layout, created, idx).get(key)


def is_onprem(layout: Layout, created: dict[int, Created], idx: int) -> bool:
    """Whether an object is synchronised from on-premises AD (fixed for the object's lifetime)."""
    if idx < layout.objects:
        t = layout.type_of(idx)
        if t == c.USER:
            o = idx - layout.starts[t]
            return o != 0 and people.user_kind(layout.hash(idx)) == "onprem"
        if t == c.GROUP:
            return layout.group_kind(idx - layout.starts[t]) == "onprem"
        return False
    info = created[idx]
    return (info.entity_type == c.USER and info.flavor == "plain"
            and people.user_kind(layout.hash(idx)) == "onprem")

