"""Evaluating the watch rules: one pass over a report, a baseline of earlier reports, findings, and the rule
that turns findings into alerts without flapping.

**Report profile.** :class:`ReportScan` reads every change object of a report once and counts them per
(type, action, property) — the property ``""`` counts the change objects themselves — and, for scalar values
(``true``, ``"enabled"``, short strings), per backup value → current value, at most :data:`TRANSITION_CAP`
distinct pairs per property (beyond that the property is *capped*: only its total is kept). The profile is
stored with the report, so earlier reports make a baseline without being read again.

**Baseline.** :class:`Baseline` holds the profiles of up to N earlier reports; a count's baseline is its
median over them (a report without the key counts 0).

**Findings.** :func:`evaluate` applies the rules to the scan, the baseline and what the audit log says since
the newest backup, and returns :class:`Finding` s, each with a stable :attr:`Finding.id` (the same rule and
subject give the same id, run after run): a critical object is ``object/<type>/<id>`` whichever source saw
it (the report or the audit log), a threshold is its rule, an unusual count its rule and key, hard deletes
one finding.

**No flapping.** :func:`step` moves one finding's state along per watch run: a finding raises an alert only
once it has been seen in ``confirm`` runs one after the other (default 2); a finding seen once and then not
is dropped without an alert; an open alert resolves after ``resolve`` runs in a row without its finding.
"""

from __future__ import annotations

import hashlib
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from .watch_rules import (
    CaScope,
    CriticalRule,
    RuleSet,
    Selector,
    Severity,
    ThresholdRule,
    is_property_key,
    property_name,
    value_key,
)

#: ``backup`` / ``current`` of a profile key that counts every value.
ANY = "*"
#: Distinct backup → current pairs kept per (type, action, property) before only the total is kept.
TRANSITION_CAP = 32
#: Objects named in one finding's evidence (the rest are counted).
EVIDENCE_OBJECTS = 200

#: (type, action, property, backup value, current value); property ``""`` is the change object itself.
ProfileKey = tuple[str, str, str, str, str]


def finding_id(*parts: str) -> str:
    """A stable finding id from its rule and subject: ``f-`` and 16 hex digits."""
    return "f-" + hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _is_mapping(value: Any) -> bool:
    # Parsed JSON is made of plain dicts: test for them first (the ABC check is slow at a million calls).
    return type(value) is dict or isinstance(value, Mapping)


# -- one pass over a report -------------------------------------------------------------------------------

@dataclass(slots=True)
class CriticalHit:
    """A change of a critical object found in the report."""

    entity_type: str
    object_id: str
    name: str
    backup_name: str | None
    action: str
    positions: list[int] = field(default_factory=list)
    properties: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class Profile:
    """A report's counts (see the module docstring); ``capped``: (type, action, property) whose value pairs
    were too many to keep."""

    counts: Mapping[ProfileKey, int]
    capped: frozenset[tuple[str, str, str]] = frozenset()
    changes: int = 0

    def count(self, selector: Selector) -> int | None:
        """How many change objects ``selector`` matches (``None``: the values were not kept, capped)."""
        prop = selector.prop or ""
        wants_values = selector.from_value is not None or selector.to_value is not None
        total = 0
        for (etype, action, key_prop, backup, current), n in self.counts.items():
            if etype != selector.entity_type or key_prop != prop:
                continue
            if selector.action is not None and action != selector.action:
                continue
            if not wants_values:
                if backup == ANY and current == ANY:
                    total += n
                continue
            if (etype, action, prop) in self.capped:
                return None
            if backup == ANY or current == ANY:
                continue
            if selector.from_value is not None and backup != selector.from_value:
                continue
            if selector.to_value is not None and current != selector.to_value:
                continue
            total += n
        return total

    def totals(self) -> dict[tuple[str, str, str], int]:
        """Count per (type, action, property) (property ``""``: the change objects)."""
        return {(t, a, p): n for (t, a, p, b, c), n in self.counts.items() if b == ANY and c == ANY}


