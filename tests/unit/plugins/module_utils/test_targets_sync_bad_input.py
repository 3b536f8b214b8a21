"""targets_sync on bad input: FIFOs, relative directories, label values that are not strings.

Each case runs for real: hangs are caught by a timeout (a FIFO or /dev/zero that is opened
blocks or never ends), tracebacks by run_module, "nothing changed" by a digest of the whole tree.
"""

from __future__ import annotations

import os

import pytest
from target_args import target_args

from ansible_collections.limen.monitoring.plugins.module_utils.targets_sync import TargetError
from ansible_collections.limen.monitoring.plugins.module_utils.targets_sync import sync as targets


def test_targets_job_file_and_manifest_fifos_are_refused(tmp_path):
    os.mkfifo(tmp_path / "app.json")
    with pytest.raises(TargetError, match="app.json is a FIFO"):
        targets(target_args(tmp_path))
    os.unlink(tmp_path / "app.json")
    os.mkfifo(tmp_path / ".limen-targets.manifest")
    with pytest.raises(TargetError, match=r"\.limen-targets\.manifest is a FIFO"):
        targets(target_args(tmp_path))


def test_targets_foreign_fifo_in_a_pruned_directory_is_left_alone(tmp_path):
    os.mkfifo(tmp_path / "foreign.json")  # no manifest yet: the module looks for its own files
    r = targets(target_args(tmp_path, job=None, targets=[], jobs=[{"name": "app", "targets": ["a:1"]}], prune=True))
    assert r["added"] == ["app/a:1"] and (tmp_path / "foreign.json").is_fifo()


# ---- accepted, but wrong ----
def test_a_relative_targets_directory_is_refused(tmp_path):
    with pytest.raises(TargetError, match="directory: 'file_sd' must be an absolute path"):
        targets(target_args("file_sd"))


def test_a_boolean_label_value_is_refused(tmp_path):
    with pytest.raises(TargetError, match="label 'canary' is the boolean True; quote the value"):
        targets(target_args(tmp_path, targets=[{"host": "a", "port": 1, "labels": {"canary": True}}]))
    assert os.listdir(tmp_path) == []
