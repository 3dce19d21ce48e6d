"""What the emulated service knows about each entity type: names, OData types, recoverable properties.

Recoverable properties follow the supported-objects list of the Backup and Recovery documentation, mapped
from the directory-internal names the docs print (``Mobile``, ``PhysicalDeliveryOfficeName``,
``TelephoneNumber``…) to Graph JSON names (``mobilePhone``, ``officeLocation``, ``businessPhones``…).
Only these properties ever appear in a change object's ``deltaFromCurrent``/``currentState``, and each is a
property of the Graph v1.0 type the change is typed as (``@odata.type``).

Documented names with no property on the Graph type are left out, since nobody knows how the service
would render them: the user's ``PerUserMfaState`` (Graph keeps it on ``strongAuthenticationRequirements``,
beta, under ``/users/{id}/authentication/requirements``, not on ``user``) and the organization's
``StrongAuthenticationDetails`` / ``StrongAuthenticationPolicy`` (tenant-wide per-user MFA settings of the
MSOnline era; ``organization`` has no such properties), and the service principal's ``PublisherName``
(``publisherName`` exists on the beta servicePrincipal only). The emulated organization therefore never
changes in a recoverable way and never appears in a difference report.
"""

from __future__ import annotations

USER = "user"
GROUP = "group"
CA_POLICY = "conditionalAccessPolicy"
NAMED_LOCATION = "namedLocationPolicy"
AUTH_METHODS_POLICY = "authenticationMethodPolicy"
AUTHORIZATION_POLICY = "authorizationPolicy"
APPLICATION = "application"
SERVICE_PRINCIPAL = "servicePrincipal"
ORGANIZATION = "organization"

#: Entity type names (``resourceTypeName`` values) the emulated tenant holds.
ENTITY_TYPES: tuple[str, ...] = (
    USER, GROUP, CA_POLICY, NAMED_LOCATION, AUTH_METHODS_POLICY, AUTHORIZATION_POLICY,
    APPLICATION, SERVICE_PRINCIPAL, ORGANIZATION,
)

#: ``@odata.type`` of each entity type (named locations override it per object: ip or country).
ODATA_TYPES: dict[str, str] = {
    USER: "#microsoft.graph.user",
    GROUP: "#microsoft.graph.group",
    CA_POLICY: "#microsoft.graph.conditionalAccessPolicy",
    NAMED_LOCATION: "#microsoft.graph.ipNamedLocation",
    AUTH_METHODS_POLICY: "#microsoft.graph.authenticationMethodsPolicy",
    AUTHORIZATION_POLICY: "#microsoft.graph.authorizationPolicy",
    APPLICATION: "#microsoft.graph.application",
    SERVICE_PRINCIPAL: "#microsoft.graph.servicePrincipal",
    ORGANIZATION: "#microsoft.graph.organization",
}
IP_LOCATION_ODATA = "#microsoft.graph.ipNamedLocation"
COUNTRY_LOCATION_ODATA = "#microsoft.graph.countryNamedLocation"

