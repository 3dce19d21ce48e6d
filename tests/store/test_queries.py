"""Change queries against a reference computed in Python: counts, keyset paging, text filter, lookups.

Every query is checked in four states: while downloading (part of the rows in the substring index, the rest
scanned), complete but not finalized, finalized, and on an SQLite without the trigram tokenizer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from entrabr_tui.core.model import Change
from entrabr_tui.store import cache_database, change_queries, report_writer
from entrabr_tui.store.cache import Cache
from entrabr_tui.store.records import ChangeRow

from .synth import make_items, page_url, recoverable_of, serve

COUNT, PAGE = 2500, 999
ITEMS = make_items(COUNT, seed=9)
_ASCII_FOLD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _principal(item: dict[str, Any]) -> str | None:
    for source in (item["currentState"], item["deltaFromCurrent"]):
        for key in ("userPrincipalName", "mail"):
            if source.get(key):
                return str(source[key])
    return None


def _order(item: dict[str, Any]) -> tuple[str, str, str, str]:
    """SQLite's NOCASE folds ASCII letters only; ties are broken by id."""
    return (
        item["entityTypeName"],
        item["recoveryAction"],
        item["displayName"].translate(_ASCII_FOLD),
        item["id"],
    )


def _matches(item: dict[str, Any], text: str) -> bool:
    needle = text.strip().lower()
    principal = _principal(item) or ""
    return (
        needle in item["displayName"].lower()
        or needle in principal.lower()
        or item["id"].lower().startswith(needle)
    )


def _recoverable(item: dict[str, Any]) -> bool | None:
    return recoverable_of(item)


class State:
    """A cache holding (part of) ``ITEMS`` in one of the four states."""

    def __init__(self, name: str, cache: Cache, report_id: int, items: list[dict[str, Any]]) -> None:
        self.name, self.cache, self.report_id, self.items = name, cache, report_id, items


