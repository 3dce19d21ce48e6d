"""User config: defaults, round trips that keep the user's file, malformed files, secrets, permissions."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from entrabr_tui.store.config import AppConfig, TenantProfile, load_config, save_config, update_config
from entrabr_tui.store.paths import StorePaths
from entrabr_tui.store.redact import is_secret_key


def _config() -> AppConfig:
    return AppConfig(
        profiles=[
            TenantProfile("contoso", "72f988bf-86f1-41af-91ab-2d7cd011db47", "client-1", "device-code"),
            TenantProfile(
                'Fabrikam "prod" \\ ünïcode',
                "fabrikam.onmicrosoft.com",
                None,
                "cli",
                "https://graph.microsoft.com/beta",
                extra={"notes": "line1\nline2\ttab", "weight": 2.5},
            ),
            TenantProfile(
                "demo", "demo-tenant", auth_method="emulator", graph_url="http://127.0.0.1:8765/v1.0"
            ),
        ],
        default_profile="contoso",
        theme="ansi-dark",
        keys={"quit": "ctrl+q", "command_palette": "ctrl+p", "toggle.mark": "space", "wëird key": "f1"},
        extra={"experimental": {"pre_warm": True, "retries": [1, 2, 3]}},
    )


def test_missing_file_gives_defaults() -> None:
    result = load_config()
    assert result.config == AppConfig() and result.error is None and result.warnings == []
    assert result.path == StorePaths.default().config_file


def test_round_trip() -> None:
    config = _config()
    assert save_config(config) is None
    result = load_config()
    assert result.error is None and result.warnings == []
    assert result.config == config
    assert result.config.profile() == config.profiles[0]
    assert result.config.profile("demo") == config.profiles[2]
    path = StorePaths.default().config_file
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_malformed_file_gives_defaults_and_is_kept() -> None:
    path = StorePaths.default().config_file
    bad = b'theme = "dark"\n[[profiles]\nname = "x"\n'
    path.write_bytes(bad)
    result = load_config()
    assert result.config == AppConfig()
    assert result.error is not None and str(path) in result.error and "line 2" in result.error
    assert path.read_bytes() == bad
    kept = save_config(_config(), now=datetime(2026, 7, 30, 10, 0, tzinfo=UTC))
    assert kept == path.with_name("config.toml.malformed-20260730T100000Z")
    assert kept.read_bytes() == bad
    assert load_config().config == _config()


def test_not_utf8_is_an_error_not_a_crash() -> None:
    path = StorePaths.default().config_file
    path.write_bytes(b'theme = "\xff\xfe"\n')
    result = load_config()
    assert result.error is not None and result.config == AppConfig()


def test_wrong_shapes_and_secrets_are_reported_and_ignored() -> None:
    path = StorePaths.default().config_file
    path.write_text(
        'default_profile = "ghost"\n'
        'client_secret = "s3cret"\n'
        "keys = 5\n"
        "[[profiles]]\n"
        'name = "a"\n'
        'tenant_id = "t"\n'
        'auth_method = "telepathy"\n'
        'password = "hunter2"\n'
        "[[profiles]]\n"
        'name = "no tenant"\n',
        encoding="utf-8",
    )
    result = load_config()
    text = "\n".join(result.warnings)
    assert result.error is None
    assert [p.name for p in result.config.profiles] == ["a"]
    assert "telepathy" in text and "'password' looks like a secret" in text and "client_secret" in text
    assert "needs both name and tenant_id" in text and "ghost" in text and "keys must be a table" in text
    save_config(result.config)
    written = path.read_text(encoding="utf-8")
    assert "hunter2" not in written and "s3cret" not in written and "telepathy" in written


def test_profile_lookup() -> None:
    single = AppConfig(profiles=[TenantProfile("only", "t")])
    assert single.profile() is single.profiles[0]
    assert AppConfig().profile() is None
    assert _config().profile("missing") is None


_text = st.text(st.characters(codec="utf-8"), max_size=30)
_scalar = st.one_of(
    _text,
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False),
    st.lists(_text, max_size=3),
)
_reserved = {"profiles", "default_profile", "theme", "keys"}


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(
        _text.filter(lambda key: bool(key) and key not in _reserved and not is_secret_key(key)),
        st.one_of(_scalar, st.dictionaries(_text.filter(bool), _scalar, max_size=3)),
        max_size=5,
    )
)
def test_unknown_entries_round_trip(extra: dict[str, object]) -> None:
    path = StorePaths.default().config_file
    path.unlink(missing_ok=True)
    save_config(AppConfig(extra=extra))
    assert load_config().config.extra == extra


USER_FILE = """\
# My entrabr settings -- hand-written, please keep this comment.
theme = "textual-dark"   # the dark one
future_option = "kept"   # a key this version does not know

[keys]
# my remaps
quit = "ctrl+q"

[[profiles]]
# the production tenant
name = "contoso"
tenant_id = "72f988bf-86f1-41af-91ab-2d7cd011db47"
colour = "red"           # not known either

[experimental]
pre_warm = true
"""


def test_a_theme_change_keeps_comments_unknown_keys_and_order() -> None:
    path = StorePaths.default().config_file
    path.write_text(USER_FILE, encoding="utf-8")

    def dark(config: AppConfig) -> None:
        config.theme = "ansi-dark"

    update_config(dark)
    written = path.read_text(encoding="utf-8")
    assert written == USER_FILE.replace('theme = "textual-dark"', 'theme = "ansi-dark"')
    assert load_config().config.theme == "ansi-dark"


def test_other_changes_touch_only_their_entries() -> None:
    path = StorePaths.default().config_file
    path.write_text(USER_FILE, encoding="utf-8")

    def edit(config: AppConfig) -> None:
        config.keys["restore"] = "ctrl+r"
        del config.keys["quit"]
        config.profiles[0].client_id = "client-1"
        config.profiles.append(TenantProfile("lab", "lab.onmicrosoft.com", auth_method="cli"))
        config.default_profile = "contoso"

    update_config(edit)
    written = path.read_text(encoding="utf-8")
    for kept in ("# My entrabr settings", "# the dark one", 'future_option = "kept"', "# my remaps",
                 "# the production tenant", 'colour = "red"', "[experimental]", "pre_warm = true"):
        assert kept in written
    assert written.index("future_option") < written.index("[keys]") < written.index("[[profiles]]")
    config = load_config().config
    assert config.keys == {"restore": "ctrl+r"}
    assert [(p.name, p.client_id, p.auth_method) for p in config.profiles] == [
        ("contoso", "client-1", "device-code"), ("lab", None, "cli")]
    assert config.profiles[0].extra == {"colour": "red"}
    assert config.default_profile == "contoso" and config.extra["future_option"] == "kept"


def test_the_syntax_error_names_line_and_column() -> None:
    path = StorePaths.default().config_file
    path.write_bytes(b'theme = "dark"\n[[profiles]\nname = "x"\n')
    error = load_config().error
    assert error is not None
    assert f"{path} line 2, column" in error and "not valid TOML" in error and "left as it is" in error


def test_config_folder_is_created_private(tmp_path: Path) -> None:
    target = tmp_path / "nested" / "config.toml"
    save_config(AppConfig(), target)
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700
