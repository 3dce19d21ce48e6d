"""Every key binding of the app, in one registry.

Each binding has an ``id`` so users can remap it in the config file's keymap (``App.set_keymap``), and
the help screen is generated from this registry (with the active keymap applied), so what the help says is
what the keys do.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding, BindingType


@dataclass(frozen=True)
class BindingGroup:
    """Bindings that belong to one context (the whole app, or one pane)."""

    title: str
    bindings: tuple[Binding, ...]

    def as_list(self) -> list[BindingType]:
        return list(self.bindings)


GLOBAL = BindingGroup(
    "Everywhere",
    (
        Binding("1", "focus_pane(1)", "Go to Backups", show=False, id="pane-backups"),
        Binding("2", "focus_pane(2)", "Go to Changes", show=False, id="pane-changes"),
        Binding("3", "focus_pane(3)", "Go to Diff", show=False, id="pane-diff"),
        Binding("4", "focus_pane(4)", "Go to Restore queue", show=False, id="pane-queue"),
        Binding("n", "new_report", "New report", id="new-report"),
        Binding("r", "restore", "Restore", id="restore"),
        Binding("C", "cancel_job", "Cancel job", show=False, id="cancel-job"),
        Binding("H", "history", "History", id="history"),
        Binding("ctrl+r", "refresh", "Refresh", show=False, id="refresh"),
        Binding("question_mark,f1", "help", "Help", key_display="?", id="help"),
        Binding("q,ctrl+q", "quit", "Quit", id="quit"),
    ),
)

LIST_NAVIGATION = BindingGroup(
    "Lists and tables",
    (
        Binding("k,up", "cursor_up", "Up", show=False, id="cursor-up"),
        Binding("j,down", "cursor_down", "Down", show=False, id="cursor-down"),
        Binding("g,home", "scroll_top", "Top", show=False, id="cursor-top"),
        Binding("G,end", "scroll_bottom", "Bottom", show=False, id="cursor-bottom"),
        Binding("pageup,ctrl+u", "page_up", "Page up", show=False, id="page-up"),
        Binding("pagedown,ctrl+d", "page_down", "Page down", show=False, id="page-down"),
    ),
)

BACKUPS = BindingGroup(
    "Backups pane",
    (Binding("enter,l", "select_cursor", "Open report", id="backups-open"),),
)

CHANGES = BindingGroup(
    "Changes pane",
    (
        Binding("k,up", "cursor_up", "Up", show=False, id="tree-up"),
        Binding("j,down", "cursor_down", "Down", show=False, id="tree-down"),
        Binding("g,home", "scroll_home", "Top", show=False, id="tree-top"),
        Binding("G,end", "scroll_end", "Bottom", show=False, id="tree-bottom"),
        Binding("pageup,ctrl+u", "page_up", "Page up", show=False, id="tree-page-up"),
        Binding("pagedown,ctrl+d", "page_down", "Page down", show=False, id="tree-page-down"),
        Binding("enter,l,right", "drill_in", "Open", key_display="⏎", id="tree-open"),
        Binding("h,left", "back", "Back", show=False, id="tree-back"),
        Binding("space", "mark", "Mark", id="tree-mark"),
        Binding("v", "range", "Range", show=False, id="tree-range"),
        Binding("ctrl+a", "mark_visible", "Mark visible", show=False, id="tree-mark-visible"),
        Binding("U", "unmark_all", "Unmark all", show=False, id="tree-unmark-all"),
        Binding("slash", "open_filter", "Filter", key_display="/", id="tree-filter"),
        Binding("n", "next_match", "Next match", show=False, id="tree-next-match"),
        Binding("N", "previous_match", "Previous match", show=False, id="tree-previous-match"),
        Binding("t", "cycle_type", "Type filter", show=False, id="tree-type-filter"),
        Binding("a", "cycle_action", "Action filter", show=False, id="tree-action-filter"),
        Binding("c", "cycle_recoverable", "Recoverable filter", show=False, id="tree-recoverable-filter"),
        Binding("D", "destructive_lens", "Soft-delete lens", show=False, id="tree-destructive-lens"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="tree-clear-filter"),
    ),
)

DIFF = BindingGroup(
    "Diff pane",
    (
        Binding("y", "copy_value", "Copy value", id="diff-copy"),
        Binding("J", "toggle_raw", "Raw JSON", id="diff-raw"),
        Binding("enter,l", "expand_value", "Full value", show=False, id="diff-expand"),
        Binding("escape,h", "back", "Back", show=False, id="diff-back"),
    ),
)

QUEUE = BindingGroup(
    "Restore queue pane",
    (
        Binding("x,delete", "unmark_row", "Unmark", id="queue-unmark"),
        Binding("U", "unmark_all", "Unmark all", show=False, id="queue-unmark-all"),
        Binding("escape,h", "back", "Back", show=False, id="queue-back"),
    ),
)

DIALOG = BindingGroup(
    "Dialogs",
    (
        Binding("y", "confirm", "Yes", id="dialog-yes"),
        Binding("n,escape", "cancel", "No", id="dialog-no"),
    ),
)

#: All groups, in the order the help screen lists them.
ALL_GROUPS: tuple[BindingGroup, ...] = (GLOBAL, LIST_NAVIGATION, BACKUPS, CHANGES, DIFF, QUEUE, DIALOG)


def binding_ids() -> list[str]:
    """Every binding ID (each is a valid keymap key)."""
    return [b.id for group in ALL_GROUPS for b in group.bindings if b.id]
