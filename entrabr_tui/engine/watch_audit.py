"""The directory audit log as ``entrabr watch`` reads it between backups.

:class:`AuditLogSource` is the watch's :class:`~entrabr_tui.engine.watch.AuditSource`, backed by the
session's :class:`~entrabr_tui.engine.audit.AuditService`: each run brings the cached log up to date through
the service's puller (the one HTTP path to the log: resumable, incremental — only what the cache lacks since
its watermark, minus the overlap — and within the request budget of 5 per 10 s), then reads from the cache the
records since the newest backup that the audit rules look at:

* hard deletes (``Hard Delete user``, ``Hard delete service principal`` …; the blind-spot kind
  ``hardDelete``): purged objects no report shows and no restore brings back;
* Conditional Access and named-location changes (``Add``/``Update``/``Delete Conditional Access policy``,
  ``… named location``), successful ones only.

A refusal (403: the permission or the audit role is missing), an outage or an offline session never raise:
the window comes back ``available`` false with a sentence that says what is missing, and the watch evaluates
everything else. The watch never waits for another entrabr process writing to the tenant (a restore, a
report download): it then reads the records the cache already holds, and says so (``message`` of an
available window).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson

from entrabr_tui.core.audit_model import Actor, time_to_us, us_to_time
from entrabr_tui.core.audit_names import activity_key
from entrabr_tui.core.watch_eval import AuditEvent, AuditWindow
from entrabr_tui.engine.audit import AuditService
from entrabr_tui.engine.audit_types import AuditUnavailableError, TenantBusyError
from entrabr_tui.engine.errors import EngineError
from entrabr_tui.graph.errors import GraphError
from entrabr_tui.store import Cache

#: Lower-case ``LIKE`` patterns of the policy activities (matched exactly afterwards).
POLICY_LIKE = ("%conditional access policy%", "%named location%")
#: Activity (as :func:`activity_key` reads it) → the report's type of its target.
POLICY_ACTIVITIES = {f"{verb} {what}": etype for verb in ("add", "update", "delete")
                     for what, etype in (("conditional access policy", "conditionalAccessPolicy"),
                                         ("named location", "namedLocationPolicy"))}
#: What follows "hard delete " in a hard delete's activity → the report's type of the purged object.
#: Modified properties that hold a whole policy (old and new JSON).
WHOLE_POLICY_PROPERTIES = frozenset({"ConditionalAccessPolicy", "NamedLocationPolicy"})
_BOOKKEEPING = frozenset({"modifiedDateTime", "createdDateTime", "id", "@odata.type"})
HARD_DELETED_TYPES = {"user": "user", "group": "group", "application": "application",
                      "service principal": "servicePrincipal"}


def _actor_keys(actor: Actor | None, key: str) -> tuple[str, ...]:
    if actor is None:
        return (key,) if key else ()
    names = (actor.key, actor.name, actor.display_name, actor.app_id, actor.service_principal_id)
    return tuple(n for n in names if n)


def _decoded(text: object) -> Any:
    if not isinstance(text, str):
        return None
    try:
        value = orjson.loads(text)
        return orjson.loads(value) if isinstance(value, str) and value[:1] in ("{", "[") else value
    except orjson.JSONDecodeError:
        return None


def changed_properties(props: Sequence[Sequence[Any]]) -> tuple[str, ...]:
    """The top-level properties a whole-policy record (``ConditionalAccessPolicy``, ``NamedLocationPolicy``:
    the policy's JSON before and after) changed, sorted; empty when the record does not say."""
    changed: set[str] = set()
    for name, old, new in props:
        if name not in WHOLE_POLICY_PROPERTIES:
            continue
        before, after = _decoded(old), _decoded(new)
        before = before if isinstance(before, dict) else {}
        after = after if isinstance(after, dict) else {}
        changed |= {k for k in before.keys() | after.keys()
                    if before.get(k) != after.get(k) and k not in _BOOKKEEPING}
    return tuple(sorted(changed))


def _event(row: Sequence[Any], object_type: str, actors: dict[str, Actor]) -> AuditEvent:
    target_id, _, name, at, record_id, activity, _, actor_key = row[:8]
    actor = actors.get(actor_key)
    label = actor.label if actor is not None else (actor_key or "unknown")
    return AuditEvent(record_id, us_to_time(int(at)), activity, target_id, object_type, name, label,
                      _actor_keys(actor, actor_key), changed_properties(row[10]))


def watch_events(cache: Cache, since: datetime) -> tuple[tuple[AuditEvent, ...], tuple[AuditEvent, ...]]:
    """The hard deletes and the policy changes the cache holds since ``since``, oldest first."""
    rows = cache.audit.target_rows(since_us=time_to_us(since), activity_like=POLICY_LIKE, hard_deletes=True)
    actors = cache.audit.actors({r[7] for r in rows if r[7]})
    hard: list[AuditEvent] = []
    policies: list[AuditEvent] = []
    for row in rows:
        key = activity_key(row[5])
        if row[9] == "hardDelete":
            what = key.removeprefix("hard delete").strip()
            hard.append(_event(row, HARD_DELETED_TYPES.get(what, ""), actors))
        elif key in POLICY_ACTIVITIES and str(row[8]).casefold() in ("success", ""):
            policies.append(_event(row, POLICY_ACTIVITIES[key], actors))
    return tuple(hard), tuple(policies)


class AuditLogSource:
    """The watch's audit source (see the module docstring): the session's audit service, read through the
    cache."""

    def __init__(self, audit: AuditService) -> None:
        self.audit = audit

    async def window(self, since: datetime) -> AuditWindow:
        """What the log says since ``since`` (the newest backup); ``available`` false, with the reason,
        when it cannot be read."""
        note = None
        try:
            await self.audit.refresh(since - self.audit.settings.margin, wait=False)
        except AuditUnavailableError as exc:
            return AuditWindow(False, since, message=exc.message)
        except TenantBusyError as exc:  # never wait on a restore or a report: read what the cache holds
            note = (f"The audit log was not brought up to date ({exc.message}): the cached records were "
                    "read.")
        except (GraphError, EngineError) as exc:  # an outage, offline …
            return AuditWindow(False, since, message=f"Reading the directory audit log failed: {exc}")
        covered, hard, policies = await asyncio.to_thread(self._read, since)
        if covered is None or covered < since:
            return AuditWindow(False, since, message=note or "The cache holds no audit log since the newest "
                               "backup")
        return AuditWindow(True, since, covered, hard, policies, message=note)

    def _read(self, since: datetime
              ) -> tuple[datetime | None, tuple[AuditEvent, ...], tuple[AuditEvent, ...]]:
        with self.audit.reader.locked() as cache:
            return cache.audit.state().covered_until, *watch_events(cache, since)
