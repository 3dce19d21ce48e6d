"""Restore and report targets: object IDs from ``--id`` and from files or stdin (``--ids-from FILE|-``).

A target is an object ID, optionally prefixed with its type: ``8f0c…`` or ``user:8f0c…``. In a file, one
target per line; blank lines and everything after ``#`` are ignored, so the output of an audit-log query can
be annotated and fed in as it is. Bad lines are reported with their line number and nothing is used.

Reading is bounded, so an endless or runaway stream (``--ids-from /dev/zero``, ``yes | entrabr …``) ends with
a message instead of exhausting memory: at most :data:`MAX_IDS` IDs, :data:`MAX_LINES` lines and
:data:`MAX_LINE_CHARS` characters per line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TextIO

from entrabr_tui.cli.exits import UsageError
from entrabr_tui.core.text import display_text

#: Object IDs are GUIDs in Entra, but other shapes are accepted (the service is the judge); no spaces,
#: quotes, commas or control characters, and a sensible length.
_ID = re.compile(r"^[A-Za-z0-9._~@{}()+=/-]{1,256}$")
_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,63}$")
MAX_IDS = 1_000_000
#: Lines read at most (comments and blank lines included).
MAX_LINES = 5_000_000
#: A line longer than this holds no ID (IDs are at most 256 characters, plus a type and a comment).
MAX_LINE_CHARS = 4096


@dataclass(frozen=True, slots=True)
class Target:
    """One requested object: its ID and, when given, its type (``resourceTypeName``)."""

    id: str
    entity_type: str | None = None

    @property
    def text(self) -> str:
        return f"{self.entity_type}:{self.id}" if self.entity_type else self.id


def parse_target(text: str, where: str) -> Target:
    """Parse ``ID`` or ``TYPE:ID``; ``where`` names the source in the error message."""
    value = text.strip()
    entity_type: str | None = None
    if ":" in value:
        entity_type, _, value = value.partition(":")
        entity_type, value = entity_type.strip(), value.strip()
        if not _TYPE.match(entity_type):
            raise UsageError(f"{where}: {display_text(entity_type, limit=80)} is not an object type name.",
                             hint="Write TYPE:ID, e.g. user:8f0c2b6e-…, or just the ID.")
    if not _ID.match(value):
        raise UsageError(f"{where}: {display_text(value, limit=80)!r} is not an object ID.",
                         hint="One ID per line; '#' starts a comment.")
    return Target(value, entity_type)


class LineReader(Protocol):
    """What :func:`read_targets` reads from: a text stream's ``readline`` (stdin, an open file)."""

    def readline(self, size: int = -1, /) -> str: ...


def read_targets(stream: LineReader, source: str) -> list[Target]:
    """Targets from a text stream, one per line (see the module documentation)."""
    out: list[Target] = []
    number = 0
    while True:
        raw = stream.readline(MAX_LINE_CHARS + 1)
        if not raw:
            return out
        number += 1
        if len(raw) > MAX_LINE_CHARS and not raw.endswith("\n"):
            raise UsageError(f"{source} line {number:,} is longer than {MAX_LINE_CHARS:,} characters; "
                             "stopped reading.", hint="One ID per line; '#' starts a comment.")
        if number > MAX_LINES:
            raise UsageError(f"{source}: more than {MAX_LINES:,} lines; stopped reading.",
                             hint=f"Give at most {MAX_IDS:,} IDs per run.")
        line = raw.split("#", 1)[0].strip().lstrip("\ufeff")
        if not line:
            continue
        out.append(parse_target(line, f"{source} line {number}"))
        if len(out) > MAX_IDS:
            raise UsageError(f"{source}: more than {MAX_IDS:,} IDs; stopped reading.",
                             hint="Split the list and run once per part.")


def gather_targets(ids: Sequence[str], ids_from: str | None, stdin: TextIO,
                   default_type: str | None = None) -> list[Target]:
    """All targets from ``--id`` values and ``--ids-from``, in order, without repeats.

    ``default_type`` (a single ``--type``) applies to IDs given without a type.
    """
    targets = [parse_target(value, "--id") for value in ids]
    if ids_from is not None:
        if ids_from == "-":
            targets.extend(read_targets(stdin, "stdin"))
        else:
            path = Path(ids_from)
            try:
                with path.open(encoding="utf-8", errors="strict") as handle:
                    targets.extend(read_targets(handle, str(path)))
            except UnicodeDecodeError:
                raise UsageError(f"{path} is not UTF-8 text.") from None
            except OSError as exc:
                raise UsageError(f"Cannot read {path}: {exc.strerror or type(exc).__name__}.") from None
    if default_type is not None:
        targets = [t if t.entity_type else Target(t.id, default_type) for t in targets]
    return dedupe(targets)


def dedupe(targets: Iterable[Target]) -> list[Target]:
    """Targets without repeats (IDs compare case-insensitively: they are GUIDs), first occurrence kept."""
    seen: set[tuple[str | None, str]] = set()
    out = []
    for target in targets:
        key = (target.entity_type, target.id.lower())
        if key not in seen:
            seen.add(key)
            out.append(target)
    return out