class ReportScan:
    """One pass over a report's raw change objects: the profile, the threshold counts (exact, whatever the
    cap), and the changes of critical objects."""

    def __init__(self, rules: RuleSet) -> None:
        self.rules = rules
        self.counts: Counter[ProfileKey] = Counter()
        self._pairs: dict[tuple[str, str, str], set[tuple[str, str]]] = {}
        self.capped: set[tuple[str, str, str]] = set()
        self.threshold_counts: dict[str, int] = {r.name: 0 for r in rules.thresholds}
        self.threshold_objects: dict[str, list[tuple[str, str, int]]] = {r.name: [] for r in rules.thresholds}
        self.critical: dict[tuple[str, str], CriticalHit] = {}
        self.changes = 0
        self.unreadable = 0
        self._critical_types = {r.entity_type for r in rules.critical}
        self._names: dict[str, str | None] = {}  # deltaFromCurrent key → property (None: an annotation)

    def add(self, position: int, item: Any) -> None:
        """Count one change object (as the service sent it) found at ``position`` in the report."""
        if not _is_mapping(item):
            self.unreadable += 1
            return
        etype, action = item.get("entityTypeName"), item.get("recoveryAction")
        delta, current = item.get("deltaFromCurrent"), item.get("currentState")
        if not isinstance(etype, str) or not isinstance(action, str) or not _is_mapping(delta):
            self.unreadable += 1
            return
        current = current if _is_mapping(current) else {}
        self.changes += 1
        counts = self.counts
        counts[(etype, action, "", ANY, ANY)] += 1
        touched: list[str] = []
        names = self._names
        for key, backup in delta.items():
            prop = names.get(key, "")
            if prop == "":
                prop = names[key] = property_name(key) if is_property_key(key) else None
            if prop is None:
                continue
            touched.append(prop)
            counts[(etype, action, prop, ANY, ANY)] += 1
            node = (etype, action, prop)
            if node in self.capped:
                continue
            b, c = value_key(backup), value_key(current.get(key))
            if b is None or c is None:
                continue
            pairs = self._pairs.setdefault(node, set())
            if (b, c) not in pairs and len(pairs) >= TRANSITION_CAP:
                self.capped.add(node)
                continue
            pairs.add((b, c))
            counts[(etype, action, prop, b, c)] += 1
        for rule in self.rules.thresholds:
            if rule.selector.matches(etype, action, delta, current):
                self.threshold_counts[rule.name] += 1
                found = self.threshold_objects[rule.name]
                if len(found) < EVIDENCE_OBJECTS:
                    found.append((str(item.get("id", "")), str(item.get("displayName", "")), position))
        if etype in self._critical_types:
            self._critical(position, etype, action, item, delta, touched)

    def _critical(self, position: int, etype: str, action: str, item: Mapping[str, Any],
                  delta: Mapping[str, Any], touched: list[str]) -> None:
        object_id = item.get("id")
        if not isinstance(object_id, str):
            return
        name = str(item.get("displayName") or "")
        backup_name = delta.get("displayName") if isinstance(delta.get("displayName"), str) else None
        if not self.rules.critical_for(etype, object_id, (name, backup_name or "")):
            return
        hit = self.critical.get((etype, object_id))
        if hit is None:
            hit = self.critical[(etype, object_id)] = CriticalHit(etype, object_id, name, backup_name, action)
        hit.positions.append(position)
        hit.properties.update(touched)

    def profile(self) -> Profile:
        """The counts to store: value pairs of capped properties are left out."""
        counts = {k: n for k, n in self.counts.items()
                  if k[3] == ANY or (k[0], k[1], k[2]) not in self.capped}
        return Profile(counts, frozenset(self.capped), self.changes)


# -- baseline ---------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Baseline:
    """The profiles of earlier reports (newest first)."""

    profiles: tuple[Profile, ...] = ()

    @property
    def reports(self) -> int:
        return len(self.profiles)

    def median(self, selector: Selector) -> float | None:
        """Median count of ``selector`` over the baseline (``None``: no baseline, or values not kept)."""
        counts = [p.count(selector) for p in self.profiles]
        known = [c for c in counts if c is not None]
        if not known:
            return None
        return float(statistics.median(known))

    def medians(self) -> dict[tuple[str, str, str], float]:
        """Median count of every (type, action, property) over the baseline (absent keys count 0)."""
        if not self.profiles:
            return {}
        totals = [p.totals() for p in self.profiles]
        keys = {k for t in totals for k in t}
        return {k: float(statistics.median(t.get(k, 0) for t in totals)) for k in keys}


