"""The read side of a :class:`~entrabr_tui.engine.session.Session`: queries over the tenant's cache.

These calls never touch the network and work the same online and offline. They may be called from worker
threads (the UI does, so SQLite never blocks its event loop): they run on a second connection to the
cache, one call at a time, while the engine writes on its own connection (WAL lets both proceed).

A report is named by its preview job id (``str``, what the UI and CLI show) or by the cache's numeric key.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from entrabr_tui.core.model import Change
from entrabr_tui.engine.errors import EngineError
from entrabr_tui.engine.reports import ReportInfo
from entrabr_tui.store import (
    Cache,
    ChangeRow,
    JobRecord,
    NodeCount,
    RecoverableFilter,
    Report,
    ReportKind,
    SyncFilter,
)
from entrabr_tui.store.change_queries import After

ReportRef = str | int
#: A keyset position: ``ChangeRow.key`` (type, action, name, id, position), or (name, id, position) with
#: type and action given (see :data:`entrabr_tui.store.change_queries.After`).
PageAfter = After


@dataclass(frozen=True, slots=True)
class QueuedObject:
    """One object in the restore queue, with the report (preview job id) it was marked in."""

    report_id: str
    id: str
    entity_type: str
    action: str
    display_name: str
    on_premises_synced: bool = False


class UnknownReportError(EngineError):
    """No cached report matches the reference given."""

    def __init__(self, ref: ReportRef) -> None:
        super().__init__(f"No difference report {ref} is in the cache. Run or download a report first.")
        self.ref = ref


def _stream_changes(source: Cache, report_id: int) -> Iterator[Change]:
    reader = source.reader()
    try:
        yield from reader.queries.iter_changes(report_id)
    finally:
        reader.close()


class CacheReader:
    """Reads a session's cache on a connection of its own, one call at a time (thread-safe).

    The connection is opened on first use and closed by :meth:`close`; :meth:`locked` holds it for a block of
    calls that belong together (the restore queue's edits and plans use it).
    """

    def __init__(self, source: Cache) -> None:
        self._source = source
        self._lock = threading.RLock()
        self._cache: Cache | None = None

    @contextmanager
    def locked(self) -> Iterator[Cache]:
        """The reader's connection, for this thread alone until the block ends."""
        with self._lock:
            if self._cache is None:
                self._cache = self._source.reader()
            yield self._cache

    def close(self) -> None:
        with self._lock:
            if self._cache is not None:
                self._cache.close()
                self._cache = None

    def resolve(self, ref: ReportRef) -> Report:
        """The cached report ``ref`` names; :class:`UnknownReportError` when there is none."""
        with self.locked() as cache:
            if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
                report = cache.reports.get(int(ref))
            else:
                report = cache.reports.for_job(ref.strip())
        if report is None:
            raise UnknownReportError(ref)
        return report

    # -- reports ---------------------------------------------------------------------------------------

    def report(self, ref: ReportRef) -> ReportInfo | None:
        """A cached report, or ``None``."""
        try:
            return ReportInfo.of(self.resolve(ref))
        except UnknownReportError:
            return None

    def reports(self, snapshot_id: str | None = None) -> list[ReportInfo]:
        """Cached difference reports, newest first (archived ones included)."""
        with self.locked() as cache:
            found = cache.reports.all(snapshot_id=snapshot_id, kind=ReportKind.CHANGES)
        return [ReportInfo.of(r) for r in found]

    def counts(self, ref: ReportRef, *, text: str | None = None, recoverable: RecoverableFilter = None,
               on_prem: SyncFilter = None, marked: bool | None = None,
               ids: Sequence[str] | None = None) -> list[NodeCount]:
        """Changes per (type, action), of the changes matching the filters (``ids``: of these objects)."""
        report = self.resolve(ref)
        with self.locked() as cache:
            return cache.queries.counts(report.id, text=text, recoverable=recoverable, on_prem=on_prem,
                                        marked=marked, ids=ids)

    def page(self, ref: ReportRef, entity_type: str | None = None, action: str | None = None,
             after: PageAfter | None = None, limit: int = 100, *, text: str | None = None,
             recoverable: RecoverableFilter = None, on_prem: SyncFilter = None,
             marked: bool | None = None, ids: Sequence[str] | None = None) -> list[ChangeRow]:
        """A keyset page of changes ordered by type, action, name, id (``after`` = last row's key)."""
        report = self.resolve(ref)
        with self.locked() as cache:
            return cache.queries.page(report.id, entity_type=entity_type, action=action, after=after,
                                      limit=limit, text=text, recoverable=recoverable, on_prem=on_prem,
                                      marked=marked, ids=ids)

    def change(self, ref: ReportRef, object_id: str, position: int | None = None) -> Change | None:
        """One change with both property sets: the one at ``position`` (a row's place in the report), else
        the object's first; ``None`` when there is none."""
        report = self.resolve(ref)
        with self.locked() as cache:
            return cache.queries.get_change(report.id, object_id, position)

    def changes(self, ref: ReportRef, object_ids: Sequence[str]) -> list[Change]:
        """Every change of these objects, both property sets, objects in the order given (an object may
        have several changes); ids not in the report are skipped."""
        report = self.resolve(ref)
        with self.locked() as cache:
            return cache.queries.get_changes(report.id, object_ids)

    def resolve_ids(self, ref: ReportRef, typed: Sequence[str]) -> dict[str, str]:
        """The report's id for each id a person typed (exact, else the one match ignoring case)."""
        report = self.resolve(ref)
        with self.locked() as cache:
            return cache.queries.resolve_ids(report.id, typed)

    def unreadable(self, ref: ReportRef, *, limit: int | None = None) -> list[ChangeRow]:
        """The change objects of a report that could not be read, with their reasons, in report order."""
        report = self.resolve(ref)
        with self.locked() as cache:
            return cache.queries.unreadable(report.id, limit=limit)

    def object_counts(self, ref: ReportRef) -> dict[str, int]:
        """Objects per type of a report (unreadable changes included: see
        :meth:`~entrabr_tui.store.change_queries.ChangeQueries.object_counts`)."""
        report = self.resolve(ref)
        with self.locked() as cache:
            return cache.queries.object_counts(report.id)

    def revertible_objects(self, ref: ReportRef, entity_types: Sequence[str]) -> dict[str, list[str]]:
        """Per type, every object a whole-type restore would act on (see
        :meth:`~entrabr_tui.store.change_queries.ChangeQueries.revertible_objects`)."""
        report = self.resolve(ref)
        with self.locked() as cache:
            return cache.queries.revertible_objects(report.id, entity_types)

    def job_records(self) -> list[JobRecord]:
        """Every job the cache knows (for estimates learnt from the tenant's history)."""
        with self.locked() as cache:
            return cache.jobs.all()

    def objects_with_action(self, ref: ReportRef, action: str) -> list[tuple[str, str, str]]:
        """``(type, id, name)`` of the report's objects with a change of ``action``."""
        report = self.resolve(ref)
        with self.locked() as cache:
            return cache.queries.objects_with_action(report.id, action)

    def iter_changes(self, ref: ReportRef) -> Iterator[Change]:
        """Every cached change of a report, both property sets, in the order the service sent them (exports).

        The report is looked up at once (an unknown one raises :class:`UnknownReportError` here). The changes
        then stream from a connection of their own, opened on the first ``next`` and closed when the
        iteration ends or the iterator is closed: a long export neither holds the lock the other queries
        take nor the whole report in memory. Blocking; iterate in a worker thread.
        """
        report = self.resolve(ref)
        return _stream_changes(self._source, report.id)

    def display_names(self, ids: Sequence[str], ref: ReportRef | None = None) -> dict[str, str]:
        """Names of cached objects by id (from ``ref``, else from the newest reports that hold them)."""
        wanted = list(dict.fromkeys(ids))
        names: dict[str, str] = {}
        with self.locked() as cache:
            reports = [self.resolve(ref)] if ref is not None else [
                r for r in cache.reports.all() if r.complete and r.kind.value == "changes"
            ]
            for report in reports:
                missing = [i for i in wanted if i not in names]
                if not missing:
                    break
                for change in cache.queries.get_changes(report.id, missing):
                    names.setdefault(change.id, change.display_name)
        return names

    def failed_changes(self, job_id: str) -> list[Change]:
        """Failed changes of a restore job kept in the cache (with ``failure_message``)."""
        with self.locked() as cache:
            return cache.queries.failed_changes(job_id)

    # -- restore queue ---------------------------------------------------------------------------------

    def marked(self, ref: ReportRef) -> set[str]:
        """Ids queued from this report."""
        report = self.resolve(ref)
        with self.locked() as cache:
            return cache.queue.ids(report.id)

    def queue(self, ref: ReportRef | None = None) -> list[QueuedObject]:
        """Queued objects (of one report, or of every report), by type, action and name; an object with
        several changes is listed once (under its first)."""
        out: list[QueuedObject] = []
        with self.locked() as cache:
            reports = [self.resolve(ref)] if ref is not None else cache.reports.all(kind=ReportKind.CHANGES)
            for report in reports:
                out.extend(QueuedObject(report.job_id, r.object_id, r.entity_type, r.action, r.display_name,
                                        r.on_premises_synced) for r in cache.queue.rows(report.id))
        return out

    def queue_size(self, report: Report) -> int:
        """Objects queued from ``report``."""
        with self.locked() as cache:
            return sum(n.count for n in cache.queue.counts(report.id))
