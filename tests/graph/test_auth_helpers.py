"""Sign-in building blocks: JWT decoding, scopes, error classification, redaction, records, threads."""

from __future__ import annotations

import asyncio
import stat
import threading
from pathlib import Path
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError
from azure.identity import AuthenticationRecord, AuthenticationRequiredError, CredentialUnavailableError

from entrabr_tui.core.capabilities import BackupRole
from entrabr_tui.graph.auth import (
    GRAPH_CLI_CLIENT_ID,
    AuthSettings,
    capabilities_of,
    decode_jwt_claims,
    graph_scope,
)
from entrabr_tui.graph.auth_errors import (
    InteractionRequired,
    SignInConfigError,
    SignInFailed,
    SignInUnavailable,
    classify_auth_error,
    redact,
)
from entrabr_tui.graph.credentials import ThreadedCredential, run_in_daemon_thread
from entrabr_tui.graph.token_cache import AuthRecordStore, CacheMode, probe_token_cache

from .fake_entra import unsigned_jwt

AUTHORITY = "login.microsoftonline.com"
SECRET_JWT = unsigned_jwt({"upn": "a@b.example", "wids": ["f42252d9-5400-4d7b-b9ef-cc582dbb8577"]})


def test_decode_jwt_claims_handles_padding_and_unicode() -> None:
    for claims in ({"a": 1}, {"ab": "é" * 7}, {"abc": [1, 2, 3]}):
        assert decode_jwt_claims(unsigned_jwt(claims)) == claims


@pytest.mark.parametrize(
    "token", ["", "opaque-token", "a.b.c", "eyJ.W10.", "eyJ..", "eyJhbGciOiJub25lIn0.!!!.", "x.bnVsbA."]
)
def test_decode_jwt_claims_rejects_garbage_without_echoing_it(token: str) -> None:
    with pytest.raises(ValueError) as info:
        decode_jwt_claims(token)
    if token:
        assert token not in str(info.value)


def test_capabilities_of_opaque_token_is_unknown() -> None:
    assert capabilities_of(AccessToken("opaque", 0)).role is BackupRole.UNKNOWN
    assert capabilities_of(AccessToken(SECRET_JWT, 0)).role is BackupRole.READER


def test_graph_scope() -> None:
    assert graph_scope("https://graph.microsoft.com/v1.0") == "https://graph.microsoft.com/.default"
    assert graph_scope("https://graph.microsoft.us/beta/") == "https://graph.microsoft.us/.default"
    assert graph_scope("http://127.0.0.1:8123/v1.0") == "http://127.0.0.1/.default"
    with pytest.raises(SignInConfigError):
        graph_scope("not a url")


def test_settings_defaults_and_repr_hide_secrets() -> None:
    settings = AuthSettings(client_secret="Sup3r-Secret", certificate_password="Cert-Pass")
    assert "Sup3r-Secret" not in repr(settings) and "Cert-Pass" not in repr(settings)
    assert GRAPH_CLI_CLIENT_ID == "14d82eec-204b-4c2f-b7e8-296a70dab67e"


def test_redact() -> None:
    text = f"failed with {SECRET_JWT} and access_token=abc.def refresh_token: 'xyz' client_secret=s3"
    out = redact(text, "hunter2-Secret")
    assert SECRET_JWT not in out and "abc.def" not in out and "xyz" not in out and "s3" not in out
    assert redact("pw hunter2-Secret here", "hunter2-Secret") == "pw [redacted] here"


def _chained(outer: Exception, inner: Exception) -> Exception:
    try:
        try:
            raise inner
        except Exception as exc:
            raise outer from exc
    except Exception as final:
        return final


@pytest.mark.parametrize(
    ("exc", "method", "expected", "needle"),
    [
        (AuthenticationRequiredError(["s"]), "device-code", InteractionRequired, "sign in"),
        (CredentialUnavailableError("Azure CLI not found on path"), "azure-cli", SignInUnavailable,
         "Install the Azure CLI"),
        (CredentialUnavailableError("Please run 'az login' to set up an account"), "azure-cli",
         SignInUnavailable, "az login"),
        (ClientAuthenticationError("AADSTS700016: Application not found in the directory"), "device-code",
         SignInFailed, "client ID"),
        (ClientAuthenticationError("AADSTS65001: The user or administrator has not consented"), "browser",
         SignInFailed, "consent"),
        (_chained(ClientAuthenticationError("Authentication failed: boom"), ServiceRequestError("refused")),
         "device-code", SignInFailed, "network"),
        (RuntimeError(f"weird {SECRET_JWT}"), "device-code", SignInFailed, "unexpectedly"),
    ],
)
def test_classify_auth_error(exc: Exception, method: str, expected: type, needle: str) -> None:
    error = classify_auth_error(exc, method=method)
    assert type(error) is expected
    assert needle.lower() in str(error).lower()
    assert SECRET_JWT not in str(error)


