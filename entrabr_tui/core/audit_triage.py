"""Triage tags: what an incident responder decided about a cluster of changes or an actor's operation.

``revert`` (restore it), ``keep`` (a legitimate change: never queue it for restore) or ``investigate``, with
a note. A change is *kept* when its cluster or its primary operation is tagged ``keep``; marking skips kept
changes and a restore plan leaves them out, saying how many.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class TriageTag(StrEnum):
    """The decision about a group of changes."""

    REVERT = "revert"
    KEEP = "keep"
    INVESTIGATE = "investigate"


class TagTarget(StrEnum):
    """What a tag is put on: a cluster (by its id) or an operation (by its correlation id)."""

    CLUSTER = "cluster"
    OPERATION = "operation"


@dataclass(frozen=True, slots=True)
class TriageNote:
    """A tag with its note, on one cluster or operation."""

    target: TagTarget
    key: str
    tag: TriageTag
    note: str
    updated: datetime