# -- the audit log -----------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One audit record about one object, as the rules need it."""

    record_id: str
    when: datetime
    activity: str
    object_id: str
    object_type: str  # the report's type name when known (user, conditionalAccessPolicy …), else ""
    object_name: str
    actor: str  # "alice@contoso.com", "HR Onboarding (app)"
    actor_keys: tuple[str, ...] = ()  # every name and id of the actor (for ignore_actors)
    properties: tuple[str, ...] = ()  # the properties the record changed, when it says (else empty)

    def to_json(self) -> dict[str, Any]:
        return {"recordId": self.record_id, "when": self.when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "activity": self.activity, "objectId": self.object_id, "objectType": self.object_type,
                "objectName": self.object_name, "actor": self.actor, "properties": list(self.properties)}


@dataclass(frozen=True, slots=True)
class AuditWindow:
    """What the audit log says since the newest backup (``available`` false: it could not be read and
    ``message`` says why; the audit rules are then skipped, never guessed; an available window's ``message``
    is a note, e.g. that only the cached records were read)."""

    available: bool
    since: datetime | None = None
    until: datetime | None = None
    hard_deletes: tuple[AuditEvent, ...] = ()
    policy_changes: tuple[AuditEvent, ...] = ()
    message: str | None = None


# -- findings ----------------------------------------------------------------------------------------------

class FindingKind(StrEnum):
    CRITICAL_OBJECT = "critical-object"
    THRESHOLD = "threshold"
    UNUSUAL = "unusual"
    HARD_DELETES = "hard-deletes"


@dataclass(frozen=True, slots=True)
class Finding:
    """Something a rule found in this run. ``detail`` is JSON: the report (``reportId``), counts, the
    baseline, the selector, the objects (``objects``: id, type, name, positions in the report) and audit
    ``events``."""

    id: str
    rule: str
    kind: FindingKind
    severity: Severity
    title: str
    detail: Mapping[str, Any]


_TYPE_WORDS = {"conditionalAccessPolicy": "Conditional Access policy",
               "namedLocationPolicy": "named location",
               "authenticationMethodPolicy": "authentication methods policy",
               "authorizationPolicy": "authorization policy", "servicePrincipal": "service principal"}


def type_words(entity_type: str) -> str:
    return _TYPE_WORDS.get(entity_type, entity_type)


def _object_finding(etype: str, object_id: str, name: str, rules: Sequence[CriticalRule], severity: Severity,
                    report: Mapping[str, Any] | None, events: Sequence[AuditEvent]) -> Finding:
    parts: list[str] = []
    if report is not None:
        props = sorted(report["properties"])
        listed = f" ({', '.join(props)})" if props else ""
        parts.append(f"{report['action']}{listed} since the backup")
    if events:
        parts.append(f"{len(events)} audit record(s): {events[-1].activity} by {events[-1].actor}")
    words = type_words(etype)
    title = f"{words[:1].upper()}{words[1:]} '{name or object_id}' changed: " + "; ".join(parts)
    detail: dict[str, Any] = {"objects": [{"id": object_id, "type": etype, "name": name,
                                           "positions": list(report["positions"]) if report else []}],
                              "rules": [r.name for r in rules]}
    if report is not None:
        detail["reportId"] = report["reportId"]
        detail["properties"] = sorted(report["properties"])
        detail["action"] = report["action"]
    if events:
        detail["events"] = [e.to_json() for e in events]
    rule = rules[0].name if rules else "audit: Conditional Access"
    return Finding(finding_id("object", etype, object_id), rule, FindingKind.CRITICAL_OBJECT, severity, title,
                   detail)


