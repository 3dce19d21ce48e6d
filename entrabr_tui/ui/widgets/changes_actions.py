"""Key actions of the Changes tree: drill in and back, marks (single, range, visible, none), filters."""

from __future__ import annotations

from collections.abc import Iterator

from textual import work
from textual.actions import SkipAction
from textual.widgets.tree import TreeNode

from entrabr_tui.ui.backend import Backend, TypeActionCount
from entrabr_tui.ui.messages import DiffRequested, FilterRequested, MarksChanged
from entrabr_tui.ui.widgets.change_nodes import ActionNode, NodeData, ObjectRow, PageLink, TypeNode
from entrabr_tui.ui.widgets.changes_build import ChangesBuild


def cycle(values: list[str], current: str | None) -> str | None:
    """The value after ``current`` (``None`` after the last: no filter)."""
    if not values:
        return None
    if current not in values:
        return values[0]
    index = values.index(current) + 1
    return values[index] if index < len(values) else None


class ChangesActions(ChangesBuild):
    """Actions bound in ``bindings.CHANGES``; the tree's state and loading live in ``ChangesTree``."""

    backend: Backend | None
    report_id: str | None
    counts: list[TypeActionCount]
    marked: set[str]
    filter_text: str
    recoverable_filter: bool | None
    type_only: str | None
    action_only: str | None
    lens: bool
    _anchor: TreeNode[NodeData] | None

    # Implemented by ChangesTree.
    def apply_marks(self, ids: list[str], marked: bool) -> None:
        raise NotImplementedError

    def clear_marks(self) -> None:
        raise NotImplementedError

    def visible_rows(self) -> list[ObjectRow]:
        raise NotImplementedError

    def _leaves(self) -> Iterator[TreeNode[NodeData]]:
        raise NotImplementedError

    def _rebuild(self) -> None:
        raise NotImplementedError

    def _refilter(self, delay: float = 0.0, *, force: bool = False) -> bool:
        raise NotImplementedError

    def _post_summary(self) -> None:
        raise NotImplementedError

    def _turn_page(self, link: PageLink) -> None:
        raise NotImplementedError

    # -- navigation ------------------------------------------------------------------------------------------
    def action_drill_in(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        data = node.data
        if isinstance(data, ObjectRow):
            self.post_message(DiffRequested())
        elif isinstance(data, PageLink):
            self._turn_page(data)
        elif isinstance(data, TypeNode | ActionNode):
            if not node.is_expanded:
                node.expand()
            elif node.children:
                self.move_cursor(node.children[0])

    def action_back(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        if node.is_expanded and node.allow_expand:
            node.collapse()
        elif node.parent is not None and node.parent is not self.root:
            self.move_cursor(node.parent)

    def _jump_to_match(self, forward: bool) -> None:
        lines = [n.line for n in self._leaves() if n.line >= 0]
        if not lines:
            return
        start = self.cursor_line
        after = [ln for ln in lines if (ln > start if forward else ln < start)]
        target = (after[0] if forward else after[-1]) if after else (lines[0] if forward else lines[-1])
        self.cursor_line = target
        self.scroll_to_line(target)

    def action_next_match(self) -> None:
        if not self.filter_text:
            raise SkipAction()
        self._jump_to_match(forward=True)

    def action_previous_match(self) -> None:
        if not self.filter_text:
            raise SkipAction()
        self._jump_to_match(forward=False)

    # -- marks -----------------------------------------------------------------------------------------------
    def _set_marks(self, ids: list[str], marked: bool) -> None:
        if not ids or self.backend is None or self.report_id is None:
            return
        self.apply_marks(ids, marked)
        self._persist_marks(self.backend, self.report_id, ids, marked)

    @work(thread=True, exit_on_error=False, group="marks", description="Saving the restore queue")
    def _persist_marks(self, backend: Backend, report_id: str, ids: list[str], marked: bool) -> None:
        size = backend.mark(report_id, ids) if marked else backend.unmark(report_id, ids)
        self.post_message(MarksChanged(report_id, ids, marked, size))

    def action_mark(self) -> None:
        node = self.cursor_node
        if node is not None and isinstance(node.data, ObjectRow):
            row = node.data
            self._set_marks([row.id], row.id not in self.marked)
        self.action_cursor_down()

    def action_range(self) -> None:
        node = self.cursor_node
        if node is None or not isinstance(node.data, ObjectRow):
            self.notify("Put the cursor on an object to start a range.", severity="warning")
            return
        if self._anchor is None or self._anchor.line < 0 or not self._alive(self._anchor):
            self._anchor = node
            self._post_summary()
            return
        low, high = sorted((self._anchor.line, node.line))
        self._anchor = None
        ids = []
        for line in range(low, high + 1):
            picked = self.get_node_at_line(line)
            if picked is not None and isinstance(picked.data, ObjectRow):
                ids.append(picked.data.id)
        self._set_marks(ids, True)
        self._post_summary()

    def action_mark_visible(self) -> None:
        self._set_marks([r.id for r in self.visible_rows() if r.id not in self.marked], True)

    def action_unmark_all(self) -> None:
        if self.backend is None:
            return
        self.clear_marks()
        self._persist_unmark_all(self.backend)

    @work(thread=True, exit_on_error=False, group="marks", description="Clearing the restore queue")
    def _persist_unmark_all(self, backend: Backend) -> None:
        backend.unmark_all()
        self.post_message(MarksChanged(None, [], False, 0))

    # -- filters ---------------------------------------------------------------------------------------------
    def action_open_filter(self) -> None:
        self.post_message(FilterRequested())

    def action_clear_filter(self) -> None:
        active = self.filter_text or self.recoverable_filter is not None or self.type_only or self.action_only
        if not (active or self.lens or self._anchor):
            raise SkipAction()
        refilter = bool(self.filter_text) or self.recoverable_filter is not None
        self.filter_text, self.recoverable_filter, self.type_only, self.action_only = "", None, None, None
        self.lens, self._anchor = False, None
        if not (refilter and self._refilter()):
            self._rebuild()

    def action_cycle_type(self) -> None:
        self.type_only = cycle(sorted({c.entity_type_raw for c in self.counts}), self.type_only)
        self._rebuild()

    def action_cycle_action(self) -> None:
        self.action_only = cycle(sorted({c.action_raw for c in self.counts}), self.action_only)
        self.lens = False
        self._rebuild()

    def action_cycle_recoverable(self) -> None:
        self.recoverable_filter = {None: True, True: False, False: None}[self.recoverable_filter]
        self._refilter()

    def action_destructive_lens(self) -> None:
        self.lens = not self.lens
        self._rebuild()
