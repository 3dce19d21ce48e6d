"""Domain model of Microsoft Entra Backup and Recovery, independent of Graph SDK types and of any I/O.

Everything here is built from plain JSON-like dicts (as decoded from Graph) so that the Graph layer, the
cache and the UI share one vocabulary. Unknown enum values never raise: they map to
``UNKNOWN_FUTURE_VALUE`` while the raw string is kept for display. A change object that cannot be read
(a missing id, a field of the wrong JSON type) never raises either: it becomes a :class:`Change` flagged
``unreadable`` that keeps the object as the service sent it.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Self

NAMESPACE = "microsoft.graph.entraRecoveryServices"
PREVIEW_JOB_ODATA_TYPE = f"#{NAMESPACE}.recoveryPreviewJob"
RECOVERY_JOB_ODATA_TYPE = f"#{NAMESPACE}.recoveryJob"
ENTITY_NAMES_FILTER_ODATA_TYPE = f"#{NAMESPACE}.recoveryJobEntityNamesFilter"
ENTITY_NAME_AND_IDS_FILTER_ODATA_TYPE = f"#{NAMESPACE}.recoveryJobEntityNameAndIdsFilter"

#: The service caps a type+ID scope at 100 object IDs (portal limit; assumed for the API too).
MAX_IDS_PER_JOB = 100


class _LenientEnum(StrEnum):
    """A string enum whose ``parse`` maps unknown values to ``unknownFutureValue`` instead of raising."""

    @classmethod
    def parse(cls, value: object) -> Self:
        if isinstance(value, str):
            try:
                return cls(value)
            except ValueError:
                pass
        return cls("unknownFutureValue")


class RecoveryStatus(_LenientEnum):
    """Status of a preview (difference report) or recovery job."""

    INITIALIZED = "initialized"
    LOADING_DATA = "loadingData"
    CALCULATING = "calculating"
    RUNNING = "running"
    SUCCESSFUL = "successful"
    FAILED = "failed"
    ABANDONED = "abandoned"
    UNKNOWN_FUTURE_VALUE = "unknownFutureValue"

    @property
    def is_terminal(self) -> bool:
        return self in (RecoveryStatus.SUCCESSFUL, RecoveryStatus.FAILED, RecoveryStatus.ABANDONED)


class RecoveryAction(_LenientEnum):
    """What a recovery does (or did) to one object."""

    UPDATE = "update"
    RESTORE = "restore"
    SOFT_DELETE = "softDelete"
    UNKNOWN_FUTURE_VALUE = "unknownFutureValue"

    @property
    def glyph(self) -> str:
        """Text glyph shown next to the action (never colour alone)."""
        return {"update": "~", "restore": "+", "softDelete": "−"}.get(self.value, "?")


class ResourceType(_LenientEnum):
    """Kinds of directory objects the service backs up (``resourceTypeName``)."""

    USER = "user"
    GROUP = "group"
    CONDITIONAL_ACCESS_POLICY = "conditionalAccessPolicy"
    NAMED_LOCATION_POLICY = "namedLocationPolicy"
    AUTHENTICATION_METHOD_POLICY = "authenticationMethodPolicy"
    AUTHORIZATION_POLICY = "authorizationPolicy"
    AUTHENTICATION_STRENGTH_POLICY = "authenticationStrengthPolicy"
    APPLICATION = "application"
    SERVICE_PRINCIPAL = "servicePrincipal"
    OAUTH2_PERMISSION_GRANT = "oAuth2PermissionGrant"
    APP_ROLE_ASSIGNMENT = "appRoleAssignment"
    ORGANIZATION = "organization"
    UNKNOWN_FUTURE_VALUE = "unknownFutureValue"


class SyncStatus(StrEnum):
    """Whether an object is synchronised from on-premises now: ``synced``, ``cloud`` or ``unknown``.

    Only users and groups can be synchronised; every other type is ``cloud``. Difference reports rarely say
    (Microsoft's ``getChanges`` examples never carry ``onPremisesSyncEnabled``), so for users and groups the
    status is ``unknown`` until the payload says so or the directory is asked.
    """

    SYNCED = "synced"
    CLOUD = "cloud"
    UNKNOWN = "unknown"

    @property
    def flag(self) -> bool | None:
        """``True`` synced, ``False`` cloud, ``None`` unknown (the JSON form of exports and the CLI)."""
        return {"synced": True, "cloud": False}.get(self.value)

    @classmethod
    def from_flag(cls, flag: bool | None) -> SyncStatus:
        return cls.UNKNOWN if flag is None else cls.SYNCED if flag else cls.CLOUD


#: Types whose objects can be synchronised from on-premises (the directory is asked about these only).
SYNCABLE_TYPES = frozenset({ResourceType.USER, ResourceType.GROUP})


def payload_sync_status(entity_type: ResourceType, current: Mapping[str, Any],
                        delta: Mapping[str, Any]) -> SyncStatus:
    """The sync status a change object states: ``onPremisesSyncEnabled`` of ``currentState`` (the live
    object, which is what recovery acts on), else of ``deltaFromCurrent`` (when a payload puts it in one
    state only); ``true`` is synced, ``false`` or ``null`` cloud. Users and groups that state neither are
    ``unknown``; other types are ``cloud`` (their ``onPremisesSyncEnabled``, as on ``organization``, means
    something else)."""
    if entity_type not in SYNCABLE_TYPES:
        return SyncStatus.CLOUD
    for source in (current, delta):
        if "onPremisesSyncEnabled" in source:
            return SyncStatus.SYNCED if source["onPremisesSyncEnabled"] is True else SyncStatus.CLOUD
    return SyncStatus.UNKNOWN


class JobKind(StrEnum):
    """The two kinds of jobs; values are the OData type names."""

    PREVIEW = "recoveryPreviewJob"
    RECOVERY = "recoveryJob"


def parse_datetime(value: object) -> datetime | None:
    """Parse a Graph ``DateTimeOffset`` (``Z`` suffix, up to 7 fractional digits) to an aware UTC datetime."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith("Z") or text.endswith("z"):
        text = text[:-1] + "+00:00"
    # Python accepts at most 6 fractional digits; Graph may send 7.
    if "." in text:
        head, _, rest = text.partition(".")
        digits = ""
        i = 0
        while i < len(rest) and rest[i].isdigit():
            digits += rest[i]
            i += 1
        text = f"{head}.{digits[:6].ljust(6, '0')}{rest[i:]}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_datetime(value: datetime) -> str:
    """Format an aware datetime the way Graph does (``2026-07-27T22:00:00Z``)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def snapshot_id_for(created: datetime) -> str:
    """An id in the style one live tenant used (base64 of the epoch seconds), for building test data.

    Snapshot ids are opaque: entrabr itself never builds or decodes one; it uses the ids the service gave.
    """
    return base64.b64encode(str(int(created.timestamp())).encode()).decode()


def snapshot_time_from_id(snapshot_id: str) -> datetime | None:
    """Best-effort decode of a snapshot ID (epoch seconds or ISO text, both seen in the wild).

    For diagnostics and tests only: entrabr never derives a backup's time from its id (ids are opaque).
    """
    try:
        text = base64.b64decode(snapshot_id, validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    if text.isdigit():
        return datetime.fromtimestamp(int(text), tz=UTC)
    return parse_datetime(text)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One daily backup of the tenant."""

    id: str
    created: datetime
    total_changed_objects: int | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Snapshot:
        created = parse_datetime(data.get("createdDateTime"))
        total = data.get("totalChangedObjects")
        return cls(
            id=str(data["id"]),
            created=created or datetime.fromtimestamp(0, tz=UTC),
            total_changed_objects=total if isinstance(total, int) else None,
        )


@dataclass(frozen=True, slots=True)
class EntityNamesFilter:
    """Scope a job to whole object types."""

    entity_types: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"@odata.type": ENTITY_NAMES_FILTER_ODATA_TYPE, "entityTypes": list(self.entity_types)}


