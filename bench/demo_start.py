"""Start-up of ``entrabr --demo``: from the command to the first useful screen (the backups listed).

Each run starts ``python -m entrabr_tui --demo`` with a fresh ``ENTRABR_HOME`` in a pseudo-terminal
(120×40) and reads what it draws: the first paint of the main screen (its pane titles) and the first useful
screen (a backup row in the Backups pane), each timed from the moment the command was started. The CPU time
the process had used by then is read from ``/proc`` where there is one. Where there is no pseudo-terminal
(Windows), the same path runs headless in a child process (the app on Textual's test driver), timed from the
spawn to the child's report. A first run (not counted) writes the bytecode a normal install has.

    .venv/bin/python bench/demo_start.py [--runs 5]

Prints figures; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TIMEOUT = 60.0
SIZE = (120, 40)
#: Drawn at the first paint of the main screen.
PAINTED = re.compile(rb"2 Changes")
#: A backup row (``12-04 22:00``): the backups are listed.
LISTED = re.compile(rb"\b\d\d-\d\d \d\d:\d\d\b")
_ESCAPES = re.compile(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b[\]P][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b.")


def _environment(home: str) -> dict[str, str]:
    env = dict(os.environ, ENTRABR_HOME=home, TERM="xterm-256color")
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a normal install has its bytecode
    return env


def _cpu_of(pid: int) -> float | None:
    """CPU seconds (user + system) process ``pid`` has used, where ``/proc`` tells."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError, AttributeError):
        return None


def run_in_terminal() -> dict[str, float | None]:
    """One start of ``entrabr --demo`` in a pseudo-terminal (POSIX)."""
    import fcntl
    import pty
    import select
    import signal
    import struct
    import termios

    with tempfile.TemporaryDirectory(prefix="entrabr-demo-start-") as home:
        env = _environment(home)
        began = time.perf_counter()
        pid, fd = pty.fork()
        if pid == 0:  # the child: become the command
            os.execve(sys.executable, [sys.executable, "-m", "entrabr_tui", "--demo"], env)
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", SIZE[1], SIZE[0], 0, 0))
        drawn = b""
        painted = listed = cpu = None
        try:
            while time.perf_counter() - began < TIMEOUT and listed is None:
                if not select.select([fd], [], [], 0.005)[0]:
                    continue
                try:
                    drawn += os.read(fd, 1 << 16)
                except OSError:
                    break
                plain = _ESCAPES.sub(b"", drawn)
                now = time.perf_counter() - began
                if painted is None and PAINTED.search(plain):
                    painted = now
                if LISTED.search(plain):
                    listed, cpu = now, _cpu_of(pid)
            os.write(fd, b"q")
            deadline = time.perf_counter() + 10
            while time.perf_counter() < deadline and os.waitpid(pid, os.WNOHANG) == (0, 0):
                if select.select([fd], [], [], 0.05)[0]:
                    with contextlib.suppress(OSError):
                        os.read(fd, 1 << 16)
        finally:
            try:
                os.kill(pid, signal.SIGTERM)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            os.close(fd)
    if listed is None:
        raise RuntimeError("entrabr --demo did not list the backups in time")
    return {"paint": painted, "listed": listed, "cpu": cpu}


def run_headless() -> dict[str, float | None]:
    """One start of the demo path on Textual's headless driver in a child process (no terminal)."""
    with tempfile.TemporaryDirectory(prefix="entrabr-demo-start-") as home:
        env = _environment(home)
        env["ENTRABR_BENCH_SPAWNED"] = repr(time.time())  # the child times itself from here
        child = subprocess.run([sys.executable, __file__, "--headless-child"], env=env,
                               capture_output=True, text=True, timeout=TIMEOUT, check=True)
    report = json.loads(child.stdout.strip().splitlines()[-1])
    return {"paint": None, "listed": report["listed"], "cpu": report["cpu"]}


def headless_child() -> int:
    """The headless run: what ``entrabr --demo`` does, on the test driver; reports when backups showed."""
    spawned = float(os.environ["ENTRABR_BENCH_SPAWNED"])
    import asyncio

    from entrabr_tui.__main__ import _skip_httpx_command_line

    _skip_httpx_command_line()
    from entrabr_tui.cli.app_sessions import AppSessions
    from entrabr_tui.cli.args import parse
    from entrabr_tui.cli.connect import load_app_config
    from entrabr_tui.cli.output import Output
    from entrabr_tui.ui.app import EntrabrApp

    args = parse(["--demo"])
    sessions = AppSessions(args, load_app_config(Output(sys.stdout, sys.stderr, sys.stdin)))
    listed: dict[str, float] = {}

    async def run() -> None:
        app = EntrabrApp(sessions, target=sessions.target, sign_in_methods=sessions.sign_in_methods)
        async with app.run_test(size=SIZE):
            while not app.main.backups.entries:
                await asyncio.sleep(0.002)
            listed["at"] = time.time() - spawned
            times = os.times()
            listed["cpu"] = times.user + times.system

    try:
        asyncio.run(run())
    finally:
        sessions.close()
    print(json.dumps({"listed": listed["at"], "cpu": listed["cpu"]}))
    return 0


def measure_demo(runs: int = 5) -> dict[str, Any]:
    """Median figures of ``runs`` starts (after one start that is not counted)."""
    try:
        import pty  # noqa: F401

        once = run_in_terminal
    except ImportError:
        once = run_headless
    once()  # bytecode, disk caches
    results = [once() for _ in range(runs)]

    def median(key: str) -> float | None:
        values = [value for r in results if (value := r[key]) is not None]
        return round(statistics.median(values), 3) if values else None

    figures: dict[str, Any] = {"demo_first_paint_s": median("paint"), "demo_first_screen_s": median("listed"),
                               "demo_first_screen_cpu_s": median("cpu")}
    each = ", ".join(f"{r['listed'] or 0:.2f}" for r in results)
    print(f"entrabr --demo to backups listed (s), {runs} runs: {each}", file=sys.stderr)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--headless-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.headless_child:
        return headless_child()
    figures = measure_demo(args.runs)
    for key, value in figures.items():
        print(f"{key:>26}: {value}")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
