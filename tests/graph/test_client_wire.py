"""RecoveryClient against a scripted Graph (httpx.MockTransport under the real SDK middleware).

These cover wire details the emulator cannot produce on demand: enum values from the future, odd
Location headers, Retry-After dates and caps, hostile error bodies, cross-host next links.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import orjson
import pytest
from azure.core.exceptions import ClientAuthenticationError

from entrabr_tui.core.model import EntityNamesFilter, JobKind, RecoveryAction, RecoveryStatus, ResourceType
from entrabr_tui.graph import (
    AuthError,
    ForbiddenError,
    GraphError,
    NetworkError,
    OutcomeUnknownError,
    RecoveryClient,
    ServerError,
    ThrottledError,
    UnexpectedResponseError,
    patch_entity_field_deserializers,
)
from entrabr_tui.graph.errors import parse_retry_after

from .conftest import SleepRecorder, fast_policy
from .token_credential import StaticTokenCredential

BASE = "https://graph.microsoft.com/v1.0"
TOKEN = "eyJhbGciOiJub25lIn0.eyJzZWNyZXQiOiJ0b2tlbiJ9.sig-secret"
SNAP = "MTc4NTE4OTYwMA=="
RUNNING_JOB = {
    "@odata.type": "#microsoft.graph.entraRecoveryServices.recoveryPreviewJob",
    "id": "job-running",
    "status": "calculating",
    "targetStateDateTime": "2026-07-27T22:00:00Z",
    "jobStartDateTime": "2026-07-28T08:00:00Z",
}

FINISHED_JOB = {
    **RUNNING_JOB,
    "status": "successful",
    "jobCompletionDateTime": "2026-07-28T08:30:00Z",
    "totalChangedLinksCalculated": 0,
}

Handler = Callable[[httpx.Request], httpx.Response]


def json_response(status: int, body: object, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        status, content=orjson.dumps(body), headers={"content-type": "application/json", **(headers or {})}
    )


def graph_error(status: int, code: str, message: str, **headers: str) -> httpx.Response:
    body = {"error": {"code": code, "message": message, "innerError": {"request-id": "rid-1"}}}
    return json_response(status, body, {k.replace("_", "-"): v for k, v in headers.items()})


class Script:
    """Records requests and answers them with a handler."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)

    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]


def make(
    script: Script, sleeps: SleepRecorder, **kwargs: Any
) -> tuple[RecoveryClient, StaticTokenCredential]:
    credential = StaticTokenCredential(TOKEN)
    kwargs.setdefault("retry", fast_policy(sleeps))
    client = RecoveryClient(credential, BASE, transport=httpx.MockTransport(script), **kwargs)
    return client, credential


async def test_requests_use_clean_urls_prefer_header_and_graph_scope(sleeps: SleepRecorder) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/snapshots"):
            return json_response(200, {"value": [{"id": SNAP, "createdDateTime": "2026-07-27T22:00:00Z"}]})
        return json_response(200, {"value": []})

    script = Script(handler)
    client, credential = make(script, sleeps)
    async with client:
        snapshots = await client.list_snapshots()
        assert await client.list_jobs() == []
    assert [s.id for s in snapshots] == [SNAP]
    assert snapshots[0].created == datetime(2026, 7, 27, 22, tzinfo=UTC)
    assert script.paths() == ["/v1.0/directory/recovery/snapshots", "/v1.0/directory/recovery/jobs"]
    for request in script.requests:
        assert request.headers["prefer"] == "include-unknown-enum-members"
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert script.requests[1].url.params["$top"] == "999"
    assert set(credential.scopes_seen) == {("https://graph.microsoft.com/.default",)}


async def test_unknown_enum_values_map_to_unknown_future_value(sleeps: SleepRecorder) -> None:
    job = {**RUNNING_JOB, "status": "queuedForApproval"}
    change = {"id": "u1", "entityTypeName": "agentBlueprint", "recoveryAction": "quarantine"}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/jobs"):
            return json_response(200, {"value": [job]})
        if request.url.path.endswith("/recoveryPreviewJobs/j1"):
            return json_response(200, {**FINISHED_JOB, "id": "j1", "totalChangedObjectsCalculated": 1})
        return json_response(200, {"value": [change]})

    client, _ = make(Script(handler), sleeps)
    async with client:
        [parsed] = await client.list_jobs()
        [changed] = await client.get_changes(SNAP, "j1")
        typed = await client.graph.directory.recovery.jobs.get()
    assert parsed.status is RecoveryStatus.UNKNOWN_FUTURE_VALUE and parsed.status_raw == "queuedForApproval"
    assert not parsed.is_terminal and parsed.kind is JobKind.PREVIEW
    assert changed.entity_type is ResourceType.UNKNOWN_FUTURE_VALUE
    assert changed.entity_type_raw == "agentBlueprint"
    assert changed.action is RecoveryAction.UNKNOWN_FUTURE_VALUE and changed.action_raw == "quarantine"
    # Why job reads avoid the typed models: the SDK drops the value the service sent.
    assert typed is not None and typed.value is not None and typed.value[0].status is None


