"""A getChanges result shaped like Microsoft's documented example: several changes of one user (legal),
a group whose link changes sit in ``members@delta`` / ``owners@delta``, a Conditional Access policy."""

from __future__ import annotations

from typing import Any

USER_ID = "6a1f0d5e-2b7c-4e88-9a41-0c3d5e7f9b21"
GROUP_ID = "b3c2d1e0-4f5a-4b6c-8d7e-9f0a1b2c3d4e"
POLICY_ID = "0e9d8c7b-6a5f-4e3d-2c1b-0a9f8e7d6c5b"

USER = "#microsoft.graph.user"
GROUP = "#microsoft.graph.group"
POLICY = "#microsoft.graph.conditionalAccessPolicy"

DOCS_CHANGES: list[dict[str, Any]] = [
    {"entityTypeName": "user", "id": USER_ID, "displayName": "J. Smith", "recoveryAction": "update",
     "deltaFromCurrent": {"@odata.type": USER, "displayName": "Jane Smith", "jobTitle": "Engineer",
                          "accountEnabled": True},
     "currentState": {"@odata.type": USER, "displayName": "J. Smith", "jobTitle": "Manager",
                      "accountEnabled": False}},
    {"entityTypeName": "user", "id": USER_ID, "displayName": "Old Name", "recoveryAction": "restore",
     "deltaFromCurrent": {"@odata.type": USER, "displayName": "Old Name", "deletedDateTime": None},
     "currentState": {"@odata.type": USER, "displayName": "Old Name",
                      "deletedDateTime": "2026-03-21T07:00:00Z"}},
    {"entityTypeName": "user", "id": USER_ID, "displayName": "Old Name", "recoveryAction": "softDelete",
     "deltaFromCurrent": {"@odata.type": USER, "displayName": "Older Name", "@removed": {"reason": "changed"},
                          "deletedDateTime": "2026-03-21T10:00:00Z"},
     "currentState": {"@odata.type": USER, "displayName": "Old Name", "deletedDateTime": None}},
    {"entityTypeName": "user", "id": USER_ID, "displayName": "New Hire", "recoveryAction": "softDelete",
     "deltaFromCurrent": {"@odata.type": USER, "@removed": {"reason": "changed"},
                          "deletedDateTime": "2026-03-21T10:00:00Z"},
     "currentState": {"@odata.type": USER, "deletedDateTime": None}},
    {"entityTypeName": "group", "id": GROUP_ID, "displayName": "Finance", "recoveryAction": "update",
     "deltaFromCurrent": {"@odata.type": GROUP, "description": "Finance team",
                          "members@delta": [
                              {"@odata.type": USER, "id": "e1", "@removed": {"reason": "changed"}},
                              {"@odata.type": USER, "id": "f2"}],
                          "owners@delta": [{"id": "a3", "displayName": "Owner"}]},
     "currentState": {"@odata.type": GROUP, "description": "Fin"}},
    {"entityTypeName": "conditionalAccessPolicy", "id": POLICY_ID, "displayName": "Require MFA for Admins",
     "recoveryAction": "update",
     "deltaFromCurrent": {"@odata.type": POLICY, "state": "enabled",
                          "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}},
     "currentState": {"@odata.type": POLICY, "state": "disabled",
                      "grantControls": {"operator": "AND", "builtInControls": ["mfa", "compliantDevice"]}}},
]
#: Link changes inside the objects above (members@delta + owners@delta).
DOCS_LINKS = 3
