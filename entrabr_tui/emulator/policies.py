"""Conditional Access, named locations and the tenant-wide policies, as pure functions of (seed, index)."""

from __future__ import annotations

from typing import Any

from entrabr_tui.emulator import catalog as c
from entrabr_tui.emulator import vocabulary as v
from entrabr_tui.emulator.layout import Layout
from entrabr_tui.emulator.people import _EPOCH_2016, _SIX_YEARS, iso, tenant_names

_AZURE_MANAGEMENT = "797f4846-ba00-4fd7-ba43-dac1f8f63013"
_ALL_PLATFORMS = ["android", "iOS", "windows", "macOS"]

# (name, include users, apps, client app types, location mode, platforms, grant, session, risk)
_CA_TEMPLATES: tuple[tuple[str, str, str, str, str, str, str, str, str], ...] = (
    ("Require MFA for administrators", "admins", "all", "all", "", "", "mfa", "", ""),
    ("Block legacy authentication", "all", "all", "legacy", "", "", "block", "", ""),
    ("Require MFA for all users", "all", "all", "all", "", "", "mfa", "", ""),
    ("Require compliant or hybrid joined device", "all", "office", "all", "", "", "device", "", ""),
    ("Block access from blocked countries", "all", "all", "all", "blocked", "", "block", "", ""),
    ("Require MFA outside trusted locations", "all", "all", "all", "untrusted", "", "mfa", "", ""),
    ("Sign-in frequency for unmanaged devices", "all", "office", "browser", "", "", "", "frequency", ""),
    ("Require MFA for guests", "guests", "all", "all", "", "", "mfa", "", ""),
    ("Require MFA for Azure management", "all", "azure", "all", "", "", "mfa", "", ""),
    ("Block unsupported device platforms", "all", "all", "all", "", "unsupported", "block", "", ""),
    ("Require password change for high-risk users", "all", "all", "all", "", "", "password", "", "user"),
    ("Require MFA for risky sign-ins", "all", "all", "all", "", "", "mfa", "everytime", "signin"),
    ("Require app protection on mobile", "all", "office", "all", "", "mobile", "app", "", ""),
)


def ca_display_name(layout: Layout, idx: int, ordinal: int) -> str:
    """Display name of a Conditional Access policy."""
    name = _CA_TEMPLATES[ordinal % len(_CA_TEMPLATES)][0]
    cycle = ordinal // len(_CA_TEMPLATES)
    if cycle == 0:
        return name
    return f"{name} - {v.DEPARTMENT_NAMES[(cycle - 1) % len(v.DEPARTMENT_NAMES)]}"


def _grant(kind: str) -> dict[str, Any] | None:
    controls = {"mfa": ["mfa"], "block": ["block"], "device": ["compliantDevice", "domainJoinedDevice"],
                "password": ["mfa", "passwordChange"], "app": ["compliantApplication"]}.get(kind)
    if controls is None:
        return None
    return {"operator": "AND" if kind == "password" else "OR", "builtInControls": controls,
            "customAuthenticationFactors": [], "termsOfUse": [], "authenticationStrength": None}


def _session(kind: str) -> dict[str, Any] | None:
    if kind == "frequency":
        return {"applicationEnforcedRestrictions": None, "cloudAppSecurity": None,
                "persistentBrowser": {"mode": "never", "isEnabled": True},
                "signInFrequency": {"value": 4, "type": "hours", "isEnabled": True,
                                    "authenticationType": "primaryAndSecondaryAuthentication",
                                    "frequencyInterval": "timeBased"}}
    if kind == "everytime":
        return {"applicationEnforcedRestrictions": None, "cloudAppSecurity": None, "persistentBrowser": None,
                "signInFrequency": {"value": None, "type": None, "isEnabled": True,
                                    "authenticationType": "primaryAndSecondaryAuthentication",
                                    "frequencyInterval": "everyTime"}}
    return None


