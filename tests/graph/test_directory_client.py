"""DirectoryClient.lookup_sync_status against the emulator over real loopback HTTP: getByIds in batches of
1,000, the /users + /groups fallback in batches of 15, unknown objects, and 403s naming the permission."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest

from entrabr_tui.core.model import JobKind
from entrabr_tui.emulator.tokens import role_claims
from entrabr_tui.graph import ForbiddenError, RecoveryClient
from entrabr_tui.graph.directory import GET_BY_IDS_BATCH, IN_FILTER_BATCH

from .conftest import ClientFactory, Control, fast_policy
from .polling import finish
from .token_credential import StaticTokenCredential

VERSIONS = ["v1.0", "beta"]


class RecordingTransport(httpx.AsyncHTTPTransport):
    """The real HTTP transport, remembering every request it sent."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await super().handle_async_request(request)

    def paths(self) -> list[str]:
        return [f"{r.method} {r.url.path}" for r in self.requests]


def _token(scp: str | None = None, roles: list[str] | None = None) -> str:
    """An admin token with other delegated scopes (or an app-only token with other app permissions)."""
    claims: dict[str, Any] = role_claims("admin")
    if roles is not None:
        claims.pop("scp"), claims.pop("wids")
        claims["roles"] = roles
    else:
        claims["scp"] = scp

    def part(doc: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(orjson.dumps(doc)).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


@pytest.fixture
async def recorded(emulator_server: Any, control: Control, sleeps: Any) -> AsyncIterator[Any]:
    """``recorded(token, version)`` → (a RecoveryClient whose requests are recorded, its transport)."""
    clients: list[RecoveryClient] = []

    def factory(token: str, version: str = "v1.0") -> tuple[RecoveryClient, RecordingTransport]:
        transport = RecordingTransport()
        client = RecoveryClient(StaticTokenCredential(token), emulator_server.graph_url(version),
                                transport=transport, retry=fast_policy(sleeps))
        clients.append(client)
        return client, transport

    yield factory
    for client in clients:
        await client.aclose()


async def _report(make_client: ClientFactory, control: Control) -> list[dict[str, Any]]:
    """Every change of a report on the oldest backup, with the emulator flagging synced objects."""
    control.config(sync_flag_in_changes=True)
    client = make_client()
    snapshot = (await client.list_snapshots())[-1]
    created = await client.create_preview_job(snapshot.id)
    await finish(client, JobKind.PREVIEW, snapshot.id, created.id)
    items = [i async for page in client.iter_change_pages(snapshot.id, created.id) for i in page.items]
    control.config(sync_flag_in_changes=False)
    return items


@pytest.mark.parametrize("version", VERSIONS)
async def test_sync_status_matches_the_directory(make_client: ClientFactory, control: Control,
                                                 version: str) -> None:
    items = await _report(make_client, control)
    people = [i for i in items if i["entityTypeName"] in ("user", "group")]
    expected = {i["id"]: (i["currentState"].get("onPremisesSyncEnabled") is True
                          if i["recoveryAction"] != "restore" else None) for i in people}
    assert True in expected.values() and False in expected.values() and None in expected.values()
    others = [i["id"] for i in items if i["entityTypeName"] == "application"]
    unknown = str(uuid.uuid4())
    shouted = people[0]["id"].upper()
    asked = [*expected, *others, unknown, "authorizationPolicy", shouted, people[0]["id"]]
    status = await make_client(version=version).directory.lookup_sync_status(asked)
    assert list(status) == list(dict.fromkeys(asked))
    assert {i: status[i] for i in expected} == expected
    assert all(status[i] is None for i in [*others, unknown, "authorizationPolicy"])
    assert status[shouted] == expected[people[0]["id"]]
    assert await make_client().directory.lookup_sync_status([]) == {}


async def test_get_by_ids_in_batches_of_1000(make_client: ClientFactory, control: Control,
                                             recorded: Any) -> None:
    items = await _report(make_client, control)
    known = [i["id"] for i in items if i["entityTypeName"] in ("user", "group")
             and i["recoveryAction"] != "restore"]
    filler = [str(uuid.UUID(int=n)) for n in range(2 * GET_BY_IDS_BATCH + 500)]
    client, transport = recorded(_token("EntraBackup.Read.All Directory.Read.All"))
    status = await client.directory.lookup_sync_status([*filler, *known])
    assert all(status[i] is not None for i in known) and all(status[i] is None for i in filler)
    posts = [r for r in transport.requests if r.url.path.endswith("/directoryObjects/getByIds")]
    assert len(posts) == 3 and len(transport.requests) == 3
    sizes = [len(orjson.loads(r.content)["ids"]) for r in posts]
    assert sizes == [1000, 1000, 500 + len(known)]
    for request in posts:
        assert request.method == "POST"
        assert request.url.params["$select"] == "id,onPremisesSyncEnabled"
        assert orjson.loads(request.content)["types"] == ["user", "group"]


@pytest.mark.parametrize("version", VERSIONS)
async def test_falls_back_to_users_and_groups_without_directory_read(
    make_client: ClientFactory, control: Control, recorded: Any, version: str
) -> None:
    items = await _report(make_client, control)
    ids = [i["id"] for i in items if i["entityTypeName"] in ("user", "group")]
    full = await make_client(version=version).directory.lookup_sync_status(ids)
    client, transport = recorded(_token("EntraBackup.Read.All User.Read.All GroupMember.Read.All"), version)
    assert await client.directory.lookup_sync_status(ids) == full
    paths = transport.paths()
    assert paths[0].endswith("/directoryObjects/getByIds")
    lists = transport.requests[1:]
    assert {r.url.path.rsplit("/", 1)[1] for r in lists} == {"users", "groups"}
    batches = -(-len(set(ids)) // IN_FILTER_BATCH)
    assert len(lists) == 2 * batches
    for request in lists:
        assert request.method == "GET" and request.url.params["$select"] == "id,onPremisesSyncEnabled"
        assert request.url.params["$filter"].count("'") // 2 <= IN_FILTER_BATCH
    transport.requests.clear()
    assert await client.directory.lookup_sync_status(ids[:3]) == {i: full[i] for i in ids[:3]}
    assert not any(p.endswith("/getByIds") for p in transport.paths())     # the refusal is remembered


@pytest.mark.parametrize(("token", "kind"), [
    (_token("EntraBackup.Read.All"), "delegated"),
    (_token("EntraBackup.Read.All User.Read.All"), "delegated"),
    (_token(roles=["EntraBackup.Read.All"]), "application"),
], ids=["no-directory-scope", "users-only", "app-without-permission"])
async def test_forbidden_names_the_permission(recorded: Any, token: str, kind: str) -> None:
    client, _ = recorded(token)
    with pytest.raises(ForbiddenError) as refused:
        await client.directory.lookup_sync_status([str(uuid.uuid4())])
    error = refused.value
    assert error.status == 403 and error.request_id
    assert "Directory.Read.All" in error.needs and "User.Read.All" in error.needs
    assert "Looking up which objects are synchronised from on-premises was refused" in error.message
    assert f"{kind} permission" in error.message
