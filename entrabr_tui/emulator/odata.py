"""OData system query options: parsing and validation, filtering, ordering, paging and next links.

Supported: ``$top`` (1-999, default 100), ``$skip``, ``$skiptoken`` (opaque, issued in ``@odata.nextLink``),
``$select``, ``$filter`` (``eq``/``ne``/``startswith`` clauses, and ``in`` lists where a field allows it,
combined with ``and``), ``$orderby`` and ``$count``. Anything else, or a malformed value, is a 400
`GraphError`.
"""

from __future__ import annotations

import base64
import re
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote

from .graph_errors import bad_request

T = TypeVar("T")

DEFAULT_PAGE = 100
MAX_PAGE = 999

KNOWN_OPTIONS = frozenset({
    "$top", "$skip", "$skiptoken", "$select", "$filter", "$orderby", "$count", "$expand", "$search",
    "$format", "$levels", "$apply", "$compute", "$deltatoken",
})
PAGING_OPTIONS = frozenset({"$top", "$skip", "$skiptoken", "$select", "$filter", "$orderby", "$count"})


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """A filterable/orderable property: its kind ("text", "enum", "datetime") and allowed operators."""

    kind: str
    ops: frozenset[str] = frozenset({"eq", "ne"})
    values: frozenset[str] = frozenset()                          # enum members
    aliases: Mapping[str, frozenset[str]] = field(default_factory=dict)   # literal -> true values


@dataclass(frozen=True, slots=True)
class Clause:
    """One ``field op literal`` condition."""

    field: str
    op: str
    value: Any


@dataclass(frozen=True, slots=True)
class QueryOptions:
    """Validated query options of one collection request."""

    top: int = DEFAULT_PAGE
    offset: int = 0
    select: tuple[str, ...] | None = None
    clauses: tuple[Clause, ...] = ()
    orderby: tuple[tuple[str, bool], ...] = ()      # (property, descending)
    count: bool = False
    carry: tuple[tuple[str, str], ...] = ()        # raw options repeated in the next link
    filter_text: str = ""
    orderby_text: str = ""


def _single(params: Mapping[str, list[str]], name: str) -> str | None:
    values = params.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise bad_request(f"Query option '{name}' was specified more than once, but it must be "
                          "specified at most once.")
    return values[0]


def _int_option(name: str, text: str) -> int:
    if not re.fullmatch(r"[0-9]{1,9}", text.strip()):
        raise bad_request(f"Invalid value '{text}' for query option '{name}': expected a non-negative "
                          "integer.")
    return int(text)


