"""Backups pane: snapshots newest first, with age, expiry and the state of their cached report."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual import on
from textual.binding import BindingType
from textual.message import Message
from textual.widgets import DataTable

from entrabr_tui.core.model import RecoveryStatus
from entrabr_tui.core.text import compact_count, format_count
from entrabr_tui.ui.backend import CachedReportView, SnapshotEntry
from entrabr_tui.ui.bindings import BACKUPS
from entrabr_tui.ui.messages import SnapshotChosen
from entrabr_tui.ui.text import format_duration, format_expiry
from entrabr_tui.ui.widgets.tables import NavTable


def report_badge(report: CachedReportView | None, *, compact: bool = False) -> Text:
    """A worded badge (symbol plus text) for a snapshot's report."""
    if report is None:
        return Text("—" if compact else "— no report", style="dim")
    if report.status is RecoveryStatus.SUCCESSFUL and report.complete:
        count = compact_count(report.downloaded) if compact else f"cached {format_count(report.downloaded)}"
        return Text(f"✓ {count}")
    if report.status is RecoveryStatus.SUCCESSFUL:
        share = compact_count(report.downloaded)
        if report.total:
            share = f"{report.downloaded * 100 // report.total}%"
        return Text(f"◐ {share}" if compact else f"◐ partial {share}")
    if report.status.is_terminal:
        return Text(f"✗ {report.status.value}", style="italic")
    return Text(f"… {report.status.value}", style="italic")


def openable(entry: SnapshotEntry | None) -> bool:
    """The backup's report is complete in the cache (enter opens it; otherwise enter creates one)."""
    report = entry.report if entry is not None else None
    return report is not None and report.status is RecoveryStatus.SUCCESSFUL and report.complete


