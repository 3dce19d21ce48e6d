"""Device-code sign-in end to end against an offline fake Entra ID (injected as the azure-core transport)."""

from __future__ import annotations

import json
import logging
import os
import stat
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import msal_extensions  # type: ignore[import-untyped]  # the package ships no type hints
import pytest
from azure.identity import AuthenticationRequiredError

from entrabr_tui.core.capabilities import BackupRole
from entrabr_tui.graph.auth import (
    AuthMethod,
    AuthSettings,
    DeviceCodePrompt,
    InteractionRequired,
    SignIn,
    build_credential,
)
from entrabr_tui.graph.auth_errors import SignInCancelled, SignInConfigError, SignInFailed, SignInUnavailable
from entrabr_tui.graph.token_cache import CacheMode

from .fake_entra import READER_WIDS, TENANT, FakeEntra, drop_cached_access_tokens

linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the libsecret fallback is Linux-only"
)
NO_RETRY = {"retry_total": 0}


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private HOME (the token cache lives in ~/.IdentityService) and no usable keyring."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("AZURE_AUTHORITY_HOST", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)

    def no_keyring(*args: object, **kwargs: object) -> None:
        raise RuntimeError("libsecret is not usable here")

    # Deterministic on every Linux machine, with or without a keyring: encryption is impossible.
    monkeypatch.setattr(msal_extensions, "LibsecretPersistence", no_keyring)
    yield tmp_path / "home"


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"


def build(
    fake: FakeEntra,
    state: Path,
    prompts: list[DeviceCodePrompt] | None = None,
    *,
    prompt: Callable[[DeviceCodePrompt], None] | None = None,
    **settings: object,
) -> SignIn:
    options = {"allow_unencrypted_cache": True, **settings}
    if prompt is None:
        prompt = prompts.append if prompts is not None else (lambda p: None)
    return build_credential(
        AuthSettings(**options),  # type: ignore[arg-type]  # options of any kind, as the tests pass them
        prompt=prompt,
        state_dir=state,
        transport=fake.transport(),
        http_options=NO_RETRY,
    )


@linux_only
async def test_first_sign_in_prompts_once_saves_record_and_restart_is_silent(home: Path, state: Path) -> None:
    fake = FakeEntra()
    prompts: list[DeviceCodePrompt] = []
    loop_thread = threading.get_ident()
    seen_threads: list[int] = []

    def prompt(p: DeviceCodePrompt) -> None:
        seen_threads.append(threading.get_ident())
        prompts.append(p)

    sign_in = build(fake, state, prompt=prompt)
    assert sign_in.cache.mode is CacheMode.PLAINTEXT
    assert sign_in.cache.warning and "UNENCRYPTED" in sign_in.cache.warning

    with pytest.raises(InteractionRequired):
        await sign_in.sign_in(allow_interaction=False)
    assert prompts == []

    result = await sign_in.sign_in()
    assert not result.silent and result.record_saved
    shown = [(p.verification_uri, p.user_code) for p in prompts]
    assert shown == [("https://microsoft.com/devicelogin", "ABCD-EFGH")]
    assert prompts[0].expires_on.tzinfo is not None
    assert seen_threads == [loop_thread]  # the UI callback runs on the event loop thread
    assert result.capabilities.role is BackupRole.ADMINISTRATOR
    assert result.capabilities.identity.upn == "alice@contoso.example"
    assert result.capabilities.can_restore
    assert fake.kinds().count("devicecode") == 1
    # The Graph SDK asks for CAE tokens; they come from the same sign-in without a second prompt.
    token = await sign_in.credential.get_token("https://graph.microsoft.com/.default", enable_cae=True)
    assert token.token in fake.issued_access_tokens
    assert fake.kinds().count("devicecode") == 1
    await sign_in.close()

    # The record: mode 0600, no secret in it, keyed to this app and tenant.
    record_path = sign_in.record_path
    assert record_path is not None and record_path.parent == state
    assert stat.S_IMODE(record_path.stat().st_mode) == 0o600
    record = json.loads(record_path.read_text())
    assert record["username"] == "alice@contoso.example"
    assert record["tenantId"] == TENANT
    assert record["clientId"] == "14d82eec-204b-4c2f-b7e8-296a70dab67e"
    assert not any(secret in record_path.read_text() for secret in fake.secrets())
    # CAE consistent: the tokens went to the CAE cache only, stored 0600.
    cae = home / ".IdentityService" / "entrabr.cae"
    assert stat.S_IMODE(cae.stat().st_mode) == 0o600
    assert not (home / ".IdentityService" / "entrabr.nocae").exists()

    # Restart: a new credential with the saved record and cache signs in silently.
    fake.requests.clear()
    prompts.clear()
    again = build(fake, state, prompts)
    result2 = await again.sign_in(allow_interaction=False)
    assert result2.silent
    assert prompts == []
    assert "devicecode" not in fake.kinds() and "token-device-code" not in fake.kinds()
    assert result2.capabilities.identity.upn == "alice@contoso.example"
    await again.close()


