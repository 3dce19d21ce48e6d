"""Errors the engine raises on top of the Graph client's (:mod:`entrabr_tui.graph.errors`).

Graph errors (403 forbidden, 409 conflict, network, ...) pass through unchanged, so callers map every
failure to a message and an exit code in one place. The engine adds what only it can know: the job slot is
held and the caller asked not to wait, the session is offline, a job ended without success, a wait hit its
bound, or a restore intent cannot be confirmed.
"""

from __future__ import annotations

from enum import StrEnum

from entrabr_tui.core.model import Job
from entrabr_tui.engine.events import describe_job


class EngineError(Exception):
    """Base of the engine's own errors; ``message`` is ready to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class SlotBusyError(EngineError):
    """The tenant's single job slot is held by a job entrabr did not start, and waiting was not wanted."""

    def __init__(self, holder: Job) -> None:
        super().__init__(
            f"The job slot is held by {describe_job(holder)}, which entrabr did not start. "
            "Only one difference report or restore can run at a time: wait for it to finish or cancel it."
        )
        self.holder = holder


class OfflineError(EngineError):
    """An action that needs Microsoft Graph was asked of an offline (cache-only) session."""

    def __init__(self, action: str) -> None:
        super().__init__(
            f"{action} needs Microsoft Graph, but this session is offline (cache only). "
            "Run without --offline to do this."
        )
        self.action = action


class JobEndedError(EngineError):
    """A job ended without success (failed or cancelled), so it has no results to use."""

    def __init__(self, job: Job) -> None:
        how = "was cancelled" if job.status_raw == "abandoned" else f"ended with status {job.status_raw}"
        super().__init__(f"The {describe_job(job)} {how}.")
        self.job = job


class WaitLimitError(EngineError):
    """A wait for a job reached the poll bound it was given; the job itself keeps running."""

    def __init__(self, job: Job, polls: int) -> None:
        super().__init__(f"Stopped waiting for {describe_job(job)} after {polls} polls; it is still running.")
        self.job = job
        self.polls = polls


class UnconfirmedIntentError(EngineError):
    """A restore batch was about to be sent, but it is unknown whether the service received it.

    The batch is never sent again automatically: a second recovery job could apply changes twice on a
    tenant that moved on. The intent is checked against the service's job list when entrabr next opens the
    tenant online, and a new request for the same job settles it first (adopting the job it created, if any).
    """

    def __init__(self, intent_id: int, detail: str) -> None:
        super().__init__(detail)
        self.intent_id = intent_id


class QueueDroppedError(EngineError):
    """A queued request was removed from the local queue before it started."""

    def __init__(self, label: str) -> None:
        super().__init__(f"The queued {label} was removed from the queue before it started.")


class CancelledBeforeStartError(EngineError):
    """A job was cancelled while it waited for the job slot, so it never started."""

    def __init__(self, label: str) -> None:
        super().__init__(f"The {label} was cancelled before it started; nothing was sent to the service.")


class InterruptedRestoreError(EngineError):
    """A new restore was asked for while an earlier one is interrupted: resume or drop that one first (its
    remaining batches, or the batch the service may have, must never be sent alongside a new plan)."""

    def __init__(self, interrupted: object) -> None:
        text = getattr(interrupted, "text", "An interrupted restore")
        super().__init__(
            f"{text}: finish it (resume) or drop it before starting another restore. Nothing was sent."
        )
        self.interrupted = interrupted


class DuplicateRequestError(EngineError):
    """An earlier request for the same job, whose answer was lost, did create a job: nothing new was sent."""

    def __init__(self, job: Job) -> None:
        super().__init__(
            f"An earlier request for the same job already started {describe_job(job)}; its answer was lost, "
            "so it was found in the job list and is tracked now. Nothing was sent again."
        )
        self.job = job


class PlanRefusal(StrEnum):
    """Why a reviewed plan file is not applied (each has its own exit code on the command line)."""

    MALFORMED = "malformed"
    TAMPERED = "tampered"
    OTHER_TENANT = "other-tenant"
    BACKUP_GONE = "backup-gone"
    SAME_PERSON = "same-person"


class PlanRefusedError(EngineError):
    """A reviewed plan file that must not be applied, and why (``reason``). Nothing was sent."""

    def __init__(self, reason: PlanRefusal, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class RestoreRefusedError(EngineError):
    """A restore the checks stopped before anything was sent: ``reason`` is ``stale`` (the tenant moved
    since the review and that was not accepted) or ``lockout`` (a lockout finding was not confirmed)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def is_refusal(error: BaseException) -> bool:
    """Whether ``error`` is the service refusing the signed-in identity (HTTP 403: a role or permission it
    lacks). The Graph client's errors are looked up only here, when asked (by then a session has loaded
    them), so that importing this module stays light."""
    from entrabr_tui.graph.errors import ForbiddenError

    return isinstance(error, ForbiddenError)
