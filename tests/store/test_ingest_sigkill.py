"""A download killed with SIGKILL at a seeded point resumes with the exact count, no duplicate, no gap."""

from __future__ import annotations

import math
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from entrabr_tui.store.cache import Cache
from entrabr_tui.store.cache_schema import change_table

from .synth import make_items, page_url

CHILD = Path(__file__).with_name("ingest_child.py")
COUNT, PAGE_SIZE = 30_000, 999
PAGES = math.ceil(COUNT / PAGE_SIZE)


def _run_child(seed: int, kill_after: int | None) -> tuple[int, list[str]]:
    """Run the child; with ``kill_after`` SIGKILL it right after it reports that many committed pages."""
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), str(COUNT), str(PAGE_SIZE), str(seed)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    assert proc.stdout is not None
    lines: list[str] = []
    for line in proc.stdout:
        lines.append(line.strip())
        if kill_after is not None:
            committed = int(line.split()[1]) if line.startswith("page ") else 0
            if (line.startswith("start") and kill_after == 0) or committed >= kill_after:
                proc.send_signal(signal.SIGKILL)
                break
    proc.wait(timeout=120)
    stderr = proc.stderr.read() if proc.stderr else ""
    assert proc.returncode in (0, -signal.SIGKILL), stderr
    return proc.returncode, lines


@pytest.mark.parametrize("seed", [3, 17, 41])
def test_sigkill_during_download_then_resume(seed: int) -> None:
    rng = random.Random(seed)
    # Two kills at seeded points (0 = before the first page; PAGES - 1 = while the last page is finalized).
    kill_points = sorted({rng.randint(0, PAGES - 1), rng.choice([rng.randint(1, PAGES - 1), PAGES - 1])})
    killed = 0
    for point in kill_points:
        code, lines = _run_child(seed, point)
        killed += code == -signal.SIGKILL
        assert "done" not in lines or code == 0
    assert killed >= 1
    code, lines = _run_child(seed, None)
    assert code == 0 and lines[-1] == "done"

    expected = make_items(COUNT, seed)
    cache = Cache.open("sigkill-tenant")
    try:
        report = cache.reports.for_job("job-sigkill")
        assert report is not None
        assert report.complete and report.indexed and report.search_ready
        assert report.pages == PAGES
        assert report.item_count == COUNT
        assert report.received_items == COUNT  # no page was stored twice
        assert report.duplicate_items == 0 and report.unreadable_items == 0
        assert cache.report_writer.resume_point(report.id) is None
        conn = cache.db.conn
        table = change_table(report.id)
        total, distinct = conn.execute(f"SELECT count(*), count(DISTINCT object_id) FROM {table}").fetchone()
        assert (total, distinct) == (COUNT, COUNT)
        ids = {row[0] for row in conn.execute(f"SELECT object_id FROM {table}")}
        assert ids == {item["id"] for item in expected}
        pages = conn.execute(
            "SELECT seq, source_url, item_count FROM report_page WHERE report_id = ? ORDER BY seq",
            (report.id,),
        ).fetchall()
        assert [p[0] for p in pages] == list(range(1, PAGES + 1))
        assert [p[1] for p in pages] == [page_url(i * PAGE_SIZE) for i in range(PAGES)]
        assert sum(p[2] for p in pages) == COUNT
        assert sum(n.count for n in cache.queries.counts(report.id)) == COUNT
        # service order, byte-for-byte content
        assert list(cache.queries.iter_raw_changes(report.id)) == expected
        needle = "kowalski"
        reference = sum(
            needle in item["displayName"].lower()
            or needle in item["currentState"].get("userPrincipalName", "").lower()
            for item in expected
        )
        assert cache.queries.count(report.id, text=needle) == reference > 0
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        cache.close()