#: Directory-internal property name (as the docs print it) -> Graph JSON name, per entity type.
#: Order is the order properties appear in change objects.
PROPERTY_NAMES: dict[str, dict[str, str]] = {
    USER: {
        "AccountEnabled": "accountEnabled",
        "AgeGroup": "ageGroup",
        "City": "city",
        "CompanyName": "companyName",
        "ConsentProvidedForMinor": "consentProvidedForMinor",
        "Country": "country",
        "Department": "department",
        "DisplayName": "displayName",
        "EmployeeHireDate": "employeeHireDate",
        "EmployeeId": "employeeId",
        "EmployeeLeaveDate": "employeeLeaveDateTime",
        "EmployeeOrgData": "employeeOrgData",
        "EmployeeType": "employeeType",
        "FaxNumber": "faxNumber",
        "GivenName": "givenName",
        "JobTitle": "jobTitle",
        "Mail": "mail",
        "MailNickname": "mailNickname",
        "Mobile": "mobilePhone",
        "OtherMail": "otherMails",
        "PasswordPolicies": "passwordPolicies",
        "PhysicalDeliveryOfficeName": "officeLocation",
        "PostalCode": "postalCode",
        "PreferredDataLocation": "preferredDataLocation",
        "PreferredLanguage": "preferredLanguage",
        "State": "state",
        "StreetAddress": "streetAddress",
        "Surname": "surname",
        "TelephoneNumber": "businessPhones",
        "UsageLocation": "usageLocation",
        "UserPrincipalName": "userPrincipalName",
        "UserType": "userType",
    },
    GROUP: {
        "Classification": "classification",
        "Description": "description",
        "DisplayName": "displayName",
        "GroupType": "groupTypes",
        "IsPublic": "visibility",
        "Mail": "mail",
        "MailEnabled": "mailEnabled",
        "MailNickname": "mailNickname",
        "PreferredDataLocation": "preferredDataLocation",
        "PreferredLanguage": "preferredLanguage",
        "SecurityEnabled": "securityEnabled",
        "Theme": "theme",
    },
    # "All properties" (read-only ones such as id, createdDateTime, modifiedDateTime excluded).
    CA_POLICY: {
        "DisplayName": "displayName",
        "State": "state",
        "Conditions": "conditions",
        "GrantControls": "grantControls",
        "SessionControls": "sessionControls",
    },
    NAMED_LOCATION: {
        "DisplayName": "displayName",
        "IpRanges": "ipRanges",
        "IsTrusted": "isTrusted",
        "CountriesAndRegions": "countriesAndRegions",
        "CountryLookupMethod": "countryLookupMethod",
        "IncludeUnknownCountriesAndRegions": "includeUnknownCountriesAndRegions",
    },
    AUTH_METHODS_POLICY: {
        "AuthenticationMethodConfigurations": "authenticationMethodConfigurations",
    },
    AUTHORIZATION_POLICY: {
        "BlockMsolPowerShell": "blockMsolPowerShell",
        "GuestUserRoleId": "guestUserRoleId",
    },
    APPLICATION: {
        "DisplayName": "displayName",
        "Description": "description",
        "Notes": "notes",
        "ApplicationTag": "tags",
        "AppIdentifierUri": "identifierUris",
        "AppCreatedDateTime": "createdDateTime",
        "PublicClient": "isFallbackPublicClient",  # Graph publicClient holds redirect URIs instead
        "PublisherDomain": "publisherDomain",
        "IsDeviceOnlyAuthSupported": "isDeviceOnlyAuthSupported",
        "ServiceManagementReference": "serviceManagementReference",
        "RequiredResourceAccess": "requiredResourceAccess",
        "NativeAuthenticationApisEnabled": "nativeAuthenticationApisEnabled",
        "SignInAudience": "signInAudience",
        "GroupMembershipClaims": "groupMembershipClaims",
        "OptionalClaims": "optionalClaims",
        "IsDisabled": "isDisabled",
        "AddIns": "addIns",
        "ServicePrincipalLockConfiguration": "servicePrincipalLockConfiguration",
        "AppInformationalUrl": "info",
    },
    SERVICE_PRINCIPAL: {
        "AccountEnabled": "accountEnabled",
        "AlternativeNames": "alternativeNames",
        "ExplicitAccessGrantRequired": "appRoleAssignmentRequired",
        "Description": "description",
        "LoginUrl": "loginUrl",
        "Notes": "notes",
        "NotificationEmailAddresses": "notificationEmailAddresses",
        "PreferredTokenSigningKeyThumbprint": "preferredTokenSigningKeyThumbprint",
        "ServicePrincipalTag": "tags",
        "ServicePrincipalType": "servicePrincipalType",
        "PreferredSingleSignOnMode": "preferredSingleSignOnMode",
        "SamlSingleSignOnSettings": "samlSingleSignOnSettings",
        "ServicePrincipalName": "servicePrincipalNames",
    },
    # The documented StrongAuthenticationDetails / StrongAuthenticationPolicy have no Graph property.
    ORGANIZATION: {},
}

#: Graph JSON names of the recoverable properties of each entity type, in change-object order.
RECOVERABLE: dict[str, tuple[str, ...]] = {t: tuple(m.values()) for t, m in PROPERTY_NAMES.items()}

#: Relationship whose links recovery handles (static group membership only).
MEMBERS_DELTA = "members@delta"
#: Owner links: shown in change objects (as in Microsoft's example), documented as not recoverable.
OWNERS_DELTA = "owners@delta"
REMOVED = {"reason": "changed"}

#: Ids of the tenant-wide singleton policies (the organization's id is the tenant id).
AUTH_METHODS_POLICY_ID = "authenticationMethodsPolicy"
AUTHORIZATION_POLICY_ID = "authorizationPolicy"

#: Built-in role template ids used by the authorization policy and Conditional Access.
GUEST_ROLE_MEMBER_LIKE = "a0b1b346-4d3e-4e8b-98f8-753987be4970"
GUEST_ROLE_LIMITED = "10dae51f-b6af-4016-8d66-8c2a99b929b3"
GUEST_ROLE_RESTRICTED = "2af84b1e-32c8-42b7-82bc-daa82404023b"
ROLE_GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"
ROLE_SECURITY_ADMIN = "194ae4cb-b126-40b2-bd5b-6091b380977d"
ROLE_EXCHANGE_ADMIN = "29232cdf-9323-42fd-ade2-1d097af3e4de"
ROLE_USER_ADMIN = "fe930be7-5e62-47db-91af-98c3a49a38b1"
MICROSOFT_GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
OFFICE365_APP_ID = "Office365"

ONPREM_FAILURE = (
    "Object is synchronized from on-premises Active Directory and can't be recovered in the cloud. "
    "Change it at its source of authority."
)


def missing_link_failure(member_id: str) -> str:
    """Failure message for a membership link whose member no longer exists."""
    return (f"Link recovery failed: the member object '{member_id}' no longer exists in the directory "
            "and the link can't be re-created.")


def deleted_link_failure(member_id: str) -> str:
    """Failure message for a membership link whose member is in the deleted items."""
    return (f"Link recovery failed: the member object '{member_id}' is deleted. "
            "Restore it first, then recover the link.")
