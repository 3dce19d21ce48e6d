"""Capability hints from token claims: the role / permission matrix and its human reasons."""

from __future__ import annotations

from typing import Any

import pytest

from entrabr_tui.core.capabilities import (
    ADMINISTRATOR_ROLE_ID,
    GLOBAL_ADMINISTRATOR_ROLE_ID,
    READER_ROLE_ID,
    AccessKind,
    Action,
    BackupRole,
    capabilities_from_claims,
    unknown_capabilities,
)

ALL_SCP = "EntraBackup.Read.All EntraBackup.ReadWrite.Preview EntraBackup.ReadWrite.Recovery"
READER_SCP = "EntraBackup.Read.All EntraBackup.ReadWrite.Preview"
USER_ROLE_ID = "b79fbf4d-3ef9-4689-8143-76b194e85509"  # the default "User" role present in most tokens


def user(scp: str = ALL_SCP, wids: list[Any] | None = None, **extra: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "tid": "tenant-1", "oid": "oid-1", "upn": "alice@contoso.example", "name": "Alice",
        "appid": "14d82eec-204b-4c2f-b7e8-296a70dab67e", "scp": scp, "exp": 1_900_000_000,
    }
    if wids is not None:
        claims["wids"] = wids
    claims.update(extra)
    return claims


APP = {
    "tid": "tenant-1", "oid": "oid-app", "appid": "app-1", "app_displayname": "entrabr-ci",
    "idtyp": "app", "roles": ["EntraBackup.Read.All"],
}

# name -> (claims, kind, role, can_read, can_create_report, can_restore)
MATRIX: dict[str, tuple[dict[str, Any], AccessKind, BackupRole, bool, bool, bool]] = {
    "reader": (
        user(READER_SCP, [USER_ROLE_ID, READER_ROLE_ID]),
        AccessKind.DELEGATED, BackupRole.READER, True, True, False,
    ),
    "admin": (
        user(ALL_SCP, [ADMINISTRATOR_ROLE_ID, USER_ROLE_ID]),
        AccessKind.DELEGATED, BackupRole.ADMINISTRATOR, True, True, True,
    ),
    "global": (
        user(ALL_SCP, [GLOBAL_ADMINISTRATOR_ROLE_ID]),
        AccessKind.DELEGATED, BackupRole.GLOBAL_ADMINISTRATOR, True, True, True,
    ),
    "reader-and-global": (
        user(ALL_SCP, [READER_ROLE_ID, GLOBAL_ADMINISTRATOR_ROLE_ID.upper()]),
        AccessKind.DELEGATED, BackupRole.GLOBAL_ADMINISTRATOR, True, True, True,
    ),
    "app": (APP, AccessKind.APP_ONLY, BackupRole.NONE, True, False, False),
    "no-wids": (user(ALL_SCP, None), AccessKind.DELEGATED, BackupRole.UNKNOWN, True, True, True),
    "no-role": (user(ALL_SCP, [USER_ROLE_ID]), AccessKind.DELEGATED, BackupRole.NONE, False, False, False),
    "admin-without-recovery-scope": (
        user(READER_SCP, [ADMINISTRATOR_ROLE_ID]),
        AccessKind.DELEGATED, BackupRole.ADMINISTRATOR, True, True, False,
    ),
    "admin-without-read-scope": (
        user("User.Read", [ADMINISTRATOR_ROLE_ID]),
        AccessKind.DELEGATED, BackupRole.ADMINISTRATOR, False, False, False,
    ),
    "app-without-permission": (
        {**APP, "roles": ["User.Read.All"]}, AccessKind.APP_ONLY, BackupRole.NONE, False, False, False,
    ),
}


@pytest.mark.parametrize("name", list(MATRIX))
def test_capability_matrix(name: str) -> None:
    claims, kind, role, read, report, restore = MATRIX[name]
    caps = capabilities_from_claims(claims)
    assert (caps.kind, caps.role) == (kind, role)
    assert (caps.can_read, caps.can_create_report, caps.can_restore) == (read, report, restore)
    for action in Action:
        # Every refused action has a reason, every allowed one has none.
        assert (caps.reason(action) is None) == caps.allows(action), (name, action)


