"""Injected faults: throttling, outages, timeouts, dropped connections, truncated bodies, slow responses,
and faults of the change pages themselves.

Each fault fires either on the next ``count`` matching requests or with probability ``rate``; the random
draws come from a generator seeded by the emulator seed and the fault's ID, so a run is reproducible.

Transport kinds (``429``, ``503``, ``504``, ``drop``, ``truncate``, ``slow``) apply to any Graph request and
are fired by the front door. Page kinds apply only to ``getChanges`` / ``getFailedChanges`` pages and are
fired by the change routes (a draw is made only where the fault can apply):

* ``no-next-link``: a page that is not the last is served without ``@odata.nextLink``;
* ``short-page``: a page is served without its last ``lose`` items (default: half of them) while its next
  link still points past them, so those items are silently lost;
* ``malformed-change``: change objects are served broken (``count``/``rate`` count change objects, not
  pages); ``variant`` is one of :data:`MALFORMED_VARIANTS` or ``mixed`` (the default: each in turn);
* ``redirect-foreign``: the page request is answered with a redirect (``status`` 307, or 302) to a second
  loopback listener on another port (:class:`ForeignListener`) that serves ``{"value": []}`` and no link.

Job kinds apply to job creation:

* ``batch-limit``: a recovery job whose ``recoveryJobEntityNameAndIdsFilter`` holds more than ``max_ids``
  object IDs is refused with 400 ("too many object IDs"), the way a service with a lower limit than the
  documented 100 would; it stays in force (every such request is refused) unless ``count`` or ``rate`` is
  given, and counts a refusal as a firing.

The registry also holds the fixture of change objects served by the next preview job
(:class:`~entrabr_tui.emulator.overrides.ChangesOverride`), so a reset forgets it too.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass, field
from typing import Any

from .overrides import ChangesOverride

TRANSPORT_KINDS = ("429", "503", "504", "drop", "truncate", "slow")
PAGE_KINDS = ("no-next-link", "short-page", "malformed-change", "redirect-foreign")
JOB_KINDS = ("batch-limit",)
KINDS = TRANSPORT_KINDS + PAGE_KINDS + JOB_KINDS
#: How ``malformed-change`` breaks a change object (``mixed`` uses each in this order).
MALFORMED_VARIANTS = ("missing-id", "missing-entity-type", "id-not-string", "action-not-string",
                      "delta-not-object", "unknown-enum")
REDIRECT_STATUSES = (302, 307)
_KIND_FIELDS = {"retry_after": ("429", "503"), "delay_ms": ("slow",), "lose": ("short-page",),
                "variant": ("malformed-change",), "status": ("redirect-foreign",),
                "max_ids": ("batch-limit",)}


class FaultError(ValueError):
    """An invalid fault specification (the message says what is wrong)."""


@dataclass(eq=False)
class Fault:
    """One registered fault."""

    id: str
    kind: str
    count: int | None
    rate: float | None
    retry_after: int
    delay_ms: int
    match: str
    lose: int | None = None        # short-page: items left out (None: half the page)
    variant: str = "mixed"         # malformed-change
    status: int = 307              # redirect-foreign
    max_ids: int = 0               # batch-limit
    fired: int = 0
    rng: random.Random = field(default_factory=random.Random, repr=False)

    @property
    def exhausted(self) -> bool:
        """True when a count-based fault has fired its last time."""
        return self.count is not None and self.fired >= self.count

    def applies(self, path: str) -> bool:
        """Not exhausted and matching ``path``."""
        return not self.exhausted and (not self.match or self.match in path)

    def draw(self) -> bool:
        """Whether the fault fires now (consumes a count, or a random draw for a rate)."""
        if self.rate is not None and self.rng.random() >= self.rate:
            return False
        self.fired += 1
        return True

    def describe(self) -> dict[str, Any]:
        """JSON view of the fault for the control plane."""
        doc = {"id": self.id, "kind": self.kind, "count": self.count, "rate": self.rate,
               "retry_after": self.retry_after, "delay_ms": self.delay_ms, "match": self.match,
               "fired": self.fired, "active": not self.exhausted}
        if self.kind == "short-page":
            doc["lose"] = self.lose
        elif self.kind == "malformed-change":
            doc["variant"] = self.variant
        elif self.kind == "redirect-foreign":
            doc["status"] = self.status
        elif self.kind == "batch-limit":
            doc["max_ids"] = self.max_ids
        return doc


@dataclass(frozen=True, slots=True)
class PagePlan:
    """What the page faults do to one change page (decided before it is served)."""

    drop_next_link: bool = False
    lose: int = 0                                     # items left out at the end of the page
    mangle: tuple[tuple[int, str], ...] = ()          # (position on the page, variant)

    @property
    def changes_page(self) -> bool:
        return self.drop_next_link or self.lose > 0 or bool(self.mangle)


class ForeignListener:
    """A second loopback listener on its own port: every request gets ``{"value": []}`` (200, no next
    link). It is the target of ``redirect-foreign`` faults; it starts on first use, on the emulator's event
    loop, and closes with :meth:`FaultRegistry.clear` / :meth:`FaultRegistry.reset`."""

    BODY = b'{"value":[]}'

    def __init__(self) -> None:
        self._server: asyncio.Server | None = None
        self.host = ""
        self.port = 0
        self.served = 0

    async def base_url(self, host: str) -> str:
        """``http://host:port`` of the listener, started on ``host`` if it is not running."""
        if self._server is None:
            self._server = await asyncio.start_server(self._answer, host, 0)
            self.host = host
            self.port = int(self._server.sockets[0].getsockname()[1])
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{shown}:{self.port}"

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")        # the request head (a GET has no body)
            self.served += 1
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(self.BODY), self.BODY))
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    def close(self) -> None:
        """Stop listening (idempotent)."""
        if self._server is not None:
            self._server.close()
            self._server = None


