"""Application registrations and service principals, each a pure function of (seed, index)."""

from __future__ import annotations

from typing import Any

from entrabr_tui.emulator import catalog as c
from entrabr_tui.emulator import vocabulary as v
from entrabr_tui.emulator.layout import Layout
from entrabr_tui.emulator.people import _EPOCH_2016, _SIX_YEARS, iso, onmicrosoft, tenant_names

_GRAPH_USER_READ = "e1fe6dd8-ba31-4d61-89e7-88639da4683d"
_GRAPH_MAIL_READ = "570282fd-fa5c-430d-a7fd-fc8dc98a9dca"
_GRAPH_FILES_READ = "df85f4d6-205c-4ac5-a5ea-6bf408dba283"
_MICROSOFT_TENANT = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"


def app_id(layout: Layout, app_idx: int) -> str:
    """The appId (client id) of an application registration."""
    return layout.guid(app_idx, salt=1)


def application_display_name(layout: Layout, idx: int, ordinal: int) -> str:
    """Display name of an application registration."""
    if ordinal == 1:
        return v.HOSTILE_APP_NAME
    name = v.APP_NAMES[ordinal % len(v.APP_NAMES)]
    cycle = ordinal // len(v.APP_NAMES)
    return name if cycle == 0 else f"{name} {cycle + 1}"


def application(layout: Layout, idx: int, ordinal: int) -> dict[str, Any]:
    """An application registration as it is in the base tenant."""
    h = layout.hash(idx)
    _, domain = tenant_names(layout)
    aid = app_id(layout, idx)
    scopes = [_GRAPH_USER_READ, _GRAPH_MAIL_READ, _GRAPH_FILES_READ][: 1 + (h >> 8) % 3]
    return {
        "id": layout.id_of(idx),
        "appId": aid,
        "displayName": application_display_name(layout, idx, ordinal),
        "description": None if (h >> 12) % 3 == 0 else "Line-of-business application",
        "notes": None,
        "tags": [],
        "identifierUris": [f"api://{aid}"] if (h >> 16) % 2 == 0 else [],
        "createdDateTime": iso(_EPOCH_2016 + h % _SIX_YEARS),
        "publicClient": {"redirectUris": []},
        "isFallbackPublicClient": False,
        "publisherDomain": domain,
        "isDeviceOnlyAuthSupported": None,
        "serviceManagementReference": None,
        "requiredResourceAccess": [{
            "resourceAppId": c.MICROSOFT_GRAPH_APP_ID,
            "resourceAccess": [{"id": s, "type": "Scope"} for s in scopes],
        }],
        "nativeAuthenticationApisEnabled": None,
        "signInAudience": "AzureADMultipleOrgs" if (h >> 20) % 8 == 0 else "AzureADMyOrg",
        "groupMembershipClaims": "SecurityGroup" if (h >> 24) % 4 == 0 else None,
        "optionalClaims": None,
        "isDisabled": False,
        "addIns": [],
        "servicePrincipalLockConfiguration": {"isEnabled": True, "allProperties": True},
        "info": {"marketingUrl": None, "privacyStatementUrl": None, "supportUrl": None,
                 "termsOfServiceUrl": None, "logoUrl": None},
        "passwordCredentials": [],
    }


def _sp_source(layout: Layout, ordinal: int) -> tuple[str, str, str, int | None]:
    """(display name, publisher, appId, owning app index or None) of a service principal."""
    n_apps = layout.counts[c.APPLICATION]
    company, _ = tenant_names(layout)
    if ordinal < n_apps:
        app_idx = layout.index(c.APPLICATION, ordinal)
        return (application_display_name(layout, app_idx, ordinal), company, app_id(layout, app_idx), app_idx)
    rest = ordinal - n_apps
    idx = layout.index(c.SERVICE_PRINCIPAL, ordinal)
    if rest < len(v.FIRST_PARTY_SPS):
        return v.FIRST_PARTY_SPS[rest], "Microsoft Services", layout.guid(idx, salt=1), None
    name, publisher = v.GALLERY_APPS[rest % len(v.GALLERY_APPS)]
    cycle = rest // len(v.GALLERY_APPS)
    return (name if cycle == 0 else f"{name} ({cycle})"), publisher, layout.guid(idx, salt=1), None


