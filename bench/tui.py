"""Benchmark of the terminal UI with a 500,000-change report in the cache.

A child process synthesizes the report (the same generator as ``bench/cache.py``) and ingests it into a fresh
cache; this process then opens the app headless (120×40) on an offline session over that cache and times:
first paint of the main screen (counts of the report drawn in the tree), expanding the largest type node and
then its largest action node (first page of objects drawn), the slowest filter keystroke (typing "smith")
until the filtered tree is drawn, moving the cursor 100 rows (raw, and net of what the Pilot harness costs
per key, measured with an unbound key; expand and filter figures are given raw and net of it too), and the
peak RSS of this process (the cache build is not counted).
Prints figures; the last line is one JSON object.

    .venv/bin/python bench/tui.py [--changes 500000] [--seed 7]

Targets (issue 4): first paint < 1.5 s, expand < 200 ms, filter < 200 ms, RSS < 400 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

TENANT = "bench-tenant"
SNAPSHOT_CREATED = datetime(2026, 7, 27, 22, 0, tzinfo=UTC)
TIMEOUT = 120.0


def build(home: Path, changes: int, seed: int) -> None:
    """Child process: synthesize and ingest the report, with the snapshot it belongs to."""
    from cache import PAGE, recoverable, synthesize  # bench/cache.py

    from entrabr_tui.core.model import Snapshot, snapshot_id_for
    from entrabr_tui.store.cache import Cache
    from entrabr_tui.store.paths import StorePaths

    items = synthesize(changes, seed)
    cache = Cache.open(TENANT, paths=StorePaths.under(home))
    snapshot = Snapshot(snapshot_id_for(SNAPSHOT_CREATED), SNAPSHOT_CREATED, len(items))
    cache.record_snapshots([snapshot], now=SNAPSHOT_CREATED)
    report = cache.begin_report("job-bench", snapshot.id, None, "page:0", total_expected=len(items))
    url: str | None = cache.resume_point(report.id)
    offset = 0
    while url is not None:
        chunk = items[offset:offset + PAGE]
        offset += PAGE
        next_link = f"page:{offset}" if offset < len(items) else None
        cache.ingest_page(report.id, chunk, next_link, url, recoverable=recoverable, finalize=False)
        url = next_link
    cache.finalize_report(report.id)
    cache.close()


async def wait_until(pilot: Any, condition: Callable[[], bool]) -> float:
    """Seconds until ``condition`` holds (polling the app between messages)."""
    start = time.perf_counter()
    while not condition():
        if time.perf_counter() - start > TIMEOUT:
            raise TimeoutError("the app did not get there in time")
        await pilot.pause(0.001)
    return time.perf_counter() - start


async def measure(home: Path) -> dict[str, float]:
    from entrabr_tui.engine.session import Session
    from entrabr_tui.engine.settings import SessionSettings
    from entrabr_tui.store.paths import StorePaths
    from entrabr_tui.ui.app import EntrabrApp
    from entrabr_tui.ui.widgets.change_nodes import ActionNode, ObjectRow, TypeNode

    async def factory() -> Any:
        return await Session.open(SessionSettings(offline=True, tenant=TENANT), paths=StorePaths.under(home))

    figures: dict[str, float] = {}
    start = time.perf_counter()
    app = EntrabrApp(factory, clock=lambda: SNAPSHOT_CREATED)
    async with app.run_test(size=(120, 40)) as pilot:
        tree = app.main.changes

        def painted() -> bool:
            return any(isinstance(n.data, TypeNode) for n in tree.root.children)

        await wait_until(pilot, painted)
        await pilot.pause()
        figures["first_paint_s"] = round(time.perf_counter() - start, 3)

        largest = max((n for n in tree.root.children if isinstance(n.data, TypeNode)),
                      key=lambda n: n.data.count)  # type: ignore[union-attr]
        tree.focus()
        tree.move_cursor(largest)
        await pilot.pause()
        began = time.perf_counter()
        await pilot.press("enter")
        await wait_until(pilot, lambda: largest.is_expanded)
        await pilot.pause()
        figures["expand_type_ms"] = round((time.perf_counter() - began) * 1000, 1)

        action = max((n for n in largest.children if isinstance(n.data, ActionNode)),
                     key=lambda n: n.data.count)  # type: ignore[union-attr]
        tree.move_cursor(action)
        await pilot.pause()
        began = time.perf_counter()
        await pilot.press("enter")
        await wait_until(pilot, lambda: any(isinstance(c.data, ObjectRow) for c in action.children))
        await pilot.pause()
        figures["expand_largest_node_ms"] = round((time.perf_counter() - began) * 1000, 1)
        figures["largest_node_objects"] = float(action.data.count)  # type: ignore[union-attr]

        began = time.perf_counter()
        for _ in range(100):
            await pilot.press("down")
        await pilot.pause()
        cursor_ms = (time.perf_counter() - began) * 1000
        began = time.perf_counter()
        for _ in range(100):
            await pilot.press("z")  # unbound: what the test harness itself costs per key
        await pilot.pause()
        harness_ms = (time.perf_counter() - began) * 1000
        figures["cursor_100_rows_ms"] = round(cursor_ms, 1)
        figures["harness_100_keys_ms"] = round(harness_ms, 1)
        figures["cursor_100_rows_net_ms"] = round(max(0.0, cursor_ms - harness_ms), 1)

        await pilot.press("slash")
        await pilot.pause()
        timings = []
        typed = ""
        for char in "smith":
            began = time.perf_counter()
            await pilot.press(char)
            typed += char
            wanted = (typed if len(typed) >= tree.min_filter_chars else "", None)
            await wait_until(pilot, lambda w=wanted: tree.applied_filter == w or (  # type: ignore[misc]
                w[0] == "" and tree.applied_filter is None))
            await pilot.pause()
            timings.append((time.perf_counter() - began) * 1000)
        per_key = harness_ms / 100
        figures["filter_keystroke_ms"] = round(max(timings), 1)
        figures["filter_keystroke_net_ms"] = round(max(0.0, max(timings) - per_key), 1)
        expand_net = max(0.0, figures["expand_largest_node_ms"] - per_key)
        figures["expand_largest_node_net_ms"] = round(expand_net, 1)
        figures["filter_matches"] = float(sum(c.count for c in tree.shown_counts))
        await pilot.press("escape")
        await pilot.pause()
    figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=500_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--build", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build is not None:
        build(args.build, args.changes, args.seed)
        return 0
    with tempfile.TemporaryDirectory(prefix="entrabr-tui-bench-") as tmp:
        home = Path(tmp)
        print(f"building a cache of {args.changes:,} changes …", file=sys.stderr)
        began = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--changes", str(args.changes), "--seed", str(args.seed),
                        "--build", str(home)], check=True)
        build_s = time.perf_counter() - began
        figures = asyncio.run(measure(home))
    figures = {"changes": float(args.changes), "cache_build_s": round(build_s, 1), **figures}
    targets = {"first_paint_s": 1.5, "expand_largest_node_ms": 200, "expand_largest_node_net_ms": 200,
               "filter_keystroke_ms": 200, "filter_keystroke_net_ms": 200, "peak_rss_mb": 400}
    for key, value in figures.items():
        target = targets.get(key)
        ratio = f"  ({value / target:.2f}× target {target})" if target else ""
        print(f"{key:>24}: {value:,}{ratio}")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
