"""Diff pane: one object's properties side by side (backup / current), or its raw JSON.

The pane loads the highlighted object by itself, lazily: a request waits a moment in an exclusive worker (a
newer request cancels it, so holding ``j`` loads nothing until the cursor rests), then reads the change and
computes its rows in a thread; only the newest request is ever drawn. The raw JSON view is filled only while
it is shown.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static, TextArea
from textual.worker import Worker, WorkerState

from entrabr_tui.core.compare import MovedObject, compare_rows, moved_rows
from entrabr_tui.core.diff import ABSENT, DiffKind, DiffRow, diff_change, raw_json
from entrabr_tui.core.model import Change
from entrabr_tui.ui.backend import Backend
from entrabr_tui.ui.bindings import DIFF, RAW_JSON
from entrabr_tui.ui.text import (
    CLIPBOARD_NOTE,
    clean,
    literal,
    multiline,
    name_text,
    plural,
    safe,
    truncate,
    wrapped,
)
from entrabr_tui.ui.widgets.attribution import Who, load_who, object_line, part_body, part_line
from entrabr_tui.ui.widgets.compare_nodes import DeltaRow
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

#: Lines a value may wrap over in the table (enter shows all of it; ``z`` zooms the pane).
ROW_LINES = 4
#: Width of the property column, in cells (about a third of the pane).
PROPERTY_MIN, PROPERTY_MAX = 14, 30
#: Characters of a value drawn in a cell (the value dialog shows up to ``FULL_VALUE_CHARS``).
CELL_CHARS = 1_000
FULL_VALUE_CHARS = 20_000
#: Terminal rows from which the pane shows its "who" line (shorter terminals keep the rows for the diff).
WHO_MIN_HEIGHT = 26



async def rest(delay: float) -> None:
    """The wait before a requested diff is read (a newer request cancels it)."""
    await asyncio.sleep(delay)


def _ids_in(value: Any) -> Iterator[str]:
    """Strings of a Conditional Access policy's user, group and role lists (object ids, mostly)."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if isinstance(inner, list) and (key.startswith("include") or key.startswith("exclude")):
                yield from (item for item in inner if isinstance(item, str))
            else:
                yield from _ids_in(inner)


def named_ids(change: Change) -> list[str]:
    """Ids the diff of ``change`` names when the cache knows them: link targets (members, owners …) and the
    users, groups and roles of a Conditional Access policy."""
    ids = [str(item.get("id")) for key, value in change.delta.items()
           if key.endswith("@delta") and isinstance(value, list)
           for item in value if isinstance(item, dict) and item.get("id")]
    if change.entity_type_raw.casefold() == "conditionalaccesspolicy":
        ids += [i for source in (change.delta, change.current) for i in _ids_in(source.get("conditions"))]
    return list(dict.fromkeys(ids))


def load_diff(backend: Backend, report_id: str, change_id: str, position: int | None = None
              ) -> tuple[Change | None, list[DiffRow]]:
    """The change (the one at ``position`` when given: an object may have several) and its diff rows,
    member names resolved where cached (blocking: run it in a thread)."""
    change = backend.change(report_id, change_id, position)
    if change is None:
        return None, []
    ids = named_ids(change)
    names = dict(backend.display_names(ids)) if ids else {}
    return change, diff_change(change, names.get)


def copy_text(value: Any) -> str:
    """What ``y`` copies: the raw value (a string as it is, anything else as JSON)."""
    if value is ABSENT:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


def _full_value(value: Any) -> Text:
    if value is ABSENT:
        return Text("(absent)", style="italic")
    shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=2, default=str)
    return multiline(shown or '""', limit=FULL_VALUE_CHARS)


