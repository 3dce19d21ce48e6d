"""``entrabr status``: one row per tenant profile from the caches (no sign-in), and the session's own tenant
with the job slot read fresh."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from entrabr_tui.core.model import EntityNameAndIdsFilter
from entrabr_tui.emulator import EmulatorServer
from entrabr_tui.graph.client import RecoveryClient
from entrabr_tui.graph.credentials import EmulatorCredential

from .helpers import Result, cli


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    emulator = EmulatorServer(seed=5, objects=600, job_speed=100_000, drift=0)
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()


def run(*argv: str, expect: int = 0) -> Result:
    result = cli(*argv)
    assert result.code == expect, (result.code, result.stderr, result.stdout[-2000:])
    return result


def write_config(home: Path, server: EmulatorServer) -> None:
    folder = home / "config"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.toml").write_text(
        "[[profiles]]\n"
        'name = "lab"\n'
        'tenant_id = "lab.onmicrosoft.com"\n'  # a domain: the cache is found by the name noted in it
        'auth_method = "emulator"\n'
        f'graph_url = "{server.graph_url()}"\n'
        "[[profiles]]\n"
        'name = "fresh"\n'
        'tenant_id = "00000000-0000-0000-0000-00000000beef"\n', encoding="utf-8")


def rows_by_profile(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    assert doc["schema"] == "entrabr.status/1"
    return {row["profile"]: row for row in doc["tenants"]}


def test_status_lists_every_profile_from_the_caches(server: EmulatorServer, entrabr_home: Path) -> None:
    write_config(entrabr_home, server)
    run("--profile", "lab", "prewarm", "-q", "--json")
    run("--profile", "lab", "jobs", "-q", "--json")
    rows = rows_by_profile(run("status", "--all-profiles", "--json").json())
    assert list(rows) == ["lab", "fresh"]
    lab = rows["lab"]
    assert lab["problem"] is None and lab["backups"] == 7
    assert lab["lastReport"]["complete"] and lab["lastReport"]["changes"] > 0
    assert lab["openAlerts"] == [] and lab["lastWatch"] is None
    assert lab["slot"]["holder"] is None and lab["slot"]["seen"] is not None
    assert rows["fresh"]["problem"].startswith("no cache yet") and rows["fresh"]["backups"] == 0
    text = run("status", "--all-profiles").stdout
    assert "lab" in text and "fresh" in text and "no cache yet" in text and "free" in text


async def _foreign_restore(server: EmulatorServer, snapshot: str) -> str:
    """Another administrator starts a restore that holds the slot for hours."""
    httpx.post(f"{server.base_url}/_emulator/config", json={"job_speed": 1.0}, timeout=30).raise_for_status()
    credential = EmulatorCredential(server.base_url, "admin")
    client = RecoveryClient(credential, server.graph_url())
    try:
        scope = EntityNameAndIdsFilter((("user", ("00000000-0000-0000-0000-000000000001",)),))
        return (await client.create_recovery_job(snapshot, scope)).id
    finally:
        await client.aclose()
        await credential.close()


def test_status_of_the_session_tenant_reads_the_job_slot_fresh(server: EmulatorServer) -> None:
    flags = ["--graph-url", server.graph_url(), "--auth", "emulator", "-q"]
    (row,) = run("status", *flags, "--json").json()["tenants"]
    assert row["slot"]["holder"] is None and row["lastReport"] is None and row["backups"] == 7
    snapshots = run("snapshots", *flags, "--json").json()["snapshots"]
    job = asyncio.run(_foreign_restore(server, snapshots[0]["id"]))
    (row,) = run("status", *flags, "--json").json()["tenants"]
    assert row["slot"]["holderKind"] == "restore" and job in row["slot"]["text"]
