"""Clusters of changes: the same type, action, set of changed properties and old → new values (pure).

A cluster groups changes that look alike, so a whole campaign ("disabled and renamed 'DISABLED - …'",
"added the same guest to these groups") can be triaged at once. The key of a change is built from

* its object type and recovery action;
* for every changed property (``deltaFromCurrent`` differs from ``currentState``), the name with the backup
  value and the current value. A current text value that contains the backup text is written with the
  backup text replaced by ``⟨old⟩`` (so ``Zoe Evans`` → ``DISABLED - Zoe Evans`` and ``Kai Chen`` →
  ``DISABLED - Kai Chen`` are the same edit);
* ``deletedDateTime`` by name only (its value is a time that differs for every object);
* each link change (``members@delta`` …) by relationship, linked id and direction (added/removed since);

and the cluster id is a hash of that key (stable across runs and reports: a tag on a cluster applies to
the same edit in a later report).
"""

from __future__ import annotations

import hashlib
import json
import json.encoder
from functools import lru_cache
from typing import Any, NamedTuple

from .audit_model import ChangeFacts, is_mapping
from .text import display_text

OLD = "⟨old⟩"
_VALUE_TEXT = 40
_VOLATILE = frozenset({"deletedDateTime"})


class Cluster(NamedTuple):
    """A change's cluster: its id (hash of the key), type, action and a readable label."""

    id: str
    entity_type: str
    action: str
    label: str


#: What a key holds as it is (``bool`` is an ``int``); anything else as sorted compact JSON.
_AS_IS = (str, int, float, type(None))
#: Backup and current values that are both one of these are no change.
_EMPTY: tuple[None, str, list[Any]] = (None, "", [])


def _canon(value: Any) -> Any:
    """A value as the key holds it: scalars as they are, anything else as sorted compact JSON."""
    if isinstance(value, _AS_IS):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)


#: ``json.dumps(text, ensure_ascii=False)`` of a ``str``, without making an encoder for every value.
_json_text = json.encoder.encode_basestring
_JSON_CONSTANTS = {None: "null", True: "true", False: "false"}


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value if value.startswith(("{", "[")) else _json_text(value)
    if value is None or value is True or value is False:
        return _JSON_CONSTANTS[value]
    return json.dumps(value, ensure_ascii=False)


def _shown(value: Any) -> str:
    """A key's value as its label shows it: JSON text, made safe and cut to fit."""
    text = _text(value)
    if len(text) < _VALUE_TEXT and text.isprintable():
        return text  # (what display_text gives it)
    return display_text(text, limit=_VALUE_TEXT - 1)


#: How :func:`cluster_key` reads a name of ``deltaFromCurrent``.
_VALUE, _LINKS, _NAME_ONLY = 0, 1, 2
#: The names :func:`cluster_key` reads, sorted, with how, by the names of a ``deltaFromCurrent`` (a report's
#: changes have few sets of names); emptied when full.
_PLANS: dict[tuple[str, ...], tuple[tuple[str, int], ...]] = {}
_PLANS_MAX = 4096


#: Sets of more names than this, and keys with longer text, are not remembered (memory stays small).
_REMEMBERED_NAMES, _REMEMBERED_TEXT = 64, 1024


def _plan(names: tuple[str, ...]) -> tuple[tuple[str, int], ...]:
    plan = _PLANS.get(names)
    if plan is None:
        plan = tuple((key, _LINKS if key.endswith("@delta") else _NAME_ONLY if key in _VOLATILE else _VALUE)
                     for key in sorted(names) if not key.startswith("@"))  # ("" is a name too)
        if len(names) <= _REMEMBERED_NAMES:
            if len(_PLANS) >= _PLANS_MAX:
                _PLANS.clear()
            _PLANS[names] = plan
    return plan


def cluster_key(change: ChangeFacts) -> tuple[Any, ...]:
    """The value-equality key of a change (see the module docstring)."""
    items: list[tuple[Any, ...]] = []
    delta, current = change.delta, change.current
    for key, how in _plan(tuple(delta)):
        value = delta[key]
        if how == _VALUE:
            now = current.get(key)
            if value != now and not (value in _EMPTY and now in _EMPTY):
                if isinstance(value, str) and isinstance(now, str) and len(value) >= 3 and value in now:
                    items.append((key, OLD, now.replace(value, OLD)))  # the backup text edited
                else:
                    items.append((key, value if isinstance(value, _AS_IS) else _canon(value),
                                  now if isinstance(now, _AS_IS) else _canon(now)))
        elif how == _LINKS:
            links = sorted((str(e.get("id", "")).lower(), "+" if "@removed" in e else "-")
                           for e in (value if isinstance(value, list) else ()) if is_mapping(e))
            items.append((key, tuple(links)))
        else:
            items.append((key,))
    return (change.entity_type_raw, change.action_raw, tuple(items))


def cluster_id(key: tuple[Any, ...]) -> str:
    """The stable id of a cluster key (16 hex digits)."""
    return _hash_id(repr(key))


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


@lru_cache(maxsize=4096)
def _hash_id(text: str) -> str:
    """The hash of a key's text (a big report's changes share few keys: each is hashed once)."""
    return _digest(text)


#: ``(id, label)`` by a key's text, for :func:`cluster_id_and_label` (emptied when full).
_NAMED: dict[str, tuple[str, str]] = {}
_NAMED_MAX = 8192


def cluster_id_and_label(key: tuple[Any, ...]) -> tuple[str, str]:
    """:func:`cluster_id` and :func:`cluster_label` of a key; a key met again (by its text, so ``True``,
    ``1`` and ``1.0`` stay apart) is neither hashed nor labelled again."""
    text = repr(key)
    found = _NAMED.get(text)
    if found is None:
        found = (_digest(text), cluster_label(key))
        if len(text) <= _REMEMBERED_TEXT:
            if len(_NAMED) >= _NAMED_MAX:
                _NAMED.clear()
            _NAMED[text] = found
    return found


def cluster_label(key: tuple[Any, ...]) -> str:
    """A readable label of a cluster key (``accountEnabled: true → false; displayName: …``)."""
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
            parts.append(f"{item[0]}: {_shown(item[1])} → {_shown(item[2])}")
    return "; ".join(parts) or "(no property changes)"


def cluster_of(change: ChangeFacts) -> Cluster:
    """The cluster of one change."""
    key = cluster_key(change)
    return Cluster(cluster_id(key), change.entity_type_raw, change.action_raw, cluster_label(key))
