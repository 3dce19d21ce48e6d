"""User configuration (``config.toml`` under the user config path): tenant profiles, key remaps, theme.

A missing file gives the defaults. A malformed file gives the defaults plus a clear error naming the line
and column, and the file is left untouched; saving over it first keeps it as
``config.toml.malformed-<time>``. Secrets never belong here: keys named like one are ignored with a warning
(use environment variables or the token cache) and left out when the file is saved.

Saving edits the file the user wrote rather than replacing it: it is read back with tomlkit, only the
entries whose value changed are written, and comments, ordering, layout and entries this version does not
know stay as they were.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import AoT, Table
from tomlkit.toml_document import TOMLDocument

from entrabr_tui.store.paths import FILE_MODE, StorePaths, secure_dir
from entrabr_tui.store.redact import is_secret_key

AUTH_METHODS = ("device-code", "browser", "cli", "env", "emulator")
DEFAULT_GRAPH_URL = "https://graph.microsoft.com/v1.0"
DEFAULT_THEME = "textual-dark"
_HEADER = ("entrabr configuration. entrabr keeps your comments and any entries it does not know when it "
           "saves a change.")
_PROFILE_FIELDS = ("name", "tenant_id", "client_id", "auth_method", "graph_url")
_WHERE = re.compile(r"^(?P<what>.*?)\s*\(at line (?P<line>\d+), column (?P<column>\d+)\)\s*$", re.S)


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


def load_config(path: Path | None = None) -> ConfigLoad:
    """Read the config; never raises (see :class:`ConfigLoad`) and creates nothing (reading works in a
    read-only home)."""
    path = path or StorePaths.default().config_dir / "config.toml"
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return ConfigLoad(AppConfig(), path)
    except (OSError, UnicodeDecodeError) as exc:
        return ConfigLoad(AppConfig(), path, error=f"Cannot read {path}: {exc}; using defaults")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return ConfigLoad(AppConfig(), path, error=f"{syntax_error_text(path, exc)}. Using the defaults; "
                                                   "the file is left as it is.")
    config, warnings = config_from_mapping(data)
    return ConfigLoad(config, path, warnings=warnings)


def syntax_error_text(path: Path, exc: tomllib.TOMLDecodeError) -> str:
    """``/…/config.toml line 2, column 11: not valid TOML (Expected ']' …)``."""
    found = _WHERE.match(str(exc))
    if found is None:
        return f"{path}: not valid TOML ({exc})"
    return f"{path} line {found['line']}, column {found['column']}: not valid TOML ({found['what']})"


def save_config(config: AppConfig, path: Path | None = None, *, now: datetime | None = None) -> Path | None:
    """Write the config atomically (0600), editing the file in place (see the module documentation). If the
    existing file is malformed it is first kept aside; its new name is returned (else ``None``)."""
    path = path or StorePaths.default().config_file
    secure_dir(path.parent)
    kept: Path | None = None
    document: TOMLDocument | None = None
    if path.exists():
        try:
            text = path.read_bytes().decode("utf-8")
            tomllib.loads(text)
            document = tomlkit.parse(text)
        except (tomllib.TOMLDecodeError, UnicodeDecodeError, tomlkit.exceptions.ParseError):
            stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
            kept = path.with_name(f"{path.name}.malformed-{stamp}")
            path.rename(kept)
    if document is None:
        document = tomlkit.document()
        document.add(tomlkit.comment(_HEADER))
    ConfigEditor(document).apply(config)
    _write_private(path, tomlkit.dumps(document))
    return kept


def _write_private(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as handle:
            if hasattr(os, "fchmod"):
                os.fchmod(handle.fileno(), FILE_MODE)
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


class ConfigEditor:
    """Brings a parsed ``config.toml`` (a tomlkit document) in line with an :class:`AppConfig`, touching only
    what differs from what the document says now, so comments, order and unknown entries stay."""

    def __init__(self, document: TOMLDocument) -> None:
        self.document = document

    def apply(self, config: AppConfig) -> None:
        doc = self.document
        before, _ = config_from_mapping(doc.unwrap())
        for key in [k for k in doc if is_secret_key(str(k))]:
            del doc[key]
        for key, old, new in (("default_profile", before.default_profile, config.default_profile),
                              ("theme", before.theme, config.theme)):
            if old != new:
                _set(doc, key, new)
        if before.keys != config.keys:
            self._keys(before.keys, config.keys)
        for key in before.extra.keys() - config.extra.keys():
            del doc[key]
        for key, value in config.extra.items():
            if key not in ("profiles", "keys") and before.extra.get(key) != value:
                doc[key] = value
        self._profiles(config.profiles)

    def _keys(self, before: dict[str, str], after: dict[str, str]) -> None:
        table = self.document.get("keys")
        if not isinstance(table, Table):
            table = tomlkit.table()
            self.document["keys"] = table
        for action in before.keys() - after.keys():
            del table[action]
        for action, key in after.items():
            if before.get(action) != key:
                table[action] = key

    def _profiles(self, profiles: list[TenantProfile]) -> None:
        doc = self.document
        existing = doc.get("profiles")
        if not isinstance(existing, AoT) and not profiles:
            return  # none to write; an entry that is not an array of tables stays for the user to fix
        if not isinstance(existing, AoT):
            if existing is not None:  # not an array of tables: ignored on load, replaced now
                del doc["profiles"]
            existing = tomlkit.aot()
            doc["profiles"] = existing
        # The entries that loaded as profiles, by name (entries that did not load are the user's to fix).
        tables: dict[str, tuple[Table, TenantProfile]] = {}
        for index, table in enumerate(existing):
            loaded = _profile(index, table.unwrap(), [])
            for key in [k for k in table if is_secret_key(str(k))]:
                del table[key]
            if loaded is not None:
                tables.setdefault(loaded.name, (table, loaded))
        wanted = {p.name for p in profiles}
        for name, (table, _) in tables.items():
            if name not in wanted:
                existing.body.remove(table)
        for profile in profiles:
            if profile.name in tables:
                table, loaded = tables[profile.name]
                if loaded != profile:
                    _edit_profile(table, loaded, profile)
            else:
                table = tomlkit.table()
                _edit_profile(table, TenantProfile(profile.name, ""), profile)
                existing.append(table)
        if not existing.body:
            del doc["profiles"]


def _profile_values(profile: TenantProfile) -> dict[str, Any]:
    values: dict[str, Any] = {"name": profile.name, "tenant_id": profile.tenant_id,
                              "client_id": profile.client_id, "auth_method": profile.auth_method,
                              "graph_url": profile.graph_url}
    values.update({k: v for k, v in profile.extra.items() if k not in values})
    return values


def _edit_profile(table: Table, before: TenantProfile, after: TenantProfile) -> None:
    old, new = _profile_values(before), _profile_values(after)
    for key in old.keys() - new.keys():
        if key in table:
            del table[key]
    for key, value in new.items():
        if key in table and old.get(key) == value:
            continue
        if key not in table and value in (None, old.get(key)) and key not in ("name", "tenant_id"):
            continue  # a default the file leaves out stays left out
        _set(table, key, value)


def _set(container: TOMLDocument | Table, key: str, value: Any) -> None:
    """Set ``key`` (``None`` removes it: TOML has no null)."""
    if value is None:
        if key in container:
            del container[key]
    else:
        container[key] = value


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


#: Keys of the restore guards, in a tenant profile or in ``[tenants."<tenant id>"]``.
GUARD_KEYS = ("break_glass_users", "break_glass_groups", "require_second_person", "break_glass_asked")


@dataclass(frozen=True, slots=True)
class RestoreGuards:
    """How restores of one tenant are guarded (see ``docs/cli.md``).

    ``break_glass_users`` / ``break_glass_groups``: object ids of the emergency-access accounts and groups
    the lockout guard protects; ``require_second_person``: a reviewed plan file must be applied by someone
    other than its reviewer; ``asked``: the app asked for the break-glass accounts once (an empty answer
    counts, so it does not ask again)."""

    break_glass_users: tuple[str, ...] = ()
    break_glass_groups: tuple[str, ...] = ()
    require_second_person: bool = False
    asked: bool = False

    @property
    def configured(self) -> bool:
        return bool(self.break_glass_users or self.break_glass_groups)


def _id_list(value: object, where: str, warnings: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        warnings.append(f"{where} must be a list of object ids; ignored")
        return ()
    return tuple(dict.fromkeys(v.strip() for v in value if v.strip()))


def _guard_source(config: AppConfig, tenant_id: str | None, profile: str | None
                  ) -> tuple[dict[str, Any] | None, str]:
    """The table that holds a tenant's restore guards (None: none yet) and how to name it in messages."""
    chosen = config.profile(profile) if profile else None
    if chosen is None and tenant_id:
        chosen = next((p for p in config.profiles if p.tenant_id.lower() == tenant_id.lower()), None)
    if chosen is not None:
        return chosen.extra, f"profile {chosen.name!r}"
    tenants = config.extra.get("tenants")
    if tenant_id and isinstance(tenants, Mapping) and isinstance(tenants.get(tenant_id), Mapping):
        return dict(tenants[tenant_id]), f'[tenants."{tenant_id}"]'
    return None, f'[tenants."{tenant_id}"]'


