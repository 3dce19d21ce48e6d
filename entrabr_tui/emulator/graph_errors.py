"""Graph-style errors raised by the emulator's handlers and rendered as Graph's error envelope."""

from __future__ import annotations

from collections.abc import Mapping

MSG_INVALID_SNAPSHOT = (
    "This isn't a valid timestamp for recovery. The timestamp should be in the list of available "
    "backups (snapshots)."
)
MSG_JOB_IN_PROGRESS = (
    "A recovery job is currently in progress. Wait for it to complete before initiating a new job."
)
MSG_DENIED = "Authorization has been denied for this request. Check your credentials."
MSG_BAD_JSON = (
    "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of "
    "valid JSON format."
)


class GraphError(Exception):
    """An error response: HTTP status, Graph ``error.code`` and ``error.message`` (plus extra headers)."""

    def __init__(self, status: int, code: str, message: str,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers: dict[str, str] = dict(headers or {})


def bad_request(message: str) -> GraphError:
    """400 BadRequest."""
    return GraphError(400, "BadRequest", message)


def not_found(message: str) -> GraphError:
    """404 NotFound with the given message."""
    return GraphError(404, "NotFound", message)


def forbidden(requirement: str) -> GraphError:
    """403 with the documented message followed by what is required."""
    return GraphError(403, "Forbidden", f"{MSG_DENIED} {requirement}")


def job_not_found(job_id: str) -> GraphError:
    """404 for a job ID that is not (or no longer) known."""
    return not_found(f"Job with identifier '{job_id}' was not found.")


def snapshot_not_found(snapshot_id: str, *, for_job: bool) -> GraphError:
    """404 for an unknown snapshot; job operations use the documented 'valid timestamp' text."""
    if for_job:
        return not_found(MSG_INVALID_SNAPSHOT)
    return not_found(f"Snapshot with identifier '{snapshot_id}' not found.")


def method_not_allowed(method: str) -> GraphError:
    """405 for a method the API does not document on this path."""
    return GraphError(405, "Request_BadRequest",
                      f"Specified HTTP method '{method}' is not allowed for the request target.")


def conflict() -> GraphError:
    """409 when another job is still running in the tenant."""
    return GraphError(409, "Conflict", MSG_JOB_IN_PROGRESS)
