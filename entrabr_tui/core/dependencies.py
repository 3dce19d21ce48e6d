"""What a restore needs that it does not restore: missing dependencies, each with its fix.

Objects refer to other objects; when the referred object is deleted (in the deleted items: the report has a
``restore`` change for it) and the plan does not restore it, that part of the restore fails or restores
something that points at nothing:

* a group's membership links (``members@delta`` elements the restore adds) to members that are deleted and
  not restored: the links fail ("completed with warnings");
* a Conditional Access policy whose restored conditions name users, groups or named locations that are
  deleted and not restored;
* a service principal restored without its deleted application (matched by ``appId`` when the change
  objects carry it, else by display name — change objects rarely carry ``appId``).

Every warning names the missing object; the fix is to queue those objects too (restored in an earlier
stage, see :mod:`.stages`). Pure: the caller gives the plan's changes and the report's deleted objects.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .model import Change, RecoveryAction, ResourceType

MEMBERS_DELTA = "members@delta"


class DependencyKind(StrEnum):
    """Why a dependency is missing."""

    MEMBER = "member"
    POLICY_REFERENCE = "policyReference"
    APPLICATION = "application"


@dataclass(frozen=True, slots=True)
class Deleted:
    """An object of the report that is in the deleted items now (the report restores it)."""

    entity_type: str
    id: str
    display_name: str = ""
    app_id: str | None = None


@dataclass(frozen=True, slots=True)
class DependencyWarning:
    """One missing dependency: ``subject`` (queued) needs ``needed`` (deleted, not restored)."""

    kind: DependencyKind
    subject_type: str
    subject_id: str
    subject_name: str
    needed: Deleted
    detail: str

    @property
    def text(self) -> str:
        """``group Finance adds back member Ada (user, deleted): queue it too, or the link fails``."""
        who = self.needed.display_name or self.needed.id
        what = self.subject_name or self.subject_id
        if self.kind is DependencyKind.MEMBER:
            return (f"{self.subject_type} {what} adds back member {who} ({self.needed.entity_type}, deleted, "
                    "not queued): the link will fail unless it is restored first")
        if self.kind is DependencyKind.POLICY_REFERENCE:
            return (f"{self.subject_type} {what} refers to {self.needed.entity_type} {who} ({self.detail}), "
                    "which is deleted and not queued")
        return (f"{self.subject_type} {what} is restored without its application {who} (deleted, not "
                "queued)")


#: Where a Conditional Access policy names users, groups and named locations.
_CA_REFERENCES = (
    (("conditions", "users", "includeUsers"), "included users"),
    (("conditions", "users", "excludeUsers"), "excluded users"),
    (("conditions", "users", "includeGroups"), "included groups"),
    (("conditions", "users", "excludeGroups"), "excluded groups"),
    (("conditions", "locations", "includeLocations"), "included locations"),
    (("conditions", "locations", "excludeLocations"), "excluded locations"),
)


def _at(doc: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = doc
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _app_id(change: Change) -> str | None:
    for source in (change.delta, change.current):
        value = source.get("appId")
        if isinstance(value, str) and value:
            return value.lower()
    return None


def missing_dependencies(plan_changes: Iterable[Change], restored_ids: Collection[str],
                         deleted: Mapping[str, Deleted], whole_types: Collection[str] = ()
                         ) -> list[DependencyWarning]:
    """The missing dependencies of a plan (see the module docstring).

    ``plan_changes``: the changes of the objects the plan restores; ``restored_ids``: their ids;
    ``deleted``: the report's deleted objects by id; ``whole_types``: types the plan restores whole (every
    deleted object of such a type comes back)."""
    whole = set(whole_types)

    def missing(object_id: str) -> Deleted | None:
        found = deleted.get(object_id)
        if found is None or object_id in restored_ids or found.entity_type in whole:
            return None
        return found

    apps_by_id: dict[str, Deleted] = {}
    apps_by_name: dict[str, Deleted] = {}
    for item in deleted.values():
        if item.entity_type == ResourceType.APPLICATION:
            if item.app_id:
                apps_by_id.setdefault(item.app_id.lower(), item)
            if item.display_name:
                apps_by_name.setdefault(item.display_name.casefold(), item)
    warnings: dict[tuple[str, str, str], DependencyWarning] = {}

    def add(kind: DependencyKind, change: Change, needed: Deleted, detail: str) -> None:
        key = (change.id, needed.id, detail)
        if key not in warnings:
            warnings[key] = DependencyWarning(kind, change.entity_type_raw, change.id, change.display_name,
                                              needed, detail)

    for change in plan_changes:
        if not change.readable or change.action is RecoveryAction.SOFT_DELETE:
            continue
        entity = change.entity_type_raw
        if entity == ResourceType.GROUP:
            for link in change.delta.get(MEMBERS_DELTA) or ():
                if isinstance(link, Mapping) and "@removed" not in link and isinstance(link.get("id"), str):
                    needed = missing(link["id"])
                    if needed is not None:
                        add(DependencyKind.MEMBER, change, needed, "member")
        elif entity == ResourceType.CONDITIONAL_ACCESS_POLICY:
            for path, detail in _CA_REFERENCES:
                values = _at(change.delta, path)
                for value in values if isinstance(values, list) else ():
                    needed = missing(value) if isinstance(value, str) else None
                    if needed is not None:
                        add(DependencyKind.POLICY_REFERENCE, change, needed, detail)
        elif entity == ResourceType.SERVICE_PRINCIPAL:
            app_id = _app_id(change)
            app = apps_by_id.get(app_id) if app_id else None
            if app is None and change.display_name:
                app = apps_by_name.get(change.display_name.casefold())
            if app is not None and missing(app.id) is not None:
                add(DependencyKind.APPLICATION, change, app, "application")
    return sorted(warnings.values(), key=lambda w: (w.kind, w.subject_type, w.subject_id, w.needed.id))


def fixes(warnings: Iterable[DependencyWarning]) -> list[Deleted]:
    """The objects to queue so that every warning goes away (each once, by type then id)."""
    found = {(w.needed.entity_type, w.needed.id): w.needed for w in warnings}
    return [found[key] for key in sorted(found)]