def test_network_classification_flag() -> None:
    error = classify_auth_error(_chained(ClientAuthenticationError("x"), ConnectionError("reset")))
    assert isinstance(error, SignInFailed) and error.network


def test_record_store_roundtrip_mode_and_isolation(tmp_path: Path) -> None:
    record = AuthenticationRecord("tid", GRAPH_CLI_CLIENT_ID, "login.microsoftonline.com", "uid.tid", "a@b.c")
    store = AuthRecordStore(
        tmp_path / "state", authority="login.microsoftonline.com", client_id=GRAPH_CLI_CLIENT_ID,
        tenant_id="organizations",
    )
    assert store.load() is None
    store.save(record)
    store.save(record)  # overwrite is fine
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700
    loaded = store.load()
    assert loaded is not None and loaded.username == "a@b.c" and loaded.home_account_id == "uid.tid"
    # Another tenant or app gets another file.
    other = AuthRecordStore(
        tmp_path / "state", authority=AUTHORITY, client_id="other", tenant_id="organizations"
    )
    assert other.path != store.path and other.load() is None
    # A record for another app under the same name is ignored, and so is garbage.
    clash = AuthRecordStore(
        tmp_path / "state", authority=AUTHORITY, client_id="other", tenant_id="organizations"
    )
    clash.path.write_text(record.serialize())
    assert clash.load() is None
    store.path.write_text("{not json")
    assert store.load() is None
    assert store.delete() and not store.delete()


def test_probe_token_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    import azure.identity._persistent_cache as persistent

    class Encrypted:
        is_encrypted = True

    class Plain:
        is_encrypted = False

    def impossible(**kwargs: Any) -> Any:
        try:
            raise ImportError("Unable to import module 'gi'")
        except ImportError as exc:
            raise ValueError("Cache encryption is impossible because libsecret ...") from exc

    monkeypatch.setattr(persistent, "_get_persistence", lambda **kw: Encrypted())
    status = probe_token_cache(allow_unencrypted=False)
    assert status.mode is CacheMode.ENCRYPTED and status.warning is None and status.persistent
    assert status.options is not None and status.options.name == "entrabr"
    assert status.options.allow_unencrypted_storage is False

    monkeypatch.setattr(persistent, "_get_persistence", lambda **kw: Plain())
    status = probe_token_cache(allow_unencrypted=True)
    assert status.mode is CacheMode.PLAINTEXT and status.warning and "UNENCRYPTED" in status.warning

    monkeypatch.setattr(persistent, "_get_persistence", impossible)
    status = probe_token_cache(allow_unencrypted=False)
    assert status.mode is CacheMode.MEMORY and status.options is None and not status.persistent
    assert status.warning and "gi" in status.warning

    def unsupported(**kwargs: Any) -> Any:
        raise NotImplementedError("A persistent cache is not available in this environment.")

    monkeypatch.setattr(persistent, "_get_persistence", unsupported)
    assert probe_token_cache(allow_unencrypted=True).mode is CacheMode.MEMORY


class RecordingSyncCredential:
    def __init__(self) -> None:
        self.threads: list[int] = []
        self.closed = False

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.threads.append(threading.get_ident())
        assert kwargs["enable_cae"] is True
        return AccessToken("t", 1)

    def close(self) -> None:
        self.closed = True


async def test_threaded_credential_runs_off_the_event_loop() -> None:
    sync = RecordingSyncCredential()
    async with ThreadedCredential(sync) as credential:
        token = await credential.get_token("scope", enable_cae=True)
        info = await credential.get_token_info("scope", options={"enable_cae": True})
    assert token.token == "t" and info.token == "t"
    assert sync.threads and threading.get_ident() not in sync.threads
    assert sync.closed


async def test_run_in_daemon_thread() -> None:
    seen: list[threading.Thread] = []

    def work() -> int:
        seen.append(threading.current_thread())
        return 42

    assert await run_in_daemon_thread(work) == 42
    assert seen[0].daemon and seen[0] is not threading.current_thread()

    def fail() -> None:
        raise KeyError("boom")

    with pytest.raises(KeyError):
        await run_in_daemon_thread(fail)

    release = threading.Event()
    task = asyncio.ensure_future(run_in_daemon_thread(release.wait))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    release.set()  # the abandoned thread finishes on its own; nothing breaks
