"""The tenant's directory audit log: journalled changes narrated into records, background noise, and the
rules that decide what a reader sees (retention, ingestion latency, log gaps) and in which order.

Narration is lazy: batches are turned into records on the first read after they close, so building a large
tenant costs little more than journalling its changes. Records are kept sorted by (activityDateTime,
record); background records are computed, never stored.
"""

from __future__ import annotations

import bisect
import heapq
import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import datetime
from functools import lru_cache
from typing import Any

from entrabr_tui.emulator.audit_actors import Cast, Identity
from entrabr_tui.emulator.audit_background import Background
from entrabr_tui.emulator.audit_events import TICKS, AuditEvent, event_json, iso_ticks
from entrabr_tui.emulator.audit_journal import DRIFT, INCIDENT, RECOVERY, Journal
from entrabr_tui.emulator.audit_query import AuditQuery, FilterPlan, parse_filter
from entrabr_tui.emulator.audit_scenes import after_drift, after_incident, legit_budget, legit_incident_edits
from entrabr_tui.emulator.audit_timeline import Narrator, RecoveryOrigin
from entrabr_tui.emulator.bulk import bulk
from entrabr_tui.emulator.history import History
from entrabr_tui.emulator.layout import Layout, mix

DAY = 86_400
BACKGROUND_DAYS = 30             # the longest retention (P1/P2): background records span it
_GAP_SALT = 0x6A9
_LATENCY_SALT = 0x1A7E


@dataclass
class AuditSettings:
    """Knobs of the audit log (control plane keys are these names prefixed with ``audit_``)."""

    retention_days: int = 30
    latency_s: tuple[int, int] = (120, 300)     # each record becomes visible this long after it happened
    page_size: int = 100
    gap_fraction: float = 0.02                  # changes with no record at all
    throttle_window_s: float = 10.0             # 5 requests per window per app and tenant; 0 = off
    throttle_no_retry_after: float = 0.25       # throttled responses sent without Retry-After
    recovery_activity: str | None = None        # one activity name for every recovery record
    events: int = 0                             # synthetic background records over the last 30 days

    def as_config(self) -> dict[str, Any]:
        """The control plane's view."""
        return {f"audit_{f.name}": (list(v) if isinstance(v := getattr(self, f.name), tuple) else v)
                for f in fields(self)}

    @staticmethod
    def keys() -> frozenset[str]:
        """Control plane keys."""
        return frozenset(f"audit_{f.name}" for f in fields(AuditSettings))

    def update(self, body: dict[str, Any]) -> None:
        """Apply control-plane keys (all validated before any is applied); ValueError names the bad one."""
        staged: dict[str, Any] = {}
        for key, value in body.items():
            if key not in self.keys():
                raise ValueError(f"unknown config key: {key}")
            name = key[len("audit_"):]
            staged[name] = _validated(key, name, value)
        for name, value in staged.items():
            setattr(self, name, value)


def _number(key: str, value: Any, low: float, high: float, *, integer: bool) -> Any:
    ok = isinstance(value, int) if integer else isinstance(value, int | float)
    if isinstance(value, bool) or not ok or not math.isfinite(value) or not low <= value <= high:
        kind = "an integer" if integer else "a number"
        raise ValueError(f"'{key}' must be {kind} in {low:g}..{high:g}")
    return value


def _validated(key: str, name: str, value: Any) -> Any:
    if name == "retention_days":
        return _number(key, value, 1, 3650, integer=True)
    if name == "latency_s":
        pair = value if isinstance(value, list) else [value, value]
        if len(pair) != 2:
            raise ValueError(f"'{key}' must be a number of seconds or [min, max]")
        lo, hi = (_number(key, v, 0, 86_400, integer=True) for v in pair)
        if lo > hi:
            raise ValueError(f"'{key}': min must not exceed max")
        return (lo, hi)
    if name == "page_size":
        return _number(key, value, 1, 1000, integer=True)
    if name in {"gap_fraction", "throttle_no_retry_after"}:
        return float(_number(key, value, 0, 1, integer=False))
    if name == "throttle_window_s":
        return float(_number(key, value, 0, 86_400, integer=False))
    if name == "recovery_activity":
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ValueError(f"'{key}' must be a non-empty string or null")
        return value
    return _number(key, value, 0, 50_000_000, integer=True)


