"""What a person is told of the audit log's read, the same words on the command line and in the app: the wait
for another entrabr process names the tenant it holds; long waits, the join and the end are announced; pages
read and the request budget's short waits are not."""

from __future__ import annotations

from entrabr_tui.engine.audit_types import ANNOUNCE_WAIT, AuditProgress

HELD = ("another entrabr (restore, pid 42 on build-7, since 10:32Z) is writing to this tenant's cache; "
        "waiting…")


def test_the_wait_for_the_tenant_names_it() -> None:
    event = AuditProgress("waiting", HELD, tenant_held=True)
    assert event.announced
    assert event.told("contoso [b]x[/b]") == f"Tenant contoso [b]x[/b]: {HELD}"


def test_long_waits_the_join_and_the_end_are_announced_as_they_are() -> None:
    budget = "Waiting 2s for the audit log's request budget"
    for event in (AuditProgress("waiting", budget, wait=ANNOUNCE_WAIT),
                  AuditProgress("joining", "Joining report job-1 with the audit log"),
                  AuditProgress("done", "Audit log read: 10 records (2 new) in 3 requests")):
        assert event.announced and event.told("contoso") == event.text


def test_pages_and_short_waits_are_not_announced() -> None:
    assert not AuditProgress("reading", "Reading the audit log …: 10 records").announced
    assert not AuditProgress("waiting", "Waiting 0s for the audit log's request budget", wait=0.4).announced
    assert not AuditProgress("waiting", "Audit log: retrying").announced  # no length: not a long wait
