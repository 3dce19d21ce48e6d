"""User configuration (``config.toml`` under the user config path): tenant profiles, key remaps, theme.

A missing file gives the defaults. A malformed file gives the defaults plus a clear error, and the file is
left untouched; saving over it first keeps it as ``config.toml.malformed-<time>``. Secrets never belong
here: keys named like one are ignored with a warning (use environment variables or the token cache).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from entrabr_tui.store.paths import FILE_MODE, StorePaths, secure_dir
from entrabr_tui.store.redact import is_secret_key
from entrabr_tui.store.toml_writer import toml_dumps

AUTH_METHODS = ("device-code", "browser", "cli", "env", "emulator")
DEFAULT_GRAPH_URL = "https://graph.microsoft.com/v1.0"
DEFAULT_THEME = "textual-dark"
_HEADER = "entrabr configuration (written by entrabr; comments are not kept)"


@dataclass(slots=True)
class TenantProfile:
    """How to reach one tenant."""

    name: str
    tenant_id: str
    client_id: str | None = None
    auth_method: str = "device-code"
    graph_url: str = DEFAULT_GRAPH_URL
    extra: dict[str, Any] = field(default_factory=dict)
    """Keys this version does not know, kept so that saving loses nothing."""


@dataclass(slots=True)
class AppConfig:
    """Everything in ``config.toml``."""

    profiles: list[TenantProfile] = field(default_factory=list)
    default_profile: str | None = None
    theme: str = DEFAULT_THEME
    keys: dict[str, str] = field(default_factory=dict)
    """Key remaps: action name → key (e.g. ``{"quit": "ctrl+q"}``)."""
    extra: dict[str, Any] = field(default_factory=dict)

    def profile(self, name: str | None = None) -> TenantProfile | None:
        """A profile by name, or the default one (or the only one)."""
        wanted = name or self.default_profile
        for profile in self.profiles:
            if profile.name == wanted:
                return profile
        if wanted is None and len(self.profiles) == 1:
            return self.profiles[0]
        return None


@dataclass(frozen=True, slots=True)
class ConfigLoad:
    """Result of reading the config: always a usable config, plus what went wrong."""

    config: AppConfig
    path: Path
    error: str | None = None
    warnings: list[str] = field(default_factory=list)


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _profile(index: int, data: object, warnings: list[str]) -> TenantProfile | None:
    where = f"profiles[{index}]"
    if not isinstance(data, Mapping):
        warnings.append(f"{where} is not a table; ignored")
        return None
    name, tenant_id = _text(data.get("name")), _text(data.get("tenant_id"))
    if name is None or tenant_id is None:
        warnings.append(f"{where} needs both name and tenant_id; ignored")
        return None
    auth = _text(data.get("auth_method")) or "device-code"
    if auth not in AUTH_METHODS:
        warnings.append(
            f"{where} ({name}): unknown auth_method {auth!r}; expected one of {', '.join(AUTH_METHODS)}"
        )
    extra: dict[str, Any] = {}
    for key, value in data.items():
        if key in ("name", "tenant_id", "client_id", "auth_method", "graph_url"):
            continue
        if is_secret_key(key):
            warnings.append(
                f"{where} ({name}): {key!r} looks like a secret and is ignored; use the environment"
            )
            continue
        extra[key] = value
    return TenantProfile(
        name=name,
        tenant_id=tenant_id,
        client_id=_text(data.get("client_id")),
        auth_method=auth,
        graph_url=_text(data.get("graph_url")) or DEFAULT_GRAPH_URL,
        extra=extra,
    )


def config_from_mapping(data: Mapping[str, Any]) -> tuple[AppConfig, list[str]]:
    """Build a config from parsed TOML, collecting warnings for anything ignored."""
    warnings: list[str] = []
    config = AppConfig()
    profiles = data.get("profiles", [])
    if isinstance(profiles, list):
        config.profiles = [
            p for i, raw in enumerate(profiles) if (p := _profile(i, raw, warnings)) is not None
        ]
    else:
        warnings.append("profiles must be an array of tables ([[profiles]]); ignored")
    names = [p.name for p in config.profiles]
    if len(set(names)) != len(names):
        warnings.append("several profiles share a name; the first one is used")
    config.default_profile = _text(data.get("default_profile"))
    if config.default_profile is not None and config.default_profile not in names:
        warnings.append(f"default_profile {config.default_profile!r} is not a profile name")
    config.theme = _text(data.get("theme")) or DEFAULT_THEME
    keys = data.get("keys", {})
    if isinstance(keys, Mapping):
        for action, key in keys.items():
            if isinstance(key, str) and key.strip():
                config.keys[str(action)] = key.strip()
            else:
                warnings.append(f'keys.{action} must be a key name such as "ctrl+q"; ignored')
    else:
        warnings.append("keys must be a table ([keys]); ignored")
    for key, value in data.items():
        if key in ("profiles", "default_profile", "theme", "keys"):
            continue
        if is_secret_key(key):
            warnings.append(f"{key!r} looks like a secret and is ignored; use the environment")
            continue
        config.extra[key] = value
    return config, warnings


def config_to_mapping(config: AppConfig) -> dict[str, Any]:
    data: dict[str, Any] = {"default_profile": config.default_profile, "theme": config.theme}
    data.update({k: v for k, v in config.extra.items() if k not in ("profiles", "keys")})
    if config.keys:
        data["keys"] = dict(config.keys)
    profiles = []
    for p in config.profiles:
        entry: dict[str, Any] = {
            "name": p.name,
            "tenant_id": p.tenant_id,
            "client_id": p.client_id,
            "auth_method": p.auth_method,
            "graph_url": p.graph_url,
        }
        entry.update({k: v for k, v in p.extra.items() if k not in entry})
        profiles.append(entry)
    if profiles:
        data["profiles"] = profiles
    return data


def load_config(path: Path | None = None) -> ConfigLoad:
    """Read the config; never raises for bad content (see :class:`ConfigLoad`)."""
    path = path or StorePaths.default().config_file
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return ConfigLoad(AppConfig(), path)
    except (OSError, UnicodeDecodeError) as exc:
        return ConfigLoad(AppConfig(), path, error=f"Cannot read {path}: {exc}; using defaults")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return ConfigLoad(
            AppConfig(),
            path,
            error=f"{path} is not valid TOML ({exc}); using defaults, the file is unchanged",
        )
    config, warnings = config_from_mapping(data)
    return ConfigLoad(config, path, warnings=warnings)


def save_config(config: AppConfig, path: Path | None = None, *, now: datetime | None = None) -> Path | None:
    """Write the config atomically (0600). If the existing file is malformed it is first kept aside; its new
    name is returned (else ``None``)."""
    path = path or StorePaths.default().config_file
    secure_dir(path.parent)
    kept: Path | None = None
    if path.exists():
        try:
            tomllib.loads(path.read_bytes().decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
            kept = path.with_name(f"{path.name}.malformed-{stamp}")
            path.rename(kept)
    text = toml_dumps(config_to_mapping(config), header=_HEADER)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(handle.fileno(), FILE_MODE)
        handle.write(text.encode("utf-8"))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)
    return kept


class ConfigError(ValueError):
    """The config file cannot be updated (it cannot be read or parsed); the message says why."""


def update_config(change: Callable[[AppConfig], None], path: Path | None = None) -> AppConfig:
    """Apply ``change`` to the config as it is on disk now, and save it.

    Reading the file again first keeps edits made while the app runs. A file that cannot be read or parsed is
    left untouched and :class:`ConfigError` says why (a typo in a hand edit is never replaced by defaults).
    """
    loaded = load_config(path)
    if loaded.error:
        raise ConfigError(f"Not saved: {loaded.error}")
    change(loaded.config)
    save_config(loaded.config, loaded.path)
    return loaded.config
