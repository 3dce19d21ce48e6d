"""The job journal: every job entrabr starts is written down (synced) before its POST, its id after.

A crash can happen between the POST that creates a job and the moment its id is written, and a job can be
left running when entrabr stops. On start (a session opened online) and before every new submission, each
journal entry that is not final is **reconciled** with the service's job list (``GET /jobs``, every page):

* an entry with a job id is followed: the job is watched to its end and recorded (its results collected,
  the history given its id, counts and outcome) — never submitted again;
* an entry without a job id whose POST created a job is matched to it and **adopted**: a job of the same
  kind, on the same backup (``targetStateDateTime`` equal to the backup's ``createdDateTime`` when both are
  known), whose ``filteringCriteria`` equals the entry's scope (object ids compared without regard to case,
  so a service that rewrites their case still matches), started at or after the entry was written less
  :data:`DEFAULT_CLOCK_ALLOWANCE` (or not started yet), and not claimed by another entry; the earliest wins.
  Jobs of other administrators are in the list too: one that matches is adopted, which errs on the side of
  "it was sent" — the batch is then followed, not sent again;
* an entry without a job id and no such job is **provably never received** — and only then may its batch
  be sent again — when all of these hold:

  1. the job list was read completely (every page) and lists jobs of both kinds on every backup;
  2. it was read at least :data:`DEFAULT_LISTING_SETTLE` after the entry was written, so a job the POST
     created would be listed by then (a younger entry stays ``pending`` and is judged again later);
  3. the entry is younger than :data:`MIN_JOB_RETENTION`, the shortest time the service documents keeping
     a finished job in that list (5 days after completion), so a job it created cannot have been removed.

  An entry that fails (3) is ``unconfirmed``: it is never sent again automatically, because applying a
  restore twice against a tenant that moved on is worse than asking.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from entrabr_tui.core.model import FilteringCriteria, Job, JobKind
from entrabr_tui.engine.scopes import same_scope
from entrabr_tui.engine.timing import Clock, utc_now
from entrabr_tui.store import Cache, IntentStatus, JournalIntent

#: How far a job's start may precede its intent (clock skew, whole-second timestamps).
DEFAULT_CLOCK_ALLOWANCE = timedelta(seconds=90)
#: How long after a POST the service's job list is taken to show the job it created.
DEFAULT_LISTING_SETTLE = timedelta(seconds=30)
#: The shortest time the service documents keeping a finished job in ``/jobs`` (5 days; later pages say 7).
MIN_JOB_RETENTION = timedelta(days=5)

NOT_FOUND_MESSAGE = (
    "No job matching this request is in the service's job list, but the request is older than the service "
    "keeps jobs, so that does not prove it never arrived. It was not sent again; start it again if it is "
    "still wanted."
)
NOT_RECEIVED_MESSAGE = (
    "The service's complete job list, read {age:.0f} s after the request, holds no job it could have "
    "created: the service never received it, so it may be sent again."
)
ADOPTED_MESSAGE = "job id found in the service's job list after a restart"


def _target_matches(intent: JournalIntent, job: Job, snapshot_time: datetime | None) -> bool:
    """Whether ``job`` may target the intent's backup: same time when both are known, else the same
    snapshot id when the job's is known; when neither can be compared the job may be ours (``True``)."""
    target = intent.target_state or snapshot_time
    if target is not None and job.target_state is not None:
        return target == job.target_state
    if job.snapshot_id is not None:
        return job.snapshot_id == intent.snapshot_id
    return True


def match_intent(
    intent: JournalIntent,
    jobs: Iterable[Job],
    *,
    claimed: Iterable[str] = (),
    allowance: timedelta = DEFAULT_CLOCK_ALLOWANCE,
    snapshot_time: datetime | None = None,
) -> Job | None:
    """The job an intent's POST created, if the listing shows one: same kind, backup and scope, started at
    or after the intent (less ``allowance``) or not started yet, not ``claimed`` by another intent; the
    earliest wins."""
    taken = set(claimed)
    earliest = intent.created - allowance
    candidates = [
        job
        for job in jobs
        if job.kind is intent.kind
        and job.id not in taken
        and (job.started is None or job.started >= earliest)
        and _target_matches(intent, job, snapshot_time)
        and same_scope(job.filtering, intent.scope)
    ]
    if not candidates:
        return None
    return min(candidates, key=lambda job: (job.started or intent.created, job.id))


