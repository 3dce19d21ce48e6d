"""Schema of the per-tenant cache database and its forward migrations.

Fixed tables hold tenants, snapshots, jobs, reports (download state), raw pages, per-node counts, the restore
queue and the restore journal, the directory audit log (records indexed by target, actor, correlation id
and time; resumable pulls) with its join to each report (``change_actor``, ``change_cluster``,
``report_actor``, ``report_operation``) and triage tags. Each report gets its own change table
``chg_<report id>`` (and a trigram full-text index ``chg_<report id>_fts`` when SQLite has one): rows are
appended while downloading, and the lookup indexes are built once the download is complete, which keeps
ingest fast. A migration that changes change tables must therefore visit every ``report`` row.
"""

from __future__ import annotations

import sqlite3

from entrabr_tui.store.sqlite_file import DatabaseSpec, Migration, execute_script, set_meta_marker

CACHE_APPLICATION_ID = 0x45425243  # "EBRC"
CACHE_MARKER = "entrabr-cache"

_V1 = """
CREATE TABLE tenant (
    id TEXT PRIMARY KEY,
    display_name TEXT,
    graph_url TEXT,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    retention_s INTEGER
);
CREATE TABLE snapshot (
    id TEXT PRIMARY KEY,
    created TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    total_changed_objects INTEGER,
    expired INTEGER NOT NULL DEFAULT 0,
    expired_at TEXT
);
CREATE TABLE job (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    snapshot_id TEXT,
    target_state TEXT,
    started TEXT,
    completed TEXT,
    filtering BLOB,
    scope_key TEXT NOT NULL,
    total_changed_objects INTEGER,
    total_changed_links INTEGER,
    total_objects_modified INTEGER,
    total_links_modified INTEGER,
    total_failed_changes INTEGER,
    raw BLOB,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    archived INTEGER NOT NULL DEFAULT 0,
    archived_at TEXT,
    started_here INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX job_by_snapshot ON job (snapshot_id, kind, scope_key);
CREATE TABLE report (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    job_id TEXT NOT NULL,
    snapshot_id TEXT,
    scope_key TEXT NOT NULL,
    filtering BLOB,
    created TEXT NOT NULL,
    source_url TEXT NOT NULL,
    next_link TEXT,
    pages INTEGER NOT NULL DEFAULT 0,
    item_count INTEGER NOT NULL DEFAULT 0,
    received_items INTEGER NOT NULL DEFAULT 0,
    duplicate_items INTEGER NOT NULL DEFAULT 0,
    malformed_items INTEGER NOT NULL DEFAULT 0,
    total_expected INTEGER,
    complete INTEGER NOT NULL DEFAULT 0,
    completed_at TEXT,
    indexed INTEGER NOT NULL DEFAULT 0,
    search_rowid INTEGER NOT NULL DEFAULT 0,
    search_done INTEGER NOT NULL DEFAULT 0,
    has_fts INTEGER NOT NULL DEFAULT 0,
    UNIQUE (kind, job_id)
);
CREATE INDEX report_by_snapshot ON report (snapshot_id, scope_key);
CREATE TABLE report_page (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    report_id INTEGER NOT NULL REFERENCES report (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    source_url TEXT NOT NULL,
    next_link TEXT,
    item_count INTEGER NOT NULL,
    fetched TEXT NOT NULL,
    raw BLOB NOT NULL,
    UNIQUE (report_id, seq)
);
CREATE INDEX report_page_by_url ON report_page (report_id, source_url);
CREATE TABLE node_count (
    report_id INTEGER NOT NULL REFERENCES report (id) ON DELETE CASCADE,
    entity_type TEXT NOT NULL,
    action TEXT NOT NULL,
    on_prem INTEGER NOT NULL,
    recoverable INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (report_id, entity_type, action, on_prem, recoverable)
) WITHOUT ROWID;
"""

_V2 = """
CREATE TABLE restore_queue (
    report_id INTEGER NOT NULL REFERENCES report (id) ON DELETE CASCADE,
    object_id TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    action TEXT NOT NULL,
    marked_at TEXT NOT NULL,
    PRIMARY KEY (report_id, object_id)
) WITHOUT ROWID;
CREATE TABLE restore_intent (
    id INTEGER PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    snapshot_id TEXT NOT NULL,
    target_state TEXT,
    filtering BLOB,
    scope_key TEXT NOT NULL,
    report_id INTEGER,
    run_id TEXT,
    batch INTEGER,
    batch_count INTEGER,
    label TEXT,
    created TEXT NOT NULL,
    status TEXT NOT NULL,
    job_id TEXT,
    job_set_at TEXT,
    updated TEXT NOT NULL,
    message TEXT
);
CREATE INDEX restore_intent_open ON restore_intent (status, job_id);
"""


