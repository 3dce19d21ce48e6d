"""RecoveryClient against the emulator over real loopback HTTP: every endpoint, roles, conflicts, recovery."""

from __future__ import annotations

import math
from typing import Any

import pytest

from entrabr_tui.core.model import (
    EntityNameAndIdsFilter,
    EntityNamesFilter,
    Job,
    JobKind,
    RecoveryStatus,
)
from entrabr_tui.graph import (
    AuthError,
    BadRequestError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    RecoveryClient,
)

from .conftest import BIG_DRIFT, ClientFactory, Control
from .polling import POLL, finish

VERSIONS = ["v1.0", "beta"]


async def leave_initialized(client: RecoveryClient, kind: JobKind, snapshot_id: str, job_id: str) -> Job:
    """Poll (bounded) until a slowly running job has left ``initialized``."""
    for _ in range(POLL["max_polls"]):
        job = await client.get_job(kind, snapshot_id, job_id)
        if job.status_raw != "initialized":
            return job
        await _tick()
    raise AssertionError("the job never left 'initialized'")


async def _tick() -> None:
    import asyncio

    await asyncio.sleep(POLL["interval"])


@pytest.mark.parametrize("version", VERSIONS)
async def test_snapshots(make_client: ClientFactory, version: str) -> None:
    client = make_client(version=version)
    snapshots = await client.list_snapshots()
    assert len(snapshots) == 7
    assert [s.created for s in snapshots] == sorted((s.created for s in snapshots), reverse=True)
    assert all(s.created.hour == 22 and s.created.tzinfo is not None for s in snapshots)
    one = await client.get_snapshot(snapshots[-1].id)
    assert one == snapshots[-1]
    with pytest.raises(NotFoundError) as missing:
        await client.get_snapshot("bm90LWEtc25hcHNob3Q=")
    assert missing.value.status == 404 and missing.value.request_id


@pytest.mark.parametrize("version", VERSIONS)
async def test_report_lifecycle_pages_and_job_lists(make_client: ClientFactory, version: str) -> None:
    client = make_client(version=version)
    snapshot = (await client.list_snapshots())[-1]
    scope = EntityNamesFilter(("user", "group"))
    created = await client.create_preview_job(snapshot.id, scope)
    assert created.location.endswith(f"/recoveryPreviewJobs/{created.id}")
    assert f"/{version}/" in created.location
    job = await finish(client, JobKind.PREVIEW, snapshot.id, created.id)
    assert job.status is RecoveryStatus.SUCCESSFUL and job.filtering == scope
    assert job.snapshot_id == snapshot.id

    pages = [page async for page in client.iter_change_pages(snapshot.id, created.id, top=7)]
    items = [item for page in pages for item in page.items]
    assert len(items) == job.total_changed_objects and len(items) > 7
    assert len(pages) == math.ceil(len(items) / 7) and all(len(p.items) <= 7 for p in pages)
    assert {item["entityTypeName"] for item in items} <= {"user", "group"}
    assert len({item["id"] for item in items}) == len(items)
    changes = pages[0].changes()
    assert changes[0].id == items[0]["id"] and changes[0].delta

    listed = await client.list_preview_jobs(snapshot.id)
    assert [j.id for j in listed] == [created.id] and listed[0].kind is JobKind.PREVIEW
    assert await client.list_recovery_jobs(snapshot.id) == []
    all_jobs = await client.list_jobs()
    assert [(j.id, j.kind) for j in all_jobs] == [(created.id, JobKind.PREVIEW)]