class BackupsTable(NavTable):
    """The snapshot list; enter opens the snapshot's report, or creates it when none is cached (the footer
    says which). ``x`` picks backup A of a comparison, ``x`` on another backup picks B and asks for the
    comparison; the rows say which is A (and, while the comparison shows, B) in words."""

    BINDINGS: ClassVar[list[BindingType]] = BACKUPS.as_list()

    class ComparePending(Message):
        """Backup A of a comparison was picked (``entry``), or the pick was cancelled (``None``)."""

        def __init__(self, entry: SnapshotEntry | None) -> None:
            super().__init__()
            self.entry = entry

    class CompareRequested(Message):
        """Compare backup ``a`` with backup ``b``."""

        def __init__(self, a: SnapshotEntry, b: SnapshotEntry) -> None:
            super().__init__()
            self.a = a
            self.b = b

    def __init__(self, clock: Callable[[], datetime], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.clock = clock
        self.entries: dict[str, SnapshotEntry] = {}
        self.selected_id: str | None = None
        #: Backup A, picked and waiting for B.
        self.compare_a: str | None = None
        #: Backups A and B of the comparison on screen.
        self.compared: tuple[str, str] | None = None

    def on_mount(self) -> None:
        self.redraw()

    def show_entries(self, entries: Sequence[SnapshotEntry]) -> None:
        """Replace the rows, keeping the cursor on the same snapshot when it is still listed."""
        ordered = sorted(entries, key=lambda e: e.snapshot.created, reverse=True)
        self.entries = {e.snapshot.id: e for e in ordered}
        if self.compare_a is not None and self.compare_a not in self.entries:
            self.compare_a = None  # backup A expired meanwhile
            self.post_message(self.ComparePending(None))
        self.redraw()

    def redraw(self) -> None:
        current = self.current_entry
        now = self.clock().astimezone(UTC)
        compact = self.inner_width < 56
        headers = [("Backup (UTC)" if not compact else "Backup", "when"), ("Age", "age"),
                   ("Expires" if not compact else "Exp", "expires"), ("Report", "report")]
        rows: list[tuple[str, list[Text]]] = []
        for entry in self.entries.values():
            created = entry.snapshot.created.astimezone(UTC)
            selected = entry.snapshot.id == self.selected_id
            when = created.strftime("%m-%d %H:%M" if compact else "%Y-%m-%d %H:%M")
            age = (now - created).total_seconds()
            expiry = format_expiry(entry.expires, now)
            if compact:
                expiry = "gone" if entry.expires is not None and entry.expires <= now else (
                    format_duration((entry.expires - now).total_seconds(), largest_unit=True)
                    if entry.expires else "—")
            side = self.side_of(entry.snapshot.id)
            if compact:
                first = Text(when, style="bold" if selected else "")
                if side:
                    first = Text.assemble((f"{side} ", "bold"), first)
            else:
                first = Text(("▶ " if selected else "  ") + (f"[{side}] " if side else "") + when)
            rows.append((entry.snapshot.id, [first, Text(format_duration(age, largest_unit=compact)),
                                             Text(expiry), report_badge(entry.report, compact=compact)]))
        # Widths from the cells themselves: the table draws them at once, not after its next idle moment.
        self.clear(columns=True)
        for n, (label, key) in enumerate(headers):
            self.add_column(label, key=key, width=max([cell_len(label), *(r[1][n].cell_len for r in rows)]))
        for snapshot_id, cells in rows:
            self.add_row(*cells, key=snapshot_id)
        if current is not None and current.snapshot.id in self.entries:
            self.move_cursor(row=self.get_row_index(current.snapshot.id))
        self.refresh_bindings()  # enter opens or creates (esc cancels a compare): the footer follows

    def side_of(self, snapshot_id: str) -> str:
        """``A`` or ``B`` for a backup picked for a comparison (or compared on screen), else ``""``."""
        if snapshot_id == self.compare_a:
            return "A"
        if self.compare_a is None and self.compared is not None and snapshot_id in self.compared:
            return "A" if snapshot_id == self.compared[0] else "B"
        return ""

    def show_compared(self, pair: tuple[str, str] | None) -> None:
        """The comparison on screen is of backups ``pair`` (``None``: none is)."""
        self.compared = pair
        self.redraw()

    def action_pick_compare(self) -> None:
        """x: this backup is A; then, on another one, B (and the comparison is asked for)."""
        entry = self.current_entry
        if entry is None:
            self.notify("No backup here to compare.", severity="warning")
            return
        if self.compare_a is None:
            self.compare_a = entry.snapshot.id
            self.redraw()
            self.post_message(self.ComparePending(entry))
            when = entry.snapshot.created.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
            self.notify(f"Backup A is the backup of {when} UTC. Move to backup B and press x again; esc "
                        "cancels.", title="Compare")
            return
        if entry.snapshot.id == self.compare_a:
            self.notify("This is backup A: move to another backup for B (esc cancels).", title="Compare",
                        severity="warning")
            return
        first = self.entries.get(self.compare_a)
        self.compare_a = None
        self.redraw()
        self.post_message(self.ComparePending(None))
        if first is None:
            self.notify("Backup A is no longer listed: press x on A again.", title="Compare",
                        severity="warning")
            return
        self.post_message(self.CompareRequested(first, entry))

    def action_cancel_compare(self) -> None:
        """esc: forget backup A."""
        self.compare_a = None
        self.redraw()
        self.post_message(self.ComparePending(None))
        self.notify("Compare cancelled.", title="Compare")

    def mark_selected(self, snapshot_id: str | None) -> None:
        self.selected_id = snapshot_id
        self.redraw()

    @property
    def current_entry(self) -> SnapshotEntry | None:
        if not self.entries or self.cursor_row < 0 or self.cursor_row >= self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return self.entries.get(key) if key is not None else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """enter is "Open report" on a backup whose report is cached, "Create report" on the others."""
        if action in ("select_cursor", "create_report"):
            return (action == "select_cursor") == openable(self.current_entry)
        if action == "cancel_compare":
            return self.compare_a is not None
        return True

    def action_create_report(self) -> None:
        self.action_select_cursor()

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self.refresh_bindings()

    @on(DataTable.RowSelected)
    def _chosen(self, event: DataTable.RowSelected) -> None:
        event.stop()
        entry = self.entries.get(event.row_key.value) if event.row_key.value is not None else None
        if entry is not None:
            self.post_message(SnapshotChosen(entry))
