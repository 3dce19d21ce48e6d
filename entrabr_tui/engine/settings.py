"""What a session is built from: where Graph is, how to sign in, and how the engine behaves."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from entrabr_tui.engine.jobs import SlotMode
from entrabr_tui.engine.timing import PollPolicy
from entrabr_tui.graph.adapter import DEFAULT_BASE_URL
from entrabr_tui.graph.auth import AuthMethod, AuthSettings
from entrabr_tui.graph.requests import MAX_PAGE_SIZE
from entrabr_tui.store.config import RestoreGuards


@dataclass(frozen=True)
class SessionSettings:
    """Settings of one session.

    - ``graph_url``: Graph root with version (``https://graph.microsoft.com/v1.0`` or an emulator's).
    - ``auth`` / ``role``: sign-in method; ``role`` is the emulator role (reader, admin, global, app).
    - ``auth_settings``: full sign-in settings (tenant, client id, certificate …) when the defaults do not
      do; its ``method``, ``graph_url`` and ``emulator_role`` are taken from the fields above.
    - ``offline``: serve the cache only (no network; writes are refused).
    - ``tenant``: the tenant id (the cache file); online it defaults to the token's ``tid``.
    - ``tenant_objects``: tenant size, for the documented duration estimates (unknown: smallest band).
    - ``slot_mode``: wait for, or stop at, a job entrabr did not start that holds the job slot.
    - ``poll``: polling backoff (and an optional bound); ``page_size``: change page size (1–999).
    - ``duration_scale``: multiplies the documented duration estimates (the demo's jobs run faster).
    - ``journal_settle``: seconds after a request before the service's job list is taken to show the job
      it created (so that its absence proves the request never arrived; see ``engine.journal``).
    - ``unknown_status_timeout``: seconds a job may stay in a status this version does not know before the
      wait stops (``None``: wait on).
    - ``restore_guards``: the tenant's break-glass accounts and groups and whether a reviewed plan needs a
      second person; ``config_path`` and ``profile``: where they are saved when the app asks for them
      (``None``: the default config file; the named profile, else the tenant's).
    """

    graph_url: str = DEFAULT_BASE_URL
    auth: AuthMethod = AuthMethod.DEVICE_CODE
    role: str = "admin"
    auth_settings: AuthSettings | None = None
    offline: bool = False
    tenant: str | None = None
    tenant_objects: int | None = None
    slot_mode: SlotMode = SlotMode.WAIT
    poll: PollPolicy = field(default_factory=PollPolicy)
    page_size: int = MAX_PAGE_SIZE
    allow_interaction: bool = True
    duration_scale: float = 1.0
    journal_settle: float = 30.0
    unknown_status_timeout: float | None = 3600.0
    restore_guards: RestoreGuards = field(default_factory=RestoreGuards)
    config_path: Path | None = None
    profile: str | None = None

    def sign_in_settings(self) -> AuthSettings:
        """The azure-identity settings for :func:`entrabr_tui.graph.auth.build_credential`."""
        from dataclasses import replace

        base = self.auth_settings or AuthSettings()
        return replace(base, method=AuthMethod(self.auth), graph_url=self.graph_url, emulator_role=self.role)
