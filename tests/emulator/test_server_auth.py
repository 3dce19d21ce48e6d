"""Authentication (401) and authorization (403) from bearer-token claims."""

from __future__ import annotations

import base64
import json
import time
import uuid

import pytest

from entrabr_tui.emulator.layout import tenant_id
from entrabr_tui.emulator.tokens import (
    DEFAULT_TENANT_ID,
    ROLE_BACKUP_ADMIN,
    ROLE_BACKUP_READER,
    mint_token,
    parse_authorization,
)

from .conftest import Api, assert_error
from .tenant_helpers import bearer, custom

DENIED = "Authorization has been denied for this request. Check your credentials."
READ = "EntraBackup.Read.All"
PREVIEW = "EntraBackup.ReadWrite.Preview"
RECOVERY = "EntraBackup.ReadWrite.Recovery"
DIRECTORY = "Directory.Read.All"
AUDIT = "AuditLog.Read.All"


@pytest.mark.parametrize(("header", "fragment"), [
    (None, "empty"),
    ("Basic dXNlcjpwYXNz", "empty"),
    ("Bearer", "empty"),
    ("Bearer not-a-jwt", "not well formed"),
    ("Bearer a.b.c.d", "not well formed"),
    ("Bearer !!!.@@@.", "encoding"),
    (f"Bearer {mint_token('admin', expires_in=-5)}", "expired"),
    (f"Bearer {custom(exp=None)}", "expiry"),
    (f"Bearer {custom(wids='not-a-list')}", "claims"),
], ids=["missing", "basic", "bearer-only", "not-jwt", "four-parts", "bad-encoding", "expired", "no-exp",
        "bad-wids"])
def test_bad_tokens_are_401(api: Api, header: str | None, fragment: str) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = api.get("/v1.0/directory/recovery/snapshots", role=None, headers=headers)
    error = assert_error(response, 401, "InvalidAuthenticationToken")
    assert fragment in error["message"]
    assert response.headers["www-authenticate"].startswith("Bearer ")
    assert "claims=" not in response.headers["www-authenticate"]


def test_tokens_are_unsigned_jwts_with_the_documented_claims() -> None:
    token = mint_token("reader", expires_in=60)
    header, payload, signature = token.split(".")
    assert signature == ""
    assert json.loads(base64.urlsafe_b64decode(header + "==")) == {"alg": "none", "typ": "JWT"}
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    assert {"tid", "oid", "upn", "exp", "iat", "scp", "wids"} <= set(claims)
    assert claims["scp"] == f"{READ} {PREVIEW} {DIRECTORY} {AUDIT}" and claims["wids"] == [ROLE_BACKUP_READER]
    assert claims["tid"] == DEFAULT_TENANT_ID == tenant_id(1, 2000)
    assert 55 <= claims["exp"] - time.time() <= 61
    app = json.loads(base64.urlsafe_b64decode(mint_token("app").split(".")[1] + "=="))
    assert app["roles"] == [READ, DIRECTORY, AUDIT] and "scp" not in app and "wids" not in app
    parsed = parse_authorization(f"Bearer {mint_token('global')}")
    assert parsed.scopes == {READ, PREVIEW, RECOVERY, DIRECTORY, AUDIT, "Policy.Read.All"}
    assert not parsed.app_only
    other = json.loads(base64.urlsafe_b64decode(mint_token("admin", tenant="t-1").split(".")[1] + "=="))
    assert other["tid"] == "t-1" and other["iss"] == "https://sts.windows.net/t-1/"
    with pytest.raises(ValueError, match="unknown role"):
        mint_token("owner")


@pytest.mark.parametrize("role", ["reader", "admin", "global", "app"])
def test_every_role_can_read(api: Api, role: str) -> None:
    url, _job = api.run("preview")
    sid = api.newest()
    for path in ("/v1.0/directory/recovery", "/v1.0/directory/recovery/snapshots",
                 f"/v1.0/directory/recovery/snapshots/{sid}", "/beta/directory/recovery/jobs",
                 f"/v1.0/directory/recovery/snapshots/{sid}/recoveryPreviewJobs", url, f"{url}/getChanges"):
        assert api.get(path, role=role).status_code == 200, (role, path)


