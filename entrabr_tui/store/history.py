"""The session history: every action taken in entrabr, kept indefinitely in its own database (data path).

Entries record when, which tenant, who (UPN or object id of the signed-in identity, never a token), which
snapshot and scope, counts, the outcome and the objects involved (queryable by object id). Token-like text is
redacted before anything is written.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from entrabr_tui.core.model import EntityNameAndIdsFilter, EntityNamesFilter, filter_to_json
from entrabr_tui.store.codec import EPOCH, dumps, loads, time_from_db, time_to_db, utc_now
from entrabr_tui.store.paths import StorePaths
from entrabr_tui.store.redact import redact
from entrabr_tui.store.sqlite_file import (
    DatabaseSpec,
    Migration,
    execute_script,
    open_database,
    set_meta_marker,
    transaction,
)

HISTORY_APPLICATION_ID = 0x45425248  # "EBRH"
HISTORY_MARKER = "entrabr-history"


class HistoryAction(StrEnum):
    """Kinds of actions recorded (stored as text; other values are kept as given)."""

    SIGN_IN = "sign-in"
    SIGN_OUT = "sign-out"
    REPORT_CREATED = "report-created"
    REPORT_REUSED = "report-reused"
    REPORT_DOWNLOADED = "report-downloaded"
    SYNC_STATUS_CHECKED = "sync-status-checked"
    OBJECTS_MARKED = "objects-marked"
    OBJECTS_UNMARKED = "objects-unmarked"
    RESTORE_PLANNED = "restore-planned"
    RESTORE_SUBMITTED = "restore-submitted"
    RESTORE_FINISHED = "restore-finished"
    RESTORE_RECHECKED = "restore-rechecked"
    LOCKOUT_CHECKED = "lockout-checked"
    RESTORE_VERIFIED = "restore-verified"
    PLAN_EXPORTED = "plan-exported"
    PLAN_APPLIED = "plan-applied"
    CANCEL = "cancel"
    EXPORT = "export"
    AUDIT_PULLED = "audit-pulled"
    TRIAGE_TAGGED = "triage-tagged"


_SCHEMA = """
CREATE TABLE entry (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    action TEXT NOT NULL,
    tenant_id TEXT,
    identity TEXT,
    snapshot_id TEXT,
    scope BLOB,
    counts BLOB,
    outcome TEXT,
    detail TEXT,
    job_id TEXT,
    object_count INTEGER NOT NULL DEFAULT 0,
    redacted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX entry_at ON entry (at);
CREATE INDEX entry_action ON entry (action, at);
CREATE INDEX entry_tenant ON entry (tenant_id, at);
CREATE TABLE entry_object (
    object_id TEXT NOT NULL COLLATE NOCASE,
    entry_id INTEGER NOT NULL REFERENCES entry (id),
    PRIMARY KEY (object_id, entry_id)
) WITHOUT ROWID;
CREATE INDEX entry_object_by_entry ON entry_object (entry_id);
"""


def _v1(conn: sqlite3.Connection) -> None:
    set_meta_marker(conn, HISTORY_MARKER, HISTORY_APPLICATION_ID)
    execute_script(conn, _SCHEMA)


HISTORY_SPEC = DatabaseSpec(
    label="session history",
    application_id=HISTORY_APPLICATION_ID,
    marker=HISTORY_MARKER,
    migrations=(Migration(1, "entries and their objects", _v1),),
)


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One recorded action."""

    id: int
    at: datetime
    action: str
    tenant_id: str | None
    identity: str | None
    snapshot_id: str | None
    scope: Any
    counts: dict[str, Any]
    outcome: str | None
    detail: str | None
    job_id: str | None
    object_count: int
    object_ids: tuple[str, ...]
    redacted: bool


_COLUMNS = (
    "id, at, action, tenant_id, identity, snapshot_id, scope, counts, outcome, detail, job_id, object_count, "
    "redacted"
)


def _scope_json(scope: object) -> Any:
    if isinstance(scope, EntityNamesFilter | EntityNameAndIdsFilter):
        return filter_to_json(scope)
    return scope


class History:
    """The session log. Open with :meth:`open`; messages from opening are in :attr:`warnings`."""

    def __init__(self, conn: sqlite3.Connection, path: Path, warnings: list[str]) -> None:
        self._conn = conn
        self.path = path
        self.warnings = warnings

    @classmethod
    def open(
        cls, *, paths: StorePaths | None = None, verify: bool = True, now: datetime | None = None
    ) -> History:
        paths = paths or StorePaths.default()
        opened = open_database(paths.history_db, HISTORY_SPEC, verify=verify, now=now)
        return cls(opened.conn, opened.path, list(opened.warnings))

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def append(
        self,
        action: HistoryAction | str,
        *,
        tenant_id: str | None = None,
        identity: str | None = None,
        snapshot_id: str | None = None,
        scope: object = None,
        counts: Mapping[str, Any] | None = None,
        outcome: str | None = None,
        detail: str | None = None,
        job_id: str | None = None,
        object_ids: Iterable[str] = (),
        at: datetime | None = None,
    ) -> HistoryEntry:
        """Record one action; ``scope`` is a filtering criteria (or its JSON). Token-like text is redacted."""
        fields, redacted = redact(
            {
                "action": str(action),
                "tenant_id": tenant_id,
                "identity": identity,
                "snapshot_id": snapshot_id,
                "scope": _scope_json(scope),
                "counts": dict(counts or {}),
                "outcome": outcome,
                "detail": detail,
                "job_id": job_id,
                "object_ids": list(dict.fromkeys(str(i) for i in object_ids)),
            }
        )
        ids: list[str] = fields["object_ids"]
        with transaction(self._conn):
            cursor = self._conn.execute(
                f"INSERT INTO entry ({_COLUMNS}) VALUES (NULL,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    time_to_db(at or utc_now()),
                    fields["action"],
                    fields["tenant_id"],
                    fields["identity"],
                    fields["snapshot_id"],
                    None if fields["scope"] is None else dumps(fields["scope"]),
                    dumps(fields["counts"]),
                    fields["outcome"],
                    fields["detail"],
                    fields["job_id"],
                    len(ids),
                    int(redacted),
                ),
            )
            entry_id = int(cursor.lastrowid or 0)
            self._conn.executemany(
                "INSERT OR IGNORE INTO entry_object (object_id, entry_id) VALUES (?, ?)",
                [(object_id, entry_id) for object_id in ids],
            )
        entries = self._select("WHERE id = ?", [entry_id], "", True)
        return entries[0]

    def query(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        actions: Sequence[HistoryAction | str] | None = None,
        object_id: str | None = None,
        tenant_id: str | None = None,
        limit: int | None = 500,
        newest_first: bool = True,
        include_object_ids: bool = True,
    ) -> list[HistoryEntry]:
        """Entries with ``since <= at < until``, of the given actions, involving ``object_id``, of a
        tenant."""
        where, args = ["1 = 1"], []
        if since is not None:
            where.append("at >= ?")
            args.append(time_to_db(since))
        if until is not None:
            where.append("at < ?")
            args.append(time_to_db(until))
        if actions:
            where.append(f"action IN ({','.join('?' * len(actions))})")
            args.extend(str(a) for a in actions)
        if object_id is not None:
            where.append("id IN (SELECT entry_id FROM entry_object WHERE object_id = ?)")
            args.append(object_id.strip())
        if tenant_id is not None:
            where.append("tenant_id = ?")
            args.append(tenant_id)
        order = f"ORDER BY at {'DESC' if newest_first else 'ASC'}, id {'DESC' if newest_first else 'ASC'}"
        tail = f"{order} LIMIT {int(limit)}" if limit is not None else order
        return self._select(f"WHERE {' AND '.join(where)}", args, tail, include_object_ids)

    def _select(self, where: str, args: list[Any], tail: str, with_ids: bool) -> list[HistoryEntry]:
        rows = self._conn.execute(f"SELECT {_COLUMNS} FROM entry {where} {tail}", args).fetchall()
        entries = []
        for row in rows:
            ids: tuple[str, ...] = ()
            if with_ids and row[11]:
                ids = tuple(
                    r[0]
                    for r in self._conn.execute(
                        "SELECT object_id FROM entry_object WHERE entry_id = ? ORDER BY object_id", (row[0],)
                    )
                )
            counts = loads(row[7])
            entries.append(
                HistoryEntry(
                    id=row[0],
                    at=time_from_db(row[1]) or EPOCH,
                    action=row[2],
                    tenant_id=row[3],
                    identity=row[4],
                    snapshot_id=row[5],
                    scope=loads(row[6]),
                    counts=counts if isinstance(counts, dict) else {},
                    outcome=row[8],
                    detail=row[9],
                    job_id=row[10],
                    object_count=int(row[11]),
                    object_ids=ids,
                    redacted=bool(row[12]),
                )
            )
        return entries