async def test_create_job_posts_filter_and_reads_location(sleeps: SleepRecorder) -> None:
    location = f"{BASE}/directory/recovery/snapshots/{SNAP}/recoveryPreviewJobs/7a1c0c2e-4b61"

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(202, headers={"location": location})

    script = Script(handler)
    client, _ = make(script, sleeps)
    async with client:
        created = await client.create_preview_job(SNAP, EntityNamesFilter(("user", "group")))
        plain = await client.create_recovery_job(SNAP)
    assert (created.id, created.kind, created.location) == ("7a1c0c2e-4b61", JobKind.PREVIEW, location)
    first, second = script.requests
    assert first.method == "POST"
    assert first.url.raw_path.decode() == (
        "/v1.0/directory/recovery/snapshots/MTc4NTE4OTYwMA%3D%3D/recoveryPreviewJobs"
    )
    assert orjson.loads(first.content) == {
        "filteringCriteria": {
            "@odata.type": "#microsoft.graph.entraRecoveryServices.recoveryJobEntityNamesFilter",
            "entityTypes": ["user", "group"],
        }
    }
    assert first.headers["content-type"] == "application/json"
    assert second.url.path.endswith("/recoveryJobs") and second.content == b""
    assert plain.kind is JobKind.RECOVERY


async def test_odata_key_location_and_missing_location(sleeps: SleepRecorder) -> None:
    answers = iter(
        [
            httpx.Response(202, headers={"location": f"{BASE}/directory/recovery/jobs('abc%2Fdef')"}),
            httpx.Response(202),
        ]
    )
    client, _ = make(Script(lambda _: next(answers)), sleeps)
    async with client:
        assert (await client.create_preview_job(SNAP)).id == "abc/def"
        with pytest.raises(UnexpectedResponseError, match="no Location header"):
            await client.create_preview_job(SNAP)


async def test_cancel_uses_qualified_action_and_returns_location(sleeps: SleepRecorder) -> None:
    script = Script(lambda _: httpx.Response(202, headers={"location": f"{BASE}/directory/recovery/jobs/j9"}))
    client, _ = make(script, sleeps)
    async with client:
        assert await client.cancel_job("j9") == f"{BASE}/directory/recovery/jobs/j9"
    assert script.paths() == ["/v1.0/directory/recovery/jobs/j9/microsoft.graph.entraRecoveryServices.cancel"]


@pytest.mark.parametrize("failure", ["read", "status504"])
async def test_post_with_unknown_outcome_is_not_repeated(sleeps: SleepRecorder, failure: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            if failure == "read":
                raise httpx.ReadError("connection reset by peer")
            return graph_error(504, "GatewayTimeout", "The gateway did not receive a response in time.")
        return json_response(200, {"value": [RUNNING_JOB]})

    script = Script(handler)
    client, _ = make(script, sleeps)
    async with client:
        with pytest.raises(OutcomeUnknownError) as caught:
            await client.create_recovery_job(SNAP)
    assert [r.method for r in script.requests] == ["POST", "GET"]
    assert caught.value.running_job is not None and caught.value.running_job.id == "job-running"
    assert "may or may not" in caught.value.message and "job-running" in caught.value.message
    assert sleeps.delays == []


async def test_post_retried_when_it_certainly_did_not_arrive(sleeps: SleepRecorder) -> None:
    answers: list[Callable[[], httpx.Response]] = [
        lambda: (_ for _ in ()).throw(httpx.ConnectError("connection refused")),
        lambda: graph_error(429, "TooManyRequests", "slow down", retry_after="2"),
        lambda: graph_error(503, "ServiceUnavailable", "busy", retry_after="1"),
        lambda: httpx.Response(202, headers={"location": f"{BASE}/x/recoveryJobs/j1"}),
    ]
    script = Script(lambda _: answers.pop(0)())
    client, _ = make(script, sleeps)
    async with client:
        assert (await client.create_recovery_job(SNAP)).id == "j1"
    assert len(script.requests) == 4
    assert sleeps.delays == pytest.approx([0.525, 2.1, 1.05])  # backoff 0.5, then Retry-After, +5% jitter


async def test_retry_after_of_180_s_and_more_is_honoured_with_a_cap(sleeps: SleepRecorder) -> None:
    answers = [
        graph_error(429, "TooManyRequests", "wait", retry_after="200"),
        graph_error(503, "ServiceUnavailable", "wait", retry_after="1000"),
        graph_error(429, "TooManyRequests", "wait", retry_after="0"),
        json_response(200, {"value": []}),
    ]
    client, _ = make(Script(lambda _: answers.pop(0)), sleeps, retry=fast_policy(sleeps, max_attempts=5))
    async with client:
        assert await client.list_jobs() == []
    # 200 s as asked, 1000 s capped at 300 s, "0" falls back to backoff (0.5 * 2**2); each +5% jitter
    assert sleeps.delays == pytest.approx([210.0, 315.0, 2.1])


def test_retry_after_http_date_and_junk() -> None:
    now = datetime(2026, 7, 28, 8, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=240), usegmt=True)
    assert parse_retry_after(later, now=now) == 240.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=5), usegmt=True), now=now) == 0.0
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


