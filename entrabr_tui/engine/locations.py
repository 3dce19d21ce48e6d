"""Where the user's files are, for showing them (nothing is created here)."""

from __future__ import annotations

from pathlib import Path

from entrabr_tui.store import StorePaths


def config_file_path() -> Path:
    """The configuration file read at start-up (``ENTRABR_HOME`` and the platform's folders apply)."""
    return StorePaths.default().config_dir / "config.toml"