def value_body(row: DiffRow, who: Who | None = None, heads: tuple[str, str] | None = None) -> Text:
    """The full values of one diff row, for the value dialog (enter), and who changed it when known;
    ``heads`` names the two sides of a comparison of backups (A and B) instead of backup and current."""
    if heads is not None:
        body = Text.assemble((f"{heads[0]}:\n", "bold"), _full_value(row.backup),
                             (f"\n\n{heads[1]}:\n", "bold"), _full_value(row.current))
        if row.note:
            body.append_text(Text.assemble(("\nNote: ", "bold"), multiline(row.note)))
        if row.reason:
            body.append_text(Text.assemble(("\nNot compared: ", "bold"), multiline(row.reason)))
        if row.member_id:
            body.append_text(Text.assemble(("\nObject id: ", "bold"), safe(row.member_id)))
        return body
    body = Text.assemble(("Backup (what a restore writes):\n", "bold"), _full_value(row.backup),
                         ("\n\nCurrent:\n", "bold"), _full_value(row.current),
                         ("\n\nRecoverable: ", "bold"),
                         {True: "yes", False: "no", None: "unknown"}[row.recoverable])
    if row.reason:
        body.append_text(Text.assemble(" — ", multiline(row.reason)))
    if row.note:
        body.append_text(Text.assemble(("\nNote: ", "bold"), multiline(row.note)))
    if row.member_id:
        body.append_text(Text.assemble(("\nObject id: ", "bold"), safe(row.member_id)))
    part = who.part(row.path) if who is not None else None
    if part is not None:
        body.append_text(part_body(part))
    return body


def _property(row: DiffRow, glyph_style: Style | str, label: Text, width: int) -> tuple[Text, int]:
    """The property cell: the glyph, the label indented by depth, wrapped under itself (a hanging indent)."""
    step = 2 if width >= 20 else 1
    indent = min(row.depth * step, max(0, width - 10))
    room = max(4, width - 2 - indent)
    body, lines = wrapped(label, room, ROW_LINES)
    out = Text(end="", no_wrap=True)
    for number, line in enumerate(body.split("\n", allow_blank=True)):
        if number:
            out.append("\n" + " " * (2 + indent))
        else:
            out.append(f"{row.glyph} ", style=glyph_style)
            out.append(" " * indent)
        out.append_text(line)
    return out, lines


