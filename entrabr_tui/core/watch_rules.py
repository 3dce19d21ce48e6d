"""The rules of ``entrabr watch``: what a rules file says, read from TOML and checked.

A rules file (``docs/rules.example.toml`` documents every key) has:

* ``[watch]``: ``confirm`` (runs a finding must be seen in, one after the other, before it raises an alert;
  default 2), ``resolve`` (runs without it before an open alert resolves; default 2), ``baseline_reports``
  (how many earlier reports make the baseline; default 30);
* ``[[critical]]``: objects that must not change unnoticed, of one ``type``, by ``objects`` (ids or display
  names) or ``all = true``; optionally only some ``properties``;
* ``[[threshold]]``: a count of change objects that match a selector (``type``, ``action``, ``property``,
  ``from`` = the backup value, ``to`` = the current value), over ``more_than`` or over ``ratio`` times the
  baseline (and at least ``min_count``);
* ``[[unusual]]``: every (type, action, property) whose count is over ``ratio`` times the baseline and at
  least ``min_count`` (optionally of one ``type`` / ``action``);
* ``[audit]``: the directory audit log since the newest backup: ``hard_deletes`` (alert on hard deletes),
  ``conditional_access`` (``"critical"``: changes to the critical policies and named locations; ``"all"``;
  ``"off"``), ``ignore_actors`` (UPNs, app names or ids whose actions are routine);
* ``[outputs]``: ``webhook`` (a URL) or ``webhook_env`` (the environment variable holding it, so the secret
  stays out of the file), ``teams`` (send a Teams message with an Adaptive Card), ``prometheus`` (a file).

Every rule has a ``name`` (unique; it names the alerts) and a ``severity`` (``critical``, ``warning`` or
``info``). Mistakes are :class:`RulesError` with the rule and key named; unknown keys are errors too (a typo
must not silently switch a rule off).
"""

from __future__ import annotations

import functools
import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

#: Values longer than this are never counted value by value (a name, a JSON object).
SCALAR_CHARS = 64
#: Types whose objects may be critical (the ones the service backs up).
KNOWN_TYPES = ("user", "group", "application", "servicePrincipal", "conditionalAccessPolicy",
               "namedLocationPolicy", "authenticationMethodPolicy", "authorizationPolicy",
               "authenticationStrengthPolicy", "organization", "oAuth2PermissionGrant", "appRoleAssignment")
ACTIONS = ("update", "restore", "softDelete")


class RulesError(ValueError):
    """A rules file that cannot be used; the message names the place."""


class Severity(StrEnum):
    """How urgent an alert is (ordered: ``critical`` is the highest)."""

    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {Severity.CRITICAL: 3, Severity.WARNING: 2, Severity.INFO: 1}[self]


class CaScope(StrEnum):
    """Which Conditional Access changes in the audit log raise findings."""

    CRITICAL = "critical"
    ALL = "all"
    OFF = "off"


