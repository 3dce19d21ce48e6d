"""Data held by the nodes of the Changes tree, and the labels drawn for them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from rich.style import Style
from rich.text import Text

from entrabr_tui.core.model import Change, SyncStatus
from entrabr_tui.ui.backend import ChangeSummary
from entrabr_tui.ui.text import EMPTY_NAME, clean, safe, short_id, truncate

#: Objects shown per page inside one type/action node (bounded so the tree stays fast at any size).
PAGE_SIZE = 500

#: Widest name drawn in a tree row, in cells (the UPN and the backup's name get less).
NAME_WIDTH = 48
UPN_WIDTH = 24
BACKUP_NAME_WIDTH = 32

MARK_ON = "[x] "
MARK_OFF = "[ ] "

#: Badge text per outcome of the last restore that covered an object.
RESTORE_BADGES = {"restored": "restored", "failed": "restore failed", "cancelled": "restore cancelled",
                  "running": "restoring"}


@dataclass
class TypeNode:
    """A resource type, e.g. ``user``, with its total number of changes."""

    entity_type: str
    count: int


@dataclass
class ActionNode:
    """One action inside a type; its objects are loaded lazily, a page at a time."""

    entity_type: str
    action: str
    count: int
    #: Keyset start ``(name, id, position)`` of each page visited so far; the last one is the current page.
    page_starts: list[tuple[str, str, int] | None] = field(default_factory=lambda: [None])
    #: The current page is shown.
    loaded: bool = False
    #: A page was asked for and has not arrived.
    pending: bool = False

    @property
    def page_index(self) -> int:
        return len(self.page_starts) - 1


def turn_page(page_starts: list[tuple[str, str, int] | None], shown: Iterable[object], forward: bool) -> bool:
    """Move a paged node's keyset starts one page on (after the last object row in ``shown``) or one back
    (never before the first page). ``False``: forward with no object shown, nothing to turn to."""
    if forward:
        rows = [row for row in shown if isinstance(row, ObjectRow)]
        if not rows:
            return False
        page_starts.append((rows[-1].display_name, rows[-1].id, rows[-1].position))
    elif len(page_starts) > 1:
        page_starts.pop()
    return True


@dataclass(frozen=True)
class ObjectRow:
    """One changed object as a tree leaf."""

    id: str
    entity_type: str
    action: str
    display_name: str
    principal_name: str | None
    sync: SyncStatus
    #: Whether a restore would write anything for it (``None``: unknown, its sync status is).
    recoverable: bool | None
    #: The change's place in the report (an object may have several changes, each its own row).
    position: int = 0
    #: Why the change object could not be read (``None`` when it could).
    unreadable: str | None = None

    @classmethod
    def from_summary(cls, summary: ChangeSummary) -> ObjectRow:
        return cls(
            id=summary.object_id,
            entity_type=summary.entity_type_raw,
            action=summary.action_raw,
            display_name=summary.display_name,
            principal_name=summary.principal_name,
            sync=summary.sync,
            recoverable=summary.recoverable,
            position=summary.position,
            unreadable=summary.unreadable,
        )


@dataclass(frozen=True)
class RowDetail:
    """What a tree row adds once the object's change has been read: the name it had in the backup (when it
    differs from the current one) and its UPN or mail."""

    backup_name: str | None = None
    principal_name: str | None = None

    @classmethod
    def of(cls, change: Change) -> RowDetail:
        backup = change.delta.get("displayName")
        differs = isinstance(backup, str) and backup != change.display_name
        return cls(backup if differs else None, change.principal_name)


@dataclass(frozen=True)
class PageLink:
    """A "next page" / "previous page" row inside an action node."""

    parent: ActionNode
    forward: bool


@dataclass(frozen=True)
class InfoRow:
    """A non-interactive row: "loading…", "no changes", a limit notice."""

    text: str


NodeData = TypeNode | ActionNode | ObjectRow | PageLink | InfoRow


def count_text(count: int) -> Text:
    return Text(f"  {count:,}", style="dim", end="")


def type_label(node: TypeNode) -> Text:
    return Text.assemble(safe(node.entity_type, 40, style="bold"), count_text(node.count))


def action_label(node: ActionNode, glyph: str, glyph_style: Style) -> Text:
    label = Text.assemble((f"{glyph} ", glyph_style), safe(node.action, 24), count_text(node.count))
    if node.count > PAGE_SIZE and node.loaded:
        first = node.page_index * PAGE_SIZE + 1
        last = min(node.count, first + PAGE_SIZE - 1)
        label.append(f"  (showing {first:,}–{last:,})", style="dim italic")
    return label


def object_label(row: ObjectRow, marked: bool, glyph: str, glyph_style: Style, badge_style: Style,
                 detail: RowDetail | None = None, *, range_start: bool = False,
                 restored: str | None = None) -> Text:
    """``[x] ~ [restored] [on-prem] [not recoverable] Name  (upn or short id, was "Backup name")`` — every
    state spelled out (not only coloured), the badges before the name so a narrow pane never cuts them off
    (``[restored]``, ``[restore failed]`` … what the last restore of the object did, ``[on-prem]`` synced
    from on-premises, ``[sync?]`` a user or group whose sync status is unknown), and enough after it to tell
    look-alikes apart: the UPN (or the start of the id) and, once read, the name the object had in the
    backup when it differs. Built from plain strings (this runs for every row of a page): the same text as
    ``name_text`` and ``safe`` give."""
    label = Text(MARK_ON if marked else MARK_OFF, style="bold" if marked else "dim", end="")
    label.append(f"{glyph} ", style=glyph_style)
    if range_start:
        label.append("[range start] ", style=badge_style)
    if restored is not None:
        label.append(f"[{RESTORE_BADGES.get(restored, restored)}] ", style=badge_style)
    if row.unreadable is not None:
        label.append("[unreadable] ", style=badge_style)
    elif row.sync is SyncStatus.SYNCED:
        label.append("[on-prem] ", style=badge_style)
    elif row.sync is SyncStatus.UNKNOWN:
        label.append("[sync?] ", style=badge_style)
    if row.recoverable is False and row.unreadable is None:
        label.append("[not recoverable] ", style=badge_style)
    name = clean(row.display_name) if row.display_name else ""
    if name.strip():
        label.append(truncate(name, NAME_WIDTH))
    else:
        label.append(EMPTY_NAME, style="italic dim")
    principal = row.principal_name or (detail.principal_name if detail is not None else None)
    who = truncate(clean(principal), UPN_WIDTH) if principal and principal != row.display_name else \
        short_id(row.id)
    extra = f"  ({who}"
    if detail is not None and detail.backup_name is not None:
        backup = clean(detail.backup_name)
        extra += f", was \"{truncate(backup, BACKUP_NAME_WIDTH)}\"" if backup.strip() else ", was unnamed"
    label.append(extra + ")", style="dim")
    return label


def page_label(link: PageLink) -> Text:
    node = link.parent
    if link.forward:
        shown = (node.page_index + 1) * PAGE_SIZE
        left = max(0, node.count - shown)
        return Text(f"▸ next {min(PAGE_SIZE, left):,} of {left:,} more", style="italic", end="")
    return Text(f"◂ previous {PAGE_SIZE:,}", style="italic", end="")


def info_label(row: InfoRow) -> Text:
    return Text(clean(row.text), style="dim italic", end="")
