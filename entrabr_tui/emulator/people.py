"""Users and groups of the emulated tenant, each a pure function of (seed, index)."""

from __future__ import annotations

import time
from typing import Any

from entrabr_tui.emulator import vocabulary as v
from entrabr_tui.emulator.layout import Layout

_EPOCH_2016 = 1451606400
_SIX_YEARS = 6 * 365 * 86400
_N_FIRST = len(v.FIRST_NAMES)
_N_LAST = len(v.LAST_NAMES)
_N_DEPT = len(v.DEPARTMENT_NAMES)
_N_OFFICE = len(v.OFFICES)


def iso(epoch: int) -> str:
    """UTC ISO-8601 timestamp with a trailing Z."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def tenant_names(layout: Layout) -> tuple[str, str]:
    """(company name, verified domain) of the tenant."""
    company, stem = v.TENANTS[layout.key % len(v.TENANTS)]
    return company, f"{stem}.com"


def onmicrosoft(layout: Layout) -> str:
    """The tenant's initial ``onmicrosoft.com`` domain."""
    return f"{v.TENANTS[layout.key % len(v.TENANTS)][1]}.onmicrosoft.com"


def _ascii(s: str) -> str:
    return s.lower().encode("ascii", "ignore").decode() or "user"


def user_kind(h: int) -> str:
    """member, guest or onprem (member synchronised from on-premises AD), from the user's hash."""
    if h & 0xFF < 28:
        return "guest"
    return "onprem" if (h >> 8) & 0xFF < 40 else "member"


def user_display_name(layout: Layout, idx: int, ordinal: int) -> str:
    """Display name of a user, cheaper than materialising the whole user."""
    hostile = v.HOSTILE_USER_NAMES.get(ordinal)
    if hostile is not None:
        return hostile
    if ordinal == 0:
        return "Emergency Access Admin"
    h = layout.hash(idx)
    return f"{v.FIRST_NAMES[(h >> 16) % _N_FIRST]} {v.LAST_NAMES[(h >> 28) % _N_LAST]}"


def user_account_enabled(layout: Layout, idx: int, ordinal: int) -> bool:
    """Whether a base user's account is enabled, cheaper than materialising the whole user."""
    return ordinal == 0 or (layout.hash(idx, 1) >> 20) % 100 >= 3


def user(layout: Layout, idx: int, ordinal: int) -> dict[str, Any]:
    """A user object (Graph JSON names) as it is in the base tenant."""
    h = layout.hash(idx)
    kind = "member" if ordinal == 0 else user_kind(h)
    first = v.FIRST_NAMES[(h >> 16) % _N_FIRST]
    last = v.LAST_NAMES[(h >> 28) % _N_LAST]
    dept = v.DEPARTMENT_NAMES[(h >> 40) % _N_DEPT]
    titles = v.DEPARTMENTS[dept]
    office = v.OFFICES[(h >> 44) % _N_OFFICE]
    company, domain = tenant_names(layout)
    nick = f"{_ascii(first)}.{_ascii(last)}{ordinal}"
    display = user_display_name(layout, idx, ordinal)
    if ordinal == 0:
        first, last, nick = "Emergency", "Access", "breakglass"
    h2 = layout.hash(idx, 1)
    guest = kind == "guest"
    if guest:
        gdomain = v.GUEST_DOMAINS[(h2 >> 8) % len(v.GUEST_DOMAINS)]
        mail = f"{_ascii(first)}.{_ascii(last)}@{gdomain}"
        upn = f"{_ascii(first)}.{_ascii(last)}_{gdomain}#EXT#@{onmicrosoft(layout)}"
        nick = f"{_ascii(first)}.{_ascii(last)}_{gdomain}#EXT#"
    else:
        mail = upn = f"{nick}@{domain}"
    phone = f"+1 425 555 {h2 % 10000:04d}"
    return {
        "id": layout.id_of(idx),
        "displayName": display,
        "givenName": first,
        "surname": last,
        "userPrincipalName": upn,
        "mail": mail,
        "mailNickname": nick,
        "otherMails": [mail] if guest else [],
        "userType": "Guest" if guest else "Member",
        "accountEnabled": user_account_enabled(layout, idx, ordinal),
        "jobTitle": None if guest else titles[(h >> 52) % len(titles)],
        "department": None if guest else dept,
        "companyName": None if guest else company,
        "officeLocation": None if guest else office[0],
        "city": office[1],
        "state": office[2],
        "country": office[3],
        "postalCode": None if guest else office[4],
        "streetAddress": None if guest else office[5],
        "usageLocation": office[6],
        "preferredLanguage": office[7],
        "mobilePhone": None if guest or (h2 >> 24) % 10 < 3 else phone,
        "businessPhones": [] if guest else [f"+1 425 555 {(h2 >> 36) % 10000:04d}"],
        "faxNumber": None,
        "employeeId": None if guest else str(100000 + ordinal),
        "employeeType": None if guest else ("Contractor" if (h2 >> 40) % 10 == 0 else "Employee"),
        "employeeHireDate": None if guest else iso(_EPOCH_2016 + (h2 >> 16) % _SIX_YEARS)[:10] + "T00:00:00Z",
        "employeeLeaveDateTime": None,
        "employeeOrgData": None if guest else {"division": dept,
                                               "costCenter": f"CC-{(h2 >> 44) % 900 + 100}"},
        "ageGroup": None,
        "consentProvidedForMinor": None,
        "passwordPolicies": "DisablePasswordExpiration" if (h2 >> 48) % 4 == 0 else None,
        "preferredDataLocation": None,
        "onPremisesSyncEnabled": True if kind == "onprem" else None,
        "createdDateTime": iso(_EPOCH_2016 + h % _SIX_YEARS),
    }