def value_key(value: Any) -> str | None:
    """A value as counted in a report profile: canonical JSON of a scalar (``true``, ``"enabled"``, ``3``,
    ``null``); ``None`` for lists, objects and long strings (never counted value by value)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return _string_key(value) if len(value) <= SCALAR_CHARS else None
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return json.dumps(value) if math.isfinite(value) else None
    return None


@functools.lru_cache(maxsize=16384)
def _string_key(value: str) -> str:
    # Reports repeat the same short values (states, departments, titles) many times over.
    return json.dumps(value, ensure_ascii=False)


def property_name(key: str) -> str:
    """The property a ``deltaFromCurrent`` key stands for (``members@delta`` is ``members``)."""
    return key[: -len("@delta")] if key.endswith("@delta") else key


def is_property_key(key: str) -> bool:
    """A key of ``deltaFromCurrent`` that is a property or a link list (not an annotation)."""
    return not key.startswith("@") and ("@" not in key or key.endswith("@delta"))


@dataclass(frozen=True, slots=True)
class Selector:
    """Which change objects a threshold counts: type, and optionally action, property, and the property's
    backup (``from``) and current (``to``) values (scalars only)."""

    entity_type: str
    action: str | None = None
    prop: str | None = None
    from_value: str | None = None  # value_key of the backup value
    to_value: str | None = None  # value_key of the current value

    def matches(self, entity_type: str, action: str, delta: Mapping[str, Any], current: Mapping[str, Any]
                ) -> bool:
        """Whether one change object (raw ``deltaFromCurrent`` / ``currentState``) is counted."""
        if entity_type != self.entity_type or (self.action is not None and action != self.action):
            return False
        if self.prop is None:
            return True
        key = self.prop if self.prop in delta else f"{self.prop}@delta"
        if key not in delta:
            return False
        if self.from_value is not None and value_key(delta.get(key)) != self.from_value:
            return False
        return self.to_value is None or value_key(current.get(key)) == self.to_value

    @property
    def text(self) -> str:
        """``user update accountEnabled true → false``."""
        parts = [self.entity_type, self.action or "any action"]
        if self.prop:
            parts.append(self.prop)
            if self.from_value is not None or self.to_value is not None:
                parts.append(f"{self.from_value or 'any'} → {self.to_value or 'any'}")
        return " ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {"type": self.entity_type, "action": self.action, "property": self.prop,
                "from": None if self.from_value is None else json.loads(self.from_value),
                "to": None if self.to_value is None else json.loads(self.to_value)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Selector:
        def key(name: str) -> str | None:
            return value_key(data[name]) if data.get(name) is not None else None

        return cls(str(data["type"]), data.get("action"), data.get("property"), key("from"), key("to"))


@dataclass(frozen=True, slots=True)
class CriticalRule:
    """Objects that must not change unnoticed (see the module docstring)."""

    name: str
    entity_type: str
    ids: frozenset[str] = frozenset()
    names: frozenset[str] = frozenset()  # casefolded display names
    every: bool = False
    properties: frozenset[str] = frozenset()
    severity: Severity = Severity.CRITICAL

    def covers(self, entity_type: str, object_id: str, names: tuple[str, ...]) -> bool:
        """Whether an object (its id, and its current and backup names) is one of this rule's."""
        if entity_type != self.entity_type:
            return False
        return self.every or object_id in self.ids or any(n.casefold() in self.names for n in names if n)


@dataclass(frozen=True, slots=True)
class ThresholdRule:
    """A count of matching change objects over a fixed number, or over a multiple of the baseline."""

    name: str
    selector: Selector
    more_than: int | None = None
    ratio: float | None = None
    min_count: int = 1
    severity: Severity = Severity.WARNING


@dataclass(frozen=True, slots=True)
class UnusualRule:
    """Every (type, action, property) count over ``ratio`` times the baseline and at least ``min_count``."""

    name: str
    ratio: float
    min_count: int
    entity_type: str | None = None
    action: str | None = None
    severity: Severity = Severity.WARNING


@dataclass(frozen=True, slots=True)
class AuditRules:
    """What to look for in the directory audit log since the newest backup."""

    hard_deletes: bool = True
    hard_deletes_more_than: int = 0
    conditional_access: CaScope = CaScope.CRITICAL
    ignore_actors: frozenset[str] = frozenset()  # casefolded UPNs, app names or ids
    severity: Severity = Severity.CRITICAL

    def ignores(self, *actor: str | None) -> bool:
        """Whether an actor (any of its names and ids) is one whose actions are routine."""
        return any(a and a.casefold() in self.ignore_actors for a in actor)


@dataclass(frozen=True, slots=True)
class Outputs:
    """Where alerts go besides stdout (command-line options override these)."""

    webhook: str | None = None
    webhook_env: str | None = None
    teams: bool = False
    prometheus: str | None = None


@dataclass(frozen=True, slots=True)
class WatchSettings:
    """How findings become alerts, and how big the baseline is."""

    confirm: int = 2
    resolve: int = 2
    baseline_reports: int = 30


@dataclass(frozen=True, slots=True)
class RuleSet:
    """A whole rules file."""

    settings: WatchSettings = field(default_factory=WatchSettings)
    critical: tuple[CriticalRule, ...] = ()
    thresholds: tuple[ThresholdRule, ...] = ()
    unusual: tuple[UnusualRule, ...] = ()
    audit: AuditRules = field(default_factory=AuditRules)
    outputs: Outputs = field(default_factory=Outputs)

    def critical_for(self, entity_type: str, object_id: str, names: tuple[str, ...]) -> list[CriticalRule]:
        return [r for r in self.critical if r.covers(entity_type, object_id, names)]


