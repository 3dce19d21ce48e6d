"""Report reuse benchmark: ``entrabr report --demo --json`` twice, then ``--offline``, in fresh processes.

The first run creates a difference report on the demo tenant (an in-process emulator at the demo's normal
job speed: an hour of documented loading takes six seconds), waits for it and downloads it; the second run
finds it in the cache (``ENTRABR_HOME`` is shared) and only lists the backups; the third reads the cache with
no server at all. Prints, per run, the wall time of the whole command and of the report step (the
``elapsedSeconds`` the command reports), and the ratios; the last line is one JSON object.

    .venv/bin/python bench/cli_report.py                    # 2,000 objects, job speed 600 (the demo's)
    .venv/bin/python bench/cli_report.py --objects 20000 --job-speed 300
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 10.0


def run(argv: list[str], home: str) -> tuple[float, dict[str, Any]]:
    env = dict(os.environ, ENTRABR_HOME=home)
    began = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "entrabr_tui", *argv], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=900)
    seconds = time.perf_counter() - began
    if proc.returncode != 0:
        raise SystemExit(f"entrabr {' '.join(argv)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return seconds, json.loads(proc.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=2000, help="demo tenant size (default 2000)")
    parser.add_argument("--job-speed", type=float, default=None, help="demo job speed (default: the demo's)")
    args = parser.parse_args()
    demo = ["--demo", "--objects", str(args.objects), "--quiet", "--json"]
    if args.job_speed:
        demo += ["--job-speed", f"{args.job_speed:g}"]
    with tempfile.TemporaryDirectory(prefix="entrabr-bench-") as home:
        first_s, first = run(["report", *demo], home)
        second_s, second = run(["report", *demo], home)
        offline_s, offline = run(["report", "--offline", "--quiet", "--json"], home)
    assert not first["report"]["reused"] and second["report"]["reused"] and offline["report"]["reused"]
    assert first["counts"] == second["counts"] == offline["counts"]
    step_first, step_second = first["elapsedSeconds"], second["elapsedSeconds"]
    whole_ratio = first_s / second_s
    step_ratio = step_first / max(step_second, 1e-6)
    changes = first["totalChanges"]
    print(f"tenant {args.objects:,} objects, report of {changes:,} changes")
    print(f"first run   (create, wait, download): {first_s:7.2f} s   report step {step_first:8.4f} s")
    print(f"second run  (reused from the cache):   {second_s:7.2f} s   report step {step_second:8.4f} s")
    print(f"offline run (cache only, no server):   {offline_s:7.2f} s")
    print(f"whole command: {whole_ratio:.1f}x faster on reuse (target >= {TARGET_RATIO:g}x); "
          f"report step: {step_ratio:,.0f}x")
    print(f"startup paid by every run (imports, demo tenant, sign-in, shutdown): about {second_s:.2f} s")
    print(json.dumps({
        "objects": args.objects, "changes": changes, "first_s": round(first_s, 3),
        "reused_s": round(second_s, 3), "offline_s": round(offline_s, 3),
        "whole_ratio": round(whole_ratio, 2), "report_step_first_s": round(step_first, 4),
        "report_step_reused_s": round(step_second, 4), "report_step_ratio": round(step_ratio, 1),
        "target_ratio": TARGET_RATIO,
    }))


if __name__ == "__main__":
    main()
