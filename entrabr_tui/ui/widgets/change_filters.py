"""What the Changes tree is filtered by, and how the pane title says so."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from entrabr_tui.core.recoverability import Recoverable
from entrabr_tui.ui.backend import TypeActionCount
from entrabr_tui.ui.text import clean, truncate
from entrabr_tui.ui.widgets.changes_view import FilterKey, QuickFilter

#: Reports larger than this filter from ``LARGE_REPORT_MIN_CHARS`` typed characters on (a one-letter
#: substring matches nearly everything and costs a scan of the whole report).
LARGE_REPORT = 50_000
LARGE_REPORT_MIN_CHARS = 3

_NEXT_RECOVERABLE: dict[Recoverable | None, Recoverable | None] = {
    None: Recoverable.YES, Recoverable.YES: Recoverable.NO, Recoverable.NO: Recoverable.UNKNOWN,
    Recoverable.UNKNOWN: None}
_RECOVERABLE_TEXT = {Recoverable.YES: "recoverable", Recoverable.NO: "not recoverable",
                     Recoverable.UNKNOWN: "recoverable? (sync unknown)"}


@dataclass(frozen=True)
class AlertLens:
    """The Changes tree shows the objects of one ``entrabr watch`` alert only (``entrabr --open``):
    ``object_ids`` (compared exactly) of the ``matched`` changes the rule counted."""

    alert_id: str
    object_ids: tuple[str, ...]
    matched: int

    def describe(self, shown: int) -> str:
        listed = "" if self.matched <= len(self.object_ids) else f" (of {self.matched:,} matched)"
        return f"alert {self.alert_id}: {shown:,}{listed}"


def cycle(values: list[str], current: str | None) -> str | None:
    """The value after ``current`` (``None`` after the last: no filter)."""
    if not values:
        return None
    if current not in values:
        return values[0]
    index = values.index(current) + 1
    return values[index] if index < len(values) else None


class ChangeFilters:
    """The filters of the Changes tree.

    Three are answered by the cache and make a :data:`FilterKey`: the typed text (name or UPN contains it, or
    the ID starts with it), the recoverable answer (yes, no or unknown, per
    :mod:`entrabr_tui.core.recoverability`) and a watch alert's objects (:class:`AlertLens`). Text shorter
    than :meth:`min_chars` does not filter a large report yet. The others only hide nodes
    (:class:`QuickFilter`): one type, one action, the soft-delete lens. Methods that depend on the report's
    size take ``total``, its number of changes.
    """

    def __init__(self) -> None:
        self.text = ""
        self.recoverable: Recoverable | None = None
        self.alert: AlertLens | None = None
        self.type_only: str | None = None
        self.action_only: str | None = None
        self.lens = False

    @staticmethod
    def min_chars(total: int) -> int:
        """Typed characters from which the text filters a report of ``total`` changes."""
        return LARGE_REPORT_MIN_CHARS if total > LARGE_REPORT else 1

    def effective_text(self, total: int) -> str:
        """The text sent to the cache (empty while too short for the report)."""
        return self.text if len(self.text) >= self.min_chars(total) else ""

    def cache_side(self, total: int) -> bool:
        """A filter the cache answers (text, recoverable or an alert's objects) is active."""
        return bool(self.effective_text(total)) or self.recoverable is not None or self.alert is not None

    def key(self, total: int) -> FilterKey | None:
        """What the cache is asked for (``None``: no filter)."""
        if not self.cache_side(total):
            return None
        ids = self.alert.object_ids if self.alert is not None else None
        return self.effective_text(total), self.recoverable, ids

    @property
    def quick(self) -> QuickFilter:
        return QuickFilter(self.type_only, self.action_only, self.lens)

    @property
    def any(self) -> bool:
        """Some filter (of either kind) is set."""
        return bool(self.text or self.recoverable is not None or self.type_only or self.action_only
                    or self.lens or self.alert is not None)

    def reset_cache_side(self) -> None:
        """Another report opens: its text, recoverable and alert filters start empty (the quick ones stay)."""
        self.text, self.recoverable, self.alert = "", None, None

    def clear(self) -> bool:
        """Drop every filter; ``True`` when one was answered by the cache (the tree must ask again)."""
        cache_side = bool(self.text) or self.recoverable is not None or self.alert is not None
        self.text, self.recoverable, self.type_only, self.action_only = "", None, None, None
        self.lens = False
        self.alert = None
        return cache_side

    def cycle_type(self, counts: Sequence[TypeActionCount]) -> None:
        self.type_only = cycle(sorted({c.entity_type_raw for c in counts}), self.type_only)

    def cycle_action(self, counts: Sequence[TypeActionCount]) -> None:
        self.action_only = cycle(sorted({c.action_raw for c in counts}), self.action_only)
        self.lens = False

    def cycle_recoverable(self) -> None:
        """``c``: recoverable, not recoverable, unknown (sync status not known), then no filter."""
        self.recoverable = _NEXT_RECOVERABLE[self.recoverable]

    def toggle_lens(self) -> None:
        self.lens = not self.lens

    def describe(self, total: int, shown: int, pending: bool, kept: int | None = None) -> list[str]:
        """Pane-title parts for the filters set; ``shown`` changes match, unless the lookup is ``pending``;
        ``kept`` of them are left by the type and action filters and the lens."""
        parts = []
        if self.alert is not None:
            parts.append(self.alert.describe(shown) if not pending else f"alert {self.alert.alert_id}: …")
        if self.text and not self.effective_text(total):
            typed = truncate(clean(self.text), 20)
            parts.append(f"/{typed}: type {self.min_chars(total)}+ characters")
        elif self.text:
            matches = "…" if pending else f"{shown:,}"  # while its lookup runs
            parts.append(f"/{truncate(clean(self.text), 20)}: {matches}")
        if self.recoverable is not None:
            parts.append(_RECOVERABLE_TEXT[self.recoverable])
        if self.type_only:
            parts.append(f"type={truncate(clean(self.type_only), 24)}")
        if self.lens:
            parts.append("soft-delete lens")
        elif self.action_only:
            parts.append(f"action={clean(self.action_only)}")
        if kept is not None and (self.type_only or self.action_only or self.lens):
            parts[-1] += f": {kept:,}"
        return parts