@pytest.mark.parametrize(("token", "fragment"), [
    (custom(wids=[]), "role"),
    (custom(wids=["00000000-0000-0000-0000-000000000001"]), "role"),
    (custom(scp=f"{PREVIEW} {RECOVERY}"), READ),
    (custom(scp=None, wids=None, roles=["Directory.Read.All"]), READ),
], ids=["no-role", "other-role", "no-read-scope", "app-without-permission"])
def test_reads_need_scope_and_role(api: Api, token: str, fragment: str) -> None:
    response = api.get("/v1.0/directory/recovery/snapshots", role=None, headers=bearer(token))
    error = assert_error(response, 403, "Forbidden")
    assert error["message"].startswith(DENIED) and fragment in error["message"]


def test_tenant_id_depends_on_seed_and_size() -> None:
    ids = {tenant_id(seed, objects) for seed in (1, 2) for objects in (2000, 1_000_000)}
    assert len(ids) == 4
    assert all(str(uuid.UUID(i)) == i and uuid.UUID(i).version == 4 for i in ids)
    assert tenant_id(1, 2000) == tenant_id(1, 2000)


@pytest.mark.parametrize(("role", "kind", "status"), [
    ("reader", "preview", 202), ("reader", "recovery", 403),
    ("app", "preview", 403), ("app", "recovery", 403),
    ("admin", "preview", 202), ("admin", "recovery", 202),
    ("global", "preview", 202), ("global", "recovery", 202),
])
def test_create_matrix(api: Api, role: str, kind: str, status: int) -> None:
    response = api.create(kind, role=role)
    if status == 403:
        error = assert_error(response, 403, "Forbidden")
        assert error["message"].startswith(DENIED)
        assert api.get("/v1.0/directory/recovery/jobs").json()["value"] == []
    else:
        assert response.status_code == 202


def test_scope_variants_for_writes(api: Api) -> None:
    api.control("POST", "config", json={"job_speed": 1})
    preview_only = custom(scp=f"{READ} {PREVIEW}")
    recovery_only = custom(scp=f"{READ} {RECOVERY}")
    no_write = custom(scp=READ)
    segment = f"/v1.0/directory/recovery/snapshots/{api.newest()}"
    error = assert_error(api.post(f"{segment}/recoveryJobs", role=None, headers=bearer(preview_only)), 403)
    assert RECOVERY in error["message"]
    assert_error(api.post(f"{segment}/recoveryPreviewJobs", role=None, headers=bearer(no_write)), 403,
                 message=PREVIEW)
    created = api.post(f"{segment}/recoveryPreviewJobs", role=None, headers=bearer(recovery_only))
    assert created.status_code == 202
    job_id = created.headers["location"].rsplit("/", 1)[1]
    cancel = f"/v1.0/directory/recovery/jobs/{job_id}/cancel"
    assert_error(api.post(cancel, role="app"), 403)
    assert_error(api.post(cancel, role=None, headers=bearer(custom(scp=READ, wids=[ROLE_BACKUP_READER]))),
                 403, message=PREVIEW)
    assert api.post(cancel, role=None, headers=bearer(preview_only)).status_code == 202
    report = api.create("preview", role="reader")          # Entra Backup Reader: preview/create
    assert report.status_code == 202
    report_cancel = f"/v1.0/directory/recovery/jobs/{report.headers['location'].rsplit('/', 1)[1]}/cancel"
    assert_error(api.post(report_cancel, role=None, headers=bearer(custom(
        scp=f"{READ} {PREVIEW}", wids=["00000000-0000-0000-0000-000000000001"]))), 403, message="Reader")
    assert api.post(report_cancel, role="reader").status_code == 202   # …/preview/cancel
    recovery = api.create("recovery")
    rec_cancel = f"/v1.0/directory/recovery/jobs/{recovery.headers['location'].rsplit('/', 1)[1]}/cancel"
    assert_error(api.post(rec_cancel, role=None, headers=bearer(preview_only)), 403, message=RECOVERY)
    assert_error(api.post(rec_cancel, role="reader"), 403, message=RECOVERY)
    assert api.post(rec_cancel, role="global").status_code == 202


def test_reader_token_with_admin_role_claims_can_write(api: Api) -> None:
    token = custom(wids=[ROLE_BACKUP_READER, ROLE_BACKUP_ADMIN.upper()])
    response = api.post(f"/v1.0/directory/recovery/snapshots/{api.newest()}/recoveryJobs", role=None,
                        headers=bearer(token))
    assert response.status_code == 202
