"""The terminal UI (Textual only). Entry point: :func:`run_app`."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence

from entrabr_tui.ui.app import EntrabrApp, SessionFactory
from entrabr_tui.ui.connection import SIGN_IN_METHODS, ProfileChoice, SessionTarget


def run_app(
    session_factory: SessionFactory,
    *,
    keymap: Mapping[str, str] | None = None,
    theme: str | None = None,
    on_theme_change: Callable[[str], None] | None = None,
    target: SessionTarget | None = None,
    profiles: Sequence[ProfileChoice] = (),
    sign_in_methods: Sequence[str] | None = None,
    notices: Sequence[str] = (),
    open_alert: str | None = None,
) -> int:
    """Run the app until the user quits; returns the process exit code.

    ``session_factory`` is an async callable returning a :class:`~entrabr_tui.ui.backend.Backend` (the
    engine's ``Session``); it runs inside the app's event loop, so network clients it creates belong to that
    loop, and the app calls ``aclose()`` on the session when it exits. It is called with the keywords it
    declares: ``prompt`` is a device-code callback (``DeviceCodePrompt`` → None, callable from any thread)
    that shows the code and URL in the app's sign-in screen (pass it to ``open_session(..., prompt=prompt)``;
    nothing is printed over the app); ``target`` is a :class:`SessionTarget` (``target`` first, then what the
    palette asks for: another of ``profiles``, offline or online, another sign-in method, after clearing the
    cache). ``sign_in_methods`` are the methods offered for ``target`` (default: all of
    :data:`SIGN_IN_METHODS`; none for the demo tenant).

    ``keymap`` maps binding IDs to keys (``{"restore": "ctrl+r"}``; every ID is listed by
    ``entrabr_tui.ui.bindings.binding_ids()``); ``theme`` names a Textual theme; ``on_theme_change`` is called
    (in a worker thread) with the new theme name when the user picks one in the palette, to persist it; an
    exception it raises is shown as a warning. ``notices`` are warnings shown as the app opens (problems
    with the config file). ``open_alert`` is an ``entrabr watch`` alert id to open on (``entrabr --open``).
    """
    app = EntrabrApp(session_factory, keymap=keymap, theme=theme, on_theme_change=on_theme_change,
                     target=target, profiles=profiles, sign_in_methods=sign_in_methods, notices=notices,
                     open_alert=open_alert)
    result = app.run()
    if app.crash_notice is not None:
        sys.stderr.write(app.crash_notice + "\n")
    if app.return_code:  # a crash (see EntrabrApp._handle_exception) or an exit with an error code
        return app.return_code
    return result if isinstance(result, int) else 0


__all__ = ["SIGN_IN_METHODS", "EntrabrApp", "ProfileChoice", "SessionFactory", "SessionTarget", "run_app"]