_V3_AUDIT = """
CREATE TABLE IF NOT EXISTS audit_record (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    at INTEGER NOT NULL,
    activity TEXT NOT NULL,
    category TEXT NOT NULL,
    correlation_id TEXT NOT NULL,
    actor_key TEXT NOT NULL,
    result TEXT NOT NULL,
    sync INTEGER NOT NULL,
    raw BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_record_at ON audit_record (at);
CREATE INDEX IF NOT EXISTS audit_record_corr ON audit_record (correlation_id, at);
CREATE INDEX IF NOT EXISTS audit_record_actor ON audit_record (actor_key, at);
CREATE TABLE IF NOT EXISTS audit_target (
    target_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    record INTEGER NOT NULL,
    position INTEGER NOT NULL,
    record_id TEXT NOT NULL,
    activity TEXT NOT NULL,
    correlation_id TEXT NOT NULL,
    actor_key TEXT NOT NULL,
    result TEXT NOT NULL,
    sync INTEGER NOT NULL,
    type TEXT NOT NULL,
    display_name TEXT NOT NULL,
    props BLOB,
    peers TEXT NOT NULL,
    blind TEXT,
    PRIMARY KEY (target_id, at, record, position)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS audit_target_blind ON audit_target (blind, at) WHERE blind IS NOT NULL;
CREATE INDEX IF NOT EXISTS audit_target_by_record ON audit_target (record);
CREATE TABLE IF NOT EXISTS audit_actor (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    display_name TEXT NOT NULL,
    via TEXT NOT NULL,
    app_id TEXT NOT NULL,
    service_principal_id TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS audit_pull (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    since INTEGER NOT NULL,
    until INTEGER NOT NULL,
    watermark INTEGER NOT NULL,
    cursor INTEGER NOT NULL,
    span INTEGER NOT NULL,
    started TEXT NOT NULL,
    finished TEXT,
    requests INTEGER NOT NULL DEFAULT 0,
    received INTEGER NOT NULL DEFAULT 0,
    stored INTEGER NOT NULL DEFAULT 0,
    unreadable INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS audit_slice (
    pull_id INTEGER NOT NULL REFERENCES audit_pull (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    since INTEGER NOT NULL,
    until INTEGER NOT NULL,
    first_url TEXT NOT NULL,
    next_url TEXT,
    pages INTEGER NOT NULL DEFAULT 0,
    received INTEGER NOT NULL DEFAULT 0,
    stored INTEGER NOT NULL DEFAULT 0,
    done INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (pull_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS audit_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    covered_from INTEGER,
    covered_until INTEGER,
    watermark INTEGER,
    generation INTEGER NOT NULL DEFAULT 0,
    last_pull TEXT,
    unavailable TEXT
);
CREATE TABLE IF NOT EXISTS audit_join (
    report_id INTEGER PRIMARY KEY REFERENCES report (id) ON DELETE CASCADE,
    generation INTEGER NOT NULL,
    item_count INTEGER NOT NULL,
    since INTEGER NOT NULL,
    joined TEXT NOT NULL,
    changes INTEGER NOT NULL,
    explained INTEGER NOT NULL,
    partly INTEGER NOT NULL,
    sync INTEGER NOT NULL,
    unexplained INTEGER NOT NULL,
    last_record INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS change_actor (
    report_id INTEGER NOT NULL REFERENCES report (id) ON DELETE CASCADE,
    row INTEGER NOT NULL,
    object_id TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    action TEXT NOT NULL,
    name TEXT NOT NULL COLLATE NOCASE,
    actor_key TEXT NOT NULL,
    operation TEXT NOT NULL,
    at INTEGER,
    verdict TEXT NOT NULL,
    reason TEXT,
    cluster_id TEXT NOT NULL,
    PRIMARY KEY (report_id, row)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS change_cluster (
    report_id INTEGER NOT NULL REFERENCES report (id) ON DELETE CASCADE,
    cluster_id TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    action TEXT NOT NULL,
    label TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (report_id, cluster_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS change_cluster_by_size ON change_cluster (report_id, n DESC, cluster_id);
CREATE TABLE IF NOT EXISTS report_actor (
    report_id INTEGER NOT NULL REFERENCES report (id) ON DELETE CASCADE,
    actor_key TEXT NOT NULL,
    n INTEGER NOT NULL,
    operations INTEGER NOT NULL,
    first INTEGER,
    last INTEGER,
    PRIMARY KEY (report_id, actor_key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS report_operation (
    report_id INTEGER NOT NULL REFERENCES report (id) ON DELETE CASCADE,
    actor_key TEXT NOT NULL,
    operation TEXT NOT NULL,
    n INTEGER NOT NULL,
    first INTEGER,
    last INTEGER,
    PRIMARY KEY (report_id, actor_key, operation)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS triage_tag (
    target TEXT NOT NULL,
    key TEXT NOT NULL,
    tag TEXT NOT NULL,
    note TEXT NOT NULL,
    updated TEXT NOT NULL,
    PRIMARY KEY (target, key)
) WITHOUT ROWID;
"""

