"""Atomic writes: no lock or folder left behind after a refusal or a full disk; a symlinked lock refused.

Each case runs for real: hangs are caught by a timeout (a FIFO or /dev/zero that is opened
blocks or never ends), tracebacks by run_module, "nothing changed" by a digest of the whole tree.
"""

from __future__ import annotations

import pytest
from dashboard_helpers import dash, params
from file_states import immutable, under_mount
from module_runner import run_module
from target_args import target_args

from ansible_collections.limen.monitoring.plugins.module_utils.dashboard_sync import DashboardError
from ansible_collections.limen.monitoring.plugins.module_utils.dashboard_sync import sync as dashboards
from ansible_collections.limen.monitoring.plugins.module_utils.targets_sync import TargetError
from ansible_collections.limen.monitoring.plugins.module_utils.targets_sync import sync as targets


def test_no_lock_file_is_left_behind_after_a_refused_write(tmp_path):
    targets(target_args(tmp_path))
    with immutable(tmp_path / "app.json"):
        with pytest.raises(OSError):
            targets(target_args(tmp_path, targets=["b:1"]))
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
        targets(target_args(tmp_path / "sd"))
    (tmp_path / "dash").mkdir()
    (tmp_path / "dash" / ".limen.lock").symlink_to(tmp_path / "created-outside")
    with pytest.raises(DashboardError, match=r"\.limen\.lock is a symbolic link"):
        dashboards(params(tmp_path / "dash", dashboard=dash()))
    assert not (tmp_path / "created-outside").exists() and not (tmp_path / "sd" / "app.json").exists()
