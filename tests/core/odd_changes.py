"""Change objects of every odd shape (seeded), and the cluster key, label and equality parts of a change
computed the straightforward way, to hold the quick ways of computing them to.

The values include those Python finds equal but JSON does not (``True``, ``1``, ``1.0``; ``0.0`` and
``-0.0``), what JSON cannot hold (NaN, infinities, integers too large, keys that are no text, a lone
surrogate), text that JSON or a terminal escapes, nested objects and lists, links of every shape, and
missing or mistyped fields.
"""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

from entrabr_tui.core.audit_clusters import OLD
from entrabr_tui.core.audit_join import _CREDENTIAL_KEYS, _LINK_ACTIVITIES, EqualityPart, _parts
from entrabr_tui.core.audit_model import ChangeFacts, is_mapping
from entrabr_tui.core.audit_names import has_whole_names
from entrabr_tui.core.text import display_text

SCALARS: list[Any] = [
    True, False, 1, 0, 1.0, 0.0, -0.0, 2**70, -5, 3.5, 1e300, float("nan"), float("inf"), float("-inf"),
    None, "", "abc", "xabcx", "ABC", "Zoe Evans", "DISABLED - Zoe Evans", 'say "hi"', "back\\slash",
    "tab\there\nnew line", "\x00\x1f\x7f\x9b", "é ü 日本 🙂", "\u2028", "\ud800", "{not json", "[x", "a" * 60,
    "ß", "İ", "+1 555 0100",
]
CONTAINERS: list[Any] = [
    [], [1, "a"], [True], [1.0], [{"id": "A"}], [{"id": "A", "x": 1}, {"id": "b"}], [{"id": 5}], [{"x": 1}],
    {}, {"a": 1}, {"a": True}, {"a": {"b": [1, 2]}}, {"@x": 1}, {7: "seven"}, {"a": float("nan")},
    {"extensionAttribute1": "a", "extensionAttribute2": None}, [[]], [None],
]
LINKS: list[Any] = [
    {"@odata.type": "#microsoft.graph.user", "id": "ABC-1"},
    {"id": "abc-1", "@removed": {"reason": "changed"}},
    {"id": "İd-2", "@removed": None},
    {"id": 5}, {"id": None}, {}, "not an object", 3, {"id": ""},
]
NAMES = [
    "@odata.type", "", "deletedDateTime", "jobTitle", "JobTitle", "accountEnabled", "displayName",
    "members@delta", "owners@delta", "memberOf@delta", "Members@delta", "transitiveMembers@delta",
    "foo@odata.bind", "passwordCredentials", "keyCredentials", "visibility", "Visibility", "straße", "İd",
    "usageLocation", "onPremisesExtensionAttributes", "conditions", "otherMails", "@removed",
]
#: Values Python finds equal (or treats alike) that are other JSON values.
TWINS: list[tuple[Any, Any]] = [(True, 1), (1, 1.0), (1.0, True), (False, 0), (0, -0.0), (0.0, -0.0),
                                (None, ""), ("", []), ([], None), ({}, {"@x": 1})]
ENTITIES: list[Any] = ["user", "user", "group", "application", "servicePrincipal", "conditionalAccessPolicy",
                       "namedLocation", "", None, 5, "someFutureType"]
ACTIONS: list[Any] = ["update", "update", "restore", "softDelete", "", None, 3, "unknownFutureValue"]


def _value(rng: random.Random) -> Any:
    return rng.choice(SCALARS) if rng.random() < 0.75 else rng.choice(CONTAINERS)


def _pair(rng: random.Random, name: str) -> tuple[Any, Any]:
    """A backup value and a current value for a name (``...`` for "no current value")."""
    if name.endswith("@delta"):
        links = rng.choice([[rng.choice(LINKS) for _ in range(rng.randint(0, 3))], {"id": "x"}, None, "x"])
        return links, ...
    old = _value(rng)
    roll = rng.random()
    if roll < 0.2:
        return old, old                                   # the same object: no change
    if roll < 0.35:
        return rng.choice(TWINS)                          # equal in Python, another JSON value
    if roll < 0.45:
        return old, ...
    if roll < 0.55 and isinstance(old, str):
        return old, f"DISABLED - {old}"
    return old, _value(rng)


