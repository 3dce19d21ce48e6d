"""Deterministic directory audit records for the store tests and benchmarks (not a test module).

:func:`audit_for` writes, for change items of :mod:`synth` shape (``jobTitle`` Engineer → Manager), the
``Update …`` records that explain them (every changed property, by its name with a capital first letter;
``Delete …``/``Add …`` too for restores and soft-deletes): most by one "rogue" app under a few correlation
ids, the rest by two admins, plus ``Hard Delete user`` records of other objects.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

START = datetime(2026, 3, 20, 22, 0, tzinfo=UTC)
ROGUE = {"user": None, "app": {"displayName": "Rogue Automation", "appId": None,
                               "servicePrincipalId": "5a5a5a5a-0000-4000-8000-000000000001"}}
NOUNS = {"user": "user", "group": "group", "application": "application",
         "servicePrincipal": "service principal", "conditionalAccessPolicy": "conditional access policy"}
ROGUE_KEY = "5a5a5a5a-0000-4000-8000-000000000001"
ADMINS = [{"user": {"id": f"a0a0a0a0-0000-4000-8000-00000000000{i}", "displayName": f"Admin {i}",
                    "userPrincipalName": f"admin{i}@contoso.com", "ipAddress": "203.0.113.9"}, "app": None}
          for i in (1, 2)]


def stamp(when: datetime) -> str:
    return f"{when:%Y-%m-%dT%H:%M:%S}.{when.microsecond:06d}0Z"


def record(i: int, when: datetime, activity: str, initiator: dict[str, Any], targets: list[dict[str, Any]],
           corr: str) -> dict[str, Any]:
    return {"id": f"Directory_{corr}_{i:08d}", "activityDateTime": stamp(when),
            "activityDisplayName": activity, "category": "UserManagement", "correlationId": corr,
            "loggedByService": "Core Directory",
            "operationType": "Update", "result": "success", "resultReason": "", "initiatedBy": initiator,
            "targetResources": targets}


def audit_for(items: Sequence[dict[str, Any]], seed: int = 1, *, rogue_share: float = 0.8,
              purges: int = 5) -> list[dict[str, Any]]:
    """Records explaining every ``jobTitle`` change of ``items``, oldest first."""
    rng = random.Random(seed)
    corrs = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(8)]
    out = []
    for i, item in enumerate(items):
        when = START + timedelta(seconds=1 + i * 0.05)
        rogue = rng.random() < rogue_share
        initiator = ROGUE if rogue else ADMINS[i % 2]
        corr = corrs[i % 3] if rogue else corrs[3 + i % 5]
        delta, current = item["deltaFromCurrent"], item["currentState"]
        names = [k for k in delta if not k.startswith("@") and delta[k] != current.get(k)]
        props = [{"displayName": k[:1].upper() + k[1:], "oldValue": json.dumps([delta[k]]),
                  "newValue": json.dumps([current[k]] if current.get(k) is not None else [])} for k in names]
        props.append({"displayName": "Included Updated Properties", "oldValue": None,
                      "newValue": json.dumps(", ".join(p["displayName"] for p in props))})
        noun = NOUNS[item["entityTypeName"]]
        target = {"id": item["id"], "type": noun.title(), "modifiedProperties": props}
        out.append(record(i, when, f"Update {noun}", initiator, [target], corr))
        life = {"restore": "Delete", "softDelete": "Add"}.get(item["recoveryAction"])
        if life is not None:
            out.append(record(i + 10_000_000, when, f"{life} {noun}", initiator,
                              [{"id": item["id"], "type": noun.title(), "modifiedProperties": []}], corr))
    for j in range(purges):
        when = START + timedelta(seconds=len(items) * 0.05 + 10 + j)
        purged = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        flag = {"displayName": "Is Hard Deleted", "oldValue": None, "newValue": '"True"'}
        upn = f"{purged.replace('-', '')}gone{j}@contoso.com"
        out.append(record(len(items) + j, when, "Hard Delete user", ROGUE, [{
            "id": purged, "type": "User", "userPrincipalName": upn, "modifiedProperties": [flag]}], corrs[0]))
    return out
