"""The emulated clock: real elapsed time plus whatever the control plane has advanced it by."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


class EmulatedClock:
    """A UTC clock that runs at real speed from ``start`` and can be moved forward."""

    def __init__(self, start: datetime | None = None) -> None:
        self.start = (start or datetime.now(UTC)).astimezone(UTC)
        self._mono0 = time.monotonic()
        self._offset = timedelta(0)

    def now(self) -> datetime:
        """The current emulated time (timezone-aware, UTC)."""
        return self.start + timedelta(seconds=time.monotonic() - self._mono0) + self._offset

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward by ``delta``."""
        if delta < timedelta(0):
            raise ValueError("the emulated clock only moves forward")
        self._offset += delta

    def reset(self) -> None:
        """Drop any advance (real elapsed time still counts)."""
        self._offset = timedelta(0)


def iso(t: datetime | None) -> str | None:
    """Graph's DateTimeOffset rendering (``2026-03-20T22:00:00Z``); None stays None."""
    if t is None:
        return None
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
