"""The completeness rule: a list of change objects is complete only when the count matches at the end."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from entrabr_tui.core.completeness import (
    Completeness,
    completeness,
    expected_change_objects,
    is_complete,
    link_changes,
)
from entrabr_tui.core.model import Job, JobKind, RecoveryStatus


def job(kind: JobKind, objects: int | None, links: int | None = 0, failed: int | None = None) -> Job:
    return Job(
        kind=kind, id="j", status=RecoveryStatus.SUCCESSFUL, status_raw="successful",
        target_state=datetime(2026, 7, 27, 22, tzinfo=UTC), total_changed_objects=objects,
        total_changed_links=links, total_failed_changes=failed,
    )


@pytest.mark.parametrize(
    ("received", "expected", "reached_end", "verdict"),
    [
        (5005, 5005, True, Completeness.COMPLETE),
        (0, 0, True, Completeness.COMPLETE),
        (1998, 5005, True, Completeness.SHORT),  # a page without a next link before the end
        (999, 5005, True, Completeness.SHORT),  # an empty page from elsewhere
        (5005, 5005, False, Completeness.UNFINISHED),  # the count matches, yet no final page was seen
        (10, 5005, False, Completeness.UNFINISHED),
        (5006, 5005, True, Completeness.OVER),
        (5005, None, True, Completeness.UNVERIFIED),
        (0, None, False, Completeness.UNFINISHED),
    ],
)
def test_verdict(received: int, expected: int | None, reached_end: bool, verdict: Completeness) -> None:
    assert completeness(received, expected, reached_end) is verdict
    assert is_complete(received, expected, reached_end) is (verdict is Completeness.COMPLETE)


def test_expected_counts_change_objects_never_links() -> None:
    preview = job(JobKind.PREVIEW, objects=1200, links=90)
    assert expected_change_objects(preview) == 1200


def test_stated_count_wins_over_the_job_total() -> None:
    assert expected_change_objects(job(JobKind.PREVIEW, objects=1200), stated_count=1201) == 1201
    assert expected_change_objects(None, stated_count=7) == 7


def test_expected_is_unknown_without_a_statement() -> None:
    assert expected_change_objects(job(JobKind.PREVIEW, objects=None)) is None
    assert expected_change_objects(None) is None
    # totalFailedChanges counts failed objects and failed links: not the number of failed change objects.
    assert expected_change_objects(job(JobKind.RECOVERY, objects=10, failed=3)) is None


def test_link_changes_count_relationship_delta_entries() -> None:
    group = {
        "id": "g", "entityTypeName": "group", "recoveryAction": "update",
        "deltaFromCurrent": {
            "description": "x",
            "members@delta": [{"id": "a", "@removed": {"reason": "changed"}}, {"id": "b"}],
            "owners@delta": [{"id": "c"}],
            "tags": ["not", "links"],
        },
    }
    assert link_changes(group) == 3
    assert link_changes({"deltaFromCurrent": "x"}) == 0
    assert link_changes({"deltaFromCurrent": {"members@delta": "not a list"}}) == 0
    assert link_changes(5) == 0