def test_reader_reasons_name_the_missing_role() -> None:
    caps = capabilities_from_claims(MATRIX["reader"][0])
    assert caps.restore_reason == (
        "Signed in as Entra Backup Reader: restores need the Entra Backup Administrator role"
    )
    # The live role definition grants Entra Backup Reader backup/preview/create: reports are not refused.
    assert caps.can_create_report and caps.report_reason is None
    assert not caps.read_only
    assert caps.summary == "alice@contoso.example · Entra Backup Reader"


def test_app_only_is_read_only_with_reason() -> None:
    caps = capabilities_from_claims(APP)
    assert caps.restore_reason == "App-only sign-in: Microsoft allows only reads"
    assert caps.report_reason == "App-only sign-in: Microsoft allows only reads"
    assert caps.identity.display == "entrabr-ci"
    assert caps.identity.app_id == "app-1"
    assert caps.summary == "entrabr-ci · app-only, read-only"


def test_missing_scope_reason_names_permission_and_app() -> None:
    caps = capabilities_from_claims(MATRIX["admin-without-recovery-scope"][0])
    assert caps.restore_reason is not None
    assert "EntraBackup.ReadWrite.Recovery" in caps.restore_reason
    assert "14d82eec-204b-4c2f-b7e8-296a70dab67e" in caps.restore_reason


def test_reader_without_the_preview_permission_is_told_which_one() -> None:
    caps = capabilities_from_claims(user("EntraBackup.Read.All", [READER_ROLE_ID]))
    assert not caps.can_create_report
    assert caps.report_reason is not None and "EntraBackup.ReadWrite.Preview" in caps.report_reason
    assert caps.read_only


def test_no_role_reason_and_summary() -> None:
    caps = capabilities_from_claims(MATRIX["no-role"][0])
    assert caps.read_reason is not None and "Entra Backup Reader" in caps.read_reason
    assert caps.report_reason is not None and "Entra Backup Reader" in caps.report_reason
    assert caps.summary.endswith("no Entra Backup role")


def test_missing_wids_is_unknown_not_none_and_blocks_nothing() -> None:
    caps = capabilities_from_claims(MATRIX["no-wids"][0])
    assert caps.role is BackupRole.UNKNOWN
    assert caps.summary.endswith("role unknown")


def test_identity_and_expiry() -> None:
    caps = capabilities_from_claims(user(wids=[ADMINISTRATOR_ROLE_ID]))
    assert caps.identity.upn == "alice@contoso.example"
    assert caps.identity.tenant_id == "tenant-1"
    assert caps.identity.object_id == "oid-1"
    assert caps.expires_at == 1_900_000_000
    assert caps.scopes == frozenset(ALL_SCP.split())


@pytest.mark.parametrize(
    "claims",
    [
        {},
        {"scp": 42, "wids": "not-a-list", "roles": {"a": 1}, "exp": "soon", "upn": ["x"]},
        {"scp": None, "wids": [None, 3, READER_ROLE_ID], "exp": True},
        {"idtyp": "app"},
    ],
)
def test_malformed_claims_never_raise(claims: dict[str, Any]) -> None:
    caps = capabilities_from_claims(claims)
    assert caps.identity.display  # always something to show
    assert caps.expires_at is None or isinstance(caps.expires_at, int)


def test_token_without_permissions_of_unknown_shape_lets_the_service_decide() -> None:
    caps = capabilities_from_claims({"tid": "t"})
    assert caps.kind is AccessKind.UNKNOWN
    assert caps.can_read and caps.can_create_report and caps.can_restore


def test_unknown_capabilities_allow_everything() -> None:
    caps = unknown_capabilities()
    assert caps.role is BackupRole.UNKNOWN
    assert all(caps.allows(a) for a in Action)
    assert caps.identity.display == "unknown identity"


def test_upn_fallbacks() -> None:
    caps = capabilities_from_claims({"preferred_username": "bob@x.example", "scp": ALL_SCP})
    assert caps.identity.upn == "bob@x.example"
    assert caps.kind is AccessKind.DELEGATED
