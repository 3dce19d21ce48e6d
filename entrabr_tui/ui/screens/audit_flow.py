"""Who changed it, in the app: grouping the Changes pane, marking and tagging whole groups, the lens.

:class:`AuditFlow` is held by the main screen once a tenant is open. It cycles the Changes pane's grouping
(type → action, actor → operation, cluster), reading the audit log into the cache first when the report's
window is not there yet; marks a whole group across the report (kept clusters and operations are skipped,
and the toast says how many; the restore queue's one undo reverts it), or unmarks it when every change of it
that can be queued is queued already (the pane's footer says which ``m`` will do: :meth:`AuditFlow.probe`
looks whenever the cursor or the queue moves); marks a time window (``w``: a dialog counts it first); tags
clusters and operations; opens the "Not in this report" lens; and keeps the status line's count of what the
report cannot show. Its workers belong to the screen; cache reads run in threads, network reads in async
workers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
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
from entrabr_tui.engine.errors import EngineError
from entrabr_tui.ui.backend import Backend
from entrabr_tui.ui.messages import MarksReloaded
from entrabr_tui.ui.screens.audit_screens import (
    NotInReportScreen,
    TimeWindowDialog,
    TriageChoice,
    TriageDialog,
    window_text,
)
from entrabr_tui.ui.text import clean, plural, safe
from entrabr_tui.ui.widgets.changes_pane import ChangesPane
from entrabr_tui.ui.widgets.changes_tree import ChangesTree
from entrabr_tui.ui.widgets.group_nodes import Grouping, GroupNode, Level
from entrabr_tui.ui.widgets.group_tree import GroupTree

if TYPE_CHECKING:
    from textual.worker import Worker

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


def needs_audit(group: ChangeGroup) -> bool:
    """Whether only the audit join can select ``group`` (a type, an action or a filter's matches can be
    selected without it)."""
    return any(v is not None for v in (group.actor, group.operation, group.cluster, group.since, group.until,
                                       group.verdict))


class AuditFlow:
    """The audit features of the main screen (see the module docstring)."""

    def __init__(self, screen: MainScreen, backend: Backend) -> None:
        self.screen = screen
        self.backend = backend
        self.grouping = Grouping.TYPE
        #: The report and group :meth:`probe` last looked at (it looks again only when they change).
        self.probed: tuple[str, ChangeGroup] | None = None

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

    def show(self, grouping: Grouping) -> Worker[None] | None:
        """Show the Changes pane grouped by ``grouping``; returns the worker that reads the groups, if any."""
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
            return None
        report_id = screen.report_id
        if report_id is None:
            self.groups.show_message("Open a report first (pane 1).")
            return None
        self.groups.show_message("checking the audit log…")
        return screen.run_worker(partial(self._ready_then_show, report_id, grouping), group="audit-group",
                                 exclusive=True, exit_on_error=False, description="Reading the audit log")

    async def _ready_then_show(self, report_id: str, grouping: Grouping) -> None:
        """Read the audit log of the report's window first when the cache lacks it, then group."""
        groups = self.groups
        if not await self.audit_ready(report_id, groups.show_message, " (b: back to type → action)"):
            return
        if self.grouping is grouping and self.screen.report_id == report_id:
            groups.show(self.backend, report_id, grouping, self.changes.filters.effective_text(
                self.changes.model.total) or None)
            self.refresh_status()

    async def audit_ready(self, report_id: str, say: Callable[[str], None], back: str = "",
                          progress: Callable[[str], None] | None = None) -> bool:
        """Whether the report's join with the audit log can be read, reading the log of its window first
        when the cache lacks it (``say`` tells what happens or what is missing, ``progress`` the pull's
        steps; ``back`` ends what is missing)."""
        backend = self.backend
        try:
            await asyncio.to_thread(backend.audit_actors, report_id)
            return True
        except AuditUnavailableError as exc:
            say(f"no audit access: {clean(exc)}{back}")
            self.refresh_status()
            return False
        except AuditNotReadyError:
            if backend.offline:
                say(f"The audit log of this report's window is not in the cache, and offline it cannot be "
                    f"read{back}.")
                return False
        tell = progress or say

        def step(event: AuditProgress) -> None:
            tell(event.text or "reading the audit log…")

        say("reading the audit log of the report's window…")
        try:
            await backend.pull_audit(report_id, step)
        except AuditUnavailableError as exc:
            say(f"no audit access: {clean(exc)}{back}")
            self.refresh_status()
            return False
        return True

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

    def _nodes(self, group: ChangeGroup) -> list[tuple[str, str]]:
        """The (type, action) pairs of the type tree a type or action group covers (without the audit log,
        marking goes by them)."""
        return [(c.entity_type_raw, c.action_raw) for c in self.changes.model.counts
                if c.entity_type_raw == group.entity_type and group.action in (None, c.action_raw)]

    def mark(self, group: ChangeGroup, what: str, *, toggle: bool = True) -> None:
        """``m``: queue every change of the group across the whole report (kept ones are skipped), or, with
        ``toggle``, take the group out of the queue when all of it that can be queued is queued already. One
        bulk change of the queue: ``u`` (the queue's one undo) reverts exactly it."""
        report_id = self.screen.report_id
        if report_id is not None:
            before = set(self.changes.marks.marked)
            work = partial(self._mark, report_id, group, what, before, self._nodes(group), toggle)
            self._run(work, "Marking the group")

    def fully_marked(self, report_id: str, group: ChangeGroup, nodes: list[tuple[str, str]]) -> bool:
        """Whether every change of the group a tag does not keep is queued (and something is), blocking.
        Without the audit log a type, an action or a filter's matches are counted by the type tree's nodes;
        a group only the audit join can select raises the audit errors."""
        backend = self.backend
        try:  # an unmarked change is found at once in the usual case: only a fully marked group is read whole
            return not backend.group_has(report_id, group, marked=False, kept=False) and \
                backend.group_has(report_id, group, marked=True)
        except EngineError:  # no audit log, no access, no join (the backup time is not known)
            if needs_audit(group):
                raise
        wanted = set(nodes)

        def total(marked: bool | None) -> int:
            counts = backend.counts(report_id, text=group.text, marked=marked)
            return sum(c.count for c in counts if not wanted or (c.entity_type_raw, c.action_raw) in wanted)

        return total(False) == 0 and total(None) > 0  # the unmarked ones and the cached totals

    def _mark(self, report_id: str, group: ChangeGroup, what: str, before: set[str],
              nodes: list[tuple[str, str]], toggle: bool) -> None:
        backend = self.backend
        try:
            unmark = toggle and self.fully_marked(report_id, group, nodes)
        except EngineError:
            unmark = False  # marking says what is missing
        try:
            if unmark:
                removed = backend.unmark_group(report_id, group)
            else:
                result = backend.mark_group(report_id, group)
        except EngineError as exc:
            if needs_audit(group):
                raise
            # A type, an action or a filter's matches need no audit log (nor can a tag keep them then).
            call = backend.unmark_where if unmark else backend.mark_where
            changed = call(report_id, nodes=nodes or None, text=group.text)
            self.screen.post_message(MarksReloaded(report_id, backend.marked(report_id)))
            note = " (no audit access: tags do not apply)" if isinstance(exc, AuditUnavailableError) else ""
            undo = " u undoes." if changed else ""
            done = "Unmarked" if unmark else "Queued"
            self.screen.notify(f"{done} {plural(changed, 'object')} of {what}{note}.{undo}",
                               title="Unmark the group" if unmark else "Mark the group")
            return
        marked = backend.marked(report_id)
        self.screen.post_message(MarksReloaded(report_id, marked))
        if unmark:
            self.screen.notify(f"Took {plural(removed, 'object')} of {what} out of the restore queue (all of "
                               "it was queued). u undoes.", title="Unmark the group")
            return
        self.screen.notify(mark_text(result, what), title="Mark the group",
                           severity="warning" if result.kept else "information", timeout=10)
        if self.screen.marks is not None:
            self.screen.marks.warn_recent(marked - before)

    def probe(self, *, again: bool = False) -> None:
        """Look whether ``m`` would mark or unmark the focused group (the footer says it), when the focused
        group changed or (``again``) the queue did."""
        pane = self.screen.query_one(ChangesPane)
        report_id = self.screen.report_id
        found = pane.focused_group() if report_id is not None else None
        if report_id is None or found is None:
            self.probed = None
            pane.show_unmarks(False)
            return
        group = found[0]
        if not again and self.probed == (report_id, group):
            return
        if not self.changes.marks.marked:  # nothing of the report is marked: m marks
            self.probed = None
            pane.show_unmarks(False)
            return
        self.probed = (report_id, group)
        self.screen.run_worker(partial(self._probe, report_id, group, self._nodes(group)), thread=True,
                               group="group-probe", exclusive=True, exit_on_error=False,
                               description="Looking at the group's marks")

    def _probe(self, report_id: str, group: ChangeGroup, nodes: list[tuple[str, str]]) -> None:
        try:
            unmarks = self.fully_marked(report_id, group, nodes)
        except EngineError:
            unmarks = False  # m says what is missing when pressed
        if self.probed == (report_id, group):  # else the cursor moved on: a newer look answers
            self.screen.query_one(ChangesPane).post_message(ChangesPane.Unmarks(unmarks))

    # -- time windows ----------------------------------------------------------------------------------------
    def window(self, since: datetime | None, until: datetime | None, text: str | None) -> Worker[None] | None:
        """``w``: ask for a time window (from ``since`` to ``until`` at first), count it, then mark it like
        a group (kept changes are skipped; ``u`` undoes)."""
        report_id = self.screen.report_id
        if report_id is None:
            self.screen.notify("Open a report first (pane 1).", title="Mark a time window")
            return None
        return self.screen.run_worker(partial(self._window, report_id, since, until, text),
                                      group="audit-window", exclusive=True, exit_on_error=False,
                                      description="Mark a time window")

    async def _window(self, report_id: str, since: datetime | None, until: datetime | None,
                      text: str | None) -> None:
        def say(message: str) -> None:
            self.screen.notify(message, title="Mark a time window")

        if not await self.audit_ready(report_id, say, progress=lambda _: None):
            return
        group: ChangeGroup | None = await self.screen.app.push_screen_wait(
            TimeWindowDialog(self.backend, report_id, since, until, text, self.screen.clock))
        if group is not None and self.screen.report_id == report_id:
            self.mark(group, window_text(group), toggle=False)

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
    def tag(self, node: GroupNode | None) -> Worker[None] | None:
        """``T``: tag the cluster or operation under the cursor."""
        if node is None or node.level is Level.ACTOR:
            where = "b groups by cluster or by actor → operation" if self.grouping is Grouping.TYPE else \
                "move onto a cluster or an operation"
            self.screen.notify(f"Triage tags go on a cluster or an operation: {where}.", title="Tag",
                               severity="warning")
            return None
        return self.screen.run_worker(partial(self._tag, node), group="audit-tag", exclusive=True,
                                      exit_on_error=False, description="Tagging")

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

    def refresh_status(self) -> Worker[None] | None:
        """Count what the report cannot show for the status line (in a worker, which is returned). This flow's
        workers start from a function, not a coroutine: one replaced before it began leaves none unawaited."""
        report_id = self.screen.report_id
        if report_id is None:
            return None
        return self.screen.run_worker(partial(self._count, report_id), group="audit-status", exclusive=True,
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
