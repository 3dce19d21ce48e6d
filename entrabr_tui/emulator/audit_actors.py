"""Who acts on the emulated tenant, as the directory audit log names them (``initiatedBy``).

The cast (every member is a real object of the tenant unless noted; ids are stable under the seed):

* **Compromised admin** (``compromisedAdmin``) — the user ``it.ops.admin@<domain>`` ("IT Ops Admin"), signing
  in from 185.220.101.47. During the incident (after the newest backup) it switches the Conditional Access
  policy to report-only, widens the trusted named location, removes the members of a security group and
  deletes it, registers the rogue application (adds a secret and makes itself owner), adds a credential to
  an existing service principal, makes itself owner and member of a cloud security group, invites the rogue
  guests (and sponsors them), makes the first guest owner (in place of every owner) and member of two groups,
  and deletes the users it deletes before the rogue app is ready.
* **Rogue automation app** (``rogueApp``) — the service principal "Azure AD Sync Helper" the compromised admin
  registered. Once it exists it disables and renames users ("DISABLED - …"), deletes users and purges some
  for good (``Delete user`` then ``Hard Delete user``): many records under a few correlation ids. Its
  records carry ``servicePrincipalId``; ``appId`` is null on some of them, as seen live.
* **Legitimate admins** (``legitAdmin``) — "Maya Lindqvist" (identity admin: groups, applications, service
  principals, policies) and "Tom Becker" (helpdesk: user edits, password resets, restores from the recycle
  bin, purges), both from the corporate network. They work every day, and during the incident hours they
  make ordinary edits that show in the difference report next to the attacker's (the ones to keep).
* **HR provisioning app** (``hrProvisioning``) — the "HR Onboarding" application's service principal: joiners
  (``Add user``, their first group, ``Set user manager``), leavers (disable, then ``Delete user``),
  department and job title changes.
* **Directory synchronization** (``directorySync``) — the user ``Sync_DC01_<hex>@<tenant>.onmicrosoft.com``:
  every drift change to an object synchronised from on-premises AD, on the 30-minute sync cycle, with
  ``Action Client Name = DirectorySync``.
* **Recovery initiator** (``recoveryInitiator``) — whoever created a recovery job (from the token's ``oid``,
  ``upn`` and ``name``; not a tenant object in the emulator): ``Backup and Recovery`` records.
* **Background** (``background``) — synthetic noise that changes nothing a backup covers (self-service
  password changes, security-info registrations, token revocations, directory-sync heartbeats, PIM
  activations), initiated by the users themselves, the helpdesk admin or directory synchronization.

Some changes have no record at all (a configurable log gap) and ``UsageLocation`` is never logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from entrabr_tui.emulator import catalog as c
from entrabr_tui.emulator import people
from entrabr_tui.emulator.history import History
from entrabr_tui.emulator.layout import Layout
from entrabr_tui.emulator.vocabulary import HOSTILE_USER_NAMES

COMPROMISED_ADMIN = "compromisedAdmin"
ROGUE_APP = "rogueApp"
LEGIT_ADMIN = "legitAdmin"
HR_APP = "hrProvisioning"
DIRECTORY_SYNC = "directorySync"
RECOVERY_INITIATOR = "recoveryInitiator"
BACKGROUND = "background"

ACTOR_KINDS = (COMPROMISED_ADMIN, ROGUE_APP, LEGIT_ADMIN, HR_APP, DIRECTORY_SYNC, RECOVERY_INITIATOR,
               BACKGROUND)

BROWSER_EDGE = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0")
BROWSER_FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
SCRIPT_AGENT = "python-requests/2.32.3"
ATTACKER_IP = "185.220.101.47"


@dataclass(frozen=True, slots=True)
class Identity:
    """One initiator: a user (``upn`` set) or an app (``service_principal_id`` set)."""

    kind: str                         # one of ACTOR_KINDS
    key: str                          # stable name inside the emulator (``admin.maya``, ``app.hr`` …)
    id: str                           # user object id, or service principal id for apps
    display_name: str | None
    upn: str | None = None
    ip_address: str = ""
    app_id: str | None = None
    user_agent: str | None = None
    app_id_sometimes_null: bool = False
    idx: int | None = None            # tenant object index, when the initiator is a tenant object

    @property
    def is_app(self) -> bool:
        """True for app (service principal) initiators."""
        return self.upn is None

    def describe(self) -> dict[str, Any]:
        """Ground-truth view for the control plane."""
        doc: dict[str, Any] = {"kind": self.kind, "key": self.key, "displayName": self.display_name}
        if self.is_app:
            doc.update(servicePrincipalId=self.id, appId=self.app_id)
        else:
            doc.update(id=self.id, userPrincipalName=self.upn, ipAddress=self.ip_address)
        return doc


# (key, kind, display name, given name, surname, UPN local part, job title, ip)
_ADMINS: tuple[tuple[str, str, str, str, str, str, str, str], ...] = (
    ("admin.itops", COMPROMISED_ADMIN, "IT Ops Admin", "IT", "Ops Admin", "it.ops.admin", "IT Operations",
     ATTACKER_IP),
    ("admin.maya", LEGIT_ADMIN, "Maya Lindqvist", "Maya", "Lindqvist", "maya.lindqvist", "Identity Engineer",
     "203.0.113.24"),
    ("admin.tom", LEGIT_ADMIN, "Tom Becker", "Tom", "Becker", "tom.becker", "Helpdesk Technician",
     "203.0.113.57"),
)
SYNC_DISPLAY_NAME = "On-Premises Directory Synchronization Service Account"
HR_APP_NAME = "HR Onboarding"
ROGUE_APP_NAME = "Azure AD Sync Helper"


def _cloud_members(layout: Layout, want: int) -> list[int]:
    """The first ``want`` cloud-only, enabled member users after the ordinals the incident protects."""
    out: list[int] = []
    for o in range(len(HOSTILE_USER_NAMES) + 1, layout.counts[c.USER]):
        idx = layout.index(c.USER, o)
        if people.user_kind(layout.hash(idx)) == "member" and people.user_account_enabled(layout, idx, o):
            out.append(idx)
            if len(out) == want:
                break
    if len(out) < want:
        raise ValueError("the tenant is too small to hold the accounts that act on it")
    return out


class Cast:
    """The accounts and apps of the tenant that make its changes (see the module docstring)."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        _, domain = people.tenant_names(layout)
        initial = people.onmicrosoft(layout)
        users = _cloud_members(layout, len(_ADMINS) + 1)
        self._base: dict[int, dict[str, Any]] = {}
        self.members: dict[str, Identity] = {}
        for idx, (key, kind, name, given, surname, local, title, ip) in zip(users, _ADMINS, strict=False):
            upn = f"{local}@{domain}"
            agent = BROWSER_FIREFOX if kind == COMPROMISED_ADMIN else BROWSER_EDGE
            self.members[key] = Identity(kind, key, layout.id_of(idx), name, upn, ip, user_agent=agent,
                                         idx=idx)
            self._base[idx] = {"displayName": name, "givenName": given, "surname": surname,
                               "userPrincipalName": upn, "mail": upn, "mailNickname": local,
                               "jobTitle": title, "department": "IT"}
        sync_idx = users[len(_ADMINS)]
        sync_upn = f"Sync_DC01_{layout.hash(sync_idx, 7) & 0xFFFFFFFFFFFF:012x}@{initial}"
        self.members["sync"] = Identity(DIRECTORY_SYNC, "sync", layout.id_of(sync_idx), SYNC_DISPLAY_NAME,
                                        sync_upn, "", idx=sync_idx)
        self._base[sync_idx] = {"displayName": SYNC_DISPLAY_NAME, "givenName": None, "surname": None,
                                "userPrincipalName": sync_upn, "mail": None,
                                "mailNickname": sync_upn.split("@")[0],
                                "jobTitle": None, "department": None, "companyName": None, "employeeId": None,
                                "employeeType": None, "employeeOrgData": None, "officeLocation": None,
                                "mobilePhone": None, "businessPhones": []}
        n_apps = layout.counts[c.APPLICATION]
        ordinal = 2 if n_apps > 2 else 0
        app_idx = layout.index(c.APPLICATION, ordinal)
        sp_idx = layout.index(c.SERVICE_PRINCIPAL, ordinal)      # the first SPs belong to the registrations
        self.hr_app_idx, self.hr_sp_idx = app_idx, sp_idx
        self.members["app.hr"] = Identity(HR_APP, "app.hr", layout.id_of(sp_idx), HR_APP_NAME,
                                          app_id=layout.guid(app_idx, salt=1), idx=sp_idx)
        self._base[app_idx] = {"displayName": HR_APP_NAME}
        self._base[sp_idx] = {"displayName": HR_APP_NAME}
        self.compromised = self.members["admin.itops"]
        self.identity_admin = self.members["admin.maya"]
        self.helpdesk = self.members["admin.tom"]
        self.sync = self.members["sync"]
        self.hr = self.members["app.hr"]

    def reserve(self, hist: History) -> None:
        """Give the cast's objects their names and keep the drift and the incident away from them."""
        for idx, patch in self._base.items():
            hist.set_base(idx, patch)
        hist.reserved.update(self._base)

    def rogue_app(self, sp_idx: int, app_idx: int) -> Identity:
        """The rogue automation app, once the incident has created its service principal."""
        return Identity(ROGUE_APP, "app.rogue", self.layout.id_of(sp_idx), ROGUE_APP_NAME,
                        app_id=self.layout.guid(app_idx, salt=1), user_agent=SCRIPT_AGENT,
                        app_id_sometimes_null=True, idx=sp_idx)

    def describe(self) -> list[dict[str, Any]]:
        """Ground-truth view of the standing cast (the rogue app appears once created)."""
        return [m.describe() for m in self.members.values()]


def recovery_initiator(oid: str, upn: str | None, name: str | None, ip: str, agent: str | None) -> Identity:
    """The user who created a recovery job, as the token names them."""
    return Identity(RECOVERY_INITIATOR, f"token.{oid}", oid, name, upn or "", ip, user_agent=agent)
