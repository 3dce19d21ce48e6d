"""With no command, the terminal app opens on the demo tenant (the only path that imports Textual)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from .helpers import cli


def test_demo_without_command_opens_the_app_on_a_demo_session(monkeypatch: pytest.MonkeyPatch) -> None:
    import entrabr_tui.ui as ui

    seen: dict[str, Any] = {}

    def fake_run_app(factory: Any, **options: Any) -> int:
        seen["options"] = options

        async def open_and_close() -> None:
            session = await factory()
            seen["tenant"] = session.tenant
            seen["can_restore"] = session.capabilities.can_restore
            seen["snapshots"] = len(await session.snapshots())
            await session.aclose()

        asyncio.run(open_and_close())
        return 0

    monkeypatch.setattr(ui, "run_app", fake_run_app)
    result = cli("--demo", "--role", "reader", "--objects", "50")
    assert result.code == 0, result.stderr
    assert seen["tenant"] and seen["snapshots"] == 7
    assert seen["can_restore"] is False  # --role reader reaches the app's session
    assert set(seen["options"]) == {"keymap", "theme", "on_theme_change"}
