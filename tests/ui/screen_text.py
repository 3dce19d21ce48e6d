"""Plain-text dump of what a headless app shows (for assertions on rendered content)."""

from __future__ import annotations

from typing import Any

from textual.app import App


def screen_text(app: App[Any]) -> str:
    """The current screen as lines of text, exactly as drawn (no styles)."""
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(segment.text for segment in strip) for strip in strips)
