"""The text filter finds what the screen shows: a name matches in its display form (``core.text``) as well as
raw, on the substring index and on the scanning paths alike."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from entrabr_tui.core.text import display_text
from entrabr_tui.store import cache_database, change_queries, report_writer
from entrabr_tui.store.cache import Cache
from entrabr_tui.store.change_filter import display_only, text_matches

from .synth import make_items, page_url, recoverable_of, serve

HOSTILE = {
    "h-ansi": "DISABLED - \x1b[31mANSI Red\x1b[0m Escape",
    "h-osc": "x\x1b]8;;https://evil.example\x07link\x1b]8;;\x07y",
    "h-bidi": "evil\u202eRTL",
    "h-zero": "zero\u200bwidth",
    "h-nul": "nul\x00byte",
}


def _items() -> list[dict[str, Any]]:
    items = make_items(1200, seed=4)
    for object_id, name in HOSTILE.items():
        items.append({"id": object_id, "entityTypeName": "user", "displayName": name,
                      "recoveryAction": "update", "deltaFromCurrent": {"jobTitle": "a"},
                      "currentState": {"jobTitle": "b"}})
    return items


@pytest.fixture(params=["trigram", "no-trigram"])
def cache(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Cache, int]]:
    monkeypatch.setattr(report_writer, "SEARCH_CHUNK", 500)
    monkeypatch.setattr(change_queries, "WALK_BUDGET", 0)  # always the index or a scan, never the walk
    if request.param == "no-trigram":
        monkeypatch.setattr(cache_database, "trigram_available", lambda conn: False)
    opened = Cache.open("display-tenant", recoverable=recoverable_of)
    items = _items()
    report = opened.report_writer.begin_report("job", "snap", None, page_url(0))
    url: str | None = page_url(0)
    while url is not None:
        page, next_link = serve(items, url, 400)
        opened.report_writer.ingest_page(report.id, page, next_link, url)
        url = next_link
    yield opened, report.id
    opened.close()


def _found(cache: Cache, report_id: int, text: str) -> set[str]:
    return {row.object_id for row in cache.queries.page(report_id, limit=5000, text=text)
            if row.object_id.startswith("h-")}


@pytest.mark.parametrize(("text", "expected"), [
    ("DISABLED - ␛ANSI", {"h-ansi"}),  # as shown: the escape sequence is one mark
    ("red␛ escape", {"h-ansi"}),
    ("ansi red", {"h-ansi"}),  # plain text of the name, through the substring index
    ("x␛link␛y", {"h-osc"}),
    ("evil<U+202E>rtl", {"h-bidi"}),
    ("u+202e", {"h-bidi"}),
    ("zero<u+200b>", {"h-zero"}),
    ("nul␀byte", {"h-nul"}),
    ("link", {"h-osc"}),
])
def test_names_are_found_as_they_are_shown(cache: tuple[Cache, int], text: str, expected: set[str]) -> None:
    store, report_id = cache
    assert _found(store, report_id, text) == expected
    assert store.queries.count(report_id, text=text) >= len(expected)


def test_the_rule_and_the_index_routing() -> None:
    for name in HOSTILE.values():
        shown = display_text(name).lower()
        assert text_matches(shown[:12], name, None, None) == 1
        assert text_matches(shown, name, None, None) == 1
    assert text_matches("31m", HOSTILE["h-ansi"], None, None) == 1  # raw text still matches too
    assert display_only("a␛b") and display_only("u+202e") and display_only("<x")
    assert not display_only("smith") and not display_only("john+tag@contoso.com")
