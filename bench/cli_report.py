"""Report reuse benchmark: ``entrabr report --demo --json`` twice, then ``--offline``, in fresh processes.

The first run creates a difference report on the demo tenant (an in-process emulator at the demo's normal
job speed: an hour of documented loading takes six seconds), waits for it and downloads it; the second run
finds it in the cache (``ENTRABR_HOME`` is shared) and only lists the backups; the third reads the cache with
no server at all. The second and third runs are repeated (``--repeat``, median reported) because a run of
well under a second is sensitive to whatever else the machine is doing. Prints, per run, the wall time of
the whole command and of the report step (the ``elapsedSeconds`` the command reports), and the ratios; the
last line is one JSON object.

Every child runs with this process's environment. Where ``PYTHONDONTWRITEBYTECODE`` is set (and the
project has no ``__pycache__``), every run compiles the project's modules from source, about 0.2 s an
installed package does not pay; ``--bytecode`` gives the children a private bytecode cache instead, warmed
by one untimed run, so that the timed runs see what an installed package sees.

    .venv/bin/python bench/cli_report.py                    # 2,000 objects, job speed 600 (the demo's)
    .venv/bin/python bench/cli_report.py --repeat 9 --bytecode
    .venv/bin/python bench/cli_report.py --objects 20000 --job-speed 300
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 10.0


def run(argv: list[str], home: str, env: dict[str, str]) -> tuple[float, dict[str, Any]]:
    began = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "entrabr_tui", *argv], capture_output=True, text=True,
                          env=dict(env, ENTRABR_HOME=home), cwd=ROOT, timeout=900)
    seconds = time.perf_counter() - began
    if proc.returncode != 0:
        raise SystemExit(f"entrabr {' '.join(argv)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return seconds, json.loads(proc.stdout)


def repeated(argv: list[str], home: str, env: dict[str, str],
             times: int) -> tuple[list[float], dict[str, Any]]:
    walls: list[float] = []
    doc: dict[str, Any] = {}
    for _ in range(times):
        seconds, doc = run(argv, home, env)
        walls.append(seconds)
    return walls, doc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=2000, help="demo tenant size (default 2000)")
    parser.add_argument("--job-speed", type=float, default=None, help="demo job speed (default: the demo's)")
    parser.add_argument("--repeat", type=int, default=5, help="runs of the reused and offline commands "
                                                               "(median reported; default 5)")
    parser.add_argument("--bytecode", action="store_true",
                        help="give the children a warmed private bytecode cache (as an installed package)")
    args = parser.parse_args()
    demo = ["--demo", "--objects", str(args.objects), "--quiet", "--json"]
    if args.job_speed:
        demo += ["--job-speed", f"{args.job_speed:g}"]
    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="entrabr-bench-") as scratch:
        home = str(Path(scratch) / "home")
        if args.bytecode:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(Path(scratch) / "pycache")
            run(["report", *demo], str(Path(scratch) / "warm-up"), env)  # compiles what the runs import
        first_s, first = run(["report", *demo], home, env)
        reused_walls, second = repeated(["report", *demo], home, env, max(1, args.repeat))
        offline_walls, offline = repeated(["report", "--offline", "--quiet", "--json"], home, env,
                                          max(1, args.repeat))
    assert not first["report"]["reused"] and second["report"]["reused"] and offline["report"]["reused"]
    assert first["counts"] == second["counts"] == offline["counts"]
    second_s, offline_s = statistics.median(reused_walls), statistics.median(offline_walls)
    step_first, step_second = first["elapsedSeconds"], second["elapsedSeconds"]
    whole_ratio = first_s / second_s
    step_ratio = step_first / max(step_second, 1e-6)
    changes = first["totalChanges"]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    print(f"tenant {args.objects:,} objects, report of {changes:,} changes"
          + (", private bytecode cache" if args.bytecode else ""))
    print(f"first run   (create, wait, download): {first_s:7.3f} s   report step {step_first:8.4f} s")
    print(f"second run  (reused from the cache):   {second_s:7.3f} s   report step {step_second:8.4f} s   "
          f"(median of {len(reused_walls)}: {min(reused_walls):.3f}..{max(reused_walls):.3f} s)")
    print(f"offline run (cache only, no server):   {offline_s:7.3f} s   "
          f"(median of {len(offline_walls)}: {min(offline_walls):.3f}..{max(offline_walls):.3f} s)")
    print(f"whole command: {whole_ratio:.1f}x faster on reuse (target >= {TARGET_RATIO:g}x); "
          f"report step: {step_ratio:,.0f}x")
    print(f"startup paid by every run (imports, demo tenant, sign-in, shutdown): about {second_s:.2f} s"
          + (f"; load average {load:.2f}" if load is not None else ""))
    print(json.dumps({
        "objects": args.objects, "changes": changes, "bytecode_cache": args.bytecode,
        "first_s": round(first_s, 3), "reused_s": round(second_s, 3),
        "reused_runs_s": [round(s, 3) for s in reused_walls], "offline_s": round(offline_s, 3),
        "whole_ratio": round(whole_ratio, 2), "report_step_first_s": round(step_first, 4),
        "report_step_reused_s": round(step_second, 4), "report_step_ratio": round(step_ratio, 1),
        "target_ratio": TARGET_RATIO, "target_met": whole_ratio >= TARGET_RATIO,
        "load_average": round(load, 2) if load is not None else None,
    }))


if __name__ == "__main__":
    main()
