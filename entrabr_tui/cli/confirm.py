"""Confirmation before a restore is applied.

``--yes`` skips the question. Otherwise the plan is shown on stderr and the answer is read from stdin, which
must be a terminal: a script that forgot ``--yes`` is refused rather than left hanging or fed a stray line.
When anything would be soft-deleted, ``y`` is not enough: the word ``soft-delete`` must be typed (the same
rule as the terminal app's dialog).
"""

from __future__ import annotations

from entrabr_tui.cli.exits import CliError, ExitCode, UsageError
from entrabr_tui.cli.output import Output
from entrabr_tui.core.planner import RestorePlan, summary_lines

TYPED_WORD = "soft-delete"


def confirm_restore(plan: RestorePlan, out: Output, *, yes: bool) -> None:
    """Return when the restore may go ahead; raise :class:`CliError` when it may not."""
    if yes:
        return
    if not out.stdin_tty:
        raise UsageError(
            "Refusing to apply a restore without confirmation: stdin is not a terminal.",
            hint=f"Review it with '{out.command('restore --plan')} …', then re-run with --yes.",
        )
    summary = plan.summary
    out.info("About to restore:")
    for line in summary_lines(plan):
        out.info(f"  {line}")
    if summary.requires_typed_confirmation:
        out.prompt(f"{summary.soft_deletes} object(s) will be SOFT-DELETED. Type {TYPED_WORD} to confirm: ")
        answer = _read(out)
        if answer.strip() != TYPED_WORD:
            raise CliError("Not confirmed; nothing was changed.", ExitCode.ERROR)
        return
    out.prompt(f"Run {summary.jobs} recovery job(s) against the live tenant? [y/N] ")
    if _read(out).strip().lower() not in ("y", "yes"):
        raise CliError("Not confirmed; nothing was changed.", ExitCode.ERROR)


def _read(out: Output) -> str:
    try:
        line = out.stdin.readline()
    except (OSError, ValueError):
        line = ""
    if not line:  # end of input: no answer
        out.prompt("\n")
    return line
