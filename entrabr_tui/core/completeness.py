"""Whether a downloaded list of change objects is complete: the counting rule and the verdict (pure).

A walk over ``getChanges`` pages cannot tell by itself that it saw everything: a page that arrives without
``@odata.nextLink`` ends the walk whether or not it really was the last one, and a page can carry fewer
items than it should. Completeness is therefore proven by counting: the number of change objects received
must equal the number the service announced.

**The counting rule.** ``getChanges`` returns one change object per change of a directory object;
relationship (link) changes are not change objects of their own but entries of ``<relationship>@delta``
arrays (``members@delta``, ``owners@delta``) inside ``deltaFromCurrent`` of the object they belong to
(Graph reference: ``recoveryChangeObjectBase`` and the getChanges examples). So:

* a preview job's ``totalChangedObjectsCalculated`` is the number of change objects its ``getChanges``
  returns (several change objects of one directory object each count: the documented example holds four
  changes of one user);
* its ``totalChangedLinksCalculated`` is the number of link entries inside those objects
  (:func:`link_changes` counts them): never add it to the expected number of change objects;
* ``@odata.count``, when the service sends it, is the size of exactly the collection being paged and takes
  precedence;
* a recovery job's ``totalFailedChanges`` counts failed object *and* link changes, so it is not the number
  of ``getFailedChanges`` objects: without ``@odata.count`` that number is unknown.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from entrabr_tui.core.model import Job, JobKind


class Completeness(StrEnum):
    """The verdict on a downloaded list of change objects."""

    COMPLETE = "complete"  # the end was reached and exactly the announced number arrived
    UNFINISHED = "unfinished"  # no page without a next link yet: the download stopped or is going on
    SHORT = "short"  # the end was signalled but fewer arrived than announced: changes were lost
    OVER = "over"  # the end was signalled but more arrived than announced: nothing lost, count disagrees
    UNVERIFIED = "unverified"  # the end was signalled, but no number was announced to compare with


def completeness(received: int, expected: int | None, reached_end: bool) -> Completeness:
    """The verdict for ``received`` change objects, ``expected`` announced, and whether a page without a
    next link was seen (``reached_end``)."""
    if not reached_end:
        return Completeness.UNFINISHED
    if expected is None:
        return Completeness.UNVERIFIED
    if received < expected:
        return Completeness.SHORT
    if received > expected:
        return Completeness.OVER
    return Completeness.COMPLETE


def is_complete(received: int, expected: int | None, reached_end: bool) -> bool:
    """True only when the end was reached and exactly ``expected`` change objects arrived."""
    return completeness(received, expected, reached_end) is Completeness.COMPLETE


def expected_change_objects(job: Job | None, stated_count: int | None = None) -> int | None:
    """How many change objects a full walk over ``job``'s results must deliver (``None``: unknown).

    ``stated_count`` is the ``@odata.count`` the service sent with the pages, if any; it wins. Otherwise a
    preview job's ``totalChangedObjectsCalculated``; a recovery job's failed-change count is unknown (see
    the module docstring).
    """
    if stated_count is not None:
        return stated_count
    if job is None or job.kind is not JobKind.PREVIEW:
        return None
    return job.total_changed_objects


def link_changes(item: object) -> int:
    """The link changes carried by one change object: entries of its ``<relationship>@delta`` arrays."""
    delta = item.get("deltaFromCurrent") if isinstance(item, Mapping) else None
    if not isinstance(delta, Mapping):
        return 0
    total = 0
    for key, value in delta.items():  # most values are not lists: that test comes first
        if type(value) is list and isinstance(key, str) and key.endswith("@delta"):
            total += len(value)
    return total
