"""The rows stored for the audit join (shapes, parts, clusters) are exactly those of the straightforward
computation, for changes of every odd shape, whether made in memory or stored by a report download."""

from __future__ import annotations

import math
from typing import Any

import orjson
import pytest
from core.odd_changes import (
    SCALARS,
    odd_changes,
    reference_id,
    reference_key,
    reference_label,
    reference_parts,
)

from entrabr_tui.core.audit_model import stored_change
from entrabr_tui.core.model import change_problem
from entrabr_tui.store.cache import Cache
from entrabr_tui.store.codec import dumps, loads
from entrabr_tui.store.join_shapes import ShapeRows, cluster_table, part_table, shape_table, value_key

from .synth import page_url

Rows = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], dict[str, tuple[str, str, str, str]]]


def reference_value_key(value: Any) -> bytes | None:
    if isinstance(value, str | int | bool | type(None)):
        try:
            return orjson.dumps(value)
        except orjson.JSONEncodeError:
            return None
    if isinstance(value, float):
        return orjson.dumps(value) if math.isfinite(value) else None
    try:
        out = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONEncodeError, TypeError):
        return None
    return out if orjson.loads(out) == value else None


def reference_rows(changes: list[tuple[int, str, str, Any]]) -> Rows:
    """The rows of ``(row, object id, display name, raw change)``, computed the straightforward way."""
    shapes: list[tuple[Any, ...]] = []
    parts: list[tuple[Any, ...]] = []
    clusters: dict[str, tuple[str, str, str, str]] = {}
    for row, object_id, name, raw in changes:
        change = stored_change(raw)
        key = reference_key(change)
        cluster = reference_id(key)
        target, entity = object_id.lower(), change.entity_type_raw
        clusters.setdefault(cluster, (cluster, entity, change.action_raw, reference_label(key)))
        rows: list[tuple[Any, ...]] = []
        for n, part in enumerate(reference_parts(change) or ()):
            if part.kind == "link":
                rows.append((row, n, 1, part.key, part.sub, target, entity, int(part.current)))
                continue
            current = reference_value_key(part.current)
            if current is None:
                rows = []
                break
            rows.append((row, n, 0, part.key, "", target, entity, current))
        shapes.append((row, target, entity, cluster, len(rows) or None, name))
        parts += rows
    return shapes, parts, clusters


def _judgeable(raw: Any) -> bool:
    try:
        reference_parts(stored_change(raw))
    except (TypeError, AttributeError):
        return False                           # a key that is no text inside an object: JSON never gives it
    return True


@pytest.mark.parametrize("seed", range(3))
def test_shape_rows_are_the_straightforward_ones(seed: int) -> None:
    changes = [(row, f"{row:04X}-Ab", f"Name {row % 7}", raw)
               for row, raw in enumerate(odd_changes(seed, 1200)) if _judgeable(raw)]
    for page in (changes[i:i + 300] for i in range(0, len(changes), 300)):
        rows = ShapeRows()
        for row, object_id, name, raw in page:
            rows.add(row, object_id, name, raw)
        shapes, parts, clusters = reference_rows(page)
        assert repr(rows.shapes) == repr(shapes) and rows.parts == parts and rows.clusters == clusters
        assert {p[2] for p in parts} == {0, 1} and any(s[4] is None for s in shapes)


def _name(raw: Any) -> str:
    """The display name a change's row keeps (any other JSON type: none)."""
    name = raw.get("displayName") if isinstance(raw, dict) else None
    return name if isinstance(name, str) else ""


def test_value_keys_are_orjson_s_bytes() -> None:
    values = [*SCALARS, [1, "a"], {"b": 1, "a": [True, None]}, {"a": float("nan")}, {7: "x"}, 2**63 - 1,
              2**64]
    for value in values:
        assert value_key(value) == reference_value_key(value)
        assert type(value_key(value)) in (bytes, type(None))


def test_a_stored_report_has_the_straightforward_rows() -> None:
    """Through a download (each change stored as JSON and read back), in pages: the tables hold the rows."""
    items = []
    for raw in odd_changes(11, 900):
        try:
            dumps(raw)
        except orjson.JSONEncodeError:
            continue                           # (an integer too large, a lone surrogate: never sent)
        items.append(raw)
    cache = Cache.open("shape-rows")
    try:
        writer = cache.report_writer
        report = writer.begin_report("job-shapes", "snap-1", None, page_url(0), total_expected=len(items))
        for offset in range(0, len(items), 200):
            end = offset + 200
            writer.ingest_page(report.id, items[offset:end], page_url(end) if end < len(items) else None,
                               page_url(offset))
        readable = [(row, raw.get("id", ""), _name(raw), loads(dumps(raw)))
                    for row, raw in enumerate(items, 1) if change_problem(raw) is None]
        assert 300 < len(readable) < len(items)
        shapes, parts, clusters = reference_rows(readable)
        conn = cache.db.conn
        assert conn.execute(f"SELECT * FROM {shape_table(report.id)} ORDER BY row").fetchall() == shapes
        assert conn.execute(f"SELECT * FROM {part_table(report.id)} ORDER BY row, n").fetchall() == parts
        stored = conn.execute(f"SELECT DISTINCT * FROM {cluster_table(report.id)}").fetchall()
        assert sorted(stored) == sorted(clusters.values())  # (a cluster once per page it has changes in)
    finally:
        cache.close()
