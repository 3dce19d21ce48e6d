"""Command palette entries (ctrl+p) for what has no key: exports, tenant profiles, the cache, offline mode
and sign-in methods. Themes use Textual's own "Theme" entry (the app saves the choice).

Entries depend on the state: the report export needs an open, complete report; profile, offline and
sign-in entries need a session factory that can reopen sessions. Titles and help may hold text from the
config file (profile names), so they are shown literally, never as markup: titles as literal ``Content``,
help lines (which Textual reads as markup) through :func:`~entrabr_tui.ui.text.markup_literal`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content

from entrabr_tui.engine.export import ExportFormat
from entrabr_tui.ui.connection import SIGN_IN_METHODS
from entrabr_tui.ui.text import clean, markup_literal, truncate

if TYPE_CHECKING:
    from entrabr_tui.ui.app import EntrabrApp

FORMATS = ((ExportFormat.JSON, "JSON"), (ExportFormat.CSV, "CSV"), (ExportFormat.MARKDOWN, "Markdown"))


@dataclass(frozen=True)
class PaletteCommand:
    """One palette entry: its title, a line of help, and what it runs."""

    title: str
    help: str
    run: Callable[[], object]


def _exports(app: EntrabrApp) -> Iterator[PaletteCommand]:
    report = app.open_report
    where = f"to a file you choose (first offered in {truncate(clean(str(app.export_directory)), 50)})"
    for fmt, label in FORMATS:
        if report is not None:
            yield PaletteCommand(f"Export difference report as {label}",
                                 f"All {report.downloaded:,} changes of the open report, {where}",
                                 partial(app.export, "report", fmt))
        yield PaletteCommand(f"Export restore plan as {label}", f"The queue's restore plan, {where}",
                             partial(app.export, "plan", fmt))
        yield PaletteCommand(f"Export job history as {label}", f"The service's jobs, {where}",
                             partial(app.export, "jobs", fmt))


def palette_commands(app: EntrabrApp) -> list[PaletteCommand]:
    """The entries that apply now."""
    commands: list[PaletteCommand] = []
    backend = app.backend
    if backend is not None:
        commands.extend(_exports(app))
        restores = app.main.restores
        if restores is not None:
            commands.append(PaletteCommand(
                "Export restore queue as a reviewed plan",
                "Write the queue's plan with what you reviewed, for a second person to apply",
                restores.export_reviewed_plan))
            commands.append(PaletteCommand(
                "Open a reviewed plan file",
                "Review and apply a plan another administrator exported (hash, tenant and backup checked)",
                partial(restores.start, from_file=True)))
        commands.append(PaletteCommand(
            "Write evidence pack",
            "The recoveries of the last days for auditors: timeline, RPO/RTO, plans, jobs, SHA-256 manifest",
            app.write_evidence_pack))
        commands.append(PaletteCommand(
            "Clear cache", "Set this tenant's cached backups, reports and queue aside and start afresh",
            app.clear_cache))
    if not app.can_reopen:
        return commands
    offline = backend.offline if backend is not None else app.target.offline
    if offline:
        commands.append(PaletteCommand("Go online", "Sign in and use Microsoft Graph again",
                                       partial(app.set_offline, False)))
    else:
        commands.append(PaletteCommand("Go offline", "Browse the cache only, without the network",
                                       partial(app.set_offline, True)))
    for profile in app.profiles:
        current = profile.name == app.target.profile
        commands.append(PaletteCommand(
            f"Switch to tenant profile {clean(profile.name)}" + (" (current)" if current else ""),
            f"Tenant {clean(profile.tenant)}, sign-in by {clean(profile.auth)}",
            partial(app.switch_profile, profile.name)))
    for method, label, what in SIGN_IN_METHODS:
        if method in app.sign_in_methods:
            commands.append(PaletteCommand(f"Sign in: {label}", f"Sign in again with {what}",
                                           partial(app.sign_in_with, method)))
    return commands


class EntrabrCommands(Provider):
    """The app's palette entries (see the module docstring)."""

    def _commands(self) -> list[PaletteCommand]:
        return palette_commands(cast("EntrabrApp", self.app))

    async def discover(self) -> Hits:
        for command in self._commands():
            yield DiscoveryHit(Content(command.title), command.run, text=command.title,
                               help=markup_literal(command.help))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self._commands():
            score, offsets = matcher.fuzzy_search.match(matcher.query, command.title)
            if score <= 0:
                continue
            display = Content(command.title)
            for offset in offsets:
                display = display.stylize(matcher.match_style, offset, offset + 1)
            yield Hit(score, display, command.run, text=command.title, help=markup_literal(command.help))
