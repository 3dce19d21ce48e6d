"""What an interactive sign-in asks of the person signing in.

A plain value shared by the layer that signs in (``graph``) and the ones that show it (``ui``, ``cli``), so
that showing a device code needs no sign-in library.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class DeviceCodePrompt:
    """What the user must do to finish a device-code sign-in: open the URI and enter the code."""

    verification_uri: str
    user_code: str
    expires_on: datetime  # UTC, timezone-aware

    @property
    def message(self) -> str:
        return f"To sign in, open {self.verification_uri} and enter the code {self.user_code}."


#: Receives the device code to show; may be called from any thread.
PromptCallback = Callable[[DeviceCodePrompt], None]
