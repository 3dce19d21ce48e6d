"""One rule picks the backup a user names: ``latest``, an ID or a date, expired ones included by name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from entrabr_tui.core.backup_choice import BackupNotChosen, Unmatched, choose_backup
from entrabr_tui.core.model import Snapshot


@dataclass(frozen=True)
class Entry:
    snapshot: Snapshot
    expired: bool = False


def entry(day: int, *, expired: bool = False) -> Entry:
    return Entry(Snapshot(f"snap-{day}", datetime(2026, 3, day, 22, tzinfo=UTC)), expired)


NEWEST_EXPIRED = [entry(21, expired=True), entry(20), entry(19, expired=True)]
ALL_EXPIRED = [entry(21, expired=True), entry(20, expired=True)]


@pytest.mark.parametrize("offline", [False, True])
def test_latest_is_the_newest_listed_backup(offline: bool) -> None:
    assert choose_backup(NEWEST_EXPIRED, None, offline=offline).snapshot.id == "snap-20"
    assert choose_backup(NEWEST_EXPIRED, " Latest ", offline=offline).snapshot.id == "snap-20"


def test_latest_falls_back_to_the_newest_known_only_offline() -> None:
    assert choose_backup(ALL_EXPIRED, "latest", offline=True).snapshot.id == "snap-21"
    with pytest.raises(BackupNotChosen) as caught:
        choose_backup(ALL_EXPIRED, "latest", offline=False)
    assert caught.value.reason is Unmatched.NONE_CURRENT


@pytest.mark.parametrize("offline", [False, True])
def test_an_expired_backup_is_chosen_by_id_or_date(offline: bool) -> None:
    assert choose_backup(NEWEST_EXPIRED, "snap-19", offline=offline).snapshot.id == "snap-19"
    assert choose_backup(NEWEST_EXPIRED, "2026-03-21", offline=offline).snapshot.id == "snap-21"


def test_no_backup_and_no_match_say_why() -> None:
    with pytest.raises(BackupNotChosen) as none:
        choose_backup([], "latest", offline=True)
    assert none.value.reason is Unmatched.NONE_KNOWN
    assert none.value.message == "No backups are known in the cache."
    with pytest.raises(BackupNotChosen) as unmatched:
        choose_backup(NEWEST_EXPIRED, "2001-01-01", offline=False)
    assert unmatched.value.reason is Unmatched.NO_MATCH
    assert unmatched.value.message == "No backup '2001-01-01'."
    assert [s.id for s in unmatched.value.known] == ["snap-21", "snap-20", "snap-19"]
