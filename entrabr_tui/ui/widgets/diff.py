"""Diff pane: one object's properties side by side (backup / current), or its raw JSON.

The pane loads the highlighted object by itself, lazily: a request waits a moment in an exclusive worker (a
newer request cancels it, so holding ``j`` loads nothing until the cursor rests), then reads the change and
computes its rows in a thread; only the newest request is ever drawn. The raw JSON view is filled only while
it is shown.
"""

from __future__ import annotations

import asyncio
import time
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import TextArea
from textual.worker import Worker, WorkerState

from entrabr_tui.core.diff import DiffKind, DiffRow, diff_change, raw_json
from entrabr_tui.core.model import Change
from entrabr_tui.ui.backend import Backend
from entrabr_tui.ui.bindings import DIFF
from entrabr_tui.ui.text import clean, name_text, safe, truncate
from entrabr_tui.ui.widgets.styles import action_glyph, theme_style
from entrabr_tui.ui.widgets.tables import NavTable
from entrabr_tui.ui.workers import failure_title

#: Kind → the theme variable that repeats the glyph's meaning in colour.
_KIND_VARIABLE = {
    DiffKind.CHANGED: "warning",
    DiffKind.ADDED: "success",
    DiffKind.RESTORE: "success",
    DiffKind.REMOVED: "error",
    DiffKind.SOFT_DELETE: "error",
}

#: The Rec column: recoverable, not, or unknown (the object's sync status is; enter shows why).
_REC_TEXT = {True: "yes", False: "no", None: "?"}

#: Seconds the cursor must rest on an object before its diff is read: after a single move from rest, and
#: while it moves (twice the time between the last two moves, within these bounds: a held key repeats every
#: 30–90 ms, so holding ``j`` reads nothing until it is released).
DIFF_DELAY_RESTING = 0.02
DIFF_DELAY_MOVING = (0.06, 0.15)
#: Moves closer together than this mean the cursor is moving.
MOVING_GAP = 0.3


async def rest(delay: float) -> None:
    """The wait before a requested diff is read (a newer request cancels it)."""
    await asyncio.sleep(delay)


def load_diff(backend: Backend, report_id: str, change_id: str, position: int | None = None
              ) -> tuple[Change | None, list[DiffRow]]:
    """The change (the one at ``position`` when given: an object may have several) and its diff rows,
    member names resolved where cached (blocking: run it in a thread)."""
    change = backend.change(report_id, change_id, position)
    if change is None:
        return None, []
    member_ids = [str(item.get("id")) for key, value in change.delta.items()
                  if key.endswith("@delta") and isinstance(value, list)
                  for item in value if isinstance(item, dict) and item.get("id")]
    names = dict(backend.display_names(member_ids)) if member_ids else {}
    return change, diff_change(change, names.get)


class DiffTable(NavTable):
    """The property rows of one change; widths follow the pane so long values never widen it."""

    BINDINGS: ClassVar[list[BindingType]] = DIFF.as_list()

    class Back(Message):
        """esc/h: return to the Changes pane."""

    class ShowValue(Message):
        """enter: show the full values of the focused row."""

        def __init__(self, row: DiffRow) -> None:
            super().__init__()
            self.row = row

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.diff_rows: list[DiffRow] = []

    @property
    def current_row(self) -> DiffRow | None:
        if 0 <= self.cursor_row < len(self.diff_rows):
            return self.diff_rows[self.cursor_row]
        return None

    def show_rows(self, rows: list[DiffRow]) -> None:
        self.diff_rows = rows
        self.redraw()

    def redraw(self) -> None:
        prop_w, back_w, cur_w = self.split([1, 3], [34, 33, 33])
        cursor = self.cursor_row
        self.reset_columns([("glyph", " ", 1), ("property", "Property", prop_w), ("backup", "Backup", back_w),
                            ("current", "Current", cur_w), ("rec", "Rec", 3)])
        for index, row in enumerate(self.diff_rows):
            variable = _KIND_VARIABLE.get(row.kind)
            glyph_style = theme_style(self.app, variable, bold=True) if variable else ""
            indent = "  " * min(row.depth, 6)
            label = safe(indent + clean(row.label), prop_w, style="bold" if row.is_header else "")
            if row.note and row.is_header:
                room = max(0, prop_w - label.cell_len)
                label = Text.assemble(label, safe(f" {row.note}", room, style="dim"))
            self.add_row(
                Text(row.glyph, style=glyph_style),
                label,
                safe(row.backup_text, back_w),
                safe(row.current_text, cur_w),
                Text(_REC_TEXT[row.recoverable], style="" if row.recoverable else "italic"),
                key=str(index),
            )
        if self.diff_rows:
            self.move_cursor(row=min(max(cursor, 0), len(self.diff_rows) - 1))

    def action_back(self) -> None:
        self.post_message(self.Back())

    def action_expand_value(self) -> None:
        row = self.current_row
        if row is not None:
            self.post_message(self.ShowValue(row))

    def action_copy_value(self) -> None:
        row = self.current_row
        if row is None:
            return
        text = row.backup_text if row.backup_text else row.current_text
        which = "backup" if row.backup_text else "current"
        self.app.copy_to_clipboard(text)
        path = truncate(clean(row.path), 40)
        self.notify(f"Copied the {which} value of {path} ({len(text):,} characters).", title="Copied")

    def action_toggle_raw(self) -> None:
        pane = self.parent
        if isinstance(pane, DiffPane):
            pane.toggle_raw()