@linux_only
async def test_restart_with_expired_access_token_refreshes_silently(home: Path, state: Path) -> None:
    fake = FakeEntra()
    first = build(fake, state)
    await first.sign_in()
    await first.close()
    assert drop_cached_access_tokens(home) >= 1
    fake.requests.clear()
    prompts: list[DeviceCodePrompt] = []
    second = build(fake, state, prompts)
    result = await second.sign_in(allow_interaction=False)
    assert result.silent and prompts == []
    assert fake.kinds().count("token-refresh") == 1
    assert "devicecode" not in fake.kinds()
    token = await second.credential.get_token("https://graph.microsoft.com/.default", enable_cae=True)
    assert token.token == fake.issued_access_tokens[-1]  # the refreshed one
    await second.close()


@linux_only
async def test_expired_refresh_token_means_interaction_required_then_one_prompt(
    home: Path, state: Path
) -> None:
    fake = FakeEntra()
    first = build(fake, state)
    await first.sign_in()
    await first.close()
    drop_cached_access_tokens(home)
    fake.refresh_error = "invalid_grant"
    prompts: list[DeviceCodePrompt] = []
    second = build(fake, state, prompts)
    # What the Graph client sees: the SDK's token request fails with "interaction required", no prompt.
    with pytest.raises(AuthenticationRequiredError):
        await second.credential.get_token("https://graph.microsoft.com/.default", enable_cae=True)
    with pytest.raises(InteractionRequired):
        await second.sign_in(allow_interaction=False)
    assert prompts == []
    fake.refresh_error = None
    result = await second.sign_in()
    assert len(prompts) == 1 and not result.silent
    await second.close()


@linux_only
async def test_without_opt_in_an_unencryptable_cache_falls_back_to_memory(home: Path, state: Path) -> None:
    fake = FakeEntra()
    sign_in = build(fake, state, allow_unencrypted_cache=False)
    assert sign_in.cache.mode is CacheMode.MEMORY
    assert sign_in.cache.warning and "--allow-unencrypted-token-cache" in sign_in.cache.warning
    result = await sign_in.sign_in()
    assert result.warnings == (sign_in.cache.warning,)
    assert result.record_saved
    await sign_in.close()
    assert not (home / ".IdentityService" / "entrabr.cae").exists()  # nothing on disk but the record
    # Next start: the record alone cannot sign in silently; the user is asked, nothing crashes.
    again = build(fake, state, allow_unencrypted_cache=False)
    with pytest.raises(InteractionRequired):
        await again.sign_in(allow_interaction=False)
    await again.close()


@linux_only
async def test_sign_out_forgets_record_and_plaintext_cache(home: Path, state: Path) -> None:
    fake = FakeEntra()
    sign_in = build(fake, state)
    await sign_in.sign_in()
    assert sign_in.record_path is not None and sign_in.record_path.exists()
    await sign_in.sign_out()
    await sign_in.close()
    assert not sign_in.record_path.exists()
    assert not (home / ".IdentityService" / "entrabr.cae").exists()
    again = build(fake, state)
    with pytest.raises(InteractionRequired):
        await again.sign_in(allow_interaction=False)
    await again.close()


