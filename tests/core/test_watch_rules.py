"""Rules files: what they say, and the mistakes that are refused with the place named."""

from __future__ import annotations

from pathlib import Path

import pytest

from entrabr_tui.core.watch_rules import CaScope, RulesError, Selector, Severity, parse_rules, value_key

ROOT = Path(__file__).resolve().parents[2]


def test_the_documented_example_file_reads() -> None:
    rules = parse_rules((ROOT / "docs" / "rules.example.toml").read_text(encoding="utf-8"))
    assert rules.settings.confirm == 2 and rules.settings.resolve == 2
    assert {r.entity_type for r in rules.critical} >= {
        "conditionalAccessPolicy", "namedLocationPolicy", "authenticationMethodPolicy", "group",
        "servicePrincipal"}
    assert any(t.selector.prop == "accountEnabled" and t.more_than == 50 for t in rules.thresholds)
    assert rules.audit.hard_deletes and rules.audit.conditional_access is CaScope.CRITICAL
    assert rules.outputs.webhook_env == "ENTRABR_WEBHOOK_URL"


def test_a_full_file() -> None:
    rules = parse_rules("""
[watch]
confirm = 3
[[critical]]
name = "Tier 0"
type = "Group"
objects = ["Domain Admins", "0b1c2d3e-aaaa-bbbb-cccc-000000000001"]
properties = ["members"]
[[threshold]]
name = "Mass disable"
type = "user"
action = "update"
property = "accountEnabled"
from = true
to = false
more_than = 50
severity = "critical"
[[threshold]]
name = "Many user edits"
type = "user"
ratio = 3
min_count = 100
[[unusual]]
name = "Unusual"
ratio = 5
[audit]
conditional_access = "all"
ignore_actors = ["Housekeeping@Contoso.com"]
[outputs]
webhook = "https://example.invalid/hook"
teams = true
""")
    critical = rules.critical[0]
    assert critical.entity_type == "group" and critical.properties == {"members"}
    assert critical.covers("group", "x", ("domain admins",)) and critical.covers(
        "group", "0b1c2d3e-aaaa-bbbb-cccc-000000000001", ())
    assert not critical.covers("user", "x", ("Domain Admins",))
    mass = rules.thresholds[0]
    assert mass.selector == Selector("user", "update", "accountEnabled", "true", "false")
    assert mass.severity is Severity.CRITICAL and mass.more_than == 50
    assert rules.thresholds[1].ratio == 3.0 and rules.thresholds[1].min_count == 100
    assert rules.unusual[0].min_count == 50 and rules.settings.confirm == 3
    assert rules.audit.conditional_access is CaScope.ALL
    assert rules.audit.ignores(None, "housekeeping@contoso.com")
    assert rules.outputs.teams and rules.outputs.webhook == "https://example.invalid/hook"


@pytest.mark.parametrize(("text", "says"), [
    ("[[critical]]\nname='x'\ntype='user'\n", "either 'objects'"),
    ("[[critical]]\nname='x'\ntype='widget'\nall=true\n", "unknown type 'widget'"),
    ("[[critical]]\nname='x'\ntype='user'\nall=true\nobjct=[]\n", "unknown key(s) objct"),
    ("[[threshold]]\nname='x'\ntype='user'\n", "either 'more_than'"),
    ("[[threshold]]\nname='x'\ntype='user'\nfrom=true\nmore_than=1\n", "'from' needs a 'property'"),
    ("[[threshold]]\nname='x'\ntype='user'\nproperty='a'\nto=[1]\nmore_than=1\n", "'to' must be"),
    ("[[threshold]]\nname='x'\ntype='user'\naction='delete'\nmore_than=1\n", "'action' must be"),
    ("[[threshold]]\nname='x'\ntype='user'\nmore_than=1\n[[unusual]]\nname='x'\nratio=2\n", "another rule"),
    ("[audit]\nconditional_access='some'\n", "conditional_access"),
    ("[outputs]\nwebhook='ftp://x'\n", "http(s) URL"),
    ("[outputs]\nwebhook='https://x'\nwebhook_env='X'\n", "not both"),
    ("[watch]\nconfirm=0\n", "at least 1"),
    ("[alerts]\n", "unknown section(s) alerts"),
    ("[[critical]\n", "not valid TOML"),
])
def test_mistakes_are_refused_with_the_place_named(text: str, says: str) -> None:
    with pytest.raises(RulesError) as raised:
        parse_rules(text, "rules.toml")
    assert says in str(raised.value) and str(raised.value).startswith("rules.toml")


def test_selector_matches_by_values_and_links() -> None:
    disabled = Selector("user", "update", "accountEnabled", value_key(True), value_key(False))
    assert disabled.matches("user", "update", {"accountEnabled": True}, {"accountEnabled": False})
    assert not disabled.matches("user", "update", {"accountEnabled": False}, {"accountEnabled": True})
    assert not disabled.matches("user", "restore", {"accountEnabled": True}, {"accountEnabled": False})
    members = Selector("group", None, "members")
    assert members.matches("group", "update", {"members@delta": [{"id": "x"}]}, {})
    assert Selector.from_json(disabled.to_json()) == disabled
    assert value_key("x" * 65) is None and value_key([1]) is None and value_key(None) == "null"
