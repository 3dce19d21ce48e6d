"""Query options of ``/auditLogs/directoryAudits``: the documented ``$filter`` subset, ``$top``, ``$orderby``,
``$select`` and an opaque keyset ``$skiptoken`` (audit-log reference §5).

``$filter``: ``activityDateTime`` ``eq``/``ge``/``le`` (unquoted DateTime literals, bare dates too),
``activityDisplayName`` ``eq``/``startswith``, ``category``, ``correlationId``, ``id``, ``result``,
``loggedByService``, ``initiatedBy/user/id``, ``…/user/displayName``, ``…/app/appId``, ``…/app/displayName``
``eq``, ``initiatedBy/user/userPrincipalName`` ``eq``/``startswith``, and
``targetResources/any(t: t/id eq '…')``, ``…/any(t: t/displayName eq '…')``,
``…/any(t: startswith(t/displayName, '…'))``, combined with ``and`` (parentheses allowed). Anything else is a
400 ``BadRequest`` "Invalid filter clause". Text comparisons ignore case.

Paging is by key (activityDateTime, record), so a walk in ascending order neither repeats nor skips records
when new ones arrive while it runs.
"""

from __future__ import annotations

import base64
import calendar
import re
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import quote

from entrabr_tui.emulator.audit_events import BETA_FIELDS, TICKS, V1_FIELDS, AuditEvent, guid_int
from entrabr_tui.emulator.graph_errors import bad_request
from entrabr_tui.emulator.odata import check_allowed, parse_select

MAX_TOP = 1000
INVALID_FILTER = "Invalid filter clause"
ALLOWED_OPTIONS = ("$filter", "$top", "$orderby", "$select", "$skiptoken")