def conditional_access_policy(layout: Layout, idx: int, ordinal: int) -> dict[str, Any]:
    """A Conditional Access policy with realistic nested conditions and controls."""
    _, who, apps, clients, loc, plat, grant, session, risk = _CA_TEMPLATES[ordinal % len(_CA_TEMPLATES)]
    cycle = ordinal // len(_CA_TEMPLATES)
    breakglass = layout.id_of(layout.index(c.USER, 0))
    users: dict[str, Any] = {
        "includeUsers": ["All"] if who == "all" else ["GuestsOrExternalUsers"] if who == "guests" else [],
        "excludeUsers": [breakglass], "includeGroups": [], "excludeGroups": [], "includeRoles": [],
        "excludeRoles": [],
    }
    if who == "admins":
        users["includeRoles"] = [c.ROLE_GLOBAL_ADMIN, c.ROLE_SECURITY_ADMIN, c.ROLE_EXCHANGE_ADMIN,
                                 c.ROLE_USER_ADMIN]
    groups = layout.counts[c.GROUP]
    if cycle > 0:
        users["includeUsers"] = []
        users["includeGroups"] = [layout.id_of(layout.index(c.GROUP, (ordinal * 7) % groups))]
    if ordinal % 4 == 2:
        users["excludeGroups"] = [layout.id_of(layout.index(c.GROUP, 0))]
    include_apps = {"all": ["All"], "office": [c.OFFICE365_APP_ID], "azure": [_AZURE_MANAGEMENT]}[apps]
    client_types = {"all": ["all"], "legacy": ["exchangeActiveSync", "other"],
                    "browser": ["browser"]}[clients]
    locations = None
    if loc == "blocked":
        locations = {"includeLocations": [layout.id_of(layout.index(c.NAMED_LOCATION, 1))],
                     "excludeLocations": []}
    elif loc == "untrusted":
        locations = {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}
    platforms = None
    if plat == "unsupported":
        platforms = {"includePlatforms": ["all"], "excludePlatforms": list(_ALL_PLATFORMS)}
    elif plat == "mobile":
        platforms = {"includePlatforms": ["android", "iOS"], "excludePlatforms": []}
    state = ("enabled" if ordinal < 3 or ordinal % 7 not in (5, 6) else
             "enabledForReportingButNotEnforced" if ordinal % 7 == 5 else "disabled")
    h = layout.hash(idx)
    created = _EPOCH_2016 + h % _SIX_YEARS
    return {
        "id": layout.id_of(idx),
        "displayName": ca_display_name(layout, idx, ordinal),
        "state": state,
        "createdDateTime": iso(created),
        "modifiedDateTime": iso(created + (h >> 32) % 86400 * 30),
        "templateId": None,
        "conditions": {
            "userRiskLevels": ["high"] if risk == "user" else [],
            "signInRiskLevels": ["high", "medium"] if risk == "signin" else [],
            "clientAppTypes": client_types,
            "servicePrincipalRiskLevels": [],
            "insiderRiskLevels": None,
            "platforms": platforms,
            "locations": locations,
            "devices": None,
            "clientApplications": None,
            "applications": {"includeApplications": include_apps, "excludeApplications": [],
                             "includeUserActions": [], "includeAuthenticationContextClassReferences": [],
                             "applicationFilter": None},
            "users": users,
        },
        "grantControls": _grant(grant),
        "sessionControls": _session(session),
    }


def _cidr(block: str) -> dict[str, str]:
    odata = "#microsoft.graph.iPv6CidrRange" if ":" in block else "#microsoft.graph.iPv4CidrRange"
    return {"@odata.type": odata, "cidrAddress": block}


# (name, ip ranges or None for a country location, trusted, countries)
_LOCATIONS: tuple[tuple[str, tuple[str, ...] | None, bool, tuple[str, ...]], ...] = (
    ("Corporate HQ", ("203.0.113.0/24", "2001:db8:1::/48"), True, ()),
    ("Blocked countries", None, False, ("KP", "IR", "SY", "CU")),
    ("Branch offices", ("198.51.100.0/25", "198.51.100.128/26"), True, ()),
    ("VPN egress", ("192.0.2.0/28",), True, ()),
    ("Allowed travel countries", None, False, ("US", "GB", "IE", "DE", "FR", "ES", "JP", "AU", "CA")),
    ("Azure egress", ("20.42.0.0/16", "20.43.0.0/17"), False, ()),
    ("Partner network", ("100.64.10.0/24",), False, ()),
    ("High-risk regions", None, False, ("BY", "VE", "MM")),
)


def named_location_display_name(layout: Layout, idx: int, ordinal: int) -> str:
    """Display name of a named location."""
    return _LOCATIONS[ordinal % len(_LOCATIONS)][0]


