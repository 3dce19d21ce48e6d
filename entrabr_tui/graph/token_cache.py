"""Where sign-in state lives: the persistent MSAL token cache and the saved ``AuthenticationRecord``.

- The token cache (refresh and access tokens) is azure-identity's persistent cache named ``entrabr``
  (``~/.IdentityService/entrabr.cae`` / ``.nocae``). It is encrypted where the OS allows (DPAPI, Keychain,
  libsecret). When encryption is impossible it is kept in memory only, unless the user explicitly opted in
  to a plaintext 0600 file. :func:`probe_token_cache` decides which, before any credential is built.
- The ``AuthenticationRecord`` holds no secret (authority, client ID, home account ID, tenant, username).
  Together with the persistent cache it gives silent sign-in after a restart. It is saved with mode 0600
  under the state directory passed by the caller.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: azure-identity takes about 0.1 s to import
    from azure.identity import AuthenticationRecord, TokenCachePersistenceOptions

_LOG = logging.getLogger(__name__)

CACHE_NAME = "entrabr"
RECORD_PREFIX = "auth-record-"


class CacheMode(StrEnum):
    """How tokens are kept between runs."""

    ENCRYPTED = "encrypted"  # OS-protected persistent cache
    PLAINTEXT = "plaintext"  # 0600 JSON file, only on explicit opt-in
    MEMORY = "memory"  # lost on exit: the user signs in again next start
    EXTERNAL = "external"  # managed by another tool (Azure CLI)
    NONE = "none"  # nothing to cache (emulator tokens)


@dataclass(frozen=True, slots=True)
class CacheStatus:
    """The token cache in use and, when it is weaker than expected, a warning to show the user."""

    mode: CacheMode
    warning: str | None = None
    options: TokenCachePersistenceOptions | None = None

    @property
    def persistent(self) -> bool:
        return self.mode in (CacheMode.ENCRYPTED, CacheMode.PLAINTEXT)


def probe_token_cache(*, allow_unencrypted: bool, name: str = CACHE_NAME) -> CacheStatus:
    """Find out whether a persistent token cache can be used here, and whether it is encrypted.

    Uses azure-identity's own persistence selection so the answer matches what the credential will do.
    Never raises: any failure yields an in-memory cache with a warning.
    """
    from azure.identity import TokenCachePersistenceOptions

    try:
        from azure.identity._persistent_cache import _get_persistence
    except ImportError:  # pragma: no cover - a future azure-identity without this helper
        options = TokenCachePersistenceOptions(name=name, allow_unencrypted_storage=allow_unencrypted)
        return CacheStatus(CacheMode.ENCRYPTED, None, options)
    location = Path.home() / ".IdentityService" / f"{name}.*"
    try:
        persistence = _get_persistence(
            allow_unencrypted=allow_unencrypted, account_name="MSALCache", cache_name=f"{name}.cae"
        )
    except ValueError as exc:
        reason = _short(exc.__cause__ or exc)
        return CacheStatus(
            CacheMode.MEMORY,
            "Tokens are kept in memory only, so you will sign in again next time: the token cache cannot "
            f"be encrypted here ({reason}). Install libsecret and PyGObject with an unlocked keyring, or "
            "opt in to a plaintext cache file (mode 0600) with --allow-unencrypted-token-cache.",
        )
    except Exception as exc:  # NotImplementedError on exotic platforms, OSError on a read-only home
        return CacheStatus(
            CacheMode.MEMORY,
            f"Tokens are kept in memory only, so you will sign in again next time: no persistent token "
            f"cache is available here ({_short(exc)}).",
        )
    options = TokenCachePersistenceOptions(name=name, allow_unencrypted_storage=allow_unencrypted)
    if getattr(persistence, "is_encrypted", False):
        return CacheStatus(CacheMode.ENCRYPTED, None, options)
    return CacheStatus(
        CacheMode.PLAINTEXT,
        f"The token cache is stored UNENCRYPTED at {location} (mode 0600), as you allowed: anyone who can "
        "read that file can act as you. Sign out to delete it.",
        options,
    )


def plaintext_cache_files(name: str = CACHE_NAME) -> list[Path]:
    """Files of the plaintext (or, on Linux, signal) token cache for ``name``."""
    folder = Path.home() / ".IdentityService"
    return [folder / f"{name}.cae", folder / f"{name}.nocae"]


class AuthRecordStore:
    """Saves and loads one ``AuthenticationRecord`` per (authority, client ID, tenant) under a folder."""

    def __init__(self, state_dir: Path, *, authority: str, client_id: str, tenant_id: str) -> None:
        key = f"{authority.lower()}|{client_id.lower()}|{tenant_id.lower()}"
        digest = hashlib.sha256(key.encode()).hexdigest()[:16]
        self.state_dir = Path(state_dir)
        self.path = self.state_dir / f"{RECORD_PREFIX}{digest}.json"
        self._client_id = client_id

    def load(self) -> AuthenticationRecord | None:
        """The saved record, or ``None`` when missing, unreadable or for another application."""
        from azure.identity import AuthenticationRecord

        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            _LOG.warning("Cannot read the saved sign-in record %s: %s", self.path, exc.strerror)
            return None
        try:
            record = AuthenticationRecord.deserialize(text)
        except (ValueError, KeyError, TypeError):
            _LOG.warning("Ignoring a malformed sign-in record at %s", self.path)
            return None
        if record.client_id.lower() != self._client_id.lower():
            return None
        return record

    def save(self, record: AuthenticationRecord) -> None:
        """Write the record atomically with mode 0600 (folder 0700 when created here)."""
        self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(record.serialize())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise

    def delete(self) -> bool:
        """Forget the record; returns whether one existed."""
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        return True


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]
