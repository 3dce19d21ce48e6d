"""Restore queue pane: queued objects grouped by type and action, what a restore does, what it skips."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.binding import BindingType
from textual.message import Message

from entrabr_tui.core.model import RecoveryAction
from entrabr_tui.ui.backend import QueueEntry
from entrabr_tui.ui.bindings import QUEUE
from entrabr_tui.ui.text import clean, name_text, plural, safe, wrapped
from entrabr_tui.ui.widgets.styles import action_glyph, action_style
from entrabr_tui.ui.widgets.tables import NavTable

if TYPE_CHECKING:
    from entrabr_tui.engine.plans import SessionPlan

#: Most object rows drawn (the counts above them stay exact).
MAX_ROWS = 2_000

_VERB = {
    RecoveryAction.UPDATE: "revert",
    RecoveryAction.RESTORE: "restore",
    RecoveryAction.SOFT_DELETE: "soft-delete",
}


def plan_title(plan: SessionPlan | None) -> str:
    """``15 queued · 12 to change (3 soft-delete) · 2 excluded · 1 job``."""
    if plan is None or plan.queued == 0:
        return "empty"
    s = plan.summary
    parts = [f"{s.queued - s.duplicates:,} queued", f"{s.included:,} to change"]
    if s.soft_deletes:
        parts[-1] += f" ({s.soft_deletes:,} soft-delete)"
    if s.excluded:
        parts.append(f"{s.excluded:,} excluded")
    parts.append(plural(s.jobs, "job"))
    return " · ".join(parts)


class QueueTable(NavTable):
    """Rows: one header per type and action, then its objects; excluded objects last, with the reason."""

    BINDINGS: ClassVar[list[BindingType]] = QUEUE.as_list()

    class Unmark(Message):
        """Remove these objects (all from one report) from the queue."""

        def __init__(self, report_id: str, ids: list[str]) -> None:
            super().__init__()
            self.report_id = report_id
            self.ids = ids

    class UnmarkAll(Message):
        """Empty the queue."""

    class Back(Message):
        """esc/h: return to the Changes pane."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.entries: list[QueueEntry] = []
        self.plan: SessionPlan | None = None
        #: Row key → the queued objects that row stands for (one object, or a whole group).
        self._rows: dict[str, list[QueueEntry]] = {}

    def on_mount(self) -> None:
        self.redraw()

    def show_queue(self, entries: Sequence[QueueEntry], plan: SessionPlan | None) -> None:
        self.entries = list(entries)
        self.plan = plan
        self.redraw()

    def _add(self, key: str, entries: list[QueueEntry], *cells: Text) -> None:
        self._rows[key] = entries
        self.add_row(*cells, key=key)

    def redraw(self) -> None:
        cursor = self.cursor_row
        name_w, effect_w = self.split([1], [60, 40])
        self.reset_columns([("glyph", " ", 1), ("object", "Object", name_w),
                            ("effect", "Restore will", effect_w)])
        self._rows = {}
        if not self.entries:
            hint, lines = wrapped("Empty: mark objects with space in pane 2 (Changes), then r restores them.",
                                  name_w, 4, "dim italic")
            self._rows["empty"] = []
            self.add_row(Text(""), hint, Text(""), key="empty", height=lines)
            return
        reasons: dict[tuple[str, str], str] = {}
        for exclusion in self.plan.exclusions if self.plan is not None else ():
            for object_id in exclusion.ids:
                reasons[(exclusion.entity_type, object_id)] = exclusion.detail
        groups: dict[tuple[str, str], list[QueueEntry]] = {}
        excluded: list[tuple[QueueEntry, str]] = []
        for entry in self.entries:
            reason = reasons.get((entry.entity_type, entry.id))
            if reason is not None:
                excluded.append((entry, reason))
            else:
                groups.setdefault((entry.entity_type, entry.action), []).append(entry)
        drawn = 0
        for number, ((etype, action), group) in enumerate(groups.items()):
            verb = _VERB.get(RecoveryAction.parse(action), action)
            glyph = Text(action_glyph(action), style=action_style(self.app, action))
            self._add(f"group-{number}", group, glyph,
                      Text.assemble(safe(etype, name_w - 9, style="bold"), f"  {len(group):,}"),
                      Text(verb, style="bold"))
            for entry in group[:max(0, MAX_ROWS - drawn)]:
                drawn += 1
                self._add(f"row-{drawn}", [entry], glyph.copy(),
                          Text.assemble("  ", name_text(entry.display_name, name_w - 2)), Text(verb))
        if excluded:
            self._add("excluded", [e for e, _ in excluded], Text("!"),
                      Text(f"Excluded  {len(excluded):,}", style="bold"),
                      Text("nothing (see why)", style="bold"))
            for entry, reason in excluded[:max(0, MAX_ROWS - drawn)]:
                drawn += 1
                reason_text, lines = wrapped(clean(reason), effect_w, 3, "italic")
                self._rows[f"row-{drawn}"] = [entry]
                self.add_row(Text("!"), Text.assemble("  ", name_text(entry.display_name, name_w - 2)),
                             reason_text, key=f"row-{drawn}", height=lines)
        if drawn >= MAX_ROWS:
            self._add("more", [], Text(""), Text(f"… first {MAX_ROWS:,} objects shown", style="dim italic"),
                      Text(""))
        if self.row_count:
            self.move_cursor(row=min(max(cursor, 0), self.row_count - 1))

    def action_unmark_row(self) -> None:
        if self.row_count == 0:
            return
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        by_report: dict[str, list[str]] = {}
        for entry in self._rows.get(key or "", []):
            by_report.setdefault(entry.report_id, []).append(entry.id)
        for report_id, ids in by_report.items():
            self.post_message(self.Unmark(report_id, ids))

    def action_unmark_all(self) -> None:
        self.post_message(self.UnmarkAll())

    def action_back(self) -> None:
        self.post_message(self.Back())
