"""prometheus_targets logic: validation table, planning, corrupt files, check mode, concurrency."""

from __future__ import annotations

import json
import multiprocessing
import os

import pytest

from ansible_collections.limen.monitoring.plugins.module_utils.file_sd import (
    TargetError,
    normalize_targets,
    parse_file,
    render,
)
from ansible_collections.limen.monitoring.plugins.module_utils.targets_sync import sync

BAD = [
    ([{"host": "a", "port": 0}], "port 0 is outside 1-65535"),
    ([{"host": "a", "port": 70000}], "outside 1-65535"),
    ([{"host": "a", "port": "http"}], "is not a number"),
    ([{"host": "a", "port": True}], "is not a number"),
    ([{"host": "bad host", "port": 80}], "neither an IP address nor a host name"),
    ([{"host": "", "port": 80}], "non-empty string"),
    (["a:80", "a:80"], "duplicate target a:80"),
    ([{"host": "a", "port": 80, "labels": {"1x": "v"}}], "label name '1x'"),
    ([{"host": "a", "port": 80, "labels": {"__address__": "v"}}], "reserved by Prometheus"),
    ([{"host": "a", "port": 80, "labels": {"env": None}}], "scalar value"),
    ([{"host": "a", "port": 80, "metrics_path": "metrics"}], "must start with '/'"),
    ([{"host": "a", "port": 80, "scheme": "ftp"}], "scheme 'ftp'"),
    ([{"host": "a", "port": 80, "extra": 1}], "unknown keys ['extra']"),
    (["no-port"], "must be 'host:port'"),
    ([{"port": 80}], "'host' and 'port' are required"),
]


@pytest.mark.parametrize("targets,message", BAD, ids=[m for _, m in BAD])
def test_bad_input_is_refused_with_the_item_named(targets, message):
    with pytest.raises(TargetError) as err:
        normalize_targets(targets)
    assert message in str(err.value)
    assert "targets[" in str(err.value)


def test_good_targets_normalise():
    out = normalize_targets([
        {"host": "LIMEN-api", "port": "18443", "metrics_path": "/api/metrics", "scheme": "https",
         "labels": {"env": "prod", "__param_module": "x"}},
        "10.0.0.5:8080", {"host": "fd00::1", "port": 9100}, "[fd00::2]:9100"])
    assert out[("limen-api:18443", "/api/metrics", (("module", "x"),))] == {
        "env": "prod", "__param_module": "x", "__metrics_path__": "/api/metrics", "__scheme__": "https"}
    assert {key[0] for key in out} == {"limen-api:18443", "10.0.0.5:8080", "[fd00::1]:9100", "[fd00::2]:9100"}


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


def test_rendered_file_is_valid_file_sd_grouped_by_labels():
    doc = json.loads(render({("a:1", "", ()): {"env": "x"}, ("b:1", "", ()): {"env": "x"}, ("c:1", "", ()): {}}))
    assert {"targets": ["a:1", "b:1"], "labels": {"env": "x"}} in doc
    assert {"targets": ["c:1"], "labels": {}} in doc


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
