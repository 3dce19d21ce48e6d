"""Benchmark of the terminal UI with a 500,000-change report in the cache.

A child process synthesizes the report (the same generator as ``bench/cache.py``) and ingests it into a fresh
cache; this process then opens the app headless (120×40) on an offline session over that cache and times,
each from the key event to the result drawn on the (headless) screen:

* first paint of the main screen (counts of the report drawn in the tree);
* expanding the largest type node, then its largest action node (first page of objects drawn);
* moving the cursor 100 rows with the down key, each key sent as soon as the previous one has moved the
  cursor, until the Diff pane shows the object under the cursor, with the CPU time this process spent per
  row; holding the down key for 100 rows (30 keys a second, as a terminal repeats a held key): the CPU time
  per row and the lag from the last key until the Diff pane shows the object under the cursor; and a
  single move from rest until its diff is drawn (all include the pane's wait for the cursor to rest);
* each keystroke of the filter "smith" until the filtered tree is drawn: counts applied and the first page
  of every open node filled; the slowest keystroke is reported (the first lookup of a report is the
  slowest: the cache is cold), with the CPU time this process spent on it (all threads: on a loaded
  machine the wall time mostly measures waiting for a core);
* ``entrabr --demo`` from the command to its first useful screen (the backups listed) and to its first paint,
  in a pseudo-terminal, with the CPU time spent by then (median of 5 starts; see ``demo_start.py``);
* the peak RSS of this process (the cache build is not counted).

Keys are posted to the app as the terminal driver posts them, and waiting polls with plain
``asyncio.sleep``; "drawn" means the widget has handled what it was sent and the screen has been refreshed
(``wait_for_refresh``). The Pilot's ``press`` is not used for timing: it waits until the whole process,
worker threads included, has been idle for 20 ms twice after every key, so it counts at least 40 ms of its
own in every figure and more whenever a worker is busy; and ``pilot.pause`` in a polling loop pings every
widget each time, competing with the worker threads for the interpreter. Prints figures; the last line is
one JSON object.

    .venv/bin/python bench/tui.py [--changes 500000] [--seed 7] [--home DIR]

``--home DIR`` keeps the built cache in DIR and reuses it on the next run with the same DIR.

Targets: first paint < 1.5 s, expand < 200 ms, filter keystroke < 100 ms, RSS < 400 MB, the demo's first
useful screen < 1 s.
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

from demo_start import measure_demo

TENANT = "bench-tenant"
SNAPSHOT_CREATED = datetime(2026, 7, 27, 22, 0, tzinfo=UTC)
TIMEOUT = 120.0
#: Keys per second a terminal sends while a key is held down.
REPEAT_RATE = 30


def build(home: Path, changes: int, seed: int) -> None:
    """Child process: synthesize and ingest the report, with the snapshot it belongs to."""
    from cache import PAGE, recoverable, synthesize  # bench/cache.py

    from entrabr_tui.core.model import Snapshot, snapshot_id_for
    from entrabr_tui.store.cache import Cache
    from entrabr_tui.store.paths import StorePaths

    items = synthesize(changes, seed)
    cache = Cache.open(TENANT, paths=StorePaths.under(home))
    snapshot = Snapshot(snapshot_id_for(SNAPSHOT_CREATED), SNAPSHOT_CREATED, len(items))
    cache.tenant.record_snapshots([snapshot], now=SNAPSHOT_CREATED)
    report = cache.report_writer.begin_report(
        "job-bench", snapshot.id, None, "page:0", total_expected=len(items)
    )
    url: str | None = cache.report_writer.resume_point(report.id)
    offset = 0
    while url is not None:
        chunk = items[offset:offset + PAGE]
        offset += PAGE
        next_link = f"page:{offset}" if offset < len(items) else None
        cache.report_writer.ingest_page(
            report.id, chunk, next_link, url, recoverable=recoverable, finalize=False
        )
        url = next_link
    cache.report_writer.finalize_report(report.id)
    cache.close()


async def wait_until(condition: Callable[[], bool]) -> float:
    """Seconds until ``condition`` holds, polling without driving the app (it runs as it would)."""
    start = time.perf_counter()
    while not condition():
        if time.perf_counter() - start > TIMEOUT:
            raise TimeoutError("the app did not get there in time")
        await asyncio.sleep(0.001)
    return time.perf_counter() - start


async def drawn(widget: Any, began: float) -> float:
    """Milliseconds since ``began`` once ``widget`` has handled what it was sent and the screen has been
    drawn (at its next frame)."""
    await widget.wait_for_refresh()
    return (time.perf_counter() - began) * 1000


def key(app: Any, name: str, char: str | None = None) -> float:
    """Post a key press as the terminal driver does; returns when it was sent."""
    from textual import events

    app.post_message(events.Key(name, char))
    return time.perf_counter()


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def measure(home: Path) -> dict[str, float]:
    from entrabr_tui.engine import open_session
    from entrabr_tui.engine.settings import SessionSettings
    from entrabr_tui.store.paths import StorePaths
    from entrabr_tui.ui.app import EntrabrApp
    from entrabr_tui.ui.widgets.change_nodes import ActionNode, InfoRow, ObjectRow, TypeNode

    async def factory() -> Any:
        return await open_session(SessionSettings(offline=True, tenant=TENANT), paths=StorePaths.under(home))

    figures: dict[str, float] = {}
    start = time.perf_counter()
    app = EntrabrApp(factory, clock=lambda: SNAPSHOT_CREATED)
    async with app.run_test(size=(120, 40)) as pilot:
        tree = app.main.changes
        diff = app.main.diff

        def painted() -> bool:
            return any(isinstance(n.data, TypeNode) for n in tree.root.children)

        await wait_until(painted)
        figures["first_paint_s"] = round(await drawn(tree, start) / 1000, 3)
        await pilot.pause()

        def waiting(node: Any) -> bool:
            return not node.children or any(isinstance(leaf.data, InfoRow) and leaf.data.text == "loading…"
                                            for leaf in node.children)

        def loading() -> bool:
            """Some open action node still waits for its page (shows nothing yet, or "loading…")."""
            return any(waiting(anode) for tnode in tree.root.children if tnode.is_expanded
                       for anode in tnode.children if anode.is_expanded)

        def diff_shows_cursor() -> bool:
            row = tree.current_row
            return row is not None and diff.change is not None and diff.change.id == row.id

        largest = max((n for n in tree.root.children if isinstance(n.data, TypeNode)),
                      key=lambda n: n.data.count)  # type: ignore[union-attr]
        tree.focus()
        tree.move_cursor(largest)
        await pilot.pause()
        began = key(app, "enter")
        await wait_until(lambda: largest.is_expanded)
        figures["expand_type_ms"] = round(await drawn(tree, began), 1)
        await pilot.pause()

        action = max((n for n in largest.children if isinstance(n.data, ActionNode)),
                     key=lambda n: n.data.count)  # type: ignore[union-attr]
        tree.move_cursor(action)
        await pilot.pause()
        began = key(app, "enter")
        await wait_until(lambda: any(isinstance(c.data, ObjectRow) for c in action.children))
        figures["expand_largest_node_ms"] = round(await drawn(tree, began), 1)
        figures["largest_node_objects"] = float(action.data.count)  # type: ignore[union-attr]
        await pilot.pause()

        cpu = cpu_seconds()
        began = time.perf_counter()
        for _ in range(100):
            line = tree.cursor_line
            key(app, "down")
            await wait_until(lambda line=line: tree.cursor_line > line)  # type: ignore[misc]
        await wait_until(diff_shows_cursor)
        figures["cursor_100_rows_ms"] = round(await drawn(diff, began), 1)
        figures["cursor_row_cpu_ms"] = round((cpu_seconds() - cpu) * 1000 / 100, 2)
        await pilot.pause()

        # Holding the down key: the terminal repeats it 30 times a second.
        line = tree.cursor_line
        cpu = cpu_seconds()
        began = time.perf_counter()
        for index in range(100):
            await asyncio.sleep(max(0.0, began + index / REPEAT_RATE - time.perf_counter()))
            last = key(app, "down")
        await wait_until(lambda: tree.cursor_line >= line + 100 and diff_shows_cursor())
        figures["hold_100_rows_lag_ms"] = round(await drawn(diff, last), 1)
        figures["hold_row_cpu_ms"] = round((cpu_seconds() - cpu) * 1000 / 100, 2)
        await pilot.pause()

        await asyncio.sleep(0.5)  # the cursor rests
        line = tree.cursor_line
        began = key(app, "down")
        await wait_until(lambda: tree.cursor_line > line and diff_shows_cursor())
        figures["diff_after_one_move_ms"] = round(await drawn(diff, began), 1)
        await pilot.pause()

        await pilot.press("slash")
        await pilot.pause()
        timings = []
        cpu_timings = []
        typed = ""
        for char in "smith":
            cpu = cpu_seconds()
            began = key(app, char, char)
            typed += char
            short = len(typed) < tree.min_filter_chars

            def shown(text: str = typed, short: bool = short) -> bool:
                # the tree shows the filter the field holds (none while too short to look up)
                if tree.filters.text != text or loading():
                    return False
                applied = tree.model.applied
                return applied is None if short else applied == tree.filters.key(tree.model.total)

            await wait_until(shown)
            timings.append(await drawn(tree, began))
            cpu_timings.append((cpu_seconds() - cpu) * 1000)
            await pilot.pause()
        each = ", ".join(f"{c} {t:.0f}" for c, t in zip("smith", timings, strict=True))
        print(f"filter keystrokes (ms): {each}", file=sys.stderr)
        figures["filter_keystroke_ms"] = round(max(timings), 1)
        figures["filter_keystroke_cpu_ms"] = round(cpu_timings[timings.index(max(timings))], 1)
        figures["filter_matches"] = float(sum(c.count for c in tree.model.shown_counts))
        await pilot.press("escape")
        await pilot.pause()
    figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=500_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--home", type=Path, help="keep the built cache here and reuse it next time")
    parser.add_argument("--build", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build is not None:
        build(args.build, args.changes, args.seed)
        return 0
    with tempfile.TemporaryDirectory(prefix="entrabr-tui-bench-") as tmp:
        home = args.home or Path(tmp)
        marker = home / f".bench-{args.changes}-{args.seed}"
        build_s = 0.0
        if not marker.exists():
            if home.exists() and any(home.iterdir()):
                parser.error(f"{home} holds something other than a cache this bench built; give an empty one")
            home.mkdir(parents=True, exist_ok=True)
            print(f"building a cache of {args.changes:,} changes …", file=sys.stderr)
            began = time.perf_counter()
            command = [sys.executable, __file__, "--changes", str(args.changes), "--seed", str(args.seed),
                       "--build", str(home)]
            subprocess.run(command, check=True)
            build_s = time.perf_counter() - began
            marker.touch()
        figures = asyncio.run(measure(home))
    figures.update(measure_demo())
    figures = {"changes": float(args.changes), "cache_build_s": round(build_s, 1), **figures}
    targets = {"first_paint_s": 1.5, "expand_largest_node_ms": 200, "filter_keystroke_ms": 100,
               "peak_rss_mb": 400, "demo_first_screen_s": 1.0}
    for key, value in figures.items():
        target = targets.get(key)
        ratio = f"  ({value / target:.2f}× target {target})" if target and value is not None else ""
        print(f"{key:>26}: {value if value is None else f'{value:,}'}{ratio}")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