#: Indexes of ``change_actor``, built after a join's rows are written (faster than while inserting).
CHANGE_ACTOR_INDEXES = (
    "CREATE INDEX IF NOT EXISTS change_actor_by_actor ON change_actor "
    "(report_id, actor_key, operation, name, object_id)",
    "CREATE INDEX IF NOT EXISTS change_actor_by_cluster ON change_actor "
    "(report_id, cluster_id, name, object_id)",
)


def _v1(conn: sqlite3.Connection) -> None:
    set_meta_marker(conn, CACHE_MARKER, CACHE_APPLICATION_ID)
    execute_script(conn, _V1)


def _v2(conn: sqlite3.Connection) -> None:
    execute_script(conn, _V2)


def _v3_audit(conn: sqlite3.Connection) -> None:
    """The directory audit log (records, targets, actors, resumable pulls), its join with each report (who
    made each change, clusters), and triage tags. Idempotent (``IF NOT EXISTS``), so it can run at any
    version number."""
    execute_script(conn, _V3_AUDIT)
    for statement in CHANGE_ACTOR_INDEXES:
        conn.execute(statement)


CACHE_MIGRATIONS = (
    Migration(1, "tenants, snapshots, jobs, reports, pages, node counts", _v1),
    Migration(2, "restore queue and job journal", _v2),
    Migration(3, "directory audit log, its join with reports, triage tags", _v3_audit),
)

CACHE_SPEC = DatabaseSpec(
    label="cache", application_id=CACHE_APPLICATION_ID, marker=CACHE_MARKER, migrations=CACHE_MIGRATIONS
)

#: (recoverable stored in ``node_count``) unknown is -1 because primary-key columns cannot hold NULL.
RECOVERABLE_UNKNOWN = -1


def change_table(report_id: int) -> str:
    return f"chg_{int(report_id)}"


def fts_table(report_id: int) -> str:
    return f"chg_{int(report_id)}_fts"


def trigram_available(conn: sqlite3.Connection) -> bool:
    """Whether this SQLite has FTS5 with the trigram tokenizer (3.34+ built with FTS5)."""
    if sqlite3.sqlite_version_info < (3, 34, 0):
        return False
    try:
        conn.execute("CREATE VIRTUAL TABLE temp.entrabr_probe USING fts5(a, tokenize='trigram')")
        conn.execute("DROP TABLE temp.entrabr_probe")
    except sqlite3.OperationalError:
        return False
    return True


def create_report_tables(conn: sqlite3.Connection, report_id: int, with_fts: bool) -> None:
    table = change_table(report_id)
    conn.execute(
        f"""CREATE TABLE {table} (
            rowid INTEGER PRIMARY KEY,
            object_id TEXT NOT NULL,
            entity_type TEXT NOT NULL,
            action TEXT NOT NULL,
            display_name TEXT NOT NULL COLLATE NOCASE,
            principal_name TEXT,
            on_prem INTEGER NOT NULL,
            recoverable INTEGER,
            failure_message TEXT,
            page_id INTEGER NOT NULL,
            raw_off INTEGER NOT NULL,
            raw_len INTEGER NOT NULL
        )"""
    )
    if with_fts:
        conn.execute(
            f"""CREATE VIRTUAL TABLE {fts_table(report_id)} USING fts5(
                display_name, principal_name, content='{table}', content_rowid='rowid',
                tokenize='trigram', detail=full, columnsize=0)"""
        )


def drop_report_tables(conn: sqlite3.Connection, report_id: int) -> None:
    conn.execute(f"DROP TABLE IF EXISTS {fts_table(report_id)}")
    conn.execute(f"DROP TABLE IF EXISTS {change_table(report_id)}")


def create_report_indexes(conn: sqlite3.Connection, report_id: int, unique_ids: bool) -> None:
    table = change_table(report_id)
    unique = "UNIQUE " if unique_ids else ""
    conn.execute(f"CREATE {unique}INDEX IF NOT EXISTS {table}_id ON {table} (object_id COLLATE NOCASE)")
    conn.execute(
        f"""CREATE INDEX IF NOT EXISTS {table}_node ON {table}
            (entity_type, action, display_name, object_id, principal_name, on_prem, recoverable)"""
    )
