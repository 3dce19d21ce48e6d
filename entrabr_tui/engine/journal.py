"""The job journal: every job entrabr starts is written down (synced) before its POST, its id after.

A crash can happen between the POST that creates a job and the moment its id is written. On the next start
such an intent (no job id) is *reconciled* against the service's job list (``GET /jobs``): a job of the same
kind, on the same backup (``targetStateDateTime``), with the same scope, started at or after the intent was
written (less a small allowance for clock skew and the service's whole-second timestamps), and not claimed
by another intent, is the one that POST created, and is adopted. When no such job exists the intent becomes
``unconfirmed``: it is never resubmitted automatically, because applying a restore twice against a tenant
that moved on is worse than asking. Submitted intents whose results were not collected are picked up again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from entrabr_tui.core.model import FilteringCriteria, Job, JobKind, snapshot_id_for
from entrabr_tui.engine.scopes import same_scope
from entrabr_tui.engine.timing import Clock, utc_now
from entrabr_tui.store import Cache, IntentStatus, JournalIntent

#: How far a job's start may precede its intent (clock skew, whole-second timestamps).
DEFAULT_CLOCK_ALLOWANCE = timedelta(seconds=90)

NOT_FOUND_MESSAGE = (
    "No job matching this request is in the service's job list: the request most likely never reached the "
    "service. It was not sent again; start it again if it is still wanted."
)
ADOPTED_MESSAGE = "job id found in the service's job list after a restart"


def _target_matches(intent: JournalIntent, job: Job, snapshot_time: datetime | None) -> bool:
    target = intent.target_state or snapshot_time
    if target is not None and job.target_state is not None:
        return target == job.target_state
    return job.target_state is not None and snapshot_id_for(job.target_state) == intent.snapshot_id


def match_intent(
    intent: JournalIntent,
    jobs: Iterable[Job],
    *,
    claimed: Iterable[str] = (),
    allowance: timedelta = DEFAULT_CLOCK_ALLOWANCE,
    snapshot_time: datetime | None = None,
) -> Job | None:
    """The job an intent's POST created, if the listing shows one: same kind, backup and scope, started at
    or after the intent (less ``allowance``), not ``claimed`` by another intent; the earliest wins."""
    taken = {c.lower() for c in claimed}
    earliest = intent.created - allowance
    candidates = [
        job
        for job in jobs
        if job.kind is intent.kind
        and job.id.lower() not in taken
        and job.started is not None
        and job.started >= earliest
        and _target_matches(intent, job, snapshot_time)
        and same_scope(job.filtering, intent.scope)
    ]
    if not candidates:
        return None
    return min(candidates, key=lambda job: (job.started, job.id))


@dataclass(slots=True)
class Reconciliation:
    """What reconciling the journal against the service's job list found."""

    adopted: list[tuple[JournalIntent, Job]] = field(default_factory=list)  # id unknown before, matched now
    unconfirmed: list[JournalIntent] = field(default_factory=list)  # no matching job: never resubmitted
    resumable: list[tuple[JournalIntent, Job | None]] = field(default_factory=list)  # results not collected

    @property
    def changed(self) -> bool:
        return bool(self.adopted or self.unconfirmed)


class Journal:
    """Writes intents around job creation, closes them, and reconciles them after a restart."""

    def __init__(
        self, cache: Cache, *, clock: Clock = utc_now, allowance: timedelta = DEFAULT_CLOCK_ALLOWANCE
    ) -> None:
        self.cache = cache
        self.clock = clock
        self.allowance = allowance

    def intend(
        self,
        kind: JobKind,
        snapshot_id: str,
        scope: FilteringCriteria | None,
        *,
        target_state: datetime | None = None,
        report_id: int | None = None,
        run_id: str | None = None,
        batch: int | None = None,
        batch_count: int | None = None,
        label: str | None = None,
    ) -> JournalIntent:
        """Write (and sync) the intent to start a job; call right before the POST."""
        return self.cache.journal.intent(
            snapshot_id, scope, kind=kind, target_state=target_state, report_id=report_id, run_id=run_id,
            batch=batch, batch_count=batch_count, label=label, now=self.clock(),
        )

    def submitted(self, intent: JournalIntent, job_id: str) -> JournalIntent:
        """Record the id of the job the POST created; call right after the POST."""
        return self.cache.journal.attach_job(intent.id, job_id, now=self.clock())

    def rejected(self, intent: JournalIntent, message: str) -> None:
        """The service certainly created no job (it refused, or the request never left)."""
        self.cache.journal.set_status(intent.id, IntentStatus.REJECTED, message=message, now=self.clock())

    def done(self, job: Job, message: str | None = None) -> None:
        """The job ended and its results are collected: close its intent."""
        text = message or f"ended {job.status_raw}"
        wanted = job.id.lower()
        for intent in self.cache.journal.open_intents():
            if intent.job_id is not None and intent.job_id.lower() == wanted:
                self.cache.journal.set_status(intent.id, IntentStatus.DONE, message=text, now=self.clock())

    def unconfirmed(self, intent: JournalIntent) -> None:
        """No job matches the intent: it most likely never reached the service (never resubmitted)."""
        self.cache.journal.set_status(intent.id, IntentStatus.UNCONFIRMED, message=NOT_FOUND_MESSAGE,
                                      now=self.clock())

    def open_intents(self) -> list[JournalIntent]:
        return self.cache.journal.open_intents()

    def owns(self, job_id: str) -> bool:
        """True when entrabr started this job (journaled, or flagged ``started_here`` in the cache)."""
        if job_id.lower() in self.cache.journal.claimed_job_ids():
            return True
        record = self.cache.jobs.get(job_id)
        return record is not None and record.started_here

    def match(self, intent: JournalIntent, jobs: Sequence[Job]) -> Job | None:
        """:func:`match_intent` with the claimed jobs and the backup's time filled in from the cache."""
        snapshot = self.cache.tenant.snapshot(intent.snapshot_id)
        return match_intent(
            intent, jobs, claimed=self.cache.journal.claimed_job_ids(), allowance=self.allowance,
            snapshot_time=snapshot.created if snapshot is not None else None,
        )

    def reconcile(self, jobs: Sequence[Job]) -> Reconciliation:
        """Match open intents against a complete ``/jobs`` listing and record the outcome.

        Intents without a job id get the matching job's id, or become ``unconfirmed`` (never resubmitted).
        Every intent with a job id whose results were not collected is returned as resumable, with the
        listed job when the service still lists it.
        """
        result = Reconciliation()
        by_id = {job.id.lower(): job for job in jobs}
        for intent in self.cache.journal.open_intents():
            if intent.job_id:
                result.resumable.append((intent, by_id.get(intent.job_id.lower())))
                continue
            job = self.match(intent, jobs)
            if job is not None:
                self.cache.journal.set_status(intent.id, IntentStatus.SUBMITTED, job_id=job.id,
                                              message=ADOPTED_MESSAGE, now=self.clock())
                adopted = self.cache.journal.entry(intent.id) or intent
                result.adopted.append((adopted, job))
                result.resumable.append((adopted, job))
            else:
                if intent.status is not IntentStatus.UNCONFIRMED:
                    self.unconfirmed(intent)
                result.unconfirmed.append(intent)
        return result

