"""Setting a database aside (clearing a tenant's cache) and updating the config as it is on disk."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from entrabr_tui.store import Cache, StorePaths
from entrabr_tui.store.config import (
    AppConfig,
    ConfigError,
    TenantProfile,
    load_config,
    save_config,
    update_config,
)
from entrabr_tui.store.sqlite_file import set_aside

WHEN = datetime(2026, 7, 28, 9, 30, tzinfo=UTC)


def test_set_aside_moves_the_database_and_its_companions(tmp_path: Path) -> None:
    paths = StorePaths.under(tmp_path)
    cache = Cache.open("contoso", paths=paths)
    path = cache.db.path
    cache.close()
    wal = Path(f"{path}-wal")
    wal.write_bytes(b"")  # a companion left next to it
    kept = set_aside(path, "cleared", now=WHEN)
    assert kept == path.with_name(f"{path.name}.cleared-20260728T093000Z")
    assert kept.exists() and Path(f"{kept}-wal").exists()
    assert not path.exists() and not wal.exists()
    # same second: no clash
    again = set_aside(Cache.open("contoso", paths=paths).db.path, "cleared", now=WHEN)
    assert again is not None and again != kept and again.exists() and kept.exists()
    assert set_aside(path, "cleared", now=WHEN) is None  # nothing there any more


def test_a_fresh_cache_opens_after_set_aside(tmp_path: Path) -> None:
    paths = StorePaths.under(tmp_path)
    cache = Cache.open("contoso", paths=paths)
    cache.tenant.set_info(graph_url="https://graph.example/v1.0")
    cache.close()
    set_aside(cache.db.path, "cleared", now=WHEN)
    fresh = Cache.open("contoso", paths=paths)
    try:
        assert fresh.db.warnings == [] and fresh.tenant.info().graph_url is None
        assert stat.S_IMODE(fresh.db.path.stat().st_mode) == 0o600
    finally:
        fresh.close()


def test_update_config_keeps_edits_made_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    save_config(AppConfig(profiles=[TenantProfile("work", "tid-1")], default_profile="work"), path)
    stale = load_config(path).config
    on_disk = load_config(path).config
    on_disk.keys["quit"] = "ctrl+q"
    save_config(on_disk, path)

    def dark(config: AppConfig) -> None:
        config.theme = "ansi-dark"

    updated = update_config(dark, path)
    assert stale.keys == {} and updated.keys == {"quit": "ctrl+q"}
    reloaded = load_config(path).config
    assert reloaded.theme == "ansi-dark" and reloaded.keys == {"quit": "ctrl+q"}
    assert [p.name for p in reloaded.profiles] == ["work"]


def test_update_config_leaves_a_malformed_file_alone(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("theme = [oops\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        update_config(lambda config: None, path)
    assert path.read_text() == "theme = [oops\n"
    assert [p.name for p in tmp_path.iterdir()] == ["config.toml"]
