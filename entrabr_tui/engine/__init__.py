"""Orchestration between the Graph client and the cache, below the terminal UI and the headless CLI.

- :mod:`.session` — ``Session``, the one object the UI and the CLI use per tenant (``Session.open``,
  ``Session.demo``).
- :mod:`.runner` — ``JobRunner``: the tenant's single job slot (local queue, foreign holders, polling,
  cancel); :mod:`.reports` — reuse, run and download difference reports; :mod:`.restore` — run restore
  plans batch by batch; :mod:`.journal` — the job journal and its reconciliation after a restart.
- :mod:`.events` — progress events; :mod:`.errors` — the engine's own errors; :mod:`.timing` — the
  documented duration estimates and the polling backoff.

Nothing here imports Textual. Submodules are imported on demand (this package imports none of them), so
light users such as the exporters do not load the Graph SDK.
"""
