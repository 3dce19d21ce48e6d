"""Local persistence: the per-tenant SQLite cache, the session history and the user config.

Standard library ``sqlite3`` only (WAL, schema migrations, integrity check on open); file locations from
platformdirs, relocatable with ``ENTRABR_HOME``. Nothing here talks to Graph or imports a UI.
"""

from .cache import Cache
from .change_filter import RecoverableFilter, SyncFilter, text_matches
from .codec import scope_key
from .config import AppConfig, ConfigLoad, TenantProfile, load_config, save_config
from .history import History, HistoryAction, HistoryEntry
from .paths import HOME_ENV, StorePaths
from .records import (
    DEFAULT_RETENTION,
    ChangeRow,
    IntentStatus,
    JobReconcileResult,
    JobRecord,
    JournalIntent,
    MarkResult,
    NodeCount,
    PageKey,
    PageResult,
    QueueEntry,
    Report,
    ReportKind,
    SnapshotRecord,
    TenantRecord,
)
from .redact import REDACTED, redact, redact_text
from .report_writer import SEARCH_CHUNK, IngestError, RecoverableFn
from .sqlite_file import StoreError
from .tenant_store import derive_retention

__all__ = [
    "DEFAULT_RETENTION",
    "HOME_ENV",
    "REDACTED",
    "SEARCH_CHUNK",
    "AppConfig",
    "Cache",
    "ChangeRow",
    "ConfigLoad",
    "History",
    "HistoryAction",
    "HistoryEntry",
    "IngestError",
    "IntentStatus",
    "JobReconcileResult",
    "JobRecord",
    "JournalIntent",
    "MarkResult",
    "NodeCount",
    "PageKey",
    "PageResult",
    "QueueEntry",
    "RecoverableFilter",
    "RecoverableFn",
    "Report",
    "ReportKind",
    "SnapshotRecord",
    "StoreError",
    "StorePaths",
    "SyncFilter",
    "TenantProfile",
    "TenantRecord",
    "derive_retention",
    "load_config",
    "redact",
    "redact_text",
    "save_config",
    "scope_key",
    "text_matches",
]
