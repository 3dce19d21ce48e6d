"""Schema of the per-tenant cache database and its forward migrations.

Fixed tables hold tenants, snapshots, jobs, reports (download state), raw pages, per-node counts, the restore
queue, the restore journal, the restore runs (the batches of each restore, so an interrupted one can be
resumed), the sync status lookups, the directory audit log (records indexed by target, actor, correlation id
and time; resumable pulls) with its join to each report (``change_actor``, ``change_cluster``,
``report_actor``, ``report_operation``) and triage tags. Each report gets its own change table
``chg_<report id>`` (and a trigram full-text index ``chg_<report id>_fts`` when SQLite has one): one row per
change object the service sent, in the order it sent them (the rowid is the change's position in the report;
several rows may share an object id), rows appended while downloading, and the lookup indexes built once the
last page is in, which keeps ingest fast. A migration that changes change tables must therefore visit every
``report`` row.

Three-valued columns: ``on_prem`` (change tables and ``node_count``) is the object's sync status, 1 synced
from on-premises, 0 cloud, -1 unknown; ``recoverable`` is 1, 0, or NULL for unknown in change tables and -1
in ``node_count`` (primary-key columns cannot hold NULL). ``sync_status`` records each directory lookup of a
report's users and groups (``synced`` NULL: the directory did not return the object); several rows of one
object share it.
"""

from __future__ import annotations

import sqlite3

from entrabr_tui.store.join_shapes import (
    backfill_record_rows,
    create_cluster_index,
    create_shape_tables,
    drop_shape_tables,
    shape_report,
    shape_table,
)
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


_V3 = """
CREATE TABLE sync_status (
    report_id INTEGER NOT NULL REFERENCES report (id) ON DELETE CASCADE,
    object_id TEXT NOT NULL,
    synced INTEGER,
    looked_up TEXT NOT NULL,
    PRIMARY KEY (report_id, object_id)
) WITHOUT ROWID;
"""

_V4 = """
ALTER TABLE report ADD COLUMN reached_end INTEGER NOT NULL DEFAULT 0;
ALTER TABLE report ADD COLUMN stated_count INTEGER;
ALTER TABLE report ADD COLUMN completeness TEXT NOT NULL DEFAULT 'unfinished';
CREATE TABLE restore_run (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    report_id INTEGER,
    snapshot_id TEXT NOT NULL,
    batch_count INTEGER NOT NULL,
    plan_hash TEXT,
    label TEXT,
    created TEXT NOT NULL,
    status TEXT NOT NULL,
    updated TEXT NOT NULL,
    message TEXT
);
CREATE TABLE restore_run_batch (
    run_id TEXT NOT NULL REFERENCES restore_run (id) ON DELETE CASCADE,
    batch INTEGER NOT NULL,
    filtering BLOB,
    scope_key TEXT NOT NULL,
    object_ids BLOB,
    PRIMARY KEY (run_id, batch)
) WITHOUT ROWID;
CREATE INDEX restore_intent_run ON restore_intent (run_id, batch);
"""


_V5 = """
CREATE TABLE report_profile (
    report_id INTEGER NOT NULL REFERENCES report (id) ON DELETE CASCADE,
    entity_type TEXT NOT NULL,
    action TEXT NOT NULL,
    property TEXT NOT NULL,
    backup TEXT NOT NULL,
    current TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (report_id, entity_type, action, property, backup, current)
) WITHOUT ROWID;
CREATE TABLE report_profile_info (
    report_id INTEGER PRIMARY KEY REFERENCES report (id) ON DELETE CASCADE,
    built TEXT NOT NULL,
    changes INTEGER NOT NULL,
    capped BLOB
);
CREATE TABLE watch_finding (
    id TEXT PRIMARY KEY,
    rule TEXT NOT NULL,
    kind TEXT NOT NULL,
    severity TEXT NOT NULL,
    title TEXT NOT NULL,
    detail BLOB,
    state TEXT NOT NULL,
    seen INTEGER NOT NULL,
    missed INTEGER NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    alert_id TEXT
);
CREATE TABLE watch_alert (
    id TEXT PRIMARY KEY,
    finding_id TEXT NOT NULL,
    rule TEXT NOT NULL,
    kind TEXT NOT NULL,
    severity TEXT NOT NULL,
    title TEXT NOT NULL,
    detail BLOB,
    opened TEXT NOT NULL,
    resolved TEXT,
    updated TEXT NOT NULL
);
CREATE INDEX watch_alert_open ON watch_alert (resolved, opened);
CREATE TABLE watch_run (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    report_job_id TEXT,
    findings INTEGER NOT NULL,
    raised INTEGER NOT NULL,
    resolved INTEGER NOT NULL,
    open INTEGER NOT NULL,
    audit TEXT
);
"""

