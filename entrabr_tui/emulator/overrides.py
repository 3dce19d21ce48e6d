"""A fixture of change objects served as the result of the next preview job (``/_emulator/changes-override``).

The objects are served exactly as given (several changes of one object, odd values and all), and the job's
totals are computed from them the way the emulator computes its own: ``totalChangedObjectsCalculated`` is
the number of change objects, ``totalChangedLinksCalculated`` the number of entries of their
``<relationship>@delta`` arrays.
"""

from __future__ import annotations

from typing import Any

import orjson

from .directory import ChangeRecord
from .jobs import PREVIEW, Job


class OverrideError(ValueError):
    """An invalid override (the message says what is wrong)."""


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _links(item: dict[str, Any]) -> int:
    delta = item.get("deltaFromCurrent")
    if not isinstance(delta, dict):
        return 0
    return sum(len(v) for k, v in delta.items() if isinstance(v, list) and k.endswith("@delta"))


def fixture_records(changes: object) -> list[ChangeRecord]:
    """Change records for a list of change objects (JSON objects, served byte for byte as given)."""
    if not isinstance(changes, list):
        raise OverrideError("'changes' must be a list of change objects")
    records = []
    for position, item in enumerate(changes):
        if not isinstance(item, dict):
            raise OverrideError(f"change {position} is not a JSON object")
        records.append(ChangeRecord(_text(item.get("id")), _text(item.get("entityTypeName")),
                                    _text(item.get("recoveryAction")), _text(item.get("displayName")),
                                    orjson.dumps(item), _links(item)))
    return records


class ChangesOverride:
    """Change objects waiting for the next preview job, and the jobs they were given to."""

    def __init__(self) -> None:
        self.pending: list[ChangeRecord] | None = None
        self.bound: dict[str, list[ChangeRecord]] = {}

    def set(self, changes: object) -> int:
        """Serve ``changes`` as the result of the next preview job to compute its difference."""
        self.pending = fixture_records(changes)
        return len(self.pending)

    def discard(self) -> None:
        """Forget the pending fixture (jobs already given it keep serving it)."""
        self.pending = None

    def clear(self) -> None:
        """Forget the pending fixture and every job it was given to."""
        self.pending = None
        self.bound.clear()

    def apply(self, job: Job, records: list[ChangeRecord]) -> list[ChangeRecord]:
        """The records ``job`` serves: the fixture for the first preview job computed after it was set
        (and for that job on any later recomputation), its own ``records`` otherwise."""
        if job.kind != PREVIEW:
            return records
        if job.id not in self.bound:
            if self.pending is None:
                return records
            self.bound[job.id] = self.pending
            self.pending = None
        return self.bound[job.id]

    def describe(self) -> dict[str, Any]:
        """JSON view for the control plane."""
        return {"pending": None if self.pending is None else len(self.pending),
                "jobs": {job_id: len(records) for job_id, records in self.bound.items()}}
