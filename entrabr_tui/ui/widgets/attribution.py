"""Who changed it, for the Diff pane: the object's line and a line per property, from the audit join.

:func:`load_who` asks the backend (blocking: call it in a thread) and turns what it says into a :class:`Who`:
the change's attribution, or why there is none (the sign-in may not read the audit log, the log of the
report's window was not read yet). The texts are built literally; an explained change or property and an
unexplained one differ by their mark (``✓`` / ``?``) as well as by colour.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.style import Style
from rich.text import Text

from entrabr_tui.core.audit_join import Verdict
from entrabr_tui.engine.attribution import ChangeAttribution, PartAttribution
from entrabr_tui.engine.audit_types import AuditNotReadyError, AuditUnavailableError
from entrabr_tui.ui.backend import Backend
from entrabr_tui.ui.text import clean, literal, truncate

#: Verdicts that name who made the change (the value now is the one the log recorded).
EXPLAINED = frozenset({Verdict.EXPLAINED, Verdict.SYNC})
#: Cells of a property's "who" line in the diff table.
WHO_CHARS = 80


@dataclass(frozen=True)
class Who:
    """What the Diff pane says about who changed the shown change: its ``attribution``, or ``missing`` (why
    nobody can be named: ``no audit access: …``, ``audit log not read yet …``)."""

    attribution: ChangeAttribution | None = None
    missing: str | None = None

    def differs(self, part: PartAttribution) -> bool:
        """The part's account is not the object's (another actor or verdict): the row says it; the others
        are covered by the object's line."""
        whole = self.attribution
        if whole is None:
            return True
        same_actor = (part.actor.key if part.actor else None) == (whole.actor.key if whole.actor else None)
        return not (same_actor and (explained(part.verdict) or part.verdict is whole.verdict))

    def part(self, path: str) -> PartAttribution | None:
        """The attribution of the diff row at ``path`` (a property, a nested path, a link ``members[<id>]``),
        or of the nearest enclosing part."""
        if self.attribution is None:
            return None
        parts = {p.name: p for p in self.attribution.parts}
        name = path
        if name.endswith("]") and "[" in name:  # members[<id>] in the diff, members:<id> in the join
            base, _, rest = name.partition("[")
            name = f"{base}:{rest[:-1]}"
        while name:
            found = parts.get(name) or parts.get(name.replace("@delta", ""))
            if found is not None:
                return found
            cut = max(name.rfind("."), name.rfind(":"))
            name = name[:cut] if cut > 0 else ""
        return None


def load_who(backend: Backend, report_id: str, object_id: str, position: int | None) -> Who:
    """Who made an object's change (blocking); never raises for a missing audit log."""
    try:
        attribution = backend.attribution(report_id, object_id, position)
    except AuditUnavailableError as exc:
        return Who(missing=f"no audit access: {exc}")
    except AuditNotReadyError:
        return Who(missing="audit log not read yet (b groups the Changes pane by actor and reads it)")
    if attribution is None:
        return Who(missing="no audit attribution for this change")
    return Who(attribution)


def explained(verdict: Verdict) -> bool:
    return verdict in EXPLAINED


def object_line(who: Who, good: Style | str, bad: Style | str) -> Text:
    """``✓ who: by alice@… via HR-Sync at 2026-03-21 14:32Z`` (or ``? who: unexplained: …``), literal."""
    if who.attribution is None:
        return literal(("who: ", "bold"), (who.missing or "", "dim italic"))
    attribution = who.attribution
    ok = attribution.verdict is Verdict.EXPLAINED or attribution.verdict is Verdict.SYNC
    mark = ("✓ ", good) if ok else ("? ", bad)
    return literal(mark, ("who: ", "bold"), (attribution.text, "" if ok else "italic"))


def part_line(part: PartAttribution, good: Style | str, bad: Style | str) -> Text:
    """A property's line under its current value: ``✓ by alice@… at …`` or ``? unexplained: …``."""
    ok = explained(part.verdict)
    text = truncate(clean(part.text), WHO_CHARS)
    if ok:
        return Text.assemble(("✓ ", good), (text, "dim"))
    return Text.assemble(("? ", bad), (text, "italic dim"))


def part_body(part: PartAttribution) -> Text:
    """The full account of one property, for the value dialog."""
    body = literal(("\nWho: ", "bold"), part.text, f" ({part.verdict.value})")
    if part.operation:
        body.append_text(literal(("\nOperation (correlation id): ", "bold"), part.operation))
    if part.activity:
        body.append_text(literal(("\nActivity: ", "bold"), part.activity))
    if part.events:
        body.append_text(literal(("\nAudit records naming it since the backup: ", "bold"),
                                 f"{part.events:,}"))
    return body