def restore_guards(config: AppConfig, tenant_id: str | None, profile: str | None = None
                   ) -> tuple[RestoreGuards, list[str]]:
    """A tenant's restore guards: from the named profile, else the profile of that tenant id, else the
    ``[tenants."<tenant id>"]`` table (tenants without a profile, such as the demo); with warnings about
    values that were ignored."""
    table, where = _guard_source(config, tenant_id, profile)
    warnings: list[str] = []
    if not table:
        return RestoreGuards(), warnings
    second = table.get("require_second_person", False)
    if not isinstance(second, bool):
        warnings.append(f"{where}: require_second_person must be true or false; taken as true")
        second = True
    return RestoreGuards(
        _id_list(table.get("break_glass_users"), f"{where}: break_glass_users", warnings),
        _id_list(table.get("break_glass_groups"), f"{where}: break_glass_groups", warnings),
        second, table.get("break_glass_asked") is True,
    ), warnings


def set_restore_guards(config: AppConfig, tenant_id: str, guards: RestoreGuards,
                       profile: str | None = None) -> None:
    """Write a tenant's restore guards into ``config`` (where :func:`restore_guards` reads them)."""
    values: dict[str, Any] = {"break_glass_users": list(guards.break_glass_users),
                              "break_glass_groups": list(guards.break_glass_groups),
                              "require_second_person": guards.require_second_person,
                              "break_glass_asked": guards.asked}
    chosen = config.profile(profile) if profile else None
    if chosen is None:
        chosen = next((p for p in config.profiles if p.tenant_id.lower() == tenant_id.lower()), None)
    if chosen is not None:
        chosen.extra.update(values)
        return
    tenants = config.extra.get("tenants")
    tenants = dict(tenants) if isinstance(tenants, Mapping) else {}
    tenants[tenant_id] = {**(tenants.get(tenant_id) or {}), **values}
    config.extra["tenants"] = tenants
