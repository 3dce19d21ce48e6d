"""Child process for the SIGKILL test: downloads a synthetic report into the cache, page by page.

Usage: python ingest_child.py COUNT PAGE_SIZE SEED  (ENTRABR_HOME set by the parent). Prints one line per
committed page, so the parent can kill it at a chosen moment.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synth import make_items, page_url, recoverable_of, serve  # type: ignore[import-not-found]  # run as a script, beside synth

from entrabr_tui.store.cache import Cache


def main() -> int:
    count, page_size, seed = (int(a) for a in sys.argv[1:4])
    items = make_items(count, seed)
    cache = Cache.open("sigkill-tenant", recoverable=recoverable_of)
    report = cache.report_writer.begin_report(
        "job-sigkill", "snap-1", None, page_url(0), total_expected=count
    )
    url = cache.report_writer.resume_point(report.id)
    print(f"start {url}", flush=True)
    while url is not None:
        page, next_link = serve(items, url, page_size)
        result = cache.report_writer.ingest_page(report.id, page, next_link, url)
        print(f"page {result.report.pages}", flush=True)
        url = next_link
    print("done", flush=True)
    cache.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
