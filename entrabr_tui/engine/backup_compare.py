"""Comparing two backups A and B from their cached difference reports (the rule is in
:mod:`entrabr_tui.core.compare`).

:class:`BackupComparer` streams both reports' changes from the cache into the comparison (blocking: run it in
a worker thread) and keeps the newest results, which the terminal app pages through
(:meth:`BackupComparer.page`, named by its two reports so that a page of one comparison is never served from
another). The session picks the
reports (:meth:`~entrabr_tui.engine.session.Session.compare_backups`): for each backup its best complete
report (unscoped first), or a new one, or, with ``fresh``, two new ones run one right after the other so
the live tenant has as little time as possible to move between them.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from entrabr_tui.core.compare import CompareBuilder, Comparison, MovedObject, ObjectDelta, ReportSide
from entrabr_tui.core.text import format_duration
from entrabr_tui.engine.errors import EngineError
from entrabr_tui.store import Report

if TYPE_CHECKING:  # (loads the Graph SDK: the app imports this module and paints before it is loaded)
    from entrabr_tui.engine.cache_reader import CacheReader, ReportRef

#: Comparisons kept open for paging (each holds its objects in memory).
RECENT_COMPARISONS = 2
#: Time between the two reports beyond which the verdict is said to be doubtful (the live tenant moves).
LONG_GAP_SECONDS = 3600.0


class IncompleteReportError(EngineError):
    """A report to compare is not proven complete (what it lacks could be anything)."""


@dataclass(frozen=True, slots=True)
class CompareKey:
    """The two reports a comparison was made from (preview job ids)."""

    a: str
    b: str


class BackupComparer:
    """Builds comparisons from cached reports and keeps the newest one for paging."""

    def __init__(self, reader: CacheReader) -> None:
        self._reader = reader
        self._lock = threading.Lock()
        self.latest: Comparison | None = None
        #: The newest comparisons by their reports (A, B): one made for a view that was replaced meanwhile
        #: may finish after the newer one, which stays open for paging.
        self._recent: dict[tuple[str, str], Comparison] = {}
        #: The objects of each (type, kind) of the comparison ``_grouped``, as pages asked for them.
        self._grouped: Comparison | None = None
        self._groups: dict[tuple[str | None, str | None], list[ObjectDelta]] = {}

    def side(self, report: Report) -> ReportSide:
        """A report as one side of a comparison: its backup, and when the service computed it."""
        with self._reader.locked() as cache:
            snapshot = cache.tenant.snapshot(report.snapshot_id) if report.snapshot_id else None
            record = cache.jobs.get(report.job_id)
        job = record.job if record is not None else None
        when: datetime | None = None
        if job is not None:
            when = job.completed or job.started
        return ReportSide(snapshot_id=report.snapshot_id or "",
                          backup_time=snapshot.created if snapshot else None, report_id=report.job_id,
                          report_time=when or report.created, scope=report.scope)

    def compare(self, ref_a: ReportRef, ref_b: ReportRef) -> Comparison:
        """Compare the backups of two cached, complete reports (blocking)."""
        reports = [self._reader.resolve(ref) for ref in (ref_a, ref_b)]
        for report in reports:
            if not report.complete:
                raise IncompleteReportError(
                    f"Difference report {report.job_id} is {report.state_text}: a comparison needs both "
                    "reports complete ('entrabr report' downloads it again).")
        if reports[0].snapshot_id == reports[1].snapshot_id:
            raise EngineError("Both reports are of the same backup: choose two different backups.")
        builder = CompareBuilder(self.side(reports[0]), self.side(reports[1]))
        builder.add_a(self._reader.iter_changes(reports[0].id))
        builder.add_b(self._reader.iter_changes(reports[1].id))
        result = builder.finish()
        with self._lock:
            self.latest = result
            key = (result.a.report_id, result.b.report_id)
            self._recent.pop(key, None)
            self._recent[key] = result
            while len(self._recent) > RECENT_COMPARISONS:
                self._recent.pop(next(iter(self._recent)))
        return result

    def _open(self, reports: tuple[str, str]) -> Comparison:
        """The comparison of ``reports`` (preview job ids of A and B), if it is one of the newest."""
        with self._lock:
            found = self._recent.get((reports[0], reports[1]))
        if found is None:
            raise EngineError("That comparison is no longer open: compare the two backups again.")
        return found

    def _group(self, comparison: Comparison, entity_type: str | None, kind: str | None) -> list[ObjectDelta]:
        key = (entity_type, kind)
        with self._lock:
            if self._grouped is not comparison:
                self._grouped, self._groups = comparison, {}
            rows = self._groups.get(key)
        if rows is None:
            rows = [d for d in comparison.objects if (entity_type is None or d.entity_type == entity_type)
                    and (kind is None or d.kind.value == kind)]
            with self._lock:
                if self._grouped is comparison:  # (another comparison's groups, asked for meanwhile, stay)
                    self._groups[key] = rows
        return rows

    def page(self, reports: tuple[str, str], offset: int, limit: int, entity_type: str | None = None,
             kind: str | None = None) -> Sequence[ObjectDelta]:
        """A page of the objects of the comparison of ``reports`` (optionally of one type and kind; each
        group is filtered once, then paged by offset)."""
        rows = self._group(self._open(reports), entity_type, kind)
        return rows[max(0, offset): max(0, offset) + max(0, limit)]

    def moved_page(self, reports: tuple[str, str], offset: int, limit: int) -> Sequence[MovedObject]:
        """A page of the objects the comparison of ``reports`` left out (the live tenant moved)."""
        moved = self._open(reports).moved
        return moved[max(0, offset): max(0, offset) + max(0, limit)]


def gap_warning(comparison: Comparison) -> str | None:
    """A sentence when the two reports are far apart in time (the live tenant may have moved unseen)."""
    gap = comparison.gap_seconds
    if gap is None or gap <= LONG_GAP_SECONDS:
        return None
    return (f"The two reports were taken {format_duration(gap)} apart: where the live tenant moved in "
            "between and only one report lists the object, the move cannot be seen. Take both reports close "
            "together ('entrabr compare --fresh').")