class AuditLog:
    """The directory audit log of one emulated tenant (see the module docstring)."""

    def __init__(self, layout: Layout, *, background_events: int = 0) -> None:
        self.layout = layout
        self.settings = AuditSettings(events=background_events)
        self.cast = Cast(layout)
        self.journal = Journal()
        self.events: list[AuditEvent] = []
        self._keys: list[tuple[int, int]] = []
        self._by_corr: dict[int, list[AuditEvent]] = {}
        self._by_target: dict[str, list[AuditEvent]] = {}
        self._hist: History | None = None
        self._upn: Callable[[int], str | None] = self._lookup_upn
        self._narrator: Narrator | None = None
        self._end = 0
        self._background: Background | None = None
        self._lock = threading.RLock()      # readers run in worker threads, the directory in another

    # ---- building -----------------------------------------------------------------------------------------
    def begin(self, hist: History, now: datetime) -> None:
        """Start the log of a freshly built history (drops every record)."""
        with self._lock:
            self._begin(hist, now)

    def _begin(self, hist: History, now: datetime) -> None:
        self.journal.reset()
        self.events.clear()
        self._keys.clear()
        self._by_corr.clear()
        self._by_target.clear()
        self._hist = hist
        self._narrator = Narrator(hist, self.cast)
        self._background = None
        self._upn = lru_cache(maxsize=200_000)(self._lookup_upn)   # UPNs never change once created
        self._end = int(now.timestamp()) * TICKS
        self.cast.reserve(hist)
        hist.journal = self.journal

    @property
    def hist(self) -> History:
        """The history the log narrates."""
        assert self._hist is not None, "AuditLog.begin() was not called"
        return self._hist

    @contextmanager
    def drift(self, day: int, start: datetime, end: datetime) -> Iterator[None]:
        """A day of drift (the cast's follow-ups are added before the batch closes)."""
        with self.journal.open(DRIFT, day, start.timestamp(), end.timestamp()) as batch:
            yield
            after_drift(self.hist, self.journal, self.cast, batch, day)

    @contextmanager
    def incident(self, start: datetime, end: datetime, budget: int) -> Iterator[int]:
        """The incident: the legitimate admins' edits come first; yields the script's remaining budget (with
        no budget there is no incident, and the compromised admin makes no extra moves either)."""
        hist = self.hist
        with self.journal.open(INCIDENT, 0, start.timestamp(), end.timestamp()) as batch:
            count = legit_budget(budget)
            touched = legit_incident_edits(hist, self.journal, self.cast, count, end.timestamp())
            hist.reserved.update(touched)
            try:
                yield budget - len(touched)
            finally:
                hist.reserved.difference_update(touched)
            if budget <= 0:
                return
            after_incident(hist, self.journal, self.cast, batch)

    @contextmanager
    def recovery(self, origin: RecoveryOrigin | None) -> Iterator[RecoveryOrigin | None]:
        """A recovery's writes (one with no origin, from tests of the directory alone, is not logged)."""
        if origin is None:
            yield None
            return
        with self.journal.open(RECOVERY, 0, origin.when.timestamp(), origin.when.timestamp(), origin):
            yield origin

    def job_created(self, job_id: str, kind: str, target: datetime, initiator: Identity,
                    when: datetime) -> None:
        """Record the creation of a difference report or recovery job."""
        stamp = iso_ticks(int(target.timestamp()) * TICKS)[:19] + "Z"
        with self._lock:
            self._sync()
            assert self._narrator is not None
            self._insert([self._narrator.job_created(job_id, kind, stamp, initiator, when)])

    # ---- narration ----------------------------------------------------------------------------------------
    def _sync(self) -> None:
        if self._narrator is None:
            return
        batches = self.journal.take_closed()
        if not batches:
            return
        fresh: list[AuditEvent] = []
        with bulk():
            for batch in batches:
                fresh += self._narrator.narrate(batch)
            self._insert(fresh)

    def _insert(self, fresh: list[AuditEvent]) -> None:
        if not fresh:
            return
        fresh.sort(key=lambda ev: (ev.ticks, ev.uid))
        if self.events and fresh[0].key < self.events[-1].key:
            self.events = list(heapq.merge(self.events, fresh, key=lambda ev: (ev.ticks, ev.uid)))
        else:
            self.events.extend(fresh)
        self._keys = [ev.key for ev in self.events]
        touched: set[str] = set()
        for ev in fresh:
            self._by_corr.setdefault(ev.corr, []).append(ev)
            for t in ev.targets:
                self._by_target.setdefault(t.id.lower(), []).append(ev)
                touched.add(t.id.lower())
        for key in touched:
            self._by_target[key].sort(key=lambda ev: (ev.ticks, ev.uid))

    def background(self) -> Background | None:
        """The synthetic records: ``events`` of them over the 30 days before the tenant was built (how many of
        them a reader sees depends on the retention)."""
        n = self.settings.events
        if n <= 0:
            return None
        if self._background is None or self._background.n != n:
            self._background = Background(self.layout, self.cast, n, self._end, BACKGROUND_DAYS * DAY * TICKS)
        return self._background

    # ---- visibility ---------------------------------------------------------------------------------------
    def gapped(self, ev: AuditEvent) -> bool:
        """True when the change behind ``ev`` left no record (the log gap)."""
        fraction = self.settings.gap_fraction
        return ev.gappable and fraction > 0 and mix(self.layout.key ^ (ev.op * 0x9E37) ^ _GAP_SALT) < \
            fraction * 2.0 ** 64

    def latency(self, ev: AuditEvent) -> int:
        """Ingestion latency of ``ev`` in ticks."""
        lo, hi = self.settings.latency_s
        if hi == lo:
            return lo * TICKS
        return (lo + mix(ev.uid ^ _LATENCY_SALT) % (hi - lo + 1)) * TICKS

    def _window(self, now: datetime) -> tuple[int, int]:
        now_ticks = int(now.timestamp() * TICKS)
        return now_ticks - self.settings.retention_days * DAY * TICKS, now_ticks

    def visible(self, ev: AuditEvent, now_ticks: int) -> bool:
        """Whether a reader at ``now_ticks`` sees ``ev``: ingested and not in a gap (retention is apart)."""
        return ev.ticks + self.latency(ev) <= now_ticks and not self.gapped(ev)

    # ---- reading ------------------------------------------------------------------------------------------
    def _real(self, plan: FilterPlan, lo: int, hi: int, desc: bool,
              cursor: tuple[int, int] | None) -> Iterator[tuple[int, int, Any]]:
        if plan.corr is not None:
            pool = sorted(self._by_corr.get(plan.corr, ()), key=lambda ev: ev.key)
        elif plan.target_id is not None:
            pool = self._by_target.get(plan.target_id.lower(), [])
        else:
            pool = self.events
        keys = self._keys if pool is self.events else [ev.key for ev in pool]
        start = bisect.bisect_left(keys, (lo, -1))
        stop = bisect.bisect_right(keys, (hi, 1 << 62))
        if cursor is not None:
            if desc:
                stop = min(stop, bisect.bisect_left(keys, cursor))
            else:
                start = max(start, bisect.bisect_right(keys, cursor))
        rng = range(stop - 1, start - 1, -1) if desc else range(start, stop)
        for i in rng:
            ev = pool[i]
            yield ev.ticks, ev.uid, ev

    def _synthetic(self, plan: FilterPlan, lo: int, hi: int, desc: bool,
                   cursor: tuple[int, int] | None) -> Iterator[tuple[int, int, Any]]:
        bg = self.background()
        if bg is None:
            return
        k_lo = bg.first_at_or_after(lo)
        k_hi = bg.first_at_or_after(hi + 1)
        if cursor is not None:
            if desc:
                k_hi = min(k_hi, bg.first_key_after(cursor, inclusive=True))
            else:
                k_lo = max(k_lo, bg.first_key_after(cursor, inclusive=False))
        ks: Any
        if plan.corr is not None:
            k = bg.k_of_corr(plan.corr)
            ks = [k] if k is not None and k_lo <= k < k_hi else []
        elif plan.target_id is not None:
            idx = self.layout.index_of(plan.target_id)
            ks = bg.ks_of_user(idx, k_lo, k_hi) if idx is not None else range(0)
        else:
            ks = range(k_lo, k_hi)
        for k in (reversed(ks) if desc else ks):
            yield bg.ticks(k), 2 * k + 1, k

    def page(self, query: AuditQuery, now: datetime) -> tuple[list[AuditEvent], bool]:
        """One page of matching, visible records, and whether more follow."""
        with self._lock:
            return self._page(query, now)

    def _page(self, query: AuditQuery, now: datetime) -> tuple[list[AuditEvent], bool]:
        self._sync()
        plan = query.plan
        if plan.empty:
            return [], False
        lo, now_ticks = self._window(now)
        hi = now_ticks - self.settings.latency_s[0] * TICKS
        if plan.t_lo is not None:
            lo = max(lo, plan.t_lo)
        if plan.t_hi is not None:
            hi = min(hi, plan.t_hi)
        if lo > hi:
            return [], False
        streams = [self._real(plan, lo, hi, query.desc, query.cursor),
                   self._synthetic(plan, lo, hi, query.desc, query.cursor)]
        bg = self.background()
        out: list[AuditEvent] = []
        for _ticks, _uid, item in heapq.merge(*streams, reverse=query.desc):
            ev = item if isinstance(item, AuditEvent) else bg.event(item) if bg is not None else None
            if ev is None or not self.visible(ev, now_ticks):
                continue
            if all(p(ev) for p in plan.preds):
                if len(out) == query.top:
                    return out, True
                out.append(ev)
        return out, False

    def get(self, record_id: str, now: datetime) -> AuditEvent | None:
        """One visible record by id."""
        quoted = record_id.replace("'", "''")
        plan = parse_filter(f"id eq '{quoted}'")
        found, _ = self.page(AuditQuery(plan, False, 1, None, None, (), ""), now)
        return found[0] if found else None

    def render(self, ev: AuditEvent, *, beta: bool, select: tuple[str, ...] | None = None) -> dict[str, Any]:
        """A record as Graph serves it."""
        return event_json(ev, beta=beta, resolve=self._upn, tenant_id=self.layout.tenant_id, select=select)

    def _lookup_upn(self, idx: int) -> str | None:
        value = self.hist.value(idx, "userPrincipalName")
        return None if value is None else str(value)

    # ---- ground truth -------------------------------------------------------------------------------------
    def truth(self, now: datetime, object_id: str | None = None) -> dict[str, Any]:
        """Per object id, every change made to it: who (actor kind and key), what, when, and whether a
        reader can see a record of it now (``logged``) — background records are left out."""
        with self._lock:
            return self._truth(now, object_id)

    def _truth(self, now: datetime, object_id: str | None) -> dict[str, Any]:
        self._sync()
        lo, now_ticks = self._window(now)
        events = self._by_target.get(object_id.lower(), []) if object_id else self.events
        objects: dict[str, list[dict[str, Any]]] = {}
        for ev in events:
            entry = {"activityDateTime": iso_ticks(ev.ticks), "activity": ev.activity.name,
                     "actor": ev.actor.kind, "actorKey": ev.actor.key, "correlationId": ev.correlation_id,
                     "id": ev.record_id, "operation": ev.op, "result": ev.result,
                     "logged": not self.gapped(ev), "visible": self.visible(ev, now_ticks) and ev.ticks >= lo}
            for t in ev.targets:
                if object_id is None or t.id.lower() == object_id.lower():
                    objects.setdefault(t.id, []).append(entry)
        cast = self.cast.describe()
        rogue = self._narrator.rogue if self._narrator is not None else None
        if rogue is not None:
            cast.append(rogue.describe())
        return {"cast": cast, "objects": objects}

    def counts(self, now: datetime) -> dict[str, Any]:
        """Sizes for the control plane's state."""
        with self._lock:
            self._sync()
            return self._counts(now)

    def _counts(self, now: datetime) -> dict[str, Any]:
        lo, now_ticks = self._window(now)
        gapped = sum(1 for ev in self.events if self.gapped(ev))
        return {"records": len(self.events), "gapped": gapped, "background": self.settings.events,
                "operations": len({ev.op for ev in self.events}),
                "oldest": iso_ticks(self.events[0].ticks) if self.events else None,
                "retentionStart": iso_ticks(lo),
                "now": iso_ticks(now_ticks)}
