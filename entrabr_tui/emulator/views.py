"""JSON rendering of snapshots, jobs and change pages (pages are joined from pre-serialised bytes)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson

from .clock import iso
from .enums import LATE_TYPES, NAMESPACE, UNKNOWN, status_out, type_out
from .jobs import PREVIEW, Job

PREVIEW_TYPE = f"#{NAMESPACE}.recoveryPreviewJob"
RECOVERY_TYPE = f"#{NAMESPACE}.recoveryJob"

SNAPSHOT_FIELDS = ("id", "createdDateTime", "totalChangedObjects")
JOB_BASE_FIELDS = ("id", "status", "targetStateDateTime", "jobStartDateTime", "jobCompletionDateTime",
                   "filteringCriteria", "totalChangedObjectsCalculated", "totalChangedLinksCalculated")
RECOVERY_FIELDS = ("totalObjectsModified", "totalLinksModified", "totalFailedChanges")
JOB_FIELDS = JOB_BASE_FIELDS + RECOVERY_FIELDS
CHANGE_FIELDS = ("entityTypeName", "id", "displayName", "recoveryAction", "deltaFromCurrent",
                 "currentState", "failureMessage")


def snapshot_json(snapshot_id: str, created: datetime, select: Sequence[str] | None) -> dict[str, Any]:
    """A snapshot as the live service returns it (``totalChangedObjects`` is never populated)."""
    doc = {"id": snapshot_id, "createdDateTime": iso(created)}
    if select is not None:
        return {k: v for k, v in doc.items() if k in select}
    return doc


def _criteria_out(criteria: dict[str, Any] | None, include_unknown: bool) -> dict[str, Any] | None:
    if criteria is None or include_unknown:
        return criteria
    out = dict(criteria)
    if "entityTypes" in out:
        out["entityTypes"] = [type_out(t, False) for t in out["entityTypes"]]
    if "filterValues" in out:
        out["filterValues"] = [dict(v, entityType=type_out(v["entityType"], False))
                               for v in out["filterValues"]]
    return out


def job_json(job: Job, include_unknown: bool, select: Sequence[str] | None = None) -> dict[str, Any]:
    """A job resource. Recovery jobs add the modification totals: null until the job runs, then the objects
    and links modified so far, growing while it runs; failed changes stay null until the job has ended
    (reference §5.4)."""
    doc: dict[str, Any] = {
        "@odata.type": PREVIEW_TYPE if job.kind == PREVIEW else RECOVERY_TYPE,
        "id": job.id,
        "status": status_out(job.status, include_unknown),
        "targetStateDateTime": iso(job.target),
        "jobStartDateTime": iso(job.started),
        "jobCompletionDateTime": iso(job.completed),
        "filteringCriteria": _criteria_out(job.criteria, include_unknown),
        "totalChangedObjectsCalculated": job.objects_calculated,
        "totalChangedLinksCalculated": job.links_calculated,
    }
    if job.kind != PREVIEW:
        outcome = job.outcome
        doc["totalObjectsModified"] = outcome.objects_modified if outcome else None
        doc["totalLinksModified"] = outcome.links_modified if outcome else None
        ended = outcome is not None and job.terminal
        doc["totalFailedChanges"] = sum(f.units for f in outcome.failed) if ended and outcome else None
    if select is not None:
        return {k: v for k, v in doc.items() if k == "@odata.type" or k in select}
    return doc


def job_value(job: Job, name: str) -> Any:
    """A job property for filtering and ordering (true enum values, datetimes as datetimes)."""
    return {
        "id": job.id, "status": job.status, "targetStateDateTime": job.target,
        "jobStartDateTime": job.started, "jobCompletionDateTime": job.completed,
    }[name]


_TYPE_PATTERNS = {t: (f'"entityTypeName":"{t}"'.encode(), f'"entityTypeName":"{UNKNOWN}"'.encode())
                  for t in LATE_TYPES}


def change_bytes(body: bytes, entity_type: str, include_unknown: bool,
                 select: Sequence[str] | None) -> bytes:
    """One change object's JSON, with late enum members hidden and ``$select`` applied."""
    if select is not None:
        doc = orjson.loads(body)
        out = {k: doc.get(k) for k in select}
        if "entityTypeName" in out and isinstance(out["entityTypeName"], str):
            out["entityTypeName"] = type_out(out["entityTypeName"], include_unknown)
        return orjson.dumps(out)
    if not include_unknown and entity_type in _TYPE_PATTERNS:
        old, new = _TYPE_PATTERNS[entity_type]
        return body.replace(old, new, 1)
    return body


def page_bytes(context: str, items: Sequence[bytes], next_link: str | None, count: int | None) -> bytes:
    """A collection page: ``@odata.context``, optional ``@odata.count`` and ``@odata.nextLink``, ``value``."""
    parts = [b'{"@odata.context":', orjson.dumps(context)]
    if count is not None:
        parts.append(b',"@odata.count":%d' % count)
    if next_link is not None:
        parts += [b',"@odata.nextLink":', orjson.dumps(next_link)]
    parts += [b',"value":[', b",".join(items), b"]}"]
    return b"".join(parts)