def _number(spec: dict[str, Any], key: str, *, integer: bool, low: float, high: float | None) -> Any:
    value = spec[key]
    ok_type = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok_type or value < low or (high is not None and value > high):
        bound = f"{low}..{high}" if high is not None else f">= {low}"
        raise FaultError(f"'{key}' must be {'an integer' if integer else 'a number'} in {bound}")
    return value


class FaultRegistry:
    """Registered faults in order; the first transport fault that fires for a request wins, and each page
    fault kind fires on its own (see the module docstring)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.faults: list[Fault] = []
        self._next = 1
        self.foreign = ForeignListener()
        self.changes_override = ChangesOverride()

    def clear(self) -> None:
        """Remove every fault."""
        self.faults.clear()
        self.foreign.close()

    def reset(self) -> None:
        """Remove every fault, restart fault IDs and forget a pending changes override."""
        self.clear()
        self._next = 1
        self.changes_override.clear()

    def add(self, spec: object) -> Fault:
        """Validate and register a fault specification (see the control plane's /_emulator/faults)."""
        if not isinstance(spec, dict):
            raise FaultError("the fault must be a JSON object")
        unknown = set(spec) - {"kind", "count", "rate", "match", *_KIND_FIELDS}
        if unknown:
            raise FaultError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
        kind = str(spec.get("kind", ""))
        if kind not in KINDS:
            raise FaultError(f"'kind' must be one of {', '.join(KINDS)}")
        for name, kinds in _KIND_FIELDS.items():
            if name in spec and kind not in kinds:
                raise FaultError(f"'{name}' applies to {' and '.join(kinds)} faults only")
        if "count" in spec and "rate" in spec:
            raise FaultError("give either 'count' or 'rate', not both")
        count = _number(spec, "count", integer=True, low=1, high=None) if "count" in spec else None
        rate = float(_number(spec, "rate", integer=False, low=0.0, high=1.0)) if "rate" in spec else None
        if count is None and rate is None and kind not in JOB_KINDS:
            count = 1
        max_ids = 0
        if kind == "batch-limit":
            if "max_ids" not in spec:
                raise FaultError("a batch-limit fault needs 'max_ids'")
            max_ids = _number(spec, "max_ids", integer=True, low=1, high=999)
        retry_after = 1
        if "retry_after" in spec:
            retry_after = _number(spec, "retry_after", integer=True, low=0, high=3600)
        delay_ms = 2000
        if "delay_ms" in spec:
            delay_ms = _number(spec, "delay_ms", integer=True, low=0, high=600_000)
        lose = _number(spec, "lose", integer=True, low=1, high=999) if "lose" in spec else None
        variant = spec.get("variant", "mixed")
        if variant not in (*MALFORMED_VARIANTS, "mixed"):
            raise FaultError(f"'variant' must be one of {', '.join((*MALFORMED_VARIANTS, 'mixed'))}")
        status = spec.get("status", 307)
        if type(status) is not int or status not in REDIRECT_STATUSES:
            raise FaultError("'status' must be 302 or 307")
        match = spec.get("match", "")
        if not isinstance(match, str):
            raise FaultError("'match' must be a string (a substring of the request path)")
        fault_id = f"fault-{self._next}"
        self._next += 1
        fault = Fault(id=fault_id, kind=kind, count=count, rate=rate, retry_after=retry_after,
                      delay_ms=delay_ms, match=match, lose=lose, variant=str(variant), status=int(status),
                      max_ids=max_ids, rng=random.Random(f"entrabr-emulator-faults:{self.seed}:{fault_id}"))
        self.faults.append(fault)
        return fault

    def pick(self, path: str) -> Fault | None:
        """The transport fault that fires for a request to ``path``, if any (consumes counts and draws)."""
        for fault in self.faults:
            if fault.kind in TRANSPORT_KINDS and fault.applies(path) and fault.draw():
                return fault
        return None

    def _first(self, kind: str, path: str) -> Fault | None:
        return next((f for f in self.faults if f.kind == kind and f.applies(path)), None)

    def has_page_faults(self, path: str) -> bool:
        """Whether any page fault could fire for ``path`` (cheap; consumes nothing)."""
        return any(f.kind in PAGE_KINDS and f.applies(path) for f in self.faults)

    def refuse_batch(self, path: str, ids: int) -> Fault | None:
        """The ``batch-limit`` fault that refuses a recovery job of ``ids`` object IDs, if any."""
        for fault in self.faults:
            if fault.kind == "batch-limit" and fault.applies(path) and ids > fault.max_ids and fault.draw():
                return fault
        return None

    def pick_redirect(self, path: str) -> Fault | None:
        """The ``redirect-foreign`` fault that fires for a change page request to ``path``, if any."""
        fault = self._first("redirect-foreign", path)
        return fault if fault is not None and fault.draw() else None

    def plan_page(self, path: str, size: int, has_next_link: bool) -> PagePlan:
        """What the page faults do to a change page of ``size`` items (counts and draws are consumed)."""
        drop = False
        fault = self._first("no-next-link", path)
        if fault is not None and has_next_link:
            drop = fault.draw()
        lose = 0
        fault = self._first("short-page", path)
        if fault is not None and size > 0 and fault.draw():
            lose = min(size, fault.lose if fault.lose is not None else max(1, size // 2))
        mangle: list[tuple[int, str]] = []
        for position in range(size - lose):
            fault = self._first("malformed-change", path)
            if fault is None:
                break
            if fault.draw():
                variant = fault.variant
                if variant == "mixed":
                    variant = MALFORMED_VARIANTS[(fault.fired - 1) % len(MALFORMED_VARIANTS)]
                mangle.append((position, variant))
        return PagePlan(drop_next_link=drop, lose=lose, mangle=tuple(mangle))

    def describe(self) -> list[dict[str, Any]]:
        """JSON view of all faults (redirect faults also show the requests their listener answered)."""
        out = []
        for fault in self.faults:
            doc = fault.describe()
            if fault.kind == "redirect-foreign":
                doc["foreign_requests"] = self.foreign.served
            out.append(doc)
        return out


def break_change(item: dict[str, Any], variant: str) -> dict[str, Any]:
    """A copy of a change object broken the way ``variant`` says (see :data:`MALFORMED_VARIANTS`)."""
    out = dict(item)
    if variant == "missing-id":
        out.pop("id", None)
    elif variant == "missing-entity-type":
        out.pop("entityTypeName", None)
    elif variant == "id-not-string":
        out["id"] = 12345
    elif variant == "action-not-string":
        out["recoveryAction"] = 5
    elif variant == "delta-not-object":
        out["deltaFromCurrent"] = "x"
    elif variant == "unknown-enum":
        out["recoveryAction"] = "quarantine"
    else:
        raise ValueError(f"unknown variant {variant!r}")
    return out
