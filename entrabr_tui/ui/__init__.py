"""The terminal UI (Textual only). Entry point: :func:`run_app`."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from entrabr_tui.ui.app import EntrabrApp, SessionFactory


def run_app(
    session_factory: SessionFactory,
    *,
    keymap: Mapping[str, str] | None = None,
    theme: str | None = None,
    on_theme_change: Callable[[str], None] | None = None,
) -> int:
    """Run the app until the user quits; returns the process exit code.

    ``session_factory`` is an async callable returning a :class:`~entrabr_tui.ui.backend.Backend` (the
    engine's ``Session``); it runs inside the app's event loop, so network clients it creates belong to that
    loop, and the app calls ``aclose()`` on the session when it exits. A factory that takes a ``prompt``
    keyword gets a device-code callback (``DeviceCodePrompt`` → None, callable from any thread) that shows
    the code and URL in the app's sign-in screen; pass it to ``Session.open(..., prompt=prompt)``.

    ``keymap`` maps binding IDs to keys (``{"restore": "ctrl+r"}``; every ID is listed by
    ``entrabr_tui.ui.bindings.binding_ids()``); ``theme`` names a Textual theme; ``on_theme_change`` is called
    with the new theme name when the user picks one in the palette (to persist it).
    """
    app = EntrabrApp(session_factory, keymap=keymap, theme=theme, on_theme_change=on_theme_change)
    result = app.run()
    return result if isinstance(result, int) else 0


__all__ = ["EntrabrApp", "SessionFactory", "run_app"]
