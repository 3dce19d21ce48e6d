"""The app's modules import no Graph SDK (msgraph, kiota, azure): the first screen paints before it loads.

The SDK costs a few hundred milliseconds of start-up; only the worker that opens a session needs it.
Checked in fresh interpreters, with a positive control that the check notices the SDK.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_SDK_LOADED = (
    "import json, sys\n"
    "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('msgraph', 'kiota', 'azure')))))\n"
)

#: Imports the app and every module of the UI, its screens and widgets.
_APP_AND_SCREENS = (
    "import importlib, pkgutil\n"
    "import entrabr_tui.ui, entrabr_tui.ui.app, entrabr_tui.ui.screens, entrabr_tui.ui.widgets\n"
    "for package in (entrabr_tui.ui, entrabr_tui.ui.screens, entrabr_tui.ui.widgets):\n"
    "    for info in pkgutil.iter_modules(package.__path__, package.__name__ + '.'):\n"
    "        importlib.import_module(info.name)\n"
)


def sdk_loaded_after(code: str) -> list[str]:
    result = subprocess.run([sys.executable, "-c", code + _SDK_LOADED], capture_output=True, text=True,
                            timeout=120, cwd=ROOT, check=False)
    assert result.returncode == 0, result.stderr
    modules: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return modules


def test_importing_the_app_and_its_screens_loads_no_graph_sdk() -> None:
    assert sdk_loaded_after(_APP_AND_SCREENS) == []


def test_the_audit_service_still_loads_it() -> None:
    loaded = sdk_loaded_after("import entrabr_tui.engine.audit\n")
    assert any(name.startswith("msgraph") for name in loaded)
    assert any(name.startswith("kiota") for name in loaded)
