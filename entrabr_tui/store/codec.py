"""Small encoders shared by the store modules: timestamps, scopes, sync status and compact JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from entrabr_tui.core.model import (
    EntityNameAndIdsFilter,
    EntityNamesFilter,
    FilteringCriteria,
    SyncStatus,
    filter_from_json,
    filter_to_json,
)
from entrabr_tui.store.cache_schema import SYNC_UNKNOWN

_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def utc_now() -> datetime:
    return datetime.now(UTC)


def time_to_db(value: datetime | None) -> str | None:
    """Fixed-width UTC text, so that text order is time order."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime(_TIME_FORMAT)


def time_from_db(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.strptime(value, _TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


def loads(value: bytes | str | None) -> Any:
    return None if value is None else orjson.loads(value)


def scope_key(scope: FilteringCriteria | None) -> str:
    """A canonical text for a job scope, equal for scopes that select the same objects.

    Order of types and ids does not matter, ids compare case-insensitively (directory ids are GUIDs) and a
    type listed twice is merged. ``None`` (all supported objects) is ``"all"``.
    """
    if scope is None:
        return "all"
    if isinstance(scope, EntityNamesFilter):
        return "types:" + ",".join(sorted({t.strip() for t in scope.entity_types}))
    if isinstance(scope, EntityNameAndIdsFilter):
        merged: dict[str, set[str]] = {}
        for entity_type, ids in scope.values:
            merged.setdefault(entity_type.strip(), set()).update(i.strip().lower() for i in ids)
        parts = [f"{t}=" + ",".join(sorted(ids)) for t, ids in sorted(merged.items())]
        return "ids:" + ";".join(parts)
    return "unknown:" + dumps(filter_to_json(scope)).decode()


def scope_to_db(scope: FilteringCriteria | None) -> bytes | None:
    data = filter_to_json(scope)
    return None if data is None else dumps(data)


def scope_from_db(value: bytes | str | None) -> FilteringCriteria | None:
    if value is None:
        return None
    try:
        return filter_from_json(orjson.loads(value))
    except orjson.JSONDecodeError:
        return None


#: ``on_prem`` column values (see :mod:`entrabr_tui.store.cache_schema`).
_SYNC_TO_DB = {SyncStatus.SYNCED: 1, SyncStatus.CLOUD: 0, SyncStatus.UNKNOWN: SYNC_UNKNOWN}
_SYNC_FROM_DB = {v: k for k, v in _SYNC_TO_DB.items()}


def sync_to_db(status: SyncStatus) -> int:
    return _SYNC_TO_DB[status]


def sync_from_db(value: object) -> SyncStatus:
    """The sync status an ``on_prem`` value holds (anything unexpected reads as unknown)."""
    return _SYNC_FROM_DB.get(value, SyncStatus.UNKNOWN) if isinstance(value, int) else SyncStatus.UNKNOWN
