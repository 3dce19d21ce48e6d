"""The emulator's own account of what changed between two of its snapshots (the ground truth a comparison of
two backups is checked against).

For every object written between the two snapshots: whether it existed (and was not in the deleted items) in
each, the recoverable properties whose values differ, and the static members added or removed. Only what a
difference report could show counts: recoverable properties (``catalog.RECOVERABLE``) and static group
membership; owner links, unsupported properties and hard-deleted objects are left out.
"""

from __future__ import annotations

from typing import Any

from entrabr_tui.emulator import catalog as c
from entrabr_tui.emulator.generate import entity_type
from entrabr_tui.emulator.history import DELETED, EXISTS, MEMBERS, History

PRESENT = "present"
DELETED_STATE = "deleted"
ABSENT = "absent"


def _state(hist: History, idx: int, upto: int) -> str:
    """``present`` (exists, not deleted), ``deleted`` (in the deleted items) or ``absent`` at snapshot
    ``upto``."""
    if not hist.value(idx, EXISTS, upto):
        return ABSENT
    return DELETED_STATE if hist.value(idx, DELETED, upto) is not None else PRESENT


def _touched(hist: History, low: int, high: int) -> dict[int, set[str]]:
    """Objects written after snapshot ``low`` up to snapshot ``high`` and the keys written."""
    out: dict[int, set[str]] = {}
    for layer in hist.layers[low + 1: high + 1]:
        for idx, patch in layer.items():
            out.setdefault(idx, set()).update(patch)
    return out


def truth_between(hist: History, a: int, b: int) -> list[dict[str, Any]]:
    """Objects that differ between snapshots ``a`` and ``b`` (indexes into ``hist.times``), by entity type
    then id; see the module docstring for what is compared."""
    low, high = min(a, b), max(a, b)
    layout = hist.layout
    out: list[dict[str, Any]] = []
    for idx, keys in _touched(hist, low, high).items():
        etype = entity_type(layout, hist.created, idx)
        if etype is None or etype not in c.RECOVERABLE:
            continue
        state_a, state_b = _state(hist, idx, a), _state(hist, idx, b)
        if ABSENT in (state_a, state_b) and state_a == state_b:
            continue
        properties: dict[str, dict[str, Any]] = {}
        members: dict[str, list[str]] = {"added": [], "removed": []}
        if ABSENT not in (state_a, state_b):
            for key in sorted(k for k in keys if k in c.RECOVERABLE[etype]):
                before, after = hist.value(idx, key, a), hist.value(idx, key, b)
                if before != after:
                    properties[key] = {"a": before, "b": after}
            for user in sorted({u for layer in hist.layers[low + 1: high + 1]
                                for u in layer.get(idx, {}).get(MEMBERS, {})}):
                before_m, after_m = hist.is_member(idx, user, a), hist.is_member(idx, user, b)
                if before_m != after_m:
                    members["added" if after_m else "removed"].append(layout.id_of(user))
        if state_a == state_b and not properties and not members["added"] and not members["removed"]:
            continue
        name = hist.value(idx, "displayName", b if state_b != ABSENT else a)
        out.append({"id": layout.id_of(idx), "entityType": etype, "displayName": name,
                    "a": state_a, "b": state_b, "properties": properties, "members": members})
    out.sort(key=lambda o: (o["entityType"], o["id"]))
    return out
