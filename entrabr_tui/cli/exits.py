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
10    read-only          a folder or file entrabr writes is read-only (folder, file system or permissions)
11    disk-full          the disk (or quota) is full; the step that failed saved nothing
12    timeout            a job stayed in a status this version does not know, or a wait reached its limit
13    plan-tampered      a reviewed plan file was changed after it was written (its hash does not match)
14    plan-other-tenant  a reviewed plan file is for another tenant than the one signed in to
15    backup-expired     the backup a reviewed plan restores from is no longer listed by the service
16    same-reviewer      the tenant requires a second person, and the reviewer is the one applying
17    stale              objects moved since the review and the restore was not told to accept or drop them
18    lockout            a Conditional Access lockout finding was not confirmed by typing the policy's name
19    drifted            the restore ran, but its verification found objects that drifted during recovery
20    alerting           ``watch``: at least one alert is open (raised by this run or still open)
130   interrupted        Ctrl+C (jobs already started keep running on the service)
141   pipe-closed        whoever read the output stopped reading (``| head``): output ended early, quietly
====  =================  ===================================================================================
"""

from __future__ import annotations

import errno
import re
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
    READ_ONLY = 10
    DISK_FULL = 11
    TIMEOUT = 12
    PLAN_TAMPERED = 13
    PLAN_OTHER_TENANT = 14
    BACKUP_EXPIRED = 15
    SAME_REVIEWER = 16
    STALE = 17
    LOCKOUT = 18
    DRIFTED = 19
    ALERTING = 20
    INTERRUPTED = 130
    PIPE_CLOSED = 141  # 128 + SIGPIPE, what a shell reports for a program a closed pipe stopped

    @property
    def label(self) -> str:
        """The short name used in ``--json`` error documents (``forbidden``, ``not-found`` …)."""
        return self.name.lower().replace("_", "-")


class CliError(Exception):
    """An error the command line reports with a message and a fixed exit code."""

    def __init__(self, message: str, code: ExitCode, *, hint: str | None = None, needs: str | None = None,
                 unexpected: bool = False):
        super().__init__(message)
        self.message = message
        self.code = code
        self.hint = hint
        self.needs = needs
        self.unexpected = unexpected
        """No rule knows this error: a bug (a crash report is written)."""


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
    storage = storage_error(exc)
    if storage is not None:
        return storage
    # Imported here: these modules are only loaded once a command actually runs.
    from entrabr_tui.engine import errors as engine
    from entrabr_tui.graph import errors as graph

    if isinstance(exc, graph.GraphError):
        return _graph_error(exc)
    if isinstance(exc, engine.PlanRefusedError):
        return CliError(exc.message, _REFUSALS.get(exc.reason.value, ExitCode.USAGE))
    if isinstance(exc, engine.RestoreRefusedError):
        return CliError(exc.message, ExitCode.STALE if exc.reason == "stale" else ExitCode.LOCKOUT)
    if isinstance(exc, engine.EngineError):
        code = ExitCode.ERROR
        from entrabr_tui.engine import audit_types as audit

        conflict = engine.SlotBusyError | engine.UnconfirmedIntentError | engine.InterruptedRestoreError
        if isinstance(exc, conflict):
            code = ExitCode.CONFLICT
        elif isinstance(exc, engine.OfflineError):
            code = ExitCode.OFFLINE
        elif isinstance(exc, engine.WaitLimitError):
            code = ExitCode.TIMEOUT
        elif isinstance(exc, audit.AuditUnavailableError):
            code = ExitCode.FORBIDDEN
        elif isinstance(exc, audit.AuditNotReadyError):
            code = ExitCode.NOT_FOUND
        return CliError(exc.message, code)
    sign_in = _sign_in_error(exc)
    if sign_in is not None:
        return sign_in
    name = type(exc).__name__
    return CliError(f"Unexpected error ({name}): {exc}", ExitCode.ERROR, unexpected=True)


#: The exit code of each reason a reviewed plan file is refused (a file that is no plan: usage).
_REFUSALS = {"tampered": ExitCode.PLAN_TAMPERED, "other-tenant": ExitCode.PLAN_OTHER_TENANT,
             "backup-gone": ExitCode.BACKUP_EXPIRED, "same-person": ExitCode.SAME_REVIEWER,
             "malformed": ExitCode.USAGE}


def _graph_error(exc: BaseException) -> CliError:
    from entrabr_tui.graph import errors as graph

    text = str(exc)
    if isinstance(exc, graph.AuthError):
        return CliError(text, ExitCode.AUTH)
    if isinstance(exc, graph.ForbiddenError):
        return forbidden(text, exc.needs)
    if isinstance(exc, graph.ConflictError):
        return CliError(text, ExitCode.CONFLICT)
    if isinstance(exc, graph.NotFoundError):
        return CliError(text, ExitCode.NOT_FOUND)
    if isinstance(exc, graph.JobWaitTimeoutError):
        return CliError(exc.message, ExitCode.TIMEOUT)
    unreachable = graph.NetworkError | graph.ThrottledError | graph.ServerError | graph.OutcomeUnknownError
    if isinstance(exc, unreachable):
        return CliError(text, ExitCode.NETWORK)
    return CliError(text, ExitCode.ERROR)


_LACKS = re.compile(r"lacks the delegated permission ([A-Za-z][\w.]*\w)")
_ROLE = re.compile(r"needs? (?:the )?(Entra Backup (?:Reader|Administrator)|Global Administrator)")
_PERMISSION = re.compile(r"\b(EntraBackup\.[\w.]*\w|Directory\.Read\.All|User\.Read\.All)")


def needed_name(sentence: str) -> str | None:
    """The role or permission a refusal names: the missing permission when the sign-in lacks one, else the
    least role that would do, else the permission (``None`` when the sentence names neither)."""
    for pattern in (_LACKS, _ROLE, _PERMISSION):
        found = pattern.search(sentence)
        if found:
            return found.group(1)
    return None


def forbidden(message: str, sentence: str, hint: str | None = None) -> CliError:
    """Exit 4: ``needs`` names the role or permission, ``hint`` says it in a sentence (moved out of the
    message, so it is said once)."""
    if sentence and sentence in message:
        message = message.replace(f": {sentence}", ".").replace(sentence, "").replace("..", ".").strip()
    text = sentence.rstrip(".") + "." if sentence else None
    return CliError(message, ExitCode.FORBIDDEN, needs=needed_name(sentence),
                    hint=" ".join(part for part in (text, hint) if part) or None)


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


#: errno values that mean "this cannot be written here" and "there is no room".
_READ_ONLY = {errno.EROFS}
_DENIED = {errno.EACCES, errno.EPERM}
_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it was raised from or during, outermost first (cycles cut)."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain and len(chain) < 20:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def storage_error(exc: BaseException) -> CliError | None:
    """A read-only folder or file system, or a full disk, anywhere in ``exc``'s causes: the message names
    the path (when known) and what to do; exit 10 or 11."""
    import sqlite3

    for cause in _causes(exc):
        if isinstance(cause, OSError) and not isinstance(cause, BrokenPipeError):
            where = f" {cause.filename}" if cause.filename else ""
            if cause.errno in _FULL:
                return _disk_full(where)
            if cause.errno in _READ_ONLY or (cause.errno in _DENIED and cause.filename):
                reason = "the file system is read-only" if cause.errno in _READ_ONLY else "permission denied"
                return _read_only(where, reason)
        if isinstance(cause, sqlite3.Error):
            text = str(cause).lower()
            if "disk is full" in text:
                return _disk_full("")
            if "readonly database" in text or "read-only" in text:
                return _read_only("", "the database file or its folder is read-only")
    return None


def _home_hint() -> str:
    from entrabr_tui.store.paths import HOME_ENV

    return (f"entrabr keeps its cache, history and config in folders it must be able to write; make them "
            f"writable, or set {HOME_ENV} to a folder that is.")


def _read_only(where: str, reason: str) -> CliError:
    target = where or " to entrabr's folders"
    return CliError(f"Cannot write{target}: {reason}. The step that needed it was not saved.",
                    ExitCode.READ_ONLY, hint=_home_hint())


def _disk_full(where: str) -> CliError:
    writing = f" (writing{where})" if where else ""
    return CliError(f"The disk is full{writing}. The step that failed was not saved; what was saved before "
                    "is intact.", ExitCode.DISK_FULL,
                    hint="Free some space (a large tenant's cache takes gigabytes), or set ENTRABR_HOME to a "
                         "folder on another disk.")
