"""What ``entrabr watch`` keeps in the tenant's cache: report profiles, findings, alerts and runs.

* ``report_profile`` / ``report_profile_info``: each report's counts per type, action and property (and per
  backup → current value where few), built once and read for every later baseline; they go with their report.
* ``watch_finding``: one row per finding id (stable per rule and subject) with its state between runs
  (pending, open, resolved, dropped), how many runs in a row it was seen in or missed, and its newest
  evidence.
* ``watch_alert``: one row per alert (one finding's open episode; a finding that opens again gets a new alert
  id), kept after it resolves, so the history and ``entrabr status`` find it.
* ``watch_run``: one row per run (when, which report, counts).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from entrabr_tui.core.watch_eval import Finding, FindingState, Profile, ProfileKey, Tracked
from entrabr_tui.store.cache_database import CacheDatabase
from entrabr_tui.store.codec import EPOCH, time_from_db, time_to_db


@dataclass(frozen=True, slots=True)
class StoredFinding:
    """A finding as the cache keeps it between runs."""

    id: str
    rule: str
    kind: str
    severity: str
    title: str
    detail: dict[str, Any]
    tracked: Tracked
    first_seen: datetime
    last_seen: datetime
    alert_id: str | None


@dataclass(frozen=True, slots=True)
class StoredAlert:
    """An alert: one open episode of a finding (``resolved`` set once it ended)."""

    id: str
    finding_id: str
    rule: str
    kind: str
    severity: str
    title: str
    detail: dict[str, Any]
    opened: datetime
    resolved: datetime | None
    updated: datetime

    @property
    def is_open(self) -> bool:
        return self.resolved is None


@dataclass(frozen=True, slots=True)
class WatchRun:
    """One watch run."""

    id: int
    at: datetime
    report_job_id: str | None
    findings: int
    raised: int
    resolved: int
    open: int
    audit: str | None


def _json(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


def _loads(value: bytes | None) -> dict[str, Any]:
    if not value:
        return {}
    doc = orjson.loads(value)
    return doc if isinstance(doc, dict) else {}


_ALERT_COLUMNS = "id, finding_id, rule, kind, severity, title, detail, opened, resolved, updated"


def _alert(row: tuple[Any, ...]) -> StoredAlert:
    return StoredAlert(row[0], row[1], row[2], row[3], row[4], row[5], _loads(row[6]),
                       time_from_db(row[7]) or EPOCH, time_from_db(row[8]), time_from_db(row[9]) or EPOCH)


class ReportProfiles:
    """Report profiles (see the module docstring)."""

    def __init__(self, db: CacheDatabase) -> None:
        self._db = db

    def get(self, report_id: int) -> Profile | None:
        info = self._db.conn.execute(
            "SELECT changes, capped FROM report_profile_info WHERE report_id = ?", (report_id,)).fetchone()
        if info is None:
            return None
        rows = self._db.conn.execute(
            "SELECT entity_type, action, property, backup, current, n FROM report_profile "
            "WHERE report_id = ?",
            (report_id,)).fetchall()
        counts: dict[ProfileKey, int] = {(t, a, p, b, c): int(n) for t, a, p, b, c, n in rows}
        capped = frozenset(tuple(item) for item in orjson.loads(info[1] or b"[]"))
        return Profile(counts, capped, int(info[0]))

    def put(self, report_id: int, profile: Profile, *, now: datetime) -> None:
        with self._db.tx():
            self._db.conn.execute("DELETE FROM report_profile WHERE report_id = ?", (report_id,))
            self._db.conn.executemany(
                "INSERT INTO report_profile (report_id, entity_type, action, property, backup, current, n) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(report_id, *key, n) for key, n in profile.counts.items()])
            self._db.conn.execute(
                "INSERT OR REPLACE INTO report_profile_info (report_id, built, changes, capped) "
                "VALUES (?, ?, ?, ?)",
                (report_id, time_to_db(now), profile.changes, _json(sorted(profile.capped))))

    def profiled(self) -> set[int]:
        return {int(r[0]) for r in self._db.conn.execute("SELECT report_id FROM report_profile_info")}


class WatchStore:
    """Findings, alerts and runs of ``entrabr watch`` (see the module docstring)."""

    def __init__(self, db: CacheDatabase) -> None:
        self._db = db
        self.profiles = ReportProfiles(db)

    # -- findings --------------------------------------------------------------------------------------------
    def findings(self) -> dict[str, StoredFinding]:
        rows = self._db.conn.execute(
            "SELECT id, rule, kind, severity, title, detail, state, seen, missed, first_seen, last_seen, "
            "alert_id FROM watch_finding").fetchall()
        return {r[0]: StoredFinding(r[0], r[1], r[2], r[3], r[4], _loads(r[5]),
                                    Tracked(FindingState(r[6]), int(r[7]), int(r[8])),
                                    time_from_db(r[9]) or EPOCH, time_from_db(r[10]) or EPOCH, r[11])
                for r in rows}

    def save_run(self, *, now: datetime, report_job_id: str | None, seen: Iterable[Finding],
                 states: Mapping[str, Tracked], alert_ids: Mapping[str, str | None], opened: Iterable[str],
                 resolved: Iterable[str], audit: str | None) -> WatchRun:
        """Store one run at once: every finding's new state (``seen`` carries the evidence of the findings
        seen now, ``alert_ids`` the alert each of them belongs to), the alerts ``opened`` (ids; their finding
        is among ``seen``) and ``resolved`` (ids), and the run row."""
        stamp = time_to_db(now)
        seen_by_id = {f.id: f for f in seen}
        new_alerts = set(opened)
        resolved = list(resolved)
        with self._db.tx():
            conn = self._db.conn
            for finding_id, tracked in states.items():
                finding = seen_by_id.get(finding_id)
                if finding is None:
                    conn.execute("UPDATE watch_finding SET state = ?, seen = ?, missed = ? WHERE id = ?",
                                 (tracked.state.value, tracked.seen, tracked.missed, finding_id))
                    continue
                detail = _json(dict(finding.detail))
                alert_id = alert_ids.get(finding_id)
                conn.execute(
                    """INSERT INTO watch_finding (id, rule, kind, severity, title, detail, state, seen,
                           missed, first_seen, last_seen, alert_id)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                       ON CONFLICT (id) DO UPDATE SET rule = excluded.rule, kind = excluded.kind,
                           severity = excluded.severity, title = excluded.title, detail = excluded.detail,
                           state = excluded.state, seen = excluded.seen, missed = excluded.missed,
                           last_seen = excluded.last_seen, alert_id = excluded.alert_id,
                           first_seen = CASE WHEN watch_finding.state IN ('resolved', 'dropped')
                               THEN excluded.first_seen ELSE watch_finding.first_seen END""",
                    (finding.id, finding.rule, finding.kind.value, finding.severity.value, finding.title,
                     detail, tracked.state.value, tracked.seen, tracked.missed, stamp, stamp, alert_id))
                if alert_id is not None and alert_id in new_alerts:
                    conn.execute(
                        f"INSERT INTO watch_alert ({_ALERT_COLUMNS}) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)",
                        (alert_id, finding.id, finding.rule, finding.kind.value, finding.severity.value,
                         finding.title, detail, stamp, stamp))
                elif alert_id is not None:
                    conn.execute("UPDATE watch_alert SET title = ?, detail = ?, severity = ?, updated = ? "
                                 "WHERE id = ? AND resolved IS NULL",
                                 (finding.title, detail, finding.severity.value, stamp, alert_id))
            for alert_id in resolved:
                conn.execute("UPDATE watch_alert SET resolved = ?, updated = ? WHERE id = ?",
                             (stamp, stamp, alert_id))
            open_count = int(conn.execute(
                "SELECT count(*) FROM watch_alert WHERE resolved IS NULL").fetchone()[0])
            cursor = conn.execute(
                "INSERT INTO watch_run (at, report_job_id, findings, raised, resolved, open, audit) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (stamp, report_job_id, len(seen_by_id), len(new_alerts), len(resolved), open_count, audit))
            run_id = int(cursor.lastrowid or 0)
        return WatchRun(run_id, now, report_job_id, len(seen_by_id), len(new_alerts), len(resolved),
                        open_count, audit)

    # -- alerts ----------------------------------------------------------------------------------------------
    def alert(self, alert_id: str) -> StoredAlert | None:
        row = self._db.conn.execute(f"SELECT {_ALERT_COLUMNS} FROM watch_alert WHERE id = ?",
                                    (alert_id,)).fetchone()
        return _alert(row) if row else None

    def alerts(self, *, open_only: bool = False, limit: int | None = None) -> list[StoredAlert]:
        """Alerts, newest first."""
        where = "WHERE resolved IS NULL" if open_only else ""
        rows = self._db.conn.execute(
            f"SELECT {_ALERT_COLUMNS} FROM watch_alert {where} ORDER BY opened DESC, id LIMIT ?",
            (-1 if limit is None else limit,)).fetchall()
        return [_alert(r) for r in rows]

    def open_alert_of(self, finding_id: str) -> StoredAlert | None:
        row = self._db.conn.execute(
            f"SELECT {_ALERT_COLUMNS} FROM watch_alert WHERE finding_id = ? AND resolved IS NULL",
            (finding_id,)).fetchone()
        return _alert(row) if row else None

    # -- runs ------------------------------------------------------------------------------------------------
    def last_run(self) -> WatchRun | None:
        row = self._db.conn.execute(
            "SELECT id, at, report_job_id, findings, raised, resolved, open, audit FROM watch_run "
            "ORDER BY id DESC LIMIT 1").fetchone()
        if row is None:
            return None
        return WatchRun(int(row[0]), time_from_db(row[1]) or EPOCH, row[2], int(row[3]), int(row[4]),
                        int(row[5]), int(row[6]), row[7])
