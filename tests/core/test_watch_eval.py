"""Evaluating the watch rules: the report profile, the baseline, findings, and the no-flapping rule."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from entrabr_tui.core.watch_eval import (
    ANY,
    TRANSITION_CAP,
    AuditEvent,
    AuditWindow,
    Baseline,
    FindingKind,
    FindingState,
    Tracked,
    Transition,
    evaluate,
    finding_id,
    scan_items,
    step,
)
from entrabr_tui.core.watch_rules import RuleSet, Selector, parse_rules, value_key

T = datetime(2026, 7, 28, 22, 0, tzinfo=UTC)

RULES = parse_rules("""
[[critical]]
name = "MFA policy"
type = "conditionalAccessPolicy"
objects = ["Require MFA for admins"]
[[threshold]]
name = "Mass disable"
type = "user"
action = "update"
property = "accountEnabled"
from = true
to = false
more_than = 3
severity = "critical"
[[threshold]]
name = "Many renames"
type = "user"
property = "displayName"
ratio = 2
min_count = 2
[[unusual]]
name = "Unusual"
ratio = 4
min_count = 5
[audit]
ignore_actors = ["housekeeping@contoso.com"]
""")


def user(i: int, delta: dict[str, Any], current: dict[str, Any], action: str = "update") -> dict[str, Any]:
    return {"id": f"u{i}", "entityTypeName": "user", "recoveryAction": action, "displayName": f"User {i}",
            "deltaFromCurrent": delta, "currentState": current}


def disabled(i: int) -> dict[str, Any]:
    return user(i, {"accountEnabled": True, "displayName": f"User {i}"},
                {"accountEnabled": False, "displayName": f"DISABLED - User {i}"})


def policy(name: str, backup_name: str | None = None, state: str = "enabled", object_id: str = "ca1"
           ) -> dict[str, Any]:
    delta: dict[str, Any] = {"state": state}
    if backup_name is not None:
        delta["displayName"] = backup_name
    return {"id": object_id, "entityTypeName": "conditionalAccessPolicy", "recoveryAction": "update",
            "displayName": name, "deltaFromCurrent": delta, "currentState": {"state": "disabled"}}


def test_profile_counts_types_actions_properties_and_value_pairs() -> None:
    items = [disabled(1), disabled(2), user(3, {"city": "Oslo"}, {"city": "Rome"}),
             user(4, {"members@delta": []}, {}, action="restore"), "not a change"]
    scan = scan_items(RuleSet(), enumerate(items, start=1))
    profile = scan.profile()
    assert scan.changes == 4 and scan.unreadable == 1
    assert profile.counts[("user", "update", "", ANY, ANY)] == 3
    assert profile.counts[("user", "update", "accountEnabled", ANY, ANY)] == 2
    assert profile.counts[("user", "update", "accountEnabled", "true", "false")] == 2
    assert profile.counts[("user", "restore", "members", ANY, ANY)] == 1
    assert profile.count(Selector("user", None, "accountEnabled", value_key(True), value_key(False))) == 2
    assert profile.count(Selector("user", "update")) == 3


def test_value_pairs_beyond_the_cap_keep_only_the_total() -> None:
    items = [user(i, {"jobTitle": f"T{i}"}, {"jobTitle": f"N{i}"}) for i in range(TRANSITION_CAP + 5)]
    profile = scan_items(RuleSet(), enumerate(items, start=1)).profile()
    assert ("user", "update", "jobTitle") in profile.capped
    assert profile.counts[("user", "update", "jobTitle", ANY, ANY)] == TRANSITION_CAP + 5
    assert profile.count(Selector("user", "update", "jobTitle", value_key("T1"), None)) is None
    assert profile.count(Selector("user", "update", "jobTitle")) == TRANSITION_CAP + 5


def test_findings_of_a_report_and_the_audit_log() -> None:
    items = [disabled(i) for i in range(5)] + [policy("Now renamed", backup_name="Require MFA for admins")]
    scan = scan_items(RULES, enumerate(items, start=1))
    quiet = scan_items(RULES, enumerate([user(9, {"displayName": "a"}, {"displayName": "b"})], start=1))
    baseline = Baseline((quiet.profile(),) * 3)
    deletes = (AuditEvent("r1", T, "Hard Delete user", "u77", "user", "Gone User", "rogue@contoso.com"),
               AuditEvent("r2", T, "Hard Delete user", "u78", "user", "Old", "housekeeping@contoso.com"))
    audit = AuditWindow(True, T, T, hard_deletes=deletes)
    findings = {f.kind: f for f in evaluate(RULES, scan, "job-1", baseline, audit)}
    critical = findings[FindingKind.CRITICAL_OBJECT]
    assert critical.id == finding_id("object", "conditionalAccessPolicy", "ca1")
    assert critical.detail["objects"][0]["positions"] == [6]
    assert critical.detail["properties"] == ["displayName", "state"]
    by_rule = {f.rule: f for f in evaluate(RULES, scan, "job-1", baseline, audit)}
    assert by_rule["Mass disable"].detail["count"] == 5
    assert [o["positions"][0] for o in by_rule["Mass disable"].detail["objects"]] == [1, 2, 3, 4, 5]
    assert by_rule["Many renames"].detail["baseline"] == 1.0  # 5 renames > 2 × 1
    hard = findings[FindingKind.HARD_DELETES]
    assert hard.detail["count"] == 1 and "Gone User" in hard.title  # the housekeeping purge is routine
    assert findings[FindingKind.UNUSUAL].detail["count"] >= 5
    # A quiet report of the same shape as the baseline finds nothing.
    assert evaluate(RULES, quiet, "job-2", baseline, AuditWindow(True, T, T)) == []


def test_ratio_rules_wait_for_a_baseline_and_audit_rules_for_the_log() -> None:
    scan = scan_items(RULES, enumerate([user(i, {"displayName": "a"}, {"displayName": "b"})
                                        for i in range(9)]))
    assert [f.rule for f in evaluate(RULES, scan, "j", Baseline(), None)] == []
    unavailable = AuditWindow(False, message="AuditLog.Read.All is missing",
                              hard_deletes=(AuditEvent("r", T, "Hard Delete user", "u", "user", "U", "x"),))
    assert evaluate(RULES, None, None, Baseline(), unavailable) == []


def test_audit_conditional_access_changes_join_the_report_finding_of_the_same_object() -> None:
    policy_id = "0c0a0000-0000-4000-8000-00000000ca01"
    rules = parse_rules(f"[[critical]]\nname='MFA'\ntype='conditionalAccessPolicy'\n"
                        f"objects=['{policy_id}']\n")
    scan = scan_items(rules, enumerate([policy("MFA policy", object_id=policy_id)], start=1))
    change = AuditEvent("r9", T, "Update Conditional Access policy", policy_id, "conditionalAccessPolicy",
                        "MFA policy", "attacker@contoso.com")
    other = AuditEvent("r10", T, "Update Conditional Access policy", "ca2", "conditionalAccessPolicy",
                       "Other", "admin@contoso.com")
    (found,) = evaluate(rules, scan, "j", Baseline(), AuditWindow(True, T, T, policy_changes=(change, other)))
    assert found.id == finding_id("object", "conditionalAccessPolicy", policy_id)
    assert found.detail["events"][0]["recordId"] == "r9" and found.detail["reportId"] == "j"
    assert "attacker@contoso.com" in found.title


def test_a_finding_alerts_only_when_seen_in_two_runs_in_a_row() -> None:
    state, event = step(None, True, 2, 2)
    assert state == Tracked(FindingState.PENDING, 1, 0) and event is None
    dropped, event = step(state, False, 2, 2)  # seen once, then gone: never alerts
    assert dropped is not None and dropped.state is FindingState.DROPPED and event is None
    again, _ = step(dropped, True, 2, 2)
    opened, event = step(again, True, 2, 2)
    assert opened is not None and opened.state is FindingState.OPEN and event is Transition.RAISED
    still, event = step(opened, True, 2, 2)
    assert still is not None and still.state is FindingState.OPEN and event is None
    missed, event = step(still, False, 2, 2)
    assert missed is not None and missed.state is FindingState.OPEN and event is None  # one miss: still open
    back, event = step(missed, True, 2, 2)
    assert back is not None and back.missed == 0 and event is None
    gone, _ = step(back, False, 2, 2)
    resolved, event = step(gone, False, 2, 2)
    assert resolved is not None and resolved.state is FindingState.RESOLVED and event is Transition.RESOLVED
    assert step(None, False, 2, 2) == (None, None)
    assert step(None, True, 1, 1)[1] is Transition.RAISED  # confirm = 1 alerts at once
