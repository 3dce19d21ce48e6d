"""Screens of the audit features: the triage tag dialog, the time window dialog, and the "Not in this
report" lens.

The time window dialog reads from and to as the command line's ``--since``/``--until`` do
(:mod:`entrabr_tui.core.time_input`) and says how many changes of the report the window holds, how many are
queued already and how many a ``keep`` tag leaves out, before anything is marked.

The lens lists what the audit log shows happened since the backup that the report cannot show or a restore
will not fix (hard deletes, owner/manager/sponsor links, dynamic rules, credentials, synced objects), each
with what to do instead, and the purge clock of the report's soft-deleted objects, the most urgent first.
Everything from the tenant is shown literally.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from entrabr_tui.core.audit_blindspots import PurgeEntry
from entrabr_tui.core.audit_triage import TriageNote, TriageTag
from entrabr_tui.core.time_input import TimeInputError, moment_text, parse_moment
from entrabr_tui.engine.audit_types import AuditNotReadyError, AuditUnavailableError, BlindSpot, ChangeGroup
from entrabr_tui.ui.backend import Backend
from entrabr_tui.ui.bindings import NOT_IN_REPORT, SCREEN, TRIAGE_DIALOG, WINDOW_DIALOG, bindings_of
from entrabr_tui.ui.text import (
    clean,
    format_duration,
    keep_input_literal,
    literal,
    name_text,
    plural,
    truncate,
)

#: Purge-clock rows listed (the rest are counted).
SHOWN_PURGES = 200
#: Objects listed per blind-spot kind (the rest are counted).
SHOWN_SPOTS = 50


@dataclass(frozen=True)
class TriageChoice:
    """What the triage dialog chose: a tag (``None``: remove it) and its note."""

    tag: TriageTag | None
    note: str


class TriageDialog(ModalScreen[TriageChoice | None]):
    """Tag a cluster or an operation revert / keep / investigate, with a note (``r``/``k``/``i``, ``x``
    removes the tag, esc cancels). The focus starts on the buttons; shift+tab reaches the note, which takes
    letters while it has the focus."""

    BINDINGS: ClassVar[list[BindingType]] = bindings_of(SCREEN, TRIAGE_DIALOG)

    def __init__(self, what: Text, count: int, current: TriageNote | None) -> None:
        super().__init__()
        self.what = what
        self.count = count
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="triage"):
            yield Label(literal(("Tag ", "bold"), self.what), classes="dialog-title")
            now = f"tagged {self.current.tag.value}" if self.current is not None else "not tagged"
            yield Label(Text(f"{plural(self.count, 'change')} · {now}. A cluster or operation tagged keep is "
                             "never queued, and plans leave its changes alone.", style="dim"))
            yield Input(self.current.note if self.current is not None else "", placeholder="note (optional)",
                        id="triage-note", compact=True)
            with Horizontal(classes="dialog-buttons"):
                yield Button(Text("Revert (r)"), id="revert", compact=True)
                yield Button(Text("Keep (k)"), id="keep", compact=True)
                yield Button(Text("Investigate (i)"), id="investigate", compact=True)
                yield Button(Text("Untag (x)"), id="untag", compact=True)
                yield Button(Text("Cancel (esc)"), id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#revert", Button).focus()

    @on(Input.Changed, "#triage-note")
    def _typed(self, event: Input.Changed) -> None:
        keep_input_literal(event.input, event.value)

    @on(Input.Submitted, "#triage-note")
    def _submitted(self) -> None:
        self.query_one("#revert", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        choice = {"revert": "revert", "keep": "keep", "investigate": "investigate", "untag": ""}
        if event.button.id in choice:
            self.action_choose(choice[event.button.id])
        else:
            self.action_cancel()

    def action_choose(self, tag: str) -> None:
        note = self.query_one("#triage-note", Input).value.strip()
        self.dismiss(TriageChoice(TriageTag(tag) if tag else None, note))

    def action_cancel(self) -> None:
        self.dismiss(None)


def window_text(group: ChangeGroup) -> str:
    """``the window 2026-07-28 03:30:00Z – 04:10:00Z`` (open ends: ``the start``, ``now``), with the filter
    it narrows when there is one."""
    since = f"{group.since:%Y-%m-%d %H:%M:%S}Z" if group.since is not None else "the start"
    until = "now" if group.until is None else (
        f"{group.until:%H:%M:%S}Z" if group.since is not None and group.since.date() == group.until.date()
        else f"{group.until:%Y-%m-%d %H:%M:%S}Z")
    text = f"the window {since} – {until}"
    return text + (f" matching /{truncate(clean(group.text), 30)}" if group.text else "")


@dataclass(frozen=True)
class WindowCount:
    """What a time window holds: its changes, the ones queued already, the ones a ``keep`` tag leaves out."""

    group: ChangeGroup
    total: int
    queued: int
    kept: int

    @property
    def text(self) -> str:
        if not self.total:
            return "No change of the report falls in this window."
        parts = [f"{self.queued:,} queued already" if self.queued else "",
                 f"{self.kept:,} kept by a triage tag (left out)" if self.kept else ""]
        extra = "; ".join(p for p in parts if p)
        return f"{plural(self.total, 'change')} in this window" + (f" ({extra})." if extra else ".")


def count_window(backend: Backend, report_id: str, group: ChangeGroup) -> WindowCount:
    """How many changes a window holds, queued already, kept by a tag (blocking)."""
    return WindowCount(group, backend.group_count(report_id, group),
                       backend.group_count(report_id, group, marked=True),
                       backend.group_count(report_id, group, kept=True))


class TimeWindowDialog(ModalScreen[ChangeGroup | None]):
    """Mark the changes of a time window: from and to (a UTC date/time or an age such as ``30m``; empty: no
    limit), counted before anything is marked. Enter or ctrl+s marks the window counted; esc cancels."""

    BINDINGS: ClassVar[list[BindingType]] = bindings_of(SCREEN, WINDOW_DIALOG)

    def __init__(self, backend: Backend, report_id: str, since: datetime | None, until: datetime | None,
                 text: str | None, clock: Callable[[], datetime]) -> None:
        super().__init__()
        self.backend = backend
        self.report_id = report_id
        self.since = since
        self.until = until
        self.text = text
        self.clock = clock
        #: The window as typed (``None``: it cannot be read), and its count once known.
        self.window: ChangeGroup | None = None
        self.counted: WindowCount | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="window"):
            title = Text("Mark a time window", style="bold")
            if self.text:
                title.append_text(literal(" of the matches of /", (truncate(clean(self.text), 30), "")))
            yield Label(title, classes="dialog-title")
            yield Label(Text("From and to: a UTC date/time (2026-07-28T08:00Z) or an age (30m, 12h, 7d); "
                             "one may stay empty (no limit). The time is when the audit log says the change "
                             "was made: changes it has no record of are outside every window.", style="dim"))
            with Horizontal(classes="window-field"):
                yield Label("From ")
                yield Input(moment_text(self.since) if self.since is not None else "",
                            placeholder="the start", id="window-from", compact=True)
            with Horizontal(classes="window-field"):
                yield Label("To   ")
                yield Input(moment_text(_ceil_second(self.until)) if self.until is not None else "",
                            placeholder="now", id="window-to", compact=True)
            yield Static("", id="window-count")
            with Horizontal(classes="dialog-buttons"):
                yield Button(Text("Mark (enter)"), id="mark", compact=True)
                yield Button(Text("Cancel (esc)"), id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#window-from", Input).focus()
        self._recount()

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        if not keep_input_literal(event.input, event.value):
            self._recount()

    def _read(self) -> ChangeGroup:
        """The window the fields name; raises :class:`TimeInputError` or ``ValueError`` (from after to)."""
        now = self.clock()
        ends: list[datetime | None] = []
        for field, name in (("#window-from", "From"), ("#window-to", "To")):
            value = self.query_one(field, Input).value.strip()
            try:
                ends.append(parse_moment(value, now) if value else None)
            except TimeInputError as err:
                raise ValueError(f"{name}: {err} {err.hint}") from None
        since, until = ends
        if since is None and until is None:
            raise ValueError("Type From, To or both (a window with no end is the whole report: ctrl+a marks "
                             "every match).")
        if since is not None and until is not None and since > until:
            raise ValueError("From is after To.")
        return ChangeGroup(since=since, until=until, text=self.text)

    def _recount(self) -> None:
        line = self.query_one("#window-count", Static)
        try:
            window = self._read()
        except ValueError as err:
            self.window = None
            line.update(Text(clean(str(err)), style="bold"))
            return
        self.window = window
        line.update(Text(f"{window_text(window)}: counting…", style="dim"))
        self._count(window)

    class Counted(Message):
        """A window was counted (``counted``), or could not be (``error``)."""

        def __init__(self, counted: WindowCount | None, error: str = "") -> None:
            super().__init__()
            self.counted = counted
            self.error = error

    @work(thread=True, exclusive=True, exit_on_error=False, group="window-count", description="Counting")
    def _count(self, window: ChangeGroup) -> None:
        try:
            self.post_message(self.Counted(count_window(self.backend, self.report_id, window)))
        except (AuditNotReadyError, AuditUnavailableError) as exc:
            self.post_message(self.Counted(None, str(exc)))

    @on(Counted)
    def _counted(self, message: Counted) -> None:
        counted = message.counted
        if counted is None:
            self.query_one("#window-count", Static).update(Text(clean(message.error), style="bold"))
            return
        if counted.group != self.window:
            return  # typed on since
        self.counted = counted
        self.query_one("#window-count", Static).update(
            Text.assemble(f"{window_text(counted.group)}: ", (counted.text, "bold")))

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_mark()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "mark":
            self.action_mark()
        else:
            self.action_cancel()

    def action_mark(self) -> None:
        """Mark the window, once its count is shown (and it holds something)."""
        counted = self.counted
        if self.window is None or counted is None or counted.group != self.window:
            self.app.bell()
            return
        if not counted.total:
            self.app.bell()
            return
        self.dismiss(self.window)

    def action_cancel(self) -> None:
        self.dismiss(None)


def _ceil_second(value: datetime) -> datetime:
    """``value`` rounded up to the whole second (the field shows seconds; the last change stays inside)."""
    return value if not value.microsecond else value.replace(microsecond=0) + timedelta(seconds=1)


@dataclass(frozen=True)
class LensData:
    """What the lens shows: the blind spots (or why they cannot be read) and the purge clock."""

    spots: Sequence[BlindSpot]
    missing: str | None
    purges: Sequence[PurgeEntry]


def read_lens(backend: Backend, report_id: str) -> LensData:
    """Blind spots and the purge clock of a report (blocking)."""
    missing = None
    spots: Sequence[BlindSpot] = ()
    try:
        spots = backend.blind_spots(report_id)
    except AuditUnavailableError as exc:
        missing = f"no audit access: {exc}"
    except AuditNotReadyError:
        missing = "the audit log was not read yet: b (group by actor) in the Changes pane reads it"
    return LensData(spots, missing, backend.purge_clock(report_id))


def purge_text(entry: PurgeEntry) -> str:
    """``purged for good in 3 days 4h`` or ``purged already``."""
    if entry.purged:
        return "purged already (past 30 days)"
    return f"purged for good in {format_duration(entry.remaining.total_seconds())}"


def lens_body(data: LensData) -> Text:
    """The lens as one literal text: what the report cannot show or a restore will not fix, by kind, each
    with what to do instead; then the purge clock, the most urgent first."""
    body = Text(end="")
    body.append("Since the backup, not in this report or not fixed by a restore\n", style="bold")
    if data.missing is not None:
        body.append_text(literal("  ", (data.missing, "italic")))
        body.append("\n")
    elif not data.spots:
        body.append("  nothing the audit log shows\n", style="dim")
    by_kind: dict[str, list[BlindSpot]] = {}
    for spot in data.spots:
        by_kind.setdefault(spot.heading, []).append(spot)
    for heading, spots in by_kind.items():
        body.append_text(literal((f"{heading} ({len(spots):,})", "bold")))
        body.append("\n  What to do instead: ")
        body.append_text(literal((spots[0].advice, "italic")))
        body.append("\n")
        for spot in spots[:SHOWN_SPOTS]:
            who = spot.actor.label if spot.actor is not None else "no actor recorded"
            body.append("  • ")
            body.append_text(name_text(spot.display_name, 40))
            body.append_text(literal((f"  {spot.object_type} · {spot.activity} · by ", "dim"), (who, "dim"),
                                     (f" at {spot.last:%Y-%m-%d %H:%M}Z", "dim")))
            body.append("\n")
        if len(spots) > SHOWN_SPOTS:
            body.append(f"  … and {len(spots) - SHOWN_SPOTS:,} more\n", style="dim")
    body.append("\nPurge clock: soft-deleted objects the report restores, most urgent first\n", style="bold")
    if not data.purges:
        body.append("  none\n", style="dim")
    for entry in list(data.purges)[:SHOWN_PURGES]:
        body.append_text(literal("  ", (purge_text(entry), "bold" if entry.remaining.days < 7 else ""), " · ",
                                 entry.entity_type, " · "))
        body.append_text(name_text(entry.display_name, 50))
        body.append(f"  (deleted {entry.deleted:%Y-%m-%d %H:%M}Z)\n", style="dim")
    if len(data.purges) > SHOWN_PURGES:
        body.append(f"  … and {len(data.purges) - SHOWN_PURGES:,} more\n", style="dim")
    return body


class NotInReportScreen(ModalScreen[None]):
    """The "Not in this report" lens (see the module docstring)."""

    BINDINGS: ClassVar[list[BindingType]] = bindings_of(SCREEN, NOT_IN_REPORT)

    def __init__(self, backend: Backend, report_id: str, now: Callable[[], datetime]) -> None:
        super().__init__()
        self.backend = backend
        self.report_id = report_id
        self.now = now
        self.data: LensData | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide", id="not-in-report"):
            yield Label(Text("Not in this report", style="bold"), classes="dialog-title", id="lens-title")
            with VerticalScroll(classes="dialog-body"):
                yield Static(Text("reading the audit log…", style="dim italic"), id="lens-body")
            yield Label(Text("esc closes", style="dim"))

    def on_mount(self) -> None:
        self._read()

    @work(exclusive=True, exit_on_error=False, group="lens", description="Not in this report")
    async def _read(self) -> None:
        data = await asyncio.to_thread(read_lens, self.backend, self.report_id)
        self.data = data
        count = "" if data.missing is not None else f" · {plural(len(data.spots), 'object')}"
        self.query_one("#lens-title", Label).update(literal(("Not in this report", "bold"), count,
                                                            f" · {len(data.purges):,} soft-deleted"))
        self.query_one("#lens-body", Static).update(lens_body(data))

    def action_close(self) -> None:
        self.dismiss(None)