Predicate = Callable[[AuditEvent], bool]
_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<lp>\()|(?P<rp>\))|(?P<comma>,)|(?P<word>[^\s(),']+))")
_DATETIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?"
                       r"(Z|[+-]\d{2}:\d{2})?)?", re.IGNORECASE)


def _invalid() -> Exception:
    return bad_request(INVALID_FILTER)


def _actor_user(get: Callable[[AuditEvent], str | None]) -> Callable[[AuditEvent], str | None]:
    return lambda ev: None if ev.actor.is_app else get(ev)


def _actor_app(get: Callable[[AuditEvent], str | None]) -> Callable[[AuditEvent], str | None]:
    return lambda ev: get(ev) if ev.actor.is_app else None


#: Filterable text properties: lower-cased path -> (operators, getter).
TEXT_FIELDS: dict[str, tuple[frozenset[str], Callable[[AuditEvent], str | None]]] = {
    "activitydisplayname": (frozenset({"eq", "startswith"}), lambda ev: ev.activity.name),
    "category": (frozenset({"eq"}), lambda ev: ev.activity.category),
    "result": (frozenset({"eq"}), lambda ev: ev.result),
    "loggedbyservice": (frozenset({"eq"}), lambda ev: ev.activity.service),
    "initiatedby/user/id": (frozenset({"eq"}), _actor_user(lambda ev: ev.actor.id)),
    "initiatedby/user/userprincipalname": (frozenset({"eq", "startswith"}),
                                           _actor_user(lambda ev: ev.actor.upn)),
    "initiatedby/user/displayname": (frozenset({"eq"}), _actor_user(lambda ev: ev.actor.display_name)),
    "initiatedby/app/appid": (frozenset({"eq"}), _actor_app(lambda ev: ev.app_id())),
    "initiatedby/app/displayname": (frozenset({"eq"}), _actor_app(lambda ev: ev.actor.display_name)),
}


def parse_datetime_ticks(text: str) -> int:
    """An unquoted OData DateTime literal (or a bare date) as ticks since the epoch; 400 otherwise."""
    m = _DATETIME.fullmatch(text)
    if m is None:
        raise _invalid()
    year, month, day, hour, minute, second, frac, zone = m.groups()
    try:
        seconds = calendar.timegm((int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                                   int(second or 0), 0, 0, 0))
    except (ValueError, OverflowError) as exc:
        raise _invalid() from exc
    if not (1 <= int(month) <= 12 and 1 <= int(day) <= 31 and int(hour or 0) < 24 and int(minute or 0) < 60
            and int(second or 0) < 60):
        raise _invalid()
    if zone and zone.upper() != "Z":
        sign = 1 if zone[0] == "+" else -1
        seconds -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return seconds * TICKS + int((frac or "").ljust(7, "0"))


@dataclass(slots=True)
class FilterPlan:
    """A parsed ``$filter``: predicates plus what can narrow the scan (time bounds, ids)."""

    preds: list[Predicate]
    t_lo: int | None = None
    t_hi: int | None = None
    corr: int | None = None
    record_id: str | None = None
    target_id: str | None = None
    empty: bool = False                       # a clause no record can satisfy (a malformed id, say)


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        text = text.rstrip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None or m.end() == pos:
                raise _invalid()
            kind = m.lastgroup or ""
            self.tokens.append((kind, m.group(kind)))
            pos = m.end()
        self.pos = 0
        self.plan = FilterPlan([])

    def _next(self) -> tuple[str, str]:
        if self.pos >= len(self.tokens):
            raise _invalid()
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def _expect(self, kind: str) -> str:
        got, value = self._next()
        if got != kind:
            raise _invalid()
        return value

    def _peek_word(self) -> str | None:
        if self.pos < len(self.tokens) and self.tokens[self.pos][0] == "word":
            return self.tokens[self.pos][1].lower()
        return None

    def parse(self) -> FilterPlan:
        self._expr()
        if self.pos != len(self.tokens):
            raise _invalid()
        return self.plan

    def _expr(self) -> None:
        self._term()
        while self._peek_word() == "and":
            self.pos += 1
            self._term()
        if self.pos < len(self.tokens) and self.tokens[self.pos][0] != "rp":
            raise _invalid()                    # 'or', 'not' or anything else between clauses

    def _term(self) -> None:
        kind, value = self._next()
        if kind == "lp":
            self._expr()
            self._expect("rp")
            return
        if kind != "word":
            raise _invalid()
        low = value.lower()
        if low == "startswith":
            self._expect("lp")
            name = self._expect("word").lower()
            self._expect("comma")
            literal = self._string()
            self._expect("rp")
            self._text_clause(name, "startswith", literal)
            return
        if low == "targetresources/any":
            self._any()
            return
        op = self._expect("word").lower()
        if low == "activitydatetime":
            self._time_clause(op)
        elif low == "correlationid":
            self._correlation(op)
        elif low == "id":
            if op != "eq":
                raise _invalid()
            self._id(self._string())
        else:
            self._text_clause(low, op, self._string())

    def _string(self) -> str:
        kind, value = self._next()
        if kind != "str":
            raise _invalid()
        return value[1:-1].replace("''", "'")

    def _text_clause(self, name: str, op: str, literal: str) -> None:
        spec = TEXT_FIELDS.get(name)
        if spec is None or op not in spec[0]:
            raise _invalid()
        get = spec[1]
        folded = literal.casefold()
        if op == "eq":
            self.plan.preds.append(lambda ev: (get(ev) or "").casefold() == folded)
        else:
            self.plan.preds.append(lambda ev: (get(ev) or "").casefold().startswith(folded))

    def _time_clause(self, op: str) -> None:
        kind, value = self._next()
        if kind != "word" or op not in {"eq", "ge", "le"}:
            raise _invalid()
        ticks = parse_datetime_ticks(value)
        plan = self.plan
        if op in {"eq", "ge"}:
            plan.t_lo = ticks if plan.t_lo is None else max(plan.t_lo, ticks)
        if op in {"eq", "le"}:
            plan.t_hi = ticks if plan.t_hi is None else min(plan.t_hi, ticks)

    def _correlation(self, op: str) -> None:
        kind, value = self._next()
        if op != "eq" or kind not in {"str", "word"}:
            raise _invalid()
        text = value[1:-1] if kind == "str" else value
        corr = guid_int(text)
        if corr is None:
            if kind == "word":
                raise _invalid()
            self.plan.empty = True
            return
        self._narrow_corr(corr)

    def _narrow_corr(self, corr: int) -> None:
        if self.plan.corr is not None and self.plan.corr != corr:
            self.plan.empty = True
        self.plan.corr = corr

    def _id(self, literal: str) -> None:
        if self.plan.record_id is not None and self.plan.record_id != literal:
            self.plan.empty = True
        self.plan.record_id = literal
        parts = literal.split("_")
        corr = guid_int(parts[1]) if len(parts) == 4 else None
        if corr is None:
            self.plan.empty = True
        else:
            self._narrow_corr(corr)

    def _any(self) -> None:
        self._expect("lp")
        word = self._expect("word")
        var, sep, rest = word.partition(":")
        if not sep:                              # "t :t/id" or "t : t/id"
            nxt = self._expect("word")
            if not nxt.startswith(":"):
                raise _invalid()
            rest = nxt[1:]
        if not var or not re.fullmatch(r"[A-Za-z_]\w*", var):
            raise _invalid()
        if not rest:
            kind, rest = self._next()
            if kind != "word":
                raise _invalid()
        if rest.lower() == "startswith":
            self._expect("lp")
            path = self._expect("word")
            self._expect("comma")
            literal = self._string()
            self._expect("rp")
            self._target_clause(var, path, "startswith", literal)
        else:
            op = self._expect("word").lower()
            self._target_clause(var, rest, op, self._string())
        self._expect("rp")

    def _target_clause(self, var: str, path: str, op: str, literal: str) -> None:
        prefix, _, prop = path.partition("/")
        if prefix != var:
            raise _invalid()
        prop = prop.lower()
        folded = literal.casefold()
        if prop == "id" and op == "eq":
            if self.plan.target_id is None:
                self.plan.target_id = literal
            self.plan.preds.append(lambda ev: any(t.id.casefold() == folded for t in ev.targets))
        elif prop == "displayname" and op == "eq":
            self.plan.preds.append(
                lambda ev: any((t.display_name or "").casefold() == folded for t in ev.targets))
        elif prop == "displayname" and op == "startswith":
            self.plan.preds.append(
                lambda ev: any((t.display_name or "").casefold().startswith(folded) for t in ev.targets))
        else:
            raise _invalid()


def parse_filter(text: str | None) -> FilterPlan:
    """Parse ``$filter`` (None: no filter)."""
    if text is None:
        return FilterPlan([])
    if not text.strip():
        raise _invalid()
    plan = _Parser(text).parse()
    if plan.record_id is not None:
        wanted = plan.record_id
        plan.preds.append(lambda ev: ev.record_id == wanted)
    if plan.corr is not None:
        corr = plan.corr
        plan.preds.append(lambda ev: ev.corr == corr)
    return plan


@dataclass(slots=True)
class AuditQuery:
    """One list request: the filter plan, order, page size, ``$select`` and where the page starts."""

    plan: FilterPlan
    desc: bool
    top: int
    select: tuple[str, ...] | None
    cursor: tuple[int, int] | None
    carry: tuple[tuple[str, str], ...]
    signature: str


def _single(params: Mapping[str, list[str]], name: str) -> str | None:
    values = params.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise bad_request(f"Query option '{name}' was specified more than once, but it must be specified at "
                          "most once.")
    return values[0]


def _checksum(signature: str, ticks: int, uid: int) -> int:
    return zlib.crc32(f"{signature}|{ticks}|{uid}".encode()) & 0xFFFFFF


def encode_skiptoken(signature: str, key: tuple[int, int]) -> str:
    """Opaque token for the page after the record with sort key ``key``."""
    ticks, uid = key
    raw = f"{ticks:x}.{uid:x}.{_checksum(signature, ticks, uid):x}".encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_skiptoken(token: str, signature: str) -> tuple[int, int]:
    """The sort key a token continues after; 400 for a token of another query or a mangled one."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
        ticks_s, uid_s, check = raw.split(".")
        ticks, uid = int(ticks_s, 16), int(uid_s, 16)
        if int(check, 16) == _checksum(signature, ticks, uid):
            return ticks, uid
    except (ValueError, UnicodeDecodeError):
        pass
    raise bad_request("The $skiptoken is invalid or does not belong to this query.")


def select_fields(version: str) -> tuple[str, ...]:
    """Properties of ``directoryAudit`` in this API version (beta adds ``userAgent``)."""
    return BETA_FIELDS if version == "beta" else V1_FIELDS


def parse_list(params: Mapping[str, list[str]], version: str, page_size: int) -> AuditQuery:
    """Validate a list request's query options."""
    check_allowed(params, ALLOWED_OPTIONS)
    filter_text = _single(params, "$filter")
    orderby_text = _single(params, "$orderby")
    top_text = _single(params, "$top")
    select_text = _single(params, "$select")
    token = _single(params, "$skiptoken")
    plan = parse_filter(filter_text)
    desc = True
    if orderby_text is not None:
        words = orderby_text.split()
        if not words or len(words) > 2 or words[0].lower() != "activitydatetime" or \
                (len(words) == 2 and words[1].lower() not in {"asc", "desc"}):
            raise bad_request(f"Invalid $orderby '{orderby_text}': only activityDateTime asc|desc is "
                              "supported.")
        desc = len(words) == 2 and words[1].lower() == "desc"
    top = page_size
    if top_text is not None:
        if not re.fullmatch(r"[0-9]{1,9}", top_text.strip()) or not 1 <= int(top_text) <= MAX_TOP:
            raise bad_request(f"Invalid page size specified: '{top_text}'. Must be between 1 and {MAX_TOP} "
                              "inclusive.")
        top = int(top_text)
    select = parse_select(select_text, select_fields(version))
    signature = f"{filter_text or ''}|{'desc' if desc else 'asc'}"
    cursor = decode_skiptoken(token, signature) if token is not None else None
    carry = tuple((name, value) for name, value in (("$filter", filter_text), ("$orderby", orderby_text),
                                                     ("$select", select_text), ("$top", top_text))
                  if value is not None)
    return AuditQuery(plan, desc, top, select, cursor, carry, signature)


def next_link(url: str, query: AuditQuery, last: tuple[int, int]) -> str:
    """Absolute ``@odata.nextLink`` continuing after the record with sort key ``last``."""
    parts = [f"{name}={quote(value, safe=chr(39) + '(),:/')}" for name, value in query.carry]
    parts.append(f"$skiptoken={encode_skiptoken(query.signature, last)}")
    return f"{url}?{'&'.join(parts)}"
