"""The engine's Session and the test double both satisfy the UI's Backend protocol."""

from __future__ import annotations

from entrabr_tui.engine.session import Session
from entrabr_tui.ui.backend import Backend

from .fake_backend import FakeBackend


def as_backend(session: Session) -> Backend:
    """States the contract for readers; mypy proves it on the package, where ``entrabr_tui.cli`` hands the
    app a factory of sessions as the UI's ``Backend`` factory."""
    return session


def fake_as_backend(fake: FakeBackend) -> Backend:
    return fake


def test_double_matches_the_protocol_at_runtime() -> None:
    assert isinstance(FakeBackend(), Backend)
