"""``restore --apply`` by a sign-in whose token says it may not restore: tried, refused by the service (HTTP
403) with the role and permission it needs, written to the history, exit 4, and nothing left to resume."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from entrabr_tui.cli.exits import ExitCode
from entrabr_tui.emulator import EmulatorServer

from .helpers import cli, ok


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    server = EmulatorServer(seed=7, objects=300, job_speed=100_000)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def graph(server: EmulatorServer, role: str) -> list[str]:
    return ["--graph-url", server.graph_url(), "--auth", "emulator", "--role", role]


def recovery_jobs(server: EmulatorServer) -> list[dict[str, object]]:
    listed = ok(cli("jobs", *graph(server, "admin"), "-q", "--json")).json()["jobs"]
    return [j for j in listed if j["kind"] == "recoveryJob"]


def test_a_reader_is_refused_by_the_service_not_up_front(server: EmulatorServer) -> None:
    ok(cli("report", *graph(server, "reader"), "-q"))  # a reader may run reports
    rows = ok(cli("changes", *graph(server, "reader"), "--type", "user", "--recoverable", "yes",
                  "--json")).json()["changes"]
    ids = [f"user:{c['id']}" for c in rows][:2]
    assert ids
    args = [a for i in ids for a in ("--id", i)]

    refused = cli("restore", *graph(server, "reader"), "--apply", *args, "--yes", "--json")
    assert refused.code == ExitCode.FORBIDDEN, refused.stderr
    # The token's hint is a warning; the service was asked (the recheck ran) and said no.
    assert "warning: This sign-in may not be allowed to restore" in refused.stderr
    assert "Trying anyway: the service decides." in refused.stderr
    assert "Rechecking" in refused.stderr
    error = refused.json()["error"]
    assert error["kind"] == "forbidden" and error["exitCode"] == 4
    assert error["needs"] == "Entra Backup Administrator"
    assert "HTTP 403" in error["message"] and "Entra Backup Reader" in error["message"]  # who was signed in
    assert "EntraBackup.ReadWrite.Recovery" in error["message"] + error["hint"]  # the permission it needs
    assert "Entra Backup Administrator" in error["hint"]
    assert recovery_jobs(server) == []

    history = ok(cli("history", "--action", "restore-finished", "--json")).json()["entries"]
    assert history[0]["outcome"] == "refused" and history[0]["identity"] == "backup.reader@contoso.example"
    assert "Entra Backup Administrator" in history[0]["detail"]

    # Nothing looks like an interrupted restore: nothing to resume, and the next restore is not held up.
    resumed = ok(cli("restore", *graph(server, "reader"), "--resume", "--yes"))
    assert "There is no interrupted restore to resume." in resumed.stderr
    status = ok(cli("status", *graph(server, "admin"), "--json")).json()
    assert "'interruptedRestore': False" in str(status) and "'interruptedRestore': True" not in str(status)
    applied = cli("restore", *graph(server, "admin"), "-q", "--apply", *args, "--yes", "--if-moved", "accept")
    assert applied.code in (ExitCode.OK, ExitCode.PARTIAL), applied.stderr
    assert len(recovery_jobs(server)) == 1


def test_an_admin_sees_no_warning(server: EmulatorServer) -> None:
    ok(cli("report", *graph(server, "admin"), "-q"))
    planned = cli("restore", *graph(server, "admin"), "--apply", "--all", "--yes", "--if-moved", "accept")
    assert planned.code in (ExitCode.OK, ExitCode.PARTIAL), planned.stderr
    assert "may not be allowed to restore" not in planned.stderr
