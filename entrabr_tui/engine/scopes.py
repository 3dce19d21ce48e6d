"""Comparing and describing job scopes (``filteringCriteria``).

Two jobs have the same scope when they cover the same objects however the service echoes the filter back:
type lists and ID lists compare as sets, IDs case-insensitively (they are GUIDs), and an empty ID filter
equals no IDs at all. ``None`` (every supported object) is distinct from any filter.
"""

from __future__ import annotations

import orjson

from entrabr_tui.core.model import (
    EntityNameAndIdsFilter,
    EntityNamesFilter,
    FilteringCriteria,
    filter_from_json,
)

ScopeKey = tuple[str, tuple[tuple[str, tuple[str, ...]], ...]]


def scope_key(scope: FilteringCriteria | None) -> ScopeKey:
    """A canonical, hashable form of a scope."""
    if scope is None:
        return ("all", ())
    if isinstance(scope, EntityNamesFilter):
        return ("types", tuple((t, ()) for t in sorted(set(scope.entity_types))))
    merged: dict[str, set[str]] = {}
    for entity_type, ids in scope.values:
        merged.setdefault(entity_type, set()).update(i.lower() for i in ids)
    return ("ids", tuple((t, tuple(sorted(merged[t]))) for t in sorted(merged)))


def same_scope(a: FilteringCriteria | None, b: FilteringCriteria | None) -> bool:
    """True when both scopes cover the same objects."""
    return scope_key(a) == scope_key(b)


def scope_to_text(scope: FilteringCriteria | None) -> str:
    """A stable JSON text of a scope for storage (``"null"`` for every object)."""
    return orjson.dumps(None if scope is None else scope.to_json(), option=orjson.OPT_SORT_KEYS).decode()


def scope_from_text(text: str | None) -> FilteringCriteria | None:
    """The scope stored by :func:`scope_to_text`; unreadable text gives ``None``."""
    if not text:
        return None
    try:
        return filter_from_json(orjson.loads(text))
    except orjson.JSONDecodeError:
        return None


def describe_scope(scope: FilteringCriteria | None) -> str:
    """``all objects``, ``types user, group`` or ``12 objects (user 10, group 2)``."""
    if scope is None:
        return "all objects"
    if isinstance(scope, EntityNamesFilter):
        return "types " + ", ".join(scope.entity_types) if scope.entity_types else "no types"
    assert isinstance(scope, EntityNameAndIdsFilter)
    parts = ", ".join(f"{t} {len(ids)}" for t, ids in scope.values)
    return f"{scope.id_count} objects ({parts})"


def scope_size(scope: FilteringCriteria | None) -> int | None:
    """Objects named by an ID scope; ``None`` for type or unscoped jobs (size unknown beforehand)."""
    if isinstance(scope, EntityNameAndIdsFilter):
        return scope.id_count
    return None
