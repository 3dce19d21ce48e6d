"""Scale: large tenants are built lazily (only drift is stored); timings are printed, not asserted tightly."""

from __future__ import annotations

import time

from entrabr_tui.emulator.directory import Directory, Scope

from .test_directory import NOW, newest, oldest


def test_100k_tenant_builds_and_reports_quickly() -> None:
    started = time.perf_counter()
    d = Directory(seed=1, objects=100_000, now=NOW)
    built = time.perf_counter() - started
    started = time.perf_counter()
    records = d.diff(newest(d))
    diffed = time.perf_counter() - started
    print(f"\n100k objects: build {built:.2f}s, newest diff {len(records)} changes in {diffed:.2f}s")
    assert built < 10
    assert 2_000 <= len(records) <= 4_000
    assert len(d.diff(oldest(d))) > len(records)
    assert 99_000 <= d.object_count <= 101_000


def test_million_object_tenant_is_lazy() -> None:
    started = time.perf_counter()
    d = Directory(seed=1, objects=1_000_000, drift=5_000, now=NOW)
    built = time.perf_counter() - started
    print(f"\n1M objects (drift 5,000): build {built:.2f}s")
    assert built < 60
    hist = d._hist
    stored = len(hist.floor) + len(hist.pending) + sum(len(layer) for layer in hist.layers)
    assert stored < 40_000  # drift only, never the whole tenant
    users = d.diff(newest(d), Scope(types=frozenset({"user"})))
    assert 4_000 <= len(users) <= 5_000
    some = [r.id for r in users[:50]]
    assert d.names("user", some) == {r.id: r.display_name for r in users[:50]}
