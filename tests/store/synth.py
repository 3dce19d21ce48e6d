"""Deterministic ``getChanges``-like items for the store tests (not a test module)."""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping
from typing import Any

FIRST = ["Anna", "anna", "Bob", "Chloé", "Zoë", "Łukasz", "Émile", "Dora", "ERIK", "Fatima", "Gus", "Hana"]
LAST = ["Smith", "SMITHSON", "Jones", "Nowak", "Müller", "O'Brien", "Lee", "Zola", "Kowalski", "Ng"]
TYPES = ["user"] * 6 + ["group"] * 2 + ["application", "conditionalAccessPolicy"]
ACTIONS = ["update"] * 5 + ["restore", "softDelete"]


def guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def make_items(count: int, seed: int = 1, *, start: int = 0) -> list[dict[str, Any]]:
    """``count`` changes with unique ids; names repeat (ties are broken by id), some have a UPN."""
    rng = random.Random(seed)
    items = []
    for i in range(start, start + count):
        entity = rng.choice(TYPES)
        first, last = rng.choice(FIRST), rng.choice(LAST)
        name = f"{first} {last}" if entity == "user" else f"{last} {entity} {i % 97}"
        current: dict[str, Any] = {"@odata.type": f"#microsoft.graph.{entity}", "jobTitle": "Manager"}
        delta: dict[str, Any] = {"@odata.type": f"#microsoft.graph.{entity}", "jobTitle": "Engineer"}
        if entity == "user":
            current["userPrincipalName"] = f"{first}.{last}{i}@contoso.com".lower().replace("'", "")
        elif entity == "group" and i % 3 == 0:
            delta["mail"] = f"team{i}@Contoso.com"
        if i % 11 == 0:
            current["onPremisesSyncEnabled"] = True
        items.append(
            {
                "id": guid(rng),
                "entityTypeName": entity,
                "displayName": name,
                "recoveryAction": rng.choice(ACTIONS),
                "deltaFromCurrent": delta,
                "currentState": current,
            }
        )
    return items


def page_url(offset: int) -> str:
    return f"https://graph.test/v1.0/directory/recovery/snapshots/S/recoveryPreviewJobs/J/getChanges?$skip={offset}"


def serve(items: list[dict[str, Any]], url: str, page_size: int) -> tuple[list[dict[str, Any]], str | None]:
    """The page behind ``url`` and its next link, like the service's ``$skip`` paging."""
    offset = int(url.rsplit("=", 1)[1])
    end = offset + page_size
    return items[offset:end], (page_url(end) if end < len(items) else None)


def recoverable_of(item: Mapping[str, Any]) -> bool | None:
    """A stand-in rule: on-premises-synced objects are not recoverable, policies unknown."""
    if item["entityTypeName"] == "conditionalAccessPolicy":
        return None
    return item["currentState"].get("onPremisesSyncEnabled") is not True
