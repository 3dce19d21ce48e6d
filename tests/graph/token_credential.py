"""The test double of an azure-core async credential: one fixed token, the scopes asked for recorded."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from azure.core.credentials import AccessToken


@dataclass
class StaticTokenCredential:
    """An azure-core async credential that hands out one fixed token (valid for an hour from each call),
    records the scopes asked for, and whether it was closed."""

    token: str
    scopes_seen: list[tuple[str, ...]] = field(default_factory=list)
    closed: bool = False

    async def get_token(self, *scopes: str, **_: Any) -> AccessToken:
        self.scopes_seen.append(scopes)
        return AccessToken(self.token, int(time.time()) + 3600)

    async def close(self) -> None:
        self.closed = True

    async def __aenter__(self) -> StaticTokenCredential:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()
