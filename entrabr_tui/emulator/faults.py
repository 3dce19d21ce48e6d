"""Injected faults: throttling, outages, timeouts, dropped connections, truncated bodies, slow responses.

Each fault fires either on the next ``count`` matching requests or with probability ``rate``; the random
draws come from a generator seeded by the emulator seed and the fault's ID, so a run is reproducible.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

KINDS = ("429", "503", "504", "drop", "truncate", "slow")


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
    fired: int = 0
    rng: random.Random = field(default_factory=random.Random, repr=False)

    @property
    def exhausted(self) -> bool:
        """True when a count-based fault has fired its last time."""
        return self.count is not None and self.fired >= self.count

    def describe(self) -> dict[str, Any]:
        """JSON view of the fault for the control plane."""
        return {"id": self.id, "kind": self.kind, "count": self.count, "rate": self.rate,
                "retry_after": self.retry_after, "delay_ms": self.delay_ms, "match": self.match,
                "fired": self.fired, "active": not self.exhausted}


def _number(spec: dict[str, Any], key: str, *, integer: bool, low: float, high: float | None) -> Any:
    value = spec[key]
    ok_type = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok_type or value < low or (high is not None and value > high):
        bound = f"{low}..{high}" if high is not None else f">= {low}"
        raise FaultError(f"'{key}' must be {'an integer' if integer else 'a number'} in {bound}")
    return value


class FaultRegistry:
    """Registered faults in order; the first one that fires for a request wins."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.faults: list[Fault] = []
        self._next = 1

    def clear(self) -> None:
        """Remove every fault."""
        self.faults.clear()

    def reset(self) -> None:
        """Remove every fault and restart fault IDs."""
        self.faults.clear()
        self._next = 1

    def add(self, spec: object) -> Fault:
        """Validate and register a fault specification (see the control plane's /_emulator/faults)."""
        if not isinstance(spec, dict):
            raise FaultError("the fault must be a JSON object")
        unknown = set(spec) - {"kind", "count", "rate", "retry_after", "delay_ms", "match"}
        if unknown:
            raise FaultError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
        kind = str(spec.get("kind", ""))
        if kind not in KINDS:
            raise FaultError(f"'kind' must be one of {', '.join(KINDS)}")
        if "count" in spec and "rate" in spec:
            raise FaultError("give either 'count' or 'rate', not both")
        count = _number(spec, "count", integer=True, low=1, high=None) if "count" in spec else None
        rate = float(_number(spec, "rate", integer=False, low=0.0, high=1.0)) if "rate" in spec else None
        if count is None and rate is None:
            count = 1
        if "retry_after" in spec and kind not in {"429", "503"}:
            raise FaultError("'retry_after' applies to 429 and 503 faults only")
        retry_after = 1
        if "retry_after" in spec:
            retry_after = _number(spec, "retry_after", integer=True, low=0, high=3600)
        if "delay_ms" in spec and kind != "slow":
            raise FaultError("'delay_ms' applies to slow faults only")
        delay_ms = 2000
        if "delay_ms" in spec:
            delay_ms = _number(spec, "delay_ms", integer=True, low=0, high=600_000)
        match = spec.get("match", "")
        if not isinstance(match, str):
            raise FaultError("'match' must be a string (a substring of the request path)")
        fault_id = f"fault-{self._next}"
        self._next += 1
        fault = Fault(id=fault_id, kind=kind, count=count, rate=rate, retry_after=retry_after,
                      delay_ms=delay_ms, match=match,
                      rng=random.Random(f"entrabr-emulator-faults:{self.seed}:{fault_id}"))
        self.faults.append(fault)
        return fault

    def pick(self, path: str) -> Fault | None:
        """The fault that fires for a request to ``path``, if any (counts and draws are consumed)."""
        for fault in self.faults:
            if fault.exhausted or (fault.match and fault.match not in path):
                continue
            if fault.rate is not None and fault.rng.random() >= fault.rate:
                continue
            fault.fired += 1
            return fault
        return None

    def describe(self) -> list[dict[str, Any]]:
        """JSON view of all faults."""
        return [f.describe() for f in self.faults]
