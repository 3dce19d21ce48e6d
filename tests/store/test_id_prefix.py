"""The text filter's id rule (the text starts the object id, in any case) through the trigram path: the id
index is case-sensitive, so the lookup spells the text's start in every case instead of scanning."""

from __future__ import annotations

from entrabr_tui.store.cache import Cache
from entrabr_tui.store.change_matcher import id_prefix_ranges

from .synth import make_items


def _report(cache: Cache, items: list[dict[str, object]]) -> int:
    report = cache.report_writer.begin_report("job", "snap", None, "p0")
    cache.report_writer.ingest_page(report.id, items, None, "p0")
    return report.id


def test_ids_are_found_by_their_start_in_any_case() -> None:
    cache = Cache.open("prefix-tenant")
    items = make_items(400, 3)
    items[0]["id"] = "authorizationPolicy"
    items[1]["id"] = "AuthorizationPolicyOther"
    items[2]["id"] = "0f3a9c1e-0000-4000-8000-000000000001"
    items[3]["id"] = "0F3A9C1E-0000-4000-8000-000000000002"
    rid = _report(cache, items)
    ids = {str(i["id"]) for i in items}

    def found(text: str) -> set[str]:
        return {row.object_id for row in cache.queries.page(rid, text=text, limit=1000)} & ids

    assert found("AUTHORIZATIONPOL") >= {"authorizationPolicy", "AuthorizationPolicyOther"}
    assert found("0f3a9c1e-0000") >= {items[2]["id"], items[3]["id"]}
    assert found("0F3A9C1E-0000-4000-8000-000000000002") == {items[3]["id"]}
    assert sum(n.count for n in cache.queries.counts(rid, text="authorizationpolicyo")) == 1


def test_ranges_spell_the_start_in_every_case_and_stay_bounded() -> None:
    assert [lo for lo, _hi in id_prefix_ranges("a1b")] == ["A1B", "A1b", "a1B", "a1b"]
    assert len(id_prefix_ranges("abcdefghij")) == 64  # only the first letters are spelled out
    assert all(hi.startswith(lo) and hi > lo for lo, hi in id_prefix_ranges("smith"))
