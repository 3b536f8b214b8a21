"""The benchmarks run as `.venv/bin/python benchmarks/NAME.py`: the tools they call
(ansible-playbook, ansible-galaxy, ansible) sit beside that interpreter, and a new user's
PATH need not hold the venv's bin directory."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def put_on_path() -> None:
    """Put the running interpreter's directory (not resolved: a venv's python is a symlink)
    first on PATH, for this process and every tool it starts."""
    bin_dir = str(Path(sys.executable).parent)
    parts = os.environ.get("PATH", "").split(os.pathsep)
    if parts[:1] != [bin_dir]:
        os.environ["PATH"] = os.pathsep.join([bin_dir, *parts])
