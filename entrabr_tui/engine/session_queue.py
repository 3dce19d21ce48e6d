"""The restore queue as a session changes it: marks and unmarks, each written to the session history, and
the plan of what is queued.

The queue lives in the cache (per report, so per tenant) and survives restarts. Edits go through the
session's :class:`~entrabr_tui.engine.cache_reader.CacheReader` connection, one at a time, so the UI may
mark from worker threads while the engine downloads on its own connection.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from entrabr_tui.core.model import Change, EntityNameAndIdsFilter, FilteringCriteria, SyncStatus
from entrabr_tui.core.plan_options import Choice
from entrabr_tui.core.planner import QueuedChange, queued_change_for
from entrabr_tui.core.recoverability import stored_verdict
from entrabr_tui.engine.cache_reader import CacheReader, ReportRef
from entrabr_tui.engine.errors import EngineError
from entrabr_tui.engine.plan_builder import PlanBuilder
from entrabr_tui.engine.plans import PlanInputs, SessionPlan, plan_records
from entrabr_tui.engine.reports import ReportInfo
from entrabr_tui.engine.session_log import SessionLog
from entrabr_tui.store import Cache, HistoryAction, MarkResult, RecoverableFilter, Report, SyncFilter

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


def _describe_filters(nodes: Sequence[tuple[str, str]] | None, entity_type: str | None, action: str | None,
                      text: str | None, recoverable: RecoverableFilter, on_prem: SyncFilter,
                      ids: Sequence[str] | None = None) -> str:
    parts = [f"{k}={v}" for k, v in (("entity_type", entity_type), ("action", action), ("text", text),
                                      ("recoverable", recoverable), ("on_prem", on_prem)) if v is not None]
    if ids is not None:
        parts.append(f"objects={len(ids):,} listed")
    if nodes is not None:
        parts.append("nodes=" + ", ".join(f"{t}/{a}" for t, a in nodes))
    return ", ".join(parts) or "everything"


class SessionQueue:
    """Marks and unmarks objects for restore (logging each change) and plans a restore of the queue."""

    def __init__(self, reader: CacheReader, log: SessionLog, builder: PlanBuilder | None = None) -> None:
        self._reader = reader
        self._log = log
        self.builder = builder or PlanBuilder(reader)

    def mark(self, ref: ReportRef, ids: Sequence[str]) -> int:
        """Queue objects of a report by id; returns the queue size. Ids not in the report are ignored."""
        report = self._reader.resolve(ref)
        with self._reader.locked() as cache:
            result = cache.queue.mark(report.id, ids)
        self._log_mark(report, result, list(ids))
        return self._reader.queue_size(report)

    def seed(self, ref: ReportRef, lines: Iterable[str]) -> MarkResult:
        """Queue the ids listed in text (a file or stdin; see :func:`parse_id_list`).

        Typed ids are matched to the report's ids (exactly, else ignoring case: the one place where case
        does not matter). The result says how many were queued, were already queued, and which ids the
        report does not hold.
        """
        report = self._reader.resolve(ref)
        typed = parse_id_list(lines)
        with self._reader.locked() as cache:
            resolved = cache.queries.resolve_ids(report.id, typed)
            ids = [resolved.get(t, t) for t in typed]
            result = cache.queue.mark(report.id, ids)
        self._log_mark(report, result, ids, detail="seeded from a list of ids")
        return result

    def mark_where(self, ref: ReportRef, *, nodes: Sequence[tuple[str, str]] | None = None,
                   entity_type: str | None = None, action: str | None = None, text: str | None = None,
                   recoverable: RecoverableFilter = None, on_prem: SyncFilter = None,
                   ids: Sequence[str] | None = None) -> int:
        """Queue every change matching the filters (``nodes``: of these (type, action) pairs only; ``ids``:
        of these objects only); returns how many were newly queued. One bulk change: :meth:`undo` takes them
        out again."""
        report = self._reader.resolve(ref)
        with self._reader.locked() as cache:
            cache.queue.start_undo()
            added = cache.queue.mark_where(report.id, where_nodes=nodes, entity_type=entity_type,
                                           action=action, text=text, recoverable=recoverable, on_prem=on_prem,
                                           undoable=True, ids=ids)
        self._log.write(HistoryAction.OBJECTS_MARKED, snapshot_id=report.snapshot_id, scope=report.scope,
                        job_id=report.job_id, counts={"marked": added},
                        detail="marked by filter: " + _describe_filters(nodes, entity_type, action, text,
                                                                        recoverable, on_prem, ids))
        return added

    def unmark_where(self, ref: ReportRef, *, nodes: Sequence[tuple[str, str]] | None = None,
                     entity_type: str | None = None, action: str | None = None, text: str | None = None,
                     recoverable: RecoverableFilter = None, on_prem: SyncFilter = None,
                     ids: Sequence[str] | None = None) -> int:
        """Take every change matching the filters out of the queue (``ids``: of these objects only); returns
        how many left it. One bulk change: :meth:`undo` queues them again."""
        report = self._reader.resolve(ref)
        with self._reader.locked() as cache:
            cache.queue.start_undo()
            removed = cache.queue.unmark_where(report.id, where_nodes=nodes, entity_type=entity_type,
                                               action=action, text=text, recoverable=recoverable,
                                               on_prem=on_prem, undoable=True, ids=ids)
        self._log.write(HistoryAction.OBJECTS_UNMARKED, snapshot_id=report.snapshot_id, job_id=report.job_id,
                        counts={"unmarked": removed},
                        detail="unmarked by filter: " + _describe_filters(nodes, entity_type, action, text,
                                                                          recoverable, on_prem, ids))
        return removed

    def undoable(self) -> tuple[int, int]:
        """What :meth:`undo` would do: ``(unmark, mark again)``; ``(0, 0)`` when there is nothing to undo."""
        with self._reader.locked() as cache:
            return cache.queue.undo_counts()

    def undo(self) -> tuple[int, int]:
        """Revert the last bulk change made through this session (mark or unmark by filter, empty the queue,
        a queue carried to a newer report): returns ``(unmarked, marked again)``."""
        with self._reader.locked() as cache:
            unmarked, marked = cache.queue.undo()
        if unmarked or marked:
            self._log.write(HistoryAction.OBJECTS_UNMARKED if unmarked else HistoryAction.OBJECTS_MARKED,
                            counts={"unmarked": unmarked, "marked": marked},
                            detail="undid the last bulk change of the queue")
        return unmarked, marked

    def move(self, source: ReportRef, target: ReportRef) -> tuple[int, int]:
        """Carry the queue of report ``source`` over to report ``target`` (a newer report of the same backup):
        objects ``target`` still holds stay queued, the others leave the queue. Returns ``(kept, dropped)``.
        One bulk change: :meth:`undo` puts the queue back."""
        old, new = self._reader.resolve(source), self._reader.resolve(target)
        if old.snapshot_id != new.snapshot_id:
            raise EngineError("The queue can only follow a newer report of the same backup.")
        with self._reader.locked() as cache:
            kept, dropped = cache.queue.move(old.id, new.id)
        self._log.write(HistoryAction.OBJECTS_MARKED, snapshot_id=new.snapshot_id, job_id=new.job_id,
                        counts={"marked": kept, "unmarked": dropped},
                        detail=f"queue carried over from report {old.job_id}: {kept} still differ, "
                               f"{dropped} no longer differ")
        return kept, dropped

    def signature(self) -> tuple[int, str | None]:
        """Changes whenever the queue changes, in this process or another (see
        :meth:`RestoreQueue.signature <entrabr_tui.store.restore_queue.RestoreQueue.signature>`)."""
        with self._reader.locked() as cache:
            return cache.queue.signature()

    def _log_mark(self, report: Report, result: MarkResult, ids: list[str],
                  detail: str | None = None) -> None:
        unknown = set(result.unknown)
        self._log.write(
            HistoryAction.OBJECTS_MARKED, snapshot_id=report.snapshot_id, scope=report.scope,
            job_id=report.job_id, object_ids=[i for i in ids if i not in unknown], detail=detail,
            counts={"marked": result.marked, "already": result.already, "unknown": len(result.unknown)},
        )

    def unmark(self, ref: ReportRef, ids: Sequence[str]) -> int:
        """Remove objects from the queue; returns the queue size."""
        report = self._reader.resolve(ref)
        with self._reader.locked() as cache:
            removed = cache.queue.unmark(report.id, ids)
        self._log.write(HistoryAction.OBJECTS_UNMARKED, snapshot_id=report.snapshot_id, job_id=report.job_id,
                        object_ids=list(ids), counts={"unmarked": removed})
        return self._reader.queue_size(report)

    def unmark_all(self, ref: ReportRef | None = None) -> int:
        """Empty the queue (of one report, or of every report); returns how many were removed. One bulk
        change: :meth:`undo` queues them again."""
        with self._reader.locked() as cache:
            reports = [self._reader.resolve(ref)] if ref is not None else cache.reports.all()
            cache.queue.start_undo()
            removed = sum(cache.queue.clear(report.id, undoable=True) for report in reports)
        self._log.write(HistoryAction.OBJECTS_UNMARKED, counts={"unmarked": removed}, detail="queue emptied")
        return removed

    def unmark_done(self, report_id: int, scope: FilteringCriteria | None, failed: Iterable[Change]) -> int:
        """Take the objects a finished restore batch restored out of the queue (failed ones stay)."""
        failed_ids = {c.id for c in failed}
        if isinstance(scope, EntityNameAndIdsFilter):
            ids = [i for _, group in scope.values for i in group]
        else:
            types = set(getattr(scope, "entity_types", ()))
            with self._reader.locked() as cache:
                ids = [e.object_id for e in cache.queue.entries(report_id)
                       if scope is None or e.entity_type_raw in types]
        done = [i for i in ids if i not in failed_ids]
        with self._reader.locked() as cache:
            return cache.queue.unmark(report_id, done) if done else 0

    # -- planning --------------------------------------------------------------------------------------

    def queued_report(self, ref: ReportRef | None) -> Report | None:
        """The report ``ref`` names, or (``None``) the only report with a queue; ``None`` when no report holds
        one; :class:`EngineError` when several do."""
        if ref is not None:
            return self._reader.resolve(ref)
        with self._reader.locked() as cache:
            holding = [r for r in cache.reports.all() if cache.queue.counts(r.id)]
        if len(holding) > 1:
            raise EngineError("Objects are queued from several reports; plan one report at a time.")
        return holding[0] if holding else None

    def plan(self, ref: ReportRef | None = None, *, allow_whole_type: bool = True,
             record: bool = True, strategy: Choice | str | None = None) -> SessionPlan:
        """Plan a restore of the queue of one report (the only report with a queue when ``ref`` is None):
        every option compared, the default (or ``strategy``) chosen (see
        :class:`~entrabr_tui.engine.plan_builder.PlanBuilder`).

        An empty queue gives an empty plan (``is_empty``); queues in several reports without ``ref`` raise
        :class:`EngineError`. ``record=False`` leaves the session history alone: a preview (e.g. the UI's
        queue pane redrawn after every mark), read from the cache's columns unless ``strategy`` is given
        (see :meth:`_preview`); a plan to restore from is made with ``record=True``.
        """
        report = self.queued_report(ref)
        if report is None:
            return SessionPlan.empty()
        with self._reader.locked() as cache:
            if not record and strategy is None:
                return self._preview(cache, report, allow_whole_type)
            queued = [change for change in cache.queue.changes(report.id) if change.readable]
        plan = self.builder.plan(ReportInfo.of(report), PlanInputs.of(queued), strategy=strategy,
                                 allow_whole_type=allow_whole_type)
        if record:
            self.log_plan(plan)
        return plan

    def _preview(self, cache: Cache, report: Report, allow_whole_type: bool) -> SessionPlan:
        """The queue's plan without comparing options: what it restores, reverts, soft-deletes and excludes.
        The cache's columns hold each change's answer (and sync status): the preview reads them, so a queue
        of hundreds of thousands plans in moments. An answer missing for another reason than an unknown sync
        status is worked out again from the change."""
        rows = cache.queue.rows(report.id, every_change=True)
        unknown = {c.id: c for c in cache.queries.get_changes(
            report.id, [r.object_id for r in rows if r.recoverable is None
                        and r.sync is not SyncStatus.UNKNOWN]) if c.readable}
        totals = cache.queries.object_counts(report.id)  # objects, not changes: the planner scopes by id
        records = [
            queued_change_for(unknown[r.object_id]) if r.object_id in unknown
            else QueuedChange(r.object_id, r.entity_type, r.action,
                              stored_verdict(r.entity_type, r.action, r.sync, r.recoverable))
            for r in rows
        ]
        names = {r.object_id: r.display_name for r in rows}
        return plan_records(ReportInfo.of(report), records, names, totals, allow_whole_type=allow_whole_type)

    def log_plan(self, plan: SessionPlan) -> None:
        """Write a plan to the session history (what it restores, how, and how long it should take)."""
        summary = plan.plan.summary
        counts: dict[str, object] = {
            "queued": summary.queued, "included": summary.included, "restore": summary.restores,
            "update": summary.updates, "softDelete": summary.soft_deletes, "excluded": summary.excluded,
            "jobs": summary.jobs}
        detail = None
        if plan.choices is not None and plan.choice is not None:
            option = plan.choices.option(plan.choice)
            counts["estimateSeconds"] = round(option.estimate.seconds)
            detail = f"{option.choice.label}, {plan.choices.model.basis}"
            if plan.dependencies:
                detail += f"; {len(plan.dependencies)} missing dependencies"
        self._log.write(HistoryAction.RESTORE_PLANNED, snapshot_id=plan.snapshot_id,
                        job_id=plan.tenant_report_id, object_ids=plan.ids, counts=counts, detail=detail)
