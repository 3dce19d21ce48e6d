"""``watch`` reads the directory audit log between backups, through the session's audit cache, day after day
on the emulator (the session runs on the emulator's clock): a quiet day raises nothing, the seeded incident's
hard deletes and Conditional Access change alert only once two runs have seen them (a run that sees them once
raises nothing), they resolve once a backup holds the incident, and a second run of the same day reads
nothing again; a sign-in without an audit role still watches the report and says once what is missing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from entrabr_tui.core.audit_model import iso_to_us, time_to_us
from entrabr_tui.core.watch_eval import FindingKind
from entrabr_tui.core.watch_rules import RuleSet, parse_rules
from entrabr_tui.emulator import EmulatorServer
from entrabr_tui.engine import Session
from entrabr_tui.engine.prewarm import Prewarmer
from entrabr_tui.engine.watch import WatchResult
from entrabr_tui.engine.watch_audit import AuditLogSource
from entrabr_tui.store import StorePaths
from entrabr_tui.store.writer_lock import TenantLock, lock_path

from .conftest import Sleeper, sessions_on

NOW = datetime(2026, 3, 21, 9, 30, tzinfo=UTC)
#: The policy the scripted incident switches to report-only.
MFA_POLICY = "Require MFA for all users"
INCIDENT = {"compromisedAdmin", "rogueApp"}


def rules_text(ignore: str) -> str:
    return f"""
[[critical]]
name = "MFA policy"
type = "conditionalAccessPolicy"
objects = ["{MFA_POLICY}"]
properties = ["state"]

[audit]
hard_deletes = true
conditional_access = "critical"
ignore_actors = ["{ignore}"]
"""


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    """Daily drift, no incident yet; the audit log without latency or throttle (the client's budget is off
    too), records a page of 1,000."""
    with EmulatorServer(seed=11, objects=2000, job_speed=1e6, drift=0, now=NOW) as emu:
        httpx.post(f"{emu.base_url}/_emulator/config",
                   json={"audit_latency_s": 0, "audit_throttle_window_s": 0, "audit_page_size": 1000,
                         "audit_gap_fraction": 0}).raise_for_status()
        yield emu


@pytest.fixture
async def open_session(server: EmulatorServer, paths: StorePaths, sleeper: Sleeper
                       ) -> AsyncIterator[Callable[..., Awaitable[Session]]]:
    """Sessions on the emulator's clock, without an audit request budget."""
    async with sessions_on(server, paths, sleeper, emulator_clock=True) as make:
        yield make


def control(server: EmulatorServer, path: str, body: dict[str, Any]) -> None:
    httpx.post(f"{server.base_url}/_emulator/{path}", json=body, timeout=60).raise_for_status()


async def new_day(session: Session, server: EmulatorServer, *, incident: int = 0) -> None:
    control(server, "advance", {"days": 1})
    if incident:
        control(server, "incident", {"objects": incident})
    await Prewarmer(session).run()


def helpdesk_upn(server: EmulatorServer) -> str:
    """The helpdesk admin empties the recycle bin now and then: a routine purge the rules ignore."""
    (tom,) = [m for m in server.audit_truth()["cast"] if m.get("displayName") == "Tom Becker"]
    return str(tom["userPrincipalName"])


def by_kind(result: WatchResult) -> dict[FindingKind, list[Any]]:
    out: dict[FindingKind, list[Any]] = {}
    for tracked in result.findings:
        out.setdefault(tracked.finding.kind, []).append(tracked)
    return out


def generation(session: Session) -> int:
    with session.cache_reader.locked() as cache:
        return cache.audit.state().generation