def _threshold_finding(rule: ThresholdRule, count: int, median: float | None, report_id: str,
                       objects: Sequence[tuple[str, str, int]]) -> Finding:
    limit = (f"more than {rule.more_than:,}" if rule.more_than is not None
             else f"over {rule.ratio:g}× the baseline ({median:g})")
    title = f"{rule.name}: {count:,} change(s) of {rule.selector.text}, {limit}"
    detail = {"reportId": report_id, "count": count, "baseline": median, "selector": rule.selector.to_json(),
              "objects": [{"id": i, "type": rule.selector.entity_type, "name": n, "positions": [p]}
                          for i, n, p in objects],
              "objectsListed": len(objects)}
    return Finding(finding_id("threshold", rule.name), rule.name, FindingKind.THRESHOLD, rule.severity, title,
                   detail)


def _exceeds(count: int, median: float, ratio: float, min_count: int) -> bool:
    return count >= min_count and count > ratio * max(median, 1.0)


def evaluate(rules: RuleSet, scan: ReportScan | None, report_id: str | None, baseline: Baseline,
             audit: AuditWindow | None) -> list[Finding]:
    """The findings of one watch run (see the module docstring), most severe first."""
    findings: list[Finding] = []
    if scan is not None and report_id is not None:
        findings += _threshold_findings(rules, scan, report_id, baseline)
        findings += _unusual_findings(rules, scan, report_id, baseline)
    findings += _object_findings(rules, scan, report_id, audit)
    if audit is not None and audit.available and rules.audit.hard_deletes:
        deletes = [e for e in audit.hard_deletes if not rules.audit.ignores(*e.actor_keys, e.actor)]
        if len(deletes) > rules.audit.hard_deletes_more_than:
            since = audit.since.strftime("%Y-%m-%d %H:%MZ") if audit.since else "the newest backup"
            title = (f"{len(deletes):,} object(s) hard-deleted since {since} (they cannot be recovered): "
                     + ", ".join(e.object_name or e.object_id for e in deletes[:5])
                     + (" …" if len(deletes) > 5 else ""))
            findings.append(Finding(
                finding_id("audit", "hard-deletes"), "audit: hard deletes", FindingKind.HARD_DELETES,
                rules.audit.severity, title,
                {"count": len(deletes), "since": since,
                 "events": [e.to_json() for e in deletes[:EVIDENCE_OBJECTS]],
                 "objects": [{"id": e.object_id, "type": e.object_type, "name": e.object_name,
                              "positions": []} for e in deletes[:EVIDENCE_OBJECTS]]}))
    findings.sort(key=lambda f: (-f.severity.rank, f.kind.value, f.title))
    return findings


def _threshold_findings(rules: RuleSet, scan: ReportScan, report_id: str, baseline: Baseline
                        ) -> list[Finding]:
    out: list[Finding] = []
    for rule in rules.thresholds:
        count = scan.threshold_counts[rule.name]
        objects = scan.threshold_objects[rule.name]
        if rule.more_than is not None:
            if count > rule.more_than and count >= rule.min_count:
                median = baseline.median(rule.selector)
                out.append(_threshold_finding(rule, count, median, report_id, objects))
            continue
        median = baseline.median(rule.selector)
        assert rule.ratio is not None
        if median is not None and _exceeds(count, median, rule.ratio, rule.min_count):
            out.append(_threshold_finding(rule, count, median, report_id, objects))
    return out


def _unusual_findings(rules: RuleSet, scan: ReportScan, report_id: str, baseline: Baseline) -> list[Finding]:
    if not rules.unusual or not baseline.reports:
        return []
    medians = baseline.medians()
    totals = scan.profile().totals()
    out: list[Finding] = []
    for rule in rules.unusual:
        for (etype, action, prop), count in sorted(totals.items()):
            if (rule.entity_type and etype != rule.entity_type) or (rule.action and action != rule.action):
                continue
            median = medians.get((etype, action, prop), 0.0)
            if not _exceeds(count, median, rule.ratio, rule.min_count):
                continue
            what = f"{etype} {action}" + (f" {prop}" if prop else "")
            out.append(Finding(
                finding_id("unusual", rule.name, etype, action, prop), rule.name, FindingKind.UNUSUAL,
                rule.severity,
                f"{rule.name}: {count:,} change(s) of {what}, over {rule.ratio:g}× the usual {median:g}",
                {"reportId": report_id, "count": count, "baseline": median,
                 "selector": Selector(etype, action, prop or None).to_json(), "objects": []}))
    return out


