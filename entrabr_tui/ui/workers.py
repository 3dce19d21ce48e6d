"""Every background worker of the UI, by group, with the title its failure is reported under.

Workers are started with ``@work(group=...)`` or ``run_worker(..., group=...)`` on the app, a screen or a
widget; each of those reports the failures of its own workers (``Worker.StateChanged`` does not bubble) with
the title given here.
"""

from __future__ import annotations

from typing import Any

from textual.worker import Worker

WORKER_TITLES: dict[str, str] = {
    # The app: opening the tenant and the palette's session-wide actions.
    "connect": "Sign-in or connection failed",
    "reopen": "Reopening the tenant",
    "clear-cache": "Clear cache",
    "export": "Export failed",
    "theme": "Theme",
    "interrupted-restore": "Interrupted restore",
    "evidence": "Evidence pack not written",
    # The main screen: cache reads, the running job and the flows that wait for dialogs.
    "snapshots": "Backups",
    "slot": "Job slot",
    "counts": "Changes",
    "queue": "Restore queue",
    "marks": "Restore queue",
    "unmark-all": "Unmark all",
    "queue-poll": "Restore queue",
    "restore-marks": "Recent restores",
    "sync-status": "Sync status",
    "alert": "Opening the alert",
    "job": "Job",
    "report-flow": "New report",
    "restore-flow": "Restore",
    "restore-result": "Restore result",
    "cancel-flow": "Cancel job",
    "compare": "Compare backups",
    "quit": "Quit",
    # Panes and other screens.
    "tree-filter": "Filtering",
    "tree-page": "Loading changes",
    "row-details": "Reading object details",
    "diff": "Diff",
    "compare-page": "Loading the comparison",
    "history": "Loading history",
    # Who changed it: the audit flow, the grouped tree and the lens.
    "audit-group": "Reading the audit log",
    "audit-tag": "Tagging",
    "audit-window": "Mark a time window",
    "window-count": "Counting the time window",
    "group-probe": "Looking at the group's marks",
    "audit-status": "Counting what the report cannot show",
    "group-tree": "Grouping changes",
    "group-page": "Loading changes",
    "lens": "Not in this report",
}


def failure_title(worker: Worker[Any]) -> str:
    """The title a failure of ``worker`` is reported under."""
    return WORKER_TITLES.get(worker.group) or worker.description or worker.name or "Error"

