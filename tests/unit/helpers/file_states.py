"""File states the unit tests put a real file system in (no mock)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess

import pytest


@contextlib.contextmanager
def immutable(path):
    """Even root cannot create or change a file in an immutable directory (chattr +i)."""
    subprocess.run(["chattr", "+i", str(path)], check=True)
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def under_mount(tmp_path, state, after=None):
    """A command prefix: the module runs in a private mount namespace where tmp_path/mnt is a
    1 MiB tmpfs holding d/, then made STATE ("full" or "ro"); gone when the process ends.
    AFTER: a shell command run there once the module has ended ({mnt} is the mount point), to
    look at what it left; the module's own output and exit status are kept."""
    if not shutil.which("unshare") or os.geteuid() != 0:
        pytest.fail("needs root and unshare(1) to mount a small or read-only file system")
    mnt = tmp_path / "mnt"
    mnt.mkdir(exist_ok=True)
    then = f"(head -c 1M /dev/zero > {mnt}/filler 2>/dev/null; true)" if state == "full" \
        else f"mount -o remount,ro {mnt}"
    run = f"\"$@\"; rc=$?; {after.format(mnt=mnt)}; exit $rc" if after else "exec \"$@\""
    return ["unshare", "-m", "sh", "-c", f"mount -t tmpfs -o size=1m none {mnt} && mkdir -p {mnt}/d && "
            f"{then} && {run}", "sh"], mnt
