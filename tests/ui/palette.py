"""Driving the command palette (ctrl+p) from Pilot tests, and waiting for background sign-in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.command import CommandList, CommandPalette
from textual.fuzzy import Matcher
from textual.pilot import Pilot
from textual.widgets import Input

#: Upper bound of the polling loops below (each step yields to the app for 20 ms).
MAX_STEPS = 400


async def wait_until(pilot: Pilot[Any], condition: Callable[[], bool], what: str) -> None:
    """Let the app run until ``condition`` holds (work in threads needs real time); fails after ~8 s."""
    for _ in range(MAX_STEPS):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"timed out waiting for {what}")


async def palette_hits(pilot: Pilot[Any], query: str) -> list[str]:
    """Open the palette (unless open), type ``query`` and return the titles of the hits, best first."""
    if not isinstance(pilot.app.screen, CommandPalette):
        await pilot.press("ctrl+p")
    palette = pilot.app.screen
    assert isinstance(palette, CommandPalette)
    palette.query_one(Input).value = query  # one search, as if typed (typing runs one per key)
    await pilot.pause()  # the change message starts the search
    commands = palette.query_one(CommandList)
    matcher = Matcher(query)

    def titles() -> list[str]:
        return [str(commands.get_option_at_index(i).prompt).split("\n")[0]
                for i in range(commands.option_count)]

    def settled() -> bool:
        gathering = [w for w in pilot.app.workers if w.node is palette and not w.is_finished]
        shown = titles()  # the search's hits, not the list shown before it (every entry)
        return not gathering and bool(shown) and all(matcher.match(title) > 0 for title in shown)

    await wait_until(pilot, settled, f"palette hits for {query!r}")
    return titles()


async def run_command(pilot: Pilot[Any], query: str, title: str) -> None:
    """Type ``query`` into the palette and run the best hit, which must be ``title``."""
    hits = await palette_hits(pilot, query)
    assert hits[0] == title, hits
    await pilot.press("enter")
    await pilot.pause()


async def export_through_the_palette(pilot: Pilot[Any], query: str, title: str,
                                     path: str | None = None) -> None:
    """Run an export entry of the palette and answer its path question (``path``, else the default)."""
    from entrabr_tui.ui.screens.dialogs import ExportPathDialog

    await run_command(pilot, query, title)
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, ExportPathDialog), "the export path dialog")
    if path is not None:
        pilot.app.screen.query_one("#export-path", Input).value = path
    await pilot.press("enter")
    await pilot.pause()