@dataclass(slots=True)
class Reconciliation:
    """What reconciling the journal against the service's job list found."""

    adopted: list[tuple[JournalIntent, Job]] = field(default_factory=list)  # id unknown before, matched now
    not_received: list[JournalIntent] = field(default_factory=list)  # provably never received: may be resent
    unconfirmed: list[JournalIntent] = field(default_factory=list)  # not provable: never resubmitted
    unsettled: list[JournalIntent] = field(default_factory=list)  # too recent to judge: left pending
    resumable: list[tuple[JournalIntent, Job | None]] = field(default_factory=list)  # results not collected

    @property
    def changed(self) -> bool:
        return bool(self.adopted or self.unconfirmed or self.not_received)

    def settle_at(self, settle: timedelta) -> datetime | None:
        """When the youngest unsettled entry can be judged (``None`` when none waits)."""
        return max((i.created + settle for i in self.unsettled), default=None)


class Journal:
    """Writes intents around job creation, closes them, and reconciles them with the service."""

    def __init__(
        self,
        cache: Cache,
        *,
        clock: Clock = utc_now,
        allowance: timedelta = DEFAULT_CLOCK_ALLOWANCE,
        settle: timedelta = DEFAULT_LISTING_SETTLE,
        retention: timedelta = MIN_JOB_RETENTION,
    ) -> None:
        self.cache = cache
        self.clock = clock
        self.allowance = allowance
        self.settle = settle
        self.retention = retention

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
        """The job ended and its results are collected: close its intent(s)."""
        text = message or f"ended {job.status_raw}"
        for intent in self.cache.journal.open_intents():
            if intent.job_id == job.id:
                self.cache.journal.set_status(intent.id, IntentStatus.DONE, message=text, now=self.clock())

    def close(self, intent: JournalIntent, message: str) -> None:
        """Close an intent whose job the service no longer knows (nothing more can be collected)."""
        self.cache.journal.set_status(intent.id, IntentStatus.DONE, message=message, now=self.clock())

    def unconfirmed(self, intent: JournalIntent) -> None:
        """No job matches the intent, and the job list cannot prove it never arrived (never resubmitted)."""
        self.cache.journal.set_status(intent.id, IntentStatus.UNCONFIRMED, message=NOT_FOUND_MESSAGE,
                                      now=self.clock())

    def open_intents(self) -> list[JournalIntent]:
        return self.cache.journal.open_intents()

    def owns(self, job_id: str) -> bool:
        """True when entrabr started this job (journaled, or flagged ``started_here`` in the cache)."""
        if job_id in self.cache.journal.claimed_job_ids():
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

    def reconcile(self, jobs: Sequence[Job], *, listed_at: datetime | None = None) -> Reconciliation:
        """Judge every open intent against a complete ``/jobs`` listing read at ``listed_at`` (default:
        now) and record the outcome (see the module docstring for the rule)."""
        listed_at = listed_at or self.clock()
        result = Reconciliation()
        by_id = {job.id: job for job in jobs}
        for intent in self.cache.journal.open_intents():
            if intent.job_id:
                result.resumable.append((intent, by_id.get(intent.job_id)))
                continue
            job = self.match(intent, jobs)
            if job is not None:
                self.cache.journal.set_status(intent.id, IntentStatus.SUBMITTED, job_id=job.id,
                                              message=ADOPTED_MESSAGE, now=self.clock())
                adopted = self.cache.journal.entry(intent.id) or intent
                result.adopted.append((adopted, job))
                result.resumable.append((adopted, job))
                continue
            age = listed_at - intent.created
            if age >= self.retention:
                if intent.status is not IntentStatus.UNCONFIRMED:
                    self.unconfirmed(intent)
                result.unconfirmed.append(intent)
            elif age < self.settle:
                result.unsettled.append(intent)
            else:
                self.cache.journal.set_status(
                    intent.id, IntentStatus.NOT_RECEIVED,
                    message=NOT_RECEIVED_MESSAGE.format(age=age.total_seconds()), now=self.clock())
                result.not_received.append(self.cache.journal.entry(intent.id) or intent)
        return result