async def test_throttling_that_never_ends_surfaces_with_last_retry_after(sleeps: SleepRecorder) -> None:
    script = Script(lambda _: graph_error(429, "TooManyRequests", "Too many requests", retry_after="7"))
    client, _ = make(script, sleeps)
    async with client:
        with pytest.raises(ThrottledError) as caught:
            await client.list_snapshots()
    error = caught.value
    assert (error.status, error.code, error.retry_after, error.attempts) == (429, "TooManyRequests", 7.0, 4)
    assert error.request_id == "rid-1" and "4 tries" in error.message and "7 s" in error.message
    assert len(script.requests) == 4 and len(sleeps.delays) == 3


async def test_truncated_page_is_fetched_again_never_skipped_or_duplicated(sleeps: SleepRecorder) -> None:
    def page(n: int) -> dict[str, Any]:
        body: dict[str, Any] = {"value": [{"id": f"{n}-{i}", "entityTypeName": "user"} for i in range(3)]}
        if n < 3:
            body["@odata.nextLink"] = f"{BASE}/next?$skiptoken=p{n + 1}"
        return body

    broken = {"p2": 2}  # page 2 arrives truncated twice, then whole

    def handler(request: httpx.Request) -> httpx.Response:
        token = request.url.params.get("$skiptoken", "p1")
        n = int(token[1:])
        full = orjson.dumps(page(n))
        if broken.get(token, 0) > 0:
            broken[token] -= 1
            full = full[: len(full) // 2]
        return httpx.Response(200, content=full, headers={"content-type": "application/json"})

    script = Script(handler)
    client, _ = make(script, sleeps)
    async with client:
        pages = [p async for p in client.iter_change_pages(SNAP, "j1", top=3)]
        resumed = [p async for p in client.iter_change_pages(SNAP, "j1", start_url=pages[0].next_link)]
    ids = [item["id"] for p in pages for item in p.items]
    assert ids == [f"{n}-{i}" for n in (1, 2, 3) for i in range(3)]
    assert [p.number for p in pages] == [1, 2, 3] and pages[-1].is_last
    assert pages[1].url == f"{BASE}/next?$skiptoken=p2"
    first_url = str(script.requests[0].url)
    assert first_url.endswith("/microsoft.graph.entraRecoveryServices.getChanges?$top=3")
    assert [r.url.params.get("$skiptoken") for r in script.requests[:5]] == [None, "p2", "p2", "p2", "p3"]
    assert [item["id"] for p in resumed for item in p.items] == ids[3:]


async def test_next_link_to_another_host_is_refused(sleeps: SleepRecorder) -> None:
    body = {"value": [], "@odata.nextLink": "https://attacker.example/v1.0/steal"}
    script = Script(lambda _: json_response(200, body))
    client, _ = make(script, sleeps)
    async with client:
        with pytest.raises(UnexpectedResponseError, match="another host"):
            [p async for p in client.iter_failed_change_pages(SNAP, "j1")]
    assert len(script.requests) == 1


async def test_malformed_json_that_retries_cannot_fix(sleeps: SleepRecorder) -> None:
    bad = httpx.Response(200, content=b'{"value": [1, 2', headers={"content-type": "application/json"})
    script = Script(lambda _: bad)
    client, _ = make(script, sleeps)
    async with client:
        with pytest.raises(UnexpectedResponseError, match=r"changes .* could not be read after 4 tries"):
            [p async for p in client.iter_change_pages(SNAP, "j1")]
    assert len(script.requests) == 4


async def test_transport_errors_are_retried_then_surface_as_network_error(sleeps: SleepRecorder) -> None:
    script = Script(lambda _: (_ for _ in ()).throw(httpx.RemoteProtocolError("peer closed connection")))
    client, _ = make(script, sleeps)
    async with client:
        with pytest.raises(NetworkError, match="after 4 tries") as caught:
            await client.get_preview_job(SNAP, "j1")
    assert len(script.requests) == 4 and caught.value.status is None
    assert sleeps.delays == pytest.approx([0.525, 1.05, 2.1])


async def test_server_errors_name_the_operation_and_never_leak_the_token(sleeps: SleepRecorder) -> None:
    html = httpx.Response(500, content=b"<html>oops</html>", headers={"content-type": "text/html"})
    answers = [
        graph_error(401, "InvalidAuthenticationToken", f"Token Bearer {TOKEN} is expired\x1b[31m"),
        graph_error(403, "Forbidden", "Authorization has been denied for this request."),
        html,
    ]
    script = Script(lambda _: answers.pop(0))
    client, _ = make(script, sleeps)
    async with client:
        with pytest.raises(AuthError) as auth:
            await client.list_snapshots()
        with pytest.raises(ForbiddenError) as forbidden:
            await client.create_recovery_job(SNAP)
        with pytest.raises(ServerError) as server:
            await client.get_recovery_job(SNAP, "j1")
    shown = str(auth.value)
    assert TOKEN not in shown and "sig-secret" not in shown and "\x1b" not in shown
    assert "Sign in again" in auth.value.message and auth.value.status == 401
    assert "Entra Backup Administrator" in forbidden.value.message
    assert "EntraBackup.ReadWrite.Recovery" in forbidden.value.needs
    assert forbidden.value.request_id == "rid-1" and forbidden.value.code == "Forbidden"
    assert server.value.status == 500 and len(script.requests) == 3  # a 500 is not retried


async def test_credential_failure_becomes_auth_error(sleeps: SleepRecorder) -> None:
    class Broken(StaticTokenCredential):
        async def get_token(self, *scopes: str, **_: Any) -> Any:
            raise ClientAuthenticationError("AADSTS700082: The refresh token has expired")

    script = Script(lambda _: json_response(200, {"value": []}))
    async with RecoveryClient(Broken("x"), BASE, transport=httpx.MockTransport(script)) as client:
        with pytest.raises(AuthError, match="AADSTS700082"):
            await client.list_jobs()
    assert script.requests == []


def test_argument_validation_and_idempotent_patch() -> None:
    patch_entity_field_deserializers()
    assert patch_entity_field_deserializers() is False
    with pytest.raises(ValueError, match="base URL"):
        RecoveryClient(StaticTokenCredential("t"), "graph.microsoft.com/v1.0")
    client = RecoveryClient(StaticTokenCredential("t"), "http://127.0.0.1:9/beta/")
    assert client.base_url == "http://127.0.0.1:9/beta" and client.api_version == "beta"
    with pytest.raises(ValueError, match="top"):
        client.iter_change_pages(SNAP, "j1", top=1000)


async def test_stopping_early_drops_the_prefetched_page_quietly(
    sleeps: SleepRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    import asyncio
    import gc

    asked = asyncio.Event()

    def handler(request: httpx.Request) -> httpx.Response:
        n = int(request.url.params.get("$skiptoken", "1"))
        if n == 2:
            asked.set()
            raise httpx.ReadError("reset")  # the prefetched page fails; nobody will ask for it
        body = {"value": [{"id": str(n)}], "@odata.nextLink": f"{BASE}/next?$skiptoken={n + 1}"}
        return json_response(200, body)

    script = Script(handler)
    client, _ = make(script, sleeps, retry=fast_policy(sleeps, max_attempts=1))
    async with client:
        pages = client.iter_change_pages(SNAP, "j1")
        async for page in pages:
            assert page.items == [{"id": "1"}]
            await asyncio.wait_for(asked.wait(), 10)  # the next page is fetched while we hold this one
            break
        await pages.aclose()
    gc.collect()
    assert [r.url.params.get("$skiptoken") for r in script.requests] == [None, "2"]
    assert "never retrieved" not in caplog.text


async def test_without_prefetch_pages_are_requested_one_at_a_time(sleeps: SleepRecorder) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        n = int(request.url.params.get("$skiptoken", "1"))
        body = {"value": [{"id": str(n)}], "@odata.nextLink": f"{BASE}/next?$skiptoken={n + 1}"}
        return json_response(200, body)

    script = Script(handler)
    client, _ = make(script, sleeps)
    async with client:
        async for page in client.iter_change_pages(SNAP, "j1", prefetch=False):
            assert len(script.requests) == page.number  # nothing fetched ahead
            if page.number == 3:
                break


async def test_plain_http_to_a_remote_host_is_refused_before_sending(sleeps: SleepRecorder) -> None:
    script = Script(lambda _: json_response(200, {"value": []}))
    credential = StaticTokenCredential(TOKEN)
    transport = httpx.MockTransport(script)
    async with RecoveryClient(credential, "http://graph.example/v1.0", transport=transport) as client:
        with pytest.raises(GraphError, match="https") as caught:
            await client.list_snapshots()
    assert script.requests == [] and credential.scopes_seen == []
    assert TOKEN not in str(caught.value)
