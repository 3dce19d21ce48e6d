"""Every key binding of the app, in one registry.

Each binding has an ``id`` so users can remap it in the config file's keymap (``App.set_keymap``), and
the help screen is generated from this registry (with the active keymap applied), so what the help says is
what the keys do. A binding whose footer label is short says it in full in its ``tooltip``, which the help
screen shows. Every screen and widget of the UI takes its ``BINDINGS`` from here, including the keys
Textual's own classes would bind for them (a test checks that each key they answer to has an id here).
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


def bindings_of(*groups: BindingGroup) -> list[BindingType]:
    """The bindings of several groups, for a class that answers to all of them."""
    return [binding for group in groups for binding in group.bindings]


#: Keys every screen answers to (Textual's ``Screen`` binds them; here they get ids).
SCREEN = BindingGroup(
    "Every screen",
    (
        Binding("tab", "app.focus_next", "Next pane or field", show=False, id="focus-next"),
        Binding("shift+tab", "app.focus_previous", "Previous pane or field", show=False, id="focus-previous"),
        Binding("ctrl+c,super+c", "screen.copy_text", "Copy selected text (else ctrl+c quits)", show=False,
                id="copy-text"),
    ),
)

GLOBAL = BindingGroup(
    "Everywhere",
    (
        Binding("1", "focus_pane(1)", "Go to Backups", show=False, id="pane-backups"),
        Binding("2", "focus_pane(2)", "Go to Changes", show=False, id="pane-changes"),
        Binding("3", "focus_pane(3)", "Go to Diff", show=False, id="pane-diff"),
        Binding("4", "focus_pane(4)", "Go to Restore queue", show=False, id="pane-queue"),
        # Shown only while a report waits to be opened: first of the keys every pane shows, so the pane's own
        # keys (x Compare in pane 1) never push it out of an 80-column footer.
        Binding("o", "open_ready_report", "Open ready report", id="open-ready-report"),
        Binding("n", "new_report", "New report", id="new-report"),
        Binding("r", "restore", "Restore", id="restore"),
        Binding("u,ctrl+z", "undo_marks", "Undo marks", show=False, id="undo-marks"),
        Binding("C", "cancel_job", "Cancel job", show=False, id="cancel-job"),
        Binding("H", "history", "History", id="history"),
        Binding("ctrl+r", "refresh", "Refresh", show=False, id="refresh"),
        Binding("z", "zoom", "Zoom the pane (again or esc: back)", show=False, id="zoom"),
        Binding("question_mark,f1", "help", "Help", key_display="?", id="help"),
        Binding("q,ctrl+q,ctrl+c", "quit", "Quit", id="quit"),
    ),
)

LIST_NAVIGATION = BindingGroup(
    "Lists and tables",
    (
        Binding("k,up", "cursor_up", "Up", show=False, id="cursor-up"),
        Binding("j,down", "cursor_down", "Down", show=False, id="cursor-down"),
        Binding("g,home,ctrl+home", "scroll_top", "Top", show=False, id="cursor-top"),
        Binding("G,end,ctrl+end", "scroll_bottom", "Bottom", show=False, id="cursor-bottom"),
        Binding("pageup,ctrl+u", "page_up", "Page up", show=False, id="page-up"),
        Binding("pagedown,ctrl+d", "page_down", "Page down", show=False, id="page-down"),
        Binding("left", "cursor_left", "Scroll left", show=False, id="scroll-left"),
        Binding("right", "cursor_right", "Scroll right", show=False, id="scroll-right"),
        Binding("ctrl+pageup", "page_left", "Page left", show=False, id="page-left"),
        Binding("ctrl+pagedown", "page_right", "Page right", show=False, id="page-right"),
    ),
)

BACKUPS = BindingGroup(
    "Backups pane",
    (
        Binding("enter,l", "select_cursor", "Open report", id="backups-open"),
        Binding("enter,l", "create_report", "Create report", id="backups-create"),
        Binding("x", "pick_compare", "Compare", id="backups-compare",
                tooltip="Compare two backups: this key on backup A, then on backup B"),
        Binding("escape", "cancel_compare", "Cancel the compare", id="backups-compare-cancel"),
    ),
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
        Binding("shift+left", "cursor_parent", "To parent", show=False, id="tree-parent"),
        Binding("shift+right", "cursor_parent_next_sibling", "To next ancestor", show=False,
                id="tree-next-ancestor"),
        Binding("shift+up", "cursor_previous_sibling", "To previous sibling", show=False,
                id="tree-previous-sibling"),
        Binding("shift+down", "cursor_next_sibling", "To next sibling", show=False, id="tree-next-sibling"),
        Binding("shift+space", "toggle_expand_all", "Open or close all below", show=False,
                id="tree-expand-all"),
        Binding("ctrl+pageup", "page_left", "Page left", show=False, id="tree-page-left"),
        Binding("ctrl+pagedown", "page_right", "Page right", show=False, id="tree-page-right"),
        Binding("space", "mark", "Mark", id="tree-mark"),
        Binding("v", "range", "Range", show=False, id="tree-range"),
        Binding("ctrl+a", "mark_all", "Mark all matches", show=False, id="tree-mark-all"),
        Binding("U", "unmark_all", "Unmark all", show=False, id="tree-unmark-all"),
        Binding("slash", "open_filter", "Filter", key_display="/", id="tree-filter"),
        Binding("right_square_bracket", "next_match", "Next match", show=False, key_display="]",
                id="tree-next-match"),
        Binding("left_square_bracket", "previous_match", "Previous match", show=False, key_display="[",
                id="tree-previous-match"),
        Binding("y", "copy_id", "Copy object id", show=False, id="tree-copy-id"),
        Binding("t", "cycle_type", "Type filter", show=False, id="tree-type-filter"),
        Binding("a", "cycle_action", "Action filter", show=False, id="tree-action-filter"),
        Binding("c", "cycle_recoverable", "Recoverable filter", show=False, id="tree-recoverable-filter"),
        Binding("D", "destructive_lens", "Soft-delete lens", show=False, id="tree-destructive-lens"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="tree-clear-filter"),
    ),
)

GROUPS = BindingGroup(
    "Changes pane: who changed it",
    (
        Binding("b", "regroup", "Group", id="changes-regroup",
                tooltip="Group by: type → action, actor → operation, cluster"),
        Binding("m", "mark_group", "Mark group", id="changes-mark-group",
                tooltip="Mark the whole group across the report (changes tagged keep are left out)"),
        Binding("m", "unmark_group", "Unmark group", id="changes-unmark-group",
                tooltip="Unmark the whole group (m does this when all of the group is marked)"),
        Binding("w", "mark_window", "Mark time", id="changes-mark-window",
                tooltip="Mark a time window: from and to, counted first (starts at the actor's or "
                        "operation's time span)"),
        Binding("T", "tag_group", "Tag the cluster or operation", show=False, id="changes-tag-group"),
    ),
)

COMPARE = BindingGroup(
    "Changes pane: comparing two backups",
    (
        Binding("escape", "leave_compare", "Leave the compare", id="compare-leave"),
        Binding("space,v,m,ctrl+a,U", "marking_off", "Mark keys: off in a comparison (says why)", show=False,
                id="compare-marking-off"),
        Binding("slash,b,T", "report_only", "Filter, grouping, tags: off in a comparison (says why)",
                show=False, id="compare-report-only"),
    ),
)

AUDIT = BindingGroup(
    "Audit log",
    (Binding("L", "not_in_report", "Not in this report", show=False, id="not-in-report"),),
)

TRIAGE_DIALOG = BindingGroup(
    "Triage tag",
    (
        Binding("r", "choose('revert')", "Revert", id="triage-revert"),
        Binding("k", "choose('keep')", "Keep", id="triage-keep"),
        Binding("i", "choose('investigate')", "Investigate", id="triage-investigate"),
        Binding("x", "choose('')", "Remove the tag", id="triage-remove"),
        Binding("escape", "cancel", "Cancel", id="triage-cancel"),
    ),
)

WINDOW_DIALOG = BindingGroup(
    "Mark a time window",
    (
        Binding("ctrl+s", "mark", "Mark the window", priority=True, id="window-mark"),
        Binding("escape", "cancel", "Cancel", id="window-cancel"),
    ),
)

NOT_IN_REPORT = BindingGroup(
    "Not in this report",
    (Binding("escape,q,L", "close", "Close", id="not-in-report-close"),),
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

RAW_JSON = BindingGroup(
    "Diff pane, raw JSON",
    (
        Binding("J", "toggle_raw", "Table view", id="raw-json-table"),
        Binding("escape,h", "toggle_raw", "Back to the table", show=False, id="raw-json-back"),
        Binding("y", "copy_json", "Copy JSON", id="raw-json-copy"),
        Binding("k,up", "cursor_up", "Up", show=False, id="raw-json-up"),
        Binding("j,down", "cursor_down", "Down", show=False, id="raw-json-down"),
        Binding("left", "cursor_left", "Left", show=False, id="raw-json-left"),
        Binding("right", "cursor_right", "Right", show=False, id="raw-json-right"),
        Binding("pageup,ctrl+u", "cursor_page_up", "Page up", show=False, id="raw-json-page-up"),
        Binding("pagedown,ctrl+d", "cursor_page_down", "Page down", show=False, id="raw-json-page-down"),
        Binding("g,home", "scroll_home", "Top", show=False, id="raw-json-top"),
        Binding("G,end", "scroll_end", "Bottom", show=False, id="raw-json-bottom"),
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

RESTORE_CONFIRM = BindingGroup(
    "Restore confirmation",
    (
        Binding("y", "confirm", "Restore", id="restore-confirm-yes"),
        Binding("i", "by_id", "By ID only", id="restore-confirm-by-id"),
        Binding("n,escape", "cancel", "No", id="restore-confirm-no"),
    ),
)

TYPED_DIALOG = BindingGroup(
    "Typed confirmation (soft-deleting restores)",
    (Binding("escape", "cancel", "Cancel", id="typed-cancel"),),
)

EXPORT_DIALOG = BindingGroup(
    "Export: where to write",
    (Binding("escape", "cancel", "Cancel", id="export-cancel"),),
)

TEXT_DIALOG = BindingGroup(
    "Full value",
    (Binding("escape,q,enter", "close", "Close", id="text-close"),),
)

CHOICES = BindingGroup(
    "Choices in dialogs",
    (
        Binding("enter,space", "toggle_button", "Choose or tick", show=False, id="choice-toggle"),
        Binding("enter,space", "select", "Tick the option", show=False, id="checklist-toggle"),
        Binding("up", "cursor_up", "Up", show=False, id="checklist-up"),
        Binding("down", "cursor_down", "Down", show=False, id="checklist-down"),
        Binding("home", "first", "First", show=False, id="checklist-first"),
        Binding("end", "last", "Last", show=False, id="checklist-last"),
        Binding("pageup", "page_up", "Page up", show=False, id="checklist-page-up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="checklist-page-down"),
    ),
)

SCOPE_DIALOG = BindingGroup(
    "New report: scope",
    (
        Binding("escape", "cancel", "Cancel", id="scope-cancel"),
        Binding("ctrl+s", "create", "Create report", priority=True, id="scope-create"),
    ),
)

INTERRUPTED = BindingGroup(
    "Interrupted restore",
    (
        Binding("r", "resume", "Resume", id="interrupted-resume"),
        Binding("v", "review", "Review", id="interrupted-review"),
        Binding("d", "drop", "Drop", id="interrupted-drop"),
        Binding("escape", "later", "Later", id="interrupted-later"),
    ),
)

PLAN_REVIEW = BindingGroup(
    "Restore plan: options and checks",
    (
        Binding("enter", "choose", "Restore this way", key_display="⏎", id="plan-choose"),
        Binding("d", "fix_dependencies", "Queue missing dependencies", id="plan-fix-dependencies"),
        Binding("s", "toggle_recheck", "Recheck on/off", id="plan-toggle-recheck"),
        Binding("e", "export_plan", "Export as reviewed plan", id="plan-export"),
        Binding("escape,q", "close", "Back", id="plan-back"),
    ),
)

RECHECK_DIALOG = BindingGroup(
    "Recheck: objects moved since the review",
    (
        Binding("a", "accept", "Restore them anyway", id="recheck-accept"),
        Binding("d", "drop", "Leave them out", id="recheck-drop"),
        Binding("escape,b", "back", "Go back", id="recheck-back"),
    ),
)

BREAK_GLASS_DIALOG = BindingGroup(
    "Break-glass accounts",
    (
        Binding("ctrl+s", "save", "Save", priority=True, id="break-glass-save"),
        Binding("escape", "cancel", "Not now", id="break-glass-cancel"),
    ),
)

LOCKOUT_DIALOG = BindingGroup(
    "Lockout warning",
    (Binding("escape", "cancel", "Go back", id="lockout-cancel"),),
)

RESTORE_RESULT = BindingGroup(
    "Restore result",
    (
        Binding("escape,q", "close", "Close", id="result-close"),
        Binding("R", "retry", "Retry failed", id="result-retry"),
        Binding("n", "verify", "Fresh report", id="result-verify"),
    ),
)

FAILED_CHANGES = BindingGroup(
    "Failed changes (restore result, History)",
    (
        Binding("enter,l", "show_failure", "Full message", id="failed-show"),
        Binding("y", "copy_failure", "Copy message", id="failed-copy"),
    ),
)

FAILED_CHANGES_SCREEN = BindingGroup(
    "Failed changes of a job (History)",
    (Binding("escape,q", "close", "Close", id="failed-close"),),
)

HISTORY = BindingGroup(
    "History",
    (
        Binding("escape,q", "close", "Back", id="history-close"),
        Binding("slash", "focus_filter", "Filter", key_display="/", id="history-filter"),
        Binding("enter", "open_job", "Failed changes", id="history-open"),
    ),
)

SIGN_IN = BindingGroup(
    "Sign-in",
    (
        Binding("c", "copy_code", "Copy code", id="sign-in-copy-code"),
        Binding("u", "copy_url", "Copy URL", id="sign-in-copy-url"),
        Binding("d", "choose('device-code')", "Device code", id="sign-in-device-code"),
        Binding("b", "choose('browser')", "Browser", id="sign-in-browser"),
        Binding("a", "choose('cli')", "Azure CLI", id="sign-in-azure-cli"),
        Binding("o", "choose('offline')", "Offline", id="sign-in-offline"),
        Binding("escape", "cancel_sign_in", "Cancel", id="sign-in-cancel"),
    ),
)

HELP = BindingGroup(
    "This key reference",
    (
        Binding("escape,q,question_mark,f1", "close", "Close", id="help-close"),
        Binding("slash", "focus_search", "Search", key_display="/", id="help-search"),
    ),
)

#: All groups, in the order the help screen lists them.
ALL_GROUPS: tuple[BindingGroup, ...] = (
    GLOBAL, AUDIT, SCREEN, LIST_NAVIGATION, BACKUPS, CHANGES, GROUPS, COMPARE, DIFF, RAW_JSON, QUEUE, DIALOG,
    RESTORE_CONFIRM, TRIAGE_DIALOG, WINDOW_DIALOG, NOT_IN_REPORT, TYPED_DIALOG, EXPORT_DIALOG, TEXT_DIALOG,
    CHOICES,
    SCOPE_DIALOG, INTERRUPTED, PLAN_REVIEW, RECHECK_DIALOG,
    BREAK_GLASS_DIALOG, LOCKOUT_DIALOG, RESTORE_RESULT, FAILED_CHANGES, FAILED_CHANGES_SCREEN, HISTORY,
    SIGN_IN, HELP,
)


def binding_ids() -> list[str]:
    """Every binding ID (each is a valid keymap key)."""
    return [b.id for group in ALL_GROUPS for b in group.bindings if b.id]
