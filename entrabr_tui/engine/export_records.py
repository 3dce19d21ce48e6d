"""Safe text and JSON record shapes shared by the exports and the command line.

Tenant data is hostile until shown otherwise: names may carry terminal escapes, bidi overrides or
spreadsheet formulas. The helpers here make text safe for one medium each (JSON, a terminal, CSV, Markdown)
without losing what it said, and define the JSON form of changes, jobs and scopes that every machine-readable
output uses.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from entrabr_tui.core.diff import ABSENT, format_value
from entrabr_tui.core.model import Change, EntityNamesFilter, FilteringCriteria, Job, format_datetime
from entrabr_tui.core.planner import RestorePlan
from entrabr_tui.core.recoverability import recoverability
from entrabr_tui.core.text import UNSAFE_BEYOND_C0, display_text

#: Every character with a meaning in Markdown (links, images, emphasis, code, tables, headings, HTML,
#: entities): escaped with a backslash, so tenant text is never a link, an image or markup.
_MD_SPECIAL = re.compile(r"([\\`*_|<>\[\]()#~!&])")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: What an export writes for a property one side does not have.
ABSENT_TEXT = "(absent)"


def json_text(value: Any, *, indent: bool = False) -> str:
    """JSON text of ``value`` with every invisible or terminal-altering character as a ``\\u`` escape."""
    option = orjson.OPT_INDENT_2 if indent else 0
    text = orjson.dumps(value, option=option | orjson.OPT_NON_STR_KEYS, default=_json_default).decode()
    return UNSAFE_BEYOND_C0.sub(_json_escape, text)


def _json_escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code > 0xFFFF:  # a surrogate pair, as JSON writes characters beyond the BMP
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    return str(value)


def visible(text: str) -> str:
    """``text`` for a terminal: the display rule for tenant text (:func:`~entrabr_tui.core.text.display_text`,
    escape sequences as ``␛``, bidi and invisible characters as ``<U+202E>``), never cut."""
    return display_text(text, limit=None)


def csv_cell(text: str) -> str:
    """A tenant-supplied text cell that a spreadsheet will not evaluate as a formula and that cannot drive a
    terminal it is printed on: controls (ESC and so OSC/CSI sequences, C0, C1, NUL), bidi overrides and
    zero-width characters become visible escapes; a cell starting with ``=``, ``+``, ``-``, ``@``, tab or
    carriage return gets a leading ``'``."""
    if text.startswith(_FORMULA_START):
        text = "'" + text
    return visible(text)


def md_cell(value: object, width: int | None = None) -> str:
    """A Markdown table cell: one line, controls visible, every Markdown character escaped (so
    ``[x](javascript:…)`` is text, never a link); cut to ``width`` characters with ``…`` when given."""
    text = "" if value is None else str(value)
    text = visible(text.replace("\r\n", " ").replace("\n", " ").replace("\r", " "))
    if width is not None and len(text) > width:
        text = text[: width - 1] + "…"
    return _MD_SPECIAL.sub(r"\\\1", text)


def dt_text(value: datetime | None) -> str | None:
    """Graph's date format, or ``None``."""
    return None if value is None else format_datetime(value)


def changed_properties(change: Change) -> list[str]:
    """Names of the properties and links a change carries (annotations left out), in backup order."""
    names: list[str] = []
    seen: set[str] = set()
    for source in (change.delta, change.current):
        for key in source:
            name = str(key)
            if name.startswith("@") or ("@" in name and not name.endswith("@delta")) or name in seen:
                continue
            seen.add(name)
            names.append(name)
    return names


@dataclass(frozen=True, slots=True)
class PropertyValue:
    """One changed property or link of a change: its value in the backup and now (``ABSENT`` when that side
    does not carry it)."""

    name: str
    backup: Any
    current: Any


def property_values(change: Change) -> list[PropertyValue]:
    """The backup and current value of every property and link a change carries, in backup order."""
    return [PropertyValue(name, change.delta.get(name, ABSENT), change.current.get(name, ABSENT))
            for name in changed_properties(change)]


