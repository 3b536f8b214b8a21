"""File states the unit tests put a real file system in (no mock)."""

from __future__ import annotations

import contextlib
import subprocess


@contextlib.contextmanager
def immutable(path):
    """Even root cannot create or change a file in an immutable directory (chattr +i)."""
    subprocess.run(["chattr", "+i", str(path)], check=True)
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)
