"""Readers of the Microsoft schema artifacts in ``tests/fixtures/fidelity``; a checker of JSON against them.

:func:`recovery_schema` reads the ``entraRecoveryServices`` CSDL extract (entity, complex and enum types);
:func:`directory_schema` reads the JSON digest of the directory types. Both answer the same questions through
:class:`TypeChecker`: which properties a type has (its own and its base types'), and whether a JSON value
fits a type reference such as ``Edm.Int32``, ``graph.user`` or ``Collection(graph.ipRange)``.
"""

from __future__ import annotations

import json
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "fidelity"
EDM = "{http://docs.oasis-open.org/odata/ns/edm}"


@dataclass
class TypeInfo:
    """One schema type: kind (EntityType, ComplexType, EnumType), base, properties and enum members."""

    kind: str
    base: str | None = None
    abstract: bool = False
    props: dict[str, tuple[str, bool, bool]] = field(default_factory=dict)  # name -> (type, nullable, nav)
    members: tuple[str, ...] = ()


def _bare(name: str | None) -> str | None:
    """``graph.user`` / ``entraRecoveryServices.snapshot`` / ``microsoft.graph.user`` → the last segment."""
    return None if name is None else name.rsplit(".", 1)[-1]


class TypeChecker:
    """Property lookup along base types, and JSON value checks against type references."""

    def __init__(self, types: dict[str, TypeInfo]) -> None:
        self.types = types

    def has(self, name: str) -> bool:
        return name in self.types

    def properties(self, name: str) -> dict[str, tuple[str, bool, bool]]:
        """Own and inherited properties of a type (unknown base types, e.g. graph.entity, add ``id``)."""
        out: dict[str, tuple[str, bool, bool]] = {}
        current: str | None = name
        while current is not None:
            info = self.types.get(current)
            if info is None:
                if current == "entity":
                    out.setdefault("id", ("Edm.String", False, False))
                break
            for key, value in info.props.items():
                out.setdefault(key, value)
            current = _bare(info.base)
        return out

    def derives(self, name: str, base: str) -> bool:
        current: str | None = name
        while current is not None:
            if current == base:
                return True
            info = self.types.get(current)
            current = None if info is None else _bare(info.base)
        return False

    def check(self, value: Any, type_ref: str, nullable: bool, path: str) -> list[str]:
        """Problems of ``value`` as a value of ``type_ref`` (empty when it fits)."""
        if value is None:
            return [] if nullable else [f"{path}: null for non-nullable {type_ref}"]
        if type_ref.startswith("Collection("):
            if not isinstance(value, list):
                return [f"{path}: expected a list for {type_ref}"]
            inner = type_ref[len("Collection("):-1]
            return [p for i, item in enumerate(value) for p in self.check(item, inner, True, f"{path}[{i}]")]
        if type_ref.startswith("Edm."):
            return self._primitive(value, type_ref, path)
        name = _bare(type_ref) or ""
        info = self.types.get(name)
        if info is None:
            return []  # a type the digest does not describe (e.g. a navigation target): not checked
        if info.kind == "EnumType":
            if not isinstance(value, str):
                return [f"{path}: enum {name} needs a string"]
            parts = value.split(",") if len(value) else [value]
            bad = [p for p in parts if p.strip() not in info.members]
            return [f"{path}: {value!r} is not a member of {name}"] if bad else []
        return self.check_object(value, name, path)

    def check_object(self, value: Any, name: str, path: str, *,
                     skip: frozenset[str] = frozenset()) -> list[str]:
        """Problems of a JSON object as an instance of ``name`` (or of the derived type its ``@odata.type``
        names); keys in ``skip`` and annotations are not looked at."""
        if not isinstance(value, dict):
            return [f"{path}: expected an object of type {name}"]
        actual = name
        odata = value.get("@odata.type")
        if isinstance(odata, str):
            actual = _bare(odata.lstrip("#")) or name
            if not self.derives(actual, name):
                return [f"{path}: @odata.type {odata} does not derive from {name}"]
        props = self.properties(actual)
        problems: list[str] = []
        for key, item in value.items():
            if key.startswith("@") or key in skip:
                continue
            if key not in props:
                problems.append(f"{path}.{key}: no such property on {actual}")
                continue
            type_ref, nullable, _nav = props[key]
            problems += self.check(item, type_ref, nullable, f"{path}.{key}")
        return problems

    @staticmethod
    def _primitive(value: Any, type_ref: str, path: str) -> list[str]:
        kind = type_ref[4:]
        ok: bool
        if kind == "String":
            ok = isinstance(value, str)
        elif kind == "Boolean":
            ok = isinstance(value, bool)
        elif kind in ("Int32", "Int64", "Byte"):
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif kind == "Double":
            ok = isinstance(value, int | float) and not isinstance(value, bool)
        elif kind == "DateTimeOffset":
            ok = isinstance(value, str) and _is_datetime(value)
        elif kind == "Guid":
            ok = isinstance(value, str) and _is_guid(value)
        else:
            ok = True
        return [] if ok else [f"{path}: {value!r} is not an {type_ref}"]


def _is_datetime(text: str) -> bool:
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return parsed.tzinfo is not None


def _is_guid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def recovery_schema() -> TypeChecker:
    """The entraRecoveryServices types of Graph v1.0 ``$metadata``."""
    root = ET.parse(FIXTURES / "v1.0_entraRecoveryServices_schema.xml").getroot()
    schema = root.find(f"{EDM}Schema")
    assert schema is not None
    types: dict[str, TypeInfo] = {}
    for element in schema:
        tag = element.tag.removeprefix(EDM)
        name = element.get("Name") or ""
        if tag == "EnumType":
            types[name] = TypeInfo("EnumType", members=tuple(m.get("Name") or "" for m in element))
        elif tag in ("EntityType", "ComplexType"):
            props = {p.get("Name") or "": (p.get("Type") or "", p.get("Nullable") != "false",
                                           p.tag == f"{EDM}NavigationProperty")
                     for p in element if p.tag in (f"{EDM}Property", f"{EDM}NavigationProperty")}
            types[name] = TypeInfo(tag, base=element.get("BaseType"),
                                   abstract=element.get("Abstract") == "true", props=props)
    return TypeChecker(types)


def directory_schema() -> TypeChecker:
    """The directory types (user, group, application, policies, …) of Graph v1.0 ``$metadata``."""
    doc = json.loads((FIXTURES / "v1.0_directory_object_types.json").read_text(encoding="utf-8"))
    types: dict[str, TypeInfo] = {}
    for name, raw in doc["types"].items():
        if raw["kind"] == "EnumType":
            types[name] = TypeInfo("EnumType", members=tuple(raw["members"]))
            continue
        props = {key: (spec["type"], bool(spec.get("nullable", True)), bool(spec.get("nav", False)))
                 for key, spec in raw["props"].items()}
        types[name] = TypeInfo(raw["kind"], base=raw.get("base"), abstract=bool(raw.get("abstract")),
                               props=props)
    return TypeChecker(types)


def capture(name: str) -> Any:
    """A live capture (graph2otel) by file name."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))
