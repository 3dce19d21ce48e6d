"""A ``DataTable`` with vim-style navigation, the base of every table pane."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import BindingType
from textual.events import Resize
from textual.widgets import DataTable

from entrabr_tui.ui.bindings import LIST_NAVIGATION


class NavTable(DataTable[object], inherit_bindings=False):
    """Row-cursor table with j/k, g/G and ctrl+u/d on top of the arrow keys (its keys are all in
    ``bindings.LIST_NAVIGATION``: ``DataTable``'s own are not inherited, so none goes unlisted).

    Subclasses that size their columns from the pane width override :meth:`redraw`; it runs again whenever
    the width changes, so long values are cut to the space there is instead of widening the table.
    """

    BINDINGS: ClassVar[list[BindingType]] = LIST_NAVIGATION.as_list()

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self._drawn_width = -1

    @property
    def inner_width(self) -> int:
        """Cells available for columns, leaving room for a vertical scrollbar (rows may wrap and need one
        later; a table wider than its pane would need a horizontal one)."""
        return max(20, (self.size.width or 80) - 2)

    def split(self, fixed: list[int], shares: list[int]) -> list[int]:
        """Widths for ``shares`` (percent of what is left after ``fixed`` columns and cell padding)."""
        padding = 2 * (len(fixed) + len(shares))
        room = max(len(shares) * 4, self.inner_width - sum(fixed) - padding)
        widths = [max(4, room * share // 100) for share in shares]
        widths[-1] += max(0, room - sum(widths))
        return widths

    def redraw(self) -> None:
        """Rebuild columns and rows for the current width (tables with fixed columns need not)."""

    def reset_columns(self, columns: list[tuple[str, str, int]]) -> None:
        """Empty the table; recreate the columns ``(key, label, width)`` only when they changed."""
        wanted = [(key, label, width) for key, label, width in columns]
        current = [(str(c.key.value), str(c.label), c.width) for c in self.columns.values()]
        if wanted == current:
            self.clear()
            return
        self.clear(columns=True)
        for key, label, width in columns:
            self.add_column(label, key=key, width=width)

    def on_resize(self, event: Resize) -> None:
        if self.size.width != self._drawn_width:
            self._drawn_width = self.size.width
            self.redraw()
