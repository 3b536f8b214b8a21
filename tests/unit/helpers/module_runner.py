"""Run one of the collection's modules the way Ansible does on a host: its file, its arguments
as JSON, the collection on PYTHONPATH. No mock: the real module, the real file system."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
COLLECTIONS = REPO / ".cache" / "collections"


def run_module(name, args, check=False, diff=False, timeout=60, wrap=None):
    """(failed, result) of module NAME with ARGS. A traceback, a hang (TIMEOUT seconds) or
    output that is not the module's JSON fails the calling test. WRAP: a command prefix
    (such as an unshare(1) line) the module runs under."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": {**args, "_ansible_check_mode": check, "_ansible_diff": diff}}, handle)
    try:
        cmd = [sys.executable, str(REPO / "plugins" / "modules" / f"{name}.py"), handle.name]
        r = subprocess.run((wrap or []) + cmd, capture_output=True, text=True, timeout=timeout,
                           env=dict(os.environ, PYTHONPATH=str(COLLECTIONS)))
    finally:
        os.unlink(handle.name)
    assert "Traceback" not in r.stderr, r.stdout + r.stderr
    result = json.loads(r.stdout)
    # ansible-core 2.19.0 attaches the call stack of fail_json itself to every failure
    # (shown at -vvv only); any other traceback is a crash.
    exception = result.get("exception", "")
    assert not exception or ("fail_json(" in exception and result.get("msg")), result
    return bool(result.get("failed")), result
