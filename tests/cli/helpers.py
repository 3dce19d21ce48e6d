"""Running the command line in-process (fast) or in a subprocess (to see exactly what it imports)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from entrabr_tui.cli import run
from entrabr_tui.emulator import EmulatorServer

ROOT = Path(__file__).resolve().parents[2]
#: Small tenant, jobs a hundred thousand times faster than documented (an hour of loading takes 36 ms).
DEMO = ["--demo", "--objects", "300", "--job-speed", "100000"]

#: Runs the CLI, then lists on stderr the Textual and terminal-UI modules it imported (none expected).
_WRAPPER = (
    "import sys\n"
    "from entrabr_tui.cli import run\n"
    "code = run(sys.argv[1:])\n"
    "ui = sorted(m for m in sys.modules if m.split('.')[0] == 'textual' or m == 'entrabr_tui.ui'\n"
    "            or m.startswith('entrabr_tui.ui.'))\n"
    "sys.stderr.write('UI_MODULES=' + ','.join(ui) + '\\n')\n"
    "sys.exit(code)\n"
)


@dataclass
class Result:
    """Exit code and both streams of one command."""

    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    @property
    def ui_modules(self) -> list[str]:
        for line in self.stderr.splitlines():
            if line.startswith("UI_MODULES="):
                value = line.partition("=")[2]
                return value.split(",") if value else []
        raise AssertionError("the wrapper did not report its modules")


class FakeTty(io.StringIO):
    """A text stream that claims to be a terminal."""

    def isatty(self) -> bool:
        return True


def cli(*argv: str, stdin: str = "", tty_stdin: bool = False, tty_stdout: bool = False,
        tty_stderr: bool = False) -> Result:
    """Run ``entrabr *argv`` in this process."""
    out: io.StringIO = FakeTty() if tty_stdout else io.StringIO()
    err: io.StringIO = FakeTty() if tty_stderr else io.StringIO()
    inp: io.StringIO = FakeTty(stdin) if tty_stdin else io.StringIO(stdin)
    code = run(list(argv), stdin=inp, stdout=out, stderr=err)
    return Result(code, out.getvalue(), err.getvalue())


def cli_subprocess(*argv: str, stdin: str = "", timeout: float = 60) -> Result:
    """Run ``entrabr *argv`` in a fresh interpreter (same ``ENTRABR_HOME``)."""
    proc = subprocess.run([sys.executable, "-c", _WRAPPER, *argv], input=stdin, capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT, env=dict(os.environ))
    return Result(proc.returncode, proc.stdout, proc.stderr)


def ok(result: Result) -> Result:
    """``result``, once it is known to have exited 0 (else its stderr is the failure message)."""
    assert result.code == 0, result.stderr
    return result


@contextmanager
def emulator_flags(*, seed: int = 7, objects: int = 300, job_speed: float = 100_000) -> Iterator[list[str]]:
    """A running emulator, as the options that point the CLI at it (quietly)."""
    server = EmulatorServer(seed=seed, objects=objects, job_speed=job_speed)
    server.start()
    try:
        yield ["--graph-url", server.graph_url(), "--auth", "emulator", "-q"]
    finally:
        server.stop()
