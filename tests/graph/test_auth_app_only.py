"""App-only sign-in (client secret, certificate, environment) and non-interactive methods."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from entrabr_tui.core.capabilities import AccessKind
from entrabr_tui.graph.auth import AuthMethod, AuthSettings, build_credential
from entrabr_tui.graph.auth_errors import SignInConfigError, SignInFailed, SignInUnavailable
from entrabr_tui.graph.token_cache import CacheMode

from .fake_entra import TENANT, FakeEntra

NO_RETRY = {"retry_total": 0}
AZURE_VARS = (
    "AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_CLIENT_CERTIFICATE_PASSWORD", "AZURE_USERNAME", "AZURE_PASSWORD", "AZURE_AUTHORITY_HOST",
)


@pytest.fixture(autouse=True)
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in AZURE_VARS:
        monkeypatch.delenv(name, raising=False)
    yield


async def test_client_secret_from_environment_is_app_only_read_only(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake = FakeEntra()
    env = {
        "AZURE_TENANT_ID": TENANT,
        "AZURE_CLIENT_ID": fake.app_client_id,
        "AZURE_CLIENT_SECRET": fake.app_secret,
    }
    sign_in = build_credential(
        AuthSettings(method=AuthMethod.CLIENT_SECRET), prompt=None, state_dir=tmp_path,
        transport=fake.transport(), http_options=NO_RETRY, environ=env,
    )
    assert sign_in.cache.mode is CacheMode.MEMORY and sign_in.cache.warning is None
    result = await sign_in.sign_in(allow_interaction=False)
    caps = result.capabilities
    assert caps.kind is AccessKind.APP_ONLY
    assert caps.can_read and not caps.can_create_report and not caps.can_restore
    assert caps.restore_reason == "App-only sign-in: Microsoft allows only reads"
    assert caps.identity.display == "entrabr-ci"
    token_requests = [form for kind, form in fake.requests if kind == "token-client-credentials"]
    assert len(token_requests) == 1
    assert token_requests[0]["scope"] == "https://graph.microsoft.com/.default"
    assert sign_in.record_path is None and not list(tmp_path.glob("auth-record-*"))
    await sign_in.close()
    for secret in fake.secrets():
        assert secret not in caplog.text and secret not in repr(sign_in) and secret not in repr(result)


async def test_wrong_secret_is_a_typed_failure_without_the_secret(tmp_path: Path) -> None:
    fake = FakeEntra()
    wrong = "wrong-Secret~value.123"
    settings = AuthSettings(
        method=AuthMethod.CLIENT_SECRET, tenant_id=TENANT, client_id=fake.app_client_id, client_secret=wrong
    )
    assert wrong not in repr(settings)
    sign_in = build_credential(
        settings, prompt=None, state_dir=tmp_path, transport=fake.transport(), http_options=NO_RETRY
    )
    with pytest.raises(SignInFailed) as info:
        await sign_in.sign_in()
    assert info.value.code == "7000215"
    assert info.value.hint and "secret" in info.value.hint
    assert wrong not in str(info.value) and not info.value.network
    await sign_in.close()


@pytest.mark.parametrize(
    ("settings", "env", "needle"),
    [
        (AuthSettings(method=AuthMethod.CLIENT_SECRET), {"AZURE_CLIENT_ID": "c", "AZURE_CLIENT_SECRET": "s"},
         "tenant"),
        (AuthSettings(method=AuthMethod.CLIENT_SECRET, tenant_id="organizations"), {}, "tenant"),
        (AuthSettings(method=AuthMethod.CLIENT_SECRET, tenant_id=TENANT), {"AZURE_CLIENT_SECRET": "s"},
         "client ID"),
        (AuthSettings(method=AuthMethod.CLIENT_SECRET, tenant_id=TENANT, client_id="c"), {}, "secret"),
        (AuthSettings(method=AuthMethod.CERTIFICATE, tenant_id=TENANT, client_id="c"), {}, "certificate"),
    ],
)
def test_incomplete_app_only_settings(
    tmp_path: Path, settings: AuthSettings, env: dict[str, str], needle: str
) -> None:
    with pytest.raises(SignInConfigError) as info:
        build_credential(settings, prompt=None, state_dir=tmp_path, environ=env)
    assert needle in str(info.value)


def test_unreadable_certificate(tmp_path: Path) -> None:
    bad = tmp_path / "cert.pem"
    bad.write_text("-----BEGIN NOTHING-----\nnot a certificate\n")
    for path, needle in ((tmp_path / "missing.pem", "Cannot read"), (bad, "Cannot use")):
        settings = AuthSettings(
            method=AuthMethod.CERTIFICATE, tenant_id=TENANT, client_id="c", certificate_path=path,
            certificate_password="pw-Secret-42",
        )
        with pytest.raises(SignInConfigError) as info:
            build_credential(settings, prompt=None, state_dir=tmp_path)
        assert needle in str(info.value) and "pw-Secret-42" not in str(info.value)


async def test_environment_method(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeEntra()
    settings = AuthSettings(method=AuthMethod.ENVIRONMENT)
    unconfigured = build_credential(settings, prompt=None, state_dir=tmp_path, transport=fake.transport())
    with pytest.raises(SignInUnavailable) as info:
        await unconfigured.sign_in()
    assert info.value.hint and "AZURE_CLIENT_SECRET" in info.value.hint
    await unconfigured.close()

    monkeypatch.setenv("AZURE_TENANT_ID", TENANT)
    monkeypatch.setenv("AZURE_CLIENT_ID", fake.app_client_id)
    monkeypatch.setenv("AZURE_CLIENT_SECRET", fake.app_secret)
    configured = build_credential(
        settings, prompt=None, state_dir=tmp_path, transport=fake.transport(), http_options=NO_RETRY
    )
    result = await configured.sign_in()
    assert result.capabilities.kind is AccessKind.APP_ONLY
    await configured.close()


async def test_azure_cli_missing_is_unavailable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no `az` on the path
    sign_in = build_credential(AuthSettings(method=AuthMethod.AZURE_CLI), prompt=None, state_dir=tmp_path)
    assert sign_in.cache.mode is CacheMode.EXTERNAL
    with pytest.raises(SignInUnavailable) as info:
        await sign_in.sign_in()
    assert info.value.hint and "Azure CLI" in info.value.hint
    await sign_in.close()