_V6_AUDIT = """
CREATE TABLE audit_record (
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
CREATE INDEX audit_record_at ON audit_record (at);
CREATE INDEX audit_record_corr ON audit_record (correlation_id, at);
CREATE INDEX audit_record_actor ON audit_record (actor_key, at);
CREATE TABLE audit_target (
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
CREATE INDEX audit_target_blind ON audit_target (blind, at) WHERE blind IS NOT NULL;
CREATE INDEX audit_target_by_record ON audit_target (record);
CREATE TABLE audit_actor (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    display_name TEXT NOT NULL,
    via TEXT NOT NULL,
    app_id TEXT NOT NULL,
    service_principal_id TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE audit_pull (
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
CREATE TABLE audit_slice (
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
CREATE TABLE audit_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    covered_from INTEGER,
    covered_until INTEGER,
    watermark INTEGER,
    generation INTEGER NOT NULL DEFAULT 0,
    last_pull TEXT,
    unavailable TEXT
);
CREATE TABLE audit_join (
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
CREATE TABLE change_actor (
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
CREATE TABLE change_cluster (
    report_id INTEGER NOT NULL REFERENCES report (id) ON DELETE CASCADE,
    cluster_id TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    action TEXT NOT NULL,
    label TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (report_id, cluster_id)
) WITHOUT ROWID;
CREATE INDEX change_cluster_by_size ON change_cluster (report_id, n DESC, cluster_id);
CREATE TABLE report_actor (
    report_id INTEGER NOT NULL REFERENCES report (id) ON DELETE CASCADE,
    actor_key TEXT NOT NULL,
    n INTEGER NOT NULL,
    operations INTEGER NOT NULL,
    first INTEGER,
    last INTEGER,
    PRIMARY KEY (report_id, actor_key)
) WITHOUT ROWID;
CREATE TABLE report_operation (
    report_id INTEGER NOT NULL REFERENCES report (id) ON DELETE CASCADE,
    actor_key TEXT NOT NULL,
    operation TEXT NOT NULL,
    n INTEGER NOT NULL,
    first INTEGER,
    last INTEGER,
    PRIMARY KEY (report_id, actor_key, operation)
) WITHOUT ROWID;
CREATE TABLE triage_tag (
    target TEXT NOT NULL,
    key TEXT NOT NULL,
    tag TEXT NOT NULL,
    note TEXT NOT NULL,
    updated TEXT NOT NULL,
    PRIMARY KEY (target, key)
) WITHOUT ROWID;
"""

_V7_JOIN = """
CREATE TABLE audit_page (
    id INTEGER PRIMARY KEY,
    raw BLOB NOT NULL
);
ALTER TABLE audit_record ADD COLUMN page INTEGER;
ALTER TABLE audit_record ADD COLUMN raw_off INTEGER;
ALTER TABLE audit_record ADD COLUMN raw_len INTEGER;
CREATE TABLE audit_prop (
    target_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    record INTEGER NOT NULL,
    position INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    name TEXT NOT NULL,
    value BLOB,
    tied INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (target_id, at, record, position, seq)
) WITHOUT ROWID;
CREATE TABLE audit_prop_name (
    name TEXT PRIMARY KEY
) WITHOUT ROWID;
CREATE TABLE audit_link (
    target_id TEXT NOT NULL,
    peer TEXT NOT NULL,
    at INTEGER NOT NULL,
    record INTEGER NOT NULL,
    position INTEGER NOT NULL,
    activity TEXT NOT NULL,
    tied INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (target_id, peer, at, record, position)
) WITHOUT ROWID;
"""

#: Indexes of ``change_actor``, built after a join's rows are written (faster than while inserting). The
#: actor index ends with the name, the row and the time: an operation's changes page in name and row order,
#: and the sizes and times of a report's operations are counted from the index alone, without a sort or a
#: lookup per change. (A cluster's changes page through the report's own cluster index, made once when the
#: report is stored: see :func:`~entrabr_tui.store.join_shapes.create_cluster_index`.)
CHANGE_ACTOR_INDEXES = (
    "CREATE INDEX IF NOT EXISTS change_actor_by_actor ON change_actor "
    "(report_id, actor_key, operation, name, row, at)",
)

#: ``action`` of the row of a change object that could not be read (kept raw, never restorable). It cannot
#: be a ``recoveryAction`` the service sends (those are identifiers), so such rows form a group of their own.
UNREADABLE_ACTION = "(unreadable)"
#: ``entity_type`` of an unreadable change object whose ``entityTypeName`` is missing or not text.
UNREADABLE_TYPE = "(unreadable)"