@dataclass(frozen=True, slots=True)
class EntityNameAndIdsFilter:
    """Scope a job to chosen objects: one entry per type, each with object IDs."""

    values: tuple[tuple[str, tuple[str, ...]], ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "@odata.type": ENTITY_NAME_AND_IDS_FILTER_ODATA_TYPE,
            "filterValues": [{"entityType": t, "entityIds": list(ids)} for t, ids in self.values],
        }

    @property
    def id_count(self) -> int:
        return sum(len(ids) for _, ids in self.values)


FilteringCriteria = EntityNamesFilter | EntityNameAndIdsFilter


def filter_from_json(data: object) -> FilteringCriteria | None:
    """Decode a ``filteringCriteria`` object; ``None`` for an unscoped job or an unknown shape."""
    if not isinstance(data, Mapping):
        return None
    odata_type = str(data.get("@odata.type", ""))
    if odata_type.endswith("recoveryJobEntityNamesFilter") or "entityTypes" in data:
        types = data.get("entityTypes") or []
        return EntityNamesFilter(tuple(str(t) for t in types))
    if odata_type.endswith("recoveryJobEntityNameAndIdsFilter") or "filterValues" in data:
        values = []
        for item in data.get("filterValues") or []:
            if isinstance(item, Mapping):
                ids = tuple(str(i) for i in item.get("entityIds") or [])
                values.append((str(item.get("entityType", "")), ids))
        return EntityNameAndIdsFilter(tuple(values))
    return None


