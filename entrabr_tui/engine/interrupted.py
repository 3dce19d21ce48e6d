"""Where a restore run stands, batch by batch, read from the job journal: for resuming an interrupted one.

A restore run (:class:`~entrabr_tui.store.restore_runs.RestoreRun`) lists its batches; the journal entries
that carry its id say what happened to each. The latest entry of a batch decides:

* ``done``: its job ended and was recorded (never sent again);
* ``sent``: the service has its job (the id is known), not followed to its end yet: it is followed;
* ``unknown``: a request whose arrival cannot be judged yet (too recent) or at all (too old): never sent
  again automatically; a resume stops there;
* ``to do``: never requested, refused by the service, or provably never received: sent when resumed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from entrabr_tui.core.model import FilteringCriteria
from entrabr_tui.engine.scopes import describe_scope
from entrabr_tui.store import IntentStatus, JournalIntent
from entrabr_tui.store.restore_runs import RestoreRun


class BatchPhase(StrEnum):
    """Where one batch of a run stands (see the module docstring)."""

    DONE = "done"
    SENT = "sent"
    UNKNOWN = "unknown"
    TO_DO = "to do"


@dataclass(frozen=True, slots=True)
class BatchState:
    """One batch of a run and where it stands."""

    batch: int
    scope: FilteringCriteria | None
    phase: BatchPhase
    intent: JournalIntent | None = None

    @property
    def job_id(self) -> str | None:
        return self.intent.job_id if self.intent is not None else None

    @property
    def text(self) -> str:
        """``batch 2: restore of user 40 — sent (job 1234…)``."""
        job = f" (job {self.job_id})" if self.job_id else ""
        return f"batch {self.batch}: {describe_scope(self.scope)} — {self.phase.value}{job}"


def batch_phase(intent: JournalIntent | None) -> BatchPhase:
    """The phase the latest journal entry of a batch gives it."""
    if intent is None:
        return BatchPhase.TO_DO
    if intent.status is IntentStatus.DONE:
        return BatchPhase.DONE
    if intent.status is IntentStatus.SUBMITTED and intent.job_id:
        return BatchPhase.SENT
    if intent.status in (IntentStatus.PENDING, IntentStatus.UNCONFIRMED, IntentStatus.UNKNOWN):
        return BatchPhase.UNKNOWN
    return BatchPhase.TO_DO  # rejected, not received, discarded: the service has no job of it


def run_states(run: RestoreRun, intents: Iterable[JournalIntent]) -> tuple[BatchState, ...]:
    """Every batch of ``run`` with its phase, from the run's journal entries."""
    latest: dict[int, JournalIntent] = {}
    for intent in intents:
        if intent.run_id == run.id and intent.batch is not None:
            seen = latest.get(intent.batch)
            if seen is None or intent.id > seen.id:
                latest[intent.batch] = intent
    return tuple(BatchState(b.batch, b.scope, batch_phase(latest.get(b.batch)), latest.get(b.batch))
                 for b in run.batches)


@dataclass(frozen=True, slots=True)
class InterruptedRestore:
    """A restore that stopped before all its batches ran: what the app offers to resume, review or drop."""

    run: RestoreRun
    states: tuple[BatchState, ...]
    report_job_id: str | None = None
    """The difference report (preview job id) the restore was planned from, when still cached."""

    @property
    def run_id(self) -> str:
        return self.run.id

    @property
    def created(self) -> datetime:
        return self.run.created

    @property
    def batch_count(self) -> int:
        return len(self.states)

    @property
    def done(self) -> int:
        return sum(1 for s in self.states if s.phase is BatchPhase.DONE)

    @property
    def blocked(self) -> BatchState | None:
        """The first batch whose request's arrival is unknown: a resume stops there (never sent twice)."""
        return next((s for s in self.states if s.phase is BatchPhase.UNKNOWN), None)

    @property
    def text(self) -> str:
        """``An interrupted restore: 1 of 3 batches done``."""
        return f"An interrupted restore: {self.done} of {self.batch_count} batches done"

    def lines(self) -> list[str]:
        """One line per batch (for a review)."""
        return [state.text for state in self.states]