#: ``on_prem`` of a user or group whose sync status is unknown (see the module docstring).
SYNC_UNKNOWN = -1
#: Types whose ``on_prem`` can be unknown (only users and groups are synchronised from on-premises).
SYNCABLE_TYPES = ("user", "group")


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone() \
        is not None


def _v1(conn: sqlite3.Connection) -> None:
    set_meta_marker(conn, CACHE_MARKER, CACHE_APPLICATION_ID)
    execute_script(conn, _V1)


def _v2(conn: sqlite3.Connection) -> None:
    execute_script(conn, _V2)


def _v3(conn: sqlite3.Connection) -> None:
    """The sync-status lookup table, and stored rows re-read under the three-valued definition.

    Before this version ``on_prem`` was 1 only when a change object said ``onPremisesSyncEnabled: true`` and
    0 otherwise, and ``recoverable`` ignored the sync status and accepted actions the service does not
    document. Users and groups stored as 0 are unknown now (no payload entrabr stored said ``false``), a
    synced object is not recoverable, a recoverable user or group of unknown status is unknown, and an
    undocumented action is not recoverable; the counts are rebuilt.
    """
    execute_script(conn, _V3)
    syncable = ", ".join(f"'{t}'" for t in SYNCABLE_TYPES)
    for (report_id,) in conn.execute("SELECT id FROM report").fetchall():
        table = change_table(report_id)
        if _has_table(conn, table):
            conn.execute(f"UPDATE {table} SET recoverable = 0 WHERE on_prem = 1 "
                         "OR action NOT IN ('update', 'restore', 'softDelete')")
            conn.execute(f"""UPDATE {table} SET on_prem = {SYNC_UNKNOWN},
                recoverable = CASE WHEN recoverable = 1 THEN NULL ELSE recoverable END
                WHERE on_prem = 0 AND entity_type IN ({syncable})""")
        recount_nodes(conn, report_id)


def _v5(conn: sqlite3.Connection) -> None:
    """Counts per type, action and property of each report (the watch baseline), and the watch's findings,
    alerts and runs."""
    execute_script(conn, _V5)


