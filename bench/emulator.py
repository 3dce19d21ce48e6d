"""Emulator startup and serving benchmark.

For each tenant size (default 100,000 and 1,000,000 objects), in a fresh subprocess:
  - startup: construct the tenant and start listening (``EmulatorServer.start()``), seconds;
  - report: create a difference report on the newest snapshot and poll until it succeeds (job_speed 1e9);
  - first page: time to serve the first ``getChanges?$top=999`` page over loopback HTTP (and its size);
  - peak RSS: VmHWM from /proc/self/status, MiB.
The last line of output is one JSON object with every figure.

Usage: .venv/bin/python bench/emulator.py [--sizes 100000,1000000] [--drift N] [--seed S]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _vm_hwm_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(objects: int, drift: int | None, seed: int) -> dict[str, Any]:
    """Measure one tenant size in this process."""
    sys.path.insert(0, str(ROOT))
    import httpx

    from entrabr_tui.emulator import EmulatorServer

    began = time.perf_counter()
    server = EmulatorServer(seed=seed, objects=objects, drift=drift, job_speed=1e9)
    server.start()
    startup = time.perf_counter() - began
    rss_started = _vm_hwm_mib()
    try:
        headers = {"Authorization": f"Bearer {server.token('admin')}",
                   "Prefer": "include-unknown-enum-members"}
        with httpx.Client(base_url=server.graph_url(), headers=headers, timeout=600) as http:
            snapshots = http.get("/directory/recovery/snapshots").json()["value"]
            began = time.perf_counter()
            created = http.post(f"/directory/recovery/snapshots/{snapshots[0]['id']}/recoveryPreviewJobs")
            location = created.headers["location"]
            while (job := http.get(location).json())["status"] not in {"successful", "failed", "abandoned"}:
                time.sleep(0.01)
            report = time.perf_counter() - began
            timings = []
            size = 0
            for _ in range(5):
                began = time.perf_counter()
                page = http.get(f"{location}/microsoft.graph.entraRecoveryServices.getChanges()",
                                params={"$top": "999"})
                timings.append(time.perf_counter() - began)
                size = len(page.content)
                count = len(page.json()["value"])
    finally:
        server.stop()
    return {
        "objects": objects,
        "startup_s": round(startup, 3),
        "peak_rss_after_start_mib": round(rss_started, 1),
        "report_s": round(report, 3),
        "changes": job["totalChangedObjectsCalculated"],
        "links": job["totalChangedLinksCalculated"],
        "first_page_ms": round(timings[0] * 1000, 2),
        "page_ms_median": round(sorted(timings)[len(timings) // 2] * 1000, 2),
        "page_items": count,
        "page_bytes": size,
        "peak_rss_mib": round(_vm_hwm_mib(), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--drift", type=int, default=None)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child, args.drift, args.seed)))
        return 0
    results: list[dict[str, Any]] = []
    for size in (int(s) for s in args.sizes.split(",") if s.strip()):
        command = [sys.executable, __file__, "--child", str(size), "--seed", str(args.seed)]
        if args.drift is not None:
            command += ["--drift", str(args.drift)]
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        if done.returncode != 0:
            print(f"{size:>9,} objects: FAILED\n{done.stderr}", file=sys.stderr)
            results.append({"objects": size, "error": done.stderr.strip().splitlines()[-1:]})
            continue
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        results.append(figures)
        f = figures
        print(f"{size:>9,} objects: startup {f['startup_s']:.2f} s, peak RSS {f['peak_rss_mib']:.0f} MiB "
              f"({f['peak_rss_after_start_mib']:.0f} MiB after start); report of {f['changes']:,} "
              f"changes + {f['links']:,} links in {f['report_s']:.2f} s; first 999-change page "
              f"{f['first_page_ms']:.1f} ms (median {f['page_ms_median']:.1f} ms, "
              f"{f['page_items']} items, {f['page_bytes'] / 1024:.0f} KiB)")
    ok = [r for r in results if "error" not in r]
    if len(ok) >= 2:
        small, large = ok[0], ok[-1]
        ratio = large["startup_s"] / small["startup_s"] if small["startup_s"] else float("nan")
        print(f"startup ratio {large['objects']:,}/{small['objects']:,} objects: {ratio:.1f}x; "
              f"targets: 100k < 10 s, 1M < 60 s and < 4096 MiB")
    print(json.dumps({"bench": "emulator", "results": results}))
    return 0 if len(ok) == len(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
