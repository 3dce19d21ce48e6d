"""Scale: large tenants are built lazily (only drift is stored). How long building takes is measured by
bench/emulator.py, not asserted here."""

from __future__ import annotations

from entrabr_tui.emulator.directory import Directory, Scope

from .tenant_helpers import NOW, newest, oldest


def test_100k_tenant_builds_and_reports() -> None:
    d = Directory(seed=1, objects=100_000, now=NOW)
    records = d.diff(newest(d))
    assert 2_000 <= len(records) <= 4_000
    assert len(d.diff(oldest(d))) > len(records)
    assert 99_000 <= d.object_count <= 101_000


def test_million_object_tenant_is_lazy() -> None:
    d = Directory(seed=1, objects=1_000_000, drift=5_000, now=NOW)
    hist = d._hist
    stored = len(hist.floor) + len(hist.pending) + sum(len(layer) for layer in hist.layers)
    assert stored < 40_000  # drift only, never the whole tenant
    users = d.diff(newest(d), Scope(types=frozenset({"user"})))
    assert 4_000 <= len(users) <= 5_000
    some = [r.id for r in users[:50]]
    assert d.names("user", some) == {r.id: r.display_name for r in users[:50]}