def group_display_name(layout: Layout, idx: int, ordinal: int, kind: str | None = None) -> str:
    """Display name of a group, cheaper than materialising the whole group."""
    hostile = v.HOSTILE_GROUP_NAMES.get(ordinal)
    if hostile is not None:
        return hostile
    kind = kind or layout.group_kind(ordinal)
    h = layout.hash(idx)
    dept = v.DEPARTMENT_NAMES[(h >> 8) % _N_DEPT]
    office = v.OFFICES[(h >> 16) % _N_OFFICE][0]
    serial = f" {ordinal // 20 + 1:03d}" if layout.counts["group"] > 200 else ""
    if kind == "unified":
        return f"Project {v.PROJECTS[(h >> 24) % len(v.PROJECTS)]}{serial}"
    if kind == "dynamic":
        return f"All {dept} - {office} (dynamic){serial}"
    if kind == "onprem":
        return f"GG-{dept.replace(' ', '')}-{office.replace(' ', '')}{serial}"
    return f"SG-{dept.replace(' ', '')}-{office.replace(' ', '')}{serial}"


def group(layout: Layout, idx: int, ordinal: int, kind: str | None = None) -> dict[str, Any]:
    """A group object (Graph JSON names) as it is in the base tenant."""
    kind = kind or layout.group_kind(ordinal)
    h = layout.hash(idx)
    name = group_display_name(layout, idx, ordinal, kind)
    dept = v.DEPARTMENT_NAMES[(h >> 8) % _N_DEPT]
    _, domain = tenant_names(layout)
    nick = "".join(ch for ch in _ascii(name) if ch.isalnum() or ch == "-")[:48] or f"group{ordinal}"
    unified = kind == "unified"
    dynamic = kind == "dynamic"
    return {
        "id": layout.id_of(idx),
        "displayName": name,
        "description": (f"{dept} collaboration space" if unified else
                        f"Everyone in {dept}, maintained by rule" if dynamic else
                        f"Access group for {dept}"),
        "groupTypes": ["Unified"] if unified else ["DynamicMembership"] if dynamic else [],
        "mailEnabled": unified,
        "securityEnabled": not unified or (h >> 32) % 4 == 0,
        "mail": f"{nick}{ordinal}@{domain}" if unified else None,
        "mailNickname": f"{nick}{ordinal}",
        "visibility": ("Public" if (h >> 36) % 3 == 0 else "Private") if unified else None,
        "classification": ("Confidential" if (h >> 40) % 5 == 0 else "General") if unified else None,
        "theme": ("Blue", "Teal", "Orange", None)[(h >> 44) % 4] if unified else None,
        "preferredDataLocation": None,
        "preferredLanguage": "en-US" if unified else None,
        "membershipRule": f'(user.department -eq "{dept}")' if dynamic else None,
        "membershipRuleProcessingState": "On" if dynamic else None,
        "onPremisesSyncEnabled": True if kind == "onprem" else None,
        "createdDateTime": iso(_EPOCH_2016 + h % _SIX_YEARS),
    }