class DiffTable(NavTable):
    """The property rows of one change. Column widths depend on the pane width only (the same for every
    object): the property column takes about a third, Backup and Current share the rest equally, and ``Rec``
    is never cut. Long values wrap over up to :data:`ROW_LINES` lines (enter shows all of a value, ``z``
    zooms the pane)."""

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
        #: Who changed the shown change (a property another actor changed, or that nothing explains, gets a
        #: line under its current value; the others are covered by the pane's "who" line).
        self.who = Who()
        #: The column heads of a comparison of two backups (``None``: a report's Backup and Current, and Rec).
        self.heads: tuple[str, str] | None = None
        self._scrolls = False

    @property
    def current_row(self) -> DiffRow | None:
        if 0 <= self.cursor_row < len(self.diff_rows):
            return self.diff_rows[self.cursor_row]
        return None

    def show_rows(self, rows: list[DiffRow], who: Who | None = None,
                  heads: tuple[str, str] | None = None) -> None:
        """Show ``rows``: of a report's change, or (``heads``) of an object of a comparison, A beside B."""
        self.diff_rows = rows
        self.who = who or Who()
        self.heads = heads
        self.redraw()

    def widths(self, scrollbar: bool) -> tuple[int, int]:
        """Cells for the property column (its glyph included) and for each of the two value columns."""
        # Each of the four columns has a cell of padding on each side; Rec takes three cells (a comparison
        # has no Rec column).
        fixed = 2 * 3 if self.heads is not None else 2 * 4 + 3
        room = max(24, (self.size.width or 80) - (2 if scrollbar else 0) - fixed)
        prop = min(PROPERTY_MAX, max(PROPERTY_MIN, room * 36 // 100))
        return prop, max(6, (room - prop) // 2)

    def redraw(self) -> None:
        cursor = self.cursor_row
        cells = self._cells(scrollbar=False)
        if sum(height for *_, height in cells) + 1 > (self.size.height or 0):
            cells = self._cells(scrollbar=True)  # the rows will not fit: leave room for the scrollbar
        prop_w, value_w = self.widths(self._scrolls)
        if self.heads is not None:
            self.reset_columns([("property", "Property", prop_w), ("backup", self.heads[0], value_w),
                                ("current", self.heads[1], value_w)])
            for index, (label, backup, current, _rec, height) in enumerate(cells):
                self.add_row(label, backup, current, key=str(index), height=height)
        else:
            self.reset_columns([("property", "Property", prop_w), ("backup", "Backup", value_w),
                                ("current", "Current", value_w), ("rec", "Rec", 3)])
            for index, (label, backup, current, rec, height) in enumerate(cells):
                self.add_row(label, backup, current, rec, key=str(index), height=height)
        if self.diff_rows:
            self.move_cursor(row=min(max(cursor, 0), len(self.diff_rows) - 1))

    def _cells(self, *, scrollbar: bool) -> list[tuple[Text, Text, Text, Text, int]]:
        """The cells of every row for the widths the pane gives (with or without a scrollbar)."""
        self._scrolls = scrollbar
        prop_w, value_w = self.widths(scrollbar)
        good, bad = theme_style(self.app, "success"), theme_style(self.app, "warning", bold=True)
        cells = []
        for row in self.diff_rows:
            variable = _KIND_VARIABLE.get(row.kind)
            glyph_style = theme_style(self.app, variable, bold=True) if variable else ""
            label_text = Text(clean(row.label), style="bold" if row.is_header else "")
            backup_text: str | Text = clean(row.backup_text, limit=CELL_CHARS)
            if row.note and row.is_header:
                if row.backup_text or row.current_text:
                    label_text.append(f" · {clean(row.note)}", style="dim")
                else:  # a group of links: what the restore does to them, where the values go
                    backup_text = Text(clean(row.note), style="dim")
            label, label_lines = _property(row, glyph_style, label_text, prop_w)
            backup, backup_lines = wrapped(backup_text, value_w, ROW_LINES)
            current, current_lines = wrapped(clean(row.current_text, limit=CELL_CHARS), value_w, ROW_LINES)
            part = self.who.part(row.path) if row.depth == 0 or not row.is_header else None
            if part is not None and self.who.differs(part) and (
                    row.depth == 0 or part.name != self._parent_part(row)):
                line, more = wrapped(part_line(part, good, bad), value_w, 2)
                current = Text("\n", end="").join([current, line])
                current.no_wrap = True
                current_lines += more
            rec = Text(_REC_TEXT[row.recoverable], style="" if row.recoverable else "italic")
            cells.append((label, backup, current, rec,
                          max(label_lines, backup_lines, current_lines)))
        return cells

    def _parent_part(self, row: DiffRow) -> str | None:
        """The part name a nested row's enclosing property is attributed by (so one explanation is drawn
        once, on the property, not again on every nested row)."""
        parent = row.path.rsplit(".", 1)[0] if "." in row.path else row.path.partition("[")[0]
        found = self.who.part(parent)
        return found.name if found is not None else None

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
        sides = ("A", "B") if self.heads is not None else ("backup", "current")
        which, value = (sides[0], row.backup) if row.backup is not ABSENT else (sides[1], row.current)
        text = copy_text(value)
        self.app.copy_to_clipboard(text)
        what = f"The {which} value of {truncate(clean(row.path), 40)} ({plural(len(text), 'character')})"
        self.notify(f"{what} was {CLIPBOARD_NOTE}", title="Copy")

    def action_toggle_raw(self) -> None:
        pane = self.parent
        if isinstance(pane, DiffPane):
            pane.toggle_raw()


class RawJsonView(TextArea, inherit_bindings=False):
    """The change as Graph sent it (read-only): ``J`` or esc goes back to the table."""

    BINDINGS: ClassVar[list[BindingType]] = RAW_JSON.as_list()

    def action_toggle_raw(self) -> None:
        pane = self.parent
        if isinstance(pane, DiffPane):
            pane.toggle_raw()


class DiffPane(Vertical):
    """Pane 3: a header line naming the object, then the diff table or the raw JSON."""

    ALLOW_MAXIMIZE = True

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
        who = Static(id="diff-who")
        who.display = False
        yield who
        yield DiffTable(id="diff-table")
        raw = RawJsonView("", read_only=True, id="diff-raw", show_line_numbers=False)
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
        who = await asyncio.to_thread(load_who, backend, report_id, change_id, position) if change else Who()
        if self.wanted != (report_id, change_id, position):
            return
        self._draw(change, rows, "not in the cache", who)
        self._shown = self.wanted

    def request_compare(self, backend: Backend | None, row: DeltaRow | None, heads: tuple[str, str]) -> None:
        """Show an object of a comparison of two backups, A's values beside B's (``heads`` names them);
        ``None``: no object (the table empties). Member names are read from the cache in a thread."""
        self._drop_pending()
        if row is None or backend is None:
            self._draw_compare([], heads, Text("move onto an object of the comparison"))
            return
        self._load_compare(backend, row, heads)

    @work(exclusive=True, exit_on_error=False, group="diff", description="Loading the diff")
    async def _load_compare(self, backend: Backend, row: DeltaRow, heads: tuple[str, str]) -> None:
        item = row.item
        if isinstance(item, MovedObject):
            rows = moved_rows(item)
            words = "? not compared (the live tenant moved between the two reports)"
        else:
            ids = [p.member_id for p in item.properties if p.member_id is not None]
            names = dict(await asyncio.to_thread(backend.display_names, ids)) if ids else {}
            rows = compare_rows(item, names.get)
            words = f"{item.kind.glyph} {item.kind.value}"
        self._draw_compare(rows, heads, literal(words, " · ", item.entity_type, " · ",
                                                name_text(item.display_name, 40)))

    def _draw_compare(self, rows: list[DiffRow], heads: tuple[str, str], subtitle: Text) -> None:
        self.change = None
        with self.app.batch_update():
            self.table.show_rows(rows, None, heads)
            self.query_one("#diff-who", Static).display = False
            if self.raw:  # a comparison has no raw JSON: the table shows
                self.raw = False
                self.query_one("#diff-raw", RawJsonView).display = False
                self.table.display = True
            self.border_subtitle = subtitle

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        error = event.worker.error
        if event.worker.group == "diff" and event.state is WorkerState.ERROR and error is not None:
            self.wanted = None
            self.notify(str(error) or type(error).__name__, title=failure_title(event.worker),
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

    def _draw(self, change: Change | None, rows: list[DiffRow], missing: str, who: Who | None = None) -> None:
        self.change = change
        with self.app.batch_update():
            self.table.show_rows(rows, who)
            line = self.query_one("#diff-who", Static)
            # Short terminals keep their rows for the diff: there, a property's own line and the full value
            # (enter) say who changed it.
            line.display = change is not None and who is not None and self.app.size.height >= WHO_MIN_HEIGHT \
                and (who.attribution is not None or who.missing is not None)
            if line.display and who is not None:
                line.update(object_line(who, theme_style(self.app, "success"),
                                        theme_style(self.app, "warning", bold=True)))
            if self.raw:
                self._fill_raw()
            self.border_subtitle = self._subtitle(change) if change is not None else Text(missing)

    def _fill_raw(self) -> None:
        """Put the current change's JSON in the raw view (only when it shows another one)."""
        if self._raw_of is self.change:
            return
        self._raw_of = change = self.change
        self.query_one("#diff-raw", RawJsonView).load_text(raw_json(change) if change is not None else "")

    def toggle_raw(self) -> None:
        if self.change is None:
            return
        self.raw = not self.raw
        raw = self.query_one("#diff-raw", RawJsonView)
        if self.raw:
            self._fill_raw()
        raw.display = self.raw
        self.table.display = not self.raw
        (raw if self.raw else self.table).focus()

    @staticmethod
    def _subtitle(change: Change | None) -> Text:
        """``~ update · user · Name`` (literal)."""
        if change is None:
            return Text("")
        glyph = action_glyph(change.action_raw)
        return literal(f"{glyph} ", change.action_raw, " · ", change.entity_type_raw, " · ",
                       name_text(change.display_name, 40))
