"""Benchmark of one ``entrabr watch`` run: the newest report against a baseline of 30 earlier reports.

A cache holds 31 daily backups, each with a complete difference report: the newest with 500,000 change
objects (mostly users, with mass ``accountEnabled`` flips among them; groups, applications, service
principals, Conditional Access policies), the 30 earlier ones with 20,000 each (quiet days). The rules are
``docs/rules.example.toml`` (critical objects, thresholds, ratio thresholds, unusual volume); the audit log
is not read. Timed with :class:`~entrabr_tui.engine.watch.Watcher`, the object ``entrabr watch`` runs:

* the first run (cold): the newest report is read once, and each earlier report is read once to make its
  profile for the baseline;
* the next runs (warm, the nightly case): the profiles are in the cache; only the newest report is read.
  Target < 5 s.

Prints figures and ratios; the last line is one JSON object.

    .venv/bin/python bench/watch.py [--changes 500000] [--reports 30] [--earlier 20000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cache import PAGE, recoverable, synthesize  # bench/cache.py: the same synthetic changes

from entrabr_tui.core.model import Snapshot
from entrabr_tui.core.watch_rules import RuleSet, parse_rules
from entrabr_tui.engine.watch import Watcher
from entrabr_tui.store.cache import Cache
from entrabr_tui.store.paths import StorePaths

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 5.0
NOW = datetime(2026, 8, 1, 6, 0, tzinfo=UTC)


def ingest(cache: Cache, job_id: str, snapshot_id: str, items: list[dict[str, Any]],
           created: datetime) -> None:
    """One complete report of ``items`` (the way a download stores it: 999-item pages, then finalized)."""
    writer = cache.report_writer
    report = writer.begin_report(job_id, snapshot_id, None, "page:0", total_expected=len(items), now=created)
    url: str | None = writer.resume_point(report.id)
    offset = 0
    while url is not None:
        chunk = items[offset:offset + PAGE]
        offset += PAGE
        next_link = f"page:{offset}" if offset < len(items) else None
        writer.ingest_page(report.id, chunk, next_link, url, recoverable=recoverable, finalize=False)
        url = next_link
    writer.finalize_report(report.id)


def build(cache: Cache, changes: int, reports: int, earlier: int, seed: int) -> None:
    days = [NOW - timedelta(days=reports - i) for i in range(reports + 1)]  # oldest first, newest = NOW
    cache.tenant.record_snapshots([Snapshot(f"snap-{i:02d}", day) for i, day in enumerate(days)], now=NOW)
    for i, day in enumerate(days[:-1]):
        ingest(cache, f"job-{i:02d}", f"snap-{i:02d}", synthesize(earlier, seed + i), day)
    ingest(cache, f"job-{reports:02d}", f"snap-{reports:02d}", synthesize(changes, seed + reports), NOW)


def run_once(cache: Cache, rules: RuleSet) -> tuple[float, Any]:
    watcher = Watcher(cache, tenant="bench-tenant", clock=lambda: NOW)
    start = time.perf_counter()
    result = asyncio.run(watcher.run(rules, use_audit=False))
    return time.perf_counter() - start, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=500_000)
    parser.add_argument("--reports", type=int, default=30, help="earlier reports (the baseline)")
    parser.add_argument("--earlier", type=int, default=20_000, help="changes in each earlier report")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    rules = parse_rules((ROOT / "docs" / "rules.example.toml").read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix="entrabr-bench-") as home:
        cache = Cache.open("bench-tenant", paths=StorePaths.under(Path(home)))
        try:
            print(f"building a cache: {args.reports} reports of {args.earlier:,} changes and one of "
                  f"{args.changes:,} …", file=sys.stderr)
            start = time.perf_counter()
            build(cache, args.changes, args.reports, args.earlier, args.seed)
            build_s = time.perf_counter() - start
            cold_s, cold = run_once(cache, rules)
            warm = [run_once(cache, rules) for _ in range(args.repeat)]
        finally:
            cache.close()
    warm_s = statistics.median(s for s, _ in warm)
    last = warm[-1][1]
    assert cold.baseline_reports == args.reports and last.baseline_reports == args.reports
    total_earlier = args.reports * args.earlier
    print(f"cache built in {build_s:.1f} s ({args.changes + total_earlier:,} change objects in "
          f"{args.reports + 1} reports)")
    print(f"first watch run (reads the {args.changes:,}-change report and {args.reports} earlier reports of "
          f"{args.earlier:,} to make their profiles): {cold_s:.3f} s")
    print(f"next watch runs (profiles cached; reads the {args.changes:,}-change report), median of "
          f"{args.repeat}: {warm_s:.3f} s = {args.changes / warm_s:,.0f} changes/s; "
          f"target < {TARGET_S:.0f} s ({warm_s / TARGET_S:.0%} of it)")
    print(f"cold / warm: {cold_s / warm_s:.2f}x; findings {len(last.findings)}, "
          f"open alerts {len(last.open)} (confirm = {rules.settings.confirm})")
    figures = {
        "bench": "watch", "changes": args.changes, "baseline_reports": args.reports,
        "earlier_changes": args.earlier, "build_s": round(build_s, 2), "cold_run_s": round(cold_s, 3),
        "warm_run_s": round(warm_s, 3), "target_s": TARGET_S, "within_target": warm_s < TARGET_S,
        "findings": len(last.findings), "open_alerts": len(last.open),
    }
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
