"""Offline emulator of the Microsoft Graph Entra Backup and Recovery API (``/directory/recovery``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .runner import EmulatorServer

__all__ = ["EmulatorServer"]


def __getattr__(name: str) -> Any:
    if name == "EmulatorServer":
        from .runner import EmulatorServer

        return EmulatorServer
    raise AttributeError(name)
