"""Child process for the audit SIGKILL test: pulls the emulator's audit log into the cache, page by page.

Usage: python audit_pull_child.py EMULATOR_URL SINCE UNTIL  (ENTRABR_HOME set by the parent). Prints one line
per committed page, so the parent can kill it at a chosen moment.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime, timedelta

from entrabr_tui.engine.audit_pull import AuditPuller, AuditSettings
from entrabr_tui.engine.audit_types import AuditProgress
from entrabr_tui.graph import RecoveryClient, RequestBudget
from entrabr_tui.graph.credentials import EmulatorCredential
from entrabr_tui.store.cache import Cache


async def pull(base_url: str, since: datetime, until: datetime) -> None:
    cache = Cache.open("audit-sigkill")
    credential = EmulatorCredential(base_url, "admin")
    client = RecoveryClient(credential, f"{base_url}/v1.0")
    client.audit.budget = RequestBudget(window=0)         # the parent turned the emulator's throttle off
    settings = AuditSettings(page_size=50, span=timedelta(hours=6))
    puller = AuditPuller(client.audit, cache.audit, clock=lambda: until, settings=settings)
    pages = 0

    def progress(event: AuditProgress) -> None:
        nonlocal pages
        if event.phase == "reading":
            pages += 1
            print(f"page {pages}", flush=True)

    try:
        print("start", flush=True)
        await puller.sync(since, progress)
        print("done", flush=True)
    finally:
        await client.aclose()
        await credential.close()
        cache.close()


def main() -> int:
    since, until = datetime.fromisoformat(sys.argv[2]), datetime.fromisoformat(sys.argv[3])
    asyncio.run(pull(sys.argv[1], since, until))
    return 0


if __name__ == "__main__":
    sys.exit(main())
