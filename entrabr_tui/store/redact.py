"""Keep tokens and secrets out of anything entrabr writes to disk.

Strings that look like a JWT (``eyJ…``) or carry a ``Bearer`` credential are replaced, and values under keys
named like a secret (``access_token``, ``client_secret``, ``password``, ``Authorization`` …) are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

REDACTED = "[redacted]"

_JWT = re.compile(r"eyJ[A-Za-z0-9_\-]{4,}(?:\.[A-Za-z0-9_\-]*){0,2}")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=\-]+")
_SECRET_KEYS = {
    "accesstoken",
    "refreshtoken",
    "idtoken",
    "token",
    "clientsecret",
    "secret",
    "password",
    "passwd",
    "authorization",
    "apikey",
    "clientassertion",
    "assertion",
    "cookie",
    "setcookie",
    "privatekey",
}


def is_secret_key(key: str) -> bool:
    return re.sub(r"[^a-z0-9]", "", key.lower()) in _SECRET_KEYS


def redact_text(text: str) -> tuple[str, bool]:
    """``text`` with token-like parts replaced, and whether anything was replaced."""
    if "eyJ" not in text and "earer" not in text.lower():
        return text, False
    cleaned = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    cleaned = _JWT.sub(REDACTED, cleaned)
    return cleaned, cleaned != text


def redact(value: Any) -> tuple[Any, bool]:
    """A copy of a JSON-like value with every token-like string and secret-named value redacted."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        changed = False
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = str(key)
            if is_secret_key(name) and item not in (None, ""):
                out[name] = REDACTED
                changed = True
                continue
            out[name], hit = redact(item)
            changed = changed or hit
        return out, changed
    if isinstance(value, list | tuple):
        items = [redact(item) for item in value]
        return [v for v, _ in items], any(hit for _, hit in items)
    return value, False
