"""The directory audit log in the tenant cache: records, their targets and actors, and resumable pulls.

Records are kept once each, by id (a re-read overlap never doubles them), as compact JSON (zlib), with the
columns the queries need: time (microseconds since the epoch), activity, correlation id, actor key and
whether directory synchronization wrote it. Each target of a record is a row of ``audit_target``, stored in
(object id, time) order with everything the join reads (so joining a report never touches the records):
the record's id, activity, correlation id, actor and result, the target's modified properties, the ids of
the record's other targets (the member of a membership change …) and its blind-spot kind
(:mod:`entrabr_tui.core.audit_blindspots`).

A pull reads one time window in slices (each slice is one filtered listing, page after page). Every page is
stored in one transaction together with the slice's next link, like the pages of a difference report: a
pull stopped at any point (even killed) resumes where it stopped, with no gap and no duplicate. When a pull
ends, ``audit_state`` records what the cache covers (the union of the windows pulled, kept contiguous by the
engine), the watermark the next refresh re-reads from, and a generation number that moves with every pull
(joins made before it are stale).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from entrabr_tui.core.audit_blindspots import blind_spot
from entrabr_tui.core.audit_model import (
    Actor,
    RecordFacts,
    TargetEvent,
    record_facts,
    time_to_us,
    us_to_time,
)
from entrabr_tui.store.cache_database import CacheDatabase
from entrabr_tui.store.codec import time_from_db, time_to_db, utc_now
from entrabr_tui.store.join_shapes import mark_ties, record_rows, write_record_rows
from entrabr_tui.store.sqlite_file import in_list_chunks

_COMPRESSION = 1


def _time(value: int | None) -> datetime | None:
    return None if value is None else us_to_time(int(value))


@dataclass(frozen=True, slots=True)
class AuditState:
    """What the cache holds of the audit log.

    ``covered_from``/``covered_until``: the time range read without a gap; ``watermark``: where the next
    refresh starts re-reading (minus its overlap); ``generation`` moves with every finished pull;
    ``unavailable``: why the log cannot be read (the last refusal), ``None`` when it could be.
    """

    covered_from: datetime | None
    covered_until: datetime | None
    watermark: datetime | None
    generation: int
    last_pull: datetime | None
    unavailable: str | None
    records: int


@dataclass(frozen=True, slots=True)
class AuditPullRecord:
    """One pull of a time window: how far it got (``cursor``: start of the next slice), its slice length
    (``span_s``, adapted as it goes) and its counts."""

    id: int
    kind: str
    since: datetime
    until: datetime
    watermark: datetime
    cursor: datetime
    span_s: float
    started: datetime
    finished: datetime | None
    requests: int
    received: int
    stored: int
    unreadable: int

    @property
    def since_us(self) -> int:
        return _us(self.since)

    @property
    def until_us(self) -> int:
        return _us(self.until)

    @property
    def cursor_us(self) -> int:
        return _us(self.cursor)


@dataclass(frozen=True, slots=True)
class AuditSliceRecord:
    """One slice of a pull: its window, first URL and the next page to fetch (``None`` once done)."""

    pull_id: int
    seq: int
    since: datetime
    until: datetime
    first_url: str
    next_url: str | None
    pages: int
    received: int
    stored: int
    done: bool


@dataclass(frozen=True, slots=True)
class StoredPage:
    """The outcome of storing one page: records received, newly stored, unreadable; the slice after it."""

    received: int
    stored: int
    unreadable: int
    slice: AuditSliceRecord


def _us(value: datetime) -> int:
    return time_to_us(value)


_EVENT_COLUMNS = ("t.target_id, t.at, t.record_id, t.activity, t.correlation_id, t.actor_key, t.result, "
                  "t.sync, t.props, t.peers")


def event_of(row: Sequence[Any]) -> tuple[str, TargetEvent]:
    """``(target id, event)`` of a row selected with the event columns."""
    props = orjson.loads(row[8]) if row[8] is not None else ()
    peers = tuple(row[9].split(",")) if row[9] else ()
    return row[0], TargetEvent(row[1], row[2], row[3], row[4], row[5], row[6], bool(row[7]), props, peers)


class AuditStore:
    """The audit log part of a tenant cache (see the module docstring)."""

    def __init__(self, db: CacheDatabase) -> None:
        self._db = db

    # -- state -----------------------------------------------------------------------------------------

    def state(self) -> AuditState:
        """What the cache covers, its generation, and the last refusal."""
        conn = self._db.conn
        row = conn.execute("SELECT covered_from, covered_until, watermark, generation, last_pull, "
                           "unavailable FROM audit_state WHERE id = 1").fetchone()
        count = int(conn.execute("SELECT count(*) FROM audit_record").fetchone()[0])
        if row is None:
            return AuditState(None, None, None, 0, None, None, count)
        return AuditState(_time(row[0]), _time(row[1]), _time(row[2]), int(row[3]), time_from_db(row[4]),
                          row[5], count)

    def _ensure_state(self) -> None:
        self._db.conn.execute("INSERT OR IGNORE INTO audit_state (id, generation) VALUES (1, 0)")

    def set_unavailable(self, message: str | None) -> None:
        """Remember why the log cannot be read (``None``: it could be read again)."""
        with self._db.tx():
            self._ensure_state()
            self._db.conn.execute("UPDATE audit_state SET unavailable = ? WHERE id = 1", (message,))

    # -- pulls -----------------------------------------------------------------------------------------

    def open_pull(self) -> AuditPullRecord | None:
        """The pull that was started and not finished (a stopped run), if any."""
        row = self._db.conn.execute(
            "SELECT id FROM audit_pull WHERE finished IS NULL ORDER BY id DESC LIMIT 1").fetchone()
        return None if row is None else self.pull(int(row[0]))

    def pull(self, pull_id: int) -> AuditPullRecord:
        row = self._db.conn.execute(
            "SELECT id, kind, since, until, watermark, cursor, span, started, finished, requests, received, "
            "stored, unreadable FROM audit_pull WHERE id = ?", (pull_id,)).fetchone()
        if row is None:
            raise KeyError(f"no audit pull {pull_id}")
        return AuditPullRecord(int(row[0]), row[1], us_to_time(row[2]), us_to_time(row[3]),
                               us_to_time(row[4]), us_to_time(row[5]), row[6] / 1e6,
                               time_from_db(row[7]) or utc_now(),
                               time_from_db(row[8]), int(row[9]), int(row[10]), int(row[11]), int(row[12]))

    def begin_pull(self, kind: str, since: datetime, until: datetime, watermark: datetime, span_s: float,
                   *, now: datetime | None = None) -> AuditPullRecord:
        """Start pulling ``[since, until]`` in slices of ``span_s`` seconds (to begin with)."""
        with self._db.tx():
            cursor = self._db.conn.execute(
                "INSERT INTO audit_pull (kind, since, until, watermark, cursor, span, started) "
                "VALUES (?,?,?,?,?,?,?)",
                (kind, _us(since), _us(until), _us(watermark), _us(since), int(span_s * 1e6),
                 time_to_db(now or utc_now())))
            pull_id = int(cursor.lastrowid or 0)
        return self.pull(pull_id)

    def set_span(self, pull_id: int, span_s: float) -> None:
        """The length of the pull's next slices (adapted to how many pages a slice took)."""
        with self._db.tx():
            self._db.conn.execute("UPDATE audit_pull SET span = ? WHERE id = ?", (int(span_s * 1e6), pull_id))

    def current_slice(self, pull_id: int) -> AuditSliceRecord | None:
        """The slice being read (not done), if any."""
        row = self._db.conn.execute(
            "SELECT seq FROM audit_slice WHERE pull_id = ? AND done = 0 ORDER BY seq LIMIT 1",
            (pull_id,)).fetchone()
        return None if row is None else self.slice(pull_id, int(row[0]))

    def slice(self, pull_id: int, seq: int) -> AuditSliceRecord:
        row = self._db.conn.execute(
            "SELECT pull_id, seq, since, until, first_url, next_url, pages, received, stored, done "
            "FROM audit_slice WHERE pull_id = ? AND seq = ?", (pull_id, seq)).fetchone()
        if row is None:
            raise KeyError(f"no slice {seq} of audit pull {pull_id}")
        return AuditSliceRecord(int(row[0]), int(row[1]), us_to_time(row[2]), us_to_time(row[3]), row[4],
                                row[5], int(row[6]), int(row[7]), int(row[8]), bool(row[9]))

    def slice_count(self, pull_id: int) -> int:
        return int(self._db.conn.execute("SELECT count(*) FROM audit_slice WHERE pull_id = ?",
                                         (pull_id,)).fetchone()[0])

    def slices(self, pull_id: int) -> list[AuditSliceRecord]:
        rows = self._db.conn.execute("SELECT seq FROM audit_slice WHERE pull_id = ? ORDER BY seq", (pull_id,))
        return [self.slice(pull_id, int(r[0])) for r in rows.fetchall()]

    def begin_slice(self, pull_id: int, since: datetime, until: datetime, first_url: str) -> AuditSliceRecord:
        """Plan the next slice of a pull, ``[since, until]``, read from ``first_url``."""
        with self._db.tx():
            seq = int(self._db.conn.execute("SELECT coalesce(max(seq), 0) + 1 FROM audit_slice "
                                            "WHERE pull_id = ?", (pull_id,)).fetchone()[0])
            self._db.conn.execute(
                "INSERT INTO audit_slice (pull_id, seq, since, until, first_url, next_url) "
                "VALUES (?,?,?,?,?,?)",
                (pull_id, seq, _us(since), _us(until), first_url, first_url))
        return self.slice(pull_id, seq)

    def ingest_page(self, pull_id: int, seq: int, records: Sequence[Any], next_link: str | None, *,
                    requests: int = 1) -> StoredPage:
        """Store one page of a slice and the link to the next page, in one transaction. A page without a next
        link ends the slice and moves the pull's cursor to the slice's end."""
        facts = [record_facts(raw, orjson.loads) for raw in records]
        unreadable = sum(1 for f in facts if f is None)
        conn = self._db.conn
        with self._db.tx():
            stored = self._insert(zip(facts, records, strict=True))
            conn.execute(
                "UPDATE audit_slice SET next_url = ?, pages = pages + 1, received = received + ?, "
                "stored = stored + ?, done = ? WHERE pull_id = ? AND seq = ?",
                (next_link, len(records), stored, int(next_link is None), pull_id, seq))
            if next_link is None:
                conn.execute("UPDATE audit_pull SET cursor = max(cursor, (SELECT until FROM audit_slice "
                             "WHERE pull_id = ? AND seq = ?)) WHERE id = ?", (pull_id, seq, pull_id))
            conn.execute(
                "UPDATE audit_pull SET requests = requests + ?, received = received + ?, "
                "stored = stored + ?, unreadable = unreadable + ? WHERE id = ?",
                (requests, len(records), stored, unreadable, pull_id))
        return StoredPage(len(records), stored, unreadable, self.slice(pull_id, seq))

    def _insert(self, items: Iterable[tuple[RecordFacts | None, Any]]) -> int:
        conn = self._db.conn
        stored = 0
        targets: list[tuple[Any, ...]] = []
        prop_rows: list[tuple[Any, ...]] = []
        link_rows: list[tuple[Any, ...]] = []
        actors: dict[str, Actor] = {}
        readable = [(facts, orjson.dumps(raw)) for facts, raw in items if facts is not None]
        # the page's records compressed together (ten times smaller than one by one); each row points at
        # its bytes
        page = int(conn.execute("INSERT INTO audit_page (raw) VALUES (?)", (zlib.compress(
            b"".join(data for _, data in readable), _COMPRESSION),)).lastrowid or 0)
        offset = first = record = 0
        for facts, data in readable:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO audit_record (id, at, activity, category, correlation_id, actor_key, "
                "result, sync, raw, page, raw_off, raw_len) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (facts.id, facts.at, facts.activity, facts.category, facts.correlation_id, facts.actor.key,
                 facts.result, int(facts.sync), b"", page, offset, len(data)))
            offset += len(data)
            if cursor.rowcount != 1:
                continue
            stored += 1
            record = int(cursor.lastrowid or 0)
            first = first or record
            found_props, found_links = record_rows(facts, record)
            prop_rows += found_props
            link_rows += found_links
            spot = blind_spot(facts)
            ids = [t.id for t in facts.targets]
            for position, target in enumerate(facts.targets):
                if not target.id:
                    continue
                peers = ",".join(i for i in ids if i and i != target.id)
                props = orjson.dumps(target.props) if target.props else None
                kind = spot[0].value if spot is not None and spot[1] == position else None
                targets.append((target.id, facts.at, record, position, facts.id, facts.activity,
                                facts.correlation_id, facts.actor.key, facts.result, int(facts.sync),
                                target.type, target.display_name or target.user_principal_name, props, peers,
                                kind))
            if facts.actor.key:
                actors[facts.actor.key] = facts.actor
        conn.executemany(
            "INSERT OR IGNORE INTO audit_target (target_id, at, record, position, record_id, activity, "
            "correlation_id, actor_key, result, sync, type, display_name, props, peers, blind) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", targets)
        conn.executemany(
            "INSERT OR REPLACE INTO audit_actor (key, kind, name, display_name, via, app_id, "
            "service_principal_id) VALUES (?,?,?,?,?,?,?)",
            [(a.key, a.kind, a.name, a.display_name, a.via, a.app_id, a.service_principal_id)
             for a in actors.values()])
        write_record_rows(conn, prop_rows, link_rows)
        if stored:
            mark_ties(conn, first, record)
        else:
            conn.execute("DELETE FROM audit_page WHERE id = ?", (page,))
        return stored

    def finish_pull(self, pull_id: int, *, now: datetime | None = None) -> AuditState:
        """Close a pull: the cache now covers its window (joined to what it covered) up to its watermark."""
        pull = self.pull(pull_id)
        conn = self._db.conn
        with self._db.tx():
            self._ensure_state()
            conn.execute("UPDATE audit_pull SET finished = ? WHERE id = ?",
                         (time_to_db(now or utc_now()), pull_id))
            conn.execute(
                "UPDATE audit_state SET covered_from = min(coalesce(covered_from, ?), ?), "
                "covered_until = max(coalesce(covered_until, ?), ?), "
                "watermark = max(coalesce(watermark, ?), ?), "
                "generation = generation + 1, last_pull = ?, unavailable = NULL WHERE id = 1",
                (pull.since_us, pull.since_us, pull.until_us, pull.until_us, _us(pull.watermark),
                 _us(pull.watermark), time_to_db(now or utc_now())))
        return self.state()

    def abandon_pull(self, pull_id: int) -> None:
        """Forget an unfinished pull (its stored records stay; nothing is marked covered)."""
        with self._db.tx():
            self._db.conn.execute("DELETE FROM audit_pull WHERE id = ? AND finished IS NULL", (pull_id,))

    # -- reading ---------------------------------------------------------------------------------------

    def raw_record(self, record_id: str) -> dict[str, Any] | None:
        """A record exactly as the service sent it (the fields selected)."""
        row = self._db.conn.execute("SELECT raw, page, raw_off, raw_len FROM audit_record WHERE id = ?",
                                    (record_id,)).fetchone()
        if row is None:
            return None
        raw, page, offset, length = row
        if page is None:  # stored on its own (before version 7)
            return dict(orjson.loads(zlib.decompress(raw)))
        found = self._db.conn.execute("SELECT raw FROM audit_page WHERE id = ?", (page,)).fetchone()
        return dict(orjson.loads(zlib.decompress(found[0])[offset:offset + length]))

    def ids(self, *, since_us: int | None = None, until_us: int | None = None) -> list[str]:
        """Record ids in time order, optionally of a window (for checks and exports)."""
        where, args = _window("at", since_us, until_us)
        rows = self._db.conn.execute(f"SELECT id FROM audit_record {where} ORDER BY at, id", args).fetchall()
        return [r[0] for r in rows]

    def events(self, object_id: str, *, since_us: int | None = None) -> list[TargetEvent]:
        """The events of one object, oldest first."""
        return self.events_for([object_id], since_us=since_us).get(object_id.lower(), [])

    def events_for(self, object_ids: Iterable[str], *, since_us: int | None = None
                   ) -> dict[str, list[TargetEvent]]:
        """Events by lower-cased object id, oldest first, for many objects (chunked lookups)."""
        wanted = sorted({i.lower() for i in object_ids if i})
        out: dict[str, list[TargetEvent]] = {}
        floor = -(2**62) if since_us is None else since_us
        for chunk, marks in in_list_chunks(wanted):
            rows = self._db.conn.execute(
                f"SELECT {_EVENT_COLUMNS} FROM audit_target t "
                f"WHERE t.target_id IN ({marks}) AND t.at >= ? ORDER BY t.target_id, t.at, t.record_id",
                [*chunk, floor]).fetchall()
            for row in rows:
                target, event = event_of(row)
                out.setdefault(target, []).append(event)
        return out

    def events_of_objects(self, object_ids: Iterable[str], *, since_us: int) -> dict[str, list[TargetEvent]]:
        """Events since ``since_us`` of these objects, by lower-cased object id, by time, record and
        position (the order the join's own sort keeps for records at the same time)."""
        out: dict[str, list[TargetEvent]] = {}
        for chunk, marks in in_list_chunks(sorted({i.lower() for i in object_ids if i})):
            rows = self._db.conn.execute(
                f"SELECT {_EVENT_COLUMNS} FROM audit_target t WHERE t.target_id IN ({marks}) AND t.at >= ? "
                "ORDER BY t.target_id, t.at, t.record, t.position", [*chunk, since_us]).fetchall()
            for row in rows:
                target, event = event_of(row)
                out.setdefault(target, []).append(event)
        return out

    def last_record(self) -> int:
        """The newest stored record's key (records stored later have larger keys)."""
        return int(self._db.conn.execute("SELECT coalesce(max(rowid), 0) FROM audit_record").fetchone()[0])

    def targets_since(self, record: int, *, since_us: int) -> tuple[set[str], bool]:
        """The objects of records stored after ``record`` (dated ``since_us`` or later), and whether any of
        those records is a hard delete."""
        rows = self._db.conn.execute(
            "SELECT target_id, max(blind IS NOT NULL AND blind = 'hardDelete') FROM audit_target "
            "WHERE record > ? AND at >= ? GROUP BY target_id", (record, since_us)).fetchall()
        return {r[0] for r in rows}, any(r[1] for r in rows)

    def hard_deletes(self, *, since_us: int) -> dict[str, TargetEvent]:
        """The last hard delete of each object purged since ``since_us``."""
        rows = self._db.conn.execute(
            f"SELECT {_EVENT_COLUMNS} FROM audit_target t "
            "WHERE t.blind = 'hardDelete' AND t.at >= ? ORDER BY t.at", (since_us,)).fetchall()
        return dict(event_of(row) for row in rows)

    def target_rows(self, *, since_us: int, activity_like: Sequence[str] = (), hard_deletes: bool = False,
                    object_ids: Iterable[str] | None = None) -> list[tuple[Any, ...]]:
        """Per target of the records since ``since_us``, oldest first: ``(target id, type, display name, µs,
        record id, activity, correlation id, actor key, result, blind, modified properties)`` of the hard
        deletes (``hard_deletes``) and of the activities matching a lower-case SQL ``LIKE`` pattern of
        ``activity_like``; with ``object_ids`` instead, every record naming one of those objects."""
        columns = ("t.target_id, t.type, t.display_name, t.at, t.record_id, t.activity, t.correlation_id, "
                   "t.actor_key, t.result, t.blind, t.props")
        rows: list[tuple[Any, ...]] = []
        if object_ids is not None:
            for chunk, marks in in_list_chunks(sorted({i.lower() for i in object_ids if i})):
                rows += self._db.conn.execute(
                    f"SELECT {columns} FROM audit_target t WHERE t.target_id IN ({marks}) AND t.at >= ?",
                    [*chunk, since_us]).fetchall()
        else:
            if hard_deletes:  # the blind-spot index
                rows += self._db.conn.execute(
                    f"SELECT {columns} FROM audit_target t WHERE t.blind = 'hardDelete' AND t.at >= ?",
                    (since_us,)).fetchall()
            if activity_like:  # records by time (indexed), then their targets
                like = " OR ".join("lower(r.activity) LIKE ?" for _ in activity_like)
                rows += self._db.conn.execute(
                    f"SELECT {columns} FROM audit_record r JOIN audit_target t ON t.record = r.rowid "
                    f"WHERE r.at >= ? AND ({like})", [since_us, *activity_like]).fetchall()
        decoded = [(*r[:10], orjson.loads(r[10]) if r[10] is not None else []) for r in rows]
        return sorted(decoded, key=lambda r: (r[3], r[4], r[0]))

    def actors(self, keys: Iterable[str] | None = None) -> dict[str, Actor]:
        """Known initiators by key (all of them when ``keys`` is None)."""
        columns = "key, kind, name, display_name, via, app_id, service_principal_id"
        if keys is None:
            rows = self._db.conn.execute(f"SELECT {columns} FROM audit_actor").fetchall()
        else:
            rows = []
            for chunk, marks in in_list_chunks(sorted(set(keys))):
                rows += self._db.conn.execute(
                    f"SELECT {columns} FROM audit_actor WHERE key IN ({marks})", chunk).fetchall()
        return {r[0]: Actor(*r) for r in rows}

    def operation_activities(self, correlation_ids: Iterable[str]) -> dict[str, dict[str, int]]:
        """Activity names and their counts per correlation id (operations of an actor)."""
        out: dict[str, dict[str, int]] = {}
        for chunk, marks in in_list_chunks(sorted(set(correlation_ids))):
            rows = self._db.conn.execute(
                "SELECT correlation_id, activity, count(*) FROM audit_record "
                f"WHERE correlation_id IN ({marks}) GROUP BY 1, 2 ORDER BY 1, 3 DESC, 2", chunk).fetchall()
            for corr, activity, n in rows:
                out.setdefault(corr, {})[activity] = int(n)
        return out

    def blind_spot_rows(self, *, since_us: int, kinds: Sequence[str] | None = None) -> list[tuple[Any, ...]]:
        """Per (kind, object): ``(kind, object id, type, name, events, first µs, last µs, last record id,
        last activity, last actor key, last correlation id)`` since ``since_us``, most recent first."""
        where = "t.blind IS NOT NULL AND t.at >= ?"
        args: list[Any] = [since_us]
        if kinds:
            where += f" AND t.blind IN ({','.join('?' * len(kinds))})"
            args += list(kinds)
        rows = self._db.conn.execute(
            f"""WITH g AS (SELECT t.blind, t.target_id, count(*) AS n, min(t.at) AS first, max(t.at) AS last
                           FROM audit_target t WHERE {where} GROUP BY t.blind, t.target_id)
                SELECT g.blind, g.target_id, t.type, t.display_name, g.n, g.first, g.last, t.record_id,
                       t.activity, t.actor_key, t.correlation_id
                FROM g JOIN audit_target t
                     ON t.target_id = g.target_id AND t.blind = g.blind AND t.at = g.last
                GROUP BY g.blind, g.target_id
                ORDER BY g.last DESC, g.blind, g.target_id""", args).fetchall()
        return [tuple(r) for r in rows]

    def blind_spot_count(self, *, since_us: int) -> int:
        """Objects with at least one blind-spot event since ``since_us`` (counted per kind)."""
        row = self._db.conn.execute(
            "SELECT count(*) FROM (SELECT 1 FROM audit_target WHERE blind IS NOT NULL AND at >= ? "
            "GROUP BY blind, target_id)", (since_us,)).fetchone()
        return int(row[0])


def _window(column: str, since_us: int | None, until_us: int | None) -> tuple[str, list[Any]]:
    clauses, args = [], []
    if since_us is not None:
        clauses.append(f"{column} >= ?")
        args.append(since_us)
    if until_us is not None:
        clauses.append(f"{column} <= ?")
        args.append(until_us)
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", args
