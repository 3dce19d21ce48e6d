"""The one definition of "recoverable": whether a restore would write anything for a change.

Every surface answers from here: the cache's precomputed column (and so the ``c`` filter of the Changes
tree and ``entrabr changes``), the diff's Rec column, the restore planner (its exclusions and warnings) and
the exports. The answer is three-valued.

A change is **recoverable** (``yes``) when all of these hold, and **not recoverable** (``no``) with the first
rule that fails as its reason, checked in this order:

0. the change object could be read (one that could not is kept as sent and listed, never restored);
1. its object type can be recovered on its own (OAuth2 grants and app role assignments come back only with
   their service principal; authentication strengths and types this version does not know are not
   recovered);
2. its recovery action is one the service documents (``update``, ``restore``, ``softDelete``);
3. the object is not synchronised from on-premises now;
4. a restore would write something: ``restore`` and ``softDelete`` act on the whole object; an ``update``
   needs a recoverable property (per the catalogue, :mod:`.catalog`) whose backup value differs from the
   current one, or a non-empty recoverable link delta (static group membership: not owners, managers,
   sponsors, nor members of dynamic groups).

It is **unknown** when rules 1, 2 and 4 hold for a user or group whose sync status is unknown
(:class:`~entrabr_tui.core.model.SyncStatus`): if it turns out to be synced, recovery leaves it alone.

On-premises-synced objects and group memberships: the scope page excludes synced objects from recovery
"except group memberships". entrabr reads that as memberships *in cloud groups*. They are links of the
group, carried by the group's own change (``members@delta``), and are recoverable whoever the members are.
A synced object's own change is excluded whole: a synced group's membership is mastered on-premises, and a
synced user's ``memberOf@delta`` comes back by restoring the cloud group it points to.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .catalog import has_recoverable_change, type_coverage
from .model import Change, RecoveryAction, SyncStatus


class Recoverable(StrEnum):
    """The answer: ``yes``, ``no`` or ``unknown`` (the sync status of a user or group is not known)."""

    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"

    @property
    def flag(self) -> bool | None:
        """``True`` / ``False`` / ``None`` (the JSON form; also how the cache stores it)."""
        return {"yes": True, "no": False}.get(self.value)

    @classmethod
    def from_flag(cls, flag: bool | None) -> Recoverable:
        return cls.UNKNOWN if flag is None else cls.YES if flag else cls.NO


class ExclusionReason(StrEnum):
    """Why a change is not recoverable (and so left out of every recovery job)."""

    MISSING_ID = "missingId"
    UNREADABLE = "unreadable"
    TYPE_NOT_RECOVERABLE = "typeNotRecoverable"
    UNSUPPORTED_ACTION = "unsupportedAction"
    ON_PREMISES_SYNCED = "onPremisesSynced"
    NOTHING_RECOVERABLE = "nothingRecoverable"
    #: Not a verdict of this module: the planner leaves out changes a triage tag keeps (``keep`` on their
    #: cluster or operation), and says so with the other reasons.
    KEPT_BY_TRIAGE = "keptByTriage"

    @property
    def description(self) -> str:
        return _REASON_TEXT[self]


ON_PREMISES_REASON = ("on-premises synced: recovery leaves the object alone (its memberships in cloud groups "
                      "come back with the group's own change)")
SYNC_UNKNOWN_REASON = ("sync status unknown: if the object is synced from on-premises, recovery will leave "
                       "it alone")

_REASON_TEXT = {
    ExclusionReason.MISSING_ID: "the change has no object ID",
    ExclusionReason.UNREADABLE: "the change object could not be read",
    ExclusionReason.TYPE_NOT_RECOVERABLE: "the object type cannot be recovered on its own",
    ExclusionReason.UNSUPPORTED_ACTION: "the recovery action is not one the service documents",
    ExclusionReason.ON_PREMISES_SYNCED: ON_PREMISES_REASON,
    ExclusionReason.NOTHING_RECOVERABLE: "none of the changed properties or links is recoverable",
    ExclusionReason.KEPT_BY_TRIAGE: "kept: its cluster or operation is tagged keep",
}


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a change is recoverable; for ``no`` the reason, for ``no`` and ``unknown`` why in words."""

    answer: Recoverable
    reason: ExclusionReason | None = None
    detail: str | None = None

    @property
    def flag(self) -> bool | None:
        return self.answer.flag


RECOVERABLE = Verdict(Recoverable.YES)
SYNC_UNKNOWN = Verdict(Recoverable.UNKNOWN, None, SYNC_UNKNOWN_REASON)
_SYNCED = Verdict(Recoverable.NO, ExclusionReason.ON_PREMISES_SYNCED, ON_PREMISES_REASON)
_NOTHING = Verdict(Recoverable.NO, ExclusionReason.NOTHING_RECOVERABLE,
                   ExclusionReason.NOTHING_RECOVERABLE.description)


def blocking_verdict(entity_type: str, action_raw: str, sync: SyncStatus,
                     unreadable: str | None = None) -> Verdict | None:
    """Rules 0–3 (readable, type, action, synced): the verdict when one of them fails, else ``None`` (the diff
    applies them to every row of a change). ``unreadable`` is why the change object could not be read."""
    if unreadable is not None:
        return Verdict(Recoverable.NO, ExclusionReason.UNREADABLE,
                       f"{ExclusionReason.UNREADABLE.description}: {unreadable}")
    type_reason = type_coverage(entity_type).reason
    if type_reason is not None:
        return Verdict(Recoverable.NO, ExclusionReason.TYPE_NOT_RECOVERABLE, type_reason)
    if RecoveryAction.parse(action_raw) is RecoveryAction.UNKNOWN_FUTURE_VALUE:
        return Verdict(Recoverable.NO, ExclusionReason.UNSUPPORTED_ACTION,
                       f"recovery action {action_raw!r} is not one the service documents")
    if sync is SyncStatus.SYNCED:
        return _SYNCED
    return None


def recoverability(change: Change) -> Verdict:
    """Whether a restore would write anything for ``change`` (see the module docstring).

    The sync status is the change's own (:attr:`Change.sync`): what the cache looked up, else the payload.
    """
    sync = change.sync
    gate = blocking_verdict(change.entity_type_raw, change.action_raw, sync, change.unreadable)
    if gate is not None:
        return gate
    if not has_recoverable_change(change):
        return _NOTHING
    return SYNC_UNKNOWN if sync is SyncStatus.UNKNOWN else RECOVERABLE


def stored_verdict(entity_type: str, action_raw: str, sync: SyncStatus, stored: bool | None,
                   unreadable: str | None = None) -> Verdict:
    """The verdict of a change whose answer :func:`recoverability` gave earlier (the cache's column),
    with its reason, from the stored answer and the row's type, action, sync status and why it could not be
    read (``unreadable``)."""
    gate = blocking_verdict(entity_type, action_raw, sync, unreadable)
    if gate is not None:
        return gate
    answer = Recoverable.from_flag(stored)
    if answer is Recoverable.NO:
        return _NOTHING
    return SYNC_UNKNOWN if answer is Recoverable.UNKNOWN else RECOVERABLE
