"""Data held by the nodes of the compare tree (backup A against backup B), and the labels drawn for them."""

from __future__ import annotations

from dataclasses import dataclass

from rich.style import Style
from rich.text import Text

from entrabr_tui.core.compare import DeltaKind, MovedObject, ObjectDelta
from entrabr_tui.ui.text import EMPTY_NAME, clean, short_id, truncate
from entrabr_tui.ui.widgets.change_nodes import NAME_WIDTH, PAGE_SIZE, InfoRow, TypeNode, count_text

#: The kind of the group of objects a comparison left out (the live tenant moved between its reports).
MOVED = "moved"
#: Widest list of property names drawn after an object's name, in cells.
PROPERTIES_WIDTH = 60

#: What each group of objects is called in the tree (words, not colour alone).
KIND_WORDS = {DeltaKind.CHANGED.value: "changed",
              DeltaKind.APPEARED.value: "in B only (new or restored)",
              DeltaKind.DISAPPEARED.value: "in A only (deleted)",
              MOVED: "not compared: moved live between the reports"}
KIND_GLYPHS = {DeltaKind.CHANGED.value: "~", DeltaKind.APPEARED.value: "+", DeltaKind.DISAPPEARED.value: "−",
               MOVED: "?"}


@dataclass
class KindNode:
    """The objects of one type that differ in one way (``kind`` a ``DeltaKind`` value), or (``MOVED``, no
    type) the objects left out; loaded lazily, a page at a time, by offset."""

    entity_type: str | None
    kind: str
    count: int
    offset: int = 0
    loaded: bool = False
    pending: bool = False


@dataclass(frozen=True)
class DeltaRow:
    """One object of a comparison as a tree leaf: how it differs, or why it was not compared."""

    item: ObjectDelta | MovedObject

    @property
    def id(self) -> str:
        return self.item.object_id

    @property
    def moved(self) -> bool:
        return isinstance(self.item, MovedObject)


@dataclass(frozen=True)
class CompareLink:
    """A "next page" / "previous page" row inside a kind node."""

    parent: KindNode
    forward: bool


CompareData = TypeNode | KindNode | DeltaRow | CompareLink | InfoRow


def kind_label(node: KindNode, glyph_style: Style | str) -> Text:
    label = Text.assemble((f"{KIND_GLYPHS[node.kind]} ", glyph_style), KIND_WORDS[node.kind],
                          count_text(node.count))
    if node.count > PAGE_SIZE and node.loaded:
        first = node.offset + 1
        last = min(node.count, node.offset + PAGE_SIZE)
        label.append(f"  (showing {first:,}–{last:,})", style="dim italic")
    return label


def delta_label(row: DeltaRow, glyph_style: Style | str, badge_style: Style | str) -> Text:
    """``~ Name  (short id) · prop, prop`` or ``? [not compared] Name  (short id) · moved live: prop`` —
    literal, the state in words."""
    item = row.item
    if isinstance(item, MovedObject):
        label = Text("? ", style=glyph_style, end="")
        label.append("[not compared] ", style=badge_style)
    else:
        label = Text(f"{item.kind.glyph} ", style=glyph_style, end="")
    name = clean(item.display_name) if item.display_name else ""
    if name.strip():
        label.append(truncate(name, NAME_WIDTH))
    else:
        label.append(EMPTY_NAME, style="italic dim")
    label.append(f"  ({short_id(item.object_id)})", style="dim")
    if isinstance(item, MovedObject):
        what = "moved live: " + ", ".join(item.properties)
    else:
        what = ", ".join(item.property_names)
    if what:
        label.append(" · ", style="dim")
        label.append(truncate(clean(what), PROPERTIES_WIDTH), style="dim")
    return label


def link_label(link: CompareLink) -> Text:
    node = link.parent
    if link.forward:
        left = max(0, node.count - node.offset - PAGE_SIZE)
        return Text(f"▸ next {min(PAGE_SIZE, left):,} of {left:,} more", style="italic", end="")
    return Text(f"◂ previous {PAGE_SIZE:,}", style="italic", end="")


__all__ = ["MOVED", "CompareData", "CompareLink", "DeltaRow", "InfoRow", "KindNode", "TypeNode",
           "delta_label", "kind_label", "link_label"]
