"""Orchestration between the Graph client and the cache, below the terminal UI and the headless CLI.

- :mod:`.session` — ``Session``, the one object the UI and the CLI use per tenant; built by
  :func:`.opening.open_session` (sign in, or offline) or :func:`.demo.open_demo` (the built-in demo tenant).
  It holds its collaborators: :mod:`.cache_reader` (queries on a second cache connection),
  :mod:`.session_queue` (the restore queue and planning), :mod:`.session_log` (the session history) and
  :mod:`.resume` (picking up jobs after a restart).
- :mod:`.runner` — ``JobRunner``: the tenant's single job slot (local queue, foreign holders, polling,
  cancel); :mod:`.reports` — reuse, run and download difference reports; :mod:`.restore` — run restore
  plans batch by batch; :mod:`.journal` — the job journal and its reconciliation after a restart.
- :mod:`.events` — progress events; :mod:`.errors` — the engine's own errors; :mod:`.timing` — the
  documented duration estimates and the polling backoff.

Imports run one way: ``opening`` and ``demo`` import ``session``, never the reverse. Nothing here imports
Textual. ``Session``, ``open_session`` and ``open_demo`` are importable from this package, but loaded only
when first used, so light users such as the exporters do not load the Graph SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from entrabr_tui.engine.demo import open_demo
    from entrabr_tui.engine.opening import open_session
    from entrabr_tui.engine.session import Session

_LAZY = {
    "Session": "entrabr_tui.engine.session",
    "open_session": "entrabr_tui.engine.opening",
    "open_demo": "entrabr_tui.engine.demo",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Session", "open_demo", "open_session"]
