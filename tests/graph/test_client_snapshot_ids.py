"""Snapshot ids are opaque: the client works the same whether the service makes them from epoch seconds
(live) or from ISO timestamps (Microsoft's documentation examples), so it never derives or decodes them."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from entrabr_tui.core.model import JobKind, RecoveryStatus
from entrabr_tui.emulator import EmulatorServer

from .conftest import SMALL_TENANT, ClientFactory
from .polling import finish


@pytest.fixture(scope="module")
def iso_module_server() -> Iterator[Any]:
    with EmulatorServer(**SMALL_TENANT, snapshot_id_style="iso") as server:
        yield server


@pytest.fixture
def iso_server(iso_module_server: Any) -> Any:
    """The documentation-style emulator, reset (no jobs)."""
    httpx.post(f"{iso_module_server.base_url}/_emulator/reset", timeout=30).raise_for_status()
    return iso_module_server


@pytest.mark.parametrize("version", ["v1.0", "beta"])
async def test_the_client_treats_snapshot_ids_as_opaque(make_client: ClientFactory, iso_server: Any,
                                                        version: str) -> None:
    epoch, iso = make_client(version=version), make_client(version=version, server=iso_server)
    epoch_snaps, iso_snaps = await epoch.list_snapshots(), await iso.list_snapshots()
    assert [s.created for s in iso_snaps] == [s.created for s in epoch_snaps]
    assert all(a.id != b.id for a, b in zip(epoch_snaps, iso_snaps, strict=True))
    for snap in iso_snaps:  # the documentation's style: base64 of the ISO timestamp
        assert base64.b64decode(snap.id).decode() == snap.created.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert await iso.get_snapshot(snap.id) == snap
    results = []
    for client, snapshot in ((epoch, epoch_snaps[-1]), (iso, iso_snaps[-1])):
        created = await client.create_preview_job(snapshot.id)
        job = await finish(client, JobKind.PREVIEW, snapshot.id, created.id)
        assert job.status is RecoveryStatus.SUCCESSFUL and job.target_state == snapshot.created
        changes = await client.get_changes(snapshot.id, created.id)
        results.append(sorted((c.id, c.action.value) for c in changes))
        assert [j.id for j in await client.list_preview_jobs(snapshot.id)] == [created.id]
    assert results[0] == results[1] and results[0]


async def test_a_job_knows_its_backup_whatever_the_id_style(make_client: ClientFactory,
                                                            iso_server: Any) -> None:
    client = make_client(server=iso_server)
    snapshot = (await client.list_snapshots())[0]
    created = await client.create_preview_job(snapshot.id)
    job = await finish(client, JobKind.PREVIEW, snapshot.id, created.id)
    assert job.snapshot_id == snapshot.id
    assert [j.snapshot_id for j in await client.list_preview_jobs(snapshot.id)] == [snapshot.id]
    [listed] = await client.list_jobs()  # not under a snapshot path: unknown, never made up
    assert listed.id == created.id and listed.snapshot_id is None
