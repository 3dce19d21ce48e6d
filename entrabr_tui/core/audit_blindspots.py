"""What a difference report cannot show, or a restore will not fix, found in the audit log; the purge clock.

Blind spots (pure classification of audit records, each with what to do instead):

* hard deletes — a purged object is in no report and no restore brings it back;
* owner, manager and sponsor links — recovery does not restore them;
* dynamic membership rules (``MembershipRule``) — rule changes are not recovered;
* credentials — certificates and client secrets of applications and service principals;
* password resets — passwords are never restored;
* synchronised objects — changes written by directory synchronization are excluded from recovery.

The purge clock: a soft-deleted object is purged for good 30 days after its ``deletedDateTime``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from .audit_model import RecordFacts
from .audit_names import activity_key

#: Days a deleted object stays restorable before the directory purges it.
PURGE_DAYS = 30


class BlindSpotKind(StrEnum):
    """Kinds of audit events a difference report cannot show or a restore will not fix."""

    HARD_DELETE = "hardDelete"
    OWNER_LINK = "ownerLink"
    MANAGER_LINK = "managerLink"
    SPONSOR_LINK = "sponsorLink"
    DYNAMIC_RULE = "dynamicRule"
    CREDENTIALS = "credentials"
    PASSWORD_RESET = "passwordReset"
    SYNCED = "synced"

    @property
    def heading(self) -> str:
        """A few words for lists (``purged for good``, ``owner changed`` …)."""
        return _TITLES[self]

    @property
    def advice(self) -> str:
        """What to do instead of (or after) a restore."""
        return _ADVICE[self]


_TITLES = {
    BlindSpotKind.HARD_DELETE: "purged for good",
    BlindSpotKind.OWNER_LINK: "owner changed",
    BlindSpotKind.MANAGER_LINK: "manager changed",
    BlindSpotKind.SPONSOR_LINK: "sponsor changed",
    BlindSpotKind.DYNAMIC_RULE: "dynamic membership rule changed",
    BlindSpotKind.CREDENTIALS: "credentials changed",
    BlindSpotKind.PASSWORD_RESET: "password reset",
    BlindSpotKind.SYNCED: "changed by directory synchronization",
}
_ADVICE = {
    BlindSpotKind.HARD_DELETE: "No report shows it and no restore brings it back: recreate the object by "
                               "hand (its last state is in the backup's difference reports and this audit "
                               "record).",
    BlindSpotKind.OWNER_LINK: "Recovery does not restore owners: add or remove the owner by hand "
                              "(Entra admin center or Graph).",
    BlindSpotKind.MANAGER_LINK: "Recovery does not restore managers: set the manager again by hand.",
    BlindSpotKind.SPONSOR_LINK: "Recovery does not restore sponsors: add or remove the sponsor by hand.",
    BlindSpotKind.DYNAMIC_RULE: "Rule changes of dynamic groups are not recovered: restore the rule by hand; "
                                "membership follows the rule.",
    BlindSpotKind.CREDENTIALS: "Secrets and certificates are not restored: remove credentials you do not "
                               "know and rotate the ones that may have leaked.",
    BlindSpotKind.PASSWORD_RESET: "Passwords are never restored: reset the password again, require a change "
                                  "at sign-in and revoke the user's sessions.",
    BlindSpotKind.SYNCED: "Recovery leaves synchronised objects alone: undo the change at its source "
                          "(on-premises Active Directory); the next sync cycle brings it back.",
}
_LINK_NAMES = {
    "set user manager": BlindSpotKind.MANAGER_LINK,
    "remove user manager": BlindSpotKind.MANAGER_LINK,
    "add user sponsor": BlindSpotKind.SPONSOR_LINK,
    "remove user sponsor": BlindSpotKind.SPONSOR_LINK,
}
_CREDENTIAL_NAMES = frozenset({
    "update application - certificates and secrets management", "add service principal credentials",
    "remove service principal credentials",
})
_PASSWORD_NAMES = frozenset({
    "reset password (by admin)", "reset password (self-service)", "reset user password",
    "change user password", "change password (self-service)", "set force change user password",
})


def blind_spot(facts: RecordFacts) -> tuple[BlindSpotKind, int] | None:
    """The blind-spot kind of a record and the index of the target it concerns (the owned group of an
    owner link, the user of a manager or sponsor link, else the first target), or ``None``."""
    if facts.result.casefold() not in ("success", ""):
        return None
    key = activity_key(facts.activity)
    last = len(facts.targets) - 1
    if key.startswith("hard delete"):
        return BlindSpotKind.HARD_DELETE, 0
    if key.startswith(("add owner to ", "remove owner from ")):
        return BlindSpotKind.OWNER_LINK, max(last, 0)
    if key in _LINK_NAMES:
        return _LINK_NAMES[key], 0
    if key in _CREDENTIAL_NAMES:
        return BlindSpotKind.CREDENTIALS, 0
    if key in _PASSWORD_NAMES:
        return BlindSpotKind.PASSWORD_RESET, 0
    for index, target in enumerate(facts.targets):
        names = {name.strip().casefold() for name, _, _ in target.props}
        if "membershiprule" in names:
            return BlindSpotKind.DYNAMIC_RULE, index
        if "keydescription" in names:
            return BlindSpotKind.CREDENTIALS, index
    if facts.sync and facts.targets:
        return BlindSpotKind.SYNCED, 0
    return None


@dataclass(frozen=True, slots=True)
class PurgeEntry:
    """A soft-deleted object and when the directory purges it."""

    object_id: str
    entity_type: str
    display_name: str
    deleted: datetime
    purge_at: datetime
    remaining: timedelta

    @property
    def purged(self) -> bool:
        return self.remaining <= timedelta(0)


def purge_clock(deleted: Iterable[tuple[str, str, str, datetime]], now: datetime) -> list[PurgeEntry]:
    """Soft-deleted objects ``(id, type, name, deletedDateTime)`` with their purge time, most urgent first."""
    out = [PurgeEntry(object_id, entity_type, name, when, when + timedelta(days=PURGE_DAYS),
                      when + timedelta(days=PURGE_DAYS) - now)
           for object_id, entity_type, name, when in deleted]
    return sorted(out, key=lambda e: (e.purge_at, e.object_id))

