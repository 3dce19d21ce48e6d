"""Shared builders for emulator tests: a fixed clock, cached tenants, snapshots, job records, tokens."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from functools import cache
from typing import Any

import orjson

from entrabr_tui.emulator.directory import ChangeRecord, Directory
from entrabr_tui.emulator.tokens import role_claims

NOW = datetime(2026, 3, 21, 9, 30, tzinfo=UTC)


ODATA_BY_ENTITY = {
    "user": {"#microsoft.graph.user"},
    "group": {"#microsoft.graph.group"},
    "conditionalAccessPolicy": {"#microsoft.graph.conditionalAccessPolicy"},
    "namedLocationPolicy": {"#microsoft.graph.ipNamedLocation", "#microsoft.graph.countryNamedLocation"},
    "application": {"#microsoft.graph.application"},
    "servicePrincipal": {"#microsoft.graph.servicePrincipal"},
    "authenticationMethodPolicy": {"#microsoft.graph.authenticationMethodsPolicy"},
    "authorizationPolicy": {"#microsoft.graph.authorizationPolicy"},
    "organization": {"#microsoft.graph.organization"},
}


@cache
def tenant(seed: int = 3, objects: int = 2000, drift: int | None = None) -> Directory:
    """A shared, never-mutated tenant (tests that mutate build their own)."""
    return Directory(seed=seed, objects=objects, drift=drift, now=NOW)


def parsed(records: list[ChangeRecord]) -> list[dict[str, Any]]:
    return [orjson.loads(r.body) for r in records]


def newest(d: Directory) -> str:
    return d.snapshots()[0][0]


def oldest(d: Directory) -> str:
    return d.snapshots()[-1][0]


T0 = datetime(2026, 3, 21, 8, 0, tzinfo=UTC)


def change_records(n: int, links: int = 0) -> list[ChangeRecord]:
    return [ChangeRecord(id=f"id-{i:05d}", entity_type="user" if i % 2 else "group", action="update",
                         display_name=f"Object {i}", body=b"{}", link_count=links) for i in range(n)]


def encode_jwt_part(part: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()


def custom(**changes: Any) -> str:
    """A token based on the admin claims with some claims replaced (None removes a claim)."""
    claims = role_claims("admin")
    for key, value in changes.items():
        if value is None:
            claims.pop(key, None)
        else:
            claims[key] = value
    return f"{encode_jwt_part({'alg': 'none', 'typ': 'JWT'})}.{encode_jwt_part(claims)}."


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
