"""File locations (platformdirs, ENTRABR_HOME) and permissions: folders 0700, files 0600, any umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import platformdirs
import pytest

from entrabr_tui.store.cache import Cache
from entrabr_tui.store.config import AppConfig, TenantProfile, save_config
from entrabr_tui.store.history import History, HistoryAction
from entrabr_tui.store.paths import HOME_ENV, StorePaths, tenant_file_key

from .synth import make_items, page_url


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_entrabr_home_relocates_all_three(entrabr_home: Path) -> None:
    paths = StorePaths.default()
    assert paths == StorePaths(entrabr_home / "cache", entrabr_home / "data", entrabr_home / "config")
    assert paths.cache_db("Contoso-GUID").parent == entrabr_home / "cache"
    assert paths.history_db.parent == entrabr_home / "data"
    assert paths.config_file == entrabr_home / "config" / "config.toml"


def test_default_locations_come_from_platformdirs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(HOME_ENV)
    paths = StorePaths.default()
    assert paths.cache_dir == platformdirs.user_cache_path("entrabr", appauthor=False)
    assert paths.data_dir == platformdirs.user_data_path("entrabr", appauthor=False)
    assert paths.config_dir == platformdirs.user_config_path("entrabr", appauthor=False)


def test_tenant_file_keys_are_safe() -> None:
    guid = "72F988BF-86F1-41AF-91AB-2D7CD011DB47"
    assert tenant_file_key(guid) == guid.lower()
    assert tenant_file_key("contoso.onmicrosoft.com") == "contoso.onmicrosoft.com"
    for hostile in ("../../etc/passwd", "a/b", "x" * 300, "ünïcode", "", "..", "con:"):
        key = tenant_file_key(hostile)
        assert key and "/" not in key and ".." not in key and len(key) <= 64, (hostile, key)
    assert tenant_file_key("a/b") != tenant_file_key("a\\b")


@pytest.fixture(params=[0o000, 0o022, 0o077], ids=["umask000", "umask022", "umask077"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def test_permissions_are_private(umask: int, entrabr_home: Path) -> None:
    paths = StorePaths.default()
    cache = Cache.open("perm-tenant", paths=paths)
    report = cache.report_writer.begin_report("job", "snap", None, page_url(0))
    cache.report_writer.ingest_page(report.id, make_items(500, 2), page_url(500), page_url(0))
    history = History.open(paths=paths)
    history.append(HistoryAction.SIGN_IN, identity="admin@contoso.com")
    save_config(AppConfig(profiles=[TenantProfile("contoso", "tenant-guid")]), paths.config_file)
    try:
        for folder in (paths.cache_dir, paths.data_dir, paths.config_dir):
            assert _mode(folder) == 0o700, folder
        for db in (cache.db.path, history.path):
            for suffix in ("", "-wal", "-shm"):
                file = Path(f"{db}{suffix}")
                assert file.exists(), file
                assert _mode(file) == 0o600, file
        assert _mode(paths.config_file) == 0o600
        reader = cache.reader()  # a second connection must not loosen anything either
        reader.queries.counts(report.id)
        reader.close()
        assert _mode(Path(f"{cache.db.path}-wal")) == 0o600
    finally:
        cache.close()
        history.close()


def test_existing_loose_permissions_are_tightened(entrabr_home: Path) -> None:
    paths = StorePaths.default()
    Cache.open("loose", paths=paths).close()
    path = paths.cache_db("loose")
    os.chmod(path, 0o644)
    os.chmod(paths.cache_dir, 0o755)
    Cache.open("loose", paths=paths).close()
    assert _mode(path) == 0o600
    assert _mode(paths.cache_dir) == 0o700


@pytest.mark.skipif(os.name == "nt", reason="POSIX modes")
def test_entrabr_home_and_every_folder_made_are_private_whatever_the_umask(
        umask: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    os.chmod(tmp_path, 0o755)  # a folder that was there before
    home = tmp_path / "not" / "yet" / "home"
    monkeypatch.setenv(HOME_ENV, str(home))
    paths = StorePaths.default()
    Cache.open("tenant", paths=paths).close()
    History.open(paths=paths).close()
    from entrabr_tui.store.paths import secure_dir

    secure_dir(paths.data_dir / "exports" / "nested")
    for folder in (tmp_path / "not", tmp_path / "not" / "yet", home, paths.cache_dir, paths.data_dir,
                   paths.data_dir / "exports", paths.data_dir / "exports" / "nested"):
        assert _mode(folder) == 0o700, folder
    assert _mode(tmp_path) == 0o755  # is left alone


def test_the_command_line_makes_a_private_home(umask: int, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from entrabr_tui.cli import run

    home = tmp_path / "home"
    monkeypatch.setenv(HOME_ENV, str(home))
    import io

    assert run(["history"], stdout=io.StringIO(), stderr=io.StringIO(), stdin=io.StringIO()) == 0
    assert _mode(home) == 0o700 and _mode(home / "data") == 0o700