def normalise_params(items: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Group query parameters; system options are matched case-insensitively (``$TOP`` = ``$top``)."""
    out: dict[str, list[str]] = {}
    for key, value in items:
        name = key.lower() if key.startswith("$") else key
        out.setdefault(name, []).append(value)
    return out


def check_allowed(params: Mapping[str, list[str]], allowed: Iterable[str]) -> None:
    """400 for system query options the endpoint does not support."""
    allowed_set = set(allowed)
    for name in params:
        if not name.startswith("$"):
            continue
        if name not in KNOWN_OPTIONS:
            raise bad_request(f"Unrecognized query option '{name}'.")
        if name not in allowed_set:
            raise bad_request(f"Query option '{name}' is not supported on this resource.")


def parse_select(text: str | None, allowed: Iterable[str]) -> tuple[str, ...] | None:
    """Validate ``$select``; returns the property names or None when absent."""
    if text is None:
        return None
    allowed_set = set(allowed)
    names = tuple(part.strip() for part in text.split(","))
    for name in names:
        if not name:
            raise bad_request("Invalid $select: empty property name.")
        if name != "*" and name not in allowed_set:
            raise bad_request(f"Could not find a property named '{name}' on this type.")
    return None if "*" in names else names


# ---------------------------------------------------------------------------------------------- $filter
_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<lp>\()|(?P<rp>\))|(?P<comma>,)|(?P<word>[^\s(),']+))")


def _tokenise(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise bad_request(f"Invalid $filter: unexpected text at position {pos}.")
        kind = m.lastgroup or ""
        tokens.append((kind, m.group(kind)))
        pos = m.end()
    return tokens


def parse_datetime(text: str) -> datetime:
    """Parse an OData DateTimeOffset literal (``2026-03-20T22:00:00Z``)."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise bad_request(f"Invalid DateTimeOffset literal '{text}'.") from exc
    if value.tzinfo is None:
        raise bad_request(f"DateTimeOffset literal '{text}' needs a time zone (e.g. 'Z').")
    return value


class _FilterParser:
    def __init__(self, text: str, fields: Mapping[str, FieldSpec]) -> None:
        self.tokens = _tokenise(text)
        self.pos = 0
        self.fields = fields

    def _next(self, what: str) -> tuple[str, str]:
        if self.pos >= len(self.tokens):
            raise bad_request(f"Invalid $filter: expected {what} but the expression ended.")
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def _expect(self, kind: str, what: str) -> str:
        got_kind, text = self._next(what)
        if got_kind != kind:
            raise bad_request(f"Invalid $filter: expected {what}, found '{text}'.")
        return text

    def parse(self) -> tuple[Clause, ...]:
        clauses = self._expr()
        if self.pos != len(self.tokens):
            raise bad_request(f"Invalid $filter: unexpected '{self.tokens[self.pos][1]}'.")
        return tuple(clauses)

    def _expr(self) -> list[Clause]:
        clauses = self._term()
        while self.pos < len(self.tokens) and self.tokens[self.pos][0] == "word":
            word = self.tokens[self.pos][1].lower()
            if word == "or":
                raise bad_request("Invalid $filter: only 'and' can combine clauses here.")
            if word != "and":
                break
            self.pos += 1
            clauses.extend(self._term())
        return clauses

    def _term(self) -> list[Clause]:
        kind, text = self._next("a clause")
        if kind == "lp":
            inner = self._expr()
            self._expect("rp", "')'")
            return inner
        if kind != "word":
            raise bad_request(f"Invalid $filter: unexpected '{text}'.")
        if text.lower() == "startswith":
            self._expect("lp", "'('")
            name = self._expect("word", "a property name")
            self._expect("comma", "','")
            literal = self._literal()
            self._expect("rp", "')'")
            return [self._clause(name, "startswith", literal)]
        op = self._expect("word", "an operator").lower()
        if op == "in":
            return [self._in_clause(text)]
        return [self._clause(text, op, self._literal())]

    def _in_clause(self, name: str) -> Clause:
        """``name in ('a', 'b', …)``: a clause whose value is the tuple of strings."""
        spec = self.fields.get(name)
        if spec is None:
            raise bad_request(f"Invalid $filter: property '{name}' cannot be filtered on.")
        if "in" not in spec.ops:
            raise bad_request(f"Invalid $filter: operator 'in' is not supported on '{name}'.")
        self._expect("lp", "'('")
        values: list[str] = []
        while True:
            kind, raw = self._literal()
            if kind != "str":
                raise bad_request(f"Invalid $filter: '{raw}' must be a quoted string for '{name}'.")
            values.append(raw)
            if self._next("',' or ')'")[0] == "rp":
                return Clause(name, "in", tuple(values))
            kind, raw = self.tokens[self.pos - 1]
            if kind != "comma":
                raise bad_request(f"Invalid $filter: expected ',' or ')', found '{raw}'.")

    def _literal(self) -> tuple[str, str]:
        kind, text = self._next("a value")
        if kind == "str":
            return ("str", text[1:-1].replace("''", "'"))
        if kind == "word":
            return ("word", text)
        raise bad_request(f"Invalid $filter: expected a value, found '{text}'.")

    def _clause(self, name: str, op: str, literal: tuple[str, str]) -> Clause:
        spec = self.fields.get(name)
        if spec is None:
            raise bad_request(f"Invalid $filter: property '{name}' cannot be filtered on.")
        if op not in {"eq", "ne", "startswith", "gt", "ge", "lt", "le", "in", "has"}:
            raise bad_request(f"Invalid $filter: unknown operator '{op}'.")
        if op not in spec.ops:
            raise bad_request(f"Invalid $filter: operator '{op}' is not supported on '{name}'.")
        kind, raw = literal
        if kind == "word" and raw == "null":
            return Clause(name, op, None)
        if spec.kind == "datetime":
            return Clause(name, op, parse_datetime(raw))
        if kind != "str":
            raise bad_request(f"Invalid $filter: '{raw}' must be a quoted string for '{name}'.")
        if spec.kind == "enum" and raw not in spec.values and raw not in spec.aliases:
            raise bad_request(f"The string '{raw}' is not a valid enumerated type constant for '{name}'.")
        return Clause(name, op, raw)


def parse_filter(text: str | None, fields: Mapping[str, FieldSpec]) -> tuple[Clause, ...]:
    """Parse ``$filter`` against the filterable ``fields``; 400 on anything unsupported."""
    if text is None:
        return ()
    if not fields:
        raise bad_request("Query option '$filter' is not supported on this resource.")
    if not text.strip():
        raise bad_request("Invalid $filter: empty expression.")
    return _FilterParser(text, fields).parse()


def compile_filter(clauses: Sequence[Clause], fields: Mapping[str, FieldSpec],
                   getters: Mapping[str, Callable[[Any], Any]]) -> Callable[[Any], bool] | None:
    """Build a predicate for the clauses (None when there are none)."""
    if not clauses:
        return None
    preds: list[Callable[[Any], bool]] = []
    for clause in clauses:
        preds.append(_clause_predicate(clause, fields[clause.field], getters[clause.field]))
    if len(preds) == 1:
        return preds[0]
    return lambda item: all(p(item) for p in preds)


def _clause_predicate(clause: Clause, spec: FieldSpec,
                      get: Callable[[Any], Any]) -> Callable[[Any], bool]:
    value = clause.value
    if clause.op == "in" and isinstance(value, tuple):
        wanted = frozenset(v.casefold() for v in value)
        return lambda item: (get(item) or "").casefold() in wanted
    if spec.kind == "text" and isinstance(value, str):
        folded = value.casefold()
        if clause.op == "startswith":
            return lambda item: (get(item) or "").casefold().startswith(folded)
        if clause.op == "eq":
            return lambda item: (get(item) or "").casefold() == folded
        return lambda item: (get(item) or "").casefold() != folded
    if spec.kind == "enum" and isinstance(value, str):
        matches = frozenset({value}) | spec.aliases.get(value, frozenset())
        if clause.op == "eq":
            return lambda item: get(item) in matches
        return lambda item: get(item) not in matches
    if clause.op == "eq":
        return lambda item: get(item) == value
    return lambda item: get(item) != value


# --------------------------------------------------------------------------------------------- $orderby
def parse_orderby(text: str | None, fields: Iterable[str]) -> tuple[tuple[str, bool], ...]:
    """Parse ``$orderby=a desc,b``; 400 for unknown properties or directions."""
    if text is None:
        return ()
    allowed = set(fields)
    keys: list[tuple[str, bool]] = []
    for part in text.split(","):
        words = part.split()
        if not words or len(words) > 2:
            raise bad_request(f"Invalid $orderby clause '{part.strip()}'.")
        if words[0] not in allowed:
            raise bad_request(f"Invalid $orderby: property '{words[0]}' cannot be used for ordering.")
        direction = words[1].lower() if len(words) == 2 else "asc"
        if direction not in {"asc", "desc"}:
            raise bad_request(f"Invalid $orderby direction '{words[1]}'.")
        keys.append((words[0], direction == "desc"))
    return tuple(keys)


def apply_order(items: list[T], orderby: Sequence[tuple[str, bool]],
                getters: Mapping[str, Callable[[Any], Any]]) -> list[T]:
    """Sort ``items`` by the ``$orderby`` keys (stable; nulls first ascending)."""
    out = list(items)
    for name, desc in reversed(orderby):
        get = getters[name]

        def key(item: T, get: Callable[[Any], Any] = get) -> tuple[bool, Any]:
            value = get(item)
            if isinstance(value, str):
                value = value.casefold()
            return (value is not None, value if value is not None else "")

        out.sort(key=key, reverse=desc)
    return out


# ------------------------------------------------------------------------------------------ skip tokens
def _checksum(offset: int, top: int, filter_text: str, orderby_text: str) -> int:
    return zlib.crc32(f"{offset}|{top}|{filter_text}|{orderby_text}".encode()) & 0xFFFFFF


def encode_skiptoken(offset: int, top: int, filter_text: str, orderby_text: str) -> str:
    """Opaque token for the page starting at ``offset``."""
    raw = f"{offset}.{top}.{_checksum(offset, top, filter_text, orderby_text):x}".encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_skiptoken(token: str, filter_text: str, orderby_text: str) -> tuple[int, int]:
    """Return (offset, top) from a token this server issued for the same query; 400 otherwise."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
        offset_s, top_s, check = raw.split(".")
        offset, top = int(offset_s), int(top_s)
        valid = int(check, 16) == _checksum(offset, top, filter_text, orderby_text)
    except (ValueError, UnicodeDecodeError):
        valid = False
        offset = top = 0
    if not valid or offset < 0 or not 1 <= top <= MAX_PAGE:
        raise bad_request("The $skiptoken is invalid or does not belong to this query.")
    return offset, top


# --------------------------------------------------------------------------------------------- options
def parse_collection_options(params: Mapping[str, list[str]], *, select_fields: Iterable[str],
                             filter_fields: Mapping[str, FieldSpec], order_fields: Iterable[str],
                             allowed: Iterable[str] = PAGING_OPTIONS) -> QueryOptions:
    """Validate the query options of a collection request."""
    check_allowed(params, allowed)
    top_text = _single(params, "$top")
    skip_text = _single(params, "$skip")
    token = _single(params, "$skiptoken")
    select_text = _single(params, "$select")
    filter_text = _single(params, "$filter")
    orderby_text = _single(params, "$orderby")
    count_text = _single(params, "$count")
    top = DEFAULT_PAGE
    if top_text is not None:
        top = _int_option("$top", top_text)
        if not 1 <= top <= MAX_PAGE:
            raise bad_request(f"Invalid page size specified: '{top}'. Must be between 1 and {MAX_PAGE} "
                              "inclusive.")
    offset = _int_option("$skip", skip_text) if skip_text is not None else 0
    select = parse_select(select_text, select_fields)
    clauses = parse_filter(filter_text, filter_fields)
    orderby = parse_orderby(orderby_text, order_fields)
    count = False
    if count_text is not None:
        if count_text.lower() not in {"true", "false"}:
            raise bad_request(f"Invalid value '{count_text}' for $count: expected true or false.")
        count = count_text.lower() == "true"
    if token is not None:
        tok_offset, tok_top = decode_skiptoken(token, filter_text or "", orderby_text or "")
        offset += tok_offset
        if top_text is None:
            top = tok_top
    carry = tuple((name, text) for name, text in (("$select", select_text), ("$filter", filter_text),
                                                   ("$orderby", orderby_text), ("$count", count_text))
                  if text is not None)
    return QueryOptions(top=top, offset=offset, select=select, clauses=clauses, orderby=orderby,
                        count=count, carry=carry, filter_text=filter_text or "",
                        orderby_text=orderby_text or "")


def next_link(url_without_query: str, opts: QueryOptions, next_offset: int) -> str:
    """Absolute ``@odata.nextLink`` for the page starting at ``next_offset``."""
    token = encode_skiptoken(next_offset, opts.top, opts.filter_text, opts.orderby_text)
    parts = [f"{name}={quote(text, safe=chr(39) + '(),')}" for name, text in opts.carry]
    parts.append(f"$skiptoken={token}")
    return f"{url_without_query}?{'&'.join(parts)}"