def filter_to_json(criteria: FilteringCriteria | None) -> dict[str, Any] | None:
    return None if criteria is None else criteria.to_json()


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True, slots=True)
class Job:
    """A preview (difference report) or recovery job, as the service reports it."""

    kind: JobKind
    id: str
    status: RecoveryStatus
    status_raw: str
    target_state: datetime | None = None
    started: datetime | None = None
    completed: datetime | None = None
    filtering: FilteringCriteria | None = None
    total_changed_objects: int | None = None
    total_changed_links: int | None = None
    total_objects_modified: int | None = None
    total_links_modified: int | None = None
    total_failed_changes: int | None = None
    snapshot_id: str | None = None
    """The backup this job belongs to, as the service named it: the snapshot path the job was read,
    listed or created under, or the cached snapshot whose ``createdDateTime`` is the job's
    ``targetStateDateTime``. ``None`` when unknown; never built from the job's time."""

    @property
    def is_terminal(self) -> bool:
        return self.status.is_terminal

    @classmethod
    def from_json(cls, data: Mapping[str, Any], kind: JobKind | None = None, *,
                  snapshot_id: str | None = None) -> Job:
        """Build from a job JSON object; ``kind`` is taken from ``@odata.type`` when present.

        ``snapshot_id`` is the snapshot path the object was read from, when it was read under one."""
        odata_type = str(data.get("@odata.type", ""))
        if odata_type.endswith(".recoveryJob"):
            kind = JobKind.RECOVERY
        elif odata_type.endswith(".recoveryPreviewJob"):
            kind = JobKind.PREVIEW
        if kind is None:
            kind = JobKind.RECOVERY if "totalObjectsModified" in data else JobKind.PREVIEW
        raw_status = str(data.get("status") or "unknownFutureValue")
        return cls(
            kind=kind,
            id=str(data["id"]),
            status=RecoveryStatus.parse(raw_status),
            status_raw=raw_status,
            target_state=parse_datetime(data.get("targetStateDateTime")),
            started=parse_datetime(data.get("jobStartDateTime")),
            completed=parse_datetime(data.get("jobCompletionDateTime")),
            filtering=filter_from_json(data.get("filteringCriteria")),
            total_changed_objects=_int_or_none(data.get("totalChangedObjectsCalculated")),
            total_changed_links=_int_or_none(data.get("totalChangedLinksCalculated")),
            total_objects_modified=_int_or_none(data.get("totalObjectsModified")),
            total_links_modified=_int_or_none(data.get("totalLinksModified")),
            total_failed_changes=_int_or_none(data.get("totalFailedChanges")),
            snapshot_id=snapshot_id,
        )


