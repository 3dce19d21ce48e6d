"""The cache side of a :class:`~entrabr_tui.engine.session.Session`: queries and the restore queue.

These calls never touch the network and work the same online and offline. They may be called from worker
threads (the UI does, so SQLite never blocks its event loop): they run on a second connection to the
cache, one call at a time, while the engine writes on its own connection (WAL lets both proceed).

A report is named by its preview job id (``str``, what the UI and CLI show) or by the cache's numeric key.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from entrabr_tui.core.model import Change
from entrabr_tui.engine.errors import EngineError
from entrabr_tui.engine.plans import SessionPlan, build_plan
from entrabr_tui.engine.reports import ReportInfo
from entrabr_tui.store import (
    Cache,
    ChangeRow,
    History,
    HistoryAction,
    MarkResult,
    NodeCount,
    Report,
    ReportKind,
)

ReportRef = str | int
#: A keyset position: ``ChangeRow.key`` (type, action, name, id), or (name, id) with type and action given.
PageAfter = tuple[str, str] | tuple[str, str, str, str]

_ID_SPLIT = re.compile(r"[\s,;]+")


def parse_id_list(lines: Iterable[str]) -> list[str]:
    """Object ids from text lines (a file or stdin): separated by spaces, commas or semicolons; ``#``
    starts a comment; quotes are stripped; order kept, repeats dropped."""
    ids: dict[str, None] = {}
    for line in lines:
        text = line.split("#", 1)[0]
        for token in _ID_SPLIT.split(text):
            token = token.strip().strip("\"'")
            if token:
                ids.setdefault(token, None)
    return list(ids)


@dataclass(frozen=True, slots=True)
class QueuedObject:
    """One object in the restore queue, with the report (preview job id) it was marked in."""

    report_id: str
    id: str
    entity_type: str
    action: str
    display_name: str
    on_premises_synced: bool = False


def _stream_changes(source: Cache, report_id: int) -> Iterator[Change]:
    reader = source.reader()
    try:
        yield from reader.queries.iter_changes(report_id)
    finally:
        reader.close()


class UnknownReportError(EngineError):
    """No cached report matches the reference given."""

    def __init__(self, ref: ReportRef) -> None:
        super().__init__(f"No difference report {ref} is in the cache. Run or download a report first.")
        self.ref = ref


class CacheViews:
    """Read queries and the restore queue over the session's cache (thread-safe, one call at a time)."""

    cache: Cache
    history_log: History

    def _init_views(self, cache: Cache) -> None:
        self._view_lock = threading.RLock()
        self._view: Cache | None = None
        self._view_source = cache

    def _log(self, action: HistoryAction | str, **fields: Any) -> None:  # implemented by Session
        raise NotImplementedError

    @property
    def view(self) -> Cache:
        """The second connection used by queries (opened on first use)."""
        with self._view_lock:
            if self._view is None:
                self._view = self._view_source.reader()
            return self._view

    def _close_views(self) -> None:
        with self._view_lock:
            if self._view is not None:
                self._view.close()
                self._view = None

    def _resolve(self, ref: ReportRef) -> Report:
        with self._view_lock:
            if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
                report = self.view.reports.get(int(ref))
            else:
                report = self.view.reports.for_job(ref.strip())
        if report is None:
            raise UnknownReportError(ref)
        return report

    # -- reports ---------------------------------------------------------------------------------------

    def report(self, ref: ReportRef) -> ReportInfo | None:
        """A cached report, or ``None``."""
        try:
            return ReportInfo.of(self._resolve(ref))
        except UnknownReportError:
            return None

    def reports(self, snapshot_id: str | None = None) -> list[ReportInfo]:
        """Cached difference reports, newest first (archived ones included)."""
        with self._view_lock:
            found = self.view.reports.all(snapshot_id=snapshot_id, kind=ReportKind.CHANGES)
        return [ReportInfo.of(r) for r in found]

    def counts(self, ref: ReportRef, **filters: Any) -> list[NodeCount]:
        """Changes per (type, action); filters: ``text``, ``recoverable``, ``on_prem``, ``marked``."""
        report = self._resolve(ref)
        with self._view_lock:
            return self.view.queries.counts(report.id, **filters)

    def page(self, ref: ReportRef, entity_type: str | None = None, action: str | None = None,
             after: PageAfter | None = None, limit: int = 100, **filters: Any) -> list[ChangeRow]:
        """A keyset page of changes ordered by type, action, name, id (``after`` = last row's key)."""
        report = self._resolve(ref)
        with self._view_lock:
            return self.view.queries.page(report.id, entity_type=entity_type, action=action,
                                  after=after, limit=limit, **filters)

    def search(self, ref: ReportRef, text: str, limit: int = 100) -> list[ChangeRow]:
        """Up to ``limit`` changes whose name or UPN/mail contains ``text`` or whose id starts with it."""
        return self.page(ref, limit=limit, text=text)

    def change(self, ref: ReportRef, object_id: str) -> Change | None:
        """One change with both property sets, or ``None``."""
        report = self._resolve(ref)
        with self._view_lock:
            return self.view.queries.get_change(report.id, object_id)

    def iter_changes(self, ref: ReportRef) -> Iterator[Change]:
        """Every cached change of a report, both property sets, in the order the service sent them (exports).

        The report is looked up at once (an unknown one raises :class:`UnknownReportError` here). The changes
        then stream from a connection of their own, opened on the first ``next`` and closed when the
        iteration ends or the iterator is closed: a long export neither holds the lock the other queries
        take nor the whole report in memory. Blocking; iterate in a worker thread.
        """
        report = self._resolve(ref)
        return _stream_changes(self._view_source, report.id)

    def display_names(self, ids: Sequence[str], ref: ReportRef | None = None) -> dict[str, str]:
        """Names of cached objects by id (from ``ref``, else from the newest reports that hold them)."""
        wanted = list(dict.fromkeys(ids))
        names: dict[str, str] = {}
        with self._view_lock:
            reports = [self._resolve(ref)] if ref is not None else [
                r for r in self.view.reports.all() if r.complete and r.kind.value == "changes"
            ]
            for report in reports:
                missing = [i for i in wanted if i not in names]
                if not missing:
                    break
                for change in self.view.queries.get_changes(report.id, missing):
                    names.setdefault(change.id, change.display_name)
        return names

    def failed_changes(self, job_id: str) -> list[Change]:
        """Failed changes of a restore job kept in the cache (with ``failure_message``)."""
        with self._view_lock:
            return self.view.queries.failed_changes(job_id)

    # -- restore queue ---------------------------------------------------------------------------------

    def marked(self, ref: ReportRef) -> set[str]:
        """Ids queued from this report."""
        report = self._resolve(ref)
        with self._view_lock:
            return {entry.object_id for entry in self.view.queue.entries(report.id)}

    def queue(self, ref: ReportRef | None = None) -> list[QueuedObject]:
        """Queued objects (of one report, or of every report), by type, action and name."""
        out: list[QueuedObject] = []
        with self._view_lock:
            reports = [self._resolve(ref)] if ref is not None else self.view.reports.all(
                kind=ReportKind.CHANGES
            )
            for report in reports:
                after: PageAfter | None = None
                while True:
                    rows = self.view.queries.page(report.id, marked=True, after=after, limit=5_000)
                    out.extend(QueuedObject(report.job_id, r.object_id, r.entity_type_raw, r.action_raw,
                                            r.display_name, r.on_premises_synced) for r in rows)
                    if len(rows) < 5_000:
                        break
                    after = rows[-1].key
        return out

    def _queue_size(self, report: Report) -> int:
        with self._view_lock:
            return sum(n.count for n in self.view.queue.counts(report.id))

    def mark(self, ref: ReportRef, ids: Sequence[str]) -> int:
        """Queue objects of a report by id; returns the queue size. Ids not in the report are ignored."""
        report = self._resolve(ref)
        with self._view_lock:
            result = self.view.queue.mark(report.id, ids)
        self._log_mark(report, result, list(ids))
        return self._queue_size(report)

    def seed_queue(self, ref: ReportRef, lines: Iterable[str]) -> MarkResult:
        """Queue the ids listed in text (a file or stdin; see :func:`parse_id_list`).

        The result says how many were queued, were already queued, and which ids the report does not hold.
        """
        report = self._resolve(ref)
        ids = parse_id_list(lines)
        with self._view_lock:
            result = self.view.queue.mark(report.id, ids)
        self._log_mark(report, result, ids, detail="seeded from a list of ids")
        return result

    def mark_where(self, ref: ReportRef, **filters: Any) -> int:
        """Queue every change matching the filters (``entity_type``, ``action``, ``text``, ``recoverable``,
        ``on_prem``); returns how many were newly queued."""
        report = self._resolve(ref)
        with self._view_lock:
            added = self.view.queue.mark_where(report.id, **filters)
        self._log(HistoryAction.OBJECTS_MARKED, snapshot_id=report.snapshot_id, scope=report.scope,
                  job_id=report.job_id, counts={"marked": added},
                  detail="marked by filter: "
                  + ", ".join(f"{k}={v}" for k, v in filters.items() if v is not None))
        return added

    def _log_mark(self, report: Report, result: MarkResult, ids: list[str],
                  detail: str | None = None) -> None:
        unknown = {u.lower() for u in result.unknown}
        self._log(
            HistoryAction.OBJECTS_MARKED, snapshot_id=report.snapshot_id, scope=report.scope,
            job_id=report.job_id, object_ids=[i for i in ids if i.lower() not in unknown], detail=detail,
            counts={"marked": result.marked, "already": result.already, "unknown": len(result.unknown)},
        )

    def unmark(self, ref: ReportRef, ids: Sequence[str]) -> int:
        """Remove objects from the queue; returns the queue size."""
        report = self._resolve(ref)
        with self._view_lock:
            removed = self.view.queue.unmark(report.id, ids)
        self._log(HistoryAction.OBJECTS_UNMARKED, snapshot_id=report.snapshot_id, job_id=report.job_id,
                  object_ids=list(ids), counts={"unmarked": removed})
        return self._queue_size(report)

    def unmark_all(self, ref: ReportRef | None = None) -> int:
        """Empty the queue (of one report, or of every report); returns how many were removed."""
        with self._view_lock:
            reports = [self._resolve(ref)] if ref is not None else self.view.reports.all()
            removed = sum(self.view.queue.clear(report.id) for report in reports)
        self._log(HistoryAction.OBJECTS_UNMARKED, counts={"unmarked": removed}, detail="queue emptied")
        return removed

    # -- planning --------------------------------------------------------------------------------------

    def _queued_report(self, ref: ReportRef | None) -> Report | None:
        if ref is not None:
            return self._resolve(ref)
        with self._view_lock:
            holding = [r for r in self.view.reports.all() if self.view.queue.counts(r.id)]
        if len(holding) > 1:
            raise EngineError("Objects are queued from several reports; plan one report at a time.")
        return holding[0] if holding else None

    def plan(self, ref: ReportRef | None = None, *, allow_whole_type: bool = True,
             record: bool = True) -> SessionPlan:
        """Plan a restore of the queue of one report (the only report with a queue when ``ref`` is None).

        An empty queue gives an empty plan (``is_empty``); queues in several reports without ``ref`` raise
        :class:`EngineError`. ``record=False`` leaves the session history alone (a preview, e.g. the UI's
        queue pane redrawn after every mark).
        """
        report = self._queued_report(ref)
        if report is None:
            return SessionPlan.empty()
        with self._view_lock:
            queued = self.view.queue.changes(report.id)
            totals: dict[str, int] = {}
            for node in self.view.queries.counts(report.id):
                totals[node.entity_type_raw] = totals.get(node.entity_type_raw, 0) + node.count
        plan = build_plan(ReportInfo.of(report), queued, totals, allow_whole_type=allow_whole_type)
        if not record:
            return plan
        summary = plan.plan.summary
        self._log(
            HistoryAction.RESTORE_PLANNED, snapshot_id=report.snapshot_id, job_id=report.job_id,
            object_ids=plan.ids,
            counts={"queued": summary.queued, "included": summary.included, "restore": summary.restores,
                    "update": summary.updates, "softDelete": summary.soft_deletes,
                    "excluded": summary.excluded, "jobs": summary.jobs},
        )
        return plan