class DiffPane(Vertical):
    """Pane 3: a header line naming the object, then the diff table or the raw JSON."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="pane")
        self.change: Change | None = None
        self.raw = False
        #: ``(report id, change id)`` of the newest request (``None``: nothing wanted).
        self.wanted: tuple[str, str, int | None] | None = None
        self._shown: tuple[str, str, int | None] | None = None
        self._raw_of: Change | None = None
        self._last_request = 0.0

    def compose(self) -> ComposeResult:
        yield DiffTable(id="diff-table")
        raw = TextArea("", read_only=True, id="diff-raw", show_line_numbers=False)
        raw.display = False
        yield raw

    @property
    def table(self) -> DiffTable:
        return self.query_one(DiffTable)

    # -- loading ---------------------------------------------------------------------------------------
    def request(self, backend: Backend | None, report_id: str | None, change_id: str | None,
                position: int | None = None) -> None:
        """Show this change (of an object with several, the one at ``position``) once the cursor rests on
        it; ``None`` drops a pending request (the shown diff stays)."""
        if backend is None or report_id is None or change_id is None:
            self.wanted = None  # what is shown stays, so coming back to it costs nothing
            self.workers.cancel_group(self, "diff")
            return
        wanted = (report_id, change_id, position)
        if wanted == self.wanted:
            return
        self.wanted = wanted
        now = time.monotonic()
        gap, self._last_request = now - self._last_request, now
        low, high = DIFF_DELAY_MOVING
        delay = DIFF_DELAY_RESTING if gap >= MOVING_GAP else min(high, max(low, 2 * gap))
        if wanted == self._shown:
            self.workers.cancel_group(self, "diff")
            return
        self._load(backend, report_id, change_id, position, delay)

    @property
    def pending(self) -> bool:
        """A requested diff is not drawn yet."""
        return self.wanted is not None and self.wanted != self._shown

    @work(exclusive=True, exit_on_error=False, group="diff", description="Loading the diff")
    async def _load(self, backend: Backend, report_id: str, change_id: str, position: int | None,
                    delay: float) -> None:
        await rest(delay)
        change, rows = await asyncio.to_thread(load_diff, backend, report_id, change_id, position)
        if self.wanted != (report_id, change_id, position):
            return
        self._draw(change, rows, "not in the cache")
        self._shown = self.wanted

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        error = event.worker.error
        if event.worker.group == "diff" and event.state is WorkerState.ERROR and error is not None:
            self.wanted = None
            self.notify(clean(str(error) or type(error).__name__)[:300], title=failure_title(event.worker),
                        severity="error", timeout=10)

    # -- drawing ---------------------------------------------------------------------------------------
    def show(self, change: Change | None, rows: list[DiffRow]) -> None:
        """Draw ``change`` now (a pending request is dropped)."""
        self._drop_pending()
        self._draw(change, rows, "")

    def placeholder(self, text: str) -> None:
        """No object: an empty table and ``text`` in the border (a pending request is dropped)."""
        self._drop_pending()
        self._draw(None, [], text)

    def _drop_pending(self) -> None:
        self.wanted = self._shown = None
        self.workers.cancel_group(self, "diff")

    def _draw(self, change: Change | None, rows: list[DiffRow], missing: str) -> None:
        self.change = change
        with self.app.batch_update():
            self.table.show_rows(rows)
            if self.raw:
                self._fill_raw()
            self.border_subtitle = self._subtitle(change) if change is not None else missing

    def _fill_raw(self) -> None:
        """Put the current change's JSON in the raw view (only when it shows another one)."""
        if self._raw_of is self.change:
            return
        self._raw_of = change = self.change
        self.query_one("#diff-raw", TextArea).load_text(raw_json(change) if change is not None else "")

    def toggle_raw(self) -> None:
        if self.change is None:
            return
        self.raw = not self.raw
        raw = self.query_one("#diff-raw", TextArea)
        if self.raw:
            self._fill_raw()
        raw.display = self.raw
        self.table.display = not self.raw
        (raw if self.raw else self.table).focus()

    @staticmethod
    def _subtitle(change: Change | None) -> str:
        if change is None:
            return ""
        name = name_text(change.display_name, 30).plain
        glyph = action_glyph(change.action_raw)
        return f"{glyph} {clean(change.action_raw)} · {clean(change.entity_type_raw)} · {name}"
