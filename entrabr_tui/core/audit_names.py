"""Directory audit log names and values, translated to the Graph names and values of difference reports.

The audit log writes directory-internal PascalCase property names (``AccountEnabled``, ``Mobile``,
``TelephoneNumber``, ``PhysicalDeliveryOfficeName``) with values that are JSON text inside strings
(audit-log reference §4); difference reports use Graph camelCase names (``accountEnabled``, ``mobilePhone``,
``businessPhones``, ``officeLocation``) and plain JSON values. This module maps one to the other:

* :func:`audit_property` names what an audit property is for an object type: a Graph property, a nested
  Graph path (``ExtensionAttribute3`` → ``onPremisesExtensionAttributes.extensionAttribute3``), the whole
  object (Conditional Access ``ConditionalAccessPolicy``, compared by path), one item of a collection
  (``AuthenticationMethodConfigurations.Fido2``), the credentials (``KeyDescription``), or a helper entry to
  ignore (``Included Updated Properties``, ``TargetId.*``, ``Is Hard Deleted``, ``Group.*``). ``Action Client
  Name`` is a helper too, but ``DirectorySync`` as its value marks a write by directory synchronization
  (:func:`is_sync_marker`).
* :func:`audit_value` decodes a value: JSON text inside the string; an array of one value is the value, an
  empty array is null; the pseudo-property strings ``"True"``/``"False"`` are booleans.
* :func:`same_value` compares a decoded audit value with a report's current value (a Graph collection against
  the audit array, ``IsPublic`` against ``visibility``, times written differently).

The map covers every property of the recoverable catalogue (:mod:`entrabr_tui.core.catalog`, by its
documented directory names) plus the names the log writes for other properties; any other PascalCase name
is taken as the Graph name with a lower-case first letter.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any, NamedTuple

from .catalog import property_mappings
from .model import ResourceType, parse_datetime

Loads = Callable[[str], Any]


class NameKind(StrEnum):
    """What an audit property name stands for."""

    PROPERTY = "property"  # a top-level Graph property
    PATH = "path"  # a property nested below a Graph property (``graph.sub``)
    WHOLE = "whole"  # the whole object as JSON (compare each changed property by path)
    ITEM = "item"  # one item (by id) of a Graph collection
    CREDENTIALS = "credentials"  # password and key credentials (the log never holds the secrets)
    HELPER = "helper"  # bookkeeping entries: ignored


class AuditName(NamedTuple):
    """The Graph side of an audit property name (``graph`` empty for helpers)."""

    kind: NameKind
    graph: str = ""
    sub: str = ""
    transform: str = ""  # "visibility": the directory's IsPublic boolean is Graph's Public/Private


HELPER = AuditName(NameKind.HELPER)
#: Helper entries (case-folded); ``TargetId.*`` and ``Group.*`` are helpers by prefix.
HELPER_NAMES = frozenset({
    "included updated properties", "action client name", "is hard deleted", "password",
    "forcechangepassword", "lastdirsynctime", "spn", "sequence",
})
HELPER_PREFIXES = ("targetid.", "group.")
SYNC_MARKER_NAME = "action client name"
SYNC_CLIENT = "DirectorySync"

#: Names the log writes that the recoverable catalogue does not list (or lists under another name).
_EXTRA: dict[str, dict[str, AuditName]] = {
    ResourceType.USER: {
        "LastPasswordChangeDateTime": AuditName(NameKind.PROPERTY, "lastPasswordChangeDateTime"),
        "AboutMe": AuditName(NameKind.PROPERTY, "aboutMe"),
        "StsRefreshTokensValidFrom": AuditName(NameKind.PROPERTY, "signInSessionsValidFromDateTime"),
        "StrongAuthenticationMethod": AuditName(NameKind.PROPERTY, "strongAuthenticationMethods"),
        "OtherMail": AuditName(NameKind.PROPERTY, "otherMails"),
        "ProxyAddresses": AuditName(NameKind.PROPERTY, "proxyAddresses"),
        **{f"ExtensionAttribute{n}": AuditName(NameKind.PATH, "onPremisesExtensionAttributes",
                                               f"extensionAttribute{n}") for n in range(1, 16)},
    },
    ResourceType.GROUP: {
        "MembershipRule": AuditName(NameKind.PROPERTY, "membershipRule"),
        "MembershipRuleProcessingState": AuditName(NameKind.PROPERTY, "membershipRuleProcessingState"),
        "ExpirationDateTime": AuditName(NameKind.PROPERTY, "expirationDateTime"),
        "IsPublic": AuditName(NameKind.PROPERTY, "visibility", transform="visibility"),
    },
    ResourceType.CONDITIONAL_ACCESS_POLICY: {
        "ConditionalAccessPolicy": AuditName(NameKind.WHOLE),
    },
    ResourceType.NAMED_LOCATION_POLICY: {
        "NamedLocationPolicy": AuditName(NameKind.WHOLE),
    },
    ResourceType.APPLICATION: {
        "KeyDescription": AuditName(NameKind.CREDENTIALS, "passwordCredentials"),
    },
    ResourceType.SERVICE_PRINCIPAL: {
        "KeyDescription": AuditName(NameKind.CREDENTIALS, "passwordCredentials"),
        "DisplayName": AuditName(NameKind.PROPERTY, "displayName"),
        "AppPrincipalId": AuditName(NameKind.PROPERTY, "appId"),
    },
}
#: ``Name.<id>``: one item of a collection, by id.
_ITEM_PREFIXES: dict[str, dict[str, str]] = {
    ResourceType.AUTHENTICATION_METHOD_POLICY: {
        "authenticationmethodconfigurations.": "authenticationMethodConfigurations"},
}


def _lower_camel(name: str) -> str:
    return name[:1].lower() + name[1:]


@lru_cache(maxsize=64)
def _table(entity_type: str) -> dict[str, AuditName]:
    parsed = ResourceType.parse(entity_type)
    table: dict[str, AuditName] = {}
    for mapping in property_mappings(parsed):
        transform = "visibility" if mapping.graph == "visibility" else ""
        table[mapping.documented.casefold()] = AuditName(NameKind.PROPERTY, mapping.graph,
                                                         transform=transform)
    for name, target in _EXTRA.get(parsed, {}).items():
        table[name.casefold()] = target
    return table


def name_table(entity_type: ResourceType | str) -> dict[str, AuditName]:
    """The explicit entries of the map for one type (case-folded audit name → Graph side), for tests."""
    raw = entity_type.value if isinstance(entity_type, ResourceType) else str(entity_type)
    return dict(_table(raw))


@lru_cache(maxsize=4096)
def is_helper(name: str) -> bool:
    """Whether an audit property name is a bookkeeping entry, whatever the object type."""
    key = name.strip().casefold()
    return not key or key in HELPER_NAMES or key.startswith(HELPER_PREFIXES)


@lru_cache(maxsize=64)
def has_whole_names(entity_type: str) -> bool:
    """Whether the log writes objects of this type as one whole-object property (compared by path)."""
    return any(n.kind is NameKind.WHOLE for n in _table(entity_type).values())


@lru_cache(maxsize=4096)
def audit_property(entity_type: str, name: str) -> AuditName:
    """What the audit property ``name`` is for an object of ``entity_type`` (a Graph ``entityTypeName``)."""
    key = name.strip().casefold()
    if is_helper(name):
        return HELPER
    found = _table(entity_type).get(key)
    if found is not None:
        return found
    for prefix, graph in _ITEM_PREFIXES.get(ResourceType.parse(entity_type), {}).items():
        if key.startswith(prefix):
            return AuditName(NameKind.ITEM, graph, name.strip()[len(prefix):])
    return AuditName(NameKind.PROPERTY, _lower_camel(name.strip()))


def is_sync_marker(name: str, new_value: str | None, loads: Loads = json.loads) -> bool:
    """``Action Client Name = DirectorySync``: the write came from directory synchronization."""
    if name.strip().casefold() != SYNC_MARKER_NAME or new_value is None:
        return False
    return bool(audit_value(new_value, loads) == SYNC_CLIENT)


_BOOL_TEXT = {"True": True, "False": False, "true": True, "false": False}


def audit_value(text: str | None, loads: Loads = json.loads) -> Any:
    """A decoded ``oldValue``/``newValue``: JSON inside the string; ``[x]`` → ``x``; ``[]`` → None;
    ``"\\"False\\""`` → False. Text that is not JSON is returned as it is."""
    if text is None:
        return None
    try:
        value = loads(text)
    except ValueError:
        return text
    if isinstance(value, str):
        return _BOOL_TEXT.get(value, value)
    if isinstance(value, list):
        if not value:
            return None
        if len(value) == 1:
            return value[0]
    return value


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _sort_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _time(value: Any) -> datetime | None:
    if isinstance(value, str) and len(value) >= 10 and value[4:5] == "-" and value[7:8] == "-":
        return parse_datetime(value if "T" in value else value + "T00:00:00Z")
    return None


def same_value(audit: Any, current: Any, transform: str = "") -> bool:
    """Whether a decoded audit value (:func:`audit_value`) is the report's current value."""
    if transform == "visibility" and isinstance(audit, bool):
        audit = "Public" if audit else "Private"
    if isinstance(current, list):
        mine, theirs = _as_list(audit), current
        if len(mine) != len(theirs):
            return False
        return mine == theirs or sorted(map(_sort_key, mine)) == sorted(map(_sort_key, theirs))
    if current is None or current == "":
        return audit is None or audit == "" or audit == []
    if isinstance(audit, list) and len(audit) == 1:
        audit = audit[0]
    if audit == current and type(audit) is type(current):
        return True
    if isinstance(current, bool) or isinstance(audit, bool):
        return bool(audit == current and isinstance(audit, bool) and isinstance(current, bool))
    if isinstance(current, int | float) and isinstance(audit, int | float):
        return float(audit) == float(current)
    if isinstance(current, str) and isinstance(audit, str):
        left, right = _time(audit), _time(current)
        return left is not None and left == right
    if isinstance(current, dict) and isinstance(audit, dict):
        return _sort_key(audit) == _sort_key(current)
    return False


#: Activity names are matched case-insensitively after trimming, with U+2013 read as "-" (reference §8).
@lru_cache(maxsize=4096)
def activity_key(name: str) -> str:
    """The form activity names are compared in."""
    return " ".join(name.replace("\u2013", "-").split()).casefold()
