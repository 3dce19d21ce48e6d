"""The restore plan compared: the ways to scope its jobs, their estimates, and what each would also revert.

:class:`PlanReviewScreen` lists the options of a plan (:mod:`~entrabr_tui.core.plan_options`) in a table —
by object ID, whole types, best mix — each with its jobs, expected duration and end time, and what it would
revert besides the queue; the one planned is marked. Below, for the option under the cursor: the order of
its stages, the unmarked changes (and objects tagged keep) its whole-type jobs would revert, the missing
dependencies with their one-key fix, and the plan's exclusions. Tenant names are shown literally.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, Label, Static

from entrabr_tui.core.plan_options import PlanOption
from entrabr_tui.core.planner import summary_lines
from entrabr_tui.engine.timing import format_duration
from entrabr_tui.ui.bindings import EXPORT_DIALOG, PLAN_REVIEW, SCREEN, bindings_of
from entrabr_tui.ui.text import clean, name_text, plural, safe
from entrabr_tui.ui.widgets.tables import NavTable

if TYPE_CHECKING:  # (this loads the Graph SDK: the app paints before it is loaded)
    from entrabr_tui.engine.plans import SessionPlan

#: Unmarked changes listed per option (the rest are counted).
SHOWN_REVERTS = 40


@dataclass(frozen=True)
class PlanReview:
    """What was chosen on the plan screen: the plan (with its option), whether to recheck the tenant before
    restoring, and what to do next (``restore``, ``fix-dependencies`` or ``export``)."""

    plan: SessionPlan
    recheck: bool
    action: str = "restore"


class PlanReviewScreen(ModalScreen[PlanReview | None]):
    """The options of a restore plan, side by side (see the module docstring). Dismisses with the choice, or
    ``None`` (back)."""

    BINDINGS: ClassVar[list[BindingType]] = bindings_of(SCREEN, PLAN_REVIEW)

    def __init__(self, plan: SessionPlan, now_local: datetime, *, recheck: bool = True,
                 source: Text | None = None) -> None:
        super().__init__()
        self.plan = plan
        self.now_local = now_local
        self.recheck = recheck
        self.source = source
        options = plan.choices.options if plan.choices is not None else ()
        self.options: tuple[PlanOption, ...] = options

    def compose(self) -> ComposeResult:
        summary = self.plan.summary
        with Vertical(classes="dialog wide", id="plan-review"):
            title = Text(f"Restore {plural(summary.included, 'object')}: choose how the jobs are scoped",
                         style="bold")
            yield Label(title, classes="dialog-title")
            if self.source is not None:
                yield Label(self.source)
            yield NavTable(id="plan-options")
            with VerticalScroll(classes="dialog-body", id="plan-detail-scroll"):
                yield Static(id="plan-detail")
            yield Label(self._hint(), id="plan-hint")

    def _hint(self) -> Text:
        recheck = "on" if self.recheck else "OFF (recorded)"
        deps = "d queues missing dependencies · " if self.plan.dependencies else ""
        return Text(f"⏎ restore this way · {deps}s recheck before restoring: {recheck} · e export as a "
                    "reviewed plan · esc back", style="dim")

    def on_mount(self) -> None:
        table = self.query_one("#plan-options", NavTable)
        for key, label in (("mark", ""), ("option", "Option"), ("jobs", "Jobs"), ("time", "Time"),
                           ("ends", "Ends (local)"), ("reverts", "Besides the queue")):
            table.add_column(label, key=key)
        if not self.options:
            table.add_row(Text("→"), Text("As planned"), Text(f"{self.plan.batch_count:,}"), Text("—"),
                          Text("—"), Text("only the plan's objects"))
        for option in self.options:
            table.add_row(*self._row(option), key=option.choice.value)
        current = next((n for n, o in enumerate(self.options) if o.choice is self.plan.choice), 0)
        table.move_cursor(row=current)
        table.focus()
        self._show_detail(current)

    def _row(self, option: PlanOption) -> list[Text]:
        mark = "→" if option.choice is self.plan.choice else ""
        default = self.plan.choices is not None and option.choice is self.plan.choices.default
        label = option.choice.label + (" (default)" if default else "")
        estimate = option.estimate
        ends = estimate.ends(self.now_local)
        if option.safe:
            reverts = Text("nothing unmarked")
        else:
            parts = []
            if option.also_reverts:
                parts.append(plural(len(option.also_reverts), "unmarked change"))
            if option.reverts_kept:
                parts.append(f"{len(option.reverts_kept):,} tagged keep")
            reverts = Text("also reverts " + ", ".join(parts), style="bold")
        return [Text(mark, style="bold"), Text(label), Text(f"{estimate.jobs:,}"),
                Text(f"~{format_duration(estimate.seconds)}"), Text(ends.strftime("%a %H:%M")), reverts]

    @on(DataTable.RowHighlighted, "#plan-options")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail(event.cursor_row)

    def _option_plan(self, index: int) -> SessionPlan:
        if not self.options or not 0 <= index < len(self.options):
            return self.plan
        return self.plan.with_choice(self.options[index].choice)

    def _show_detail(self, index: int) -> None:
        plan = self._option_plan(index)
        option = self.options[index] if self.options and 0 <= index < len(self.options) else None
        body = Text()
        if option is not None:
            body.append(f"{option.line(self.now_local)}\n", style="bold")
            if self.plan.choices is not None:
                body.append(f"Estimates from {self.plan.choices.model.basis}.\n", style="dim")
        stages = plan.plan.stages
        if stages:
            body.append("Stages, in order: ")
            body.append(" → ".join(f"{stage.title} ({plural(len(jobs), 'job')})" for stage, jobs in stages))
            body.append("\n")
        if option is not None and option.also_reverts:
            count = plural(len(option.also_reverts), "change")
            body.append(f"\nIts whole-type jobs would also revert {count} not marked:\n", style="bold")
            for entity_type, object_id in option.also_reverts[:SHOWN_REVERTS]:
                body.append_text(self._object(entity_type, object_id))
            more = len(option.also_reverts) - SHOWN_REVERTS
            if more > 0:
                body.append(f"  … and {more:,} more\n", style="dim")
        if option is not None and option.reverts_kept:
            body.append("\nIt would revert objects tagged keep:\n", style="bold")
            for entity_type, object_id in option.reverts_kept[:SHOWN_REVERTS]:
                body.append_text(self._object(entity_type, object_id))
        if plan.dependencies:
            body.append(f"\nMissing dependencies ({len(plan.dependencies)}): press d to queue them\n",
                        style="bold")
            for warning in plan.dependencies[:SHOWN_REVERTS]:
                body.append(f"  {clean(warning.text)}\n")
        if self.plan.choices is not None and self.plan.choices.kept_left_out:
            body.append(f"\n{plural(len(self.plan.choices.kept_left_out), 'queued object')} tagged keep "
                        "are left out.\n")
        body.append("\n")
        for line in summary_lines(plan.plan):
            body.append(f"{clean(line)}\n", style="dim")
        self.query_one("#plan-detail", Static).update(body)

    def _object(self, entity_type: str, object_id: str) -> Text:
        line = Text("  ")
        line.append_text(safe(entity_type, 24))
        line.append(" ")
        line.append_text(name_text(self.plan.names.get(object_id), 40))
        line.append(" ")
        line.append_text(safe(object_id, 40, style="dim"))
        line.append("\n")
        return line

    def _cursor_plan(self) -> SessionPlan:
        return self._option_plan(self.query_one("#plan-options", NavTable).cursor_row)

    def action_choose(self) -> None:
        self.dismiss(PlanReview(self._cursor_plan(), self.recheck))

    def action_fix_dependencies(self) -> None:
        if not self.plan.dependencies:
            self.notify("The plan has no missing dependencies.", severity="information")
            return
        self.dismiss(PlanReview(self._cursor_plan(), self.recheck, "fix-dependencies"))

    def action_toggle_recheck(self) -> None:
        self.recheck = not self.recheck
        self.query_one("#plan-hint", Label).update(self._hint())
        if not self.recheck:
            self.notify("The tenant will not be checked against the reviewed plan before the restore; the "
                        "history records this choice.", title="Recheck off", severity="warning")

    def action_export_plan(self) -> None:
        self.dismiss(PlanReview(self._cursor_plan(), self.recheck, "export"))

    def action_close(self) -> None:
        self.dismiss(None)


class PlanFileDialog(ModalScreen[Path | None]):
    """Which reviewed plan file to open: a path (``~`` is the home folder). Enter opens, esc cancels."""

    BINDINGS: ClassVar[list[BindingType]] = bindings_of(SCREEN, EXPORT_DIALOG)

    def __init__(self, default: Path) -> None:
        super().__init__()
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide", id="plan-file-dialog"):
            yield Label(Text("Open a reviewed plan file", style="bold"), classes="dialog-title")
            yield Static(Text("The plan another administrator reviewed and exported (its hash, tenant and "
                              "backup are checked before anything is shown):"))
            yield Input(value=str(self.default), id="plan-file-path", compact=True)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel (esc)", id="cancel", compact=True)
                yield Button("Open (enter)", id="open", variant="primary", compact=True)

    def on_mount(self) -> None:
        field = self.query_one("#plan-file-path", Input)
        field.focus()
        field.cursor_position = len(field.value)

    @on(Input.Submitted, "#plan-file-path")
    @on(Button.Pressed, "#open")
    def _open(self) -> None:
        value = self.query_one("#plan-file-path", Input).value.strip()
        if value:
            self.dismiss(Path(value).expanduser())

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
