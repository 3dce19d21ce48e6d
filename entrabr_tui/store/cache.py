"""The per-tenant disk cache: one SQLite file per tenant holding everything entrabr learned from the service.

A :class:`Cache` is one connection to that file and the parts that read and write it:

* ``cache.db`` (:class:`~entrabr_tui.store.cache_database.CacheDatabase`): the connection, its transactions
  and what opening the file found (``warnings``, ``path``);
* ``cache.tenant`` (:class:`~entrabr_tui.store.tenant_store.TenantStore`): the tenant and its snapshots;
* ``cache.jobs`` (:class:`~entrabr_tui.store.job_store.JobStore`): jobs of both kinds;
* ``cache.reports`` (:class:`~entrabr_tui.store.report_catalog.ReportCatalog`): report lookups;
* ``cache.report_writer`` (:class:`~entrabr_tui.store.report_writer.ReportWriter`): page-by-page download,
  finalizing, reset and delete;
* ``cache.queries`` (:class:`~entrabr_tui.store.change_queries.ChangeQueries`): counts, pages, filters and
  single changes;
* ``cache.queue`` (:class:`~entrabr_tui.store.restore_queue.RestoreQueue`): the restore queue;
* ``cache.sync`` (:class:`~entrabr_tui.store.sync_status.SyncStatusStore`): directory lookups of the sync
  status of users and groups;
* ``cache.journal`` (:class:`~entrabr_tui.store.restore_journal.RestoreJournal`): the job journal;
* ``cache.runs`` (:class:`~entrabr_tui.store.restore_runs.RestoreRuns`): the batches of each restore;
* ``cache.watch`` (:class:`~entrabr_tui.store.watch_store.WatchStore`): report profiles and the findings,
  alerts and runs of ``entrabr watch``;
* ``cache.audit`` (:class:`~entrabr_tui.store.audit_store.AuditStore`): the directory audit log and its pulls;
* ``cache.audit_join`` (:class:`~entrabr_tui.store.audit_join_store.AuditJoinStore`): who made each change of
  a report, its groups (actor, operation, cluster) and set-based marking;
* ``cache.triage`` (:class:`~entrabr_tui.store.triage_store.TriageStore`): triage tags.

Usage::

    cache = Cache.open(tenant_id)            # checks integrity; see cache.db.warnings
    cache.tenant.record_snapshots(snapshots)
    report = cache.report_writer.begin_report(job.id, snapshot_id, scope, first_url, total_expected=...)
    url = cache.report_writer.resume_point(report.id)
    while url:
        items, next_link = fetch(url)
        cache.report_writer.ingest_page(report.id, items, next_link, source_url=url)
        url = next_link
    cache.queries.counts(report.id); cache.queries.page(report.id, entity_type="user", action="update")
"""

from __future__ import annotations

from datetime import datetime

from entrabr_tui.store.audit_join_store import AuditJoinStore
from entrabr_tui.store.audit_store import AuditStore
from entrabr_tui.store.cache_database import CacheDatabase
from entrabr_tui.store.cache_schema import CACHE_SPEC
from entrabr_tui.store.change_matcher import ChangeMatcher
from entrabr_tui.store.change_queries import ChangeQueries
from entrabr_tui.store.codec import utc_now
from entrabr_tui.store.job_store import JobStore
from entrabr_tui.store.paths import StorePaths
from entrabr_tui.store.report_catalog import ReportCatalog
from entrabr_tui.store.report_writer import RecoverableFn, ReportWriter
from entrabr_tui.store.restore_journal import RestoreJournal
from entrabr_tui.store.restore_queue import RestoreQueue
from entrabr_tui.store.restore_runs import RestoreRuns
from entrabr_tui.store.sqlite_file import OpenedDatabase, connect, open_database
from entrabr_tui.store.sync_status import SyncStatusStore
from entrabr_tui.store.tenant_store import TenantStore
from entrabr_tui.store.triage_store import TriageStore
from entrabr_tui.store.watch_store import WatchStore


class Cache:
    """One tenant's cache: tenant, snapshots, jobs, reports and changes, restore queue and journal.

    Open with :meth:`open`; the parts are described in the module docstring. Messages from opening (a
    damaged file moved aside, …) are in ``cache.db.warnings``.
    """

    def __init__(
        self, opened: OpenedDatabase, tenant_id: str, *, recoverable: RecoverableFn | None = None
    ) -> None:
        self.tenant_id = tenant_id
        self.db = CacheDatabase(opened)
        self._recoverable = recoverable
        self.tenant = TenantStore(self.db, tenant_id)
        self.jobs = JobStore(self.db, self.tenant)
        self.reports = ReportCatalog(self.db, self.tenant)
        self.report_writer = ReportWriter(self.db, self.reports, recoverable=recoverable)
        matcher = ChangeMatcher(self.db)
        self.queries = ChangeQueries(self.db, matcher)
        self.queue = RestoreQueue(self.db, matcher, self.queries)
        self.journal = RestoreJournal(self.db, tenant_id)
        self.runs = RestoreRuns(self.db, tenant_id)
        self.sync = SyncStatusStore(self.db)
        self.watch = WatchStore(self.db)
        self.audit = AuditStore(self.db)
        self.audit_join = AuditJoinStore(self.db, self.queue)
        self.triage = TriageStore(self.db)

    @classmethod
    def open(
        cls,
        tenant_id: str,
        *,
        paths: StorePaths | None = None,
        verify: bool = True,
        recoverable: RecoverableFn | None = None,
        now: datetime | None = None,
    ) -> Cache:
        """Open (or create) the cache of ``tenant_id`` under ``paths`` (default: platformdirs, or
        ``ENTRABR_HOME``).

        ``verify=False`` skips the integrity check; use it only for extra connections (see :meth:`reader`).
        """
        paths = paths or StorePaths.default()
        opened = open_database(paths.cache_db(tenant_id), CACHE_SPEC, verify=verify, now=now)
        cache = cls(opened, tenant_id, recoverable=recoverable)
        if not opened.read_only:
            cache.tenant.ensure(now or utc_now())
        return cache

    @property
    def read_only(self) -> bool:
        """The cache file is on a read-only folder or file system: it can be read, not written."""
        return self.db.read_only

    def reader(self) -> Cache:
        """A second connection to the same file, e.g. for a UI thread while another thread downloads."""
        path = self.db.path
        opened = OpenedDatabase(
            conn=connect(path, read_only=self.db.read_only), path=path, created=False,
            migrated_from=CACHE_SPEC.latest_version, read_only=self.db.read_only,
        )
        return type(self)(opened, self.tenant_id, recoverable=self._recoverable)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Cache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