@pytest.fixture(params=["downloading", "complete", "finalized", "no-trigram"])
def state(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[State]:
    monkeypatch.setattr(report_writer, "SEARCH_CHUNK", 1500)
    if request.param == "no-trigram":
        monkeypatch.setattr(cache_database, "trigram_available", lambda conn: False)
    cache = Cache.open("query-tenant", recoverable=recoverable_of)
    report = cache.report_writer.begin_report("job", "snap", None, page_url(0), total_expected=len(ITEMS))
    url: str | None = page_url(0)
    stored = ITEMS
    while url is not None:
        page, next_link = serve(ITEMS, url, PAGE)
        if request.param == "downloading" and next_link is None:
            stored = ITEMS[: len(ITEMS) - len(page)]
            break
        cache.report_writer.ingest_page(
            report.id, page, next_link, url, finalize=request.param in ("finalized", "no-trigram")
        )
        url = next_link
    current = cache.reports.get(report.id)
    assert current is not None
    if request.param == "downloading":
        assert not current.complete and 0 < current.search_rowid < len(stored)
    elif request.param == "complete":
        assert current.complete and not current.indexed
    else:
        assert current.indexed and current.search_ready
    assert cache.db.has_trigram is (request.param != "no-trigram")
    yield State(request.param, cache, report.id, stored)
    cache.close()


def _rows(rows: list[ChangeRow]) -> list[str]:
    return [r.object_id for r in rows]


def _page_all(state: State, limit: int, **filters: Any) -> list[str]:
    seen: list[str] = []
    after = None
    while True:
        rows = state.cache.queries.page(state.report_id, after=after, limit=limit, **filters)
        seen.extend(_rows(rows))
        if len(rows) < limit:
            return seen
        after = rows[-1].key


def test_counts_match(state: State) -> None:
    reference = Counter((i["entityTypeName"], i["recoveryAction"]) for i in state.items)
    counts = state.cache.queries.counts(state.report_id)
    assert [(n.entity_type_raw, n.action_raw, n.count) for n in counts] == sorted(
        (t, a, n) for (t, a), n in reference.items()
    )
    for flag in (True, False):
        ref = Counter(
            (i["entityTypeName"], i["recoveryAction"]) for i in state.items if _recoverable(i) is flag
        )
        got = {
            (n.entity_type_raw, n.action_raw): n.count
            for n in state.cache.queries.counts(state.report_id, recoverable=flag)
        }
        assert got == dict(ref)
    synced = sum(i["currentState"].get("onPremisesSyncEnabled") is True for i in state.items
                 if i["entityTypeName"] in ("user", "group"))  # the flag means nothing on other types
    assert state.cache.queries.count(state.report_id, on_prem=True) == synced > 0
    assert state.cache.queries.count(state.report_id) == len(state.items)
    assert (
        state.cache.queries.count(state.report_id, entity_type="user", action="update")
        == reference[("user", "update")]
    )


def test_keyset_paging_covers_every_node_once_in_order(state: State) -> None:
    for node in state.cache.queries.counts(state.report_id):
        expected = [
            i["id"]
            for i in sorted(state.items, key=_order)
            if (i["entityTypeName"], i["recoveryAction"]) == (node.entity_type_raw, node.action_raw)
        ]
        seen: list[str] = []
        after: tuple[str, str] | None = None
        while True:
            rows = state.cache.queries.page(
                state.report_id,
                entity_type=node.entity_type_raw,
                action=node.action_raw,
                after=after,
                limit=37,
            )
            seen.extend(_rows(rows))
            if len(rows) < 37:
                break
            after = (rows[-1].display_name, rows[-1].object_id)
        assert seen == expected
    everything = _page_all(state, 101)
    assert everything == [i["id"] for i in sorted(state.items, key=_order)]
    assert len(set(everything)) == len(state.items)


NEEDLES = [
    "smith",
    "SMITH",
    "smithson",
    "anna",
    "ann",
    "nn",
    "a",
    "zoë",
    "ZOË",
    "łukasz",
    "ÉMILE",
    "o'brien",
    "@contoso",
    "team3",
    "contoso.com",
    "group 1",
    "zz-no-match",
    '"quote',
    "%",
    "_",
    "100%",
    "  Müller  ",
]


def _id_needles() -> list[str]:
    ids = [ITEMS[5]["id"], ITEMS[77]["id"], ITEMS[1234]["id"]]  # all within the "downloading" rows
    return [ids[0][:8].upper(), ids[1], ids[2][:3], ids[2][:2]]


@pytest.mark.parametrize("budget", [10_000_000, 0, 40], ids=["walk-name-order", "sort-matches", "mixed"])
def test_text_filter_matches_reference(state: State, budget: int, monkeypatch: pytest.MonkeyPatch) -> None:
    if state.name == "no-trigram" and budget != 0:
        pytest.skip("without the trigram index every setting takes the same path")
    monkeypatch.setattr(change_queries, "WALK_BUDGET", budget)
    for needle in NEEDLES + _id_needles():
        expected = [i for i in sorted(state.items, key=_order) if _matches(i, needle)]
        assert state.cache.queries.count(state.report_id, text=needle) == len(expected), needle
        by_node = Counter((i["entityTypeName"], i["recoveryAction"]) for i in expected)
        got = {
            (n.entity_type_raw, n.action_raw): n.count
            for n in state.cache.queries.counts(state.report_id, text=needle)
        }
        assert got == dict(by_node), needle
        limit = 7 if len(expected) < 150 else 211  # many page boundaries either way
        assert _page_all(state, limit, text=needle) == [i["id"] for i in expected], needle
        combined = [i["id"] for i in expected if i["entityTypeName"] == "user" and _recoverable(i) is True]
        assert _page_all(state, limit, text=needle, entity_type="user", recoverable=True) == combined, needle


def test_specific_matches_exist(state: State) -> None:
    """Guard against a vacuous reference: the interesting needles do match something."""
    for needle in ("smith", "zoë", "łukasz", "émile", "@contoso", _id_needles()[0]):
        assert state.cache.queries.count(state.report_id, text=needle) > 0, needle
    assert state.cache.queries.count(state.report_id, text=_id_needles()[1]) == 1


def test_change_by_id(state: State) -> None:
    for item in state.items[::397]:
        change = state.cache.queries.get_change(state.report_id, item["id"])
        assert change == Change.from_json(item)
        # Ids are opaque: compared exactly. Typed ids are matched ignoring case only at the input edge.
        assert state.cache.queries.get_change(state.report_id, item["id"].upper()) is None
        assert state.cache.queries.resolve_ids(state.report_id, [item["id"].upper()]) == {
            item["id"].upper(): item["id"]}
        assert state.cache.queries.get_raw_change(state.report_id, item["id"]) == item
    assert state.cache.queries.get_change(state.report_id, "00000000-0000-0000-0000-000000000000") is None
    wanted = [state.items[9]["id"], "missing", state.items[3]["id"], state.items[9]["id"]]
    assert state.cache.queries.get_changes(state.report_id, wanted) == [
        Change.from_json(state.items[9]),
        Change.from_json(state.items[3]),
    ]
    assert state.cache.queries.get_changes(state.report_id, [state.items[3]["id"].upper()]) == []


def test_row_fields_and_marks(state: State) -> None:
    first = state.cache.queries.page(state.report_id, limit=5)
    by_id = {i["id"]: i for i in state.items}
    for row in first:
        item = by_id[row.object_id]
        assert row.display_name == item["displayName"]
        assert row.principal_name == _principal(item)
        assert row.recoverable is _recoverable(item)
        stated = item["currentState"].get("onPremisesSyncEnabled") is True
        assert row.on_premises_synced is (stated and item["entityTypeName"] in ("user", "group"))
        assert not row.marked
    state.cache.queue.mark(state.report_id, [first[1].object_id, first[3].object_id])
    again = state.cache.queries.page(state.report_id, limit=5)
    assert [r.marked for r in again] == [False, True, False, True, False]
    marked = state.cache.queries.page(state.report_id, marked=True)
    assert _rows(marked) == [first[1].object_id, first[3].object_id]
    assert state.cache.queries.count(state.report_id, marked=False) == len(state.items) - 2


def test_bad_keyset_arguments(state: State) -> None:
    with pytest.raises(ValueError):
        state.cache.queries.page(state.report_id, after=("name", "id"))
    with pytest.raises(ValueError):
        state.cache.queries.page(state.report_id, after=("a", "b", "c"))  # type: ignore[arg-type]  # a short key on purpose
    with pytest.raises(KeyError):
        state.cache.queries.page(999)


def test_object_id_filter_keeps_exactly_those_objects(state: State) -> None:
    """The ``ids`` filter (a watch alert's objects): counts, pages and bulk marks see only those objects,
    compared exactly, combined with the other filters; an empty list matches nothing."""
    picked = [state.items[i]["id"] for i in (5, 77, 401, 1203)]
    wanted = set(picked)
    reference = Counter((i["entityTypeName"], i["recoveryAction"]) for i in state.items if i["id"] in wanted)
    counts = state.cache.queries.counts(state.report_id, ids=[*picked, "missing", picked[0].upper()])
    assert {(n.entity_type_raw, n.action_raw): n.count for n in counts} == dict(reference)
    listed = sorted(i["id"] for i in state.items if i["id"] in wanted)
    assert sorted(_page_all(state, 2, ids=picked)) == listed
    node = (state.items[77]["entityTypeName"], state.items[77]["recoveryAction"])
    assert state.cache.queries.count(state.report_id, entity_type=node[0], action=node[1], ids=picked) == \
        reference[node]
    assert state.cache.queries.counts(state.report_id, ids=[]) == []
    assert state.cache.queries.count(state.report_id, ids=picked, text="zzzz-no-such-name") == 0
    added = state.cache.queue.mark_where(state.report_id, ids=picked)
    assert added == len(wanted) and state.cache.queue.ids(state.report_id) == wanted
    assert state.cache.queue.unmark_where(state.report_id, ids=picked[:1]) == 1
    with pytest.raises(ValueError, match="at most"):
        state.cache.queries.counts(state.report_id, ids=[str(n) for n in range(6000)])