@pytest.mark.parametrize("version", VERSIONS)
async def test_scoped_recovery_and_failed_changes(make_client: ClientFactory, version: str) -> None:
    client = make_client(version=version)
    snapshot = (await client.list_snapshots())[-1]
    report = await client.create_preview_job(snapshot.id, EntityNamesFilter(("user",)))
    await finish(client, JobKind.PREVIEW, snapshot.id, report.id)
    users = await client.get_changes(snapshot.id, report.id)
    assert not any(c.on_premises_synced for c in users)  # reports do not say; the directory does
    status = await client.directory.lookup_sync_status(c.id for c in users)
    synced = [c for c in users if status[c.id] is True]
    cloud = [c for c in users if status[c.id] is False]
    assert synced and cloud
    chosen = (synced[0].id, cloud[0].id)
    restore = await client.create_recovery_job(snapshot.id, EntityNameAndIdsFilter((("user", chosen),)))
    job = await finish(client, JobKind.RECOVERY, snapshot.id, restore.id)
    assert job.kind is JobKind.RECOVERY and job.status is RecoveryStatus.SUCCESSFUL
    assert (job.total_objects_modified, job.total_failed_changes) == (1, 1)
    assert await client.get_recovery_job(snapshot.id, restore.id) == job
    failed = await client.get_failed_changes(snapshot.id, restore.id)
    assert [c.id for c in failed] == [synced[0].id]
    assert failed[0].failure_message and "on-premises" in failed[0].failure_message
    assert [j.id for j in await client.list_recovery_jobs(snapshot.id)] == [restore.id]
    kinds = {j.id: j.kind for j in await client.list_jobs()}
    assert kinds == {report.id: JobKind.PREVIEW, restore.id: JobKind.RECOVERY}


@pytest.mark.parametrize("version", VERSIONS)
async def test_cancel_and_conflict_naming_the_running_job(
    make_client: ClientFactory, control: Control, version: str
) -> None:
    control.config(job_speed=100.0)  # initialising takes 0.15 s, loading the backup 36 s
    client = make_client(version=version)
    snapshot = (await client.list_snapshots())[0]
    running = await client.create_preview_job(snapshot.id)
    seen = await leave_initialized(client, JobKind.PREVIEW, snapshot.id, running.id)
    # Prefer: include-unknown-enum-members is sent, so the late enum member arrives as itself.
    assert seen.status_raw == "loadingData" and seen.status is RecoveryStatus.LOADING_DATA

    with pytest.raises(ConflictError) as conflict:
        await client.create_recovery_job(snapshot.id)
    error = conflict.value
    assert error.status == 409 and error.running_job is not None
    assert (error.running_job.id, error.running_job.kind) == (running.id, JobKind.PREVIEW)
    assert running.id in error.message and "difference report" in error.message
    with pytest.raises(BadRequestError, match="rejected as invalid"):
        await client.get_changes(snapshot.id, running.id)

    location = await client.cancel_job(running.id, kind=JobKind.PREVIEW)
    assert location.endswith(f"/{version}/directory/recovery/jobs/{running.id}")
    control.config(job_speed=1e6)
    job = await finish(client, JobKind.PREVIEW, snapshot.id, running.id)
    assert job.status is RecoveryStatus.ABANDONED
    with pytest.raises(BadRequestError, match="already finished"):
        await client.cancel_job(running.id)
    with pytest.raises(NotFoundError):
        await client.cancel_job("00000000-0000-0000-0000-000000000000")
    again = await client.create_preview_job(snapshot.id)  # nothing runs any more
    await finish(client, JobKind.PREVIEW, snapshot.id, again.id)


async def test_paging_more_than_5000_changes_at_top_999(
    make_client: ClientFactory, big_emulator: Any
) -> None:
    client = make_client(server=big_emulator)
    snapshot = (await client.list_snapshots())[1]  # the incident happened after this backup
    created = await client.create_preview_job(snapshot.id)
    job = await finish(client, JobKind.PREVIEW, snapshot.id, created.id)
    ids: list[str] = []
    sizes: list[int] = []
    async for page in client.iter_change_pages(snapshot.id, created.id, top=999):
        sizes.append(len(page.items))
        ids.extend(item["id"] for item in page.items)
    assert len(ids) >= 5000 and len(ids) >= BIG_DRIFT * 0.9
    assert len(ids) == job.total_changed_objects
    assert len(set(ids)) == len(ids)
    assert sizes[:-1] == [999] * (len(sizes) - 1) and 0 < sizes[-1] <= 999
    assert len(sizes) == math.ceil(len(ids) / 999)


async def test_reader_runs_reports_but_cannot_restore(make_client: ClientFactory, control: Control) -> None:
    control.config(job_speed=1.0)  # the report stays running long enough to be cancelled
    client = make_client(role="reader")
    snapshot = (await client.list_snapshots())[0]
    assert await client.list_jobs() == []
    report = await client.create_preview_job(snapshot.id)
    location = await client.cancel_job(report.id, kind=JobKind.PREVIEW)
    assert location.endswith(f"/directory/recovery/jobs/{report.id}")
    assert (await client.get_preview_job(snapshot.id, report.id)).status is RecoveryStatus.ABANDONED
    with pytest.raises(ForbiddenError) as restore:
        await client.create_recovery_job(snapshot.id)
    assert restore.value.status == 403
    assert "Creating a restore needs the Entra Backup Administrator role" in restore.value.message
    assert "EntraBackup.ReadWrite.Recovery" in restore.value.needs


