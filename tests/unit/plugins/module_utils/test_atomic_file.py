"""Bad input, second round: one case (at least) per finding, each run for real.

Hangs are caught by a timeout (a FIFO or /dev/zero that is opened blocks or never ends);
tracebacks by run_module, which fails on one; "nothing changed" by a digest of the whole
tree (names, modes, symlink targets, bytes), hidden files included.
"""

from __future__ import annotations

import os
import shutil

import pytest
from dashboard_helpers import dash, params
from file_states import immutable
from module_runner import run_module

from ansible_collections.limen.monitoring.plugins.module_utils.dashboard_sync import DashboardError
from ansible_collections.limen.monitoring.plugins.module_utils.dashboard_sync import sync as dashboards
from ansible_collections.limen.monitoring.plugins.module_utils.targets_sync import TargetError
from ansible_collections.limen.monitoring.plugins.module_utils.targets_sync import sync as targets


def sd(directory, **kw):
    base = {"directory": str(directory), "job": "app", "targets": ["a:1"], "state": "present", "exclusive": False,
            "jobs": None, "prune": False, "mode": None, "owner": None, "group": None}
    return {**base, **kw}


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


def test_no_lock_file_is_left_behind_after_a_refused_write(tmp_path):
    targets(sd(tmp_path))
    with immutable(tmp_path / "app.json"):
        with pytest.raises(OSError):
            targets(sd(tmp_path, targets=["b:1"]))
    assert not (tmp_path / ".limen.lock").exists()
    d = tmp_path / "dash"
    dashboards(params(d, folder="Team", dashboard=dash()))
    with immutable(d / "Team"):
        with pytest.raises(DashboardError, match="Operation not permitted"):
            dashboards(params(d, folder="Team", dashboard=dash("Other")))
    assert not (d / ".limen.lock").exists()


def test_a_full_disk_leaves_no_lock_and_no_folder_behind(tmp_path):
    """ENOSPC while writing: the call fails naming the path, and the directory is as before
    (no .limen.lock, no dashboard folder made for the file that could not be written)."""
    for module, args in (("prometheus_targets", {"job": "app", "targets": ["a:1"]}),
                         ("grafana_dashboard", {"folder": "Team", "uid": "team", "dashboard": dash()})):
        wrap, mnt = under_mount(tmp_path, "full", after=f"ls -A {{mnt}}/d > {tmp_path}/left")
        failed, r = run_module(module, {"directory": f"{mnt}/d", **args}, wrap=wrap)
        assert failed and "No space left on device" in r["msg"] and f"{mnt}/d" in r["msg"], r
        assert (tmp_path / "left").read_text() == "", (module, (tmp_path / "left").read_text())


# ---- symlinks ----
def test_a_symlinked_lock_is_refused_and_its_target_never_created(tmp_path):
    (tmp_path / "sd").mkdir()
    (tmp_path / "sd" / ".limen.lock").symlink_to(tmp_path / "created-outside")
    with pytest.raises(TargetError, match=r"\.limen\.lock is a symbolic link; refusing to lock through it"):
        targets(sd(tmp_path / "sd"))
    (tmp_path / "dash").mkdir()
    (tmp_path / "dash" / ".limen.lock").symlink_to(tmp_path / "created-outside")
    with pytest.raises(DashboardError, match=r"\.limen\.lock is a symbolic link"):
        dashboards(params(tmp_path / "dash", dashboard=dash()))
    assert not (tmp_path / "created-outside").exists() and not (tmp_path / "sd" / "app.json").exists()
