"""The kept matches of the latest text filter: reused, narrowed for a longer text, dropped on any change."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from entrabr_tui.store import match_set
from entrabr_tui.store.cache import Cache
from entrabr_tui.store.change_matcher import ChangeMatcher

from .synth import make_items, page_url, recoverable_of, serve

ITEMS = make_items(1200, seed=4)
PAGE = 400


def _principal(item: dict[str, Any]) -> str:
    return str(item["currentState"].get("userPrincipalName") or item["deltaFromCurrent"].get("mail") or "")


def _expected(items: list[dict[str, Any]], text: str) -> dict[tuple[str, str], int]:
    needle = text.lower()
    found = Counter(
        (i["entityTypeName"], i["recoveryAction"])
        for i in items
        if needle in i["displayName"].lower() or needle in _principal(i).lower() or i["id"].startswith(needle)
    )
    return dict(found)


def _counts(cache: Cache, report_id: int, text: str) -> dict[tuple[str, str], int]:
    return {(n.entity_type_raw, n.action_raw): n.count for n in cache.queries.counts(report_id, text=text)}


class Download:
    """A report ingested page by page; ``more()`` stores the next page."""

    def __init__(self, cache: Cache) -> None:
        self.cache = cache
        self.report = cache.report_writer.begin_report("job", "snap", None, page_url(0))
        self.url: str | None = page_url(0)
        self.stored: list[dict[str, Any]] = []

    def more(self) -> None:
        assert self.url is not None
        page, next_link = serve(ITEMS, self.url, PAGE)
        self.cache.report_writer.ingest_page(
            self.report.id, page, next_link, self.url, finalize=next_link is None
        )
        self.stored.extend(page)
        self.url = next_link


@pytest.fixture
def download() -> Iterator[Download]:
    cache = Cache.open("match-tenant", recoverable=recoverable_of)
    yield Download(cache)
    cache.close()


@pytest.fixture
def cte_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Texts for which the matches were looked up in the change table (not in kept matches)."""
    calls: list[str] = []
    original = ChangeMatcher.cte

    def counting(self: ChangeMatcher, report_id: int, needle: str) -> Any:
        calls.append(needle)
        return original(self, report_id, needle)

    monkeypatch.setattr(ChangeMatcher, "cte", counting)
    return calls


def test_longer_text_narrows_the_kept_matches(download: Download, cte_calls: list[str]) -> None:
    download.more()
    download.more()
    download.more()
    report_id = download.report.id
    for text in ("smi", "smit", "smith", "smithson", "SMITHSON"):
        assert _counts(download.cache, report_id, text) == _expected(download.stored, text), text
        rows = download.cache.queries.page(
            report_id, entity_type="user", action="update", text=text, limit=1000
        )
        assert len(rows) == _expected(download.stored, text).get(("user", "update"), 0)
    assert cte_calls == ["smi"]
    assert _counts(download.cache, report_id, "mith") == _expected(download.stored, "mith")
    assert cte_calls == ["smi", "mith"]  # not an extension of the kept text


def test_new_rows_from_this_connection_are_seen(download: Download) -> None:
    download.more()
    report_id = download.report.id
    assert _counts(download.cache, report_id, "smith") == _expected(download.stored, "smith")
    download.more()
    assert _counts(download.cache, report_id, "smith") == _expected(download.stored, "smith")
    assert download.cache.queries.count(
        report_id, text="smith"
    ) == sum(_expected(download.stored, "smith").values())


def test_new_rows_from_another_connection_are_seen(download: Download) -> None:
    download.more()
    reader = download.cache.reader()
    try:
        report_id = download.report.id
        assert _counts(reader, report_id, "smith") == _expected(download.stored, "smith")
        assert _counts(reader, report_id, "smithson") == _expected(download.stored, "smithson")
        download.more()
        download.more()
        assert _counts(reader, report_id, "smithson") == _expected(download.stored, "smithson")
        first = download.stored[0]["id"]
        download.cache.queue.mark(report_id, [first])
        marked = reader.queries.page(report_id, text=first[:8], marked=True)
        assert [r.object_id for r in marked] == [first]
    finally:
        reader.close()


def test_too_many_matches_are_not_kept(download: Download, monkeypatch: pytest.MonkeyPatch,
                                       cte_calls: list[str]) -> None:
    monkeypatch.setattr(match_set, "MATCH_SET_ROWS", 20)
    download.more()
    download.more()
    report_id = download.report.id
    assert _counts(download.cache, report_id, "contoso") == _expected(download.stored, "contoso")
    assert _counts(download.cache, report_id, "contoso.") == _expected(download.stored, "contoso.")
    rows = download.cache.queries.page(
        report_id, entity_type="user", action="update", text="contoso", limit=1000
    )
    assert len(rows) == _expected(download.stored, "contoso")[("user", "update")]
    assert "contoso." in cte_calls  # looked up in the change table: nothing was kept for "contoso"