def _object_findings(rules: RuleSet, scan: ReportScan | None, report_id: str | None,
                     audit: AuditWindow | None) -> list[Finding]:
    by_object: dict[tuple[str, str], dict[str, Any]] = {}
    if scan is not None:
        for (etype, object_id), hit in scan.critical.items():
            applying = [r for r in rules.critical_for(etype, object_id, (hit.name, hit.backup_name or ""))
                        if not r.properties or r.properties & hit.properties]
            if applying:
                by_object[(etype, object_id)] = {
                    "name": hit.name, "rules": applying, "events": [],
                    "report": {"reportId": report_id, "action": hit.action, "properties": hit.properties,
                               "positions": hit.positions}}
    if audit is not None and audit.available and rules.audit.conditional_access is not CaScope.OFF:
        for event in audit.policy_changes:
            if rules.audit.ignores(*event.actor_keys, event.actor):
                continue
            applying = rules.critical_for(event.object_type, event.object_id, (event.object_name,))
            if event.properties:  # a rule limited to some properties takes only records that changed them
                applying = [r for r in applying if not r.properties or r.properties & set(event.properties)]
            if rules.audit.conditional_access is CaScope.CRITICAL and not applying:
                continue
            entry = by_object.setdefault((event.object_type, event.object_id), {
                "name": event.object_name, "rules": applying, "events": [], "report": None})
            entry["events"].append(event)
    out: list[Finding] = []
    for (etype, object_id), entry in by_object.items():
        applying = entry["rules"]
        severity = max((r.severity for r in applying), key=lambda s: s.rank, default=rules.audit.severity)
        out.append(_object_finding(etype, object_id, entry["name"], applying, severity, entry["report"],
                                   entry["events"]))
    return out


# -- findings to alerts ------------------------------------------------------------------------------------

class FindingState(StrEnum):
    PENDING = "pending"  # seen, not yet in enough runs to alert
    OPEN = "open"  # alerting
    RESOLVED = "resolved"  # was open; not seen for enough runs
    DROPPED = "dropped"  # seen, then not seen before it alerted (never alerted)


class Transition(StrEnum):
    RAISED = "raised"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class Tracked:
    """One finding's state between runs: consecutive runs it was ``seen`` in, and ``missed`` while open."""

    state: FindingState
    seen: int = 0
    missed: int = 0


def step(tracked: Tracked | None, seen_now: bool, confirm: int, resolve: int
         ) -> tuple[Tracked | None, Transition | None]:
    """One watch run for one finding: its next state and what happened (see the module docstring)."""
    if seen_now:
        if tracked is None or tracked.state in (FindingState.RESOLVED, FindingState.DROPPED):
            tracked = Tracked(FindingState.PENDING, 0, 0)
        if tracked.state is FindingState.OPEN:
            return replace(tracked, seen=tracked.seen + 1, missed=0), None
        seen = tracked.seen + 1
        if seen >= confirm:
            return Tracked(FindingState.OPEN, seen, 0), Transition.RAISED
        return Tracked(FindingState.PENDING, seen, 0), None
    if tracked is None:
        return None, None
    if tracked.state is FindingState.PENDING:
        return Tracked(FindingState.DROPPED, 0, 0), None
    if tracked.state is FindingState.OPEN:
        missed = tracked.missed + 1
        if missed >= resolve:
            return Tracked(FindingState.RESOLVED, 0, missed), Transition.RESOLVED
        return replace(tracked, missed=missed), None
    return tracked, None


def scan_items(rules: RuleSet, items: Iterable[tuple[int, Any]]) -> ReportScan:
    """A :class:`ReportScan` of ``(position, raw change object)`` pairs."""
    scan = ReportScan(rules)
    for position, item in items:
        scan.add(position, item)
    return scan
