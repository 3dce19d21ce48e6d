"""A reviewed restore plan as a document: what one person reviewed, for another to apply (four eyes).

The document (schema ``entrabr.reviewedPlan/1``, JSON) names the tenant, the backup and the difference
report it was made from; each object it restores, with the fingerprint of the difference that was reviewed
(:mod:`.review`); the planner's choices (the option taken, the whole types, every option's cost, the
stages, the jobs); who reviewed it and when; and ``contentSha256``, the SHA-256 of its canonical content
(every other member, keys sorted, no spaces, UTF-8). Changing any byte of the content, or the hash, makes
:func:`read_document` refuse it as tampered. The jobs must be exactly those the items give (so what is
applied is what was reviewed), else the document is refused as malformed.

Pure: the engine reads and writes the files (:mod:`entrabr_tui.engine.plan_file`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from .model import MAX_IDS_PER_JOB, FilteringCriteria, filter_from_json, format_datetime, parse_datetime
from .planner import QueuedChange, RestorePlan, plan_restore, rebatch
from .recoverability import RECOVERABLE
from .review import ObjectKey

SCHEMA = "entrabr.reviewedPlan/1"
HASH_KEY = "contentSha256"


class DocumentProblem(StrEnum):
    """Why a plan document is refused."""

    MALFORMED = "malformed"
    TAMPERED = "tampered"


class PlanDocumentError(ValueError):
    """A plan document that cannot be used; ``problem`` says which kind."""

    def __init__(self, problem: DocumentProblem, message: str) -> None:
        super().__init__(message)
        self.problem = problem
        self.message = message


@dataclass(frozen=True, slots=True)
class ReviewedItem:
    """One object the plan restores, with the fingerprint of its reviewed difference."""

    entity_type: str
    id: str
    action: str
    display_name: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class ReviewedPlan:
    """A plan as reviewed (see the module docstring)."""

    tenant_id: str
    snapshot_id: str
    report_job_id: str | None
    reviewer: str
    reviewed_at: datetime
    items: tuple[ReviewedItem, ...]
    jobs: tuple[FilteringCriteria, ...]
    choice: str
    whole_types: tuple[str, ...] = ()
    max_ids: int = MAX_IDS_PER_JOB
    planner: Mapping[str, Any] = field(default_factory=dict)
    """The planner's notes: the options it compared, the stages, exclusions and warnings (informative)."""

    @property
    def reviewed(self) -> dict[ObjectKey, str]:
        """Fingerprint of each object's reviewed difference."""
        return {(i.entity_type, i.id): i.fingerprint for i in self.items}

    def restore_plan(self) -> RestorePlan:
        """The plan the items give (whole types as chosen)."""
        plan = plan_restore([QueuedChange(i.id, i.entity_type, i.action, RECOVERABLE) for i in self.items],
                            allow_whole_type=False, max_ids=self.max_ids)
        return rebatch(plan, self.whole_types)

    def content(self) -> dict[str, Any]:
        """Every member but the hash."""
        return {
            "schema": SCHEMA,
            "tenantId": self.tenant_id,
            "snapshotId": self.snapshot_id,
            "reportJobId": self.report_job_id,
            "reviewer": {"identity": self.reviewer, "at": format_datetime(self.reviewed_at)},
            "planner": {"choice": self.choice, "wholeTypes": list(self.whole_types), "maxIds": self.max_ids,
                        **{k: v for k, v in self.planner.items()
                           if k not in ("choice", "wholeTypes", "maxIds")}},
            "items": [{"entityType": i.entity_type, "id": i.id, "action": i.action,
                       "displayName": i.display_name, "deltaSha256": i.fingerprint} for i in self.items],
            "jobs": [job.to_json() for job in self.jobs],
        }

    def document(self) -> dict[str, Any]:
        """The document with its hash."""
        content = self.content()
        return {**content, HASH_KEY: content_hash(content)}


