"""prometheus_targets logic: validation table, planning, corrupt files, check mode, concurrency."""

from __future__ import annotations

import multiprocessing
import os

import pytest

from ansible_collections.limen.monitoring.plugins.module_utils.file_sd import (
    TargetError,
    parse_file,
)
from ansible_collections.limen.monitoring.plugins.module_utils.targets_sync import sync


def params(tmp_path, **kw):
    base = {"directory": str(tmp_path), "job": "limen", "targets": [], "state": "present",
            "exclusive": False, "jobs": None, "prune": False, "mode": None}
    base.update(kw)
    return base


def test_present_is_idempotent_and_check_mode_predicts(tmp_path):
    p = params(tmp_path, targets=["a:1", "b:2"])
    check = sync(p, check_mode=True, want_diff=True)
    assert check["changed"] and check["added"] == ["limen/a:1", "limen/b:2"]
    assert not (tmp_path / "limen.json").exists(), "check mode must not write"
    assert check["diff"][0]["after"]
    first = sync(p)
    assert first["changed"]
    second = sync(p)
    assert not second["changed"] and second["unchanged"] == ["limen/a:1", "limen/b:2"]
    assert not sync(p, check_mode=True)["changed"]


def test_exclusive_removes_the_rest_and_absent_removes_named(tmp_path):
    sync(params(tmp_path, targets=["a:1", "b:2", "c:3"]))
    r = sync(params(tmp_path, targets=["a:1"], exclusive=True))
    assert r["removed"] == ["limen/b:2", "limen/c:3"]
    sync(params(tmp_path, targets=["x:1"]))
    r = sync(params(tmp_path, targets=["x:1"], state="absent"))
    assert r["removed"] == ["limen/x:1"]
    assert parse_file((tmp_path / "limen.json").read_text(), "f") == {("a:1", "", ()): {}}


def test_labels_change_is_an_update(tmp_path):
    sync(params(tmp_path, targets=[{"host": "a", "port": 1, "labels": {"env": "a"}}]))
    r = sync(params(tmp_path, targets=[{"host": "a", "port": 1, "labels": {"env": "b"}}]))
    assert r["changed"] and r["updated"] == ["limen/a:1"]


def test_jobs_mode_prunes_unlisted_jobs(tmp_path):
    sync(params(tmp_path, job=None, jobs=[{"name": "one", "targets": ["a:1"]},
                                          {"name": "two", "targets": ["b:1"]}], prune=True))
    r = sync(params(tmp_path, job=None, jobs=[{"name": "one", "targets": ["a:1"]}], prune=True))
    assert r["removed"] == ["two/b:1"] and not (tmp_path / "two.json").exists()


@pytest.mark.parametrize("content", ["{not json", '{"targets": []}', '[{"labels": {}}]'])
def test_corrupt_existing_file_is_an_error_and_kept(tmp_path, content):
    (tmp_path / "limen.json").write_text(content)
    with pytest.raises(TargetError, match="refusing to change it"):
        sync(params(tmp_path, targets=["a:1"]))
    assert (tmp_path / "limen.json").read_text() == content


def _add(args):
    directory, index = args
    p = params(directory, targets=[f"host{index}:9100"])
    p["directory"] = directory
    sync(p)


def test_concurrent_runs_never_lose_a_target(tmp_path):
    with multiprocessing.Pool(8) as pool:
        pool.map(_add, [(str(tmp_path), i) for i in range(40)])
    got = parse_file((tmp_path / "limen.json").read_text(), "f")
    assert len(got) == 40
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".tmp-")], "temp files left behind"


@pytest.mark.parametrize("mode,expected", [("0640", 0o640), (0o600, 0o600), (None, 0o644), ("u=rw,g=r", 0o644)])
def test_file_mode_argument_is_applied_at_write(tmp_path, mode, expected):
    sync(params(tmp_path, targets=["a:1"], mode=mode))
    assert os.stat(tmp_path / "limen.json").st_mode & 0o777 == expected