# -- reading a rules file ---------------------------------------------------------------------------------

_SECTIONS = {"watch", "critical", "threshold", "unusual", "audit", "outputs"}


class _Table:
    """One table of the file, read key by key; what is left unread is an unknown key."""

    def __init__(self, data: object, where: str) -> None:
        if not isinstance(data, Mapping):
            raise RulesError(f"{where} must be a table")
        self.data = dict(data)
        self.where = where

    def take(self, key: str, default: Any = None) -> Any:
        return self.data.pop(key, default)

    def text(self, key: str, *, required: bool = False) -> str | None:
        value = self.take(key)
        if value is None:
            if required:
                raise RulesError(f"{self.where}: '{key}' is required")
            return None
        if not isinstance(value, str) or not value.strip():
            raise RulesError(f"{self.where}: '{key}' must be a non-empty string")
        return value.strip()

    def whole(self, key: str, default: int, low: int = 0) -> int:
        value = self.take(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise RulesError(f"{self.where}: '{key}' must be a whole number of at least {low}")
        return value

    def number(self, key: str) -> float | None:
        value = self.take(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
                or value <= 0:
            raise RulesError(f"{self.where}: '{key}' must be a positive number")
        return float(value)

    def flag(self, key: str, default: bool) -> bool:
        value = self.take(key, default)
        if not isinstance(value, bool):
            raise RulesError(f"{self.where}: '{key}' must be true or false")
        return value

    def strings(self, key: str) -> list[str]:
        value = self.take(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise RulesError(f"{self.where}: '{key}' must be a list of non-empty strings")
        return [v.strip() for v in value]

    def severity(self, default: Severity) -> Severity:
        value = self.take("severity", default.value)
        try:
            return Severity(value)
        except ValueError:
            raise RulesError(f"{self.where}: 'severity' must be one of "
                             f"{', '.join(s.value for s in Severity)}") from None

    def entity_type(self, *, required: bool) -> str | None:
        value = self.text("type", required=required)
        if value is None:
            return None
        known = {t.casefold(): t for t in KNOWN_TYPES}
        if value.casefold() not in known:
            raise RulesError(f"{self.where}: unknown type {value!r} (known: {', '.join(KNOWN_TYPES)})")
        return known[value.casefold()]

    def action(self) -> str | None:
        value = self.text("action")
        if value is not None and value not in ACTIONS:
            raise RulesError(f"{self.where}: 'action' must be one of {', '.join(ACTIONS)}")
        return value

    def done(self) -> None:
        if self.data:
            raise RulesError(f"{self.where}: unknown key(s) {', '.join(sorted(self.data))}")


def _list(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise RulesError(f"'{key}' must be an array of tables ([[{key}]])")
    return value


def _named(table: _Table, seen: set[str]) -> str:
    name = table.text("name", required=True)
    assert name is not None
    if name in seen:
        raise RulesError(f"{table.where}: another rule is named {name!r} (names identify alerts)")
    seen.add(name)
    table.where = f"{table.where} ({name})"
    return name


def _critical(index: int, data: object, seen: set[str]) -> CriticalRule:
    table = _Table(data, f"[[critical]] #{index + 1}")
    name = _named(table, seen)
    entity_type = table.entity_type(required=True)
    assert entity_type is not None
    every = table.flag("all", False)
    objects = table.strings("objects")
    if every == bool(objects):
        raise RulesError(f"{table.where}: give either 'objects' (ids or display names) or all = true")
    ids = frozenset(o for o in objects if _looks_like_id(o))
    names = frozenset(o.casefold() for o in objects)  # an id-looking entry may be a name too
    properties = frozenset(table.strings("properties"))
    rule = CriticalRule(name, entity_type, ids, names, every, properties, table.severity(Severity.CRITICAL))
    table.done()
    return rule


def _looks_like_id(text: str) -> bool:
    return len(text) >= 8 and " " not in text


def _selector(table: _Table) -> Selector:
    entity_type = table.entity_type(required=True)
    assert entity_type is not None
    action = table.action()
    prop = table.text("property")
    values: dict[str, str | None] = {}
    for key in ("from", "to"):
        raw = table.take(key)
        if raw is not None and prop is None:
            raise RulesError(f"{table.where}: '{key}' needs a 'property'")
        key_text = value_key(raw) if raw is not None else None
        if raw is not None and key_text is None:
            raise RulesError(f"{table.where}: '{key}' must be true, false, a number or a short string")
        values[key] = key_text
    return Selector(entity_type, action, prop, values["from"], values["to"])


def _threshold(index: int, data: object, seen: set[str]) -> ThresholdRule:
    table = _Table(data, f"[[threshold]] #{index + 1}")
    name = _named(table, seen)
    selector = _selector(table)
    more_than = table.take("more_than")
    if more_than is not None and (isinstance(more_than, bool) or not isinstance(more_than, int)
                                  or more_than < 0):
        raise RulesError(f"{table.where}: 'more_than' must be a whole number of at least 0")
    ratio = table.number("ratio")
    if (more_than is None) == (ratio is None):
        raise RulesError(f"{table.where}: give either 'more_than' (a count) or 'ratio' (times the baseline)")
    min_count = table.whole("min_count", 1, low=1)
    rule = ThresholdRule(name, selector, more_than, ratio, min_count, table.severity(Severity.WARNING))
    table.done()
    return rule


def _unusual(index: int, data: object, seen: set[str]) -> UnusualRule:
    table = _Table(data, f"[[unusual]] #{index + 1}")
    name = _named(table, seen)
    ratio = table.number("ratio")
    if ratio is None:
        raise RulesError(f"{table.where}: 'ratio' is required (times the baseline)")
    rule = UnusualRule(name, ratio, table.whole("min_count", 50, low=1), table.entity_type(required=False),
                       table.action(), table.severity(Severity.WARNING))
    table.done()
    return rule


def _audit(data: object) -> AuditRules:
    table = _Table(data, "[audit]")
    scope = table.take("conditional_access", CaScope.CRITICAL.value)
    try:
        ca = CaScope(scope)
    except ValueError:
        raise RulesError("[audit]: 'conditional_access' must be \"critical\", \"all\" or \"off\"") from None
    rules = AuditRules(table.flag("hard_deletes", True), table.whole("hard_deletes_more_than", 0), ca,
                       frozenset(a.casefold() for a in table.strings("ignore_actors")),
                       table.severity(Severity.CRITICAL))
    table.done()
    return rules


def _outputs(data: object) -> Outputs:
    table = _Table(data, "[outputs]")
    outputs = Outputs(table.text("webhook"), table.text("webhook_env"), table.flag("teams", False),
                      table.text("prometheus"))
    if outputs.webhook and outputs.webhook_env:
        raise RulesError("[outputs]: give 'webhook' or 'webhook_env', not both")
    for url in (outputs.webhook,):
        if url is not None and not url.startswith(("https://", "http://")):
            raise RulesError("[outputs]: 'webhook' must be an http(s) URL")
    table.done()
    return outputs


def _settings(data: object) -> WatchSettings:
    table = _Table(data, "[watch]")
    settings = WatchSettings(table.whole("confirm", 2, low=1), table.whole("resolve", 2, low=1),
                             table.whole("baseline_reports", 30, low=1))
    table.done()
    return settings


def parse_rules(text: str, source: str = "rules file") -> RuleSet:
    """Read a rules file's text (TOML); :class:`RulesError` says what is wrong and where."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{source}: not valid TOML ({exc})") from None
    unknown = set(data) - _SECTIONS
    if unknown:
        raise RulesError(f"{source}: unknown section(s) {', '.join(sorted(unknown))} "
                         f"(known: {', '.join(sorted(_SECTIONS))})")
    try:
        seen: set[str] = set()
        rules = RuleSet(
            settings=_settings(data.get("watch", {})),
            critical=tuple(_critical(i, d, seen) for i, d in enumerate(_list(data, "critical"))),
            thresholds=tuple(_threshold(i, d, seen) for i, d in enumerate(_list(data, "threshold"))),
            unusual=tuple(_unusual(i, d, seen) for i, d in enumerate(_list(data, "unusual"))),
            audit=_audit(data.get("audit", {})),
            outputs=_outputs(data.get("outputs", {})),
        )
    except RulesError as exc:
        raise RulesError(f"{source}: {exc}") from None
    return rules
