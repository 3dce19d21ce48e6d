"""Where watch alerts go: a JSON document, a webhook (plain JSON, or a Microsoft Teams message with an
Adaptive Card), and a Prometheus textfile.

* :func:`alerts_document`: ``entrabr.alerts/1``, what the webhook posts and what ``watch --json`` prints
  (``docs/cli.md`` documents it).
* :func:`teams_message`: a ``message`` whose one attachment is an Adaptive Card (``application/vnd.microsoft.
  card.adaptive``, card version 1.2), the payload Microsoft documents for Teams incoming webhooks and that the
  Teams Workflows webhook trigger ("Send webhook alerts to a channel") takes as well. Tenant text goes into
  ``TextBlock`` and ``FactSet`` text, where Teams reads a subset of Markdown: it is escaped, so a name cannot
  make a link or a heading.
* :func:`post_webhook`: one POST, a bounded wait, no retries beyond one for a throttled or failing endpoint;
  the URL is never printed (it holds a secret), only its host.
* :func:`prometheus_text` / :func:`write_prometheus`: gauges per tenant (open alerts by severity, each open
  alert, pending findings, the last run, the newest backup's age, the report's change counts), written
  atomically for the node exporter's textfile collector; no object names go into it.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from entrabr_tui.engine.export_files import replace_text_file
from entrabr_tui.engine.export_records import dt_text
from entrabr_tui.engine.watch import WatchResult
from entrabr_tui.store.watch_store import StoredAlert

ALERTS_SCHEMA = "entrabr.alerts/1"
#: Seconds a webhook may take to answer.
WEBHOOK_TIMEOUT = 15.0
#: Alerts listed one by one in a Teams card (the rest are counted).
CARD_ALERTS = 10
#: Mode of the metrics file: the node exporter usually runs as another user (no object names are in it).
METRICS_MODE = 0o644


class WebhookError(Exception):
    """The webhook did not take the alerts (the message names the host, never the URL)."""


def alert_json(alert: StoredAlert, *, state: str) -> dict[str, Any]:
    """One alert in ``entrabr.alerts/1`` (``state``: ``new``, ``open`` or ``resolved``)."""
    detail = alert.detail
    return {"id": alert.id, "state": state, "rule": alert.rule, "kind": alert.kind,
            "severity": alert.severity, "title": alert.title, "opened": dt_text(alert.opened),
            "resolved": dt_text(alert.resolved),
            "reportId": detail.get("reportId"), "count": detail.get("count"),
            "objects": detail.get("objects", []), "events": detail.get("events", [])}


def alerts_document(result: WatchResult, *, tenant: str, profile: str | None) -> dict[str, Any]:
    """The ``entrabr.alerts/1`` document of a run (new, still open and resolved alerts)."""
    new_ids = {a.id for a in result.raised}
    alerts = [alert_json(a, state="new" if a.id in new_ids else "open") for a in result.open]
    alerts += [alert_json(a, state="resolved") for a in result.resolved]
    report = result.report
    return {
        "schema": ALERTS_SCHEMA, "tenant": tenant, "profile": profile, "at": dt_text(result.at),
        "report": None if report is None else {"id": report.job_id, "snapshotId": report.snapshot_id,
                                               "backupTime": dt_text(result.backup.created) if result.backup
                                               else None},
        "baselineReports": result.baseline_reports,
        "audit": None if result.audit is None else {
            "available": result.audit.available, "since": dt_text(result.audit.since),
            "message": result.audit.message},
        "counts": {"new": len(result.raised), "open": len(result.open), "resolved": len(result.resolved),
                   "pending": sum(1 for f in result.findings if f.state.value == "pending")},
        "alerts": alerts,
        "notes": [*result.warnings, *result.notes],
    }


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|>~<])")


def card_text(value: object) -> str:
    """Tenant text for an Adaptive Card text field: one line, Markdown characters escaped."""
    text = " ".join(str(value).split())
    return _MARKDOWN.sub(r"\\\1", text)


def teams_message(document: Mapping[str, Any]) -> dict[str, Any]:
    """A Teams ``message`` with one Adaptive Card made from an ``entrabr.alerts/1`` document."""
    alerts: Sequence[Mapping[str, Any]] = document["alerts"]
    counts = document["counts"]
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "size": "Medium", "weight": "Bolder", "wrap": True,
         "text": card_text(f"entrabr watch: {counts['new']} new, {counts['open']} open, "
                           f"{counts['resolved']} resolved alert(s)")},
        {"type": "FactSet", "facts": [
            {"title": "Tenant", "value": card_text(document["tenant"])},
            *([{"title": "Profile", "value": card_text(document["profile"])}]
              if document.get("profile") else []),
            {"title": "At", "value": card_text(document["at"])},
        ]},
    ]
    for alert in alerts[:CARD_ALERTS]:
        colour = {"critical": "Attention", "warning": "Warning"}.get(str(alert["severity"]), "Default")
        body.append({"type": "Container", "separator": True, "items": [
            {"type": "TextBlock", "wrap": True, "weight": "Bolder", "color": colour,
             "text": card_text(f"{str(alert['state']).upper()} · {alert['severity']} · {alert['title']}")},
            {"type": "TextBlock", "wrap": True, "isSubtle": True, "spacing": "None",
             "text": card_text(f"{alert['id']} · rule {alert['rule']}")},
        ]})
    if len(alerts) > CARD_ALERTS:
        body.append({"type": "TextBlock", "wrap": True, "isSubtle": True,
                     "text": card_text(f"and {len(alerts) - CARD_ALERTS} more "
                                       "(entrabr watch --json lists all)")})
    card = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
            "version": "1.2", "body": body}
    return {"type": "message", "attachments": [
        {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}]}


def url_host(url: str) -> str:
    """Where a webhook goes, for messages (the path and query hold its secret)."""
    parts = urlsplit(url)
    return parts.hostname or "(no host)"


async def post_webhook(url: str, payload: Mapping[str, Any], *, timeout: float = WEBHOOK_TIMEOUT,
                       transport: httpx.AsyncBaseTransport | None = None) -> int:
    """POST ``payload`` as JSON; returns the status. A 429 or 5xx is tried once more after a second;
    anything but 2xx after that is :class:`WebhookError`."""
    host = url_host(url)
    if urlsplit(url).scheme not in ("https", "http"):
        raise WebhookError("The webhook must be an http(s) URL.")
    async with httpx.AsyncClient(timeout=timeout, transport=transport, follow_redirects=False) as client:
        for attempt in (1, 2):
            try:
                response = await client.post(url, json=dict(payload),
                                              headers={"User-Agent": "entrabr-watch"})
            except httpx.HTTPError as exc:
                if attempt == 2:
                    raise WebhookError(f"The webhook at {host} could not be reached: "
                                       f"{type(exc).__name__}.") from None
                continue
            if (response.status_code == 429 or response.status_code >= 500) and attempt == 1:
                await asyncio.sleep(1.0)
                continue
            if not 200 <= response.status_code < 300:
                raise WebhookError(f"The webhook at {host} answered {response.status_code}.")
            return response.status_code
    raise WebhookError(f"The webhook at {host} did not take the alerts.")


def _label(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _line(name: str, labels: Mapping[str, object], value: float) -> str:
    inner = ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())
    number = repr(float(value)) if not float(value).is_integer() else str(int(value))
    return f"{name}{{{inner}}} {number}"


def prometheus_text(result: WatchResult, *, tenant: str, profile: str | None,
                    report_counts: Iterable[tuple[str, str, int]] = ()) -> str:
    """Metrics of a run in the Prometheus text format (see the module docstring)."""
    base = {"tenant": tenant, **({"profile": profile} if profile else {})}
    lines: list[str] = []

    def gauge(name: str, help_text: str, rows: Iterable[tuple[Mapping[str, object], float]]) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} gauge")
        lines.extend(_line(name, {**base, **labels}, value) for labels, value in rows)

    by_severity = {s: 0 for s in ("critical", "warning", "info")}
    for alert in result.open:
        by_severity[alert.severity] = by_severity.get(alert.severity, 0) + 1
    gauge("entrabr_watch_alerts_open", "Open watch alerts by severity.",
          [({"severity": s}, n) for s, n in by_severity.items()])
    gauge("entrabr_watch_alert", "One series per open alert (1).",
          [({"alert_id": a.id, "rule": a.rule, "severity": a.severity, "kind": a.kind}, 1)
           for a in result.open])
    gauge("entrabr_watch_findings_pending", "Findings seen, not yet in enough runs in a row to alert.",
          [({}, sum(1 for f in result.findings if f.state.value == "pending"))])
    gauge("entrabr_watch_last_run_timestamp_seconds", "When the last watch run ended (Unix time).",
          [({}, result.at.timestamp())])
    if result.newest_backup is not None:
        gauge("entrabr_backup_newest_age_seconds", "Age of the newest backup at the last watch run.",
              [({}, max(0.0, (result.at - result.newest_backup.created).total_seconds()))])
    gauge("entrabr_watch_audit_available", "Whether the last run could read the audit log (1) or not (0).",
          [({}, 1 if result.audit is not None and result.audit.available else 0)])
    rows = [({"entity_type": t, "action": a}, n) for t, a, n in report_counts]
    if rows:
        gauge("entrabr_report_changes", "Change objects of the watched report by type and action.", rows)
    return "\n".join(lines) + "\n"


def write_prometheus(path: Path, text: str) -> None:
    """Put the metrics at ``path`` atomically (the collector never reads half a file)."""
    replace_text_file(path, text, mode=METRICS_MODE)
