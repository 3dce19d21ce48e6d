"""What the terminal app shows for one ``entrabr watch`` alert (``entrabr --open AL-…``): the report the alert
was found in and the objects, type, action and property its rule matched.

An alert keeps its finding's evidence (:class:`~entrabr_tui.store.watch_store.StoredAlert` ``detail``): the
report (``reportId``), the objects (id, type, name, positions; at most
:data:`~entrabr_tui.core.watch_eval.EVIDENCE_OBJECTS`), the threshold or unusual-count ``selector``, and for a
critical object its ``action`` and ``properties``. An unusual count lists no objects: they are found again by
reading the report's changes of that type and action that touch the property (at most
:data:`~entrabr_tui.core.watch_eval.EVIDENCE_OBJECTS`).

An alert that cannot be shown raises :class:`AlertNotShownError`, whose message says why (unknown id,
resolved, an audit-log alert with no report, the report no longer cached).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from entrabr_tui.core.watch_eval import EVIDENCE_OBJECTS
from entrabr_tui.core.watch_rules import Selector
from entrabr_tui.engine.errors import EngineError
from entrabr_tui.store.watch_store import StoredAlert

if TYPE_CHECKING:  # (these load the Graph SDK: the app imports this module and paints before it is loaded)
    from entrabr_tui.engine.cache_reader import CacheReader
    from entrabr_tui.engine.reports import ReportInfo

#: An alert id as ``entrabr watch`` prints it (:func:`~entrabr_tui.engine.watch.alert_id`).
ALERT_ID = re.compile(r"AL-[0-9a-f]{10}")


def is_alert_id(text: str) -> bool:
    """``text`` has the form of an alert id (``AL-`` and 10 lower-case hex digits)."""
    return ALERT_ID.fullmatch(text) is not None


class AlertNotShownError(EngineError):
    """The alert cannot be opened in the app; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class AlertView:
    """One open alert as the app shows it: its report, the objects its rule matched (``object_ids``, at most
    :data:`~entrabr_tui.core.watch_eval.EVIDENCE_OBJECTS`) of ``matched`` changes, and the type, action and
    property the rule named (``None``: any)."""

    alert_id: str
    title: str
    rule: str
    severity: str
    opened: datetime
    report: ReportInfo
    object_ids: tuple[str, ...]
    matched: int
    entity_type: str | None = None
    action: str | None = None
    prop: str | None = None

    @property
    def listed_all(self) -> bool:
        """Every change the rule matched is among ``object_ids``."""
        return len(self.object_ids) >= self.matched


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


class AlertViews:
    """Builds :class:`AlertView` s from the watch store and the cached report (blocking; on the session's
    cache reader)."""

    def __init__(self, reader: CacheReader) -> None:
        self._reader = reader

    def view(self, alert_id: str) -> AlertView:
        """The view of open alert ``alert_id``; :class:`AlertNotShownError` saying why it cannot be shown."""
        wanted = alert_id.strip()
        if not is_alert_id(wanted):
            raise AlertNotShownError(f"{wanted!r} is not an alert id: alert ids look like AL-0123456789 "
                                     "('entrabr watch' and 'entrabr status' list them).")
        with self._reader.locked() as cache:
            alert = cache.watch.alert(wanted)
        if alert is None:
            raise AlertNotShownError(f"No alert {wanted} is in this tenant's cache ('entrabr watch' lists "
                                     "the open alerts of the tenant it watches).")
        if not alert.is_open:
            assert alert.resolved is not None
            raise AlertNotShownError(f"Alert {wanted} was resolved at {alert.resolved:%Y-%m-%d %H:%MZ}: "
                                     "its finding was not seen again ('entrabr history --action "
                                     "alert-resolved').")
        return self._open_view(alert)

    def _open_view(self, alert: StoredAlert) -> AlertView:
        detail = alert.detail
        report_id = _text(detail.get("reportId"))
        if report_id is None:
            raise AlertNotShownError(f"Alert {alert.id} comes from the directory audit log, not from a "
                                     "difference report: no report shows it ('entrabr watch --json' lists "
                                     "its audit records).")
        from entrabr_tui.engine.cache_reader import UnknownReportError
        from entrabr_tui.engine.reports import ReportInfo

        try:
            report = ReportInfo.of(self._reader.resolve(report_id))
        except UnknownReportError:
            raise AlertNotShownError(f"The difference report {report_id} alert {alert.id} was found in is no "
                                     "longer in the cache.") from None
        selector = self._selector(detail)
        objects = [o for o in detail.get("objects", []) if isinstance(o, Mapping) and _text(o.get("id"))]
        ids = list(dict.fromkeys(str(o["id"]) for o in objects))
        entity_type = selector.entity_type if selector else _text(objects[0].get("type")) if objects else None
        action = selector.action if selector else _text(detail.get("action"))
        prop = selector.prop if selector else None
        if not ids and selector is not None:
            ids = self._matching(report.report_id, selector)
        if not ids:
            raise AlertNotShownError(f"Alert {alert.id} names no object of the report {report_id}.")
        count = detail.get("count")
        matched = count if isinstance(count, int) and count > len(ids) else len(ids)
        properties = [p for p in detail.get("properties", []) if isinstance(p, str)]
        if prop is None and len(properties) == 1:
            prop = properties[0]
        return AlertView(alert.id, alert.title, alert.rule, alert.severity, alert.opened, report, tuple(ids),
                         matched, entity_type, action, prop)

    @staticmethod
    def _selector(detail: Mapping[str, Any]) -> Selector | None:
        data = detail.get("selector")
        if not isinstance(data, Mapping) or not _text(data.get("type")):
            return None
        try:
            return Selector.from_json(data)
        except (KeyError, TypeError, ValueError):
            return None

    def _matching(self, report_id: int, selector: Selector) -> list[str]:
        """Objects of the report whose change ``selector`` matches (an unusual count lists none)."""
        found: dict[str, None] = {}
        with self._reader.locked() as cache:
            items = cache.queries.iter_positioned_raw(report_id, entity_type=selector.entity_type,
                                                      action=selector.action)
            for _position, item in items:
                if not isinstance(item, Mapping):
                    continue
                delta, current = item.get("deltaFromCurrent"), item.get("currentState")
                if not isinstance(delta, Mapping):
                    continue
                etype, action = str(item.get("entityTypeName", "")), str(item.get("recoveryAction", ""))
                if selector.matches(etype, action, delta, current if isinstance(current, Mapping) else {}):
                    found[str(item.get("id", ""))] = None
                    if len(found) >= EVIDENCE_OBJECTS:
                        break
        found.pop("", None)
        return list(found)