def _json_kind(value: object) -> str:
    """The JSON type of a decoded value, in words ("a number", "a list", ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


def _text_field(data: Mapping[str, Any], key: str, *, required: bool) -> str | None:
    value = data.get(key)
    if value is None:
        return f"no '{key}'" if required else None
    if not isinstance(value, str):
        return f"'{key}' is {_json_kind(value)}, not a string"
    if required and not value:
        return f"'{key}' is empty"
    return None


def change_problem(data: object) -> str | None:
    """Why a change object cannot be read as one, or ``None`` when it can.

    Readable means: an ``id`` (or the ``objectId`` one beta example uses instead), ``entityTypeName`` and
    ``recoveryAction`` are non-empty strings; ``displayName`` and ``failureMessage`` are strings or null;
    ``deltaFromCurrent`` and ``currentState`` are objects or null. An enum value this code does not know
    is readable (it is kept as its raw string). Several problems are joined with ``"; "``.
    """
    if type(data) is dict:  # the common, well-formed case without building anything
        object_id, entity, action = data.get("id"), data.get("entityTypeName"), data.get("recoveryAction")
        if type(object_id) is str and object_id and type(entity) is str and entity and type(action) is str \
                and action:
            delta, current = data.get("deltaFromCurrent"), data.get("currentState")
            name, failure = data.get("displayName"), data.get("failureMessage")
            if (delta is None or type(delta) is dict) and (current is None or type(current) is dict) \
                    and (name is None or type(name) is str) and (failure is None or type(failure) is str):
                return None
    if not isinstance(data, Mapping):
        return f"the change is {_json_kind(data)}, not an object"
    problems: list[str] = []
    object_id = data.get("id")
    if object_id is None and isinstance(data.get("objectId"), str):
        object_id_problem = _text_field(data, "objectId", required=True)
    else:
        object_id_problem = _text_field(data, "id", required=True)
    for problem in (
        object_id_problem,
        _text_field(data, "entityTypeName", required=True),
        _text_field(data, "recoveryAction", required=True),
        _text_field(data, "displayName", required=False),
        _text_field(data, "failureMessage", required=False),
    ):
        if problem is not None:
            problems.append(problem)
    for key in ("deltaFromCurrent", "currentState"):
        value = data.get(key)
        if value is not None and not isinstance(value, Mapping):
            problems.append(f"'{key}' is {_json_kind(value)}, not an object")
    return "; ".join(problems) if problems else None


def _enum_text(value: object) -> str:
    return value if isinstance(value, str) and value else "unknownFutureValue"


@dataclass(frozen=True, slots=True)
class Change:
    """One change object from ``getChanges`` (or ``getFailedChanges``).

    ``delta`` is ``deltaFromCurrent`` (the backup values recovery would write) and ``current`` is
    ``currentState`` (the live values of the same properties). A report may hold several change objects
    of one directory object; each is its own ``Change``.

    ``unreadable`` is ``None`` for a change that could be read, otherwise the reason it could not (see
    :func:`change_problem`); then ``raw`` holds the object exactly as the service sent it, and the other
    fields hold what could be salvaged (an empty ``id`` when there was no string id).

    ``sync_status`` is what is known beyond the payload (the cache sets it from a directory lookup);
    ``None`` leaves it to the payload (see :attr:`sync`).
    """

    id: str
    entity_type: ResourceType
    entity_type_raw: str
    action: RecoveryAction
    action_raw: str
    display_name: str
    delta: dict[str, Any] = field(default_factory=dict)
    current: dict[str, Any] = field(default_factory=dict)
    failure_message: str | None = None
    unreadable: str | None = None
    raw: Any = None  # the change object as sent, kept when it is unreadable
    sync_status: SyncStatus | None = None

    @property
    def readable(self) -> bool:
        """False when the service sent something that is not a well-formed change object."""
        return self.unreadable is None

    @property
    def sync(self) -> SyncStatus:
        """Whether the object is synced from on-premises *now*: looked up, else as the payload states it
        (see :func:`payload_sync_status`). An object whose source of authority moved to the cloud after the
        backup is recovered, so only the live state counts."""
        if self.sync_status is not None:
            return self.sync_status
        return payload_sync_status(self.entity_type, self.current, self.delta)

    @property
    def on_premises_synced(self) -> bool:
        """The object is known to be synced from on-premises (then recovery leaves it alone)."""
        return self.sync is SyncStatus.SYNCED

    def with_sync(self, status: SyncStatus | None) -> Change:
        """This change with the sync status known beyond its payload (``None``, or the status it has
        already: itself)."""
        return self if status is None or status is self.sync else replace(self, sync_status=status)

    @property
    def principal_name(self) -> str | None:
        """UPN or mail, where the object has one (for display and search)."""
        for source in (self.current, self.delta):
            for key in ("userPrincipalName", "mail"):
                value = source.get(key)
                if isinstance(value, str) and value:
                    return value
        return None

    @classmethod
    def from_json(cls, data: object) -> Change:
        """Build from a change object as decoded from JSON. Never raises: see ``unreadable``."""
        problem = change_problem(data)
        source: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
        object_id = source.get("id")
        if object_id is None:
            object_id = source.get("objectId")
        entity_raw = _enum_text(source.get("entityTypeName"))
        action_raw = _enum_text(source.get("recoveryAction"))
        delta = source.get("deltaFromCurrent")
        current = source.get("currentState")
        name = source.get("displayName")
        failure = source.get("failureMessage")
        return cls(
            id=object_id if isinstance(object_id, str) else "",
            entity_type=ResourceType.parse(entity_raw),
            entity_type_raw=entity_raw,
            action=RecoveryAction.parse(action_raw),
            action_raw=action_raw,
            display_name=name if isinstance(name, str) else "",
            delta=dict(delta) if isinstance(delta, Mapping) else {},
            current=dict(current) if isinstance(current, Mapping) else {},
            failure_message=failure if isinstance(failure, str) else None,
            unreadable=problem,
            raw=None if problem is None else data,
        )