def service_principal_display_name(layout: Layout, idx: int, ordinal: int) -> str:
    """Display name of a service principal."""
    return _sp_source(layout, ordinal)[0]


def service_principal(layout: Layout, idx: int, ordinal: int) -> dict[str, Any]:
    """A service principal as it is in the base tenant."""
    h = layout.hash(idx)
    name, publisher, aid, app_idx = _sp_source(layout, ordinal)
    first_party = publisher == "Microsoft Services"
    saml = not first_party and app_idx is None and (h >> 8) % 2 == 0
    return {
        "id": layout.id_of(idx),
        "appId": aid,
        "displayName": name,
        "accountEnabled": True,
        "alternativeNames": [],
        "appRoleAssignmentRequired": not first_party and (h >> 12) % 3 == 0,
        "description": None,
        "loginUrl": None,
        "notes": None,
        "notificationEmailAddresses": [],
        "preferredTokenSigningKeyThumbprint": f"{h:016X}{h >> 8:016X}"[:40] if saml else None,
        "tags": ["WindowsAzureActiveDirectoryIntegratedApp"] if not first_party else [],
        "servicePrincipalType": "Application",
        "preferredSingleSignOnMode": "saml" if saml else None,
        "publisherName": publisher,
        "samlSingleSignOnSettings": {"relayState": None} if saml else None,
        "servicePrincipalNames": [aid],
        "appOwnerOrganizationId": _MICROSOFT_TENANT if first_party else layout.id_of(0),
    }


def rogue_application(layout: Layout, idx: int, created: str) -> dict[str, Any]:
    """The application registration an attacker creates during the incident."""
    aid = layout.guid(idx, salt=1)
    return {
        "id": layout.id_of(idx), "appId": aid, "displayName": "Azure AD Sync Helper",
        "description": None, "notes": None, "tags": [], "identifierUris": [], "createdDateTime": created,
        "publicClient": {"redirectUris": []}, "isFallbackPublicClient": False,
        "publisherDomain": onmicrosoft(layout),
        "isDeviceOnlyAuthSupported": None, "serviceManagementReference": None,
        "requiredResourceAccess": [{"resourceAppId": c.MICROSOFT_GRAPH_APP_ID, "resourceAccess": [
            {"id": "19dbc75e-c2e2-444c-a770-ec69d8559fc7", "type": "Role"},
            {"id": "9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8", "type": "Role"}]}],
        "nativeAuthenticationApisEnabled": None, "signInAudience": "AzureADMultipleOrgs",
        "groupMembershipClaims": None, "optionalClaims": None, "isDisabled": False, "addIns": [],
        "servicePrincipalLockConfiguration": None,
        "info": {"marketingUrl": None, "privacyStatementUrl": None, "supportUrl": None,
                 "termsOfServiceUrl": None, "logoUrl": None},
        "passwordCredentials": [{"displayName": "sync", "endDateTime": "2099-12-31T00:00:00Z"}],
    }


def rogue_service_principal(layout: Layout, idx: int, app_idx: int) -> dict[str, Any]:
    """The service principal of the rogue application."""
    aid = layout.guid(app_idx, salt=1)
    return {
        "id": layout.id_of(idx), "appId": aid, "displayName": "Azure AD Sync Helper", "accountEnabled": True,
        "alternativeNames": [], "appRoleAssignmentRequired": False, "description": None, "loginUrl": None,
        "notes": None, "notificationEmailAddresses": [], "preferredTokenSigningKeyThumbprint": None,
        "tags": ["WindowsAzureActiveDirectoryIntegratedApp"], "servicePrincipalType": "Application",
        "preferredSingleSignOnMode": None, "publisherName": "Azure AD Sync Helper",
        "samlSingleSignOnSettings": None, "servicePrincipalNames": [aid],
        "appOwnerOrganizationId": layout.id_of(0),
    }

