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
from entrabr_tui.graph.client import CreatedJob, RecoveryClient
from entrabr_tui.graph.directory import DirectoryClient
from entrabr_tui.graph.errors import (
    AuthError,
    BadRequestError,
    ConflictError,
    ForbiddenError,
    GraphError,
    NetworkError,
    NotFoundError,
    OutcomeUnknownError,
    ServerError,
    ThrottledError,
    UnexpectedResponseError,
)
from entrabr_tui.graph.paging import ChangePage
from entrabr_tui.graph.resilience import RetryEvent, RetryPolicy

__all__ = [
    "DEFAULT_BASE_URL",
    "GRAPH_SCOPES",
    "PREFER_UNKNOWN_ENUMS",
    "AuthError",
    "BadRequestError",
    "ChangePage",
    "ConflictError",
    "CreatedJob",
    "DirectoryClient",
    "ForbiddenError",
    "GraphError",
    "NetworkError",
    "NotFoundError",
    "OutcomeUnknownError",
    "RecoveryClient",
    "RetryEvent",
    "RetryPolicy",
    "ServerError",
    "ThrottledError",
    "UnexpectedResponseError",
    "patch_entity_field_deserializers",
]
