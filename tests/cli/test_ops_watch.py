"""``entrabr prewarm`` and ``entrabr watch`` day after day on the emulator: quiet days raise nothing, a
finding seen once never alerts, the seeded incident raises exactly its alerts, and they reach a webhook
(plain JSON and a Teams card) and a Prometheus file."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from entrabr_tui.emulator import EmulatorServer

from .helpers import Result, cli

#: The policy the scripted incident switches to report-only.
MFA_POLICY = "Require MFA for all users"

RULES = f"""
[[critical]]
name = "MFA policy"
type = "conditionalAccessPolicy"
objects = ["{MFA_POLICY}"]
properties = ["state"]

[[threshold]]
name = "Mass disable"
type = "user"
action = "update"
property = "accountEnabled"
from = true
to = false
more_than = 50
severity = "critical"

[audit]
hard_deletes = false
conditional_access = "off"
"""


class Receiver:
    """A local webhook endpoint: every POST body it got, parsed."""

    def __init__(self) -> None:
        bodies: list[Any] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                bodies.append({"type": self.headers.get("Content-Type"),
                               "body": json.loads(self.rfile.read(length))})
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"1")

            def log_message(self, *args: Any) -> None:
                pass

        self.bodies = bodies
        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook/secret-token"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver()
    try:
        yield hook
    finally:
        hook.close()


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    """A tenant with daily drift and no incident yet."""
    emulator = EmulatorServer(seed=11, objects=2000, job_speed=100_000, drift=0)
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()


def flags(server: EmulatorServer) -> list[str]:
    return ["--graph-url", server.graph_url(), "--auth", "emulator", "-q"]


def control(server: EmulatorServer, path: str, body: dict[str, Any]) -> Any:
    response = httpx.post(f"{server.base_url}/_emulator/{path}", json=body, timeout=60)
    response.raise_for_status()
    return response.json()


def run(*argv: str, expect: int = 0) -> Result:
    result = cli(*argv)
    assert result.code == expect, (result.code, result.stderr, result.stdout[-2000:])
    return result


def watch(server: EmulatorServer, rules: Path, *extra: str, expect: int = 0) -> dict[str, Any]:
    doc: dict[str, Any] = run("watch", *flags(server), "--rules", str(rules), "--json", *extra,
                              expect=expect).json()
    assert doc["schema"] == "entrabr.alerts/1"
    return doc


def new_day(server: EmulatorServer, *, incident: int = 0) -> dict[str, Any]:
    """The clock moves a day (a new backup, a day of drift), maybe the incident; then the nightly prewarm."""
    control(server, "advance", {"days": 1})
    if incident:
        control(server, "incident", {"objects": incident})
    doc: dict[str, Any] = run("prewarm", *flags(server), "--json").json()
    assert doc["created"] == 1 and doc["backups"][0]["outcome"] == "created"
    return doc


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(RULES, encoding="utf-8")
    return path


def test_quiet_days_then_the_incident_raises_exactly_its_alerts(
        server: EmulatorServer, rules: Path, receiver: Receiver, tmp_path: Path) -> None:
    assert run("prewarm", *flags(server), "--json").json()["created"] == 7
    for _ in range(3):  # quiet days: two runs each (cron every hour) raise nothing
        new_day(server)
        for _ in range(2):
            doc = watch(server, rules, "--webhook", receiver.url)
            assert doc["counts"] == {"new": 0, "open": 0, "resolved": 0, "pending": 0}, doc
            assert doc["alerts"] == [] and doc["baselineReports"] >= 7
    assert receiver.bodies == []  # nothing to say, nothing sent

    new_day(server, incident=300)
    metrics = tmp_path / "entrabr.prom"
    first = watch(server, rules, "--webhook", receiver.url, "--prometheus", str(metrics))
    assert first["counts"] == {"new": 0, "open": 0, "resolved": 0, "pending": 2}  # seen once: no alert yet
    assert receiver.bodies == []
    second = watch(server, rules, "--webhook", receiver.url, "--prometheus", str(metrics), expect=20)
    assert second["counts"]["new"] == 2 and second["counts"]["open"] == 2
    alerts = {a["rule"]: a for a in second["alerts"]}
    assert set(alerts) == {"MFA policy", "Mass disable"}
    assert all(a["state"] == "new" and a["id"].startswith("AL-") for a in alerts.values())
    assert MFA_POLICY in alerts["MFA policy"]["title"] and "state" in alerts["MFA policy"]["title"]
    disable = alerts["Mass disable"]
    assert disable["severity"] == "critical" and disable["count"] > 50
    assert disable["reportId"] == second["report"]["id"]
    # Each open alert says the command that opens the app on it, with this run's tenant options.
    for alert in second["alerts"]:
        assert alert["openCommand"] == " ".join(["entrabr", "--open", alert["id"], *flags(server)[:-1]])
    # The webhook got the same document, once.
    (posted,) = receiver.bodies
    assert posted["type"] == "application/json"
    assert posted["body"]["schema"] == "entrabr.alerts/1"
    assert {a["id"] for a in posted["body"]["alerts"]} == {a["id"] for a in second["alerts"]}
    # Prometheus: open alerts by severity and one series per alert.
    text = metrics.read_text(encoding="utf-8")
    assert 'entrabr_watch_alerts_open{tenant="' in text and 'severity="critical"} 2' in text
    assert all(f'alert_id="{a["id"]}"' in text for a in second["alerts"])
    assert MFA_POLICY not in text  # no object names in the metrics
    # A third run: still open, nothing new, nothing posted.
    third = watch(server, rules, "--webhook", receiver.url, expect=20)
    assert third["counts"]["new"] == 0 and third["counts"]["open"] == 2 and len(receiver.bodies) == 1
    shown = run("watch", *flags(server), "--rules", str(rules), expect=20).stdout
    for alert in second["alerts"]:
        assert f"  entrabr --open {alert['id']} --graph-url " in shown
    # The next day the incident is in the backup: two runs without it resolve both alerts (a Teams card).
    new_day(server)
    watch(server, rules, "--webhook", receiver.url, "--teams", expect=20)
    resolved = watch(server, rules, "--webhook", receiver.url, "--teams")
    assert resolved["counts"] == {"new": 0, "open": 0, "resolved": 2, "pending": 0}
    card_message = receiver.bodies[-1]["body"]
    assert card_message["type"] == "message"
    (attachment,) = card_message["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["contentUrl"] is None
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.2"
    texts = [item["text"] for block in card["body"] if block["type"] == "Container"
             for item in block["items"]]
    assert sum("RESOLVED" in t for t in texts) == 2
    history = run("history", "--action", "alert-raised", "--json").json()["entries"]
    assert {e["detail"].split(":")[0] for e in history} == {a["id"] for a in second["alerts"]}


def test_a_finding_seen_once_never_alerts(server: EmulatorServer, rules: Path) -> None:
    run("prewarm", *flags(server), "--json")
    new_day(server, incident=300)
    once = watch(server, rules)
    assert once["counts"]["pending"] == 2 and once["alerts"] == []
    new_day(server)  # the incident is in the new backup: the next run does not see it
    after = watch(server, rules)
    assert after["counts"] == {"new": 0, "open": 0, "resolved": 0, "pending": 0}
    assert run("history", "--action", "alert-raised", "--json").json()["entries"] == []


def test_watch_text_and_bad_rules(server: EmulatorServer, rules: Path, tmp_path: Path) -> None:
    result = run("watch", *flags(server)[:-1], "--rules", str(rules))  # without -q: the notes are said
    assert "No backup has a complete difference report yet" in result.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text("[[threshold]]\nname = 'x'\ntype = 'user'\n", encoding="utf-8")
    refused = cli("watch", *flags(server), "--rules", str(bad))
    assert refused.code == 2 and "either 'more_than'" in refused.stderr
    missing = cli("watch", *flags(server), "--rules", str(tmp_path / "nope.toml"))
    assert missing.code == 2 and "rules.example.toml" in missing.stderr


def test_a_reader_without_audit_access_watches_the_rest_and_says_so_once(
        server: EmulatorServer, tmp_path: Path) -> None:
    run("prewarm", *flags(server), "--json")
    new_day(server, incident=300)
    rules = tmp_path / "audit.toml"
    text = RULES.replace("hard_deletes = false", "hard_deletes = true")
    rules.write_text(text.replace('conditional_access = "off"', 'conditional_access = "critical"'),
                     encoding="utf-8")
    doc = watch(server, rules, "--role", "reader")
    assert doc["audit"]["available"] is False and "Reports Reader" in doc["audit"]["message"]
    assert sum("Reports Reader" in note for note in doc["notes"]) == 1
    assert doc["counts"]["pending"] == 2                             # the report's rules were evaluated
    said = run("watch", *flags(server), "--role", "reader", "--rules", str(rules), expect=20)  # with -q
    warnings = [line for line in said.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1 and "Reports Reader" in warnings[0] and "every other rule" in warnings[0]
