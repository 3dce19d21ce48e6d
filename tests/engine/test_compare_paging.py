"""The app pages through the newest comparisons of two backups: by type and kind, the objects left out, and a
page of a comparison no longer open is refused rather than served from another."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from entrabr_tui.core.compare import ObjectDelta
from entrabr_tui.engine.errors import EngineError
from entrabr_tui.engine.session import Session

OpenSession = Callable[..., Awaitable[Session]]


async def test_pages_of_the_newest_comparisons_by_type_and_kind(open_session: OpenSession) -> None:
    session = await open_session()
    snapshots = sorted((e.snapshot for e in await session.snapshots()), key=lambda s: s.created)
    first = await session.compare_backups(snapshots[0].id, snapshots[-1].id)
    key = (first.a.report_id, first.b.report_id)
    assert first.objects, "a week of drift changes something"
    for entity_type, kinds in first.counts().items():
        for kind, count in kinds.items():
            expected = [d for d in first.objects if d.entity_type == entity_type and d.kind.value == kind]
            assert len(expected) == count
            paged: list[ObjectDelta] = []
            for offset in range(0, count + 3, 3):
                page = session.compare_page(key, entity_type, kind, offset, 3)
                assert len(page) <= 3
                paged.extend(page)
            assert paged == expected
    assert list(session.compare_moved(key, 0, 100)) == list(first.moved[:100])

    # A newer comparison keeps the first open (a view replaced meanwhile may finish after it); two newer
    # ones close it: its pages are refused, never served from another comparison.
    second = await session.compare_backups(snapshots[1].id, snapshots[-1].id)
    assert (second.a.report_id, second.b.report_id) != key
    assert list(session.compare_page(key, None, None, 0, len(first.objects))) == list(first.objects)
    third = await session.compare_backups(snapshots[2].id, snapshots[-1].id)
    with pytest.raises(EngineError, match="no longer open"):
        session.compare_page(key, None, None, 0, 10)
    with pytest.raises(EngineError, match="no longer open"):
        session.compare_moved(key, 0, 10)
    for newer in (second, third):
        reports = (newer.a.report_id, newer.b.report_id)
        assert list(session.compare_page(reports, None, None, 0, len(newer.objects))) == list(newer.objects)
