"""Did the restore take? The verdict of a preview scoped to the restored objects, run after the last batch.

Once a restore has run, a fresh preview of the same objects on the same backup should find nothing left to
restore. What it still finds is sorted, object by object:

* expected residue — a change that **failed** (the service said so), an object **synced** from on-premises
  (recovery leaves it alone), an object whose remaining differences are **not recoverable** (properties or
  links the service does not restore), or a user or group whose **sync status is unknown** (if it is
  synced, recovery left it alone);
* anything else **drifted during recovery**: someone (or something) changed it again after its batch ran,
  or the restore did not take. When the object's difference is exactly the one reviewed, the detail says
  the restore did not change it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from .model import Change
from .recoverability import ExclusionReason, Recoverable, recoverability
from .review import ObjectKey, object_fingerprints


class Residue(StrEnum):
    """Why a restored object still differs from the backup."""

    FAILED = "failed"
    SYNCED = "synced"
    UNRECOVERABLE = "notRecoverable"
    SYNC_UNKNOWN = "syncUnknown"
    DRIFTED = "drifted"

    @property
    def expected(self) -> bool:
        return self is not Residue.DRIFTED

    @property
    def text(self) -> str:
        return _TEXT[self]


_TEXT = {
    Residue.FAILED: "the change failed",
    Residue.SYNCED: "synced from on-premises",
    Residue.UNRECOVERABLE: "what still differs is not recoverable",
    Residue.SYNC_UNKNOWN: "sync status unknown",
    Residue.DRIFTED: "drifted during recovery",
}


@dataclass(frozen=True, slots=True)
class ResidueItem:
    """One restored object that still differs, and why."""

    entity_type: str
    id: str
    display_name: str
    residue: Residue
    detail: str = ""


class VerifyOutcome(StrEnum):
    """The outcome of a verification."""

    VERIFIED = "verified"
    EXPECTED = "verified with expected differences"
    DRIFT = "drift found"
    NOT_VERIFIED = "not verified"


@dataclass(frozen=True, slots=True)
class Verification:
    """The verdict of the verification preview (``checked``: restored objects it covered)."""

    checked: int
    residue: tuple[ResidueItem, ...] = ()
    error: str | None = None
    skipped: bool = False

    @property
    def drifted(self) -> tuple[ResidueItem, ...]:
        return tuple(item for item in self.residue if item.residue is Residue.DRIFTED)

    @property
    def expected(self) -> tuple[ResidueItem, ...]:
        return tuple(item for item in self.residue if item.residue.expected)

    @property
    def verdict(self) -> VerifyOutcome:
        if self.error is not None or self.skipped:
            return VerifyOutcome.NOT_VERIFIED
        if self.drifted:
            return VerifyOutcome.DRIFT
        return VerifyOutcome.EXPECTED if self.residue else VerifyOutcome.VERIFIED

    @property
    def summary(self) -> str:
        """``Verified: 118 of 120 restored objects match the backup; 2 expected differences (1 failed, 1
        synced); 0 drifted during recovery.``"""
        if self.skipped:
            return "Not verified: the check after the restore was skipped."
        if self.error is not None:
            return f"Not verified: {self.error}"
        matched = self.checked - len(self.residue)
        counts: dict[Residue, int] = {}
        for item in self.residue:
            counts[item.residue] = counts.get(item.residue, 0) + 1
        expected = sum(n for r, n in counts.items() if r.expected)
        text = f"{self.verdict.value[:1].upper()}{self.verdict.value[1:]}: {matched:,} of {self.checked:,} " \
               "restored objects match the backup"
        if expected:
            detail = ", ".join(f"{n:,} {r.text}" for r, n in counts.items() if r.expected)
            text += f"; {expected:,} expected difference{'' if expected == 1 else 's'} ({detail})"
        return text + f"; {len(self.drifted):,} drifted during recovery."


def classify(fresh: Iterable[Change], restored: Collection[ObjectKey], failed_ids: Collection[str],
             reviewed: Mapping[ObjectKey, str] | None = None) -> Verification:
    """Sort what the verification preview found among the ``restored`` objects (see the module docstring).

    ``fresh``: the preview's changes (others than the restored objects' are ignored); ``failed_ids``: ids of
    the restore's failed changes; ``reviewed``: the fingerprints reviewed before the restore, to tell a
    restore that did not take from a change made during it."""
    wanted = set(restored)
    by_object: dict[ObjectKey, list[Change]] = {}
    for change in fresh:
        key = (change.entity_type_raw, change.id)
        if key in wanted and change.readable:
            by_object.setdefault(key, []).append(change)
    failed = set(failed_ids)
    items: list[ResidueItem] = []
    for key, changes in by_object.items():
        name = next((c.display_name for c in changes if c.display_name), "")
        verdicts = [recoverability(c) for c in changes]
        detail = ""
        if key[1] in failed:
            residue = Residue.FAILED
        elif any(v.reason is ExclusionReason.ON_PREMISES_SYNCED for v in verdicts):
            residue = Residue.SYNCED
        elif all(v.answer is Recoverable.NO for v in verdicts):
            residue = Residue.UNRECOVERABLE
        elif not any(v.answer is Recoverable.YES for v in verdicts):
            residue = Residue.SYNC_UNKNOWN
        else:
            residue = Residue.DRIFTED
            if reviewed is not None and reviewed.get(key) == object_fingerprints(changes).get(key):
                detail = "the same difference as reviewed: the restore did not change it"
            else:
                detail = "changed after its batch ran"
        items.append(ResidueItem(key[0], key[1], name, residue, detail))
    items.sort(key=lambda i: (i.residue is not Residue.DRIFTED, i.entity_type, i.id))
    return Verification(len(wanted), tuple(items))