def value_text(value: Any) -> str:
    """One value, compact: strings as they are, lists and objects as one-line JSON, a missing one
    ``(absent)`` (controls are left for the medium's own escaping)."""
    return ABSENT_TEXT if value is ABSENT else format_value(value)


def property_json(item: PropertyValue) -> dict[str, Any]:
    """``{"name", "backup", "current"}``; a side that does not carry the property is left out."""
    data: dict[str, Any] = {"name": item.name}
    if item.backup is not ABSENT:
        data["backup"] = item.backup
    if item.current is not ABSENT:
        data["current"] = item.current
    return data


def is_recoverable(change: Change) -> bool | None:
    """Whether a restore would write anything for this change (:mod:`entrabr_tui.core.recoverability`;
    ``None``: unknown, its sync status is)."""
    return recoverability(change).flag


def answer_text(flag: bool | None, *, csv: bool = False) -> str:
    """A three-valued answer for a table: ``yes``/``no`` (``true``/``false`` in CSV) or ``unknown``."""
    if flag is None:
        return "unknown"
    return ("true" if flag else "false") if csv else ("yes" if flag else "no")


def change_summary_json(change: Change) -> dict[str, Any]:
    """The short JSON form of a change (no property values): what ``entrabr changes --json`` prints."""
    data: dict[str, Any] = {
        "id": change.id,
        "entityType": change.entity_type_raw,
        "action": change.action_raw,
        "displayName": change.display_name,
        "principalName": change.principal_name,
        "onPremisesSynced": change.sync.flag,
        "syncStatus": change.sync.value,
    }
    if change.failure_message is not None:
        data["failureMessage"] = change.failure_message
    if change.unreadable is not None:
        data["unreadable"] = change.unreadable
    return data


def change_json(change: Change) -> dict[str, Any]:
    """The full JSON form of a change in a report export (raw property sets included)."""
    data = change_summary_json(change)
    data["recoverable"] = is_recoverable(change)
    data["changedProperties"] = changed_properties(change)
    data["properties"] = [property_json(item) for item in property_values(change)]
    data["deltaFromCurrent"] = change.delta
    data["currentState"] = change.current
    if change.unreadable is not None:
        data["raw"] = change.raw  # kept exactly as the service sent it
    return data


def scope_json(scope: FilteringCriteria | None) -> dict[str, Any] | None:
    return None if scope is None else scope.to_json()


def scope_text(scope: FilteringCriteria | None) -> str:
    """``all``, ``types: user, group`` or ``ids: user 3, group 1``."""
    if scope is None:
        return "all"
    if isinstance(scope, EntityNamesFilter):
        return "types: " + ", ".join(scope.entity_types)
    return "ids: " + ", ".join(f"{t} {len(ids)}" for t, ids in scope.values)


def job_duration(job: Job) -> float | None:
    """Seconds from start to completion, when both are known."""
    if job.started is None or job.completed is None:
        return None
    return max(0.0, (job.completed - job.started).total_seconds())


def job_json(job: Job) -> dict[str, Any]:
    """A job as JSON: identity, status, dates, scope and every count the service reported."""
    return {
        "kind": job.kind.value,
        "id": job.id,
        "status": job.status_raw,
        "snapshotId": job.snapshot_id,
        "targetStateDateTime": dt_text(job.target_state),
        "started": dt_text(job.started),
        "completed": dt_text(job.completed),
        "durationSeconds": job_duration(job),
        "scope": scope_json(job.filtering),
        "totalChangedObjects": job.total_changed_objects,
        "totalChangedLinks": job.total_changed_links,
        "totalObjectsModified": job.total_objects_modified,
        "totalLinksModified": job.total_links_modified,
        "totalFailedChanges": job.total_failed_changes,
    }


def plan_hash(plan: RestorePlan, snapshot_id: str | None) -> str:
    """SHA-256 over the backup and the exact job scopes: two plans with the same hash do the same thing."""
    doc = {"snapshotId": snapshot_id, "jobs": [b.to_json() for b in plan.batches]}
    return hashlib.sha256(orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)).hexdigest()


