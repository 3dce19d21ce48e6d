"""Top-level command dispatcher: the emulator, the headless commands, and the terminal app."""

from __future__ import annotations

import sys


def run(argv: list[str]) -> int:
    """Dispatch ``entrabr [command] ...`` and return the process exit code."""
    if argv and argv[0] == "emulator":
        from entrabr_tui.emulator.cli import main as emulator_main

        return emulator_main(argv[1:])
    print("usage: entrabr emulator [...]", file=sys.stderr)
    return 2
