"""The evidence pack tells the incident from the directory audit log: after the incident's actors' changes
are restored on the demo incident, its first bad change is the emulator's earliest incident record on an
object put back (time and actor), its actors are the incident's, in JSON, Markdown and HTML, and the manifest
verifies; a sign-in that may not read the log gets a pack that says so instead."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from entrabr_tui.core.audit_model import iso_to_us, time_to_us
from entrabr_tui.emulator import EmulatorServer
from entrabr_tui.engine import Session
from entrabr_tui.engine.audit_types import ChangeGroup
from entrabr_tui.engine.evidence import EvidenceBuilder, verify_manifest, write_pack
from entrabr_tui.store import StorePaths

from .conftest import Sleeper, sessions_on

NOW = datetime(2026, 3, 21, 9, 30, tzinfo=UTC)
INCIDENT = {"compromisedAdmin", "rogueApp"}


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    """The demo incident after the newest backup; the log with a 5% gap, no latency, no throttle."""
    with EmulatorServer(seed=11, objects=3000, job_speed=1e6, now=NOW) as emu:
        httpx.post(f"{emu.base_url}/_emulator/config",
                   json={"audit_latency_s": 0, "audit_gap_fraction": 0.05, "audit_throttle_window_s": 0,
                         "audit_page_size": 1000}).raise_for_status()
        yield emu


@pytest.fixture
async def open_session(server: EmulatorServer, paths: StorePaths, sleeper: Sleeper
                       ) -> AsyncIterator[Callable[..., Awaitable[Session]]]:
    """Sessions on the emulator's clock, without an audit request budget."""
    async with sessions_on(server, paths, sleeper, emulator_clock=True) as make:
        yield make


def ids_of(truth: dict[str, Any]) -> dict[str, str]:
    """Emulator actor key -> the id the audit log keys it by."""
    return {m["key"]: (m.get("id") or m["servicePrincipalId"]).lower() for m in truth["cast"]}


async def restore_the_incident(session: Session, server: EmulatorServer, *, by_actor: bool = True
                               ) -> tuple[set[str], datetime]:
    """Restore every change of the incident's actors (as an admin would after grouping by actor), or without
    the audit log every recoverable change; returns the objects put back and the backup's time."""
    snapshot = next(e for e in await session.snapshots() if not e.expired).snapshot
    info = await session.ensure_report(snapshot.id)
    if by_actor:
        await session.pull_audit(info.id)
        kinds = {ids_of(server.audit_truth())[m["key"]]: m["kind"] for m in server.audit_truth()["cast"]}
        for actor in session.audit_actors(info.id):
            if kinds.get(actor.key) in INCIDENT:
                session.mark_group(info.id, ChangeGroup(actor=actor.key))
    else:
        session.mark_where(info.id, recoverable=True)
    plan = session.plan()
    result = await session.restore(plan)
    assert result.objects_modified > 0
    return {i.lower() for i in plan.ids}, snapshot.created


async def test_the_first_bad_change_and_the_actors_are_the_incidents(
        open_session: Callable[..., Awaitable[Session]], server: EmulatorServer, tmp_path: Path) -> None:
    session = await open_session()
    since = session.clock() - timedelta(minutes=1)
    restored, backup = await restore_the_incident(session, server)
    pack = await EvidenceBuilder(session).build(since)

    truth = server.audit_truth()
    cast = {m["key"]: m for m in truth["cast"]}
    kind_of = {m["key"]: m["kind"] for m in truth["cast"]}
    ids = ids_of(truth)
    incident_events = sorted(
        ((iso_to_us(e["activityDateTime"]) or 0, e) for oid, events in truth["objects"].items()
         if oid.lower() in restored for e in events
         if e["logged"] and e["result"] == "success" and kind_of.get(e["actorKey"]) in INCIDENT
         and (iso_to_us(e["activityDateTime"]) or 0) >= time_to_us(backup)), key=lambda p: p[0])
    expected_at, expected = incident_events[0]
    assert pack.incident is not None and pack.audit_message is None
    first = pack.incident.first
    assert first is not None and time_to_us(first.at) == expected_at
    assert first.actor.key == ids[expected["actorKey"]] and first.record_id == expected["id"]
    assert {a.actor.key for a in pack.incident.actors} == {ids[k] for k, m in cast.items()
                                                           if m["kind"] in INCIDENT}
    assert sum(a.changes for a in pack.incident.actors) == pack.incident.restored - pack.incident.unexplained
    rogue = next(a for a in pack.incident.actors if a.actor.kind == "app")
    assert rogue.changes >= 60 and rogue.first is not None and rogue.last is not None
    assert rogue.first <= rogue.last and rogue.actor.label == "Azure AD Sync Helper (app)"
    step = next(e for e in pack.timeline if e.step == "first bad change")
    assert step.at == first.at and step.actor == first.actor.label
    assert [e.at for e in pack.timeline] == sorted(e.at for e in pack.timeline)

    folder = tmp_path / "pack"
    write_pack(pack, folder)
    assert verify_manifest(folder) == []
    document = json.loads((folder / "evidence.json").read_text(encoding="utf-8"))
    assert document["audit"]["available"] is True
    assert document["firstBadChange"]["recordId"] == expected["id"]
    assert document["firstBadChange"]["actorKey"] == ids[expected["actorKey"]]
    assert {a["actor"] for a in document["incidentActors"]} == {a.actor.label for a in pack.incident.actors}
    assert all({"actor", "app", "changes", "first", "last"} <= set(a) for a in document["incidentActors"])
    markdown = (folder / "evidence.md").read_text(encoding="utf-8")
    page = (folder / "evidence.html").read_text(encoding="utf-8")
    for text, record in ((markdown, expected["id"].replace("_", "\\_")), (page, expected["id"])):
        assert "First bad change" in text and record in text and "Azure AD Sync Helper" in text


