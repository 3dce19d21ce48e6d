"""Microsoft Graph access for Entra Backup and Recovery: the async ``RecoveryClient`` and its typed errors.

Sign-in (azure-identity credentials) lives in ``graph.auth``; everything here takes any azure-core async
token credential.
"""

from __future__ import annotations

from entrabr_tui.graph.adapter import (
    DEFAULT_BASE_URL,
    GRAPH_SCOPES,
    PREFER_UNKNOWN_ENUMS,
    patch_entity_field_deserializers,
)
from entrabr_tui.graph.audit import AuditClient, AuditForbiddenError, AuditPage
from entrabr_tui.graph.audit_budget import RequestBudget
from entrabr_tui.graph.client import ChangeList, CreatedJob, RecoveryClient
from entrabr_tui.graph.directory import DirectoryClient
from entrabr_tui.graph.errors import (
    AuthError,
    BadRequestError,
    ConflictError,
    ForbiddenError,
    GraphError,
    IncompleteChangesError,
    JobWaitTimeoutError,
    NetworkError,
    NotFoundError,
    OutcomeUnknownError,
    ServerError,
    ThrottledError,
    UnexpectedResponseError,
)
from entrabr_tui.graph.paging import ChangePage, ChangeWalk, WalkOutcome
from entrabr_tui.graph.resilience import RetryCause, RetryEvent, RetryListener, RetryPolicy

__all__ = [
    "DEFAULT_BASE_URL",
    "GRAPH_SCOPES",
    "PREFER_UNKNOWN_ENUMS",
    "AuditClient",
    "AuditForbiddenError",
    "AuditPage",
    "AuthError",
    "BadRequestError",
    "ChangeList",
    "ChangePage",
    "ChangeWalk",
    "ConflictError",
    "CreatedJob",
    "DirectoryClient",
    "ForbiddenError",
    "GraphError",
    "IncompleteChangesError",
    "JobWaitTimeoutError",
    "NetworkError",
    "NotFoundError",
    "OutcomeUnknownError",
    "RecoveryClient",
    "RequestBudget",
    "RetryCause",
    "RetryEvent",
    "RetryListener",
    "RetryPolicy",
    "ServerError",
    "ThrottledError",
    "UnexpectedResponseError",
    "WalkOutcome",
    "patch_entity_field_deserializers",
]
