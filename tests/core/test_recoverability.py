"""The one definition of "recoverable": the rules, their order, the sync status, and the stored form."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from entrabr_tui.core.model import Change, ResourceType, SyncStatus, payload_sync_status
from entrabr_tui.core.recoverability import (
    SYNC_UNKNOWN_REASON,
    ExclusionReason,
    Recoverable,
    recoverability,
    stored_verdict,
)

USER = "#microsoft.graph.user"


def change(entity: str, action: str, delta: dict[str, Any], current: dict[str, Any] | None = None,
           object_id: str = "obj-1") -> Change:
    return Change.from_json({"id": object_id, "entityTypeName": entity, "recoveryAction": action,
                             "displayName": "x", "deltaFromCurrent": delta, "currentState": current or {}})


def test_payload_sync_status_users_and_groups_only() -> None:
    assert payload_sync_status(ResourceType.USER, {}, {}) is SyncStatus.UNKNOWN
    assert payload_sync_status(ResourceType.GROUP, {"onPremisesSyncEnabled": True}, {}) is SyncStatus.SYNCED
    assert payload_sync_status(ResourceType.USER, {"onPremisesSyncEnabled": None}, {}) is SyncStatus.CLOUD
    assert payload_sync_status(ResourceType.USER, {"onPremisesSyncEnabled": False},
                               {"onPremisesSyncEnabled": True}) is SyncStatus.CLOUD  # moved to the cloud
    assert payload_sync_status(ResourceType.USER, {}, {"onPremisesSyncEnabled": True}) is SyncStatus.SYNCED
    # organization.onPremisesSyncEnabled says the tenant syncs, not that the object is synced.
    assert payload_sync_status(ResourceType.ORGANIZATION, {"onPremisesSyncEnabled": True}, {}) \
        is SyncStatus.CLOUD
    assert payload_sync_status(ResourceType.CONDITIONAL_ACCESS_POLICY, {}, {}) is SyncStatus.CLOUD


def test_change_sync_prefers_what_was_looked_up() -> None:
    docs = change("user", "update", {"@odata.type": USER, "jobTitle": "Engineer"},
                  {"@odata.type": USER, "jobTitle": "Manager"})
    assert docs.sync is SyncStatus.UNKNOWN and not docs.on_premises_synced
    synced = docs.with_sync(SyncStatus.SYNCED)
    assert synced.sync is SyncStatus.SYNCED and synced.on_premises_synced and docs.sync_status is None
    assert docs.with_sync(None) is docs
    assert SyncStatus.from_flag(None) is SyncStatus.UNKNOWN and SyncStatus.SYNCED.flag is True


def test_docs_shaped_user_update_is_unknown_until_its_sync_status_is() -> None:
    docs = change("user", "update",
                  {"@odata.type": USER, "displayName": "Jane Smith", "accountEnabled": True},
                  {"@odata.type": USER, "displayName": "J. Smith", "accountEnabled": False})
    verdict = recoverability(docs)
    assert verdict.answer is Recoverable.UNKNOWN and verdict.flag is None
    assert verdict.reason is None and verdict.detail == SYNC_UNKNOWN_REASON
    assert recoverability(docs.with_sync(SyncStatus.CLOUD)).answer is Recoverable.YES
    synced = recoverability(docs.with_sync(SyncStatus.SYNCED))
    assert (synced.answer, synced.reason) == (Recoverable.NO, ExclusionReason.ON_PREMISES_SYNCED)
    assert synced.detail is not None and "cloud groups" in synced.detail


@pytest.mark.parametrize(("entity", "action", "delta", "current", "sync", "answer", "reason"), [
    # 1. the type
    ("oAuth2PermissionGrant", "update", {"scope": "a"}, {"scope": "b"}, None, "no", "typeNotRecoverable"),
    ("mystery", "restore", {}, {}, None, "no", "typeNotRecoverable"),
    # 2. the action (before the sync status: nothing to look up)
    ("user", "somethingNew", {"jobTitle": "a"}, {}, SyncStatus.UNKNOWN, "no", "unsupportedAction"),
    # 3. synced (before what changed: the object is left alone whatever changed)
    ("user", "update", {"passwordProfile": {}}, {}, SyncStatus.SYNCED, "no", "onPremisesSynced"),
    ("group", "update", {"members@delta": [{"id": "m"}]}, {}, SyncStatus.SYNCED, "no", "onPremisesSynced"),
    # 4. what changed
    ("group", "update", {"owners@delta": [{"id": "o"}]}, {}, SyncStatus.CLOUD, "no", "nothingRecoverable"),
    ("group", "update", {"owners@delta": [{"id": "o"}]}, {}, SyncStatus.UNKNOWN, "no", "nothingRecoverable"),
    ("user", "update", {"manager@delta": [{"id": "m"}]}, {}, SyncStatus.CLOUD, "no", "nothingRecoverable"),
    ("user", "update", {"sponsors@delta": [{"id": "m"}]}, {}, SyncStatus.CLOUD, "no", "nothingRecoverable"),
    ("organization", "update", {"strongAuthenticationPolicy": {"enabled": True}}, {}, None, "no",
     "nothingRecoverable"),
    # recoverable, or unknown for a user or group of unknown sync status
    ("group", "update", {"members@delta": [{"id": "m"}]}, {}, SyncStatus.CLOUD, "yes", None),
    ("group", "update", {"members@delta": [{"id": "m"}]}, {}, SyncStatus.UNKNOWN, "unknown", None),
    ("user", "softDelete", {"@removed": {"reason": "changed"}}, {}, SyncStatus.UNKNOWN, "unknown", None),
    ("conditionalAccessPolicy", "update", {"state": "enabled"}, {"state": "disabled"}, None, "yes", None),
    ("servicePrincipal", "restore", {"deletedDateTime": None}, {}, None, "yes", None),
])
def test_rules_in_order(entity: str, action: str, delta: dict[str, Any], current: dict[str, Any],
                        sync: SyncStatus | None, answer: str, reason: str | None) -> None:
    verdict = recoverability(change(entity, action, delta, current).with_sync(sync))
    assert verdict.answer.value == answer
    assert (verdict.reason.value if verdict.reason else None) == reason
    assert (verdict.detail is None) == (answer == "yes")


KEYS = ["jobTitle", "passwordProfile", "members@delta", "owners@delta", "description", "state",
        "onPremisesSyncEnabled", "@odata.type"]
VALUES = st.one_of(st.none(), st.booleans(), st.sampled_from(["a", "b"]),
                   st.lists(st.fixed_dictionaries({"id": st.sampled_from(["m1", "m2"])}), max_size=2))
changes = st.builds(
    change,
    entity=st.sampled_from(["user", "group", "application", "conditionalAccessPolicy", "organization",
                            "oAuth2PermissionGrant", "mystery"]),
    action=st.sampled_from(["update", "restore", "softDelete", "unknownFutureValue", "new"]),
    delta=st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=4),
    current=st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=4),
)


@settings(max_examples=300, deadline=None)
@given(changes, st.sampled_from([None, *SyncStatus]))
def test_the_stored_answer_gives_the_same_verdict(item: Change, sync: SyncStatus | None) -> None:
    item = item.with_sync(sync)
    verdict = recoverability(item)
    assert stored_verdict(item.entity_type_raw, item.action_raw, item.sync, verdict.flag) == verdict
    assert (verdict.answer is Recoverable.UNKNOWN) <= (item.sync is SyncStatus.UNKNOWN)