def _v4(conn: sqlite3.Connection) -> None:
    """Completeness is proven by count; every change object has a row (unreadable ones too); ids are
    looked up exactly; restore runs.

    Reports stored before were marked complete when a page came without a next link, whatever arrived, and
    had repeated ids and unreadable items removed: they are judged again by the count (a difference report
    whose rows do not add up to the announced total becomes incomplete, so the next download starts over).
    """
    execute_script(conn, _V4)
    conn.execute("UPDATE report SET reached_end = complete")
    conn.execute(
        """UPDATE report SET completeness = CASE
            WHEN NOT complete THEN 'unfinished'
            WHEN kind = 'failed' THEN 'unverified'
            WHEN total_expected IS NULL THEN 'unverified'
            WHEN duplicate_items = 0 AND malformed_items = 0 AND received_items = total_expected
                THEN 'complete'
            WHEN received_items < total_expected THEN 'short'
            ELSE 'over' END"""
    )
    conn.execute(
        "UPDATE report SET complete = (completeness = 'complete' OR (kind = 'failed' AND complete))"
    )
    for (report_id, indexed) in conn.execute("SELECT id, indexed FROM report").fetchall():
        table = change_table(int(report_id))
        if not _has_table(conn, table):
            continue
        if "unreadable" not in {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN unreadable TEXT")
        if indexed:
            conn.execute(f"DROP INDEX IF EXISTS {table}_id")
            conn.execute(f"CREATE INDEX {table}_id ON {table} (object_id)")


def _v6(conn: sqlite3.Connection) -> None:
    """The directory audit log (records, targets, actors, resumable pulls), its join with each report (who
    made each change, clusters), and triage tags."""
    execute_script(conn, _V6_AUDIT)
    for statement in CHANGE_ACTOR_INDEXES:
        conn.execute(statement)


def _v7(conn: sqlite3.Connection) -> None:
    """What the audit join compares, computed once: the modified properties and links of stored audit
    records, and the clusters and equality parts of every stored report (see
    :mod:`entrabr_tui.store.join_shapes`); the records of a page stored from now on compressed together
    (``audit_page``; each record points at its bytes; ``raw`` is empty). Nothing stored before is
    changed."""
    execute_script(conn, _V7_JOIN)
    backfill_record_rows(conn)
    for (report_id,) in conn.execute("SELECT id FROM report ORDER BY id").fetchall():
        if _has_table(conn, change_table(int(report_id))):
            shape_report(conn, int(report_id))


def _v8(conn: sqlite3.Connection) -> None:
    """``change_actor``'s actor index made again with each change's row and time (see
    :data:`CHANGE_ACTOR_INDEXES`); no stored row changes."""
    conn.execute("DROP INDEX IF EXISTS change_actor_by_actor")
    conn.execute(CHANGE_ACTOR_INDEXES[0])


def _v9(conn: sqlite3.Connection) -> None:
    """Clusters page through each report's own index, made once per report: every report's join table gets
    the display names of its changes and, when the report is finalized, the index by cluster and name;
    ``change_actor`` loses its cluster index and its actor index the object id (pages go by name and row).
    No join result changes."""
    conn.execute("DROP INDEX IF EXISTS change_actor_by_cluster")
    made = conn.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'change_actor_by_actor'").fetchone()
    if made is None or "object_id" in str(made[0]):  # not already made by an earlier step of this upgrade
        conn.execute("DROP INDEX IF EXISTS change_actor_by_actor")
        conn.execute(CHANGE_ACTOR_INDEXES[0])
    for (report_id, indexed) in conn.execute("SELECT id, indexed FROM report ORDER BY id").fetchall():
        table = shape_table(int(report_id))
        if not _has_table(conn, table):
            continue
        if "name" not in {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN name TEXT NOT NULL DEFAULT '' COLLATE NOCASE")
            conn.execute(f"UPDATE {table} SET name = (SELECT c.display_name FROM "
                         f"{change_table(int(report_id))} c WHERE c.rowid = {table}.row)")
        if indexed:
            create_cluster_index(conn, int(report_id))


CACHE_MIGRATIONS = (
    Migration(1, "tenants, snapshots, jobs, reports, pages, node counts", _v1),
    Migration(2, "restore queue and job journal", _v2),
    Migration(3, "sync status of users and groups; three-valued recoverable", _v3),
    Migration(4, "proven completeness, unreadable changes kept, exact ids, restore runs", _v4),
    Migration(5, "report profiles; watch findings, alerts and runs", _v5),
    Migration(6, "directory audit log, its join with reports, triage tags", _v6),
    Migration(7, "audit join keys: record properties and links, report clusters and parts", _v7),
    Migration(8, "audit join actor index with each change's row and time", _v8),
    Migration(9, "cluster index per report; audit join actor index by name and row", _v9),
)

CACHE_SPEC = DatabaseSpec(
    label="cache", application_id=CACHE_APPLICATION_ID, marker=CACHE_MARKER, migrations=CACHE_MIGRATIONS
)

#: (recoverable stored in ``node_count``) unknown is -1 because primary-key columns cannot hold NULL.
RECOVERABLE_UNKNOWN = -1


def change_table(report_id: int) -> str:
    return f"chg_{int(report_id)}"


def recount_nodes(conn: sqlite3.Connection, report_id: int) -> None:
    """Rebuild the per-node counts of a report from its change table (none when it has no table)."""
    conn.execute("DELETE FROM node_count WHERE report_id = ?", (report_id,))
    table = change_table(report_id)
    if not _has_table(conn, table):
        return
    conn.execute(
        f"""INSERT INTO node_count (report_id, entity_type, action, on_prem, recoverable, n)
        SELECT ?, entity_type, action, on_prem, coalesce(recoverable, {RECOVERABLE_UNKNOWN}), count(*)
        FROM {table} GROUP BY 2, 3, 4, 5""",
        (report_id,),
    )


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
            raw_len INTEGER NOT NULL,
            unreadable TEXT
        )"""
    )
    create_shape_tables(conn, report_id)
    if with_fts:
        conn.execute(
            f"""CREATE VIRTUAL TABLE {fts_table(report_id)} USING fts5(
                display_name, principal_name, content='{table}', content_rowid='rowid',
                tokenize='trigram', detail=full, columnsize=0)"""
        )


def drop_report_tables(conn: sqlite3.Connection, report_id: int) -> None:
    drop_shape_tables(conn, report_id)
    conn.execute(f"DROP TABLE IF EXISTS {fts_table(report_id)}")
    conn.execute(f"DROP TABLE IF EXISTS {change_table(report_id)}")


def create_report_indexes(conn: sqlite3.Connection, report_id: int) -> None:
    """Lookup indexes of a report's change table: by object id (exact; several rows may share one) and by
    tree node order."""
    table = change_table(report_id)
    conn.execute(f"CREATE INDEX IF NOT EXISTS {table}_id ON {table} (object_id)")
    conn.execute(
        f"""CREATE INDEX IF NOT EXISTS {table}_node ON {table}
            (entity_type, action, display_name, object_id, principal_name, on_prem, recoverable)"""
    )
    create_cluster_index(conn, report_id)