async def test_cancel_stops_polling(state: Path) -> None:
    fake = FakeEntra(pending_polls=3)
    sign_in = build(fake, state, persistent_cache=False)
    fake.on_poll = sign_in.cancel  # the user presses Escape while the code is shown
    with pytest.raises(SignInCancelled):
        await sign_in.sign_in()
    assert fake.kinds().count("token-device-code") == 1
    # A later attempt is not affected by the earlier cancel.
    fake.on_poll, fake.pending_polls = None, 0
    result = await sign_in.sign_in()
    assert not result.silent and fake.kinds().count("devicecode") == 2
    await sign_in.close()


async def test_declined_sign_in_is_a_typed_failure(state: Path) -> None:
    fake = FakeEntra()
    original = fake._token

    def declined(form: dict[str, str]) -> tuple[int, dict[str, object]]:
        if form.get("grant_type", "").endswith("device_code"):
            return fake._record("token-device-code", form, 400, {
                "error": "authorization_declined", "error_description": "AADSTS70000: The user declined.",
            })
        return original(form)

    fake._token = declined  # type: ignore[method-assign]  # the fake answers this one way for the test
    sign_in = build(fake, state, persistent_cache=False)
    with pytest.raises(SignInFailed) as info:
        await sign_in.sign_in()
    assert not info.value.network
    assert "declined" in info.value.message
    await sign_in.close()


async def test_network_failure_is_not_interaction_required(state: Path) -> None:
    fake = FakeEntra(network_down=True)
    sign_in = build(fake, state, persistent_cache=False)
    with pytest.raises(SignInFailed) as info:
        await sign_in.sign_in()
    assert info.value.network
    assert "network" in (info.value.hint or "")
    await sign_in.close()


@linux_only
async def test_network_failure_during_silent_sign_in(home: Path, state: Path) -> None:
    fake = FakeEntra()
    first = build(fake, state)
    await first.sign_in()
    await first.close()
    drop_cached_access_tokens(home)
    fake.network_down = True
    second = build(fake, state)
    with pytest.raises(SignInFailed) as info:
        await second.sign_in(allow_interaction=False)
    assert info.value.network
    await second.close()


async def test_device_code_requires_a_prompt_callback(state: Path) -> None:
    with pytest.raises(SignInConfigError):
        build_credential(AuthSettings(), prompt=None, state_dir=state)
    with pytest.raises(SignInConfigError, match="device-code"):
        build_credential(AuthSettings(method="telepathy"),  # type: ignore[arg-type]  # an unknown method on purpose
                         prompt=None, state_dir=state)


async def test_browser_without_display_is_unavailable_and_opens_nothing(state: Path) -> None:
    if "microsoft" in os.uname().release.lower():
        pytest.skip("WSL opens the Windows browser")
    fake = FakeEntra()
    sign_in = build(fake, state, method=AuthMethod.BROWSER, persistent_cache=False)
    with pytest.raises(SignInUnavailable) as info:
        await sign_in.sign_in()
    assert "device-code" in (info.value.hint or "")
    await sign_in.close()


async def test_reader_token_capabilities(state: Path) -> None:
    fake = FakeEntra(wids=list(READER_WIDS), scp="EntraBackup.Read.All EntraBackup.ReadWrite.Preview")
    sign_in = build(fake, state, persistent_cache=False)
    result = await sign_in.sign_in()
    caps = result.capabilities
    assert caps.role is BackupRole.READER
    assert caps.can_read and not caps.can_restore
    assert caps.restore_reason == (
        "Signed in as Entra Backup Reader: restores need the Entra Backup Administrator role"
    )
    await sign_in.close()


@linux_only
async def test_tokens_never_reach_logs_reprs_or_errors(
    home: Path, state: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake = FakeEntra()
    sign_in = build(fake, state)
    result = await sign_in.sign_in()
    await sign_in.credential.get_token("https://graph.microsoft.com/.default", enable_cae=True)
    await sign_in.close()
    drop_cached_access_tokens(home)
    fake.refresh_error = "invalid_grant"
    errors: list[str] = []
    again = build(fake, state)
    try:
        await again.sign_in(allow_interaction=False)
    except InteractionRequired as exc:
        errors.append(str(exc))
    await again.close()
    assert errors
    texts = [caplog.text, repr(sign_in), repr(sign_in.credential), repr(result), *errors]
    assert fake.secrets()
    for secret in fake.secrets():
        for text in texts:
            assert secret not in text
