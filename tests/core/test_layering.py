"""``entrabr_tui.core`` stays pure: no UI, HTTP, Graph SDK, database, process or file-system imports."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import entrabr_tui.core

CORE_DIR = Path(entrabr_tui.core.__file__).parent

DENIED = frozenset({
    "textual", "rich", "httpx", "msgraph", "msgraph_core", "azure", "sqlite3", "socket", "asyncio",
    "aiohttp", "starlette", "uvicorn", "urllib", "requests", "subprocess", "os", "pathlib", "io", "shutil",
    "platformdirs", "orjson", "importlib", "tempfile", "http", "ssl", "multiprocessing", "threading",
})
DENIED_PREFIXES = ("kiota",)
#: Built-ins that reach the file system or load modules by name.
DENIED_CALLS = frozenset({"open", "__import__"})
#: Packages the import check in a fresh interpreter looks for.
RUNTIME_DENIED = ("textual", "rich", "httpx", "msgraph", "kiota_abstractions", "sqlite3", "azure", "socket",
                  "asyncio", "orjson", "platformdirs")


def is_denied(module: str) -> bool:
    top = module.split(".")[0]
    return top in DENIED or top.startswith(DENIED_PREFIXES)


def violations(source: str, filename: str = "<source>") -> list[str]:
    """Denied imports and calls in a module's source (relative imports stay inside the package)."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            found += [f"{filename}:{node.lineno} import {a.name}" for a in node.names if is_denied(a.name)]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and is_denied(node.module):
            found.append(f"{filename}:{node.lineno} from {node.module} import …")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in DENIED_CALLS:
            found.append(f"{filename}:{node.lineno} call {node.func.id}()")
    return found


def core_modules() -> list[Path]:
    return sorted(CORE_DIR.rglob("*.py"))


def test_core_has_the_expected_modules() -> None:
    names = {p.name for p in core_modules()}
    assert {"__init__.py", "model.py", "catalog.py", "diff.py", "planner.py"} <= names


@pytest.mark.parametrize("path", core_modules(), ids=lambda p: p.name)
def test_core_module_imports_nothing_denied(path: Path) -> None:
    assert violations(path.read_text(encoding="utf-8"), path.name) == []


@pytest.mark.parametrize("source", [
    "import textual", "from textual.app import App", "import httpx as h", "import msgraph.generated",
    "from kiota_abstractions import x", "import os.path", "from pathlib import Path", "import sqlite3",
    "from azure.identity import DeviceCodeCredential", "import subprocess", "import asyncio",
    "def f():\n    import rich\n", "try:\n    import orjson\nexcept ImportError:\n    pass\n",
    "data = open('x').read()", "mod = __import__('socket')", "import importlib",
])
def test_the_checker_catches_violations(source: str) -> None:
    assert violations(source) != []


@pytest.mark.parametrize("source", [
    "import json", "from .model import Change", "from collections.abc import Mapping",
    "from . import model", "x = reopen()", "import textwrap", "import osmosis",
])
def test_the_checker_allows_pure_imports(source: str) -> None:
    assert violations(source) == []


def test_importing_core_loads_no_ui_or_io_library() -> None:
    code = (
        "import json, sys\n"
        "import entrabr_tui.core\n"
        f"denied = {RUNTIME_DENIED!r}\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in denied)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            check=False, cwd=CORE_DIR.parent.parent)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_the_runtime_check_would_notice_a_heavy_import() -> None:
    code = ("import json, sys, sqlite3\nimport entrabr_tui.core\n"
            "print(json.dumps(sorted(m for m in sys.modules if m == 'sqlite3')))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            check=False, cwd=CORE_DIR.parent.parent)
    assert json.loads(result.stdout.strip().splitlines()[-1]) == ["sqlite3"]
