"""Benchmark of restore planning and of the staleness comparison.

* Planning: 300,000 queued changes (users mostly, then groups, applications, service principals,
  Conditional Access policies; some objects with two changes; a tenth of each type left unmarked) planned
  with every option compared and estimated (:func:`entrabr_tui.core.plan_options.plan_choices`, after
  :func:`~entrabr_tui.core.planner.object_records`), the estimate model learnt from 50 past jobs. Target
  < 2 s. Also timed: gathering the plan's inputs from the 300,000 change objects themselves
  (:class:`~entrabr_tui.engine.plans.PlanInputs`: records, names and the reviewed fingerprints).
* Staleness: 100,000 reviewed objects compared with a fresh preview of them (a few hundred moved, some now
  matching the backup): fingerprints of the fresh changes, then the comparison. Target < 2 s.

Prints figures and ratios; the last line is one JSON object.

    .venv/bin/python bench/plan.py [--changes 300000] [--objects 100000] [--repeat 3] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from entrabr_tui.core.model import Change, SyncStatus
from entrabr_tui.core.plan_options import DurationModel, TypeFacts, plan_choices
from entrabr_tui.core.planner import QueuedChange, object_records
from entrabr_tui.core.recoverability import RECOVERABLE, SYNC_UNKNOWN
from entrabr_tui.core.review import compare_reviewed, object_fingerprints
from entrabr_tui.engine.plans import PlanInputs

TYPES = (("user", 0.80), ("group", 0.10), ("application", 0.04), ("servicePrincipal", 0.04),
         ("conditionalAccessPolicy", 0.02))
ACTIONS = ("update", "update", "update", "restore", "softDelete")
TARGET_S = 2.0


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _type(rng: random.Random) -> str:
    roll = rng.random()
    total = 0.0
    for name, share in TYPES:
        total += share
        if roll < total:
            return name
    return TYPES[0][0]


def queued_records(count: int, rng: random.Random) -> list[QueuedChange]:
    """``count`` queued changes; one in twenty objects has a second change."""
    records: list[QueuedChange] = []
    while len(records) < count:
        object_id = _uuid(rng)
        entity_type = _type(rng)
        action = rng.choice(ACTIONS)
        verdict = SYNC_UNKNOWN if entity_type in ("user", "group") and rng.random() < 0.05 else RECOVERABLE
        records.append(QueuedChange(object_id, entity_type, action, verdict))
        if rng.random() < 0.05 and len(records) < count:
            records.append(QueuedChange(object_id, entity_type, "update", verdict))
    return records


def change(object_id: str, entity_type: str, title: str, current: str) -> Change:
    """A change object of a few properties and a link, as a report holds them."""
    odata = f"#microsoft.graph.{entity_type}"
    return Change.from_json({
        "id": object_id, "entityTypeName": entity_type, "recoveryAction": "update",
        "displayName": f"Object {object_id[:8]}",
        "deltaFromCurrent": {"@odata.type": odata, "jobTitle": title, "department": "Finance",
                             "accountEnabled": True,
                             "members@delta": [{"@odata.type": "#microsoft.graph.user",
                                                "id": object_id[:8]}]},
        "currentState": {"@odata.type": odata, "jobTitle": current, "department": "Sales",
                         "accountEnabled": False},
    }).with_sync(SyncStatus.CLOUD)


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median seconds of ``repeat`` runs, and the last result."""
    times = []
    result: Any = None
    for _ in range(repeat):
        began = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times), result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=300_000)
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)

    # -- planning ------------------------------------------------------------------------------------------
    records = queued_records(args.changes, rng)
    counts: dict[str, int] = {}
    for record in records:
        counts[record.entity_type] = counts.get(record.entity_type, 0) + 1
    facts = {t: TypeFacts(t, n + n // 10, tuple(_uuid(rng) for _ in range(n // 10)))
             for t, n in counts.items()}
    past = [(rng.randrange(50, 5000), rng.uniform(200, 4000)) for _ in range(50)]

    def plan() -> Any:
        model = DurationModel(tenant_objects=1_500_000, backup_loaded=True).refined(past)
        return plan_choices(object_records(records), facts, model, kept_object_ids={records[0].id})

    plan_s, choices = timed(plan, args.repeat)
    now = datetime(2026, 7, 28, 1, 0, tzinfo=UTC)
    lines = [option.line(now) for option in choices.options]

    changes = [change(r.id, r.entity_type, "Engineer", "Intruder") for r in records]
    inputs_s, inputs = timed(lambda: PlanInputs.of(changes), 1)

    # -- staleness -----------------------------------------------------------------------------------------
    reviewed_changes = list({c.id: c for c in changes}.values())[:args.objects]  # one change per object
    reviewed = object_fingerprints(reviewed_changes)
    fresh_changes = []
    moved = gone = 0
    for position, item in enumerate(reviewed_changes):
        if position % 500 == 0:
            gone += 1
            continue  # fixed by hand meanwhile: no longer in the preview
        if position % 300 == 0:
            moved += 1
            item = change(item.id, item.entity_type_raw, "Engineer", "Changed again")
        fresh_changes.append(item)
    fingerprint_s, fresh = timed(lambda: object_fingerprints(fresh_changes), args.repeat)
    compare_s, staleness = timed(lambda: compare_reviewed(reviewed, fresh, ["user"]), args.repeat)
    staleness_s = fingerprint_s + compare_s

    figures = {
        "queued_changes": len(records),
        "objects_planned": sum(len(t.ids) for t in choices.chosen.plan.types),
        "plan_with_options_s": round(plan_s, 3),
        "plan_target_s": TARGET_S,
        "plan_ratio_to_target": round(plan_s / TARGET_S, 3),
        "plan_changes_per_s": round(len(records) / plan_s),
        "jobs_by_option": {o.choice.value: o.estimate.jobs for o in choices.options},
        "default_option": choices.default.value,
        "plan_inputs_from_changes_s": round(inputs_s, 3),
        "reviewed_fingerprints": len(inputs.reviewed),
        "staleness_objects": len(reviewed),
        "staleness_fingerprints_s": round(fingerprint_s, 3),
        "staleness_compare_s": round(compare_s, 3),
        "staleness_total_s": round(staleness_s, 3),
        "staleness_target_s": TARGET_S,
        "staleness_ratio_to_target": round(staleness_s / TARGET_S, 3),
        "staleness_moved": len(staleness.moved),
        "staleness_gone": len(staleness.gone),
    }
    assert len(staleness.moved) == moved and len(staleness.gone) == gone
    print(f"planning {len(records):,} queued changes with every option and its estimate: {plan_s:.3f} s "
          f"(target < {TARGET_S:.0f} s: {plan_s / TARGET_S:.2f} of it), "
          f"{len(records) / plan_s:,.0f} changes/s")
    for line in lines:
        print(f"  {line}")
    print(f"plan inputs gathered from {len(changes):,} change objects (records, names, fingerprints): "
          f"{inputs_s:.3f} s")
    print(f"staleness of {len(reviewed):,} objects: fingerprints of the fresh preview {fingerprint_s:.3f} s "
          f"+ comparison {compare_s:.3f} s = {staleness_s:.3f} s (target < {TARGET_S:.0f} s: "
          f"{staleness_s / TARGET_S:.2f} of it); {len(staleness.moved):,} moved, "
          f"{len(staleness.gone):,} gone")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
