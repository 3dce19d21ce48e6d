"""azure-identity (and MSAL under it) is imported only by the sign-in methods that use it.

Emulator sign-in, the demo tenant and the Graph client never need it; importing it costs about 0.1 s of
every command-line run. Checked in fresh interpreters, with a positive control that the check notices it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IDENTITY = ("azure.identity", "msal")

_LOADED = (
    "import json, sys\n"
    "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'msal' "
    "or m == 'azure.identity' or m.startswith('azure.identity.'))))\n"
)


def loaded_after(code: str, *argv: str) -> list[str]:
    result = subprocess.run([sys.executable, "-c", code + _LOADED, *argv], capture_output=True, text=True,
                            timeout=120, cwd=ROOT, check=False)
    assert result.returncode == 0, result.stderr
    modules: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return modules


def test_demo_command_signs_in_and_lists_backups_without_azure_identity() -> None:
    code = ("import io, sys\n"
            "from entrabr_tui.cli import run\n"
            "out = io.StringIO()\n"
            "code = run(sys.argv[1:], stdout=out, stderr=io.StringIO())\n"
            "assert code == 0 and '\"snapshots\"' in out.getvalue(), (code, out.getvalue())\n")
    assert loaded_after(code, "snapshots", "--demo", "--objects", "300", "--json") == []


def test_device_code_sign_in_still_loads_it(tmp_path: Path) -> None:
    code = ("import sys\n"
            "from pathlib import Path\n"
            "from entrabr_tui.graph.auth import AuthMethod, AuthSettings, build_credential\n"
            "settings = AuthSettings(method=AuthMethod.DEVICE_CODE, persistent_cache=False)\n"
            "sign_in = build_credential(settings, prompt=lambda p: None, state_dir=Path(sys.argv[1]))\n"
            "assert type(sign_in._sync).__name__ == 'CancellableDeviceCodeCredential'\n")
    loaded = loaded_after(code, str(tmp_path))
    assert {"msal" if name.startswith("msal") else "azure.identity" for name in loaded} == set(IDENTITY)