def canonical(content: Mapping[str, Any]) -> bytes:
    """The canonical bytes of a document's content (keys sorted, no spaces, UTF-8)."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def content_hash(content: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(content)).hexdigest()


def _malformed(text: str) -> PlanDocumentError:
    return PlanDocumentError(DocumentProblem.MALFORMED, f"The plan file is not a reviewed plan: {text}.")


def _text(doc: Mapping[str, Any], key: str, *, optional: bool = False) -> Any:
    value = doc.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise _malformed(f"'{key}' is missing or not text")
    return value


def read_document(doc: object) -> ReviewedPlan:
    """The reviewed plan of a decoded document; :class:`PlanDocumentError` when it is malformed or its
    content does not match its hash."""
    if not isinstance(doc, Mapping):
        raise _malformed("it is not a JSON object")
    if doc.get("schema") != SCHEMA:
        raise _malformed(f"its schema is {doc.get('schema')!r}, not {SCHEMA!r}")
    stated = doc.get(HASH_KEY)
    if not isinstance(stated, str):
        raise _malformed(f"it has no {HASH_KEY}")
    content = {k: v for k, v in doc.items() if k != HASH_KEY}
    if content_hash(content) != stated.lower():
        raise PlanDocumentError(DocumentProblem.TAMPERED,
                                "The plan file was changed after it was written: its content does not match "
                                f"its {HASH_KEY}. Nothing was applied; ask the reviewer for the file again.")
    reviewer = doc.get("reviewer")
    planner = doc.get("planner")
    items = doc.get("items")
    jobs = doc.get("jobs")
    if not isinstance(reviewer, Mapping) or not isinstance(planner, Mapping):
        raise _malformed("'reviewer' or 'planner' is missing")
    if not isinstance(items, list) or not isinstance(jobs, list):
        raise _malformed("'items' or 'jobs' is missing")
    at = parse_datetime(reviewer.get("at"))
    if at is None:
        raise _malformed("'reviewer.at' is not a date and time")
    parsed_items = []
    for item in items:
        if not isinstance(item, Mapping):
            raise _malformed("an item is not an object")
        parsed_items.append(ReviewedItem(_text(item, "entityType"), _text(item, "id"), _text(item, "action"),
                                         str(item.get("displayName") or ""), _text(item, "deltaSha256")))
    parsed_jobs = []
    for job in jobs:
        scope = filter_from_json(job)
        if scope is None:
            raise _malformed("a job's scope cannot be read")
        parsed_jobs.append(scope)
    whole = planner.get("wholeTypes") or []
    max_ids = planner.get("maxIds", MAX_IDS_PER_JOB)
    if not isinstance(whole, list) or not all(isinstance(t, str) for t in whole):
        raise _malformed("'planner.wholeTypes' is not a list of types")
    if isinstance(max_ids, bool) or not isinstance(max_ids, int) or max_ids < 1:
        raise _malformed("'planner.maxIds' is not a positive number")
    plan = ReviewedPlan(
        tenant_id=_text(doc, "tenantId"), snapshot_id=_text(doc, "snapshotId"),
        report_job_id=_text(doc, "reportJobId", optional=True), reviewer=_text(reviewer, "identity"),
        reviewed_at=at, items=tuple(parsed_items), jobs=tuple(parsed_jobs),
        choice=str(planner.get("choice") or ""), whole_types=tuple(whole), max_ids=max_ids,
        planner={k: v for k, v in planner.items()},
    )
    if plan.restore_plan().batches != plan.jobs:
        raise _malformed("its jobs are not the ones its items give")
    return plan


def items_of(plan: RestorePlan, reviewed: Mapping[ObjectKey, str], names: Mapping[str, str],
             actions: Mapping[str, str]) -> tuple[ReviewedItem, ...]:
    """The items of a plan: each included object with its action, name and reviewed fingerprint
    (``actions`` gives the raw action of objects the planner lists as "other")."""
    items = []
    for t in plan.types:
        for action, ids in (("restore", t.restores), ("update", t.updates), ("softDelete", t.soft_deletes),
                            (None, t.others)):
            for object_id in ids:
                raw = action or actions.get(object_id, "unknownFutureValue")
                items.append(ReviewedItem(t.entity_type, object_id, raw, names.get(object_id, ""),
                                          reviewed.get((t.entity_type, object_id), "")))
    return tuple(items)


def same_person(reviewer: str, applier: str) -> bool:
    """Whether two identities (UPNs or object ids) are the same person (case does not count)."""
    return reviewer.strip().casefold() == applier.strip().casefold()
