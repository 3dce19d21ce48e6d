"""What the app asks its session factory to open: a tenant profile, online or offline, a sign-in method.

The app gets a session factory (see :func:`entrabr_tui.ui.run_app`). It calls it with the keywords the
factory declares: ``prompt`` (a callback that shows a device code in the app) and ``target`` (a
:class:`SessionTarget`). A factory that takes ``target`` lets the app reopen the session on demand: another
tenant profile, offline or online again, another sign-in method, or after the cache was cleared.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

#: Interactive sign-in methods the app offers: (command-line spelling, label, what it does).
SIGN_IN_METHODS: tuple[tuple[str, str, str], ...] = (
    ("device-code", "Device code", "a code to enter on any device (works over SSH)"),
    ("browser", "Browser", "a browser window on this machine"),
    ("cli", "Azure CLI", "the account signed in with 'az login'"),
)


@dataclass(frozen=True, slots=True)
class SessionTarget:
    """Which session to open.

    - ``profile``: a tenant profile of the config file; ``None`` is the tenant the app was started for.
    - ``offline``: serve the cache only, without signing in.
    - ``auth``: a sign-in method (a :data:`SIGN_IN_METHODS` spelling) instead of the configured one.
    - ``tenant``: offline, the tenant whose cache to open (the one just used); ignored online.
    """

    profile: str | None = None
    offline: bool = False
    auth: str | None = None
    tenant: str | None = None


@dataclass(frozen=True, slots=True)
class ProfileChoice:
    """A tenant profile the app can switch to."""

    name: str
    tenant: str
    auth: str = "device-code"


def factory_keywords(factory: Callable[..., object]) -> frozenset[str]:
    """Which of ``prompt`` and ``target`` a session factory accepts."""
    try:
        parameters = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return frozenset()
    return frozenset(name for name in ("prompt", "target") if name in parameters)
