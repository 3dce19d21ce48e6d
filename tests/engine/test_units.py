"""Pure parts of the engine: duration estimates, poll backoff, scopes, id lists, progress delivery."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from entrabr_tui.core.model import EntityNameAndIdsFilter, EntityNamesFilter, JobKind
from entrabr_tui.engine.cache_reader import UnknownReportError
from entrabr_tui.engine.events import JobProgress, emit
from entrabr_tui.engine.scopes import describe_scope, same_scope, scope_from_text, scope_to_text
from entrabr_tui.engine.session import Session
from entrabr_tui.engine.session_queue import parse_id_list
from entrabr_tui.engine.timing import PollPolicy, estimate, format_duration, load_seconds

OpenSession = Callable[..., Awaitable[Session]]


@pytest.mark.parametrize(
    ("objects", "hours"),
    [(None, 1.0), (1, 1.0), (50_000, 1.0), (50_001, 1.5), (300_000, 1.5), (1_000_000, 2.0), (1_000_001, 2.5)],
)
def test_loading_time_follows_the_documented_table(objects: int | None, hours: float) -> None:
    assert load_seconds(objects) == hours * 3600


def test_estimates_follow_the_documented_rates() -> None:
    report = estimate(JobKind.PREVIEW, tenant_objects=200_000, changes=100_000)
    assert report.load == 5400 and report.calculate == pytest.approx(45 * 60) and report.apply == 0
    warm = estimate(JobKind.PREVIEW, tenant_objects=200_000, changes=100_000, backup_loaded=True)
    assert warm.total == pytest.approx(45 * 60)
    restore = estimate(JobKind.RECOVERY, changes=500_000, backup_loaded=True)
    assert restore.apply == pytest.approx(30 * 3600)
    assert estimate(JobKind.PREVIEW, changes=3, backup_loaded=True).total == 60  # never below a minute
    assert report.text == "up to 2h 15m"
    assert [format_duration(s) for s in (4.4, 59, 60, 3599, 3600, 5400, 200_000)] == [
        "4s", "59s", "1m 00s", "59m 59s", "1h 00m", "1h 30m", "2d 07h"]
    largest = [format_duration(s, largest_unit=True) for s in (59, 3599, 5400, 200_000)]
    assert largest == ["59s", "59m", "1h", "2d"]


def test_polling_starts_quick_and_slows_down_with_the_job_age() -> None:
    policy = PollPolicy()
    young = [policy.delay(n, age=10) for n in range(6)]
    assert young[0] == 2.0 and young == sorted(young) and max(young) == 5.0
    assert policy.delay(20, age=300) == 15.0
    assert policy.delay(20, age=1800) == 30.0
    assert policy.delay(20, age=5 * 3600) == 60.0
    assert policy.delay(0, age=5 * 3600) == 2.0  # a fresh wait still starts quick


def test_scopes_compare_by_content() -> None:
    a = EntityNameAndIdsFilter((("user", ("ID-1", "id-2")), ("group", ("g",))))
    b = EntityNameAndIdsFilter((("group", ("G",)), ("user", ("id-2", "id-1"))))
    assert same_scope(a, b) and not same_scope(a, None)
    assert same_scope(EntityNamesFilter(("user", "group")), EntityNamesFilter(("group", "user")))
    assert not same_scope(EntityNamesFilter(("user",)), None)
    assert scope_from_text(scope_to_text(a)) == a and scope_from_text("not json") is None
    assert describe_scope(a) == "3 objects (user 2, group 1)" and describe_scope(None) == "all objects"


def test_id_lists_accept_files_and_pasted_text() -> None:
    lines = [
        "# ids from the audit log\n",
        "aaaa-1, bbbb-2;cccc-3\n",
        '  "dddd-4"  # a comment\n',
        "\n",
        "aaaa-1\n",
    ]
    assert parse_id_list(lines) == ["aaaa-1", "bbbb-2", "cccc-3", "dddd-4"]


async def test_a_failing_progress_callback_never_stops_the_work() -> None:
    calls: list[str] = []

    def broken(event: JobProgress) -> None:
        calls.append(event.phase)
        raise RuntimeError("display went away")

    async def coroutine_callback(event: JobProgress) -> None:
        calls.append("awaited")

    event = JobProgress(job_id="j", kind=JobKind.PREVIEW, phase="calculating", text="", elapsed=1.0)
    await emit(broken, event)
    await emit(coroutine_callback, event)
    await emit(None, event)
    assert calls == ["calculating", "awaited"]


async def test_seeding_the_queue_from_a_list_reports_unknown_ids(open_session: OpenSession) -> None:
    session = await open_session()
    report = await session.ensure_report(await session.resolve_snapshot("latest"), None)
    known = [row.object_id for row in session.page(report.id, limit=3)]

    result = session.seed_queue(report.id, [f"{known[0]}, {known[1].upper()}\n", "not-an-object-id\n",
                                            f"{known[0]}  # again\n"])

    assert result.marked == 2 and result.unknown == ["not-an-object-id"]
    assert session.marked(report.id) == {known[0], known[1]}
    assert session.unmark(report.id, [known[0]]) == 1
    entry = session.history(actions=["objects-marked"])[0]
    assert entry.counts == {"marked": 2, "already": 0, "unknown": 1}
    assert set(entry.object_ids) == {known[0], known[1]}  # the report's ids, as the service gave them
    with pytest.raises(UnknownReportError):
        session.marked("no-such-report")


async def test_changes_by_id_keep_the_order_given_and_skip_unknown_ids(open_session: OpenSession) -> None:
    session = await open_session()
    report = await session.ensure_report(await session.resolve_snapshot("latest"), None)
    known = [row.object_id for row in session.page(report.id, limit=3)]

    found = session.changes(report.id, [known[2], known[0], known[1].upper(), "not-an-object-id"])

    assert [c.id for c in found] == [known[2], known[0]]  # ids compare exactly: another case is another id
    assert session.resolve_ids(report.id, [known[1].upper()]) == {known[1].upper(): known[1]}
    assert all(c.delta is not None for c in found)
    assert [c.id for c in session.changes(report.report_id, [known[1]])] == [known[1]]
    with pytest.raises(UnknownReportError):
        session.changes("no-such-report", known)
