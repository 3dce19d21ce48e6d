"""Session history: append, query by time / action / object id / tenant, and never store a token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from entrabr_tui.core.model import EntityNameAndIdsFilter
from entrabr_tui.store.history import History, HistoryAction
from entrabr_tui.store.redact import REDACTED, redact, redact_text

T0 = datetime(2026, 7, 30, 8, 0, tzinfo=UTC)
JWT = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJzY3AiOiJFbnRyYUJhY2t1cC5SZWFkLkFsbCJ9.c2lnbmF0dXJlLXBhcnQ"


def _history() -> History:
    history = History.open()
    steps: list[tuple[str, dict[str, Any], tuple[str, ...]]] = [
        (HistoryAction.SIGN_IN, {}, ()),
        (HistoryAction.REPORT_CREATED, {"snapshot_id": "S1", "counts": {"changes": 1200}}, ()),
        (HistoryAction.OBJECTS_MARKED, {"counts": {"marked": 2}}, ("AAAA-1", "bbbb-2")),
        (HistoryAction.OBJECTS_UNMARKED, {}, ("bbbb-2",)),
        (HistoryAction.RESTORE_SUBMITTED, {"job_id": "J1", "outcome": "accepted"}, ("AAAA-1",)),
        (HistoryAction.RESTORE_FINISHED, {"job_id": "J1", "outcome": "successful"}, ("aaaa-1",)),
        ("something-new", {"tenant_id": "other-tenant"}, ()),
    ]
    for minute, (action, extra, ids) in enumerate(steps):
        fields = {"tenant_id": "contoso", "identity": "admin@contoso.com", **extra}
        history.append(action, object_ids=ids, at=T0 + timedelta(minutes=minute), **fields)
    return history


def test_query_by_time_action_object_and_tenant() -> None:
    history = _history()
    try:
        everything = history.query()
        assert [e.action for e in everything][:2] == ["something-new", "restore-finished"]  # newest first
        assert len(everything) == 7
        window = history.query(since=T0 + timedelta(minutes=2), until=T0 + timedelta(minutes=4))
        assert [e.action for e in window] == ["objects-unmarked", "objects-marked"]
        restores = history.query(
            actions=[HistoryAction.RESTORE_SUBMITTED, "restore-finished"], newest_first=False
        )
        assert [(e.action, e.outcome) for e in restores] == [
            ("restore-submitted", "accepted"),
            ("restore-finished", "successful"),
        ]
        touched = history.query(object_id="aaaa-1", newest_first=False)
        assert [e.action for e in touched] == ["objects-marked", "restore-submitted", "restore-finished"]
        assert touched[0].object_ids == ("AAAA-1", "bbbb-2") and touched[0].object_count == 2
        assert [e.action for e in history.query(object_id="BBBB-2")] == ["objects-unmarked", "objects-marked"]
        assert [e.action for e in history.query(tenant_id="other-tenant")] == ["something-new"]
        assert len(history.query(limit=3)) == 3
        created = history.query(actions=["report-created"])[0]
        assert (
            created.counts == {"changes": 1200}
            and created.snapshot_id == "S1"
            and created.at == T0 + timedelta(minutes=1)
        )
    finally:
        history.close()


def test_scope_and_counts_are_stored_as_json() -> None:
    with History.open() as history:
        scope = EntityNameAndIdsFilter((("user", ("u1",)),))
        entry = history.append(
            HistoryAction.RESTORE_PLANNED, scope=scope, counts={"update": 1, "excluded": 0}
        )
        assert entry.scope == scope.to_json() and entry.counts == {"update": 1, "excluded": 0}
        assert not entry.redacted


def test_kept_indefinitely_across_reopen() -> None:
    _history().close()
    with History.open() as history:
        assert len(history.query(limit=None)) == 7
        assert history.warnings == []


def test_tokens_are_redacted_before_storage(entrabr_home: Path) -> None:
    with History.open() as history:
        entry = history.append(
            HistoryAction.SIGN_IN,
            identity=JWT,
            detail=f"request failed: Authorization: Bearer {JWT} (retrying)",
            counts={"access_token": "opaque-value-123", "nested": {"refreshToken": "zzz"}, "ok": 3},
            outcome="bearer abc.def-ghi",
            object_ids=[JWT],
        )
        assert entry.redacted
        assert entry.identity == REDACTED
        assert entry.detail == f"request failed: Authorization: Bearer {REDACTED} (retrying)"
        assert entry.counts == {"access_token": REDACTED, "nested": {"refreshToken": REDACTED}, "ok": 3}
        assert entry.outcome == f"bearer {REDACTED}"
        assert entry.object_ids == (REDACTED,)
        history.append(HistoryAction.SIGN_OUT, identity="admin@contoso.com")
        path = history.path
    stored = b"".join(p.read_bytes() for p in path.parent.iterdir() if p.name.startswith(path.name))
    for secret in (JWT.encode(), b"opaque-value-123", b"zzz", b"abc.def-ghi", JWT[:20].encode()):
        assert secret not in stored


def test_redaction_leaves_ordinary_text_alone() -> None:
    for text in ("admin@contoso.com", "Bearer of good news", "eye", "restore 12 users", "7a1c0c2e-4b61-4a3f"):
        cleaned, hit = redact_text(text)
        if text == "Bearer of good news":
            assert hit  # "Bearer <word>" is treated as a credential: better safe
        else:
            assert (cleaned, hit) == (text, False)
    value, hit = redact({"password": "", "list": ["x", {"client_secret": "s"}]})
    assert hit and value == {"password": "", "list": ["x", {"client_secret": REDACTED}]}