async def test_a_pack_without_the_audit_log_says_so(
        open_session: Callable[..., Awaitable[Session]], server: EmulatorServer, tmp_path: Path) -> None:
    admin = await open_session()
    since = admin.clock() - timedelta(minutes=1)
    await restore_the_incident(admin, server, by_actor=False)         # the cache holds no audit log
    await admin.aclose()
    reader = await open_session("reader")                            # and this sign-in may not read it
    pack = await EvidenceBuilder(reader).build(since)
    assert pack.incident is None and pack.audit_message is not None and "Reports Reader" in pack.audit_message
    assert not any(e.step == "first bad change" for e in pack.timeline)
    assert any("not in this pack" in note and "Reports Reader" in note for note in pack.notes)
    folder = tmp_path / "pack"
    write_pack(pack, folder)
    assert verify_manifest(folder) == []
    document = json.loads((folder / "evidence.json").read_text(encoding="utf-8"))
    assert document["firstBadChange"] is None and document["incidentActors"] == []
    assert document["audit"]["available"] is False and "Reports Reader" in document["audit"]["message"]
    for name in ("evidence.md", "evidence.html"):
        text = (folder / name).read_text(encoding="utf-8")
        assert text.count("Not available: ") == 2 and "Reports Reader" in text


async def test_the_pack_says_its_read_of_the_audit_log_while_another_process_holds_the_tenant(
        open_session: Callable[..., Awaitable[Session]], server: EmulatorServer, sleeper: Sleeper,
        tmp_path: Path) -> None:
    """Building a pack reads the audit log of the report's window, which waits while another entrabr process
    holds the tenant: the pack's audit progress hears each look at the lock (who holds it), then the read's
    end, and the pack is written once the other lets go; the words are the ones the command line says."""
    from entrabr_tui.engine.audit_types import AuditProgress
    from entrabr_tui.engine.evidence import write_evidence
    from entrabr_tui.store.writer_lock import TenantLock, lock_path

    session = await open_session()
    since = session.clock() - timedelta(minutes=1)
    await restore_the_incident(session, server)
    other = TenantLock(lock_path(session.cache.db.path))
    assert other.try_acquire("restore", now=NOW.replace(hour=9, minute=5)) is None
    before = len(sleeper.delays)

    async def release_later(count: int) -> None:
        if count == before + 2:
            other.release()

    sleeper.hook = release_later
    events: list[AuditProgress] = []
    steps: list[str] = []
    paths = await write_evidence(session, tmp_path / "pack", since, lambda _s, _n, text: steps.append(text),
                                 events.append)
    held = [e for e in events if e.tenant_held]
    assert len(held) == 2 and all(e.announced and e.phase == "waiting" for e in held)
    assert held[0].told(session.tenant) == (f"Tenant {session.tenant}: another entrabr (restore, pid "
                                            f"{os.getpid()} on {socket.gethostname()}, since 09:05Z) is "
                                            "writing to this tenant's cache; waiting…")
    assert events[-1].phase == "done" and events[-1].announced and not events[-1].tenant_held
    assert events.index(held[-1]) < len(events) - 1                  # the read went on once it was let go
    assert len(steps) == 3 and len(paths) == 4 and verify_manifest(tmp_path / "pack") == []