async def test_app_only_reads_but_every_write_is_forbidden(make_client: ClientFactory) -> None:
    admin, app = make_client(role="admin"), make_client(role="app")
    snapshot = (await app.list_snapshots())[-1]
    report = await admin.create_preview_job(snapshot.id, EntityNamesFilter(("group",)))
    await finish(app, JobKind.PREVIEW, snapshot.id, report.id)
    assert await app.get_changes(snapshot.id, report.id)
    for write in (app.create_preview_job(snapshot.id), app.create_recovery_job(snapshot.id)):
        with pytest.raises(ForbiddenError, match="app-only sign-in can only read"):
            await write
    with pytest.raises(ForbiddenError):
        await app.cancel_job(report.id, kind=JobKind.PREVIEW)


async def test_recovery_fixes_what_the_report_showed(make_client: ClientFactory) -> None:
    client = make_client(role="global")
    snapshot = (await client.list_snapshots())[-1]
    before = await client.create_preview_job(snapshot.id)
    await finish(client, JobKind.PREVIEW, snapshot.id, before.id)
    shown = await client.get_changes(snapshot.id, before.id)
    status = await client.directory.lookup_sync_status(c.id for c in shown)
    restore = await client.create_recovery_job(snapshot.id)
    job = await finish(client, JobKind.RECOVERY, snapshot.id, restore.id)
    failed = await client.get_failed_changes(snapshot.id, restore.id)
    messages = [c.failure_message or "" for c in failed]
    synced = {c.id for c in shown if status[c.id]}
    broken = {c.id for c in failed if "no longer exists" in (c.failure_message or "")}
    assert synced and broken, "the seeded tenant should have both kinds of failure"
    assert synced <= {c.id for c in failed}
    assert all(m for m in messages)
    # totalFailedChanges counts failed units (an object, or one link), so it is at least len(failed).
    assert job.total_failed_changes is not None and job.total_failed_changes >= len(failed)
    done = (job.total_objects_modified or 0) + (job.total_links_modified or 0) + job.total_failed_changes
    assert done == (job.total_changed_objects or 0) + (job.total_changed_links or 0)

    after = await client.create_preview_job(snapshot.id)
    await finish(client, JobKind.PREVIEW, snapshot.id, after.id)
    left = await client.get_changes(snapshot.id, after.id)
    assert 0 < len(left) < len(shown)
    # Deleted objects are not in the directory, so their sync status is unknown (None): a deleted
    # on-premises-synced user cannot be restored in the cloud and is left over too.
    still_deleted = {i for i, s in (await client.directory.lookup_sync_status(c.id for c in left)).items()
                     if s is None}
    assert {c.id for c in left} <= synced | broken | still_deleted
    assert {c.id for c in left} & synced
    for change in left:  # a broken link is all that is left of a fixed group (and its owner links,
        if change.id not in synced | still_deleted:  # which are shown but never recovered)
            assert set(change.delta) - {"@odata.type", "owners@delta"} == {"members@delta"}


async def test_bad_requests_and_missing_things(make_client: ClientFactory, emulator_server: Any) -> None:
    client = make_client()
    snapshot = (await client.list_snapshots())[0]
    duplicate = EntityNameAndIdsFilter((("user", ("a",)), ("user", ("b",))))
    with pytest.raises(BadRequestError):
        await client.create_preview_job(snapshot.id, duplicate)
    with pytest.raises(NotFoundError):
        await client.create_preview_job("bm90LWEtc25hcHNob3Q=")
    with pytest.raises(NotFoundError):
        await client.get_recovery_job(snapshot.id, "00000000-0000-0000-0000-000000000000")
    expired = RecoveryClient(_credential(emulator_server.token("admin", expires_in=-60)), client.base_url)
    async with expired:
        with pytest.raises(AuthError, match="Sign in again") as caught:
            await expired.list_snapshots()
    assert caught.value.status == 401


def _credential(token: str) -> Any:
    from .token_credential import StaticTokenCredential

    return StaticTokenCredential(token)
