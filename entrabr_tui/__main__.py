"""Entry point for `entrabr` and `python -m entrabr_tui`."""

from __future__ import annotations

import sys
from types import ModuleType
from typing import cast


def _skip_httpx_command_line() -> None:
    """httpx imports its own command-line client (click, Pygments and Rich: about 50 ms) whenever those
    happen to be installed, and entrabr never runs it. Marked absent before httpx is first imported, httpx
    falls back to the stub it has for that case (an ``httpx.main`` saying the client cannot run). Only
    this process entry point does this; importing entrabr as a library changes nothing."""
    sys.modules.setdefault("httpx._main", cast(ModuleType, None))


def main(argv: list[str] | None = None) -> int:
    """Run the entrabr command line."""
    _skip_httpx_command_line()
    from entrabr_tui.cli import run

    return run(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    raise SystemExit(main())
