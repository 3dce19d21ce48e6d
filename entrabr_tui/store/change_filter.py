"""The filters of the change queries: the text rule and the column filters.

Text filter rule (everywhere): the text, case-insensitively, is contained in the display name or the UPN/mail,
or is a prefix of the object id. A name matches in the form it is shown in as well as raw
(:func:`~entrabr_tui.core.text.display_text`: a name shown as ``DISABLED - ␛Ann`` is found by
``DISABLED - ␛A``), so what the screen shows is what the filter finds.
:mod:`entrabr_tui.store.change_matcher` applies the rule to a report's rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from entrabr_tui.core.model import SyncStatus
from entrabr_tui.core.recoverability import Recoverable
from entrabr_tui.core.text import display_text
from entrabr_tui.store.cache_schema import RECOVERABLE_UNKNOWN
from entrabr_tui.store.codec import sync_to_db

#: Marks only the display form of a value holds (``<U+202E>``, ``␛``, ``␀`` …); a filter holding one is
#: answered by scanning, since the substring index holds raw values.
_DISPLAY_MARKS = frozenset("<>") | frozenset(chr(c) for c in range(0x2400, 0x2425))
#: A recoverable filter: ``True``/``False`` (yes/no), a :class:`Recoverable` (``UNKNOWN`` too), or ``None``.
RecoverableFilter = bool | Recoverable | None
#: A sync-status filter: ``True`` synced, ``False`` cloud, a :class:`SyncStatus`, or ``None``.
SyncFilter = bool | SyncStatus | None
#: The most object ids one ``ids`` filter may name (a watch alert lists at most a few hundred).
MAX_FILTER_IDS = 5_000


def _contains(needle: str, value: str) -> bool:
    if needle in value.lower():
        return True
    return not value.isprintable() and needle in display_text(value).lower()


def recoverable_clause(column: str, value: bool | Recoverable, *,
                       counts: bool = False) -> tuple[str, list[Any]]:
    """The condition on a ``recoverable`` column (``counts``: a ``node_count`` one, where unknown is -1)."""
    answer = value if isinstance(value, Recoverable) else Recoverable.YES if value else Recoverable.NO
    if answer is Recoverable.UNKNOWN:
        return (f"{column} = ?", [RECOVERABLE_UNKNOWN]) if counts else (f"{column} IS NULL", [])
    return f"{column} = ?", [int(answer is Recoverable.YES)]


def sync_clause(column: str, value: bool | SyncStatus) -> tuple[str, list[Any]]:
    """The condition on an ``on_prem`` column."""
    status = value if isinstance(value, SyncStatus) else SyncStatus.SYNCED if value else SyncStatus.CLOUD
    return f"{column} = ?", [sync_to_db(status)]


def text_matches(needle: str | None, name: str | None, principal: str | None, object_id: str | None) -> int:
    """The filter rule: ``needle`` (lower-cased) is in the name or UPN/mail (raw or as displayed), or is a
    prefix of the id.

    Registered in SQLite as ``ebr_match`` for the scanning query paths; the trigram index implements the
    same rule for its candidates (for a needle :func:`display_only` does not flag, a match in the display form
    is a match in the raw value too: the display rule only ever writes marks).
    """
    if not needle:
        return 1
    if name and _contains(needle, name):
        return 1
    if principal and _contains(needle, principal):
        return 1
    return 1 if object_id and object_id.lower().startswith(needle) else 0


def display_only(needle: str) -> bool:
    """``needle`` may match text that only the display form of a value holds (``<U+202E>``, ``␛``)."""
    return "u+" in needle or not _DISPLAY_MARKS.isdisjoint(needle)


def needle_of(text: str | None) -> str | None:
    """The text a filter looks for (trimmed, lower case); ``None`` when there is none."""
    needle = (text or "").strip().lower()
    return needle or None


def filter_clauses(
    report_id: int,
    entity_type: str | None,
    action: str | None,
    recoverable: RecoverableFilter,
    on_prem: SyncFilter,
    marked: bool | None,
    ids: Sequence[str] | None = None,
) -> tuple[list[str], list[Any]]:
    """``WHERE`` conditions (on the change table as ``c``) and their arguments for the column filters
    (``ids``: only the changes of these objects, compared exactly; an empty list matches nothing)."""
    where: list[str] = []
    args: list[Any] = []
    if ids is not None:
        wanted = list(dict.fromkeys(str(i) for i in ids))
        if len(wanted) > MAX_FILTER_IDS:
            raise ValueError(f"at most {MAX_FILTER_IDS:,} object ids filter a report, not {len(wanted):,}")
        where.append(f"c.object_id IN ({', '.join('?' for _ in wanted)})" if wanted else "0")
        args.extend(wanted)
    if entity_type is not None:
        where.append("c.entity_type = ?")
        args.append(str(entity_type))
    if action is not None:
        where.append("c.action = ?")
        args.append(str(action))
    for condition, values in (
        recoverable_clause("c.recoverable", recoverable) if recoverable is not None else ("", []),
        sync_clause("c.on_prem", on_prem) if on_prem is not None else ("", []),
    ):
        if condition:
            where.append(condition)
            args.extend(values)
    if marked is not None:
        where.append(
            f"c.object_id {'IN' if marked else 'NOT IN'} "
            "(SELECT object_id FROM restore_queue WHERE report_id = ?)"
        )
        args.append(report_id)
    return where, args
