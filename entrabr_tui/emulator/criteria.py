"""Job creation bodies: validate ``filteringCriteria`` and map it to a directory `Scope`."""

from __future__ import annotations

from typing import Any

import orjson

from .directory import Scope
from .enums import NAMESPACE, SCOPABLE_TYPES, UNKNOWN
from .graph_errors import MSG_BAD_JSON, bad_request

NAMES_FILTER = f"#{NAMESPACE}.recoveryJobEntityNamesFilter"
NAME_AND_IDS_FILTER = f"#{NAMESPACE}.recoveryJobEntityNameAndIdsFilter"
MAX_SCOPED_IDS = 100
_JOB_TYPES = {f"#{NAMESPACE}.recoveryPreviewJob", f"#{NAMESPACE}.recoveryJob"}


def _reject_unknown_properties(doc: dict[str, Any], allowed: set[str], owner: str) -> None:
    """Graph's 400 for the first (by name) property ``owner`` does not declare."""
    extra = set(doc) - allowed
    if extra:
        raise bad_request(f"The property '{sorted(extra)[0]}' does not exist on {owner}.")


def _type_name(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise bad_request("filteringCriteria needs an '@odata.type' naming "
                          "recoveryJobEntityNamesFilter or recoveryJobEntityNameAndIdsFilter.")
    name = value if value.startswith("#") else f"#{value}"
    if name.count(".") == 0:
        name = f"#{NAMESPACE}.{name[1:]}"
    return name


def _entity_type(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise bad_request(f"{where} must be a resourceTypeName string.")
    if value == UNKNOWN or value not in SCOPABLE_TYPES:
        raise bad_request(f"The string '{value}' is not a valid enumerated type constant for "
                          f"resourceTypeName ({where}).")
    return value


def _names_filter(doc: dict[str, Any]) -> tuple[Scope, dict[str, Any]]:
    _reject_unknown_properties(doc, {"@odata.type", "entityTypes"}, "type recoveryJobEntityNamesFilter")
    types = doc.get("entityTypes")
    if not isinstance(types, list) or not types:
        raise bad_request("recoveryJobEntityNamesFilter.entityTypes must be a non-empty array.")
    names = [_entity_type(t, "entityTypes") for t in types]
    unique = list(dict.fromkeys(names))
    return Scope(types=frozenset(unique)), {"@odata.type": NAMES_FILTER, "entityTypes": unique}


def _ids_filter(doc: dict[str, Any]) -> tuple[Scope, dict[str, Any]]:
    _reject_unknown_properties(doc, {"@odata.type", "filterValues"}, "type recoveryJobEntityNameAndIdsFilter")
    values = doc.get("filterValues")
    if not isinstance(values, list) or not values:
        raise bad_request("recoveryJobEntityNameAndIdsFilter.filterValues must be a non-empty array.")
    ids: dict[str, frozenset[str]] = {}
    echo: list[dict[str, Any]] = []
    total = 0
    for entry in values:
        if not isinstance(entry, dict) or set(entry) - {"@odata.type", "entityType", "entityIds"}:
            raise bad_request("Each filterValues entry must be an object with entityType and entityIds.")
        entity_type = _entity_type(entry.get("entityType"), "filterValues.entityType")
        if entity_type in ids:
            raise bad_request(f"Duplicate entityType '{entity_type}' in filterValues: list each entity "
                              "type once.")
        entity_ids = entry.get("entityIds")
        if (not isinstance(entity_ids, list) or not entity_ids
                or not all(isinstance(i, str) and i.strip() for i in entity_ids)):
            raise bad_request(f"entityIds for '{entity_type}' must be a non-empty array of object IDs.")
        total += len(entity_ids)
        if total > MAX_SCOPED_IDS:
            raise bad_request(f"Too many object IDs in filterValues: at most {MAX_SCOPED_IDS} across all "
                              "entity types.")
        unique = list(dict.fromkeys(i.strip() for i in entity_ids))
        ids[entity_type] = frozenset(unique)
        echo.append({"entityType": entity_type, "entityIds": unique})
    return Scope(ids=ids), {"@odata.type": NAME_AND_IDS_FILTER, "filterValues": echo}


def parse_job_body(raw: bytes) -> tuple[Scope | None, dict[str, Any] | None]:
    """Return (scope, filteringCriteria as echoed on the job); no body or no criteria = everything."""
    if not raw.strip():
        return None, None
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise bad_request(MSG_BAD_JSON) from exc
    if not isinstance(doc, dict):
        raise bad_request(MSG_BAD_JSON)
    _reject_unknown_properties(doc, {"@odata.type", "filteringCriteria"}, "the job type")
    if "@odata.type" in doc and _type_name(doc["@odata.type"]) not in _JOB_TYPES:
        raise bad_request(f"Unsupported job type '{doc['@odata.type']}'.")
    criteria = doc.get("filteringCriteria")
    if criteria is None:
        return None, None
    if not isinstance(criteria, dict):
        raise bad_request("filteringCriteria must be an object.")
    kind = _type_name(criteria.get("@odata.type"))
    if kind == NAMES_FILTER:
        return _names_filter(criteria)
    if kind == NAME_AND_IDS_FILTER:
        return _ids_filter(criteria)
    raise bad_request(f"Unsupported filteringCriteria type '{criteria.get('@odata.type')}': expected "
                      "recoveryJobEntityNamesFilter or recoveryJobEntityNameAndIdsFilter.")
