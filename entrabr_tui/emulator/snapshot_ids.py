"""Snapshot ids: opaque base64 strings, made the way the live service or Microsoft's documentation makes them.

The live service uses base64 of the epoch seconds as a decimal string (``MTc4NTE4OTYwMA==``, "epoch");
Microsoft's documentation examples use base64 of an ISO timestamp (``MjAyNC0wOC0yNlQwMjozMDowMFo=``,
"iso"). Clients must treat ids as opaque; serving either style lets tests prove they do.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime

SNAPSHOT_ID_STYLES = ("epoch", "iso")


def check_style(style: str) -> str:
    """``style`` if it is one of ``SNAPSHOT_ID_STYLES``, else ValueError."""
    if style not in SNAPSHOT_ID_STYLES:
        raise ValueError(f"snapshot_id_style must be one of {', '.join(SNAPSHOT_ID_STYLES)}, not {style!r}")
    return style


def snapshot_id(when: datetime, style: str = "epoch") -> str:
    """The id of the snapshot taken at ``when`` in the given style."""
    if check_style(style) == "iso":
        text = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    else:
        text = str(int(when.timestamp()))
    return base64.b64encode(text.encode()).decode()
