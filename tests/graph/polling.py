"""Bounded polling of emulator jobs for RecoveryClient tests."""

from __future__ import annotations

from typing import Any

from entrabr_tui.core.model import Job, JobKind
from entrabr_tui.graph import RecoveryClient

POLL: dict[str, Any] = {"interval": 0.005, "max_polls": 4000}


async def finish(client: RecoveryClient, kind: JobKind, snapshot_id: str, job_id: str) -> Job:
    job = await client.wait_for_job(kind, snapshot_id, job_id, **POLL)
    assert job.is_terminal, f"job {job_id} still {job.status_raw} after {POLL['max_polls']} polls"
    return job