async def test_the_incidents_hard_deletes_and_policy_change_alert_after_two_runs(
        open_session: Callable[..., Awaitable[Session]], server: EmulatorServer) -> None:
    session = await open_session()
    assert isinstance(session.audit_source, AuditLogSource)
    rules: RuleSet = parse_rules(rules_text(helpdesk_upn(server)), "rules.toml")
    await Prewarmer(session).run()

    await new_day(session, server)                                    # a quiet day: nothing, twice
    for _ in range(2):
        quiet = await session.watch(rules)
        assert quiet.audit is not None and quiet.audit.available and quiet.warnings == ()
        assert quiet.findings == () and quiet.raised == () and quiet.open == (), quiet.findings
    assert quiet.newest_backup is not None and quiet.audit is not None
    assert quiet.audit.since == quiet.newest_backup.created

    await new_day(session, server, incident=300)
    first = await session.watch(rules)                                # seen once: no alert yet
    kinds = by_kind(first)
    assert set(kinds) == {FindingKind.HARD_DELETES, FindingKind.CRITICAL_OBJECT}
    assert first.raised == () and all(t.state.value == "pending" for t in first.findings)
    read = generation(session)
    second = await session.watch(rules)
    assert generation(session) == read                               # the same day: nothing read again
    assert {a.kind for a in second.raised} == {"hard-deletes", "critical-object"} and len(second.open) == 2

    truth = server.audit_truth()
    cast = {m["key"]: m for m in truth["cast"]}
    backup = time_to_us(second.newest_backup.created) if second.newest_backup else 0
    purged = {oid for oid, events in truth["objects"].items()
              if any(e["activity"].startswith("Hard Delete") and e["logged"]
                     and (iso_to_us(e["activityDateTime"]) or 0) >= backup for e in events)}
    deletes = next(a for a in second.raised if a.kind == "hard-deletes")
    assert purged and {o["id"] for o in deletes.detail["objects"]} == purged
    assert {e["actor"] for e in deletes.detail["events"]} <= {
        f"{m['displayName']} (app)" if m["kind"] == "rogueApp" else m["userPrincipalName"]
        for m in cast.values() if m["kind"] in INCIDENT}
    policy = next(a for a in second.raised if a.kind == "critical-object")
    (event,) = policy.detail["events"]
    admin = next(m for m in cast.values() if m["kind"] == "compromisedAdmin")
    assert event["activity"].casefold() == "update conditional access policy"
    assert event["properties"] == ["state"]                          # what the record changed
    assert event["actor"] == admin["userPrincipalName"] and event["objectName"] == MFA_POLICY
    assert MFA_POLICY in policy.title and "audit record" in policy.title

    other = TenantLock(lock_path(session.cache.db.path))             # another entrabr writes the tenant:
    assert other.try_acquire("restore") is None                      # the watch reads the cache, no wait
    try:
        held = await session.watch(rules)
    finally:
        other.release()
    assert held.audit is not None and held.audit.available and len(held.open) == 2 and held.raised == ()
    assert any("not brought up to date" in n and "(restore" in n for n in held.notes)

    await new_day(session, server)                                    # the backup holds the incident now
    await session.watch(rules)
    resolved = await session.watch(rules)
    assert {a.kind for a in resolved.resolved} == {"hard-deletes", "critical-object"} and resolved.open == ()


async def test_a_sign_in_without_an_audit_role_watches_the_rest_and_says_what_is_missing(
        open_session: Callable[..., Awaitable[Session]], server: EmulatorServer) -> None:
    admin = await open_session()
    await Prewarmer(admin).run()
    await new_day(admin, server, incident=300)
    await admin.aclose()
    reader = await open_session("reader")
    rules = parse_rules(rules_text("nobody@example.com"), "rules.toml")
    result = await reader.watch(rules)
    assert result.audit is not None and not result.audit.available
    (warning,) = result.warnings                                     # said once
    assert "Reports Reader" in warning and "every other rule was evaluated" in warning
    assert not any("audit" in note.casefold() for note in result.notes)
    assert [t.finding.kind for t in result.findings] == [FindingKind.CRITICAL_OBJECT]   # from the report
    assert "events" not in result.findings[0].finding.detail
    assert result.run.audit is not None and result.run.audit.startswith("unavailable: ")


async def test_the_documented_example_rules_read_the_audit_log(
        open_session: Callable[..., Awaitable[Session]], server: EmulatorServer) -> None:
    example = Path(__file__).resolve().parents[2] / "docs" / "rules.example.toml"
    rules = parse_rules(example.read_text(encoding="utf-8"), str(example))
    session = await open_session()
    await Prewarmer(session).run()
    await new_day(session, server, incident=300)
    await session.watch(rules)
    result = await session.watch(rules)
    assert result.warnings == () and result.audit is not None and result.audit.available
    raised = {a.kind for a in result.raised}
    assert {"hard-deletes", "critical-object"} <= raised
    audited = {e["objectType"] for a in result.raised for e in a.detail.get("events", [])}
    assert {"conditionalAccessPolicy", "namedLocationPolicy"} <= audited   # the incident's two policy edits