def odd_change(rng: random.Random, i: int) -> Any:
    """One raw change object (most of them readable)."""
    roll = rng.random()
    if roll < 0.02:
        return rng.choice([None, [], "change", 7])
    delta: dict[Any, Any] = {}
    current: dict[Any, Any] = {}
    for name in rng.sample(NAMES, rng.randint(0, 6)):
        old, new = _pair(rng, name)
        delta[name] = old
        if new is not ...:
            current[name] = new
    raw: dict[str, Any] = {"id": f"{i:08X}-Aa", "entityTypeName": rng.choice(ENTITIES),
                           "recoveryAction": rng.choice(ACTIONS), "deltaFromCurrent": delta,
                           "currentState": current}
    if roll < 0.06:
        raw["deltaFromCurrent"] = rng.choice([None, [], "x", {"a": 1}])
    elif roll < 0.1:
        raw["currentState"] = rng.choice([None, [], "x"])
    elif roll < 0.12:
        del raw["entityTypeName"], raw["recoveryAction"]
    return raw


def odd_changes(seed: int, count: int) -> list[Any]:
    rng = random.Random(seed)
    return [odd_change(rng, i) for i in range(count)]


# The straightforward computations (as first written; an empty name is a name like any other).

def _canon(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)


def _differs(delta: Any, current: Any) -> bool:
    return delta != current and not (delta in (None, "", []) and current in (None, "", []))


def _value_pair(old: Any, new: Any) -> tuple[Any, Any]:
    if isinstance(old, str) and isinstance(new, str) and len(old) >= 3 and old in new and old != new:
        return OLD, new.replace(old, OLD)
    return _canon(old), _canon(new)


def reference_key(change: ChangeFacts) -> tuple[Any, ...]:
    items: list[tuple[Any, ...]] = []
    delta, current = change.delta, change.current
    for key in sorted(delta):
        if key.startswith("@"):
            continue
        value = delta[key]
        if key.endswith("@delta"):
            links = sorted((str(e.get("id", "")).lower(), "+" if "@removed" in e else "-")
                           for e in (value if isinstance(value, list) else ()) if is_mapping(e))
            items.append((key, tuple(links)))
            continue
        now = current.get(key)
        if key == "deletedDateTime":
            items.append((key,))
        elif _differs(value, now):
            items.append((key, *_value_pair(value, now)))
    return (change.entity_type_raw, change.action_raw, tuple(items))


def reference_id(key: tuple[Any, ...]) -> str:
    return hashlib.blake2b(repr(key).encode(), digest_size=8).hexdigest()


def _text(value: Any) -> str:
    if isinstance(value, str) and value.startswith(("{", "[")):
        return value
    return json.dumps(value, ensure_ascii=False)


def reference_label(key: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in key[2]:
        if len(item) == 1:
            parts.append(str(item[0]))
        elif len(item) == 2:
            links = item[1]
            added = sum(1 for _, d in links if d == "+")
            removed = len(links) - added
            who = f" {links[0][0]}" if len(links) == 1 else ""
            parts.append(f"{item[0][: -len('@delta')]}{who} " + ", ".join(
                t for t in (f"+{added}" if added else "", f"-{removed}" if removed else "") if t))
        else:
            old, new = (display_text(_text(v), limit=39) for v in item[1:])
            parts.append(f"{item[0]}: {old} → {new}")
    return "; ".join(parts) or "(no property changes)"


def reference_parts(change: ChangeFacts) -> list[EqualityPart] | None:
    if has_whole_names(change.entity_type_raw):
        return None
    out: list[EqualityPart] = []
    for part in _parts(change):
        if part.kind == "value" and part.key not in _CREDENTIAL_KEYS and not part.transform:
            out.append(EqualityPart("value", part.key.casefold(), "", part.current))
        elif part.kind == "link" and part.key.casefold() in _LINK_ACTIVITIES:
            out.append(EqualityPart("link", part.key.casefold(), part.sub, bool(part.current)))
        else:
            return None
    return out or None
