"""Exit codes of the command line, and the mapping from every error the engine can raise to one of them.

Scripts branch on these numbers, so they never change meaning:

====  =================  ===================================================================================
code  name               meaning
====  =================  ===================================================================================
0     ok                 the command did what was asked
1     error              an unexpected error (a bug, a failed job, a response that could not be used)
2     usage              bad arguments, or a confirmation that could not be asked (no terminal)
3     auth               sign-in missing, expired, cancelled or refused
4     forbidden          the identity lacks the role or permission (the message names the one needed)
5     conflict           another job holds the tenant's single job slot, or a restore's outcome is unknown
6     network            Microsoft Graph or the sign-in service could not be reached, throttled, or failed
7     partial            a restore finished but some changes failed (they are listed)
8     not-found          the backup, report or job does not exist (any more)
9     offline            ``--offline`` and the cache does not hold what was asked
130   interrupted        Ctrl+C (jobs already started keep running on the service)
====  =================  ===================================================================================
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes (see the module documentation)."""

    OK = 0
    ERROR = 1
    USAGE = 2
    AUTH = 3
    FORBIDDEN = 4
    CONFLICT = 5
    NETWORK = 6
    PARTIAL = 7
    NOT_FOUND = 8
    OFFLINE = 9
    INTERRUPTED = 130

    @property
    def label(self) -> str:
        """The short name used in ``--json`` error documents (``forbidden``, ``not-found`` …)."""
        return self.name.lower().replace("_", "-")


class CliError(Exception):
    """An error the command line reports with a message and a fixed exit code."""

    def __init__(self, message: str, code: ExitCode, *, hint: str | None = None, needs: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.hint = hint
        self.needs = needs


class UsageError(CliError):
    """Bad arguments (exit code 2)."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, ExitCode.USAGE, hint=hint)


def classify(exc: BaseException) -> CliError:
    """The exit code and message for any exception raised while a command ran."""
    if isinstance(exc, CliError):
        return exc
    if isinstance(exc, KeyboardInterrupt):
        return CliError("Interrupted.", ExitCode.INTERRUPTED)
    # Imported here: these modules are only loaded once a command actually runs.
    from entrabr_tui.engine import errors as engine
    from entrabr_tui.graph import errors as graph

    if isinstance(exc, graph.GraphError):
        return _graph_error(exc)
    if isinstance(exc, engine.EngineError):
        code = ExitCode.ERROR
        from entrabr_tui.engine import audit

        if isinstance(exc, engine.SlotBusyError | engine.UnconfirmedIntentError):
            code = ExitCode.CONFLICT
        elif isinstance(exc, engine.OfflineError):
            code = ExitCode.OFFLINE
        elif isinstance(exc, audit.AuditUnavailableError):
            code = ExitCode.FORBIDDEN
        elif isinstance(exc, audit.AuditNotReadyError):
            code = ExitCode.NOT_FOUND
        return CliError(exc.message, code)
    sign_in = _sign_in_error(exc)
    if sign_in is not None:
        return sign_in
    name = type(exc).__name__
    return CliError(f"Unexpected error ({name}): {exc}", ExitCode.ERROR)


def _graph_error(exc: BaseException) -> CliError:
    from entrabr_tui.graph import errors as graph

    text = str(exc)
    if isinstance(exc, graph.AuthError):
        return CliError(text, ExitCode.AUTH)
    if isinstance(exc, graph.ForbiddenError):
        return CliError(text, ExitCode.FORBIDDEN, needs=exc.needs)
    if isinstance(exc, graph.ConflictError):
        return CliError(text, ExitCode.CONFLICT)
    if isinstance(exc, graph.NotFoundError):
        return CliError(text, ExitCode.NOT_FOUND)
    unreachable = graph.NetworkError | graph.ThrottledError | graph.ServerError | graph.OutcomeUnknownError
    if isinstance(exc, unreachable):
        return CliError(text, ExitCode.NETWORK)
    return CliError(text, ExitCode.ERROR)


def _sign_in_error(exc: BaseException) -> CliError | None:
    try:
        from entrabr_tui.graph import auth_errors
    except ImportError:  # azure-identity missing: nothing of that kind can have been raised
        return None
    if not isinstance(exc, auth_errors.SignInError):
        return None
    if isinstance(exc, auth_errors.SignInFailed) and exc.network:
        return CliError(exc.message, ExitCode.NETWORK, hint=exc.hint)
    return CliError(exc.message, ExitCode.AUTH, hint=exc.hint)
