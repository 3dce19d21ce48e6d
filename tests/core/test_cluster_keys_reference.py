"""Cluster keys, ids and labels and the equality parts of changes, computed the quick way (plans by the set of
names, one walk, labels remembered by the key's text) are exactly those of the straightforward computation,
on changes of every odd shape: values Python finds equal but JSON does not, NaN, nested objects, links of
every shape, unicode and missing or mistyped fields."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from entrabr_tui.core import audit_clusters, audit_join
from entrabr_tui.core.audit_clusters import (
    cluster_id,
    cluster_id_and_label,
    cluster_key,
    cluster_label,
    cluster_of,
)
from entrabr_tui.core.audit_join import equality_parts
from entrabr_tui.core.audit_model import stored_change
from entrabr_tui.core.model import Change

from .odd_changes import (
    odd_changes,
    reference_id,
    reference_key,
    reference_label,
    reference_parts,
)


def same_parts(change: Any) -> bool:
    """Whether the quick equality parts are the straightforward ones (as text that tells ``True`` from
    ``1``). Where the straightforward walk fails (a key that is no text inside an object, which JSON never
    gives) the quick one may answer: only a crash is ruled out there."""
    try:
        expected = repr(reference_parts(change))
    except (TypeError, AttributeError):
        with contextlib.suppress(TypeError, AttributeError):
            equality_parts(change)
        return True
    return repr(equality_parts(change)) == expected


def _change(**fields: Any) -> dict[str, Any]:
    return {"id": "a", "entityTypeName": "user", "recoveryAction": "update", **fields}


@pytest.mark.parametrize("seed", range(4))
def test_keys_ids_labels_and_parts_are_the_straightforward_ones(seed: int) -> None:
    raws = odd_changes(seed, 1500)
    values = lists = links = 0
    for raw in raws:
        change = stored_change(raw)
        key = cluster_key(change)
        expected = reference_key(change)
        assert repr(key) == repr(expected)                      # the same text: True, 1 and 1.0 apart
        assert cluster_id(key) == reference_id(expected)
        assert cluster_label(key) == reference_label(expected)
        assert cluster_id_and_label(key) == (reference_id(expected), reference_label(expected))
        assert same_parts(change)
        try:
            parts = equality_parts(change)
        except (TypeError, AttributeError):
            parts = None
        values += sum(1 for p in parts or () if p.kind == "value")
        links += sum(1 for p in parts or () if p.kind == "link")
        lists += isinstance(raw, dict) and isinstance(raw["deltaFromCurrent"], dict) and any(
            isinstance(v, list | dict) for k, v in raw["deltaFromCurrent"].items() if "@" not in k)
    assert values > 100 and links > 20 and lists > 100          # every way was taken


def test_a_model_change_gets_the_straightforward_key_and_parts() -> None:
    models = 0
    for raw in odd_changes(9, 600):
        if not isinstance(raw, dict) or not isinstance(raw.get("entityTypeName"), str) \
                or not isinstance(raw.get("recoveryAction"), str):
            continue
        change = Change.from_json(raw)
        models += 1
        assert repr(cluster_key(change)) == repr(reference_key(change))
        assert cluster_of(change).label == reference_label(reference_key(change))
        assert same_parts(change)
    assert models > 300


def test_remembered_names_and_plans_never_mix_up_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small memories (emptied again and again), keys met in another order: the same ids and labels."""
    monkeypatch.setattr(audit_clusters, "_NAMED_MAX", 3)
    monkeypatch.setattr(audit_clusters, "_PLANS_MAX", 2)
    monkeypatch.setattr(audit_clusters, "_NAMED", {})
    monkeypatch.setattr(audit_clusters, "_PLANS", {})
    monkeypatch.setattr(audit_join, "_EQUALITY_PLANS", {})
    changes = [stored_change(raw) for raw in odd_changes(5, 400)]
    for order in (changes, changes[::-1], changes[::2] + changes[1::2]):
        for change in order:
            key = cluster_key(change)
            assert repr(key) == repr(reference_key(change))
            assert cluster_id_and_label(key) == (reference_id(key), reference_label(key))
            assert same_parts(change)


def test_only_short_keys_and_small_sets_of_names_are_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit_clusters, "_REMEMBERED_TEXT", 60)
    monkeypatch.setattr(audit_clusters, "_REMEMBERED_NAMES", 2)
    monkeypatch.setattr(audit_clusters, "_NAMED", {})
    monkeypatch.setattr(audit_clusters, "_PLANS", {})
    for raw in odd_changes(6, 400) * 2:
        change = stored_change(raw)
        key = cluster_key(change)
        assert repr(key) == repr(reference_key(change))
        assert cluster_id_and_label(key) == (reference_id(key), reference_label(key))
    assert audit_clusters._NAMED and all(len(text) <= 60 for text in audit_clusters._NAMED)
    assert audit_clusters._PLANS and all(len(names) <= 2 for names in audit_clusters._PLANS)


@pytest.mark.parametrize("values", [(True, 1, 1.0), (0, False, 0.0, -0.0), ("", None, [])])
def test_values_python_finds_equal_get_their_own_cluster(values: tuple[Any, ...]) -> None:
    for _ in range(2):                                        # the second time from what is remembered
        named = []
        for value in values:
            key = cluster_key(stored_change(_change(deltaFromCurrent={"employeeId": value},
                                                    currentState={"employeeId": "E-1"})))
            named.append(cluster_id_and_label(key))
            assert named[-1] == (reference_id(key), reference_label(key))
        assert len({n[0] for n in named}) == len(values)


def test_an_empty_property_name_is_a_property() -> None:
    change = stored_change(_change(deltaFromCurrent={"": 1, "@odata.type": "x"}, currentState={"": 2}))
    assert cluster_key(change) == ("user", "update", (("", 1, 2),))
    assert cluster_label(cluster_key(change)) == ": 1 → 2"
    assert equality_parts(change) == [audit_join.EqualityPart("value", "", "", 2)]


def test_a_label_shows_json_text_as_json_does() -> None:
    key = cluster_key(stored_change(_change(
        deltaFromCurrent={"a": 'say "hi"', "b": True, "c": None, "d": "tab\there", "e": 1.5, "f": "日本"},
        currentState={"a": "back\\slash", "b": False, "c": 2**70, "d": float("nan"), "e": -0.0, "f": "x"})))
    assert cluster_label(key) == (
        'a: "say \\"hi\\"" → "back\\\\slash"; b: true → false; c: null → 1180591620717411303424; '
        'd: "tab\\there" → NaN; e: 1.5 → -0.0; f: "日本" → "x"')
