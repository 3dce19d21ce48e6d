"""Who changed it, in the app: grouping the Changes pane, marking and tagging whole groups, the lens.

:class:`AuditFlow` is held by the main screen once a tenant is open. It cycles the Changes pane's grouping
(type → action, actor → operation, cluster), reading the audit log into the cache first when the report's
window is not there yet; marks a whole group across the report (kept clusters and operations are skipped,
and the toast says how many; the restore queue's one undo reverts it); tags clusters and operations; opens
the "Not in this report" lens; and keeps the status line's count of what the report cannot show. Its
workers belong to the screen; cache reads run in threads, network reads in async workers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from rich.text import Text

from entrabr_tui.core.audit_triage import TagTarget
from entrabr_tui.engine.audit_types import (
    AuditNotReadyError,
    AuditProgress,
    AuditUnavailableError,
    ChangeGroup,
    GroupMarkResult,
)
from entrabr_tui.ui.backend import Backend
from entrabr_tui.ui.messages import MarksReloaded
from entrabr_tui.ui.screens.audit_screens import NotInReportScreen, TriageChoice, TriageDialog
from entrabr_tui.ui.text import clean, plural, safe
from entrabr_tui.ui.widgets.changes_pane import ChangesPane
from entrabr_tui.ui.widgets.changes_tree import ChangesTree
from entrabr_tui.ui.widgets.group_nodes import Grouping, GroupNode, Level
from entrabr_tui.ui.widgets.group_tree import GroupTree

if TYPE_CHECKING:
    from entrabr_tui.ui.screens.main import MainScreen


def mark_text(result: GroupMarkResult, what: str) -> str:
    """``Queued 1,204 changes of actor alice@… (3 already queued). 12 kept by a triage tag were left out.``"""
    text = f"Queued {plural(result.marked, 'change')} of {what}"
    if result.already:
        text += f" ({result.already:,} already queued)"
    text += "."
    if result.kept:
        text += f" {plural(result.kept, 'change')} tagged keep left out: kept clusters are never queued."
    if result.marked:
        text += " u undoes."
    return text


class AuditFlow:
    """The audit features of the main screen (see the module docstring)."""

    def __init__(self, screen: MainScreen, backend: Backend) -> None:
        self.screen = screen
        self.backend = backend
        self.grouping = Grouping.TYPE

    @property
    def groups(self) -> GroupTree:
        return self.screen.query_one(GroupTree)

    @property
    def changes(self) -> ChangesTree:
        return self.screen.query_one(ChangesTree)

    # -- grouping --------------------------------------------------------------------------------------------
    def regroup(self) -> None:
        """``b``: the next grouping (the pane title names it)."""
        self.show(self.grouping.next)

    def show(self, grouping: Grouping) -> None:
        screen = self.screen
        self.grouping = grouping
        screen.query_one(ChangesPane).grouping = grouping
        grouped = grouping is not Grouping.TYPE
        had_focus = screen.focused in (self.changes, self.groups)
        self.changes.display = not grouped
        self.groups.display = grouped
        if had_focus or grouped:
            (self.groups if grouped else self.changes).focus()
        if not grouped:
            self.changes.refresh_summary()
            return
        report_id = screen.report_id
        if report_id is None:
            self.groups.show_message("Open a report first (pane 1).")
            return
        self.groups.show_message("checking the audit log…")
        screen.run_worker(self._ready_then_show(report_id, grouping), group="audit-group", exclusive=True,
                          exit_on_error=False, description="Reading the audit log")

    async def _ready_then_show(self, report_id: str, grouping: Grouping) -> None:
        """Read the audit log of the report's window first when the cache lacks it, then group."""
        backend, groups = self.backend, self.groups
        try:
            await asyncio.to_thread(backend.audit_actors, report_id)
        except AuditUnavailableError as exc:
            groups.show_message(f"no audit access: {clean(exc)} (b: back to type → action)")
            self.refresh_status()
            return
        except AuditNotReadyError:
            if backend.offline:
                groups.show_message("The audit log of this report's window is not in the cache, and offline "
                                    "it cannot be read (b: back to type → action).")
                return

            def progress(event: AuditProgress) -> None:
                groups.show_message(event.text or "reading the audit log…")

            groups.show_message("reading the audit log of the report's window…")
            try:
                await backend.pull_audit(report_id, progress)
            except AuditUnavailableError as exc:
                groups.show_message(f"no audit access: {clean(exc)} (b: back to type → action)")
                self.refresh_status()
                return
        if self.grouping is grouping and self.screen.report_id == report_id:
            groups.show(backend, report_id, grouping, self.changes.filters.effective_text(
                self.changes.model.total) or None)
            self.refresh_status()

    def report_opened(self) -> None:
        """Another report (or fresh counts): the grouped tree reads it again; the status count too."""
        if self.grouping is not Grouping.TYPE and self.screen.report_id != self.groups.report_id:
            self.show(self.grouping)
        self.refresh_status()

    def filter_changed(self, text: str) -> None:
        """The typed filter changed: the grouped tree shows its matches (looked up again)."""
        groups = self.groups
        if self.grouping is not Grouping.TYPE and groups.backend is not None and groups.report_id is not None:
            wanted = self.changes.filters.effective_text(self.changes.model.total) or None
            if wanted != groups.text:
                groups.show(groups.backend, groups.report_id, self.grouping, wanted)

    # -- marks -----------------------------------------------------------------------------------------------
    def _run(self, work: Callable[[], None], description: str) -> None:
        """Change the queue in a thread worker of the screen's ``marks`` group (they run one after another:
        they share the session's connection)."""
        self.screen.run_worker(work, thread=True, group="marks", description=description, exit_on_error=False)

    def mark(self, group: ChangeGroup, what: str) -> None:
        """``m``: queue every change of the group across the whole report (kept ones are skipped). One bulk
        change of the queue: ``u`` (the queue's one undo) takes out exactly what it queued."""
        report_id = self.screen.report_id
        if report_id is not None:
            before = set(self.changes.marks.marked)
            nodes = [(c.entity_type_raw, c.action_raw) for c in self.changes.model.counts
                     if c.entity_type_raw == group.entity_type and group.action in (None, c.action_raw)]
            self._run(partial(self._mark, report_id, group, what, before, nodes), "Marking the group")

    def _mark(self, report_id: str, group: ChangeGroup, what: str, before: set[str],
              nodes: list[tuple[str, str]]) -> None:
        backend = self.backend
        try:
            result = backend.mark_group(report_id, group)
        except (AuditNotReadyError, AuditUnavailableError) as exc:
            if group.actor is not None or group.operation is not None or group.cluster is not None:
                raise
            # A type, an action or a filter's matches need no audit log (nor can a tag keep them then).
            added = backend.mark_where(report_id, nodes=nodes or None, text=group.text)
            self.screen.post_message(MarksReloaded(report_id, backend.marked(report_id)))
            note = "" if isinstance(exc, AuditNotReadyError) else " (no audit access: tags do not apply)"
            undo = " u undoes." if added else ""
            self.screen.notify(f"Queued {plural(added, 'object')} of {what}{note}.{undo}",
                               title="Mark the group")
            return
        marked = backend.marked(report_id)
        self.screen.post_message(MarksReloaded(report_id, marked))
        self.screen.notify(mark_text(result, what), title="Mark the group",
                           severity="warning" if result.kept else "information", timeout=10)
        if self.screen.marks is not None:
            self.screen.marks.warn_recent(marked - before)

    def toggle(self, report_id: str | None, object_id: str) -> None:
        """space on an object of the grouped tree: queue it or take it out."""
        if report_id is not None:
            marked = object_id not in self.changes.marks
            self._run(partial(self._toggle, report_id, object_id, marked), "Saving the restore queue")

    def _toggle(self, report_id: str, object_id: str, marked: bool) -> None:
        call = self.backend.mark if marked else self.backend.unmark
        call(report_id, [object_id])
        self.screen.post_message(MarksReloaded(report_id, self.backend.marked(report_id)))

    # -- triage ----------------------------------------------------------------------------------------------
    def tag(self, node: GroupNode | None) -> None:
        """``T``: tag the cluster or operation under the cursor."""
        if node is None or node.level is Level.ACTOR:
            where = "b groups by cluster or by actor → operation" if self.grouping is Grouping.TYPE else \
                "move onto a cluster or an operation"
            self.screen.notify(f"Triage tags go on a cluster or an operation: {where}.", title="Tag",
                               severity="warning")
            return
        self.screen.run_worker(self._tag(node), group="audit-tag", exclusive=True, exit_on_error=False,
                               description="Tagging")

    async def _tag(self, node: GroupNode) -> None:
        target = TagTarget.CLUSTER if node.level is Level.CLUSTER else TagTarget.OPERATION
        what = Text.assemble(f"{node.level.value} ", safe(node.title, 60))
        choice: TriageChoice | None = await self.screen.app.push_screen_wait(
            TriageDialog(what, node.count, node.tag))
        if choice is None:
            return
        stored = await asyncio.to_thread(self.backend.set_triage_tag, target, node.key, choice.tag,
                                         choice.note)
        self.groups.retag(node.key, stored)
        said = f"tagged {choice.tag.value}" if choice.tag is not None else "untagged"
        extra = " Marking skips it, and plans leave its changes alone." if choice.tag is not None and \
            choice.tag.value == "keep" else ""
        self.screen.notify(f"The {node.level.value} is {said}.{extra}", title="Tag")
        self.screen.load_queue(self.backend)

    # -- the lens and the status line ------------------------------------------------------------------------
    def lens(self) -> None:
        """``L``: the "Not in this report" lens."""
        report_id = self.screen.report_id
        if report_id is None:
            self.screen.notify("Open a report first (pane 1).", title="Not in this report")
            return
        self.screen.app.push_screen(NotInReportScreen(self.backend, report_id, self.screen.clock))

    def refresh_status(self) -> None:
        report_id = self.screen.report_id
        if report_id is not None:
            self.screen.run_worker(self._count(report_id), group="audit-status", exclusive=True,
                                   exit_on_error=False, description="Counting blind spots")

    async def _count(self, report_id: str) -> None:
        backend = self.backend
        try:
            count = await asyncio.to_thread(backend.blind_spot_count, report_id)
        except AuditUnavailableError:
            text = "audit: no access"
        except AuditNotReadyError:
            text = "audit log not read"
        else:
            text = f"not in report: {count:,} (L)"
        self.screen.status.set_audit(text)
