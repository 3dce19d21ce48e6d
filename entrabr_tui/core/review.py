"""What was reviewed, and what moved since: per-object fingerprints of a difference report's changes.

A difference report is a picture taken at one moment; a restore is computed against the live tenant when it
runs. Before a restore is applied, a fresh preview scoped to the same objects (on the same backup) is
compared with what the reviewer saw, object by object:

* the **fingerprint** of an object (:func:`object_fingerprints`) is a SHA-256 of its changes as the report
  shows them: for each change, its action and both property sets (``deltaFromCurrent``, what recovery
  writes, and ``currentState``, what it overwrites). Link lists (``members@delta`` …) count as sets, key order
  does not count, and the time a ``softDelete`` would stamp (``deltaFromCurrent.deletedDateTime``, the time
  of the preview) is left out. Two previews that agree on an object give it the same fingerprint;
* :func:`compare_reviewed` sorts every reviewed object into *unchanged*, *moved* (it still differs from the
  backup, but not the way that was reviewed: someone changed it again, or fixed part of it), *gone* (it now
  matches the backup: a restore would do nothing to it) and lists the *unreviewed* changes the fresh preview
  found (a whole-type job would act on them too).

Pure functions over plain data; hashing uses :mod:`hashlib` and :mod:`json` only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .model import MAX_IDS_PER_JOB, Change, EntityNameAndIdsFilter, EntityNamesFilter, FilteringCriteria

ObjectKey = tuple[str, str]
"""``(entity type, object id)``: how an object is named across reports."""

_DUMPS = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode


def _normal(values: dict[str, Any]) -> dict[str, Any]:
    """Link lists as sets: the elements of each ``…@delta`` list sorted by their canonical text (link lists
    are members of the change's property set itself, never nested)."""
    links = [key for key in values if key.endswith("@delta") and isinstance(values[key], list)
             and len(values[key]) > 1]
    if not links:
        return values
    out = dict(values)
    for key in links:
        out[key] = sorted(values[key], key=_DUMPS)
    return out


def change_text(change: Change) -> str:
    """The canonical text of one change (what its fingerprint is made of)."""
    delta = change.delta
    if change.action_raw == "softDelete" and "deletedDateTime" in delta:
        delta = {k: v for k, v in delta.items() if k != "deletedDateTime"}
    return _DUMPS([change.action_raw, _normal(delta), _normal(change.current)])


def fingerprint(texts: Iterable[str]) -> str:
    """SHA-256 (hex) of an object's change texts, in any order."""
    return hashlib.sha256(b"".join(text.encode("utf-8") + b"\x00" for text in sorted(texts))).hexdigest()


def object_fingerprints(changes: Iterable[Change]) -> dict[ObjectKey, str]:
    """The fingerprint of every object among ``changes`` (several changes of one object make one)."""
    single: dict[ObjectKey, str] = {}
    several: dict[ObjectKey, list[str]] = {}
    for change in changes:
        if change.unreadable is not None:
            continue
        key = (change.entity_type_raw, change.id)
        text = change_text(change)
        if key in several:
            several[key].append(text)
        elif key in single:
            several[key] = [single[key], text]
        else:
            single[key] = text
    found = {key: hashlib.sha256(text.encode("utf-8") + b"\x00").hexdigest() for key, text in single.items()}
    found.update((key, fingerprint(texts)) for key, texts in several.items())
    return found


@dataclass(frozen=True, slots=True)
class Staleness:
    """How the live tenant compares with what was reviewed (see the module docstring).

    ``unchanged``, ``moved`` and ``gone`` are reviewed objects; ``unreviewed`` are objects the fresh preview
    found that were not reviewed, of the types a whole-type job would restore (``whole_types``)."""

    unchanged: tuple[ObjectKey, ...] = ()
    moved: tuple[ObjectKey, ...] = ()
    gone: tuple[ObjectKey, ...] = ()
    unreviewed: tuple[ObjectKey, ...] = ()
    whole_types: tuple[str, ...] = field(default_factory=tuple)

    @property
    def clean(self) -> bool:
        """Nothing moved, nothing is gone and a whole-type job would touch nothing unreviewed."""
        return not (self.moved or self.gone or self.unreviewed)

    @property
    def reviewed(self) -> int:
        return len(self.unchanged) + len(self.moved) + len(self.gone)

    @property
    def summary(self) -> str:
        """``3 of 120 objects moved since the review, 1 now matches the backup; 2 unreviewed changes …``."""
        if self.clean:
            return (f"Nothing moved since the review: all {self.reviewed:,} objects still differ from the "
                    "backup exactly as reviewed.")
        parts = []
        if self.moved:
            parts.append(f"{len(self.moved):,} of {self.reviewed:,} objects moved since the review "
                         "(the restore would write over what changed)")
        if self.gone:
            parts.append(f"{len(self.gone):,} now match the backup (nothing left to restore)")
        if self.unreviewed:
            parts.append(f"{len(self.unreviewed):,} unreviewed changes of "
                         f"{', '.join(self.whole_types)} would also be restored by the whole-type jobs")
        return "; ".join(parts) + "."


def compare_reviewed(reviewed: Mapping[ObjectKey, str], fresh: Mapping[ObjectKey, str],
                     whole_types: Iterable[str] = ()) -> Staleness:
    """Compare the reviewed fingerprints with a fresh preview's (see :class:`Staleness`).

    ``fresh`` holds what the recheck preview found: every object of its scope that still differs from the
    backup. Objects of ``whole_types`` in ``fresh`` but not in ``reviewed`` are unreviewed; other objects
    of ``fresh`` the plan does not name are ignored (a preview scoped by type finds them too)."""
    unchanged: list[ObjectKey] = []
    moved: list[ObjectKey] = []
    gone: list[ObjectKey] = []
    for key, digest in reviewed.items():
        now = fresh.get(key)
        if now is None:
            gone.append(key)
        elif now == digest:
            unchanged.append(key)
        else:
            moved.append(key)
    whole = tuple(dict.fromkeys(whole_types))
    unreviewed: list[ObjectKey] = []
    if whole:
        wanted = set(whole)
        unreviewed = [key for key in fresh if key[0] in wanted and key not in reviewed]
    return Staleness(tuple(sorted(unchanged)), tuple(sorted(moved)), tuple(sorted(gone)),
                     tuple(sorted(unreviewed)), whole)


#: A recheck or verification needing more ID-scoped previews than this uses one preview by type instead.
MAX_ID_PREVIEWS = 3


def recheck_scopes(keys: Iterable[ObjectKey], whole_types: Iterable[str] = (), *,
                   max_ids: int = MAX_IDS_PER_JOB, max_id_previews: int = MAX_ID_PREVIEWS
                   ) -> list[FilteringCriteria]:
    """The previews that cover ``keys`` and the ``whole_types``: previews of at most ``max_ids`` IDs (one
    entry per type) plus one by type for the whole types; when that would take more than
    ``max_id_previews`` ID previews, one preview of every type involved instead (cheaper: one job)."""
    whole = list(dict.fromkeys(whole_types))
    by_type: dict[str, list[str]] = {}
    for entity_type, object_id in keys:
        if entity_type not in whole:
            by_type.setdefault(entity_type, []).append(object_id)
    total = sum(len(ids) for ids in by_type.values())
    if -(-total // max_ids) > max_id_previews:
        return [EntityNamesFilter(tuple(sorted({*whole, *by_type})))]
    scopes: list[FilteringCriteria] = []
    entries: list[tuple[str, tuple[str, ...]]] = []
    room = max_ids
    for entity_type in sorted(by_type):
        ids = sorted(set(by_type[entity_type]))
        pos = 0
        while pos < len(ids):
            take = min(room, len(ids) - pos)
            entries.append((entity_type, tuple(ids[pos:pos + take])))
            pos += take
            room -= take
            if room == 0:
                scopes.append(EntityNameAndIdsFilter(tuple(entries)))
                entries, room = [], max_ids
    if entries:
        scopes.append(EntityNameAndIdsFilter(tuple(entries)))
    if whole:
        scopes.append(EntityNamesFilter(tuple(whole)))
    return scopes
