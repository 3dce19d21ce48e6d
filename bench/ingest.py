"""Ingest benchmark: difference-report changes from the emulator through ``RecoveryClient``.

Starts ``python -m entrabr_tui emulator`` in a separate process (incident drift of ``--changes`` objects,
fast jobs), runs one difference report, then reads every change page through ``RecoveryClient`` (bytes
through the kiota adapter + orjson), decoding and discarding each page. For comparison it reads a sample
through msgraph-sdk's typed models (``RecoveryChangeObjectBase``, stock ``Entity`` deserializers) in a
fresh subprocess. Prints changes/s for both, their ratio and peak RSS; the last line is one JSON object.

    .venv/bin/python bench/ingest.py                 # 200,000 changes, typed sample of ~2,000
    .venv/bin/python bench/ingest.py --changes 20000 --sample 500
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TARGET_CHANGES_PER_S = 60_000
URL_RE = re.compile(r"(http://[0-9.]+:\d+)")


def peak_rss_mb() -> float:
    """Peak resident set size of this process (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class StaticToken:
    """Async credential handing out one emulator token."""

    token: str

    async def get_token(self, *scopes: str, **_: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken(self.token, int(time.time()) + 3600)

    async def close(self) -> None:
        return None

    async def __aenter__(self) -> StaticToken:
        return self

    async def __aexit__(self, *_: object) -> None:
        return None


# -- the emulator process --------------------------------------------------------------------------------


#: ``python -m entrabr_tui emulator ...``; the emulator's own entry point if the top-level command fails.
LAUNCHERS = (
    ["-m", "entrabr_tui", "emulator"],
    ["-c", "import sys; from entrabr_tui.emulator.cli import main; sys.exit(main(sys.argv[1:]))"],
)


def start_emulator(args: argparse.Namespace) -> tuple[subprocess.Popen[str], str, float]:
    options = [
        "--port", "0", "--seed", str(args.seed),
        "--objects", str(args.objects or max(2000, int(args.changes * 1.25))),
        "--drift", str(args.changes), "--job-speed", "1e9",
    ]
    seen: list[str] = []
    for launcher in LAUNCHERS:
        began = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, *launcher, *options],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            seen.append(line.rstrip())
            match = URL_RE.search(line)
            if match:
                return proc, match.group(1), time.perf_counter() - began
        proc.wait(timeout=10)
    raise SystemExit("the emulator did not start:\n" + "\n".join(seen[-20:]))


def stop_emulator(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# -- our path ------------------------------------------------------------------------------------------


async def prepare_report(graph_url: str, token: str) -> tuple[str, str, int, float]:
    """Run one difference report on the newest backup; return its ids, size and the wait."""
    from entrabr_tui.core.model import JobKind
    from entrabr_tui.graph import RecoveryClient

    async with RecoveryClient(StaticToken(token), graph_url) as client:
        snapshot = (await client.list_snapshots())[0]
        began = time.perf_counter()
        created = await client.create_preview_job(snapshot.id)
        job = await client.wait_for_job(
            JobKind.PREVIEW, snapshot.id, created.id, interval=0.05, max_polls=12_000
        )
        if not job.is_terminal or job.status_raw != "successful":
            raise SystemExit(f"the difference report did not succeed: {job.status_raw}")
        return snapshot.id, created.id, job.total_changed_objects or 0, time.perf_counter() - began


async def ingest_ours(graph_url: str, token: str, snapshot_id: str, job_id: str) -> tuple[int, int, float]:
    """Read all pages through RecoveryClient (bytes + orjson), discarding each: (changes, pages, s)."""
    from entrabr_tui.graph import RecoveryClient

    async with RecoveryClient(StaticToken(token), graph_url) as client:
        changes = pages = 0
        began = time.perf_counter()
        async for page in client.iter_change_pages(snapshot_id, job_id, top=999):
            changes += len(page.items)
            pages += 1
        return changes, pages, time.perf_counter() - began


# -- the typed SDK path (run in a fresh subprocess: stock Entity deserializers) ------------------------


def typed_worker(graph_url: str, token: str, snapshot_id: str, job_id: str, sample: int) -> dict[str, Any]:
    from dataclasses import dataclass as model

    from kiota_abstractions.method import Method
    from kiota_abstractions.request_information import RequestInformation
    from msgraph.generated.models.base_collection_pagination_count_response import (
        BaseCollectionPaginationCountResponse,
    )
    from msgraph.generated.models.entity import Entity
    from msgraph.generated.models.entra_recovery_services.recovery_change_object_base import (
        RecoveryChangeObjectBase,
    )
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError

    from entrabr_tui.graph.adapter import _PATCH_MARK, build_graph_client
    from entrabr_tui.graph.requests import GET_CHANGES_TEMPLATE, function_url

    assert not getattr(Entity.get_field_deserializers, _PATCH_MARK, False), "Entity must be unpatched here"

    @model
    class ChangeCollectionResponse(BaseCollectionPaginationCountResponse):
        value: list[RecoveryChangeObjectBase] | None = None

        @staticmethod
        def create_from_discriminator_value(parse_node: Any) -> ChangeCollectionResponse:
            return ChangeCollectionResponse()

        def get_field_deserializers(self) -> dict[str, Any]:
            fields: dict[str, Any] = {
                "value": lambda n: setattr(
                    self, "value", n.get_collection_of_object_values(RecoveryChangeObjectBase)
                )
            }
            fields.update(super().get_field_deserializers())
            return fields

    async def run() -> dict[str, Any]:
        graph, http = build_graph_client(StaticToken(token), graph_url)
        adapter = graph.request_adapter
        errors: dict[str, Any] = {"XXX": ODataError}

        async def fetch(url: str) -> Any:
            info = RequestInformation(Method.GET)
            info.url = url
            info.headers.try_add("Accept", "application/json")
            return await adapter.send_async(info, ChangeCollectionResponse, errors)

        try:
            began = time.perf_counter()  # one-off: the first Entity call imports ~1,200 model modules
            await fetch(function_url(graph_url, GET_CHANGES_TEMPLATE, snapshot_id, job_id, top=1))
            warmup = time.perf_counter() - began
            top = math.ceil(sample / math.ceil(sample / 999))  # equal pages of at most 999
            url: str | None = function_url(graph_url, GET_CHANGES_TEMPLATE, snapshot_id, job_id, top=top)
            parsed: list[Any] = []
            began = time.perf_counter()
            while url and len(parsed) < sample:
                page = await fetch(url)
                parsed.extend(page.value or [])
                url = page.odata_next_link
            seconds = time.perf_counter() - began
        finally:
            await http.aclose()
        assert parsed and all(isinstance(c, RecoveryChangeObjectBase) and c.id for c in parsed)
        return {"changes": len(parsed), "seconds": seconds, "warmup_s": warmup, "peak_rss_mb": peak_rss_mb()}

    return asyncio.run(run())


def run_typed(graph_url: str, token: str, snapshot_id: str, job_id: str, sample: int) -> dict[str, Any]:
    command = [sys.executable, __file__, "--typed-worker", graph_url, token, snapshot_id, job_id, str(sample)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1800, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the typed-SDK worker failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


# -- main -----------------------------------------------------------------------------------------------


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--typed-worker":
        url, token, snapshot_id, job_id, sample = sys.argv[2:7]
        print(json.dumps(typed_worker(url, token, snapshot_id, job_id, int(sample))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=200_000, help="incident drift (changes to read)")
    parser.add_argument("--objects", type=int, default=0, help="tenant size (default 1.25 x changes)")
    parser.add_argument("--sample", type=int, default=2_000, help="changes read through the typed SDK")
    parser.add_argument("--runs", type=int, default=3, help="timed passes over all changes (median)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    proc, base_url, start_s = start_emulator(args)
    try:
        graph_url = f"{base_url}/v1.0"
        token = httpx.get(f"{base_url}/_emulator/token", params={"role": "admin"}, timeout=30).json()[
            "access_token"
        ]
        print(f"emulator: {base_url} (ready in {start_s:.1f} s)")
        snapshot_id, job_id, total, wait_s = asyncio.run(prepare_report(graph_url, token))
        print(f"difference report: {total:,} changed objects (job done in {wait_s:.1f} s)")
        passes = [asyncio.run(ingest_ours(graph_url, token, snapshot_id, job_id)) for _ in range(args.runs)]
        changes, pages = passes[0][0], passes[0][1]
        if any(p[0] != changes for p in passes) or changes != total:
            raise SystemExit(f"inconsistent change counts: {[p[0] for p in passes]} vs {total}")
        seconds = statistics.median(p[2] for p in passes)
        ours_rate = changes / seconds
        ours_rss = peak_rss_mb()
        print(f"ours (adapter bytes + orjson): {changes:,} changes in {pages} pages, median {seconds:.2f} s "
              f"of {args.runs} -> {ours_rate:,.0f} changes/s; peak RSS {ours_rss:.0f} MB")
        typed = run_typed(graph_url, token, snapshot_id, job_id, args.sample)
        typed_rate = typed["changes"] / typed["seconds"]
        print(f"typed SDK (RecoveryChangeObjectBase, stock Entity): {typed['changes']:,} changes in "
              f"{typed['seconds']:.2f} s -> {typed_rate:,.0f} changes/s (first-call imports "
              f"{typed['warmup_s']:.2f} s, not counted); peak RSS {typed['peak_rss_mb']:.0f} MB")
        ratio = ours_rate / typed_rate
        print(f"ratio ours / typed: {ratio:,.0f}x; target {TARGET_CHANGES_PER_S:,} changes/s: "
              f"{'met' if ours_rate >= TARGET_CHANGES_PER_S else 'NOT met'}")
        result = {
            "changes": changes,
            "pages": pages,
            "ours_seconds": round(seconds, 3),
            "ours_changes_per_s": round(ours_rate),
            "ours_peak_rss_mb": round(ours_rss, 1),
            "typed_changes": typed["changes"],
            "typed_seconds": round(typed["seconds"], 3),
            "typed_changes_per_s": round(typed_rate, 1),
            "typed_warmup_s": round(typed["warmup_s"], 3),
            "typed_peak_rss_mb": round(typed["peak_rss_mb"], 1),
            "ratio": round(ratio, 1),
            "target_changes_per_s": TARGET_CHANGES_PER_S,
            "meets_target": ours_rate >= TARGET_CHANGES_PER_S,
            "emulator_start_s": round(start_s, 2),
            "job_wait_s": round(wait_s, 2),
        }
    finally:
        stop_emulator(proc)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
