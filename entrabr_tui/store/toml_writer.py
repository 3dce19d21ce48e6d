"""A small TOML writer for entrabr's config (``tomllib`` reads; the standard library has no writer).

Supports what the config holds: strings, booleans, integers, floats, arrays of those, tables and arrays of
tables. Output is read back identically by ``tomllib``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


class TomlWriteError(ValueError):
    """A value has no TOML form here (e.g. ``None`` or an object)."""


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _string(key)


def _string(value: str) -> str:
    out = ['"']
    for ch in value:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04X}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _scalar(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        return "[" + ", ".join(_scalar(v, where) for v in value) + "]"
    raise TomlWriteError(f"{where}: {type(value).__name__} cannot be written to TOML")


def _is_table_array(value: Any) -> bool:
    return (
        isinstance(value, Sequence)
        and not isinstance(value, str | bytes | bytearray)
        and len(value) > 0
        and all(isinstance(v, Mapping) for v in value)
    )


def _emit(table: Mapping[str, Any], path: list[str], lines: list[str]) -> None:
    nested: list[tuple[str, Any]] = []
    for key, value in table.items():
        if value is None:
            continue
        if isinstance(value, Mapping) or _is_table_array(value):
            nested.append((key, value))
            continue
        lines.append(f"{_key(key)} = {_scalar(value, '.'.join([*path, key]))}")
    for key, value in nested:
        sub = [*path, key]
        header = ".".join(_key(k) for k in sub)
        if isinstance(value, Mapping):
            lines.extend(["", f"[{header}]"])
            _emit(value, sub, lines)
        else:
            for item in value:
                lines.extend(["", f"[[{header}]]"])
                _emit(item, sub, lines)


def toml_dumps(data: Mapping[str, Any], *, header: str | None = None) -> str:
    """Serialize a mapping; ``None`` values are left out (TOML has no null)."""
    lines: list[str] = [f"# {line}" if line else "#" for line in (header or "").splitlines()]
    _emit(data, [], lines)
    return "\n".join(lines).strip("\n") + "\n"