def named_location(layout: Layout, idx: int, ordinal: int) -> dict[str, Any]:
    """An IP or country named location."""
    name, ranges, trusted, countries = _LOCATIONS[ordinal % len(_LOCATIONS)]
    h = layout.hash(idx)
    created = iso(_EPOCH_2016 + h % _SIX_YEARS)
    if ranges is None:
        return {"@odata.type": c.COUNTRY_LOCATION_ODATA, "id": layout.id_of(idx), "displayName": name,
                "createdDateTime": created, "modifiedDateTime": created,
                "countriesAndRegions": list(countries), "includeUnknownCountriesAndRegions": False,
                "countryLookupMethod": "clientIpAddress"}
    return {"@odata.type": c.IP_LOCATION_ODATA, "id": layout.id_of(idx), "displayName": name,
            "createdDateTime": created, "modifiedDateTime": created,
            "isTrusted": trusted, "ipRanges": [_cidr(b) for b in ranges]}


def is_ip_location(ordinal: int) -> bool:
    """Whether the ``ordinal``-th named location is an IP location."""
    return _LOCATIONS[ordinal % len(_LOCATIONS)][1] is not None


def _method(odata: str, mid: str, state: str, **extra: Any) -> dict[str, Any]:
    return {"@odata.type": f"#microsoft.graph.{odata}AuthenticationMethodConfiguration", "id": mid,
            "state": state, "excludeTargets": [],
            "includeTargets": [{"targetType": "group", "id": "all_users", "isRegistrationRequired": False}],
            **extra}


def authentication_methods_policy(layout: Layout, idx: int, ordinal: int) -> dict[str, Any]:
    """The tenant's authentication methods policy (one object)."""
    return {
        "id": c.AUTH_METHODS_POLICY_ID,
        "displayName": "Authentication Methods Policy",
        "description": "The tenant-wide policy that controls the authentication methods allowed.",
        "policyVersion": "1.5",
        "authenticationMethodConfigurations": [
            _method("email", "Email", "enabled", allowExternalIdToUseEmailOtp="default"),
            _method("fido2", "Fido2", "enabled", isSelfServiceRegistrationAllowed=True,
                    isAttestationEnforced=True,
                    keyRestrictions={"isEnforced": False, "enforcementType": "block", "aaGuids": []}),
            _method("microsoftAuthenticator", "MicrosoftAuthenticator", "enabled",
                    isSoftwareOathEnabled=False,
                    featureSettings={"displayAppInformationRequiredState": {"state": "enabled"},
                                     "displayLocationInformationRequiredState": {"state": "enabled"}}),
            _method("voice", "Voice", "disabled", isOfficePhoneAllowed=False),
            _method("sms", "Sms", "disabled"),
            _method("softwareOath", "SoftwareOath", "disabled"),
            _method("temporaryAccessPass", "TemporaryAccessPass", "enabled", defaultLifetimeInMinutes=60,
                    defaultLength=8, minimumLifetimeInMinutes=60, maximumLifetimeInMinutes=480,
                    isUsableOnce=False),
            _method("x509Certificate", "X509Certificate", "disabled",
                    certificateUserBindings=[{"x509CertificateField": "PrincipalName",
                                              "userProperty": "userPrincipalName", "priority": 1}]),
        ],
    }


def authorization_policy(layout: Layout, idx: int, ordinal: int) -> dict[str, Any]:
    """The tenant's authorization policy (one object)."""
    return {
        "id": c.AUTHORIZATION_POLICY_ID,
        "displayName": "Authorization Policy",
        "description": "Used to manage authorization related settings across the company.",
        "blockMsolPowerShell": False,
        "guestUserRoleId": c.GUEST_ROLE_LIMITED,
        "allowInvitesFrom": "everyone",
        "allowedToSignUpEmailBasedSubscriptions": True,
        "allowEmailVerifiedUsersToJoinOrganization": False,
        "defaultUserRolePermissions": {"allowedToCreateApps": True, "allowedToCreateSecurityGroups": True,
                                       "allowedToReadOtherUsers": True},
    }


def organization(layout: Layout, idx: int, ordinal: int) -> dict[str, Any]:
    """The organization (tenant) object; its id is the tenant id."""
    company, domain = tenant_names(layout)
    return {
        "id": layout.id_of(idx),
        "displayName": company,
        "verifiedDomains": [{"name": domain, "isDefault": True}],
        "technicalNotificationMails": [f"it@{domain}"],
        "onPremisesSyncEnabled": None,
    }
