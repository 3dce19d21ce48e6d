"""Recovery: move live objects back to their snapshot values, the way the service does.

Objects first (restores bring members back before links are re-created), then links. On-premises-synced
objects are never changed (the whole change fails); a link to a member that no longer exists, or is still
deleted, fails on its own. Every change contributes one object unit (modified, or failed) plus one unit per
link (modified, or failed), which is what makes the job totals add up.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from entrabr_tui.emulator import catalog as c
from entrabr_tui.emulator.changes import RESTORE, SOFT_DELETE, Change
from entrabr_tui.emulator.history import DELETED, History


@dataclass(slots=True)
class Failure:
    """What failed in one change: the whole object (``object_failed``) and/or some of its links."""

    change: Change
    message: str
    object_failed: bool
    failed_links: list[tuple[str, int, bool]] = field(default_factory=list)

    @property
    def units(self) -> int:
        """Failed units: 1 for the object part (if it failed) + 1 per failed link."""
        return int(self.object_failed) + len(self.failed_links)


@dataclass(slots=True)
class Applied:
    """Totals of one recovery pass."""

    objects: int
    links: int
    failures: list[Failure]


def apply_changes(hist: History, changes: list[Change], now: str) -> Applied:
    """Apply ``changes`` (as computed against the target snapshot) to the live tenant."""
    objects = links = 0
    failures: list[Failure] = []
    object_ok: dict[int, bool] = {}
    for ch in changes:
        if ch.onprem:
            failures.append(Failure(ch, c.ONPREM_FAILURE, True, list(ch.links)))
            continue
        if ch.action == SOFT_DELETE:
            hist.soft_delete(ch.idx, now)
        elif ch.action == RESTORE:
            hist.write(ch.idx, {**ch.props, DELETED: None})
        elif ch.props:
            hist.write(ch.idx, dict(ch.props))
        object_ok[ch.idx] = ch.action != "update" or bool(ch.props)
    for ch in changes:
        if ch.onprem:
            continue
        failed: list[tuple[str, int, bool]] = []
        messages: list[str] = []
        done = 0
        for link in ch.links:
            member_id, u, add = link
            if add and not hist.alive(u):
                failed.append(link)
                exists = bool(hist.value(u, "_exists"))
                why = c.deleted_link_failure if exists else c.missing_link_failure
                messages.append(why(member_id))
                continue
            hist.set_member(ch.idx, u, add)
            done += 1
        links += done
        ok = object_ok[ch.idx] or done > 0
        objects += ok
        if failed or not ok:
            failures.append(Failure(ch, " ".join(messages), not ok, failed))
    failures.sort(key=lambda f: (f.change.entity_type, f.change.id))
    return Applied(objects, links, failures)
